// Gradients through distributed arrays: a loss of stencil terms (shifts under each boundary condition) and a
// data misfit has the gradient the undistributed tape gives (shifts there built from ad::slice and ad::concat),
// at every rank count and grid, and matches central differences of the distributed loss.
#include <nabla/ad.hpp>
#include <nabla/core.hpp>
#include <nabla/dist.hpp>

#include "dist_test_util.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace d = nabla::dist;
namespace ad = nabla::ad;
using nabla::Index;
using nabla::Shape;
using Host = Kokkos::HostSpace;

namespace {

using nabla_test::leading_split;
using nabla_test::world;

constexpr double kPad = -0.75;  // the constant boundary's value

/// x shifted by s along axis k on the whole array, beyond the edges the boundary condition: slices of x (and
/// a constant block) joined along k.
ad::Var<double, 2> whole_shift_axis(ad::Tape& tape, const ad::Var<double, 2>& x, int k, std::ptrdiff_t s,
                                    d::Boundary bc) {
  if (s == 0) return x;
  const std::ptrdiff_t n = std::ptrdiff_t(x.shape()[k]);
  auto cells = [&](std::ptrdiff_t a, std::ptrdiff_t b) {  // x along k over [a, b)
    Shape<2> lo{0, 0}, hi = x.shape();
    lo[k] = std::size_t(a), hi[k] = std::size_t(b);
    return ad::slice(x, lo, hi);
  };
  // The ghost at global index g (outside [0, n)) as a one-thick slice, or the constant.
  auto ghost = [&](std::ptrdiff_t g) {
    if (bc == d::Boundary::constant) {
      Shape<2> e = x.shape();
      e[k] = 1;
      return tape.constant(nabla::full<double, 2>(e, kPad));
    }
    std::ptrdiff_t src = 0;
    if (bc == d::Boundary::periodic) src = (g % n + n) % n;
    else if (bc == d::Boundary::clamp) src = g < 0 ? 0 : n - 1;
    else src = g < 0 ? -g : 2 * (n - 1) - g;
    return cells(src, src + 1);
  };
  const nabla::axis ax(k);
  if (s > 0) {
    auto out = cells(s, n);
    for (std::ptrdiff_t g = n; g < n + s; ++g) out = ad::concat(out, ghost(g), ax);
    return out;
  }
  auto out = cells(0, n + s);
  for (std::ptrdiff_t g = -1; g >= s; --g) out = ad::concat(ghost(g), out, ax);
  return out;
}

ad::Var<double, 2> whole_shift(ad::Tape& tape, const ad::Var<double, 2>& x, Index<2> o, d::Boundary bc) {
  return whole_shift_axis(tape, whole_shift_axis(tape, x, 1, o[1], bc), 0, o[0], bc);
}

const Index<2> kOffsets[] = {{1, 0}, {0, -1}, {-2, 1}};

/// The loss, undistributed: stencil smoothness terms (one of them diagonal, of width 2) and a data misfit.
ad::Var<double, 0> whole_loss(ad::Tape& tape, const ad::Var<double, 2>& u, const ad::Var<double, 2>& data,
                              d::Boundary bc) {
  auto s0 = whole_shift(tape, u, kOffsets[0], bc), s1 = whole_shift(tape, u, kOffsets[1], bc),
       s2 = whole_shift(tape, u, kOffsets[2], bc);
  auto smooth = ad::sum(pow(s0 - u, 2) + 0.5 * pow(s1 - u, 2) + 0.25 * s2 * sin(u));
  auto misfit = ad::sum(pow(u - data, 2));
  return ad::eval(smooth + misfit);
}

/// The same loss over distributed variables.
template <class U, class D>
ad::Var<double, 0> dist_loss(const U& u, const D& data, d::Boundary bc) {
  auto s0 = d::shift(u, kOffsets[0], bc, kPad), s1 = d::shift(u, kOffsets[1], bc, kPad),
       s2 = d::shift(u, kOffsets[2], bc, kPad);
  auto smooth = d::sum(pow(s0 - u, 2) + 0.5 * pow(s1 - u, 2) + 0.25 * s2 * sin(u));
  auto misfit = d::sum(pow(u - data, 2));
  return ad::eval(smooth + misfit);
}

double read(const ad::Var<double, 0>& v) {
  double h = 0;
  Kokkos::deep_copy(h, v.value().view());
  return h;
}

using nabla_test::kBoundaries;

TEST(DistAd, StencilLossGradientEqualsTheUndistributedOneAndFiniteDifferences) {
  const Shape<2> shape{9, 7};
  const auto u0 = nabla::random::normal<double, 2>(nabla::random::key(11), shape);
  const auto data0 = nabla::random::normal<double, 2>(nabla::random::key(12), shape);
  for (const std::vector<int>& dims : {std::vector<int>{0}, std::vector<int>{0, 0}}) {
    const d::Grid g(world(), dims);
    const d::Partition<2> p(g, shape, leading_split<2>(g.ndims()));
    const auto u = d::distribute(u0, p, d::every_rank);
    const auto data = d::distribute(data0, p, d::every_rank);
    for (const auto bc : kBoundaries) {
      ad::Tape whole;
      auto wu = whole.variable(u0);
      auto wl = whole_loss(whole, wu, whole.constant(data0), bc);
      whole.backward(wl);
      const auto want = nabla::to_host(whole.grad(wu));

      ad::Tape tape;
      auto du = d::variable(tape, u);
      auto dl = dist_loss(du, d::constant(tape, data), bc);
      tape.backward(dl);
      const auto got = nabla::to_host(d::allgather(d::grad(tape, du)));
      const std::string where = "rank " + std::to_string(g.rank()) + ", " + p.to_string() + ", boundary " +
                                std::to_string(int(bc));

      EXPECT_NEAR(read(dl), read(wl), 1e-12 * std::abs(read(wl))) << where;
      double scale = 0, worst = 0;
      for (std::size_t i = 0; i < want.size(); ++i) scale = std::max(scale, std::abs(want.data()[i]));
      for (std::size_t i = 0; i < want.size(); ++i) worst = std::max(worst, std::abs(got.data()[i] - want.data()[i]));
      EXPECT_LE(worst, 1e-12 * scale) << where;

      // Central differences of the distributed loss at a few elements (every rank perturbs the same one).
      const double h = 1e-5;
      for (std::size_t k = 0; k < want.size(); k += 13) {
        auto at = [&](double delta) {
          nabla::Array<double, 2, Host> v(shape, "perturbed", nabla::uninitialized);  // a copy, never u0 itself
          Kokkos::deep_copy(v.view(), u0.view());
          v.data()[k] += delta;
          ad::Tape t;
          return read(dist_loss(d::constant(t, d::distribute(nabla::to_device(v), p, d::every_rank)), data, bc));
        };
        const double fd = (at(h) - at(-h)) / (2 * h);
        EXPECT_NEAR(got.data()[k], fd, 1e-6 * (1 + std::abs(fd))) << where << ", element " << k;
      }
    }
  }
}

TEST(DistAd, RedistributeAndValueAndGradAgreeWithTheAnalyticGradient) {
  // L(u, c) = mean((u on a column split) * c)^2 ... as sum(pow(r * c, 2)) / n: dL/du = 2 u c^2 / n,
  // dL/dc = 2 u^2 c / n.
  const Shape<2> shape{6, 10};
  const d::Grid g(world(), {0});
  const d::Partition<2> rows(g, shape, {0, d::replicated}), cols(g, shape, {d::replicated, 0});
  const auto u0 = nabla::random::normal<double, 2>(nabla::random::key(21), shape);
  const auto c0 = nabla::random::uniform<double, 2>(nabla::random::key(22), shape);
  const auto [value, grads] = d::value_and_grad(
      [&](const d::Var<double, 2>& u, const d::Var<double, 2>& c) { return d::mean(pow(d::redistribute(u, cols) * c, 2)); },
      d::distribute(u0, rows, d::every_rank), d::distribute(c0, cols, d::every_rank));
  EXPECT_EQ(std::get<0>(grads).partition(), rows);
  EXPECT_EQ(std::get<1>(grads).partition(), cols);
  const auto gu = nabla::to_host(d::allgather(std::get<0>(grads)));
  const auto gc = nabla::to_host(d::allgather(std::get<1>(grads)));
  const auto u = nabla::to_host(u0), c = nabla::to_host(c0);
  const double n = double(u.size());
  double want_value = 0;
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < u.size(); ++i) {
    const double a = u.data()[i], b = c.data()[i];
    want_value += a * a * b * b / n;
    wrong += std::abs(gu.data()[i] - 2 * a * b * b / n) > 1e-14 * (1 + std::abs(a));
    wrong += std::abs(gc.data()[i] - 2 * a * a * b / n) > 1e-14 * (1 + std::abs(a * a));
  }
  EXPECT_EQ(wrong, 0u) << "rank " << g.rank();
  EXPECT_NEAR(value, want_value, 1e-13 * want_value);
}

TEST(DistAd, ArraysWithCopiesOnSeveralRanksAreRefusedOnEveryRank) {
  const d::Grid g(world(), {0});
  const auto a = d::zeros<double, 2>(d::Partition<2>(g, {4, 4}, {d::replicated, d::replicated}));
  ad::Tape tape;
  if (g.size() == 1) {
    EXPECT_NO_THROW(d::variable(tape, a));
  } else {
    EXPECT_THROW(d::variable(tape, a), d::PartitionError);
  }
}

}  // namespace
