// Fused reductions against host loops: whole-expression (one parallel_reduce each) and along an axis.
#include "test_util.hpp"

#include <nabla/core/timeline.hpp>

#include <limits>

#include <algorithm>
#include <cmath>
#include <numeric>

using nabla_test::close;
using nabla_test::fill_random;
using nabla_test::host;
using nabla_test::kSizes;

namespace {

TEST(Reduce, WholeExpressionMatchesHostLoops) {
  for (std::size_t n : kSizes) {
    SCOPED_TRACE("n=" + std::to_string(n));
    nabla::Array<double, 1> a({n}), b({n});
    fill_random(a.view(), -1, 1, 3 + unsigned(n));
    fill_random(b.view(), 0.5, 1.5, 4 + unsigned(n));
    const auto ha = host(a), hb = host(b);
    double s = 0, d = 0, ss = 0, p = 1, mn = INFINITY, mx = -INFINITY;
    std::int64_t cnt = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const double e = ha(i) * hb(i) + 1.0;
      s += e;
      d += ha(i) * hb(i);
      ss += ha(i) * ha(i);
      p *= hb(i) > 1.2 ? 1.0 + (hb(i) - 1.0) * 1e-3 : 1.0;
      mn = std::min(mn, e);
      mx = std::max(mx, e);
      cnt += ha(i) > 0.25;
    }
    const double tol = 1e-12 * std::max<double>(1, n);
    EXPECT_TRUE(close(nabla::sum(a * b + 1.0), s, 1e-12, tol));
    EXPECT_TRUE(close(nabla::dot(a, b), d, 1e-12, tol));
    EXPECT_TRUE(close(nabla::norm(a), std::sqrt(ss), 1e-12, tol));
    EXPECT_TRUE(close(nabla::prod(nabla::where(b > 1.2, 1.0 + (b - 1.0) * 1e-3, 1.0)), p, 1e-10));
    EXPECT_EQ(nabla::count(a > 0.25), cnt);
    EXPECT_EQ(nabla::any(a > 0.25), cnt > 0);
    EXPECT_EQ(nabla::all(a > -2.0), true);
    EXPECT_EQ(nabla::all(a > 0.25), cnt == std::int64_t(n));
    if (n > 0) {
      EXPECT_EQ(nabla::min(a * b + 1.0), mn);
      EXPECT_EQ(nabla::max(a * b + 1.0), mx);
      EXPECT_TRUE(close(nabla::mean(a * b + 1.0), s / n, 1e-12, tol));
    } else {
      EXPECT_THROW(nabla::min(a), nabla::ValueError);
      EXPECT_THROW(nabla::max(a), nabla::ValueError);
      EXPECT_TRUE(std::isnan(nabla::mean(a)));
    }
  }
}

TEST(Reduce, SumOfBoolsCountsAndIntegersStayExact) {
  auto r = nabla::arange<std::int64_t>(0, 100001);
  EXPECT_EQ(nabla::sum(r), std::int64_t(100000) * 100001 / 2);
  EXPECT_EQ(nabla::sum(r < 10), 10);
}

TEST(Reduce, EachWholeReductionIsOneKernel) {
  nabla::Array<double, 2> m({50, 40});
  nabla::Array<double, 1> v({50});
  nabla::tools::KernelCounter k;
  (void)nabla::sum(m * v + nabla::exp(m));  // broadcast inside the reduction: strided path
  EXPECT_EQ(k.count(), 1u);
  EXPECT_EQ(k.reduces(), 1u);
  k.reset();
  (void)nabla::max(m);
  (void)nabla::dot(m, m);
  EXPECT_EQ(k.count(), 2u);
}

template <int R>
void check_axes() {
  const std::size_t full[3] = {5, 7, 3};
  nabla::Shape<R> s{};
  for (int d = 0; d < R; ++d) s[d] = full[d];
  nabla::Array<double, R> a(s);
  fill_random(a.view(), -1, 1, 50 + R);
  const auto ha = host(a);
  for (int ax = 0; ax < R; ++ax) {
    SCOPED_TRACE("rank " + std::to_string(R) + " axis " + std::to_string(ax));
    auto sm = host(nabla::sum(a, nabla::axis(ax)));
    auto mx = host(nabla::max(a * 2.0, nabla::axis(ax)));
    auto me = host(nabla::mean(a, nabla::axis(ax)));
    // Host reference: loop over all elements, accumulate into the output element without dimension `ax`.
    std::size_t n = 1;
    for (int d = 0; d < R; ++d) n *= s[d];
    std::vector<double> rs(n / s[ax], 0.0), rm(n / s[ax], -INFINITY);
    for (std::size_t lin = 0; lin < n; ++lin) {
      std::size_t rem = lin, o = 0, ostr = 1;
      std::size_t idx[3] = {0, 0, 0};
      for (int d = 0; d < R; ++d) {
        idx[d] = rem % s[d];
        rem /= s[d];
      }
      for (int d = 0; d < R; ++d) {
        if (d == ax) continue;
        o += idx[d] * ostr;
        ostr *= s[d];
      }
      rs[o] += ha.data()[lin];
      rm[o] = std::max(rm[o], 2.0 * ha.data()[lin]);
    }
    ASSERT_EQ(sm.size(), rs.size());
    for (std::size_t o = 0; o < rs.size(); ++o) {
      EXPECT_TRUE(close(sm.data()[o], rs[o], 1e-13, 1e-13));
      EXPECT_EQ(mx.data()[o], rm[o]);
      EXPECT_TRUE(close(me.data()[o], rs[o] / s[ax], 1e-13, 1e-13));
    }
  }
  EXPECT_THROW(nabla::sum(a, nabla::axis(R)), nabla::ValueError);
}

TEST(Reduce, AlongEachAxisRank1) { check_axes<1>(); }
TEST(Reduce, AlongEachAxisRank2) { check_axes<2>(); }
TEST(Reduce, AlongEachAxisRank3) { check_axes<3>(); }

}  // namespace

namespace {

TEST(Reduce, StridedAndRowMajorOperands) {
  const std::size_t m = 31, n = 17;
  Kokkos::View<double**, Kokkos::LayoutRight> r("r", m, n);
  Kokkos::View<double**, Kokkos::LayoutLeft> big("big", 2 * m, n);
  nabla_test::fill_random(r, -1, 1, 61);
  nabla_test::fill_random(big, -1, 1, 62);
  auto every_other = Kokkos::subview(big, Kokkos::make_pair(std::size_t(3), std::size_t(3 + m)), Kokkos::ALL);
  const auto hr = nabla_test::host(r);
  const auto hb = nabla_test::host(big);
  double want = 0, want_max = -INFINITY;
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      want += hr(i, j) * hb(3 + i, j);
      want_max = std::max(want_max, hr(i, j) - hb(3 + i, j));
    }
  EXPECT_TRUE(close(nabla::sum(nabla::wrap(r) * nabla::wrap(every_other)), want, 1e-13, 1e-13));
  EXPECT_EQ(nabla::max(nabla::wrap(r) - nabla::wrap(every_other)), want_max);
  auto rows = nabla_test::host(nabla::sum(nabla::wrap(r), nabla::axis(1)));
  for (std::size_t i = 0; i < m; ++i) {
    double acc = 0;
    for (std::size_t j = 0; j < n; ++j) acc += hr(i, j);
    EXPECT_TRUE(close(rows(i), acc, 1e-13, 1e-13));
  }
}

TEST(Reduce, RankZeroArrays) {
  nabla::Array<double, 0> s(nabla::Shape<0>{});
  nabla::assign(s, 2.5);
  nabla::Array<double, 1> v({4});
  nabla::assign(v, s * 2.0);  // a rank-0 operand broadcasts like a scalar
  EXPECT_EQ(nabla::sum(v), 20.0);
  auto e = nabla::eval(s * s + 1.0);
  static_assert(decltype(e)::rank == 0, "");
  EXPECT_EQ(nabla::sum(e), 7.25);
  nabla::sum_into(s, v * v);
  double h = 0;
  Kokkos::deep_copy(h, s.view());
  EXPECT_EQ(h, 100.0);
}

}  // namespace

namespace {
// NaN propagates through min and max, as in NumPy and Julia, whole and along an axis.
TEST(Reduce, MinAndMaxPropagateNaN) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (int at = 0; at < 3; ++at) {  // the NaN first, in the middle, last
    nabla::Array<double, 1> v({3});
    auto h = Kokkos::create_mirror_view(v.view());
    h(0) = 0.0, h(1) = 0.25, h(2) = -1.0;
    h(at) = nan;
    Kokkos::deep_copy(v.view(), h);
    EXPECT_TRUE(std::isnan(nabla::max(v))) << at;
    EXPECT_TRUE(std::isnan(nabla::min(v))) << at;
    EXPECT_TRUE(std::isnan(nabla::max(v * 2.0 + 1.0))) << at;
  }
  nabla::Array<double, 2> m({2, 3});
  nabla::assign(m, nan);
  EXPECT_TRUE(std::isnan(nabla::max(m)));  // all NaN: NaN, not -1.797e308
  auto col = nabla::to_host(nabla::max(m, nabla::axis(0)));
  for (int j = 0; j < 3; ++j) EXPECT_TRUE(std::isnan(col.view()(j)));
}

TEST(Reduce, MinAndMaxAlongAnEmptyAxisAreErrors) {
  nabla::Array<double, 2> m({0, 3});
  try {
    (void)nabla::max(m, nabla::axis(0));
    FAIL() << "expected a ValueError";
  } catch (const nabla::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("(0, 3)"), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)nabla::min(m, nabla::axis(0)), nabla::ValueError);
  EXPECT_EQ(nabla::max(m, nabla::axis(1)).size(), 0u);  // nothing to reduce into: an empty result
  auto s = nabla::to_host(nabla::sum(m, nabla::axis(0)));  // an empty sum is 0
  for (int j = 0; j < 3; ++j) EXPECT_EQ(s.view()(j), 0.0);
}

// Every reduction given an execution space instance first runs there. Host memory in every build (which a
// device build's default instance cannot read) on the default host instance, and on Serial beside OpenMP, where
// each kernel carries that space's Kokkos Tools device id. Values against host loops.
template <class Space>
void check_reductions_on(const Space& space) {
  using Mat = nabla::Array<double, 2, Kokkos::HostSpace>;
  const std::size_t rows = 37, cols = 5;
  Mat a({rows, cols}), b({rows, cols});
  double s = 0, d = 0, ss = 0, mn = INFINITY, mx = -INFINITY;
  std::int64_t cnt = 0;
  std::vector<double> row_sum(rows, 0.0), col_max(cols, -INFINITY), col_sum(cols, 0.0);
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t j = 0; j < cols; ++j) {
      const double x = std::sin(0.7 * double(i) + 1.3 * double(j)), y = 0.5 + x * x;
      a.view()(i, j) = x;
      b.view()(i, j) = y;
      s += x * y + 1.0;
      d += x * y;
      ss += x * x;
      mn = std::min(mn, x);
      mx = std::max(mx, x);
      cnt += x > 0.25;
      row_sum[i] += x;
      col_max[j] = std::max(col_max[j], x);
      col_sum[j] += x;
    }
  const double n = double(rows * cols);
  nabla::tools::KernelTimeline timeline;
  EXPECT_TRUE(close(nabla::sum(space, a * b + 1.0), s, 1e-13, 1e-13));
  EXPECT_TRUE(close(nabla::dot(space, a, b), d, 1e-13, 1e-13));
  EXPECT_TRUE(close(nabla::norm(space, a), std::sqrt(ss), 1e-13, 1e-13));
  EXPECT_TRUE(close(nabla::mean(space, a), std::accumulate(col_sum.begin(), col_sum.end(), 0.0) / n, 1e-13, 1e-13));
  EXPECT_EQ(nabla::min(space, a), mn);
  EXPECT_EQ(nabla::max(space, a), mx);
  EXPECT_EQ(nabla::count(space, a > 0.25), cnt);
  EXPECT_EQ(nabla::any(space, a > 2.0), false);
  EXPECT_EQ(nabla::all(space, a > -2.0), true);
  const auto by_row = nabla::sum(space, a, nabla::axis(1));
  const auto largest = nabla::max(space, a, nabla::axis(0));
  const auto average = nabla::mean(space, a, nabla::axis(0));
  for (std::size_t i = 0; i < rows; ++i) EXPECT_TRUE(close(by_row.view()(i), row_sum[i], 1e-13, 1e-13));
  for (std::size_t j = 0; j < cols; ++j) {
    EXPECT_EQ(largest.view()(j), col_max[j]);
    EXPECT_TRUE(close(average.view()(j), col_sum[j] / double(rows), 1e-13, 1e-13));
  }
  nabla::Array<double, 0, Kokkos::HostSpace> total(nabla::Shape<0>{});
  nabla::sum_into(space, total, a * b);
  EXPECT_TRUE(close(total.view()(), d, 1e-13, 1e-13));
  Kokkos::fence();
  std::size_t ours = 0;
  for (const auto& k : timeline.kernels()) {
    if (k.label.rfind("nabla::core::", 0) != 0) continue;  // the result arrays' own initialisation
    ++ours;
#if KOKKOS_VERSION >= 40000
    EXPECT_EQ(k.device, Kokkos::Tools::Experimental::device_id(space)) << k.label << " ran on another instance";
#endif
  }
  EXPECT_EQ(ours, 14u);
}

TEST(Reduce, RunsOnTheGivenInstance) {
  check_reductions_on(Kokkos::DefaultHostExecutionSpace());
#if defined(KOKKOS_ENABLE_SERIAL)
  check_reductions_on(Kokkos::Serial());
#endif
}

}  // namespace
