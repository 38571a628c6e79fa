/// \file create.hpp
/// \brief Creating, copying, moving and reshaping arrays.
#pragma once

#include <nabla/core/array.hpp>
#include <nabla/core/assign.hpp>

#include <cmath>
#include <memory>

namespace nabla {

/// \brief A zero-filled array of the given shape.
template <class T, int R, class Space = DefaultMemorySpace>
Array<T, R, Space> zeros(const Shape<R>& shape) {
  return Array<T, R, Space>(shape, "nabla::zeros");
}

/// \brief An array of the given shape with every element equal to `value` (one kernel).
template <class T, int R, class Space = DefaultMemorySpace>
Array<T, R, Space> full(const Shape<R>& shape, const T& value) {
  Array<T, R, Space> a(shape, "nabla::full", uninitialized);
  assign(a, Scalar<T>{value});
  return a;
}

template <class T, int R, class Space = DefaultMemorySpace>
Array<T, R, Space> ones(const Shape<R>& shape) {
  return full<T, R, Space>(shape, T(1));
}

/// \brief A zero-filled array with the shape, type and space of `a`.
template <class T, int R, class S, class L>
Array<T, R, S> similar(const Array<T, R, S, L>& a) {
  return Array<T, R, S>(a.shape(), a.label());
}

/// \brief A deep copy (column-major, same space).
template <class T, int R, class S, class L>
Array<T, R, S> copy(const Array<T, R, S, L>& a) {
  Array<T, R, S> out(a.shape(), a.label(), uninitialized);
  Kokkos::deep_copy(out.view(), a.view());
  return out;
}

namespace impl {
template <class T>
struct LinspaceFn {
  T start, step;
  template <class I>
  KOKKOS_INLINE_FUNCTION T operator()(I i) const {
    return start + T(i) * step;
  }
};
}  // namespace impl

/// The element index 0, 1, ..., n-1 as a rank-1 expression leaf (linspace and arange use it).
struct IotaLeaf {
  using value_type = std::size_t;
  using memory_space = void;
  static constexpr int rank = 1;
  std::size_t n;
  Shape<1> shape() const { return {n}; }
};
struct IotaKernel {
  template <class I>
  KOKKOS_INLINE_FUNCTION std::size_t at(const I& i) const {
    return std::size_t(i[0]);
  }
  KOKKOS_INLINE_FUNCTION std::size_t flat(std::size_t i) const { return i; }
};

template <>
struct is_expression<IotaLeaf> : std::true_type {};
inline Shape<1> broadcast_shape(const IotaLeaf& l) { return l.shape(); }
template <int N>
IotaKernel instantiate(const IotaLeaf&, const Shape<N>&) {
  static_assert(N == 1, "nabla: an index leaf only broadcasts as rank 1");
  return {};
}
inline bool flat_compatible(const IotaKernel&, const Strides<1>& s) { return s[0] == 1 || s[0] == 0; }
template <class Fn>
void for_each_leaf(IotaLeaf&, Fn&&) {}

/// Index leaf of n elements: `eval(2.0 * iota(5))` is {0, 2, 4, 6, 8}.
inline IotaLeaf iota(std::size_t n) { return {n}; }

/// \brief `n` evenly spaced values from `start` to `stop` inclusive (NumPy's linspace).
template <class T, class Space = DefaultMemorySpace>
Array<T, 1, Space> linspace(T start, T stop, std::size_t n) {
  if (n == 0) throw ValueError("nabla::linspace: n must be positive");
  if (!(std::isfinite(double(start)) && std::isfinite(double(stop))))
    throw ValueError(impl::cat("nabla::linspace: start and stop must be finite, got ", start, ", ", stop));
  Array<T, 1, Space> a({n}, "nabla::linspace", uninitialized);
  const T step = n > 1 ? (stop - start) / T(n - 1) : T(0);
  assign(a, make_broadcasted(impl::LinspaceFn<T>{start, step}, IotaLeaf{n}));
  return a;
}

/// \brief start, start + step, ... up to but excluding stop (NumPy's arange).
template <class T, class Space = DefaultMemorySpace>
Array<T, 1, Space> arange(T start, T stop, T step = T(1)) {
  if (!(std::isfinite(double(start)) && std::isfinite(double(stop)) && std::isfinite(double(step))) || step == T(0))
    throw ValueError(impl::cat("nabla::arange: start, stop and step must be finite and step non-zero, got ", start,
                               ", ", stop, ", ", step));
  const double count = std::ceil((double(stop) - double(start)) / double(step));
  if (count >= 9.2e18) throw ValueError(impl::cat("nabla::arange: ", count, " elements (", start, " to ", stop, " by ", step, ")"));
  const std::size_t n = count > 0 ? std::size_t(count) : 0;
  Array<T, 1, Space> a({n}, "nabla::arange", uninitialized);
  assign(a, make_broadcasted(impl::LinspaceFn<T>{start, step}, IotaLeaf{n}));
  return a;
}

/// \brief The array in host memory: the same array (no copy) when it already is host-accessible.
template <class T, int R, class S, class L>
auto to_host(const Array<T, R, S, L>& a) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), a.view());
  return Array<T, R, Kokkos::HostSpace, L>(h);
}

/// \brief The array in the default device's memory: no copy when it already is there.
template <class T, int R, class S, class L>
auto to_device(const Array<T, R, S, L>& a) {
  auto d = Kokkos::create_mirror_view_and_copy(DefaultMemorySpace(), a.view());
  return Array<T, R, DefaultMemorySpace, L>(d);
}

/// \brief A view of `a` with another shape of the same size, without a copy (a must be contiguous).
///
/// The result shares a's memory and keeps it alive.
template <int R2, class T, int R, class S, class L>
Array<T, R2, S, L> reshape(const Array<T, R, S, L>& a, const Shape<R2>& shape) {
  static_assert(std::is_same<L, Kokkos::LayoutLeft>::value || std::is_same<L, Kokkos::LayoutRight>::value,
                "nabla::reshape: only LayoutLeft/LayoutRight arrays can be reshaped");
  if (shape_size(shape) != a.size())
    throw ShapeError(impl::cat("nabla::reshape: cannot reshape ", to_string(a.shape()), " (", a.size(), " elements) to ",
                         to_string(shape), " (", shape_size(shape), " elements)"));
  if (!a.view().span_is_contiguous())
    throw ShapeError(impl::cat("nabla::reshape: the array of shape ", to_string(a.shape()), " is not contiguous"));
  using V = typename Array<T, R2, S, L>::view_type;
  auto make = [&](auto... e) { return V(a.data(), e...); };
  V v = [&] {
    if constexpr (R2 == 0) return make();
    else if constexpr (R2 == 1) return make(shape[0]);
    else if constexpr (R2 == 2) return make(shape[0], shape[1]);
    else if constexpr (R2 == 3) return make(shape[0], shape[1], shape[2]);
    else return make(shape[0], shape[1], shape[2], shape[3]);
  }();
  return Array<T, R2, S, L>(v, std::make_shared<typename Array<T, R, S, L>::view_type>(a.view()));
}

/// \brief A sub-array without a copy: Kokkos::subview arguments (indices, Kokkos::pair ranges, Kokkos::ALL).
template <class T, int R, class S, class L, class... Args>
auto slice(const Array<T, R, S, L>& a, Args... args) {
  static_assert(sizeof...(Args) == R, "nabla::slice: give one index, range or Kokkos::ALL per dimension");
  auto sv = Kokkos::subview(a.view(), args...);
  using SV = decltype(sv);
  return Array<T, int(SV::rank), S, typename SV::array_layout>(sv);
}

}  // namespace nabla
