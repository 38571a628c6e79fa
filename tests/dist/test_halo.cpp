// dist halos and stencils: ghost cells after an exchange equal the undistributed array's neighbours under each
// boundary condition, and stencil steps equal a host loop over the whole array, bit for bit, at any rank count.
#include <nabla/core.hpp>
#include <nabla/dist.hpp>

#include "dist_test_util.hpp"
#include "mpi_counter.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace d = nabla::dist;
using nabla::Index;
using nabla::Shape;
using nabla::SmallArray;
using Host = Kokkos::HostSpace;

namespace {

using nabla_test::leading_split;
using nabla_test::world;

/// The whole array's element at index i, which may lie beyond the edges: the boundary condition's value.
template <int R>
double reference_at(const nabla::Array<double, R, Host>& u, Index<R> i, d::Boundary bc, double value) {
  for (int a = 0; a < R; ++a) {
    const std::ptrdiff_t n = std::ptrdiff_t(u.extent(a));
    if (i[a] >= 0 && i[a] < n) continue;
    switch (bc) {
      case d::Boundary::periodic: i[a] = (i[a] % n + n) % n; break;
      case d::Boundary::constant: return value;
      case d::Boundary::clamp: i[a] = i[a] < 0 ? 0 : n - 1; break;
      case d::Boundary::reflect: i[a] = i[a] < 0 ? -i[a] : 2 * (n - 1) - i[a]; break;
    }
  }
  std::ptrdiff_t o = 0;
  for (int a = 0; a < R; ++a) o += i[a] * std::ptrdiff_t(u.view().stride(a));
  return u.data()[o];
}

using nabla_test::kBoundaries;

/// After an exchange, every cell of the padded block (corners only for box stencils) holds the whole array's
/// element at its global index under the boundary condition.
template <int R>
void check_ghosts(const d::Grid& g, const Shape<R>& shape, std::size_t w, d::Stencil st) {
  const auto whole = nabla::random::normal<double, R, Host>(nabla::random::key(3), shape);
  const d::Partition<R> p(g, shape, leading_split<R>(g.ndims()));
  for (const auto bc : kBoundaries) {
    d::Field<double, R> f(d::distribute(whole, p, d::every_rank), {w, st, bc, -7.5});
    f.exchange();
    const auto h = nabla::to_host(f.storage());
    const Index<R> lo = p.offset(), at = f.origin();
    // The block starts on a 64-byte boundary: aligned vector loads in stencils.
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(f.interior().data()) % 64, 0u);
    // Counted, not asserted: a rank leaving the loop early would skip the next exchange and hang the others.
    std::size_t wrong = 0, first = 0, cells = 0;
    for (std::size_t lin = 0; lin < h.size(); ++lin) {
      const Index<R> i = nabla::impl::unravel<true, R>(lin, h.shape());
      Index<R> gi{};
      int ghost_axes = 0;
      bool padding = false;
      for (int a = 0; a < R; ++a) {
        const std::ptrdiff_t k = i[a] - at[a], n = std::ptrdiff_t(f.partition().local_shape()[a]);
        gi[a] = k + lo[a];
        ghost_axes += k < 0 || k >= n;
        padding = padding || k < -std::ptrdiff_t(w) || k >= n + std::ptrdiff_t(w);
      }
      if (padding || (st == d::Stencil::star && ghost_axes > 1)) continue;
      ++cells;
      if (h.data()[lin] != reference_at(whole, gi, bc, -7.5) && wrong++ == 0) first = lin;
    }
    EXPECT_EQ(wrong, 0u) << "rank " << g.rank() << ", first wrong cell " << first << ", boundary " << int(bc)
                         << ", width " << w << ", " << p.to_string();
    // Every cell of the block and its ghosts was compared (star: faces only; box: the whole padded block).
    const Shape<R> n = p.local_shape();
    std::size_t expect = 1;
    if (st == d::Stencil::box) {
      for (int a = 0; a < R; ++a) expect *= n[a] + 2 * w;
    } else {
      expect = nabla::shape_size(n);
      for (int a = 0; a < R; ++a) {
        std::size_t face = 2 * w;
        for (int b = 0; b < R; ++b) face *= b == a ? 1 : n[b];
        expect += face;
      }
    }
    EXPECT_EQ(cells, expect) << "rank " << g.rank() << ", " << p.to_string();
  }
}

TEST(DistHalo, GhostsHoldTheNeighboursUnderEveryBoundaryCondition) {
  for (const std::vector<int>& dims : {std::vector<int>{0}, std::vector<int>{0, 0}, std::vector<int>{0, 0, 0}}) {
    const d::Grid g(world(), dims);
    for (const auto st : {d::Stencil::star, d::Stencil::box}) {
      check_ghosts<1>(g, {13}, 1, st);
      check_ghosts<2>(g, {9, 8}, 1, st);
      check_ghosts<2>(g, {11, 10}, 2, st);
      check_ghosts<3>(g, {6, 5, 4}, 1, st);
    }
  }
}

TEST(DistHalo, AnExchangeTalksToNeighboursOnly) {
  const d::Grid g(world(), {0, 0});
  const d::Partition<2> p(g, {16, 12}, {0, 1});
  d::Field<double, 2> f(p, {1, d::Stencil::star, d::Boundary::constant, 0.0});
  nabla_test::mpi_calls().clear();
  f.exchange();
  auto& calls = nabla_test::mpi_calls();
  EXPECT_EQ(calls["MPI_Isend"], calls["MPI_Irecv"]);
  EXPECT_LE(calls["MPI_Isend"], 4);
  EXPECT_EQ(nabla_test::mpi_calls_total(), calls["MPI_Isend"] + calls["MPI_Irecv"]) << "no collective";
}

/// v = u + c (shift(u, +e_a) + shift(u, -e_a) summed over axes - 2 R u), against a host loop.
template <int R>
void check_laplacian(const d::Grid& g, const Shape<R>& shape, d::Boundary bc) {
  const auto whole = nabla::random::uniform<double, R, Host>(nabla::random::key(5), shape);
  const d::Partition<R> p(g, shape, leading_split<R>(g.ndims()));
  d::Field<double, R> u(d::distribute(whole, p, d::every_rank), {1, d::Stencil::star, bc, 0.25});
  d::Field<double, R> v(p, {1, d::Stencil::star, bc, 0.25});
  const double c = 0.1;
  Index<R> e0{}, e1{}, e2{};
  e0[0] = 1;
  if constexpr (R >= 2) e1[1] = 1;
  if constexpr (R >= 3) e2[2] = 1;
  auto neg = [](Index<R> o) {
    for (int a = 0; a < R; ++a) o[a] = -o[a];
    return o;
  };
  if constexpr (R == 1) {
    d::stencil_step(v, u, u + c * (d::shift(u, e0) + d::shift(u, neg(e0)) - 2.0 * u));
  } else if constexpr (R == 2) {
    d::stencil_step(v, u, u + c * (d::shift(u, e0) + d::shift(u, neg(e0)) + d::shift(u, e1) + d::shift(u, neg(e1)) - 4.0 * u));
  } else {
    d::stencil_step(v, u, u + c * (d::shift(u, e0) + d::shift(u, neg(e0)) + d::shift(u, e1) + d::shift(u, neg(e1)) +
                                   d::shift(u, e2) + d::shift(u, neg(e2)) - 6.0 * u));
  }
  const auto got = nabla::to_host(d::allgather(v.array()));
  for (std::size_t lin = 0; lin < whole.size(); ++lin) {
    const Index<R> i = nabla::impl::unravel<true, R>(lin, shape);
    auto at = [&](const Index<R>& o) {
      Index<R> j = i;
      for (int a = 0; a < R; ++a) j[a] += o[a];
      return reference_at(whole, j, bc, 0.25);
    };
    const double x = at(Index<R>{});
    double want;
    if constexpr (R == 1) want = x + c * (at(e0) + at(neg(e0)) - 2.0 * x);
    else if constexpr (R == 2) want = x + c * (at(e0) + at(neg(e0)) + at(e1) + at(neg(e1)) - 4.0 * x);
    else want = x + c * (at(e0) + at(neg(e0)) + at(e1) + at(neg(e1)) + at(e2) + at(neg(e2)) - 6.0 * x);
    ASSERT_EQ(got.data()[lin], want) << "element " << lin << " boundary " << int(bc) << " on " << g.size() << " ranks";
  }
}

TEST(DistHalo, StencilStepsEqualAHostLoopBitForBit) {
  for (const std::vector<int>& dims : {std::vector<int>{0}, std::vector<int>{0, 0}, std::vector<int>{0, 0, 0}}) {
    const d::Grid g(world(), dims);
    for (const auto bc : kBoundaries) {
      check_laplacian<1>(g, {17}, bc);
      check_laplacian<2>(g, {12, 9}, bc);
      check_laplacian<2>(g, {5, 4}, bc);  // blocks thinner than 2 widths: no interior kernel
      check_laplacian<3>(g, {6, 5, 4}, bc);
    }
  }
}

TEST(DistHalo, BoxStencilsReadTheDiagonals) {
  const d::Grid g(world(), {0, 0});
  const Shape<2> shape{10, 9};
  const auto whole = nabla::random::uniform<double, 2, Host>(nabla::random::key(8), shape);
  const d::Partition<2> p(g, shape, {0, 1});
  const d::HaloOptions o{2, d::Stencil::box, d::Boundary::periodic, 0};
  d::Field<double, 2> u(d::distribute(whole, p, d::every_rank), o), v(p, o);
  d::stencil_step(v, u, d::shift(u, {2, -1}) - d::shift(u, {-1, 2}) * 0.5);
  const auto got = nabla::to_host(d::allgather(v.array()));
  for (std::ptrdiff_t i = 0; i < 10; ++i)
    for (std::ptrdiff_t j = 0; j < 9; ++j) {
      const double want = reference_at(whole, Index<2>{i + 2, j - 1}, o.boundary, 0) -
                          reference_at(whole, Index<2>{i - 1, j + 2}, o.boundary, 0) * 0.5;
      ASSERT_EQ(got.view()(i, j), want);
    }
}

TEST(DistHalo, ShiftsAlongAnAxisOfOneElementReadItsGhosts) {
  // A one-row field: shifting along the row axis reads the ghost row (here the constant), not the row itself.
  const d::Grid g(world());
  const Shape<2> shape{1, 6};
  const auto whole = nabla::random::uniform<double, 2, Host>(nabla::random::key(9), shape);
  const d::Partition<2> p(g, shape, {d::replicated, 0});
  const d::HaloOptions o{1, d::Stencil::star, d::Boundary::constant, 0.25};
  d::Field<double, 2> u(d::distribute(whole, p, d::every_rank), o), v(p, o);
  d::stencil_step(v, u, d::shift(u, {1, 0}) + d::shift(u, {0, -1}));
  const auto got = nabla::to_host(d::allgather(v.array()));
  for (std::ptrdiff_t j = 0; j < 6; ++j)
    EXPECT_EQ(got.view()(0, j), reference_at(whole, Index<2>{1, j}, o.boundary, 0.25) +
                                    reference_at(whole, Index<2>{0, j - 1}, o.boundary, 0.25));
}

TEST(DistHalo, ThinBlocksAndBadShiftsAreErrorsOnEveryRank) {
  const d::Grid g(world());
  const int p = g.size();
  // One row per rank: thinner than a halo of 2 (or, on one rank, an axis too short for it).
  EXPECT_THROW((d::Field<double, 2>(d::Partition<2>(g, {std::size_t(p), 6}, {0, d::replicated}), {2})),
               nabla::ValueError);
  if (p > 2) {  // more ranks than rows: empty blocks
    try {
      d::Field<double, 2>(d::Partition<2>(g, {2, 6}, {0, d::replicated}), {1});
      ADD_FAILURE() << "no error";
    } catch (const nabla::ValueError& e) {
      EXPECT_NE(std::string(e.what()).find("rank 2's block"), std::string::npos) << e.what();
    }
  }
  d::Field<double, 2> u(d::Partition<2>(g, {4 * std::size_t(p), 6}, {0, d::replicated}), {1});
  EXPECT_THROW(d::shift(u, {2, 0}), nabla::ValueError);
  EXPECT_THROW(d::stencil_step(u, u, d::shift(u, {1, 0})), nabla::ValueError);
  EXPECT_THROW(u.finish_exchange(), nabla::ValueError);
}

}  // namespace
