/// \file matmul.hpp
/// \brief Distributed matrix products: a row-split matrix times a replicated vector (no communication), and
/// SUMMA on a 2-D grid (van de Geijn & Watts) whose local products are Kokkos Kernels gemms.
#pragma once

#include <nabla/core/blas.hpp>
#include <nabla/dist/array.hpp>
#include <nabla/dist/impl/blocks.hpp>

#include <algorithm>
#include <vector>

namespace nabla {
namespace dist {

/// \brief y = A x for A split by rows only and x whole on every rank: each rank's gemv, no communication.
/// y is split as A's rows (`allgather(y)` to have all of it).
template <class T, class S, class LX>
Array<T, 1, S> matmul(const Array<T, 2, S>& a, const nabla::Array<T, 1, S, LX>& x) {
  const auto& p = a.partition();
  if (p.split(1) != replicated)
    throw PartitionError(nabla::impl::cat("nabla::dist::matmul: A x needs A's columns whole on each rank, but A is ",
                                          p.to_string(), " (redistribute A with axis 1 replicated)"));
  if (x.extent(0) != p.shape()[1])
    throw ShapeError(nabla::impl::cat("nabla::dist::matmul: A is ", nabla::to_string(p.shape()), ", x is ",
                                      nabla::to_string(x.shape())));
  Array<T, 1, S> y(Partition<1>(p.grid(), Shape<1>{p.shape()[0]}, SmallArray<int, 1>{p.split(0)}), "nabla::dist::gemv");
  if (y.local().size() > 0 && x.extent(0) > 0) gemv('N', T(1), a.local(), x, T(0), y.local());
  return y;
}

/// \brief C = A B by SUMMA. A (m, k) and B (k, n) must be split {0, 1} on the same 2-D grid; so is C.
///
/// The k axis is cut at every block boundary of A's columns and B's rows; for each panel the grid column
/// owning A's panel broadcasts it along grid rows and the grid row owning B's panel broadcasts it along grid
/// columns (two MPI_Bcast per panel, at most pr + pc panels), then each rank adds one local gemm. Each rank
/// receives m k / pr + k n / pc elements: 2 n^2 / sqrt(p) for square matrices on a square grid.
template <class T, class S>
Array<T, 2, S> matmul(const Array<T, 2, S>& a, const Array<T, 2, S>& b) {
  const auto& pa = a.partition();
  const auto& pb = b.partition();
  const Grid& grid = pa.grid();
  auto need = [](const Partition<2>& p, const char* which) {
    if (p.grid().ndims() != 2 || p.split(0) != 0 || p.split(1) != 1)
      throw PartitionError(nabla::impl::cat("nabla::dist::matmul: SUMMA needs ", which,
                                            " split {0, 1} on a 2-D grid, not ", p.to_string()));
  };
  need(pa, "A");
  need(pb, "B");
  if (pb.grid() != grid)
    throw PartitionError(nabla::impl::cat("nabla::dist::matmul: A (", pa.to_string(), ") and B (", pb.to_string(),
                                          ") live on different grids"));
  const std::size_t m = pa.shape()[0], k = pa.shape()[1], n = pb.shape()[1];
  if (pb.shape()[0] != k)
    throw ShapeError(nabla::impl::cat("nabla::dist::matmul: A is ", nabla::to_string(pa.shape()), ", B is ",
                                      nabla::to_string(pb.shape()), "; need A m x k, B k x n"));
  Array<T, 2, S> c(Partition<2>(grid, Shape<2>{m, n}, SmallArray<int, 2>{0, 1}), "nabla::dist::summa");

  // Panel boundaries: every block start of A's columns (over grid dim 1) and B's rows (over grid dim 0).
  std::vector<std::size_t> cuts{0, k};
  for (int j = 0; j < grid.dim(1); ++j) cuts.push_back(pa.begin(1, j));
  for (int i = 0; i < grid.dim(0); ++i) cuts.push_back(pb.begin(0, i));
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  std::size_t wmax = 0;
  for (std::size_t i = 0; i + 1 < cuts.size(); ++i) wmax = std::max(wmax, cuts[i + 1] - cuts[i]);

  const std::size_t ml = c.local().extent(0), nl = c.local().extent(1);
  const int row = grid.coord(0), col = grid.coord(1);
  const std::size_t a0 = pa.begin(1, col), b0 = pb.begin(0, row);
  auto ah = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), a.local().view());
  auto bh = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), b.local().view());
  using M = typename S::memory_space;
  // Panels travel in host memory; on host backends that memory is the gemm's operand itself.
  constexpr bool host = Kokkos::SpaceAccessibility<Kokkos::HostSpace, M>::accessible;
  nabla::Array<T, 1, M> apanel({ml * wmax}, "nabla::dist::summa::panel", uninitialized);
  nabla::Array<T, 1, M> bpanel({wmax * nl}, "nabla::dist::summa::panel", uninitialized);
  std::vector<T> astage(host ? 0 : ml * wmax), bstage(host ? 0 : wmax * nl);
  T* abuf = host ? apanel.data() : astage.data();
  T* bbuf = host ? bpanel.data() : bstage.data();
  using Panel = Kokkos::View<T**, Kokkos::LayoutLeft, M, Kokkos::MemoryUnmanaged>;
  const impl::ElementType<T> type;
  for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
    const std::size_t k0 = cuts[i], w = cuts[i + 1] - k0;
    const int ca = pa.block_of(1, k0), rb = pb.block_of(0, k0);
    if (col == ca) impl::pack(ah, Index<2>{0, std::ptrdiff_t(k0 - a0)}, Shape<2>{ml, w}, abuf);
    if (row == rb) impl::pack(bh, Index<2>{std::ptrdiff_t(k0 - b0), 0}, Shape<2>{w, nl}, bbuf);
    mpi::impl::check(MPI_Bcast(abuf, impl::count(ml * w, "matmul"), type.get(), ca, grid.along(1).get()), "MPI_Bcast");
    mpi::impl::check(MPI_Bcast(bbuf, impl::count(w * nl, "matmul"), type.get(), rb, grid.along(0).get()), "MPI_Bcast");
    if (ml == 0 || nl == 0) continue;
    const Panel ap(apanel.data(), ml, w), bp(bpanel.data(), w, nl);
    if (!host) {
      Kokkos::deep_copy(ap, impl::host_block<T, 2>(abuf, Shape<2>{ml, w}));
      Kokkos::deep_copy(bp, impl::host_block<T, 2>(bbuf, Shape<2>{w, nl}));
    }
    gemm('N', 'N', T(1), ap, bp, T(1), c.local());
  }
  return c;
}

}  // namespace dist
}  // namespace nabla
