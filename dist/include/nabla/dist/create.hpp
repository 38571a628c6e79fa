/// \file create.hpp
/// \brief Making distributed arrays (filled, evenly spaced, random, or from a whole array) and gathering them.
///
/// Filled, spaced and random arrays need no communication: each rank computes its block, and element
/// (i, j, ...) has the same bits as in the undistributed array for any rank count (core's random numbers are
/// a function of the global index). `distribute` scatters a whole array (MPI_Scatterv from the root, or each
/// rank's own copy); `collect` and `allgather` gather one (MPI_Gatherv / MPI_Allgatherv). Device blocks stage
/// through host memory: Nabla does not assume a device-aware MPI.
#pragma once

#include <nabla/core/create.hpp>
#include <nabla/core/random.hpp>
#include <nabla/dist/expr.hpp>
#include <nabla/dist/impl/blocks.hpp>

#include <vector>

namespace nabla {
namespace dist {

/// \brief A distributed array of `value` everywhere.
template <class T, int R, class Space = DefaultMemorySpace>
Array<T, R, Space> full(const Partition<R>& p, T value) {
  Array<T, R, Space> a(p, "nabla::dist::full", uninitialized);
  nabla::assign(a.local(), value);
  return a;
}
template <class T, int R, class Space = DefaultMemorySpace>
Array<T, R, Space> zeros(const Partition<R>& p) {
  return Array<T, R, Space>(p, "nabla::dist::zeros");
}
template <class T, int R, class Space = DefaultMemorySpace>
Array<T, R, Space> ones(const Partition<R>& p) {
  return full<T, R, Space>(p, T(1));
}

/// \brief `n = p.shape()[0]` evenly spaced values from start to stop inclusive, bit for bit core's linspace.
template <class T, class Space = DefaultMemorySpace>
Array<T, 1, Space> linspace(const Partition<1>& p, T start, T stop) {
  const std::size_t n = p.shape()[0];
  if (n == 0) throw ValueError("nabla::dist::linspace: n must be positive");
  if (!(std::isfinite(double(start)) && std::isfinite(double(stop))))
    throw ValueError(nabla::impl::cat("nabla::dist::linspace: start and stop must be finite, got ", start, ", ", stop));
  Array<T, 1, Space> a(p, "nabla::dist::linspace", uninitialized);
  const T step = n > 1 ? (stop - start) / T(n - 1) : T(0);
  dist::assign(a, make_broadcasted(nabla::impl::LinspaceFn<T>{start, step}, IotaLeaf{n}));
  return a;
}
/// \brief start, start + step, ... for the `p.shape()[0]` elements of the partition (core's arange values).
template <class T, class Space = DefaultMemorySpace>
Array<T, 1, Space> arange(const Partition<1>& p, T start, T step = T(1)) {
  if (!(std::isfinite(double(start)) && std::isfinite(double(step))))
    throw ValueError(nabla::impl::cat("nabla::dist::arange: start and step must be finite, got ", start, ", ", step));
  Array<T, 1, Space> a(p, "nabla::dist::arange", uninitialized);
  dist::assign(a, make_broadcasted(nabla::impl::LinspaceFn<T>{start, step}, IotaLeaf{p.shape()[0]}));
  return a;
}

namespace random {
/// \brief Uniform [0, 1) values: element (i, j, ...) is core's `random::uniform(key, shape)` there, on any grid.
template <class T, int R, class Space = DefaultMemorySpace>
Array<T, R, Space> uniform(const nabla::random::Key& key, const Partition<R>& p) {
  Array<T, R, Space> a(p, "nabla::dist::random::uniform", uninitialized);
  dist::assign(a, nabla::random::uniform_expr<T>(key, p.shape()));
  return a;
}
/// \brief Standard normal values, bit for bit core's `random::normal(key, shape)`.
template <class T, int R, class Space = DefaultMemorySpace>
Array<T, R, Space> normal(const nabla::random::Key& key, const Partition<R>& p) {
  Array<T, R, Space> a(p, "nabla::dist::random::normal", uninitialized);
  dist::assign(a, nabla::random::normal_expr<T>(key, p.shape()));
  return a;
}
}  // namespace random

/// Tag: every rank holds the whole array (distribute takes its own block, no communication).
struct every_rank_t {};
constexpr every_rank_t every_rank{};

/// \brief Scatters the whole array `a`, held by `root` (other ranks' `a` is not read), over partition `p`.
///
/// Collective; one MPI_Bcast of the root's shape (so a wrong shape is an error on every rank) and one
/// MPI_Scatterv of the blocks.
template <class T, int R, class S, class L>
Array<T, R, S> distribute(const nabla::Array<T, R, S, L>& a, const Partition<R>& p, int root = 0) {
  const Grid& grid = p.grid();
  const mpi::Comm& comm = grid.comm();
  std::vector<unsigned long long> shape(static_cast<std::size_t>(R) + 1, 0);
  if (comm.rank() == root)
    for (int d = 0; d < R; ++d) shape[std::size_t(d)] = a.extent(d);
  mpi::impl::check(MPI_Bcast(shape.data(), R + 1, MPI_UNSIGNED_LONG_LONG, root, comm.get()), "MPI_Bcast");
  for (int d = 0; d < R; ++d)
    if (shape[std::size_t(d)] != p.shape()[d]) {
      Shape<R> got{};
      for (int e = 0; e < R; ++e) got[e] = std::size_t(shape[std::size_t(e)]);
      throw ShapeError(nabla::impl::cat("nabla::dist::distribute: rank ", root, "'s array has shape ",
                                        nabla::to_string(got), ", the partition is ", p.to_string()));
    }
  const int nranks = grid.size();
  const impl::Layout l =
      impl::layout(nranks, "nabla::dist::distribute", [&](int r) { return shape_size(p.local_shape_of(r)); });
  std::vector<T> send;
  if (comm.rank() == root) {
    auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), a.view());
    send.resize(l.total);
    for (int r = 0; r < nranks; ++r) impl::pack(h, p.offset_of(r), p.local_shape_of(r), send.data() + l.displ_of(r));
  }
  Array<T, R, S> out(p, "nabla::dist::distribute", uninitialized);
  auto local = Kokkos::create_mirror_view(Kokkos::HostSpace(), out.local().view());
  const impl::ElementType<T> type;
  mpi::impl::check(MPI_Scatterv(send.data(), l.counts.data(), l.displs.data(), type.get(), local.data(),
                                l.count_of(comm.rank()), type.get(), root, comm.get()),
                   "MPI_Scatterv");
  Kokkos::deep_copy(out.local().view(), local);
  return out;
}

/// \brief Takes this rank's block of `a`, which every rank holds whole (no data moves). Collective: one
/// MPI_Allreduce checks that every rank's copy has the partition's shape, so a wrong one fails every rank.
template <class T, int R, class S, class L>
Array<T, R, S> distribute(const nabla::Array<T, R, S, L>& a, const Partition<R>& p, every_rank_t) {
  int bad = 0;
  for (int d = 0; d < R; ++d) bad |= a.extent(d) != p.shape()[d];
  const int any_bad = p.grid().comm().allreduce(bad, mpi::Op::max);
  if (any_bad)
    throw ShapeError(nabla::impl::cat("nabla::dist::distribute: a rank's array does not have the shape of ",
                                      p.to_string(), " (rank ", p.grid().rank(), "'s is ",
                                      nabla::to_string(a.shape()), ")"));
  Array<T, R, S> out(p, "nabla::dist::distribute", uninitialized);
  Kokkos::deep_copy(out.local().view(), impl::box(a.view(), p.offset(), p.local_shape()));
  return out;
}

namespace impl {
/// Gathers every block (from its primary rank) into a whole host array on `root`, or on every rank when
/// root < 0. One MPI_Gatherv / MPI_Allgatherv.
template <class T, int R, class S>
nabla::Array<T, R, Kokkos::HostSpace> gather(const Array<T, R, S>& a, int root) {
  const auto& p = a.partition();
  const mpi::Comm& comm = p.grid().comm();
  const int nranks = comm.size();
  const Layout l = layout(nranks, "nabla::dist::collect", [&](int r) {
    return p.is_primary(r) ? shape_size(p.local_shape_of(r)) : std::size_t(0);
  });
  auto mine = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), a.local().view());  // contiguous
  const bool here = root < 0 || comm.rank() == root;
  std::vector<T> recv(here ? l.total : 0);
  comm.gatherv(mine.data(), l, recv.data(), root);
  if (!here) return {};
  nabla::Array<T, R, Kokkos::HostSpace> whole(p.shape(), "nabla::dist::collect", uninitialized);
  for (int r = 0; r < nranks; ++r)
    if (l.count_of(r) > 0) unpack(whole.view(), p.offset_of(r), p.local_shape_of(r), recv.data() + l.displ_of(r));
  return whole;
}
}  // namespace impl

/// \brief The whole array on `root` (in the blocks' memory space); an empty Array on the other ranks.
template <class T, int R, class S>
nabla::Array<T, R, S> collect(const Array<T, R, S>& a, int root = 0) {
  auto h = impl::gather(a, root);
  if (a.grid().rank() != root) return {};
  return nabla::Array<T, R, S>(Kokkos::create_mirror_view_and_copy(typename S::memory_space(), h.view()));
}
/// \brief The whole array on every rank.
template <class T, int R, class S>
nabla::Array<T, R, S> allgather(const Array<T, R, S>& a) {
  auto h = impl::gather(a, -1);
  return nabla::Array<T, R, S>(Kokkos::create_mirror_view_and_copy(typename S::memory_space(), h.view()));
}

}  // namespace dist
}  // namespace nabla
