/// \file blocks.hpp
/// \brief Internals: host staging of blocks (pack/unpack of a box of a column-major block) and MPI element
/// types, shared by every communicating dist operation.
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

/// An MPI datatype of one element of T (its bytes), freed with the object.
template <class T>
class ElementType {
 public:
  ElementType() {
    mpi::impl::check(MPI_Type_contiguous(int(sizeof(T)), MPI_BYTE, &m_type), "MPI_Type_contiguous");
    mpi::impl::check(MPI_Type_commit(&m_type), "MPI_Type_commit");
  }
  ~ElementType() { MPI_Type_free(&m_type); }
  ElementType(const ElementType&) = delete;
  ElementType& operator=(const ElementType&) = delete;
  MPI_Datatype get() const { return m_type; }

 private:
  MPI_Datatype m_type = MPI_DATATYPE_NULL;
};

/// An element count or displacement as MPI's int; larger ones are a ValueError naming the operation.
inline int count(std::size_t n, const char* op) {
  if (n > std::size_t(INT_MAX))
    throw ValueError(cat("nabla::dist::", op, ": ", n, " elements in one message exceed MPI's limit of 2^31 - 1"));
  return int(n);
}

/// Where each rank's part of a message buffer lies: counts and displacements (MPI's ints) and the total.
struct Layout {
  std::vector<int> counts, displs;
  std::size_t total = 0;
  int count_of(int r) const { return counts[std::size_t(r)]; }
  std::size_t displ_of(int r) const { return std::size_t(displs[std::size_t(r)]); }
};
/// The layout of `size(r)` elements for each of `nranks` ranks, one after another in rank order.
template <class Size>
Layout layout(int nranks, const char* op, Size&& size) {
  Layout l;
  l.counts.resize(std::size_t(nranks));
  l.displs.resize(std::size_t(nranks));
  for (int r = 0; r < nranks; ++r) {
    l.counts[std::size_t(r)] = count(size(r), op);
    l.displs[std::size_t(r)] = count(l.total, op);
    l.total += std::size_t(l.counts[std::size_t(r)]);
  }
  return l;
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
