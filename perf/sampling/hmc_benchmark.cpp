// HMC against the stretch move on the 50-D Gaussian whose covariance has condition number 100: effective samples
// per log-density evaluation, a gradient evaluation counted at its measured cost in value evaluations (the
// `ess_per_eval` counter; perf/baseline.json takes the ratio), and kernels per block of HMC transitions. Then
// chain-gradients per second of HMC on the breast cancer logistic regression, the batched target on the tape
// against the same model as a per-chain functor differentiated by duals.
//   HMC: bulk ESS (Stan's) of the worst parameter over 128 chains, warm-up evaluations included;
//   stretch: the walkers' samples over emcee's integrated autocorrelation time of the worst parameter. Its τ
//   (about 800 steps at 50-D) is estimated from a chain shorter than emcee's 50 τ, which underestimates it, so
//   the ratio errs in the stretch move's favour.
// And for perf/sampling/stan_compare.sh, bulk ESS per second on the same Gaussian at 100-D over 1024 chains; for a
// GPU, chain-gradients per second from 1 to 65,536 chains.
#include "../bench_util.hpp"

#include <nabla/core/tools.hpp>
#include <nabla/sampling.hpp>
#include <nabla/sampling/diagnostics.hpp>
#include <nabla/sampling/hmc.hpp>

#include "logistic.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

namespace {

namespace ns = nabla::sampling;
constexpr int kDim = 50;

// σ_i from 1 to 0.1 over D dimensions: covariance of condition number 100. The inverse variances are data,
// computed once (as Stan's model computes them in `transformed data`, perf/sampling/stan_compare.R).
template <int D>
struct IllGaussian {
  Kokkos::Array<double, D> inv_var;
  IllGaussian() {
    for (int i = 0; i < D; ++i) inv_var[i] = std::pow(10.0, 2.0 * double(i) / double(D - 1));
  }
  KOKKOS_INLINE_FUNCTION double operator()(const ns::WalkerPoint& x) const {
    double s = 0.0;
    for (int i = 0; i < D; ++i) s += x[i] * x[i] * inv_var[i];
    return -0.5 * s;
  }
  KOKKOS_INLINE_FUNCTION double value_and_gradient(const ns::hmc::Vec<D>& x, ns::hmc::Vec<D>& g) const {
    double s = 0.0;
    for (int i = 0; i < D; ++i) {
      g[i] = -x[i] * inv_var[i];
      s += x[i] * x[i] * inv_var[i];
    }
    return -0.5 * s;
  }
};
using IllGaussian50 = IllGaussian<kDim>;

// Bulk ESS (Stan's) of the worst of D parameters over the chains of `s`' last `steps` transitions.
template <class Sampler>
double worst_ess_bulk(const Sampler& s, int D, std::size_t chains, std::size_t steps) {
  const auto chain = s.get_chain();
  double ess = 1e300;
  for (int d = 0; d < D; ++d) {
    ns::Draws x({steps, chains});
    for (std::size_t c = 0; c < chains; ++c)
      for (std::size_t t = 0; t < steps; ++t) x.view()(t, c) = chain.view()(t, c, d);
    ess = std::min(ess, ns::ess_bulk(x));
  }
  return ess;
}

// Seconds per point of value_and_gradient over those of the value alone, over the same 2^12 points, which stay in
// cache as a chain's state does in the sampler (over 2^18 points both kernels waited on memory, and the ratio
// swung with the machine's bandwidth), 64 launches a timing, the best of 5. The gradient is stored, as the
// sampler keeps it (summing it to keep it live added a second dependent chain of additions).
struct Points {
  Kokkos::View<double**, Kokkos::LayoutRight> x, g;
  Kokkos::View<double*> out;
  IllGaussian50 f;
};
struct ValueOnly {
  Points p;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t i) const {
    p.out(i) = p.f(ns::WalkerPoint{&p.x(i, 0), 1, kDim});
  }
};
struct ValueAndGradient {
  Points p;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t i) const {
    ns::hmc::Vec<kDim> x, g;
    for (int d = 0; d < kDim; ++d) x[d] = p.x(i, d);
    p.out(i) = p.f.value_and_gradient(x, g);
    for (int d = 0; d < kDim; ++d) p.g(i, d) = g[d];
  }
};
double gradient_cost() {
  constexpr std::size_t n = std::size_t(1) << 12;
  Points p{Kokkos::View<double**, Kokkos::LayoutRight>("nabla::perf::points", n, kDim),
           Kokkos::View<double**, Kokkos::LayoutRight>("nabla::perf::gradients", n, kDim),
           Kokkos::View<double*>("nabla::perf::out", n), IllGaussian50{}};
  Kokkos::deep_copy(p.x, 0.3);
  const auto time = [&](auto f) {
    double best = 1e30;
    for (int r = 0; r < 5; ++r) {
      Kokkos::fence();
      Kokkos::Timer t;
      for (int l = 0; l < 64; ++l)
        Kokkos::parallel_for("nabla::perf::gradient_cost", Kokkos::RangePolicy<Kokkos::IndexType<std::size_t>>(0, n), f);
      Kokkos::fence();
      best = std::min(best, t.seconds());
    }
    return best;
  };
  return std::max(1.0, time(ValueAndGradient{p}) / time(ValueOnly{p}));
}

void BM_Hmc_EssPerEval(benchmark::State& state) {
  constexpr std::size_t C = 128, warmup = 300, steps = 300;
  const auto x0 = ns::gaussian_ball(std::vector<double>(kDim, 0.0), 0.5, C, 2);
  const double cost = gradient_cost();
  double ess_per_eval = 0.0, ess_per_second = 0.0;
  for (auto _ : state) {
    ns::HmcOptions opt;
    opt.seed = 1;
    ns::HamiltonianSampler<kDim, IllGaussian50> s(C, IllGaussian50{}, opt);
    Kokkos::Timer timer;
    s.run(x0, steps, warmup);
    const double seconds = timer.seconds();
    const double ess = worst_ess_bulk(s, kDim, C, steps);
    ess_per_eval = ess / (double(s.gradient_evaluations()) * cost);
    ess_per_second = ess / seconds;  // warm-up included (perf/sampling/stan_compare.sh compares it with Stan)
    state.counters["leapfrog_per_transition"] =
        double(s.gradient_evaluations()) / double((warmup + steps) * C);
  }
  state.counters["ess_per_eval"] = ess_per_eval;
  state.counters["ess_per_second"] = ess_per_second;
  state.counters["gradient_cost"] = cost;
}

// Stan's comparison target (perf/sampling/stan_compare.sh): the same Gaussian at 100-D, 1024 chains (ChEES),
// bulk ESS of the worst parameter per second, warm-up included.
void BM_Hmc_Gauss100(benchmark::State& state) {
  constexpr int D = 100;
  constexpr std::size_t C = 1024, warmup = 300, steps = 300;
  const auto x0 = ns::gaussian_ball(std::vector<double>(D, 0.0), 0.5, C, 2);
  double ess_per_second = 0.0;
  for (auto _ : state) {
    ns::HmcOptions opt;
    opt.seed = 1;
    ns::HamiltonianSampler<D, IllGaussian<D>> s(C, IllGaussian<D>{}, opt);
    Kokkos::Timer timer;
    s.run(x0, steps, warmup);
    const double seconds = timer.seconds();
    ess_per_second = worst_ess_bulk(s, D, C, steps) / seconds;
  }
  state.counters["ess_per_second"] = ess_per_second;
}

void BM_Stretch_EssPerEval(benchmark::State& state) {
  constexpr std::size_t W = 100, steps = 6000, burn = 1000;  // the stretch move needs 2 D walkers
  const auto x0 = ns::gaussian_ball(std::vector<double>(kDim, 0.0), 0.5, W, 2);
  double ess_per_eval = 0.0;
  for (auto _ : state) {
    ns::SamplerOptions opt;
    opt.seed = 1;
    ns::EnsembleSampler s(W, kDim, IllGaussian50{}, opt);
    s.run_mcmc(x0, steps);
    const auto tau = s.get_autocorr_time(burn, 1, 5.0, 50.0, /*quiet=*/true);
    const double ess = double((steps - burn) * W) / *std::max_element(tau.begin(), tau.end());
    ess_per_eval = ess / double(steps * W);
  }
  state.counters["ess_per_eval"] = ess_per_eval;
}

// Kernels per block of sampling transitions (launch counts from Kokkos Tools), allocations included.
void BM_Hmc_LaunchesPerBlock(benchmark::State& state) {
  constexpr std::size_t C = 128, steps = 400, per_launch = 20;
  const auto x0 = ns::gaussian_ball(std::vector<double>(kDim, 0.0), 0.5, C, 2);
  double per_block = 0.0;
  for (auto _ : state) {
    ns::HmcOptions opt;
    opt.steps_per_launch = per_launch;
    ns::HamiltonianSampler<kDim, IllGaussian50> s(C, IllGaussian50{}, opt);
    nabla::tools::KernelCounter kernels;
    s.run(x0, steps);
    per_block = double(kernels.count()) / double(steps / per_launch);
  }
  state.counters["launches_per_block"] = per_block;
}

// The logistic regression of examples/common/logistic.hpp as a per-chain functor: each chain's thread sums over
// the 569 rows on duals carrying 31 partials, where the batched target does two matmuls for all chains.
constexpr int kLogistic = nabla_examples::BreastCancer::dim;
struct LogisticPerChain {
  Kokkos::View<const double**, Kokkos::LayoutLeft> xt, y;
  template <class T>
  KOKKOS_INLINE_FUNCTION T operator()(const Kokkos::Array<T, kLogistic>& b) const {
    using nabla::math::abs;
    using nabla::math::exp;
    using nabla::math::log1p;
    T s = 0.0;
    for (int k = 0; k < kLogistic; ++k) s -= 0.5 * b[k] * b[k];
    for (std::size_t j = 0; j < xt.extent(1); ++j) {
      T z = 0.0;
      for (int k = 0; k < kLogistic; ++k) z += b[k] * xt(k, j);
      s += y(0, j) * z - 0.5 * (z + abs(z)) - log1p(exp(-abs(z)));
    }
    return s;
  }
};

// 256 chains, 6 transitions of about 10 leapfrog steps at a fixed step size (no warm-up): chain-gradients per
// second, the best of 3 runs (a shared machine's interruptions only ever lower a rate).
template <class F>
void logistic_gradients(benchmark::State& state, const F& f) {
  constexpr std::size_t C = 256;
  const auto x0 = ns::gaussian_ball(std::vector<double>(kLogistic, 0.0), 0.1, C, 2);
  double rate = 0.0;
  for (auto _ : state)
    for (int run = 0; run < 3; ++run) {
      ns::HmcOptions opt;
      opt.step_size = 0.2;
      opt.trajectory_length = 2.0;
      ns::HamiltonianSampler<kLogistic, F> s(C, f, opt);
      Kokkos::fence();
      Kokkos::Timer timer;
      s.run(x0, 6);
      Kokkos::fence();
      rate = std::max(rate, double(s.gradient_evaluations()) / timer.seconds());
    }
  state.counters["gradients_per_second"] = rate;
}
nabla_examples::BreastCancer logistic_data() {
  return nabla_examples::read_breast_cancer(std::string(NABLA_EXAMPLES_DATA) + "/breast_cancer.csv");
}
void BM_Hmc_LogisticBatched(benchmark::State& state) {
  logistic_gradients(state, nabla_examples::LogisticRegression{logistic_data()});
}
void BM_Hmc_LogisticDuals(benchmark::State& state) {
  const auto d = logistic_data();
  logistic_gradients(state, LogisticPerChain{d.xt.view(), d.y.view()});
}

// Chain-gradients per second from 1 to 65,536 chains (to 1024 on host backends, where chains only add up), 4
// transitions of 10 leapfrog steps at a fixed step size on the 50-D Gaussian, the best of 3 runs (a process's first
// runs of a size also pay for fresh memory: 5x slower at 1024 chains here). On a GPU the time of 1024 chains over
// one's (goal <= 2) says whether the device's width or a launch's latency sets the pace.
void BM_Hmc_Chains(benchmark::State& state) {
  const std::size_t chains = std::size_t(state.range(0));
  const auto x0 = ns::gaussian_ball(std::vector<double>(kDim, 0.0), 0.5, chains, 3);
  ns::HmcOptions opt;
  opt.step_size = 0.05;
  opt.trajectory_length = 0.5;
  double rate = 0.0;
  for (auto _ : state) {
    double best = 0.0;
    for (int run = 0; run < 3; ++run) {
      ns::HamiltonianSampler<kDim, IllGaussian<kDim>> s(chains, IllGaussian<kDim>(), opt);
      Kokkos::fence();
      Kokkos::Timer timer;
      s.run(x0, 4);
      Kokkos::fence();
      const double t = timer.seconds();
      if (run == 0 || t < best) best = t;
      rate = std::max(rate, double(s.gradient_evaluations()) / t);
    }
    state.SetIterationTime(best);
  }
  state.counters["gradients_per_second"] = rate;
}
void chain_counts(benchmark::internal::Benchmark* b) {
  const bool host = std::is_same<Kokkos::DefaultExecutionSpace::memory_space, Kokkos::HostSpace>::value;
  for (long chains = 1; chains <= (host ? 1024 : 65536); chains *= 4) b->Arg(chains);
}

}  // namespace

BENCHMARK(BM_Hmc_LogisticBatched)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Hmc_LogisticDuals)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Hmc_EssPerEval)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Hmc_Gauss100)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Stretch_EssPerEval)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Hmc_LaunchesPerBlock)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Hmc_Chains)->Apply(chain_counts)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);
