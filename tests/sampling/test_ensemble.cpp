// Perturbed ensembles: one launch for all copies of all points, bit identity with a host reference, invariance
// under a split of the points (as over MPI ranks), spreads and classification.
#include <nabla/sampling.hpp>
#include <nabla/core/tools.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace ns = nabla::sampling;

namespace {
nabla::Array<double, 2> host_to_device(const std::vector<double>& v, std::size_t rows) {
  nabla::Array<double, 2> a({rows, 1}, "x");
  auto h = Kokkos::create_mirror_view(a.view());
  for (std::size_t i = 0; i < rows; ++i) h(i, 0) = v[i];
  Kokkos::deep_copy(a.view(), h);
  return a;
}
}  // namespace

TEST(SamplingEnsemble, OneLaunchAndHostReference) {
  const ns::DoubleWell dw;
  ns::BAOABParams prm;
  prm.dt = 0.05;
  ns::PerturbationOptions opt;
  opt.len = 25;
  opt.copies = 6;
  opt.sigma = 0.01;
  opt.seed = 77;
  const std::size_t P = 9;
  std::vector<double> x0(P), v0(P);
  for (std::size_t p = 0; p < P; ++p) {
    x0[p] = -2.5 + 0.6 * double(p);
    v0[p] = 0.3 * double(p % 4) - 0.5;
  }
  const auto sx = host_to_device(x0, P), sv = host_to_device(v0, P);
  ns::PerturbedEnsembles r;
  {
    nabla::tools::KernelCounter counter;
    r = ns::perturbed_ensembles(dw, prm, sx, sv, opt);
    Kokkos::fence();
    std::size_t launches = 0, ours = 0;
    for (const auto& l : counter.labels()) {
      launches += l == "nabla::sampling::perturbed_ensembles";
      ours += l.rfind("nabla::sampling::", 0) == 0;
    }
    EXPECT_EQ(launches, 1u) << "all copies of all points must run in one launch";
    EXPECT_EQ(ours, 2u) << "the perturbation kernel and the spread kernel";
  }
  const auto end = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), r.end_x.view());
  const auto spread = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), r.spread.view());
  const ns::impl::BAOABCoefficients c(prm);
  const auto base = nabla::random::key(opt.seed);
  const auto kp = nabla::random::fold_in(base, 0x9e7u), kn = nabla::random::fold_in(base, 0xd1au);
  for (std::size_t p = 0; p < P; ++p) {
    double lo = 1e300, hi = -1e300;
    for (std::size_t k = 0; k < opt.copies; ++k) {
      const std::uint64_t g = p * opt.copies + k;
      const auto kpg = nabla::random::fold_in(kp, g), kng = nabla::random::fold_in(kn, g);
      double q = x0[p] + opt.sigma * nabla::random::normal4_at(kpg, 0);
      double v = v0[p] + opt.sigma * nabla::random::normal4_at(kpg, 1);
      double f = -q * (q - 2) * (q + 2);
      for (std::size_t n = 0; n < opt.len; ++n) {
        v += c.half_dt_over_m * f;
        q += c.half_dt * v;
        v = c.c1 * v + c.c2 * nabla::random::normal4_at(kng, n);
        q += c.half_dt * v;
        f = -q * (q - 2) * (q + 2);
        v += c.half_dt_over_m * f;
      }
      ASSERT_EQ(end(p, k, 0), q) << "point " << p << " copy " << k;
      lo = std::min(lo, q);
      hi = std::max(hi, q);
    }
    EXPECT_EQ(spread(p, 0), hi - lo);
  }

  // Points 4..8 alone (one rank's share, first_point = 4) give the same copies.
  ns::PerturbationOptions part = opt;
  part.first_point = 4;
  std::vector<double> x1(x0.begin() + 4, x0.end()), v1(v0.begin() + 4, v0.end());
  const auto r2 = ns::perturbed_ensembles(dw, prm, host_to_device(x1, 5), host_to_device(v1, 5), part);
  const auto end2 = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), r2.end_x.view());
  for (std::size_t p = 0; p < 5; ++p)
    for (std::size_t k = 0; k < opt.copies; ++k) ASSERT_EQ(end2(p, k, 0), end(p + 4, k, 0));
}

// The seed's workflow: a long trajectory, perturbed ensembles at every st-th saved point, 3 classes by spread.
TEST(SamplingEnsemble, FromTrajectoryAndClassify) {
  const ns::DoubleWell dw;
  ns::BAOABParams prm;
  prm.kBT = 1.0;
  prm.seed = 11;
  ns::LangevinState s = ns::make_state(1, 1, 2.0);
  const ns::Trajectory t = ns::baoab(dw, prm, s, 20000, 10);
  ns::PerturbationOptions opt;  // len 10, n 10, st 10, σ 0.01 as in the seed
  opt.len = 200;
  const auto r = ns::perturbed_ensembles(dw, prm, t, opt);
  ASSERT_EQ(r.points(), (t.saved() + 9) / 10);
  const auto tx = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), t.x.view());
  const auto sx = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), r.seed_x.view());
  for (std::size_t p = 0; p < r.points(); ++p) ASSERT_EQ(sx(p, 0), tx(0, 0, p * 10));
  const std::vector<double> thresholds{0.05, 0.5};
  const auto labels = ns::classify(r.spread, thresholds);
  const auto lh = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), labels.view());
  const auto sh = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), r.spread.view());
  std::size_t count[3] = {0, 0, 0};
  for (std::size_t p = 0; p < r.points(); ++p) {
    const int expect = (sh(p, 0) >= 0.05) + (sh(p, 0) >= 0.5);
    ASSERT_EQ(lh(p), expect);
    ASSERT_GE(sh(p, 0), 0.0);
    ++count[lh(p)];
  }
  EXPECT_GT(count[0] + count[1] + count[2], 0u);
  EXPECT_THROW(ns::classify(r.spread, {0.5, 0.05}), nabla::ValueError);
  EXPECT_THROW(ns::classify(r.spread, {0.5}, 1), nabla::ValueError);
  ns::PerturbationOptions bad = opt;
  bad.copies = 1;
  EXPECT_THROW(ns::perturbed_ensembles(dw, prm, t, bad), nabla::ValueError);
  bad = opt;
  bad.stride = 0;
  EXPECT_THROW(ns::perturbed_ensembles(dw, prm, t, bad), nabla::ValueError);
  bad = opt;
  bad.sigma = -1;
  EXPECT_THROW(ns::perturbed_ensembles(dw, prm, t, bad), nabla::ValueError);
  EXPECT_THROW(ns::perturbed_ensembles(dw, prm, t, opt, 3), nabla::ValueError);
}
