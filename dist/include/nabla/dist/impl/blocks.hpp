/// \file blocks.hpp
/// \brief Internals: host staging of blocks (pack/unpack of a box of a column-major block) and message counts,
/// shared by every communicating dist operation.
#pragma once

#include <nabla/core/array.hpp>
#include <nabla/core/mpi.hpp>

#include <Kokkos_Core.hpp>

#include <climits>
#include <utility>
#include <vector>

namespace nabla {
namespace dist {
namespace impl {
using nabla::impl::cat;

template <class T, int R>
using HostBlock = Kokkos::View<typename nabla::impl::data_type<T, R>::type, Kokkos::LayoutLeft, Kokkos::HostSpace,
                               Kokkos::MemoryUnmanaged>;

/// The column-major block of extents `s` stored at `p` (host memory, not owned).
template <class T, int R, std::size_t... I>
HostBlock<T, R> host_block(T* p, const Shape<R>& s, std::index_sequence<I...>) {
  return HostBlock<T, R>(p, s[I]...);
}
template <class T, int R>
HostBlock<T, R> host_block(T* p, const Shape<R>& s) {
  return host_block<T, R>(p, s, std::make_index_sequence<R>{});
}

/// The box [lo, lo + ext) of a view (a strided subview; the view itself at rank 0).
template <class View, int R, std::size_t... I>
auto box(const View& v, const Index<R>& lo, const Shape<R>& ext, std::index_sequence<I...>) {
  using P = Kokkos::pair<std::size_t, std::size_t>;
  return Kokkos::subview(v, P(std::size_t(lo[I]), std::size_t(lo[I]) + ext[I])...);
}
template <class View, int R>
auto box(const View& v, const Index<R>& lo, const Shape<R>& ext) {
  if constexpr (R == 0) return v;
  else return box(v, lo, ext, std::make_index_sequence<R>{});
}

/// Copies the box [lo, lo + ext) of host view `v` into `buf` (column-major), or back with `unpack`.
template <class View, int R, class T>
void pack(const View& v, const Index<R>& lo, const Shape<R>& ext, T* buf) {
  if (shape_size(ext) == 0) return;
  Kokkos::deep_copy(host_block<T, R>(buf, ext), box(v, lo, ext));
}
template <class View, int R, class T>
void unpack(const View& v, const Index<R>& lo, const Shape<R>& ext, const T* buf) {
  if (shape_size(ext) == 0) return;
  Kokkos::deep_copy(box(v, lo, ext), host_block<T, R>(const_cast<T*>(buf), ext));
}

using mpi::impl::ElementType;
using mpi::impl::Layout;
using mpi::impl::layout;

/// An element count of dist operation `op` as MPI's int; a larger one is a ValueError naming nabla::dist::<op>.
inline int count(std::size_t n, const char* op) {
  return n <= std::size_t(INT_MAX) ? int(n) : mpi::impl::count(n, cat("nabla::dist::", op).c_str());
}

/// Whether two boxes overlap; their intersection in `lo`, `ext`.
template <int R>
bool intersect(const Index<R>& alo, const Shape<R>& aext, const Index<R>& blo, const Shape<R>& bext, Index<R>& lo,
               Shape<R>& ext) {
  for (int d = 0; d < R; ++d) {
    const std::ptrdiff_t l = std::max(alo[d], blo[d]);
    const std::ptrdiff_t h = std::min(alo[d] + std::ptrdiff_t(aext[d]), blo[d] + std::ptrdiff_t(bext[d]));
    if (h <= l) return false;
    lo[d] = l;
    ext[d] = std::size_t(h - l);
  }
  return true;
}

template <int R>
Index<R> minus(const Index<R>& a, const Index<R>& b) {
  Index<R> o{};
  for (int d = 0; d < R; ++d) o[d] = a[d] - b[d];
  return o;
}

}  // namespace impl
}  // namespace dist
}  // namespace nabla
