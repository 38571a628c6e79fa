/// \file redistribute.hpp
/// \brief Moving a distributed array to another partition of the same grid (one MPI_Alltoallv), and the
/// transpose (no communication: the transposed partition swaps the splits).
#pragma once

#include <nabla/core/assign.hpp>
#include <nabla/dist/array.hpp>
#include <nabla/dist/impl/blocks.hpp>

#include <vector>

namespace nabla {
namespace dist {

/// \brief `a` on partition `to` (same grid and shape; any splits, fully replicated included).
///
/// One MPI_Alltoallv: each element travels once from the first copy of its old block to every rank whose new
/// block holds it. A rank sends and receives at most its block's size per destination (twice with replicas).
template <class T, int R, class S>
Array<T, R, S> redistribute(const Array<T, R, S>& a, const Partition<R>& to) {
  const Partition<R>& from = a.partition();
  if (from.grid() != to.grid())
    throw PartitionError(nabla::impl::cat("nabla::dist::redistribute: ", from.to_string(), " and ", to.to_string(),
                                          " live on different grids"));
  for (int d = 0; d < R; ++d)
    if (from.shape()[d] != to.shape()[d])
      throw ShapeError(nabla::impl::cat("nabla::dist::redistribute: the array of shape ",
                                        nabla::to_string(from.shape()), " cannot take the partition ", to.to_string()));
  const mpi::Comm& comm = from.grid().comm();
  const int nranks = comm.size();
  const Index<R> mylo = from.offset(), newlo = to.offset();
  const Shape<R> myext = from.local_shape(), newext = to.local_shape();
  // What this rank sends to rank r (if it holds the first copy of its old block) and receives from r (the
  // part of r's old block in this rank's new one, if r held its first copy).
  auto sent = [&](int r, Index<R>& lo, Shape<R>& ext) {
    return from.is_primary() && impl::intersect(mylo, myext, to.offset_of(r), to.local_shape_of(r), lo, ext);
  };
  auto received = [&](int r, Index<R>& lo, Shape<R>& ext) {
    return from.is_primary(r) && impl::intersect(from.offset_of(r), from.local_shape_of(r), newlo, newext, lo, ext);
  };
  Index<R> lo{};
  Shape<R> ext{};
  const impl::Layout s = impl::layout(nranks, "nabla::dist::redistribute", [&](int r) {
    return sent(r, lo, ext) ? shape_size(ext) : std::size_t(0);
  });
  const impl::Layout v = impl::layout(nranks, "nabla::dist::redistribute", [&](int r) {
    return received(r, lo, ext) ? shape_size(ext) : std::size_t(0);
  });
  auto src = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), a.local().view());
  std::vector<T> send(s.total), recv(v.total);
  for (int r = 0; r < nranks; ++r)
    if (sent(r, lo, ext)) impl::pack(src, impl::minus(lo, mylo), ext, send.data() + s.displ_of(r));
  const impl::ElementType<T> type;
  mpi::impl::check(MPI_Alltoallv(send.data(), s.counts.data(), s.displs.data(), type.get(), recv.data(),
                                 v.counts.data(), v.displs.data(), type.get(), comm.get()),
                   "MPI_Alltoallv");
  Array<T, R, S> out(to, "nabla::dist::redistribute", uninitialized);
  auto dst = Kokkos::create_mirror_view(Kokkos::HostSpace(), out.local().view());
  for (int r = 0; r < nranks; ++r)
    if (received(r, lo, ext)) impl::unpack(dst, impl::minus(lo, newlo), ext, recv.data() + v.displ_of(r));
  Kokkos::deep_copy(out.local().view(), dst);
  return out;
}

/// \brief The partition of the same array with every axis replicated (a whole copy on every rank).
template <int R>
Partition<R> replicated_partition(const Partition<R>& p) {
  SmallArray<int, R> split{};
  for (int d = 0; d < R; ++d) split[d] = replicated;
  return Partition<R>(p.grid(), p.shape(), split);
}

/// \brief The transpose of a matrix, split along the swapped axes: each rank transposes its own block (one
/// local kernel, no communication). `redistribute` it to keep the original split.
template <class T, class S>
Array<T, 2, S> transpose(const Array<T, 2, S>& a) {
  const auto& p = a.partition();
  const Partition<2> tp(p.grid(), Shape<2>{p.shape()[1], p.shape()[0]}, SmallArray<int, 2>{p.split(1), p.split(0)});
  Array<T, 2, S> out(tp, "nabla::dist::transpose", uninitialized);
  const auto& v = a.local().view();
  using Strided = Kokkos::View<const T**, Kokkos::LayoutStride, typename S::memory_space>;
  const Strided t(v.data(), Kokkos::LayoutStride(v.extent(1), v.stride(1), v.extent(0), v.stride(0)));
  nabla::assign(out.local(), wrap(t));
  return out;
}

}  // namespace dist
}  // namespace nabla
