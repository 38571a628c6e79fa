// BAOAB Langevin dynamics: forces, parameter checks, bit identity with a scalar host loop, invariance under
// chunking and walker splits, and the equilibrium statistics (⟨v²⟩ = kBT, Boltzmann density, harmonic variance).
#include <nabla/core/tasks.hpp>
#include <nabla/sampling.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace ns = nabla::sampling;

namespace {

// The double well with the energy only: its force comes from AD.
struct DoubleWellAD {
  static constexpr int dim = 1;
  double a = 2.0, k = 1.0;
  template <class T>
  KOKKOS_INLINE_FUNCTION T energy(const Kokkos::Array<T, 1>& x) const {
    return 0.25 * k * (x[0] - a) * (x[0] - a) * (x[0] + a) * (x[0] + a);
  }
};

// A 3-D anisotropic quartic, energy only (AD force checked against its hand derivative).
struct Quartic3 {
  static constexpr int dim = 3;
  template <class T>
  KOKKOS_INLINE_FUNCTION T energy(const Kokkos::Array<T, 3>& x) const {
    using nabla::math::sin;
    return x[0] * x[0] * x[0] * x[0] + 2.0 * x[1] * x[1] * x[2] + sin(x[2]);
  }
};

template <class T>
std::vector<T> host(const nabla::Array<T, 3>& a) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), a.view());
  return std::vector<T>(h.data(), h.data() + h.size());
}

ns::LangevinState alternating_wells(std::size_t W, double a) {
  ns::LangevinState s = ns::make_state(W, 1, 0.0);
  auto h = Kokkos::create_mirror_view(s.x.view());
  for (std::size_t w = 0; w < W; ++w) h(w, 0) = (w % 2 ? a : -a) + 0.1 * double(w % 7);
  Kokkos::deep_copy(s.x.view(), h);
  return s;
}

}  // namespace

TEST(SamplingLangevin, AdForceEqualsAnalyticForce) {
  const ns::DoubleWell dw;
  const DoubleWellAD ad;
  for (double x : {-3.1, -2.0, -0.7, 0.0, 0.3, 1.9, 2.5}) {
    ns::Point<1> p;
    p[0] = x;
    const double analytic = -dw.k * x * (x - dw.a) * (x + dw.a);
    EXPECT_NEAR(ns::force(ad, p)[0], analytic, 1e-12 * (1 + std::abs(analytic))) << "x = " << x;
    EXPECT_NEAR(ns::ad_force(dw, p)[0], ns::force(dw, p)[0], 1e-12 * (1 + std::abs(analytic))) << "x = " << x;
    EXPECT_NEAR(ns::energy(ad, p), ns::energy(dw, p), 1e-12);
  }
  ns::Point<3> q;
  q[0] = 0.7;
  q[1] = -1.3;
  q[2] = 0.4;
  const auto f = ns::force(Quartic3{}, q);
  EXPECT_NEAR(f[0], -4 * 0.7 * 0.7 * 0.7, 1e-13);
  EXPECT_NEAR(f[1], -4 * -1.3 * 0.4, 1e-13);
  EXPECT_NEAR(f[2], -(2 * 1.3 * 1.3 + std::cos(0.4)), 1e-13);
  static_assert(ns::has_analytic_force<ns::DoubleWell>, "DoubleWell has force");
  static_assert(!ns::has_analytic_force<DoubleWellAD>, "DoubleWellAD has none");
}

TEST(SamplingLangevin, RejectsBadParameters) {
  const ns::DoubleWell dw;
  auto expect_error = [&](ns::BAOABParams p, const std::string& name) {
    ns::LangevinState s = ns::make_state(4, 1, 1.0);
    try {
      ns::baoab_advance(dw, p, s, 10);
      ADD_FAILURE() << "no error for bad " << name;
    } catch (const nabla::ValueError& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  };
  ns::BAOABParams p;
  p.dt = 0;
  expect_error(p, "dt");
  p = {};
  p.dt = -0.1;
  expect_error(p, "dt");
  p = {};
  p.gamma = 0;
  expect_error(p, "gamma");
  p = {};
  p.kBT = -1;
  expect_error(p, "kBT");
  p = {};
  p.mass = std::nan("");
  expect_error(p, "mass");
  p = {};
  p.dt = INFINITY;
  expect_error(p, "dt");

  ns::LangevinState empty = ns::make_state(0, 1, 0.0);
  EXPECT_THROW(ns::baoab_advance(dw, ns::BAOABParams{}, empty, 1), nabla::ValueError);
  ns::LangevinState wrong = ns::make_state(4, 2, 0.0);  // 2-D state, 1-D potential
  EXPECT_THROW(ns::baoab_advance(dw, ns::BAOABParams{}, wrong, 1), nabla::ShapeError);
  ns::LangevinState s = ns::make_state(4, 1, 0.0);
  EXPECT_THROW(ns::baoab(dw, ns::BAOABParams{}, s, 10, 0), nabla::ValueError);
  // Step counts whose trajectory cannot exist: errors, not a crash or a trajectory of size 0.
  EXPECT_THROW(ns::baoab(dw, ns::BAOABParams{}, s, std::size_t(1) << 61, 1), nabla::ValueError);
  EXPECT_THROW(ns::baoab(dw, ns::BAOABParams{}, s, SIZE_MAX, 1), nabla::ValueError);
}

// The kernel against a scalar host loop making the same RNG calls: bit-identical, so the result cannot depend
// on the thread count or on the backend's scheduling (each walker is a pure function of seed, walker, step).
TEST(SamplingLangevin, BitIdenticalToScalarReference) {
  const ns::DoubleWell dw;
  ns::BAOABParams prm;
  prm.gamma = 0.7;
  prm.kBT = 1.3;
  prm.dt = 0.02;
  prm.mass = 1.5;
  prm.seed = 1234;
  const std::size_t W = 37, N = 300, every = 7;
  ns::LangevinState s = alternating_wells(W, 2.0);
  const auto x0 = Kokkos::create_mirror(Kokkos::HostSpace(), s.x.view());  // a real copy: baoab updates s.x
  Kokkos::deep_copy(x0, s.x.view());
  const ns::Trajectory t = ns::baoab(dw, prm, s, N, every);
  ASSERT_EQ(t.saved(), N / every + 1);
  const auto xs = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), t.x.view());
  const auto vs = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), t.v.view());
  const auto ep = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), t.potential.view());
  const auto et = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), t.total.view());
  const auto tt = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), t.time.view());
  const auto xf = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), s.x.view());
  const ns::impl::BAOABCoefficients c(prm);
  const auto key = nabla::random::key(prm.seed);
  for (std::size_t w = 0; w < W; ++w) {
    const auto kw = nabla::random::fold_in(key, w);
    double q = x0(w, 0), p = 0.0;
    double f = -dw.k * q * (q - dw.a) * (q + dw.a);
    ASSERT_EQ(xs(w, 0, 0), q);
    for (std::size_t n = 0; n < N; ++n) {
      p += c.half_dt_over_m * f;
      q += c.half_dt * p;
      p = c.c1 * p + c.c2 * nabla::random::normal4_at(kw, n);
      q += c.half_dt * p;
      f = -dw.k * q * (q - dw.a) * (q + dw.a);
      p += c.half_dt_over_m * f;
      if ((n + 1) % every == 0) {
        const std::size_t k = (n + 1) / every;
        ASSERT_EQ(xs(w, 0, k), q) << "walker " << w << " step " << n + 1;
        ASSERT_EQ(vs(w, 0, k), p) << "walker " << w << " step " << n + 1;
        const double e = 0.25 * dw.k * (q * q - 4) * (q * q - 4);
        EXPECT_NEAR(ep(w, k), e, 1e-12 * (1 + e));
        EXPECT_NEAR(et(w, k), e + 0.5 * prm.mass * p * p, 1e-12 * (1 + e));
        EXPECT_DOUBLE_EQ(tt(k), double(k * every) * prm.dt);
      }
    }
    EXPECT_EQ(xf(w, 0), q);
  }
  EXPECT_EQ(s.step, N);
}

// Chunked calls continue the same streams; a walker split (as over MPI ranks) gives the same walkers.
TEST(SamplingLangevin, ChunkAndSplitInvariant) {
  const DoubleWellAD pot;  // AD force path
  ns::BAOABParams prm;
  prm.seed = 99;
  const std::size_t W = 50;
  ns::LangevinState whole = alternating_wells(W, 2.0);
  ns::baoab_advance(pot, prm, whole, 120);

  ns::LangevinState chunked = alternating_wells(W, 2.0);
  ns::baoab_advance(pot, prm, chunked, 33);
  ns::baoab_advance(pot, prm, chunked, 1);
  (void)ns::baoab(pot, prm, chunked, 86, 5);
  EXPECT_EQ(chunked.step, 120u);

  const auto a = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), whole.x.view());
  const auto b = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), chunked.x.view());
  const auto all0 = alternating_wells(W, 2.0);
  const auto x0 = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), all0.x.view());
  for (std::size_t w = 0; w < W; ++w) ASSERT_EQ(a(w, 0), b(w, 0)) << "walker " << w;

  // Walkers 20..49 alone, as one rank's share.
  ns::LangevinState part = ns::make_state(30, 1, 0.0);
  part.first_walker = 20;
  auto ph = Kokkos::create_mirror_view(part.x.view());
  for (std::size_t w = 0; w < 30; ++w) ph(w, 0) = x0(w + 20, 0);
  Kokkos::deep_copy(part.x.view(), ph);
  ns::baoab_advance(pot, prm, part, 120);
  const auto c = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), part.x.view());
  for (std::size_t w = 0; w < 30; ++w) ASSERT_EQ(c(w, 0), a(w + 20, 0)) << "walker " << w + 20;
}

// Shares of the ensemble advanced as the tasks of a bulk, each on its partition's instance, end where the whole
// ensemble in one kernel on the default instance does, bit for bit.
TEST(SamplingLangevin, SharesOnTaskPartitionsEqualOneKernel) {
  const DoubleWellAD pot;
  ns::BAOABParams prm;
  prm.seed = 5;
  const std::size_t W = 61, shares = 5;
  ns::LangevinState whole = alternating_wells(W, 2.0);
  const auto x0 = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), whole.x.view());
  std::vector<ns::LangevinState> parts;
  for (std::size_t k = 0; k < shares; ++k) {
    const std::size_t first = W * k / shares, last = W * (k + 1) / shares;
    parts.push_back(ns::make_state(last - first, 1, 0.0));
    parts.back().first_walker = first;
    auto h = Kokkos::create_mirror_view(parts.back().x.view());
    for (std::size_t w = first; w < last; ++w) h(w - first, 0) = x0(w, 0);
    Kokkos::deep_copy(parts.back().x.view(), h);
  }
  ns::baoab_advance(pot, prm, whole, 150);
  nabla::tasks::sequential([&](nabla::tasks::Group& g) {
    g.bulk("shares", shares, [&](std::size_t k, const auto& space) { ns::baoab_advance(space, pot, prm, parts[k], 150); });
  });
  const auto a = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), whole.x.view());
  const auto av = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), whole.v.view());
  for (const auto& part : parts) {
    EXPECT_EQ(part.step, 150u);
    const auto b = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), part.x.view());
    const auto bv = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), part.v.view());
    for (std::size_t w = 0; w < b.extent(0); ++w) {
      ASSERT_EQ(b(w, 0), a(part.first_walker + w, 0)) << "walker " << part.first_walker + w;
      ASSERT_EQ(bv(w, 0), av(part.first_walker + w, 0)) << "walker " << part.first_walker + w;
    }
  }
}

// Double well at kBT = 1 (barrier 4 kBT), γ = 1, dt = 0.01: 16384 independent walkers, half started in each
// well, run to t = 30 (in-well relaxation time ~ 2/γ). The final (x, v) of the walkers are independent samples.
// - ⟨v²⟩ = kBT/m: the mean of n values v² with Var(v²) = 2 (kBT/m)² has standard error kBT sqrt(2/n) = 0.011;
//   tolerance 5 sigma.
// - Positions against the Boltzmann density ∝ exp(-E/kBT) (the symmetric start weights the wells equally, as
//   equilibrium does): Kolmogorov-Smirnov D·sqrt(n) < 2.23, the critical value at α = 1e-4.
//   (BAOAB's configurational bias is O(dt²) ~ 1e-4, far below the KS resolution 1/sqrt(n) ~ 0.008.)
TEST(SamplingLangevin, DoubleWellBoltzmann) {
  const ns::DoubleWell dw;
  ns::BAOABParams prm;
  prm.gamma = 1.0;
  prm.kBT = 1.0;
  prm.dt = 0.01;
  prm.seed = 2024;
  const std::size_t W = 16384;
  ns::LangevinState s = alternating_wells(W, 2.0);
  ns::baoab_advance(dw, prm, s, 3000);
  const auto xh = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), s.x.view());
  const auto vh = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), s.v.view());
  double v2 = 0;
  std::vector<double> xs(W);
  for (std::size_t w = 0; w < W; ++w) {
    v2 += vh(w, 0) * vh(w, 0);
    xs[w] = xh(w, 0);
  }
  v2 /= double(W);
  EXPECT_NEAR(v2, prm.kBT / prm.mass, 5 * prm.kBT * std::sqrt(2.0 / double(W)));

  // Boltzmann CDF on a fine grid (trapezoid rule), then the KS distance.
  const int G = 24001;
  const double L = 6.0, h = 2 * L / (G - 1);
  std::vector<double> cdf(G, 0.0);
  double prev = std::exp(-0.25 * (L * L - 4) * (L * L - 4) / prm.kBT);
  for (int i = 1; i < G; ++i) {
    const double x = -L + i * h;
    const double cur = std::exp(-0.25 * (x * x - 4) * (x * x - 4) / prm.kBT);
    cdf[i] = cdf[i - 1] + 0.5 * h * (prev + cur);
    prev = cur;
  }
  for (double& c : cdf) c /= cdf[G - 1];
  std::sort(xs.begin(), xs.end());
  double D = 0;
  for (std::size_t i = 0; i < W; ++i) {
    const double pos = std::clamp((xs[i] + L) / h, 0.0, double(G - 1));
    const int j = std::min(int(pos), G - 2);
    const double F = cdf[j] + (pos - j) * (cdf[j + 1] - cdf[j]);
    D = std::max({D, std::abs(F - double(i) / W), std::abs(F - double(i + 1) / W)});
  }
  EXPECT_LT(D * std::sqrt(double(W)), 2.23) << "KS distance " << D;

  // Both wells populated about equally: the fraction left of 0 is 1/2 within 5 binomial sigma.
  const double left = double(std::lower_bound(xs.begin(), xs.end(), 0.0) - xs.begin()) / W;
  EXPECT_NEAR(left, 0.5, 5 * 0.5 / std::sqrt(double(W)));
}

// 2-D harmonic well, k = 4, kBT = 0.5: Var x = kBT/k = 0.125 per coordinate, which BAOAB samples exactly for
// harmonic forces at any stable dt. n = 2·8192 independent values: the sample variance has standard error
// Var·sqrt(2/n); tolerance 5 sigma. ⟨v²⟩ = kBT/m likewise.
TEST(SamplingLangevin, HarmonicVariance) {
  ns::Harmonic<2> pot;
  pot.k = 4.0;
  ns::BAOABParams prm;
  prm.gamma = 2.0;
  prm.kBT = 0.5;
  prm.dt = 0.05;
  prm.seed = 5;
  const std::size_t W = 8192;
  ns::LangevinState s = ns::make_state(W, 2, 0.0);
  ns::baoab_advance(pot, prm, s, 600);
  const auto xh = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), s.x.view());
  const auto vh = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), s.v.view());
  double sx = 0, sxx = 0, svv = 0;
  for (std::size_t w = 0; w < W; ++w)
    for (int d = 0; d < 2; ++d) {
      sx += xh(w, d);
      sxx += xh(w, d) * xh(w, d);
      svv += vh(w, d) * vh(w, d);
    }
  const double n = 2.0 * W, mean = sx / n, var = sxx / n - mean * mean;
  const double expected = prm.kBT / pot.k;
  EXPECT_NEAR(mean, 0.0, 5 * std::sqrt(expected / n));
  EXPECT_NEAR(var, expected, 5 * expected * std::sqrt(2.0 / n));
  EXPECT_NEAR(svv / n, prm.kBT, 5 * prm.kBT * std::sqrt(2.0 / n));
}

TEST(SamplingLangevin, TrajectoryEnergiesAndObservables) {
  const ns::DoubleWell dw;
  ns::BAOABParams prm;
  prm.kBT = 1.5;
  prm.seed = 3;
  ns::LangevinState s = alternating_wells(256, 2.0);
  const ns::Trajectory t = ns::baoab(dw, prm, s, 20000, 10);
  ASSERT_EQ(t.saved(), 2001u);
  // Mean kinetic energy over all saved points: ½ kBT per degree of freedom. The saved points are correlated
  // (velocity correlation time 1/γ = 1 = 10 saved points), so the effective sample count is ~ n / 20;
  // tolerance 5 sigma of that.
  const double ke = ns::mean_kinetic_energy(t.v, prm.mass);
  const double n_eff = 256.0 * 2001 / 20;
  EXPECT_NEAR(ke, 0.5 * prm.kBT, 5 * 0.5 * prm.kBT * std::sqrt(2.0 / n_eff));
  const auto trans = ns::count_transitions(t.x, -1.0, 1.0);
  const auto th = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), trans.view());
  std::int64_t total = 0;
  for (std::size_t w = 0; w < 256; ++w) total += th(w);
  EXPECT_GT(total, 0);  // barrier 2.7 kBT over t = 200: hops happen
  const ns::Histogram hist = ns::histogram(t.x, -4.0, 4.0, 40);
  EXPECT_EQ(hist.total(), std::int64_t(256 * 2001));
  EXPECT_LT(hist.counts[20], hist.counts[30]);  // fewer at the barrier (x ≈ 0.1) than in the well (x ≈ 2.1)
}

TEST(SamplingObservables, HandMadeTrajectory) {
  nabla::Array<double, 3> x({2, 1, 7});
  auto h = Kokkos::create_mirror_view(x.view());
  const double w0[7] = {-2, -0.5, 0.5, 2, 0.5, -2, 2};
  const double w1[7] = {2, 0.9, -0.9, 0.8, 1.5, 3, -0.5};
  for (int s = 0; s < 7; ++s) {
    h(0, 0, s) = w0[s];
    h(1, 0, s) = w1[s];
  }
  Kokkos::deep_copy(x.view(), h);
  const auto tr = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), ns::count_transitions(x, -1, 1).view());
  EXPECT_EQ(tr(0), 3);
  EXPECT_EQ(tr(1), 0);
  const ns::Histogram hist = ns::histogram(x, -2.0, 2.0, 4);
  EXPECT_EQ(hist.below, 0);
  EXPECT_EQ(hist.above, 4);  // 2, 2, 2 and 3 are outside [-2, 2)
  EXPECT_EQ(hist.counts[0], 2);  // -2, -2
  EXPECT_EQ(hist.counts[1], 3);  // -0.5, -0.9, -0.5
  EXPECT_EQ(hist.counts[2], 4);  // 0.5, 0.5, 0.9, 0.8
  EXPECT_EQ(hist.counts[3], 1);  // 1.5
  EXPECT_THROW(ns::histogram(x, 1.0, 1.0, 4), nabla::ValueError);
  EXPECT_THROW(ns::count_transitions(x, 1.0, -1.0), nabla::ValueError);
  nabla::Array<double, 3> v({1, 2, 2});
  Kokkos::deep_copy(v.view(), 2.0);
  EXPECT_DOUBLE_EQ(ns::mean_kinetic_energy(v, 0.5), 0.5 * 0.5 * 8.0);
}
