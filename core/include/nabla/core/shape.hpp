/// \file shape.hpp
/// \brief Fixed-rank shapes and their printing; the currency of broadcast and BLAS shape checks.
#pragma once

#include <Kokkos_Core.hpp>

#include <cstddef>
#include <initializer_list>
#include <ostream>
#include <sstream>
#include <string>

namespace nabla {

/// A fixed-size array usable on host and device; unlike Kokkos::Array its size is an `int`, so ranks deduce.
template <class T, int N>
struct SmallArray {
  T elems[N > 0 ? N : 1];
  KOKKOS_INLINE_FUNCTION T& operator[](int i) { return elems[i]; }
  KOKKOS_INLINE_FUNCTION const T& operator[](int i) const { return elems[i]; }
  KOKKOS_INLINE_FUNCTION T* data() { return elems; }
  KOKKOS_INLINE_FUNCTION const T* data() const { return elems; }
  static constexpr int size() { return N; }
};

/// Extents of a rank-R array.
template <int R>
using Shape = SmallArray<std::size_t, R>;
/// Element strides, one per dimension (0 where a dimension broadcasts).
template <int N>
using Strides = SmallArray<std::ptrdiff_t, N>;
/// A multi-index.
template <int N>
using Index = SmallArray<std::ptrdiff_t, N>;

/// Number of elements of a shape (1 for rank 0).
template <int R>
KOKKOS_INLINE_FUNCTION std::size_t shape_size(const Shape<R>& s) {
  std::size_t n = 1;
  for (int d = 0; d < R; ++d) n *= s[d];
  return n;
}

/// "(3, 4)" — the spelling every Nabla error message uses for shapes.
template <int R>
std::string to_string(const Shape<R>& s) {
  std::ostringstream os;
  os << '(';
  for (int d = 0; d < R; ++d) os << (d ? ", " : "") << s[d];
  if (R == 1) os << ',';
  os << ')';
  return os.str();
}

/// Extents of any Kokkos View as a Shape.
template <class View>
Shape<View::rank> shape_of(const View& v) {
  Shape<View::rank> s{};
  for (int d = 0; d < int(View::rank); ++d) s[d] = v.extent(d);
  return s;
}

}  // namespace nabla
