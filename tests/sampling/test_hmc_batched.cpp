// HMC of batched targets (every chain's log-density as array code on the tape, one reverse sweep for all
// gradients): the lockstep trajectories equal the one-thread-per-chain kernel's on the same target, divergences
// included, with ChEES and with NUTS trajectories; the Bayesian logistic regression of the breast cancer data agrees with a long Stan run within 4 MCSE;
// its tape gradient agrees with finite differences; chains do not depend on launch blocking; bad input.
#include <nabla/core/tools.hpp>
#include <nabla/sampling/diagnostics.hpp>
#include <nabla/sampling/hmc.hpp>
#include <nabla/sampling/mcmc/ensemble_sampler.hpp>

#include "logistic.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace ns = nabla::sampling;
namespace hmc = nabla::sampling::hmc;
namespace ad = nabla::ad;

namespace {

constexpr int D = 4;
double weight(int i) { return std::pow(10.0, 2.0 * i / (D - 1.0)); }  // 1/σ², σ from 1 to 0.1

/// Gaussian of condition number 100, NaN where any coordinate exceeds 1.8: per chain, with its own gradient.
struct WalledGaussian {
  hmc::Vec<D> w;
  KOKKOS_INLINE_FUNCTION double value_and_gradient(const hmc::Vec<D>& x, hmc::Vec<D>& g) const {
    double s = 0.0;
    for (int i = 0; i < D; ++i) {
      s += x[i] > 1.8 ? double(NAN) : -0.5 * x[i] * x[i] * w[i];
      g[i] = -x[i] * w[i];
    }
    return s;
  }
};

/// The same target as array code over every chain.
struct WalledGaussianBatched {
  nabla::Array<double, 2> w;  // 1 × D
  ad::Var<double, 1> operator()(const ad::Var<double, 2>& x) const {
    const auto wv = x.tape()->constant(w);
    return ad::sum(ad::where(x > 1.8, double(NAN), -0.5 * x * x * wv), nabla::axis{1});
  }
};

WalledGaussianBatched walled_batched() {
  WalledGaussianBatched f{nabla::Array<double, 2>({1, std::size_t(D)}, "w")};
  const auto h = Kokkos::create_mirror_view(f.w.view());
  for (int i = 0; i < D; ++i) h(0, i) = weight(i);
  Kokkos::deep_copy(f.w.view(), h);
  return f;
}

nabla_examples::BreastCancer data() {
  return nabla_examples::read_breast_cancer(std::string(NABLA_EXAMPLES_DATA) + "/breast_cancer.csv");
}

}  // namespace

TEST(HmcBatched, LockstepEqualsOneThreadPerChain) {
  WalledGaussian per_chain;
  for (int i = 0; i < D; ++i) per_chain.w[i] = weight(i);
  const std::size_t C = 40;
  const auto start = ns::gaussian_ball(std::vector<double>(D, 0.0), 0.3, C, 1);
  for (auto trajectory : {ns::HmcTrajectory::chees, ns::HmcTrajectory::nuts}) {
    SCOPED_TRACE(trajectory == ns::HmcTrajectory::nuts ? "NUTS" : "ChEES");
    ns::HmcOptions opt;
    opt.seed = 12;
    opt.step_size = 0.3;
    opt.trajectory = trajectory;
    ns::HamiltonianSampler<D, WalledGaussian> a(C, per_chain, opt);
    ns::HamiltonianSampler<D, WalledGaussianBatched> b(C, walled_batched(), opt);
    a.run(start, 60, 40);
    b.run(start, 60, 40);
    // Trajectories of different lengths, some stopped by the wall: the masking is exercised.
    EXPECT_GT(a.divergences() + a.warmup_divergences(), 0u);
    EXPECT_EQ(a.divergences(), b.divergences());
    EXPECT_EQ(a.warmup_divergences(), b.warmup_divergences());
    EXPECT_EQ(a.gradient_evaluations(), b.gradient_evaluations());
    EXPECT_NEAR(a.step_size(), b.step_size(), 1e-12 * a.step_size());
    const auto sa = a.stats(), sb = b.stats();
    double spread = 0;
    for (std::size_t k = 0; k < sa.leapfrog.size(); ++k) {
      ASSERT_EQ(sa.leapfrog.data()[k], sb.leapfrog.data()[k]) << k;
      ASSERT_EQ(sa.divergent.data()[k], sb.divergent.data()[k]) << k;
      ASSERT_EQ(sa.tree_depth.data()[k], sb.tree_depth.data()[k]) << k;
      spread = std::max(spread, sa.leapfrog.data()[k] - sa.leapfrog.data()[0]);
    }
    EXPECT_GT(spread, 0.0);
    const auto ca = a.get_chain(ns::flat), cb = b.get_chain(ns::flat);
    for (std::size_t r = 0; r < ca.extent(0); ++r)
      for (int i = 0; i < D; ++i) ASSERT_NEAR(ca.view()(r, i), cb.view()(r, i), 1e-9) << r;  // rounding only
  }
}

TEST(HmcBatched, ChainsDoNotDependOnStepsPerLaunchOrOnContinuing) {
  const auto start = ns::gaussian_ball(std::vector<double>(D, 0.0), 0.3, 20, 2);
  for (auto trajectory : {ns::HmcTrajectory::chees, ns::HmcTrajectory::nuts}) {
    std::vector<ns::HostArray<double, 2>> chains;
    for (std::size_t per_launch : {1, 7, 0}) {
      ns::HmcOptions opt;
      opt.seed = 5;
      opt.steps_per_launch = per_launch;
      opt.trajectory = trajectory;
      ns::HamiltonianSampler<D, WalledGaussianBatched> s(20, walled_batched(), opt);
      s.run(start, per_launch == 7 ? 11 : 30, 20);
      if (per_launch == 7) s.run(19);
      chains.push_back(s.get_chain(ns::flat));
    }
    for (std::size_t k = 1; k < chains.size(); ++k)
      for (std::size_t r = 0; r < chains[0].extent(0); ++r)
        for (int i = 0; i < D; ++i)
          ASSERT_EQ(chains[k].view()(r, i), chains[0].view()(r, i)) << int(trajectory) << " " << k << " " << r;
  }
}

TEST(HmcBatched, LogisticRegressionValueIsTheSumAndItsGradientTheFiniteDifferences) {
  const auto d = data();
  ASSERT_EQ(d.rows, 569u);
  const nabla_examples::LogisticRegression f{d};
  constexpr int K = nabla_examples::BreastCancer::dim;
  const std::size_t C = 3;
  const auto beta = ns::gaussian_ball(std::vector<double>(K, 0.0), 0.5, C, 7);
  ad::Tape tape;
  const auto b = tape.variable(beta);
  const auto y = f(b);
  tape.seed(y, nabla::full<double>(nabla::Shape<1>{C}, 1.0));
  const auto value = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), y.value().view());
  const auto g = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), tape.grad(b).view());
  const auto xt = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), d.xt.view());
  const auto cls = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), d.y.view());
  const auto hb = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), beta.view());
  // A scalar loop in long double, the naive log(1 + e^z) (|z| stays small here).
  const auto logp = [&](std::vector<long double> bc) {
    long double s = 0;
    for (int k = 0; k < K; ++k) s -= 0.5L * bc[k] * bc[k];
    for (std::size_t j = 0; j < d.rows; ++j) {
      long double z = 0;
      for (int k = 0; k < K; ++k) z += bc[k] * xt(k, j);
      s += cls(0, j) * z - std::log1p(std::exp(z));
    }
    return s;
  };
  for (std::size_t c = 0; c < C; ++c) {
    std::vector<long double> bc(K);
    for (int k = 0; k < K; ++k) bc[k] = hb(c, k);
    EXPECT_NEAR(value(c), double(logp(bc)), 1e-10 * std::abs(value(c)));
    for (int k = 0; k < K; ++k) {
      const long double h = 1e-5;
      auto up = bc, down = bc;
      up[k] += h;
      down[k] -= h;
      EXPECT_NEAR(g(c, k), double((logp(up) - logp(down)) / (2 * h)), 1e-6 * (1 + std::abs(g(c, k)))) << c << " " << k;
    }
  }
}

// A long Stan run (fixtures/make_stan_logistic.R) against 128 chains of Nabla: every posterior mean and variance
// within 4 combined MCSE.
TEST(HmcBatched, LogisticRegressionMatchesStan) {
  constexpr int K = nabla_examples::BreastCancer::dim;
  const auto stan = nabla_examples::read_stan_reference(std::string(NABLA_SAMPLING_FIXTURES) + "/stan_logistic.txt");

  ns::HmcOptions opt;
  opt.seed = 31;
  const std::size_t C = 128, n = 150;
  ns::HamiltonianSampler<K, nabla_examples::LogisticRegression> s(C, {data()}, opt);
  s.run(ns::gaussian_ball(std::vector<double>(K, 0.0), 0.5, C, 3), n, 250);
  EXPECT_EQ(s.divergences(), 0u);
  const auto chain = s.get_chain();
  const auto rows = ns::summarize(chain);
  const auto cmp = nabla_examples::compare_with_stan(chain, stan, rows);
  for (int k = 0; k < K; ++k) {
    SCOPED_TRACE(::testing::Message() << "beta" << k);
    EXPECT_LT(std::abs(cmp.coefficients[std::size_t(k)].z_mean), 4.0);
    EXPECT_LT(std::abs(cmp.coefficients[std::size_t(k)].z_var), 4.0);
    EXPECT_LT(rows[std::size_t(k)].rhat, 1.03);
  }
}

TEST(HmcBatched, BadInputIsAnError) {
  struct OneValue {  // sums over the chains too: not one value per chain
    ad::Var<double, 1> operator()(const ad::Var<double, 2>& x) const {
      return ad::reshape(ad::sum(x * x), nabla::Shape<1>{1});
    }
  };
  ns::HamiltonianSampler<D, OneValue> s(8, OneValue{});
  try {
    s.run(ns::gaussian_ball(std::vector<double>(D, 0.0), 0.3, 8, 1), 2);
    FAIL() << "no error";
  } catch (const nabla::ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("returned (1,) values; it must return one per chain, (8,)"), std::string::npos)
        << e.what();
  }
}
