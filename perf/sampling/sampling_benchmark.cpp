// Sampling benchmarks, with their peers in the same executable so the ratios come from one run:
// - BAOAB double well, 2^20 walkers × 50 steps per timed call (walker-steps/s): Nabla's one-kernel ensemble vs a
//   hand-written OpenMP loop drawing the same random numbers (random::normal4_lanes), and vs vectorised NumPy
//   (baoab_numpy.py). (The issue names 2^20 × 1000 steps; 50 steps per call keep the short mode fast and leave
//   walker-steps/s unchanged: each call is one launch whose cost is linear in the steps.)
// - Stretch move (steps/s) on a 10-D Gaussian and emcee's 2-D Rosenbrock, 64-1024 walkers: Nabla vs emcee with
//   vectorize=True (stretch_emcee.py), same walkers, same steps per call.
// - The seed's perturbed ensembles (len 10, n 10, st 10) as context.
// The Python peers run through /usr/bin/python3 (Debian's numpy and emcee) and time themselves (interpreter
// start-up excluded); if their modules are missing the case is skipped with an error, not a crash.
#include "../bench_util.hpp"

#include <nabla/sampling.hpp>

#include <omp.h>

#include <cstdio>
#include <string>
#include <vector>

namespace {

namespace ns = nabla::sampling;

// ----------------------------------------------------------------------------------------------- BAOAB

ns::BAOABParams baoab_params() {
  ns::BAOABParams p;
  p.gamma = 1.0;
  p.kBT = 1.0;
  p.dt = 0.01;
  p.mass = 1.0;
  p.seed = 1;
  return p;
}

void alternate_wells(std::vector<double>& x) {
  for (std::size_t w = 0; w < x.size(); ++w) x[w] = w % 2 ? 2.0 : -2.0;
}

void BM_BAOAB_Nabla(benchmark::State& state) {
  const std::size_t W = std::size_t(1) << state.range(0), N = std::size_t(state.range(1));
  ns::LangevinState s = ns::make_state(W, 1, 0.0);
  std::vector<double> x(W);
  alternate_wells(x);
  auto h = Kokkos::create_mirror_view(s.x.view());
  for (std::size_t w = 0; w < W; ++w) h(w, 0) = x[w];
  Kokkos::deep_copy(s.x.view(), h);
  const ns::DoubleWell dw;
  const auto prm = baoab_params();
  nabla::bench::time_fenced(state, [&] { ns::baoab_advance(dw, prm, s, N); });
  state.SetItemsProcessed(state.iterations() * std::int64_t(W * N));
}

// The same dynamics as a hand-written OpenMP loop: same arithmetic, same random numbers, no Kokkos. Written as
// one would for a vectorising CPU, like Nabla's kernel: 16 walkers advance together in `omp simd` loops and draw
// their noise with random::normal4_lanes.
void BM_BAOAB_OpenMPLoop(benchmark::State& state) {
  constexpr int L = 16;
  const std::size_t W = std::size_t(1) << state.range(0), N = std::size_t(state.range(1));
  std::vector<double> x(W), v(W, 0.0);
  alternate_wells(x);
  const auto prm = baoab_params();
  const double a = 2.0, k = 1.0;
  const double h = 0.5 * prm.dt, hm = 0.5 * prm.dt / prm.mass, c1 = std::exp(-prm.gamma * prm.dt),
               c2 = std::sqrt((1.0 - std::exp(-2.0 * prm.gamma * prm.dt)) * prm.kBT / prm.mass);
  const nabla::random::Key key = nabla::random::key(prm.seed);
  std::uint64_t step0 = 0;
  double* xp = x.data();
  double* vp = v.data();
  auto body = [&] {
    const long groups = long(W / L);  // W is a power of two >= 16
#pragma omp parallel for schedule(static)
    for (long g = 0; g < groups; ++g) {
      std::uint32_t k0[L], k1[L];
      double q[L], p[L], f[L], z[4][L];
      for (int l = 0; l < L; ++l) {
        const std::size_t w = std::size_t(g) * L + std::size_t(l);
        const nabla::random::Block kb = nabla::random::bits(key, w, 0xf01d1au);
        k0[l] = kb[0];
        k1[l] = kb[1];
        q[l] = xp[w];
        p[l] = vp[w];
        f[l] = -k * q[l] * (q[l] - a) * (q[l] + a);
      }
      std::uint64_t i = step0;
      if (i & 3u) nabla::random::normal4_lanes<L>(k0, k1, i >> 2, z);
      for (std::size_t s = 0; s < N; ++s) {
#pragma omp simd
        for (int l = 0; l < L; ++l) {
          p[l] += hm * f[l];
          q[l] += h * p[l];
        }
        if ((i & 3u) == 0) nabla::random::normal4_lanes<L>(k0, k1, i >> 2, z);
        const int j = int((i++) & 3u);
#pragma omp simd
        for (int l = 0; l < L; ++l) {
          p[l] = c1 * p[l] + c2 * z[j][l];
          q[l] += h * p[l];
          f[l] = -k * q[l] * (q[l] - a) * (q[l] + a);
          p[l] += hm * f[l];
        }
      }
      for (int l = 0; l < L; ++l) {
        xp[std::size_t(g) * L + std::size_t(l)] = q[l];
        vp[std::size_t(g) * L + std::size_t(l)] = p[l];
      }
    }
    step0 += N;
  };
  body();
  for (auto _ : state) {
    const double t0 = omp_get_wtime();
    body();
    state.SetIterationTime(omp_get_wtime() - t0);
  }
  state.SetItemsProcessed(state.iterations() * std::int64_t(W * N));
}

// Runs a Python peer; returns its timing, or a negative value with `why` set when it cannot run.
double run_peer(const std::string& args, std::string& why) {
  const std::string cmd = "/usr/bin/python3 " + std::string(NABLA_SAMPLING_PEERS) + "/" + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) {
    why = "cannot start /usr/bin/python3";
    return -1;
  }
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  const int rc = ::pclose(p);
  if (rc != 0 || out.rfind("SKIP", 0) == 0 || out.empty()) {
    why = "python peer unavailable: " + out;
    return -1;
  }
  return std::stod(out);
}

void BM_BAOAB_NumPy(benchmark::State& state) {
  const std::size_t W = std::size_t(1) << state.range(0), N = std::size_t(state.range(1));
  for (auto _ : state) {
    std::string why;
    const double t = run_peer("baoab_numpy.py " + std::to_string(W) + " " + std::to_string(N), why);
    if (t < 0) {
      state.SkipWithError(why.c_str());
      return;
    }
    state.SetIterationTime(t);
  }
  state.SetItemsProcessed(state.iterations() * std::int64_t(W * N));
}

// ----------------------------------------------------------------------------------------------- stretch

struct Gauss10 {  // precisions 1/(i+1), as stretch_emcee.py
  Kokkos::Array<double, 10> ivar;
  Gauss10() {
    for (int i = 0; i < 10; ++i) ivar[i] = 1.0 / double(i + 1);
  }
  KOKKOS_INLINE_FUNCTION double operator()(const ns::WalkerPoint& x) const {
    double s = 0;
    for (int i = 0; i < 10; ++i) s += x[i] * x[i] * ivar[i];
    return -0.5 * s;
  }
};
struct Rosenbrock {
  KOKKOS_INLINE_FUNCTION double operator()(const ns::WalkerPoint& x) const {
    const double a = x[1] - x[0] * x[0], b = 1.0 - x[0];
    return -(100.0 * a * a + b * b) / 20.0;
  }
};

constexpr std::size_t kStretchSteps = 100;

template <class F>
void stretch_nabla(benchmark::State& state, std::size_t ndim) {
  const std::size_t W = std::size_t(state.range(1));
  ns::SamplerOptions opt;
  opt.seed = 1;
  ns::EnsembleSampler s(W, ndim, F{}, opt);
  nabla::Array<double, 2> x0({W, ndim});
  auto h = Kokkos::create_mirror_view(x0.view());
  const auto key = nabla::random::key(3);
  for (std::size_t w = 0; w < W; ++w)
    for (std::size_t d = 0; d < ndim; ++d) h(w, d) = 0.1 * nabla::random::normal_at<double>(key, w * ndim + d);
  Kokkos::deep_copy(x0.view(), h);
  s.run_mcmc(x0, 5);  // warm-up
  for (auto _ : state) {
    s.reset();
    Kokkos::fence();
    Kokkos::Timer timer;
    s.run_mcmc(x0, kStretchSteps);
    Kokkos::fence();
    state.SetIterationTime(timer.seconds());
  }
  state.SetItemsProcessed(state.iterations() * std::int64_t(kStretchSteps));
}

void BM_Stretch_Nabla(benchmark::State& state) {
  if (state.range(0) == 0)
    stretch_nabla<Gauss10>(state, 10);
  else
    stretch_nabla<Rosenbrock>(state, 2);
}

struct Gauss5 {
  KOKKOS_INLINE_FUNCTION double operator()(const ns::WalkerPoint& x) const {
    double s = 0;
    for (int i = 0; i < 5; ++i) s += x[i] * x[i] / double(i + 1);
    return -0.5 * s;
  }
};

// A whole run as a user starts it (perf/main.cpp's --busy mode times it against a competing process): a
// sampler made, 32 walkers on a 5-D Gaussian, 20 000 steps.
void BM_SamplerRun(benchmark::State& state) {
  constexpr std::size_t W = 32, D = 5, steps = 20000;
  const auto x0 = ns::gaussian_ball(std::vector<double>(D, 0.0), 0.1, W, 3);
  double acc = 0;
  nabla::bench::time_fenced(state, [&] {
    ns::SamplerOptions opt;
    opt.seed = 1;
    ns::EnsembleSampler s(W, D, Gauss5{}, opt);
    s.run_mcmc(x0, steps);
    acc += s.mean_acceptance_fraction();
  });
  benchmark::DoNotOptimize(acc);
  state.SetItemsProcessed(state.iterations() * std::int64_t(steps));
}

void BM_Stretch_Emcee(benchmark::State& state) {
  const std::string target = state.range(0) == 0 ? "gauss10" : "rosenbrock";
  for (auto _ : state) {
    std::string why;
    const double t = run_peer("stretch_emcee.py " + target + " " + std::to_string(state.range(1)) + " " +
                                  std::to_string(kStretchSteps),
                              why);
    if (t < 0) {
      state.SkipWithError(why.c_str());
      return;
    }
    state.SetIterationTime(t);
  }
  state.SetItemsProcessed(state.iterations() * std::int64_t(kStretchSteps));
}

// ----------------------------------------------------------------------------------- perturbed ensembles

// The seed's baoab_ensemble parameters (len 10, n 10, st 10) on the saved points of a trajectory; context only.
void BM_PerturbedEnsembles(benchmark::State& state) {
  const std::size_t points = std::size_t(state.range(0));
  const ns::DoubleWell dw;
  const auto prm = baoab_params();
  ns::LangevinState s = ns::make_state(1, 1, 2.0);
  const ns::Trajectory t = ns::baoab(dw, prm, s, points * 10 * 10, 10);
  ns::PerturbationOptions opt;
  nabla::bench::time_fenced(state, [&] { benchmark::DoNotOptimize(ns::perturbed_ensembles(dw, prm, t, opt)); });
  state.SetItemsProcessed(state.iterations() * std::int64_t(points * opt.copies * opt.len));
}

}  // namespace

BENCHMARK(BM_BAOAB_Nabla)->Args({20, 50})->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_BAOAB_OpenMPLoop)->Args({20, 50})->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_BAOAB_NumPy)->Args({20, 50})->UseManualTime()->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Stretch_Nabla)
    ->ArgsProduct({{0, 1}, {64, 256, 1024}})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SamplerRun)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Stretch_Emcee)
    ->ArgsProduct({{0, 1}, {64, 256, 1024}})
    ->UseManualTime()
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PerturbedEnsembles)->Arg(10000)->UseManualTime()->Unit(benchmark::kMillisecond);
