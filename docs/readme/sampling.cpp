#include <nabla/sampling.hpp>
namespace ns = nabla::sampling;

struct Gauss {                                                          // log-density of N(0, I)
  KOKKOS_INLINE_FUNCTION double operator()(const ns::WalkerPoint& x) const {
    double s = 0;
    for (int i = 0; i < x.size(); ++i) s += x[i] * x[i];
    return -0.5 * s;
  }
};

int main(int argc, char** argv) {
  nabla::ScopeGuard runtime(argc, argv);
  ns::BAOABParams p;  p.gamma = 1.0;  p.kBT = 1.0;  p.dt = 0.01;  p.seed = 1;
  auto state = ns::make_state(/*walkers=*/4096, /*dims=*/1, /*x0=*/-2.0);
  auto traj = ns::baoab(ns::DoubleWell{2.0, 1.0}, p, state, /*steps=*/20000, /*save_every=*/100);  // ONE kernel

  ns::SamplerOptions opt;  opt.seed = 3;                                // opt.backend: HDFBackend for files
  ns::EnsembleSampler sampler(32, 5, Gauss{}, opt);                      // emcee's API
  sampler.run_mcmc(ns::gaussian_ball(std::vector<double>(5, 0.0), 1e-3, 32), 2000, /*progress=*/false);
  auto samples = sampler.get_chain(ns::flat, /*thin=*/10, /*discard=*/500);  // (4800 x 5)
  // [checks] Kramers' rate and the target's moments as references; run by CTest (readme.sampling).
  int failures = 0;
  // All walkers start in the left well; two-state kinetics with Kramers' rate k (barrier 4 kBT) leave
  // (1 - exp(-2 k t)) / 2 of them in the right one after time t.
  const auto hx = nabla::to_host(traj.x);
  const std::size_t last = traj.saved() - 1;
  double right = 0;
  for (std::size_t w = 0; w < 4096; ++w) right += hx.view()(w, 0, last) > 0;
  right /= 4096;
  const double wa = std::sqrt(8.0), wb = 2.0, gamma = 1.0, t = 20000 * 0.01;
  const double k = wa / (2 * M_PI * wb) * (std::sqrt(gamma * gamma / 4 + wb * wb) - gamma / 2) * std::exp(-4.0);
  const double kramers = 0.5 * (1 - std::exp(-2 * k * t));
  failures += std::abs(right - kramers) > 0.06;
  double mean = 0, var = 0;
  const std::size_t n = samples.extent(0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t d = 0; d < 5; ++d) mean += samples.view()(i, d), var += samples.view()(i, d) * samples.view()(i, d);
  mean /= double(n * 5);
  var = var / double(n * 5) - mean * mean;
  failures += n != 4800 || std::abs(mean) > 0.15 || std::abs(var - 1.0) > 0.25;
  std::printf("sampling: right well %.4f (Kramers %.4f); samples mean %.4f, variance %.4f: %s\n", right, kramers,
              mean, var, failures ? "FAILED" : "ok");
  return failures ? 1 : 0;
  // [/checks]
}
