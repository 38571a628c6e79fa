// Hamiltonian Monte Carlo: the leapfrog integrator's order (energy error ∝ ε²) and reversibility, dual-number
// gradients against finite differences, moments of an ill-conditioned Gaussian and of Neal's funnel (non-centred)
// within 4 Monte Carlo standard errors of the truth, chains independent of the launch blocking, resuming a
// backend's chain bit for bit, and bad input.
#include <nabla/config.hpp>
#include <nabla/core/tools.hpp>
#include <nabla/sampling/diagnostics.hpp>
#include <nabla/sampling/hmc.hpp>
#include <nabla/sampling/mcmc/ensemble_sampler.hpp>
#if NABLA_ENABLE_HDF5
#include <nabla/sampling/mcmc/hdf_backend.hpp>
#endif

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ns = nabla::sampling;
namespace hmc = nabla::sampling::hmc;

namespace {

/// Independent Gaussian with σ_i from 1 down to 0.1 (covariance condition number 100).
template <int D>
struct IllGaussian {
  static KOKKOS_INLINE_FUNCTION double sigma(int i) { return nabla::math::pow(10.0, -double(i) / double(D - 1)); }
  template <class T>
  KOKKOS_INLINE_FUNCTION T operator()(const Kokkos::Array<T, D>& x) const {
    T s = 0.0;
    for (int i = 0; i < D; ++i) s += x[i] * x[i] / (sigma(i) * sigma(i));
    return -0.5 * s;
  }
};

/// The same target with its gradient written out (used instead of duals).
template <int D>
struct IllGaussianWithGradient : IllGaussian<D> {
  KOKKOS_INLINE_FUNCTION double value_and_gradient(const hmc::Vec<D>& x, hmc::Vec<D>& g) const {
    double s = 0.0;
    for (int i = 0; i < D; ++i) {
      const double w = 1.0 / (this->sigma(i) * this->sigma(i));
      s += x[i] * x[i] * w;
      g[i] = -x[i] * w;
    }
    return -0.5 * s;
  }
};

/// Neal's funnel in its non-centred form: v ~ N(0, 3²), z_i ~ N(0, 1); x_i = exp(v / 2) z_i is the funnel.
template <int D>
struct Funnel {
  template <class T>
  KOKKOS_INLINE_FUNCTION T operator()(const Kokkos::Array<T, D>& x) const {
    T s = x[0] * x[0] / 9.0;
    for (int i = 1; i < D; ++i) s += x[i] * x[i];
    return -0.5 * s;
  }
};

/// A non-quadratic target to differentiate: log p = -Σ log(1 + x_i²) + sin(x_0 x_1).
struct Curvy {
  template <class T>
  KOKKOS_INLINE_FUNCTION T operator()(const Kokkos::Array<T, 3>& x) const {
    using nabla::math::log;
    using nabla::math::sin;
    T s = sin(x[0] * x[1]);
    for (int i = 0; i < 3; ++i) s -= log(1.0 + x[i] * x[i]);
    return s;
  }
};

/// NaN beyond x_0 > 2: trajectories that go there diverge.
struct NaNPastTwo {
  template <class T>
  KOKKOS_INLINE_FUNCTION T operator()(const Kokkos::Array<T, 2>& x) const {
    return double(x[0]) > 2.0 ? T(NAN) : -0.5 * (x[0] * x[0] + x[1] * x[1]);
  }
};

template <int D>
hmc::Phase<D> start(std::uint64_t seed) {
  hmc::Phase<D> s;
  nabla::random::NormalStream z(nabla::random::key(seed), 0);
  for (int i = 0; i < D; ++i) {
    s.q[i] = 0.5 * z();
    s.p[i] = z();
  }
  return s;
}

template <int D>
nabla::Array<double, 2> initial(std::size_t chains, std::uint64_t seed) {
  return ns::gaussian_ball(std::vector<double>(D, 0.0), 0.5, chains, seed);
}

}  // namespace

TEST(Hmc, LeapfrogEnergyErrorIsSecondOrder) {
  constexpr int D = 10;
  const IllGaussian<D> f;
  hmc::Vec<D> inv_mass;
  for (int i = 0; i < D; ++i) inv_mass[i] = 1.0;
  std::vector<double> log_eps, log_err;
  for (int n : {40, 80, 160, 320}) {
    auto s = start<D>(3);
    s.logp = hmc::log_density_and_gradient<D>(f, s.q, s.g);
    const double h0 = -s.logp + hmc::kinetic<D>(s.p, inv_mass), eps = 1.0 / n;
    ASSERT_EQ(hmc::leapfrog<D>(f, s, inv_mass, eps, n), n);
    const double h1 = -s.logp + hmc::kinetic<D>(s.p, inv_mass);
    log_eps.push_back(std::log(eps));
    log_err.push_back(std::log(std::abs(h1 - h0)));
  }
  // Least-squares slope of log |ΔH| against log ε.
  double mx = 0, my = 0;
  for (std::size_t k = 0; k < log_eps.size(); ++k) {
    mx += log_eps[k] / 4.0;
    my += log_err[k] / 4.0;
  }
  double sxy = 0, sxx = 0;
  for (std::size_t k = 0; k < log_eps.size(); ++k) {
    sxy += (log_eps[k] - mx) * (log_err[k] - my);
    sxx += (log_eps[k] - mx) * (log_eps[k] - mx);
  }
  EXPECT_NEAR(sxy / sxx, 2.0, 0.1);
}

TEST(Hmc, TrajectoryWithNegatedMomentumReturnsToItsStart) {
  constexpr int D = 3;
  const Curvy f;
  hmc::Vec<D> inv_mass{{1.0, 0.5, 2.0}};
  auto s = start<D>(7);
  s.logp = hmc::log_density_and_gradient<D>(f, s.q, s.g);
  const auto s0 = s;
  hmc::leapfrog<D>(f, s, inv_mass, 0.05, 200);
  for (int i = 0; i < D; ++i) s.p[i] = -s.p[i];
  hmc::leapfrog<D>(f, s, inv_mass, 0.05, 200);
  for (int i = 0; i < D; ++i) {
    EXPECT_NEAR(s.q[i], s0.q[i], 1e-12);
    EXPECT_NEAR(-s.p[i], s0.p[i], 1e-12);
  }
}

TEST(Hmc, DualGradientsMatchFiniteDifferences) {
  static_assert(!hmc::impl::has_gradient<Curvy, 3>::value, "Curvy is differentiated by duals");
  static_assert(hmc::impl::has_gradient<IllGaussianWithGradient<4>, 4>::value, "its own gradient is used");
  const Curvy f;
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    const auto s = start<3>(seed);
    hmc::Vec<3> g;
    const double v = hmc::log_density_and_gradient<3>(f, s.q, g);
    EXPECT_DOUBLE_EQ(v, f(s.q));
    for (int i = 0; i < 3; ++i) {
      auto a = s.q, b = s.q;
      const double h = 1e-6;
      a[i] += h;
      b[i] -= h;
      EXPECT_NEAR(g[i], (f(a) - f(b)) / (2 * h), 1e-8);
    }
  }
}

// Every mean within 4 MCSE of 0 and every variance within 4 MCSE of σ², the MCSEs from the chains' own ESS;
// R-hat near 1.
template <int D, class Target>
void check_moments(const ns::HamiltonianSampler<D, Target>& s, const std::vector<double>& variance) {
  const auto chain = s.get_chain();
  const std::size_t n = chain.extent(0), C = chain.extent(1);
  for (int i = 0; i < D; ++i) {
    SCOPED_TRACE(::testing::Message() << "parameter " << i);
    ns::Draws x({n, C}), x2({n, C});
    for (std::size_t c = 0; c < C; ++c)
      for (std::size_t t = 0; t < n; ++t) {
        x.view()(t, c) = chain.view()(t, c, i);
        x2.view()(t, c) = chain.view()(t, c, i) * chain.view()(t, c, i);
      }
    double mean = 0, m2 = 0;
    for (std::size_t c = 0; c < C; ++c)
      for (std::size_t t = 0; t < n; ++t) {
        mean += x.view()(t, c) / double(n * C);
        m2 += x2.view()(t, c) / double(n * C);
      }
    EXPECT_LT(std::abs(mean), 4.0 * ns::mcse_mean(x));
    EXPECT_LT(std::abs(m2 - variance[i]), 4.0 * ns::mcse_mean(x2));
    // 200 draws per chain: converged chains give R-hat ≈ 1 + (τ - 1) / 200, about 1.01 here.
    EXPECT_LT(ns::rhat(x), 1.03);
  }
}

// 256 chains, 300 warm-up transitions, 200 stored.
template <int D, class Target>
ns::HamiltonianSampler<D, Target> sample_256(std::uint64_t seed,
                                             ns::HmcTrajectory trajectory = ns::HmcTrajectory::chees) {
  ns::HmcOptions opt;
  opt.seed = seed;
  opt.trajectory = trajectory;
  ns::HamiltonianSampler<D, Target> s(256, Target{}, opt);
  s.run(initial<D>(256, seed), 200, 300);
  return s;
}

TEST(Hmc, IllConditionedGaussianMomentsWithinFourMcse) {
  constexpr int D = 10;
  const auto s = sample_256<D, IllGaussian<D>>(5);
  std::vector<double> var(D);
  for (int i = 0; i < D; ++i) var[i] = IllGaussian<D>::sigma(i) * IllGaussian<D>::sigma(i);
  check_moments(s, var);
  // Adapted: the inverse mass follows the variances, and the acceptance is near its target.
  const auto inv_mass = s.inverse_mass();
  for (int i = 0; i < D; ++i) EXPECT_NEAR(inv_mass[i] / var[i], 1.0, 0.35) << i;
  double acc = 0;
  const auto st = s.stats();
  for (std::size_t t = 0; t < st.accept_prob.extent(0); ++t)
    for (std::size_t c = 0; c < 256; ++c) acc += st.accept_prob.view()(t, c) / double(200 * 256);
  EXPECT_NEAR(acc, ns::HmcOptions{}.target_accept, 0.1);
  EXPECT_EQ(s.divergences(), 0u);
  for (double e : s.ebfmi()) EXPECT_GT(e, 0.3);
}

// The reference target: 100 dimensions, condition number 100 (its own gradient: duals would carry 100
// partials), both trajectory kinds.
TEST(Hmc, HundredDimensionalGaussianMomentsWithinFourMcse) {
  constexpr int D = 100;
  std::vector<double> var(D);
  for (int i = 0; i < D; ++i) var[i] = IllGaussian<D>::sigma(i) * IllGaussian<D>::sigma(i);
  for (auto trajectory : {ns::HmcTrajectory::chees, ns::HmcTrajectory::nuts}) {
    SCOPED_TRACE(trajectory == ns::HmcTrajectory::nuts ? "NUTS" : "ChEES");
    check_moments(sample_256<D, IllGaussianWithGradient<D>>(7, trajectory), var);
  }
}

TEST(Hmc, FunnelNonCentredMomentsWithinFourMcse) {
  constexpr int D = 10;
  const auto s = sample_256<D, Funnel<D>>(8);
  std::vector<double> var(D, 1.0);
  var[0] = 9.0;
  check_moments(s, var);
}

TEST(Hmc, NutsIllConditionedGaussianAndFunnelMomentsWithinFourMcse) {
  constexpr int D = 10;
  const auto s = sample_256<D, IllGaussian<D>>(15, ns::HmcTrajectory::nuts);
  std::vector<double> var(D);
  for (int i = 0; i < D; ++i) var[i] = IllGaussian<D>::sigma(i) * IllGaussian<D>::sigma(i);
  check_moments(s, var);
  const auto f = sample_256<D, Funnel<D>>(18, ns::HmcTrajectory::nuts);
  std::vector<double> funnel(D, 1.0);
  funnel[0] = 9.0;
  check_moments(f, funnel);
  // Trees stop at U-turns: after adaptation most end well below the cap, and a tree of depth j took between
  // 2^j − 1 and 2^(j+1) − 1 leapfrog steps (the last subtree may stop early).
  const auto st = s.stats();
  double depth = 0;
  for (std::size_t k = 0; k < st.tree_depth.size(); ++k) {
    const double j = st.tree_depth.data()[k], n = st.leapfrog.data()[k];
    depth += j / double(st.tree_depth.size());
    ASSERT_GE(n, std::pow(2.0, j) - 1.0) << k;
    ASSERT_LE(n, std::pow(2.0, j + 1.0) - 1.0) << k;
  }
  EXPECT_GT(depth, 1.0);
  EXPECT_LT(depth, 8.0);
}

// The leaf-by-leaf U-turn checks against checkpoints equal the recursive definition: after leaf n, every aligned
// run of 2^k ≥ 2 leaves ending at n is checked (its end momenta against its momentum sum).
TEST(Hmc, NutsSubtreeChecksMatchTheRecursiveDefinition) {
  constexpr int D = 3;
  nabla::random::NormalStream z(nabla::random::key(41), 0);
  const hmc::Vec<D> inv_mass{{1.0, 0.5, 2.0}};
  int turned = 0, sequences = 0;
  for (double noise : {0.05, 0.3, 1.0, 3.0}) {
    for (int trial = 0; trial < 40; ++trial, ++sequences) {
      const std::uint32_t leaves = 1u << (1 + trial % 7);
      std::vector<hmc::Vec<D>> p(leaves);
      hmc::Vec<D> drift{{z(), z(), z()}};
      for (auto& v : p)
        for (int i = 0; i < D; ++i) v[i] = drift[i] + noise * z();
      hmc::impl::SubtreeChecks<D> checks;
      hmc::Vec<D> sum{{0.0, 0.0, 0.0}};
      for (std::uint32_t n = 0; n < leaves; ++n) {
        for (int i = 0; i < D; ++i) sum[i] += p[n][i];
        bool expected = false;
        for (std::uint32_t size = 2; size <= n + 1; size *= 2) {
          if ((n + 1) % size != 0) continue;
          hmc::Vec<D> inner{{0.0, 0.0, 0.0}};
          for (std::uint32_t m = n + 1 - size; m <= n; ++m)
            for (int i = 0; i < D; ++i) inner[i] += p[m][i];
          expected = expected || hmc::impl::turning<D>(inv_mass, p[n + 1 - size], p[n], inner);
        }
        ASSERT_EQ(checks.add(n, inv_mass, p[n], sum), expected) << "noise " << noise << " trial " << trial << " leaf " << n;
        if (expected) {
          ++turned;
          break;  // a subtree stops at its first turn
        }
      }
    }
  }
  EXPECT_GT(turned, sequences / 5);  // both outcomes are exercised
  EXPECT_LT(turned, sequences * 9 / 10);
}

// NUTS's multinomial weights: a sum of e^x kept on a scale that moves only before an overflow equals a
// long-double log-sum-exp, leaf shares and a subtree's chance against the tree included, through energies far
// below and above the start's (scale moves, terms that underflow).
TEST(Hmc, NutsWeightSumsMatchLogSumExp) {
  nabla::random::NormalStream z(nabla::random::key(43), 0);
  int rescaled = 0;
  for (double spread : {0.5, 20.0, 300.0}) {
    for (int trial = 0; trial < 50; ++trial) {
      hmc::impl::WeightSum tree{0.0, 1.0}, sub;
      long double log_tree = 0.0L, log_sub = -INFINITY;
      const auto lse = [](long double a, long double b) {
        if (a == -INFINITY) return b;
        const long double hi = std::max(a, b);
        return hi + std::log(std::exp(a - hi) + std::exp(b - hi));
      };
      double drift = 0.0;
      for (int leaf = 0; leaf < 64; ++leaf) {
        drift += spread * 0.05 * (1.0 + z());  // energies wander down (weights up), as into a deeper well
        const double x = std::max(-740.0, spread * z() + drift);
        const double ref_before = sub.ref;
        const double w = sub.add(x);
        rescaled += sub.ref != ref_before;
        log_sub = lse(log_sub, x);
        const long double share = std::exp(x - log_sub);
        ASSERT_NEAR(w / sub.s, double(share), 1e-12 * double(share) + 1e-300) << "spread " << spread << " leaf " << leaf;
        ASSERT_NEAR(sub.ref + std::log(sub.s), double(log_sub), 1e-12 * std::max(1.0, std::abs(double(log_sub))));
        if (leaf % 8 == 7) {  // a subtree completes: its chance against the tree so far, then the merge
          // The subtree wins with probability min(1, ratio); a ratio past the double range may read inf.
          const double chance = std::min(1.0, sub.over(tree));
          const double expected = double(std::min(1.0L, std::exp(log_sub - log_tree)));
          ASSERT_NEAR(chance, expected, 1e-11 * expected + 1e-300) << "spread " << spread << " leaf " << leaf;
          tree.add(sub);
          log_tree = lse(log_tree, log_sub);
          ASSERT_NEAR(tree.ref + std::log(tree.s), double(log_tree), 1e-12 * std::max(1.0, std::abs(double(log_tree))));
          sub = hmc::impl::WeightSum{};
          log_sub = -INFINITY;
        }
      }
    }
  }
  EXPECT_GT(rescaled, 0);  // the overflow path ran
}

TEST(Hmc, OwnGradientGivesTheSameChainsAsDuals) {
  constexpr int D = 4;
  ns::HmcOptions opt;
  opt.seed = 9;
  ns::HamiltonianSampler<D, IllGaussian<D>> a(16, IllGaussian<D>{}, opt);
  ns::HamiltonianSampler<D, IllGaussianWithGradient<D>> b(16, IllGaussianWithGradient<D>{}, opt);
  a.run(initial<D>(16, 3), 30, 20);
  b.run(initial<D>(16, 3), 30, 20);
  const auto ca = a.get_chain(ns::flat), cb = b.get_chain(ns::flat);
  double worst = 0;
  for (std::size_t r = 0; r < ca.extent(0); ++r)
    for (int i = 0; i < D; ++i) worst = std::max(worst, std::abs(ca.view()(r, i) - cb.view()(r, i)));
  EXPECT_LT(worst, 1e-9);  // the same arithmetic up to rounding
}

TEST(Hmc, ChainsDoNotDependOnStepsPerLaunch) {
  constexpr int D = 3;
  for (auto trajectory : {ns::HmcTrajectory::chees, ns::HmcTrajectory::nuts}) {
    std::vector<ns::HostArray<double, 2>> chains;
    for (std::size_t per_launch : {1, 7, 0}) {
      ns::HmcOptions opt;
      opt.seed = 4;
      opt.steps_per_launch = per_launch;
      opt.trajectory = trajectory;
      ns::HamiltonianSampler<D, Curvy> s(33, Curvy{}, opt);
      s.run(initial<D>(33, 5), 40, 25);
      chains.push_back(s.get_chain(ns::flat));
    }
    for (std::size_t k = 1; k < chains.size(); ++k)
      for (std::size_t r = 0; r < chains[0].extent(0); ++r)
        for (int i = 0; i < D; ++i)
          ASSERT_EQ(chains[k].view()(r, i), chains[0].view()(r, i)) << int(trajectory) << " " << k << " " << r;
  }
}

TEST(Hmc, ContinuingARunEqualsOneLongRun) {
  constexpr int D = 3;
  ns::HmcOptions opt;
  opt.seed = 6;
  ns::HamiltonianSampler<D, Curvy> one(8, Curvy{}, opt), two(8, Curvy{}, opt);
  one.run(initial<D>(8, 1), 30, 10);
  two.run(initial<D>(8, 1), 12, 10);
  two.run(18);
  const auto a = one.get_chain(ns::flat), b = two.get_chain(ns::flat);
  ASSERT_EQ(a.extent(0), b.extent(0));
  for (std::size_t r = 0; r < a.extent(0); ++r)
    for (int i = 0; i < D; ++i) ASSERT_EQ(a.view()(r, i), b.view()(r, i));
}

TEST(Hmc, RunningFromAnInitialStateStartsAfresh) {
  constexpr int D = 3;
  ns::HmcOptions opt;
  opt.seed = 2;
  ns::HamiltonianSampler<D, Curvy> fresh(8, Curvy{}, opt), reused(8, Curvy{}, opt);
  reused.run(initial<D>(8, 4), 15, 12);  // adapts, stores and counts what the second run must discard
  reused.run(initial<D>(8, 1), 20, 10);
  fresh.run(initial<D>(8, 1), 20, 10);
  const auto a = fresh.get_chain(ns::flat), b = reused.get_chain(ns::flat);
  ASSERT_EQ(a.extent(0), b.extent(0));
  for (std::size_t r = 0; r < a.extent(0); ++r)
    for (int i = 0; i < D; ++i) ASSERT_EQ(a.view()(r, i), b.view()(r, i));
  EXPECT_EQ(fresh.step_size(), reused.step_size());
  EXPECT_EQ(fresh.gradient_evaluations(), reused.gradient_evaluations());
  EXPECT_EQ(fresh.warmup_divergences(), reused.warmup_divergences());
  EXPECT_EQ(reused.stats().energy.extent(0), 20u);
  // E-BFMI against its definition over the energies stats() reports.
  const auto e = reused.stats().energy;
  const auto ebfmi = reused.ebfmi();
  for (std::size_t c = 0; c < 8; ++c) {
    double mean = 0, num = 0, den = 0;
    for (std::size_t t = 0; t < 20; ++t) mean += e.view()(t, c) / 20.0;
    for (std::size_t t = 0; t < 20; ++t) {
      den += std::pow(e.view()(t, c) - mean, 2);
      if (t > 0) num += std::pow(e.view()(t, c) - e.view()(t - 1, c), 2);
    }
    EXPECT_NEAR(ebfmi[c], num / den, 1e-12 * num / den) << c;
  }
}

// A sampler dropped after some transitions (as a killed run would be) and a new one given its backend continue
// the chain bit for bit: the adaptation travels with the chain.
void expect_resume_equals_one_run(const std::function<std::shared_ptr<ns::Backend>(int)>& backend,
                                  ns::HmcTrajectory trajectory = ns::HmcTrajectory::chees) {
  constexpr int D = 3;
  const auto options = [&](int which) {
    ns::HmcOptions opt;
    opt.seed = 12;
    opt.backend = backend(which);
    opt.trajectory = trajectory;
    return opt;
  };
  ns::HamiltonianSampler<D, Curvy> whole(8, Curvy{}, options(0));
  whole.run(initial<D>(8, 2), 40, 30);
  {
    ns::HamiltonianSampler<D, Curvy> first(8, Curvy{}, options(1));
    first.run(initial<D>(8, 2), 15, 30);
  }
  ns::HamiltonianSampler<D, Curvy> resumed(8, Curvy{}, options(1));
  EXPECT_EQ(resumed.iteration(), 15u);
  EXPECT_EQ(resumed.step_size(), whole.step_size());
  EXPECT_EQ(resumed.inverse_mass(), whole.inverse_mass());
  resumed.run(25);
  const auto a = whole.get_chain(ns::flat), b = resumed.get_chain(ns::flat);
  ASSERT_EQ(a.extent(0), b.extent(0));
  for (std::size_t r = 0; r < a.extent(0); ++r)
    for (int i = 0; i < D; ++i) ASSERT_EQ(a.view()(r, i), b.view()(r, i)) << r;
  const auto la = whole.get_log_prob(ns::flat), lb = resumed.get_log_prob(ns::flat);
  for (std::size_t r = 0; r < la.extent(0); ++r) ASSERT_EQ(la.view()(r), lb.view()(r)) << r;
}

TEST(Hmc, ResumingABackendsChainEqualsOneRun) {
  for (auto trajectory : {ns::HmcTrajectory::chees, ns::HmcTrajectory::nuts}) {
    std::vector<std::shared_ptr<ns::Backend>> memory{std::make_shared<ns::MemoryBackend>(),
                                                     std::make_shared<ns::MemoryBackend>()};
    expect_resume_equals_one_run([&](int which) { return memory[which]; }, trajectory);
  }
  // A NUTS chain is not continued with ChEES trajectories.
  auto backend = std::make_shared<ns::MemoryBackend>();
  ns::HmcOptions opt;
  opt.backend = backend;
  opt.trajectory = ns::HmcTrajectory::nuts;
  ns::HamiltonianSampler<3, Curvy>(4, Curvy{}, opt).run(initial<3>(4, 1), 3, 2);
  opt.trajectory = ns::HmcTrajectory::chees;
  EXPECT_THROW((ns::HamiltonianSampler<3, Curvy>(4, Curvy{}, opt)), nabla::ValueError);
}

#if NABLA_ENABLE_HDF5
TEST(Hmc, ResumingAnHdf5ChainEqualsOneRun) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("nabla_hmc_resume_" + std::to_string(::getpid()))).string();
  std::filesystem::create_directories(dir);
  expect_resume_equals_one_run(
      [&](int which) { return std::make_shared<ns::HDFBackend>(dir + "/chain" + std::to_string(which) + ".h5"); });
  // emcee's reader sees the chain; the adaptation is one string attribute beside it.
  ns::HDFBackend file(dir + "/chain1.h5");
  EXPECT_EQ(file.iteration(), 40u);
  ASSERT_TRUE(file.sampler_state().has_value());
  EXPECT_EQ(file.sampler_state()->rfind("nabla::sampling::HamiltonianSampler 1 dim 3 warmup 30 ", 0), 0u);
  std::filesystem::remove_all(dir);
}
#endif

TEST(Hmc, ResumingAForeignChainIsAnError) {
  constexpr int D = 3;
  auto backend = std::make_shared<ns::MemoryBackend>();
  ns::HmcOptions opt;
  opt.seed = 5;
  opt.backend = backend;
  ns::HamiltonianSampler<D, Curvy>(4, Curvy{}, opt).run(initial<D>(4, 1), 3, 2);
  const auto message = [&](auto&& make) {
    try {
      make();
    } catch (const nabla::ValueError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  ns::HmcOptions other = opt;
  other.seed = 6;
  EXPECT_NE(message([&] { ns::HamiltonianSampler<D, Curvy>(4, Curvy{}, other); }).find("written with seed 5"),
            std::string::npos);
  EXPECT_NE(message([&] { ns::HamiltonianSampler<D, Curvy>(5, Curvy{}, opt); }).find("4 chains x 3 dims, not 5 x 3"),
            std::string::npos);
  // A chain with no HMC adaptation (here: an ensemble sampler's, of the same shape).
  auto ensemble = std::make_shared<ns::MemoryBackend>();
  ensemble->reset(4, D);
  ensemble->set_seed(5);
  ensemble->save_step(std::vector<double>(4 * D, 0.1), std::vector<double>(4, -1.0), std::vector<std::uint8_t>(4, 1));
  opt.backend = ensemble;
  EXPECT_NE(message([&] { ns::HamiltonianSampler<D, Curvy>(4, Curvy{}, opt); }).find("no HMC adaptation"),
            std::string::npos);
  EXPECT_THROW(ensemble->set_sampler_state("x"), nabla::ValueError);  // only while the chain is empty
  // States this sampler cannot read: another dimension, a number that is not one.
  for (const char* state : {"nabla::sampling::HamiltonianSampler 1 dim 4 warmup 2 step_size 0x1p-1",
                            "nabla::sampling::HamiltonianSampler 1 dim 3 warmup 2 step_size zz"}) {
    auto b = std::make_shared<ns::MemoryBackend>();
    b->reset(4, D);
    b->set_sampler_state(state);
    b->save_step(std::vector<double>(4 * D, 0.1), std::vector<double>(4, -1.0), std::vector<std::uint8_t>(4, 1));
    opt.backend = b;
    const std::string m = message([&] { ns::HamiltonianSampler<D, Curvy>(4, Curvy{}, opt); });
    EXPECT_TRUE(m.find("cannot read") != std::string::npos || m.find("step_size 'zz'") != std::string::npos) << m;
  }
}

// The run settings go with the chain (in a file, through the rewrite that records the adaptation after warm-up),
// and a resume under others is refused, as by the ensemble sampler.
TEST(Hmc, ResumingWithOtherSettingsIsAnError) {
  constexpr int D = 3;
  std::vector<std::shared_ptr<ns::Backend>> backends{std::make_shared<ns::MemoryBackend>()};
#if NABLA_ENABLE_HDF5
  const std::string path =
      (std::filesystem::temp_directory_path() / ("nabla_hmc_settings_" + std::to_string(::getpid()) + ".h5")).string();
  std::filesystem::remove(path);
  backends.push_back(std::make_shared<ns::HDFBackend>(path));
#endif
  for (const auto& b : backends) {
    ns::HmcOptions opt;
    opt.seed = 5;
    opt.backend = b;
    opt.settings = {{"data", "fnv:0123"}, {"sigma", "0.05"}};
    ns::HamiltonianSampler<D, Curvy>(4, Curvy{}, opt).run(initial<D>(4, 1), 3, 2);
    EXPECT_EQ(b->settings(), opt.settings) << b->describe();
    ns::HamiltonianSampler<D, Curvy> resumed(4, Curvy{}, opt);
    resumed.run(2);
    EXPECT_EQ(resumed.iteration(), 5u);
    opt.settings["sigma"] = "0.1";
    try {
      ns::HamiltonianSampler<D, Curvy>(4, Curvy{}, opt);
      ADD_FAILURE() << "no error for " << b->describe();
    } catch (const nabla::ValueError& e) {
      EXPECT_NE(std::string(e.what()).find("was written with sigma = 0.05; this run has sigma = 0.1"),
                std::string::npos)
          << e.what();
    }
  }
#if NABLA_ENABLE_HDF5
  std::filesystem::remove(path);
#endif
}

TEST(Hmc, SamplingIsOneLaunchPerBlock) {
  ns::HmcOptions opt;
  opt.steps_per_launch = 10;
  ns::HamiltonianSampler<3, Curvy> s(16, Curvy{}, opt);
  const auto x0 = initial<3>(16, 1);
  nabla::tools::KernelCounter kernels;
  s.run(x0, 100);
  std::vector<std::string> ours;
  for (const auto& l : kernels.labels())
    if (l.rfind("Kokkos::", 0) != 0) ours.push_back(l);  // Kokkos's own: allocations' fills
  ASSERT_EQ(ours.size(), 12u);  // load, evaluate, then 10 blocks of 10 transitions
  EXPECT_EQ(ours[0], "nabla::sampling::hmc::load");
  EXPECT_EQ(ours[1], "nabla::sampling::hmc::evaluate");
  for (std::size_t k = 2; k < ours.size(); ++k) EXPECT_EQ(ours[k], "nabla::sampling::hmc::transitions");
}

TEST(Hmc, DivergencesAreCountedNotErrors) {
  ns::HmcOptions opt;
  opt.seed = 2;
  opt.step_size = 0.5;
  opt.trajectory_length = 4.0;
  ns::HamiltonianSampler<2, NaNPastTwo> s(64, NaNPastTwo{}, opt);
  s.run(initial<2>(64, 3), 100);
  EXPECT_GT(s.divergences(), 0u);
  const auto chain = s.get_chain(ns::flat);
  for (std::size_t r = 0; r < chain.extent(0); ++r) EXPECT_LE(chain.view()(r, 0), 2.0);
  const auto st = s.stats();
  double div = 0;
  for (std::size_t t = 0; t < st.divergent.extent(0); ++t)
    for (std::size_t c = 0; c < 64; ++c) div += st.divergent.view()(t, c);
  EXPECT_EQ(std::size_t(div), s.divergences());
}

TEST(Hmc, BadInputIsAnError) {
  using S = ns::HamiltonianSampler<2, NaNPastTwo>;
  EXPECT_THROW(S(0, NaNPastTwo{}), nabla::ValueError);
  for (double eps : {0.0, -1.0, double(NAN)}) {
    ns::HmcOptions opt;
    opt.step_size = eps;
    EXPECT_THROW(S(4, NaNPastTwo{}, opt), nabla::ValueError) << eps;
  }
  ns::HmcOptions opt;
  opt.target_accept = 1.0;
  EXPECT_THROW(S(4, NaNPastTwo{}, opt), nabla::ValueError);
  opt = {};
  opt.trajectory_length = INFINITY;
  EXPECT_THROW(S(4, NaNPastTwo{}, opt), nabla::ValueError);
  opt = {};
  opt.max_leapfrog = 0;
  EXPECT_THROW(S(4, NaNPastTwo{}, opt), nabla::ValueError);
  for (int depth : {0, 11}) {
    opt = {};
    opt.max_tree_depth = depth;
    EXPECT_THROW(S(4, NaNPastTwo{}, opt), nabla::ValueError) << depth;
  }
  S s(4, NaNPastTwo{});
  try {
    s.run(initial<3>(4, 1), 10);
    FAIL() << "no error for a 3-D initial state of a 2-D sampler";
  } catch (const nabla::ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("4 chains of 2 dimensions"), std::string::npos) << e.what();
  }
  EXPECT_THROW(s.run(10), nabla::ValueError);  // nothing to continue
  auto bad = nabla::Array<double, 2>({4, 2});
  Kokkos::deep_copy(bad.view(), 3.0);  // NaN there
  try {
    s.run(bad, 10);
    FAIL() << "no error for chains starting where the log-density is NaN";
  } catch (const nabla::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("chain 0 starts where the log-density is nan"), std::string::npos)
        << e.what();
  }
}
