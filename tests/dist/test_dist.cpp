// dist: every operation against the same computation on the undistributed core Array, on grids of 1-3
// dimensions, uneven and empty blocks, at whatever rank count mpirun gives (CTest runs 1, 2, 3 and 4).
#include <nabla/core.hpp>
#include <nabla/dist.hpp>

#include "dist_test_util.hpp"
#include "mpi_counter.hpp"

#include <gtest/gtest.h>

#include <cmath>
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

/// Grids of 1, 2 and 3 dimensions over every rank.
std::vector<std::vector<int>> grid_dims() { return {{0}, {0, 0}, {0, 0, 0}}; }

template <class View, int R>
auto at(const View& v, const Index<R>& i) {
  std::ptrdiff_t o = 0;
  for (int d = 0; d < R; ++d) o += i[d] * std::ptrdiff_t(v.stride(d));
  return v.data()[o];
}

/// Every element of this rank's block equals the whole array's element at the same global index (bit for
/// bit when rtol is 0, else within rtol relative).
template <class T, int R, class S>
void expect_block(const d::Array<T, R, S>& a, const nabla::Array<T, R, Host>& whole, double rtol = 0) {
  for (int d = 0; d < R; ++d) ASSERT_EQ(a.shape()[d], whole.extent(d));
  const auto local = nabla::to_host(a.local());
  const Shape<R> ext = local.shape();
  const Index<R> lo = a.offset();
  for (std::size_t lin = 0; lin < local.size(); ++lin) {
    const Index<R> i = nabla::impl::unravel<true, R>(lin, ext);
    Index<R> g{};
    for (int d = 0; d < R; ++d) g[d] = i[d] + lo[d];
    const T x = at(local.view(), i), y = at(whole.view(), g);
    if (rtol == 0) {
      ASSERT_EQ(std::memcmp(&x, &y, sizeof(T)), 0) << "element " << lin << " of rank " << a.grid().rank() << ": " << x
                                                  << " vs " << y;
    } else {
      ASSERT_LE(std::abs(double(x) - double(y)), rtol * std::max(1.0, std::abs(double(y)))) << x << " vs " << y;
    }
  }
}

template <class F>
long calls_during(F&& f) {
  const long before = nabla_test::mpi_calls_total();
  f();
  return nabla_test::mpi_calls_total() - before;
}

const nabla::random::Key key1 = nabla::random::key(11), key2 = nabla::random::key(12), key3 = nabla::random::key(13);

// ------------------------------------------------------------------------------------------ grid, partition

TEST(DistGrid, BadGridsAreErrorsOnEveryRank) {
  const int p = world().size();
  EXPECT_THROW(d::Grid(world(), {p + 1}), nabla::ValueError);
  EXPECT_THROW(d::Grid(world(), {p, 2}), nabla::ValueError);
  if (p % 3 != 0) EXPECT_THROW(d::Grid(world(), {3, 0}), nabla::ValueError);  // 3 does not divide p
  EXPECT_THROW(d::Grid(world(), {}), nabla::ValueError);
  const d::Grid g(world(), {0, 0});
  EXPECT_EQ(g.dim(0) * g.dim(1), p);
  EXPECT_THROW(d::Partition<2>(g, {4, 4}, {0, 2}), nabla::ValueError);
  EXPECT_THROW(d::Partition<2>(g, {4, 4}, {1, 1}), nabla::ValueError);
  try {
    d::Grid(world(), {p + 1});
  } catch (const nabla::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("ranks of the communicator"), std::string::npos) << e.what();
  }
}

TEST(DistGrid, BlocksTileTheShapeAndOwnersHoldTheirElements) {
  for (const auto& dims : grid_dims()) {
    const d::Grid g(world(), dims);
    for (const Shape<3> shape : {Shape<3>{7, 5, 3}, Shape<3>{1, 2, 1}, Shape<3>{0, 4, 2}}) {
      const d::Partition<3> p(g, shape, leading_split<3>(g.ndims()));
      std::size_t covered = 0;
      for (int r = 0; r < g.size(); ++r)
        if (p.is_primary(r)) covered += nabla::shape_size(p.local_shape_of(r));
      EXPECT_EQ(covered, nabla::shape_size(shape)) << p.to_string();
      for (std::size_t lin = 0; lin < nabla::shape_size(shape); ++lin) {
        const Index<3> i = nabla::impl::unravel<true, 3>(lin, shape);
        const int r = p.owner(i);
        const Index<3> lo = p.offset_of(r);
        const Shape<3> ext = p.local_shape_of(r);
        for (int a = 0; a < 3; ++a) EXPECT_TRUE(i[a] >= lo[a] && i[a] < lo[a] + std::ptrdiff_t(ext[a]));
        EXPECT_TRUE(p.is_primary(r));
      }
    }
  }
}

// --------------------------------------------------------------------------------------- creation, gather

template <int R>
void check_creation(const d::Grid& g, const Shape<R>& shape) {
  const d::Partition<R> p(g, shape, leading_split<R>(g.ndims()));
  expect_block(d::random::normal<double, R>(key1, p), nabla::random::normal<double, R, Host>(key1, shape));
  expect_block(d::random::uniform<float, R>(key2, p), nabla::random::uniform<float, R, Host>(key2, shape));
  expect_block(d::full<double, R>(p, 2.5), nabla::full<double, R, Host>(shape, 2.5));
  const auto whole = nabla::random::normal<double, R, Host>(key3, shape);
  const auto a = d::distribute(whole, p);  // rank 0's copy
  expect_block(a, whole);
  expect_block(d::distribute(whole, p, d::every_rank), whole);
  const auto back = nabla::to_host(d::allgather(a));
  expect_block(d::distribute(back, p, d::every_rank), whole);
  const auto c = d::collect(a);
  if (g.rank() == 0) {
    const auto h = nabla::to_host(c);
    for (std::size_t i = 0; i < whole.size(); ++i) ASSERT_EQ(h.data()[i], whole.data()[i]);
  } else {
    EXPECT_EQ(c.size(), 0u);
  }
}

TEST(DistCreate, RandomFilledAndScatteredMatchTheWholeArray) {
  for (const auto& dims : grid_dims()) {
    const d::Grid g(world(), dims);
    check_creation<1>(g, {11});
    check_creation<2>(g, {7, 5});
    check_creation<3>(g, {5, 3, 4});
    check_creation<2>(g, {1, 2});  // more ranks than rows: empty blocks
  }
}

TEST(DistCreate, LinspaceAndArangeMatchCore) {
  const d::Grid g(world());
  for (std::size_t n : {1u, 3u, 10u, 101u}) {
    const d::Partition<1> p(g, {n}, {0});
    expect_block(d::linspace<double>(p, -1.0, 2.0), nabla::linspace<double, Host>(-1.0, 2.0, n));
    expect_block(d::arange<double>(p, 0.5, 0.25), nabla::arange<double, Host>(0.5, 0.5 + 0.25 * double(n), 0.25));
  }
}

TEST(DistCreate, WrongShapesAreErrorsOnEveryRank) {
  const d::Grid g(world());
  const d::Partition<2> p(g, {4, 3}, {0, d::replicated});
  const nabla::Array<double, 2, Host> wrong({3, 4});
  EXPECT_THROW(d::distribute(wrong, p), nabla::ShapeError);
  const nabla::Array<double, 2, Host> mine(g.rank() == g.size() - 1 ? Shape<2>{4, 4} : Shape<2>{4, 3});
  EXPECT_THROW(d::distribute(mine, p, d::every_rank), nabla::ShapeError);
}

TEST(DistCreate, DescribeNamesTheOwnerOfEachBlock) {
  const d::Grid g(world(), {0, 0});
  const d::Partition<2> p(g, {8, 6}, {0, 1});
  const std::string s = d::describe(d::zeros<double, 2>(p));
  for (int r = 0; r < g.size(); ++r)
    EXPECT_NE(s.find("rank " + std::to_string(r) + ": " + d::block_string(p.offset_of(r), p.local_shape_of(r))),
              std::string::npos)
        << s;
  EXPECT_NE(s.find("owner map (" + std::to_string(g.dim(0)) + " x " + std::to_string(g.dim(1))), std::string::npos) << s;
}

// ---------------------------------------------------------------------------------------- fused broadcast

template <int R>
void check_fused(const d::Grid& g, const Shape<R>& shape) {
  const d::Partition<R> p(g, shape, leading_split<R>(g.ndims()));
  const auto A = d::random::normal<double, R>(key1, p);
  const auto B = d::random::uniform<double, R>(key2, p);
  const auto A0 = nabla::random::normal<double, R, Host>(key1, shape);
  const auto B0 = nabla::random::uniform<double, R, Host>(key2, shape);
  const auto c = nabla::linspace<double>(-1.0, 1.0, shape[0]);  // replicated column, aligned with axis 0
  const auto c0 = nabla::to_host(c);
  const auto noise = nabla::random::uniform_expr<double>(key3, shape);
  d::Array<double, R> out(p);
  const long calls = calls_during([&] { d::assign(out, 2.0 * A + sqrt(B) - A * B / 3.0 + c * noise); });
  EXPECT_EQ(calls, 0) << "an elementwise assign must not communicate";
  const auto want = nabla::eval(Kokkos::DefaultHostExecutionSpace(), 2.0 * A0 + nabla::sqrt(B0) - A0 * B0 / 3.0 + c0 * noise);
  expect_block(out, want);
  expect_block(d::eval(sqrt(abs(A)) + 1.0), nabla::eval(Kokkos::DefaultHostExecutionSpace(), nabla::sqrt(nabla::abs(A0)) + 1.0));
  // Transcendental functions: within 4 ulp (host loops may take glibc's vector math, libmvec, for some
  // elements and libm for others, depending on where a block's loop ends).
  expect_block(d::eval(exp(A) * tanh(B)), nabla::eval(Kokkos::DefaultHostExecutionSpace(), nabla::exp(A0) * nabla::tanh(B0)),
               4e-15);
}

TEST(DistAssign, FusedExpressionsMatchCoreBitForBitWithoutCommunication) {
  for (const auto& dims : grid_dims()) {
    const d::Grid g(world(), dims);
    check_fused<1>(g, {13});
    check_fused<2>(g, {9, 7});
    check_fused<3>(g, {5, 4, 3});
    check_fused<2>(g, {1, 3});
  }
}

TEST(DistAssign, CentringColumnsWorksWhereverTheMatrixIsSplit) {
  // DistributedArrays.jl's `d .- mean(d, 1)`: the column means broadcast against the matrix, split by rows
  // (means replicated) or by columns (means split as the columns).
  const d::Grid g(world());
  const Shape<2> shape{10, 7};
  const auto X0 = nabla::random::normal<double, 2>(key1, shape);
  const auto m0 = nabla::reshape(nabla::mean(X0, nabla::axis(0)), Shape<2>{1, 7});
  const auto want = nabla::to_host(nabla::eval(X0 - m0));
  for (const SmallArray<int, 2> split : {SmallArray<int, 2>{0, d::replicated}, SmallArray<int, 2>{d::replicated, 0}}) {
    const auto X = d::random::normal<double, 2>(key1, d::Partition<2>(g, shape, split));
    const auto m = d::mean(X, nabla::axis(0));
    EXPECT_EQ(m.partition().split(0), split[1]);
    expect_block(d::eval(X - d::insert_axis(m, 0)), want, 1e-13);
    expect_block(d::eval(X - m0), want);  // a replicated core row: its matching slice
  }
}

TEST(DistAssign, MismatchedPartitionsAreErrorsNamingBoth) {
  const d::Grid g(world()), other(world());
  const auto a = d::zeros<double, 2>(d::Partition<2>(g, {6, 4}, {0, d::replicated}));
  const auto b = d::zeros<double, 2>(d::Partition<2>(g, {6, 4}, {d::replicated, 0}));
  const auto c = d::zeros<double, 2>(d::Partition<2>(other, {6, 4}, {0, d::replicated}));
  d::Array<double, 2> out(a.partition());
  if (g.size() > 1) {
    try {
      d::assign(out, a + b);
      ADD_FAILURE() << "no PartitionError";
    } catch (const d::PartitionError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(a.partition().to_string()), std::string::npos) << what;
      EXPECT_NE(what.find(b.partition().to_string()), std::string::npos) << what;
    }
  }
  EXPECT_THROW(d::assign(out, a + c), d::PartitionError);
  EXPECT_THROW(d::assign(out, a + d::zeros<double, 2>(d::Partition<2>(g, {6, 5}, {0, d::replicated}))),
               nabla::ShapeError);
}

// --------------------------------------------------------------------------------------------- reductions

template <int R>
void check_reductions(const d::Grid& g, const Shape<R>& shape) {
  const d::Partition<R> p(g, shape, leading_split<R>(g.ndims()));
  const auto A = d::random::normal<double, R>(key1, p);
  const auto B = d::random::uniform<double, R>(key2, p);
  const auto A0 = nabla::random::normal<double, R>(key1, shape);  // references on the default device
  const auto B0 = nabla::random::uniform<double, R>(key2, shape);
  auto near = [](double x, double y) { return std::abs(x - y) <= 1e-13 * std::max(1.0, std::abs(y)); };
  double s = 0;
  nabla_test::mpi_calls().clear();
  const long calls = calls_during([&] { s = d::sum(A * B + 1.0); });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(nabla_test::mpi_calls()["MPI_Allgather"], 1);
  EXPECT_TRUE(near(s, nabla::sum(A0 * B0 + 1.0))) << s;
  EXPECT_TRUE(near(d::mean(A), nabla::mean(A0)));
  EXPECT_TRUE(near(d::dot(A, B), nabla::dot(A0, B0)));
  EXPECT_TRUE(near(d::norm(A), nabla::norm(A0)));
  EXPECT_TRUE(near(d::prod(1.0 + B / 8.0), nabla::prod(1.0 + B0 / 8.0)));
  EXPECT_EQ(d::min(A), nabla::min(A0));
  EXPECT_EQ(d::max(A), nabla::max(A0));
  EXPECT_EQ(d::count(A > 0.5), nabla::count(A0 > 0.5));
  EXPECT_EQ(d::any(A > 2.0), nabla::any(A0 > 2.0));
  EXPECT_EQ(d::all(B >= 0.0), true);
  // The same bits on every rank and on a second run.
  const double again = d::sum(A * B + 1.0);
  EXPECT_EQ(std::memcmp(&s, &again, sizeof s), 0);
  EXPECT_EQ(g.comm().allreduce(s, nabla::mpi::Op::max), g.comm().allreduce(s, nabla::mpi::Op::min));
  // Along each axis: partitioned as the remaining axes.
  for (int ax = 0; ax < R; ++ax) {
    expect_block(d::sum(A * B, nabla::axis(ax)), nabla::to_host(nabla::sum(A0 * B0, nabla::axis(ax))), 1e-13);
    expect_block(d::mean(A, nabla::axis(ax)), nabla::to_host(nabla::mean(A0, nabla::axis(ax))), 1e-13);
    if (shape[ax] > 0) {
      expect_block(d::max(A, nabla::axis(ax)), nabla::to_host(nabla::max(A0, nabla::axis(ax))));
      expect_block(d::min(A, nabla::axis(ax)), nabla::to_host(nabla::min(A0, nabla::axis(ax))));
    }
  }
}

TEST(DistReduce, WholeAndPerAxisMatchCoreWithOneCollective) {
  for (const auto& dims : grid_dims()) {
    const d::Grid g(world(), dims);
    check_reductions<1>(g, {17});
    check_reductions<2>(g, {9, 6});
    check_reductions<3>(g, {4, 5, 3});
    check_reductions<2>(g, {1, 2});
  }
}

TEST(DistReduce, EmptyArraysGiveClearErrors) {
  const d::Grid g(world());
  const auto e = d::zeros<double, 1>(d::Partition<1>(g, {0}, {0}));
  EXPECT_EQ(d::sum(e), 0.0);
  EXPECT_THROW(d::min(e), nabla::ValueError);
  EXPECT_TRUE(std::isnan(d::mean(e)));
}

// --------------------------------------------------------------------------------- redistribute, matmul

TEST(DistRedistribute, RoundTripsThroughEverySplit) {
  for (const auto& dims : grid_dims()) {
    const d::Grid g(world(), dims);
    const Shape<3> shape{6, 5, 4};
    const auto whole = nabla::random::normal<double, 3, Host>(key1, shape);
    const auto a = d::random::normal<double, 3>(key1, d::Partition<3>(g, shape, leading_split<3>(g.ndims())));
    std::vector<SmallArray<int, 3>> splits{{d::replicated, d::replicated, d::replicated}};
    if (g.ndims() == 1) splits.insert(splits.end(), {{d::replicated, 0, d::replicated}, {d::replicated, d::replicated, 0}});
    if (g.ndims() == 2) splits.insert(splits.end(), {{1, 0, d::replicated}, {d::replicated, 1, 0}});
    if (g.ndims() == 3) splits.insert(splits.end(), {{2, 0, 1}, {1, 2, 0}});
    for (const auto& s : splits) {
      nabla_test::mpi_calls().clear();
      const auto b = d::redistribute(a, d::Partition<3>(g, shape, s));
      EXPECT_EQ(nabla_test::mpi_calls_total(), 1);
      expect_block(b, whole);
      expect_block(d::redistribute(b, a.partition()), whole);
    }
  }
}

TEST(DistRedistribute, TransposeNeedsNoCommunication) {
  const d::Grid g(world(), {0, 0});
  const auto whole = nabla::random::normal<double, 2, Host>(key1, {7, 4});
  const auto a = d::random::normal<double, 2>(key1, d::Partition<2>(g, {7, 4}, {0, 1}));
  d::Array<double, 2> t;
  EXPECT_EQ(calls_during([&] { t = d::transpose(a); }), 0);
  nabla::Array<double, 2, Host> wt({4, 7});
  for (std::size_t i = 0; i < 7; ++i)
    for (std::size_t j = 0; j < 4; ++j) wt.view()(j, i) = whole.view()(i, j);
  expect_block(t, wt);
}

TEST(DistMatmul, SummaMatchesOneRanksGemm) {
  const d::Grid g(world(), {0, 0});
  for (const Shape<3> mkn : {Shape<3>{8, 8, 8}, Shape<3>{7, 9, 5}, Shape<3>{3, 1, 2}}) {
    const Shape<2> sa{mkn[0], mkn[1]}, sb{mkn[1], mkn[2]};
    const auto a = d::random::normal<double, 2>(key1, d::Partition<2>(g, sa, {0, 1}));
    const auto b = d::random::normal<double, 2>(key2, d::Partition<2>(g, sb, {0, 1}));
    const auto want = nabla::to_host(nabla::matmul(nabla::random::normal<double, 2>(key1, sa),
                                                   nabla::random::normal<double, 2>(key2, sb)));
    expect_block(d::matmul(a, b), want, 1e-13);
  }
  EXPECT_THROW(d::matmul(d::zeros<double, 2>(d::Partition<2>(g, {4, 4}, {0, d::replicated})),
                         d::zeros<double, 2>(d::Partition<2>(g, {4, 4}, {0, 1}))),
               d::PartitionError);
}

TEST(DistMatmul, RowSplitMatrixTimesVectorNeedsNoCommunication) {
  const d::Grid g(world());
  const auto a = d::random::normal<double, 2>(key1, d::Partition<2>(g, {9, 4}, {0, d::replicated}));
  const auto x = nabla::random::normal<double, 1>(key2, {4});
  d::Array<double, 1> y;
  EXPECT_EQ(calls_during([&] { y = d::matmul(a, x); }), 0);
  nabla::Array<double, 1> want({9});
  nabla::gemv('N', 1.0, nabla::random::normal<double, 2>(key1, {9, 4}), x, 0.0, want);
  expect_block(y, nabla::to_host(want), 1e-13);
  EXPECT_THROW(d::matmul(d::zeros<double, 2>(d::Partition<2>(g, {9, 4}, {d::replicated, 0})), x), d::PartitionError);
}

}  // namespace
