/// \file array.hpp
/// \brief nabla::Array: a thin owning handle over a Kokkos::View.
#pragma once

#include <nabla/core/error.hpp>
#include <nabla/core/shape.hpp>

#include <Kokkos_Core.hpp>

#include <cstdint>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace nabla {

namespace impl {
/// T, T*, T**, ... for Kokkos' data-type template argument.
template <class T, int R>
struct data_type {
  using type = typename data_type<T, R - 1>::type*;
};
template <class T>
struct data_type<T, 0> {
  using type = T;
};

/// Allocates `label` of shape `s`; a shape whose bytes overflow 64 bits, or an allocation the memory space
/// refuses, is a ValueError naming the array, its shape and its bytes (not a size of 0 or a crash).
template <class View, std::size_t... I, class... Props>
View allocate(const std::string& label, const Shape<View::rank>& s, std::index_sequence<I...>, Props... props) {
  using T = typename View::non_const_value_type;
  std::size_t bytes = sizeof(T);
  bool overflow = false, empty = false;
  for (int d = 0; d < int(View::rank); ++d) {
    empty |= s[d] == 0;
    overflow |= s[d] != 0 && bytes > SIZE_MAX / s[d];
    bytes *= s[d];
  }
  if (!empty && (overflow || bytes > std::size_t(PTRDIFF_MAX)))
    throw ValueError(cat("nabla: the array '", label, "' of shape ", to_string(s), " needs more than 2^63 bytes"));
  try {
    return View(Kokkos::view_alloc(label, props...), s[I]...);
  } catch (const std::bad_alloc&) {
    throw ValueError(cat("nabla: cannot allocate the array '", label, "' of shape ", to_string(s), ": ", bytes,
                         " bytes"));
  } catch (const std::runtime_error& e) {  // Kokkos 4 reports a refused allocation this way
    throw ValueError(cat("nabla: cannot allocate the array '", label, "' of shape ", to_string(s), ": ", bytes,
                         " bytes (", e.what(), ")"));
  }
}
}  // namespace impl

/// Tag: allocate without zero-filling (for arrays about to be overwritten).
struct uninitialized_t {};
constexpr uninitialized_t uninitialized{};

/// Default memory space: the one of the default execution space (device memory on CUDA/HIP builds).
using DefaultMemorySpace = Kokkos::DefaultExecutionSpace::memory_space;

/// \brief An owning handle to a rank-`Rank` Kokkos View of `T` in `Space`.
///
/// Column-major (LayoutLeft) by default on every backend, as in Julia, Flux and BLAS: a (features × batch)
/// matrix has contiguous samples, and results do not depend on the backend's default layout.
/// Copies are shallow (they share the View, as Kokkos Views do); use `nabla::copy` for a deep copy.
template <class T, int Rank, class Space = DefaultMemorySpace, class Layout = Kokkos::LayoutLeft>
class Array {
  static_assert(Rank >= 0 && Rank <= 4, "nabla::Array: Rank must be 0..4");

 public:
  using value_type = T;
  using layout_type = Layout;
  using view_type = Kokkos::View<typename impl::data_type<T, Rank>::type, Layout, Space>;
  using memory_space = typename view_type::memory_space;
  using execution_space = typename view_type::execution_space;
  static constexpr int rank = Rank;

  Array() = default;

  /// Allocates a zero-initialised array of the given shape.
  explicit Array(const Shape<Rank>& shape, const std::string& label = "nabla::Array")
      : m_view(impl::allocate<view_type>(label, shape, std::make_index_sequence<Rank>{})) {}

  /// Allocates without initialising the elements.
  Array(const Shape<Rank>& shape, const std::string& label, uninitialized_t)
      : m_view(impl::allocate<view_type>(label, shape, std::make_index_sequence<Rank>{},
                                         Kokkos::WithoutInitializing)) {}

  /// Adopts an existing View (no copy); any View that converts to view_type (subviews, other traits).
  template <class V, std::enable_if_t<Kokkos::is_view<V>::value, int> = 0>
  explicit Array(const V& v) : m_view(v) {}

  /// Adopts an unmanaged View whose memory `owner` keeps alive (reshape).
  Array(const view_type& v, std::shared_ptr<const void> owner) : m_view(v), m_owner(std::move(owner)) {}

  const view_type& view() const { return m_view; }
  T* data() const { return m_view.data(); }
  std::size_t extent(int d) const { return m_view.extent(d); }
  std::size_t size() const { return m_view.size(); }
  Shape<Rank> shape() const { return shape_of(m_view); }
  std::string label() const { return m_view.label(); }

 private:
  view_type m_view;
  std::shared_ptr<const void> m_owner;
};

template <class T>
struct is_array : std::false_type {};
template <class T, int R, class S, class L>
struct is_array<Array<T, R, S, L>> : std::true_type {};

template <class T, int R, class S, class L>
std::ostream& operator<<(std::ostream& os, const Array<T, R, S, L>& a) {
  return os << "Array<" << R << ">" << to_string(a.shape());
}

}  // namespace nabla
