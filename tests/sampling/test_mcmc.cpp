// Ensemble MCMC: moments of a correlated 5-D Gaussian and of the Rosenbrock density (tolerances from the
// effective sample size N / τ), the DE move, batched vs per-walker log_prob, -inf rejection, NaN and size
// errors, emcee's chain slicing, and the autocorrelation time of an AR(1) series.
#include "targets.hpp"

#include <nabla/core/tasks.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <typeinfo>
#include <vector>

#include <sys/resource.h>

#if defined(KOKKOS_ENABLE_OPENMP)
#include "common/thread_count.hpp"
#endif

namespace ns = nabla::sampling;
using nabla_test::Gaussian5;
using nabla_test::Rosenbrock;

namespace {

struct Moments {
  std::vector<double> mean, cov;  // cov row-major D × D
};
Moments moments(const ns::HostArray<double, 2>& flat) {
  const std::size_t N = flat.extent(0), D = flat.extent(1);
  Moments m{std::vector<double>(D, 0.0), std::vector<double>(D * D, 0.0)};
  for (std::size_t i = 0; i < N; ++i)
    for (std::size_t d = 0; d < D; ++d) m.mean[d] += flat.view()(i, d) / double(N);
  for (std::size_t i = 0; i < N; ++i)
    for (std::size_t a = 0; a < D; ++a)
      for (std::size_t b = 0; b < D; ++b)
        m.cov[a * D + b] += (flat.view()(i, a) - m.mean[a]) * (flat.view()(i, b) - m.mean[b]) / double(N);
  return m;
}

double max_of(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, x);
  return m;
}

// Checks mean and covariance of a Gaussian run against Σ, with 5-sigma tolerances from N_eff = N / τ_max:
// SE(mean_i) = sqrt(Σ_ii / N_eff), SE(cov_ij) = sqrt((Σ_ii Σ_jj + Σ_ij²) / N_eff).
void check_gaussian(const ns::EnsembleSampler& s, std::size_t discard) {
  const auto tau = s.get_autocorr_time(discard, 1, 5.0, 50.0, true);
  const auto flat = s.get_chain(ns::flat, 1, discard);
  const double neff = double(flat.extent(0)) / max_of(tau);
  const auto m = moments(flat);
  const auto C = Gaussian5::covariance();
  for (int i = 0; i < 5; ++i) {
    EXPECT_NEAR(m.mean[i], 0.0, 5 * std::sqrt(C[i * 5 + i] / neff)) << "mean " << i << ", tau " << max_of(tau);
    for (int j = 0; j < 5; ++j)
      EXPECT_NEAR(m.cov[i * 5 + j], C[i * 5 + j],
                  5 * std::sqrt((C[i * 5 + i] * C[j * 5 + j] + C[i * 5 + j] * C[i * 5 + j]) / neff))
          << "cov " << i << "," << j;
  }
}

struct BoxUniform {  // uniform on [0, 1]², -inf outside
  KOKKOS_INLINE_FUNCTION double operator()(const ns::WalkerPoint& x) const {
    for (int i = 0; i < x.size(); ++i)
      if (x[i] < 0.0 || x[i] > 1.0) return -INFINITY;
    return 0.0;
  }
};

struct NaNPastHalf {
  KOKKOS_INLINE_FUNCTION double operator()(const ns::WalkerPoint& x) const {
    return x[0] > 0.5 ? NAN : -0.5 * x[0] * x[0];
  }
};

}  // namespace

TEST(SamplingMCMC, CorrelatedGaussianStretch) {
  ns::SamplerOptions opt;
  opt.seed = 42;
  ns::EnsembleSampler s(32, 5, Gaussian5{}, opt);
  s.run_mcmc(nabla_test::initial_state(32, 5, 1), 6000);
  EXPECT_EQ(s.iteration(), 6000u);
  const double acc = s.mean_acceptance_fraction();
  EXPECT_GT(acc, 0.2);
  EXPECT_LT(acc, 0.8);
  check_gaussian(s, 1000);
}

TEST(SamplingMCMC, CorrelatedGaussianDEMix) {
  ns::SamplerOptions opt;
  opt.seed = 7;
  opt.moves = {ns::WeightedMove{ns::DEMove{}, 0.8}, ns::WeightedMove{ns::StretchMove{}, 0.2}};
  ns::EnsembleSampler s(33, 5, Gaussian5{}, opt);  // odd count: uneven sub-ensembles
  s.run_mcmc(nabla_test::initial_state(33, 5, 2), 6000);
  check_gaussian(s, 1000);
}

// Every move of moves.hpp, alone and with a random split, samples the correlated Gaussian (mean and covariance
// within 5 sigma of N_eff = N / τ_max); so does a mixture of all of them. 33 walkers: uneven sub-ensembles.
struct MoveCase {
  const char* name;
  std::vector<ns::WeightedMove> moves;
  bool randomize;
  std::size_t steps;
};
class SamplingMoves : public ::testing::TestWithParam<MoveCase> {};

TEST_P(SamplingMoves, CorrelatedGaussianMoments) {
  const MoveCase& c = GetParam();
  ns::SamplerOptions opt;
  opt.seed = 11;
  opt.moves = c.moves;
  opt.randomize_split = c.randomize;
  ns::EnsembleSampler s(33, 5, Gaussian5{}, opt);
  s.run_mcmc(nabla_test::initial_state(33, 5, 2), c.steps);
  const double acc = s.mean_acceptance_fraction();
  EXPECT_GT(acc, 0.05) << c.name;
  EXPECT_LT(acc, 0.95) << c.name;
  check_gaussian(s, c.steps / 6);
}

std::vector<double> scaled_covariance(double f, bool diagonal) {
  const auto C = Gaussian5::covariance();
  std::vector<double> v;
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 5; ++j)
      if (!diagonal || i == j) v.push_back(f * C[i * 5 + j]);
  return v;
}

INSTANTIATE_TEST_SUITE_P(
    All, SamplingMoves,
    ::testing::Values(
        MoveCase{"walk", {{ns::WalkMove{}, 1.0}}, false, 4000}, MoveCase{"walk_s8", {{ns::WalkMove{8}, 1.0}}, true, 4000},
        MoveCase{"snooker", {{ns::DESnookerMove{}, 1.0}}, false, 6000},
        MoveCase{"snooker_random", {{ns::DESnookerMove{}, 1.0}}, true, 6000},
        MoveCase{"gaussian_isotropic", {{ns::GaussianMove{{1.0}}, 1.0}}, false, 8000},
        MoveCase{"gaussian_diagonal", {{ns::GaussianMove{scaled_covariance(0.5, true)}, 1.0}}, false, 8000},
        MoveCase{"gaussian_general", {{ns::GaussianMove{scaled_covariance(0.5, false)}, 1.0}}, false, 8000},
        MoveCase{"stretch_random", {{ns::StretchMove{}, 1.0}}, true, 6000},
        MoveCase{"de_random", {{ns::DEMove{}, 1.0}}, true, 6000},
        MoveCase{"all",
                 {{ns::StretchMove{}, 1.0}, {ns::DEMove{}, 1.0}, {ns::WalkMove{}, 1.0}, {ns::DESnookerMove{}, 1.0},
                  {ns::GaussianMove{{0.5}}, 1.0}},
                 true, 6000}),
    [](const ::testing::TestParamInfo<MoveCase>& i) { return std::string(i.param.name); });

// Rosenbrock (emcee's example density): x1 ~ N(1, 10), E x2 = 11. Tolerances 5 sigma with N_eff = N / τ.
TEST(SamplingMCMC, RosenbrockMoments) {
  ns::SamplerOptions opt;
  opt.seed = 3;
  ns::EnsembleSampler s(64, 2, Rosenbrock{}, opt);
  s.run_mcmc(nabla_test::initial_state(64, 2, 4, 1.0, 1.0), 20000);
  const std::size_t discard = 2000;
  const auto tau = s.get_autocorr_time(discard, 1, 5.0, 50.0, true);
  const auto flat = s.get_chain(ns::flat, 1, discard);
  const double neff = double(flat.extent(0)) / max_of(tau);
  const auto m = moments(flat);
  EXPECT_NEAR(m.mean[0], 1.0, 5 * std::sqrt(10.0 / neff)) << "tau " << tau[0] << " " << tau[1];
  EXPECT_NEAR(m.cov[0], 10.0, 5 * 10.0 * std::sqrt(2.0 / neff));
  EXPECT_NEAR(m.mean[1], 11.0, 5 * std::sqrt(240.1 / neff));
}

// A batched host callable computing the same arithmetic gives the bit-identical chain.
TEST(SamplingMCMC, BatchedEqualsPerWalker) {
  ns::SamplerOptions opt;
  opt.seed = 9;
  ns::EnsembleSampler a(16, 5, Gaussian5{}, opt);
  const auto per_walker = nabla_test::batched(Gaussian5{});
  std::size_t calls = 0;
  ns::EnsembleSampler b(
      16, 5,
      [&](const nabla::Array<double, 2>& x, nabla::Array<double, 1>& lp) {
        ++calls;
        per_walker(x, lp);
      },
      opt);
  const auto x0 = nabla_test::initial_state(16, 5, 5);
  a.run_mcmc(x0, 50);
  b.run_mcmc(x0, 50);
  EXPECT_EQ(calls, 1u + 2 * 50) << "one call for the initial state, one per half-ensemble per step";
  const auto ca = a.get_chain(), cb = b.get_chain();
  for (std::size_t i = 0; i < ca.size(); ++i) ASSERT_EQ(ca.data()[i], cb.data()[i]);
  const auto la = a.get_log_prob(ns::flat), lb = b.get_log_prob(ns::flat);
  for (std::size_t i = 0; i < la.size(); ++i) ASSERT_EQ(la.data()[i], lb.data()[i]);
}

// Blocks of steps in one launch (a per-walker functor on one rank) give the chain of one launch per half-step
// (a batched callable doing the same arithmetic on the host), for any block length, with the moves drawn per
// step (stretch and DE; all five; all five with a random split), odd ensembles (one group of walkers per
// half-step, and several, whose chain rows are recorded group by group), and a run resumed in pieces; so does the shape of the launches, which the first pieces try out in
// turn (one thread, every thread, two pipelined).
TEST(SamplingMCMC, BlocksOfStepsEqualHalfStepLaunches) {
  const auto batched = nabla_test::batched(Gaussian5{});
  ns::SamplerOptions opt;
  opt.seed = 21;
  const std::vector<ns::WeightedMove> two = {{ns::StretchMove{}, 0.6}, {ns::DEMove{}, 0.4}};
  const std::vector<ns::WeightedMove> all = {{ns::StretchMove{}, 1.0},
                                             {ns::DEMove{}, 1.0},
                                             {ns::WalkMove{5}, 1.0},
                                             {ns::DESnookerMove{}, 1.0},
                                             {ns::GaussianMove{{0.3}}, 1.0}};
  constexpr std::size_t D = 5;
  for (int set = 0; set < 3; ++set) {
    for (std::size_t W : {23, 101}) {
      opt.moves = set == 0 ? two : all;
      opt.randomize_split = set == 2;
      opt.steps_per_launch = 0;
      const auto x0 = nabla_test::initial_state(W, D, 4);
      ns::EnsembleSampler ref(W, D, batched, opt);
      ref.run_mcmc(x0, 40);
      const auto c_ref = ref.get_chain();
      const auto l_ref = ref.get_log_prob(ns::flat);
      for (std::size_t per_launch : {0, 1, 7}) {
        opt.steps_per_launch = per_launch;
        ns::EnsembleSampler s(W, D, Gaussian5{}, opt);
        s.run_mcmc(x0, 3);
        for (std::size_t n : {5, 11, 13, 8}) s.run_mcmc(n);
        ASSERT_EQ(s.iteration(), 40u);
        const auto c = s.get_chain();
        const auto l = s.get_log_prob(ns::flat);
        for (std::size_t i = 0; i < c.size(); ++i)
          ASSERT_EQ(c.data()[i], c_ref.data()[i])
              << "move set " << set << ", " << W << " walkers, steps per launch " << per_launch << ", element " << i;
        for (std::size_t i = 0; i < l.size(); ++i)
          ASSERT_EQ(l.data()[i], l_ref.data()[i]) << set << " " << W << " " << per_launch;
        EXPECT_EQ(s.acceptance_fraction(), ref.acceptance_fraction()) << set << " " << W << " " << per_launch;
      }
    }
  }
}

// The shape of block launches follows whichever option ran the recent blocks faster, is not swayed by one
// preempted block nor by a short lucky one, and re-tries the others at a bounded cost: about 1/explore_every of
// the time each, however slow they became (a team on a machine whose cores another process takes runs 10-100x
// slower, except in a block short enough to pass inside one scheduler slice).
TEST(SamplingMCMC, TeamTunerFollowsTheFasterOption) {
  using T = ns::impl::TeamTuner;
  constexpr std::size_t per_launch = 1000;
  T one(1);
  for (int b = 0; b < 40; ++b) {
    ASSERT_EQ(one.next(), 0);
    ASSERT_EQ(one.steps(per_launch), per_launch);
    one.record(0, 1.0, per_launch);
  }
  T t(2);
  std::vector<double> cost = {2.0, 1.0};  // seconds per step of option 0 (one thread) and 1 (a team)
  std::vector<int> picks;
  std::vector<std::size_t> lengths;
  const auto run = [&](T& tuner, std::size_t blocks) {
    picks.clear();
    lengths.clear();
    for (std::size_t b = 0; b < blocks; ++b) {
      const int option = tuner.next();
      ASSERT_TRUE(option >= 0 && option < tuner.options()) << option;
      const std::size_t n = tuner.steps(per_launch);
      ASSERT_TRUE(n >= 1 && n <= per_launch) << n;
      picks.push_back(option);
      lengths.push_back(n);
      tuner.record(option, cost[std::size_t(option)], n);
    }
  };
  const auto count = [&](int option, std::size_t from = 0) {
    return std::count(picks.begin() + std::ptrdiff_t(from), picks.end(), option);
  };
  // Time spent on `option` in the last run, as a fraction of all.
  const auto share = [&](int option) {
    double on = 0, all = 0;
    for (std::size_t b = 0; b < picks.size(); ++b) {
      const double s = cost[std::size_t(picks[b])] * double(lengths[b]);
      all += s;
      if (picks[b] == option) on += s;
    }
    return on / all;
  };
  // One thread first: a short first block, then longer ones, until `window` of them tell its cost.
  EXPECT_EQ(t.steps(per_launch), T::first_steps);
  run(t, T::window);
  EXPECT_EQ(count(0), T::window);
  for (std::size_t b = 0, n = T::first_steps; b < T::window; n = std::max(T::probe_steps, T::grow * n), ++b)
    EXPECT_EQ(lengths[b], n) << b;
  // Steps of 2 s are worth a team: its first block is a probe.
  run(t, 1);
  EXPECT_EQ(count(1), 1);
  EXPECT_EQ(lengths[0], T::probe_steps);
  // The team is faster: its blocks grow from its last by `grow` up to whole launches.
  run(t, 8);
  EXPECT_EQ(count(1), 8);
  for (std::size_t b = 0, n = T::probe_steps; b < 8; ++b) {
    n = std::min(per_launch, std::max(T::probe_steps, T::grow * n));
    EXPECT_EQ(lengths[b], n) << b;
  }
  EXPECT_EQ(t.steps(per_launch), per_launch);
  // Option 0 loses by 2x: one turn in 2 * explore_every blocks.
  run(t, 8 * T::explore_every);
  EXPECT_EQ(count(0), 4);
  EXPECT_LE(share(0), 1.0 / T::explore_every);
  while (t.next() != 0) t.record(1, cost[1], t.steps(per_launch));
  EXPECT_EQ(t.steps(per_launch), T::probe_steps);  // the other's turn is a probe
  t.record(0, cost[0], T::probe_steps);
  EXPECT_EQ(t.estimate(1), 1.0);
  // A preempted team block (100x slower) changes nothing.
  t.record(1, 100.0, per_launch);
  EXPECT_EQ(t.estimate(1), 1.0);
  // A turn of one thread faster than its history replaces it; blocks at its real cost bring the team back.
  t.record(0, 0.01, T::probe_steps);
  EXPECT_EQ(t.estimate(0), 0.01);
  EXPECT_EQ(t.fastest(), 0);
  run(t, 2 * T::explore_every);
  EXPECT_EQ(t.estimate(0), 2.0);
  EXPECT_EQ(t.fastest(), 1);
  EXPECT_LE(share(0), 2.0 / T::explore_every);
  // The machine gets busy and the team now takes 100x one thread's time: it runs at most window / 2 + 1 more
  // blocks, and then its turns cost about 1/explore_every of the time.
  cost[1] = 200.0;
  run(t, T::window);
  EXPECT_LE(count(1), T::window / 2 + 1);
  run(t, 100 * T::explore_every);
  EXPECT_LE(share(1), 1.5 / T::explore_every);
  EXPECT_GE(count(1), 1);  // still tried
  // A turn of the team that passes inside a scheduler slice looks fast: it buys a block `grow` times as long,
  // whose real cost outweighs the probe, not a whole launch.
  while (t.next() != 1) t.record(0, cost[0], t.steps(per_launch));
  ASSERT_EQ(t.steps(per_launch), T::probe_steps);
  t.record(1, 0.5, T::probe_steps);
  ASSERT_EQ(t.fastest(), 1);
  EXPECT_EQ(t.steps(per_launch), T::grow * T::probe_steps);
  t.record(1, cost[1], T::grow * T::probe_steps);
  EXPECT_EQ(t.estimate(1), cost[1]);
  EXPECT_EQ(t.fastest(), 0);
  // Quiet again: the team wins back at its next turn (one exploration period of a 100x slower option).
  cost[1] = 1.0;
  run(t, 120 * T::explore_every);
  EXPECT_LE(std::find(picks.begin(), picks.end(), 1) - picks.begin(), 100 * T::explore_every);
  EXPECT_EQ(count(0, 110 * T::explore_every), 5);  // the last 10 periods: one thread only on its turns
  // Three options (one thread, a team, two pipelined): the fastest runs, the others take their turns.
  T three(3);
  cost = {2.0, 1.5, 1.0};
  run(three, T::window + 2);
  EXPECT_EQ(count(0), T::window);
  for (int o = 1; o < 3; ++o) EXPECT_EQ(count(o), 1) << o;
  run(three, 12 * T::explore_every);
  EXPECT_EQ(count(0), 6);
  EXPECT_EQ(count(1), 8);
  EXPECT_LE(share(0) + share(1), 2.0 / T::explore_every);
}

// Steps shorter than team_worth stay on one thread: a team's barriers would cost more than sharing the step
// saves, and where another process takes a core, a team's first block alone costs a scheduler slice. A machine
// that slows one thread down past it, or longer steps, bring the others in.
TEST(SamplingMCMC, TeamTunerTriesTeamsOnlyForStepsWorthIt) {
  using T = ns::impl::TeamTuner;
  T t(3);
  for (int b = 0; b < 10 * T::explore_every; ++b) {
    ASSERT_EQ(t.next(), 0) << b;
    t.record(0, T::team_worth / 2, t.steps(1000));
  }
  EXPECT_FALSE(t.tried(1));
  EXPECT_FALSE(t.tried(2));
  EXPECT_EQ(t.fastest(), 0);
  for (int b = 0; b < T::window / 2 + 1; ++b) t.record(0, 4 * T::team_worth, 1000);
  EXPECT_EQ(t.next(), 1);
  EXPECT_EQ(t.steps(1000), T::probe_steps);
  t.record(1, T::team_worth, T::probe_steps);
  EXPECT_EQ(t.next(), 2);
  // A threshold of 0 tries every option once one thread's first blocks are in.
  T any(2, 0.0);
  for (int b = 0; b < T::window; ++b) {
    ASSERT_EQ(any.next(), 0) << b;
    any.record(0, 1e-9, any.steps(1000));
  }
  EXPECT_EQ(any.next(), 1);
}

// One slow block (a first launch that woke the pool's sleeping threads, a preemption) does not keep an option
// away for long: until its blocks show it, its next turn waits one exploration period, not its ratio's worth.
TEST(SamplingMCMC, TeamTunerRetriesAnOptionAfterOneSlowBlock) {
  using T = ns::impl::TeamTuner;
  T t(2);
  while (!t.tried(1)) {
    const int o = t.next();
    t.record(o, o == 0 ? 2.0 : 1000.0, t.steps(1000));
  }
  EXPECT_EQ(t.fastest(), 0);
  std::size_t blocks = 0;
  while (t.next() != 1 && blocks <= std::size_t(T::explore_every)) t.record(0, 2.0, t.steps(1000)), ++blocks;
  EXPECT_LE(blocks, std::size_t(T::explore_every));
  t.record(1, 1.0, t.steps(1000));
  EXPECT_EQ(t.fastest(), 1);
}

// The memory backend's rows: a run fills them with stores around the caches, and on 4 KiB pages a short run
// spent most of its time in their page faults. Large ones start on a 2 MiB boundary and, where the kernel offers
// transparent huge pages, take a fault per 2 MiB (none where the allocator hands back memory already touched);
// small ones start on a cache line.
TEST(SamplingMCMC, LargeChainRowsFillWithFewPageFaults) {
  constexpr std::size_t huge = std::size_t(2) << 20, big = 8 * huge, small = 1000;
  void* p = ns::impl::rows_allocate(big);
  void* q = ns::impl::rows_allocate(small);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % huge, 0u);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(q) % 64, 0u);
  std::string thp;
  std::getline(std::ifstream("/sys/kernel/mm/transparent_hugepage/enabled"), thp);
  rusage before{}, after{};
  getrusage(RUSAGE_THREAD, &before);
  std::memset(p, 1, big);
  getrusage(RUSAGE_THREAD, &after);
  EXPECT_EQ(static_cast<const unsigned char*>(p)[big - 1], 1);
  std::memset(q, 1, small);
  // AddressSanitizer's shadow (an eighth of every byte written, kept off huge pages) faults on 4 KiB pages of its
  // own, so there only the alignments are checked.
  constexpr bool shadowed =
#if defined(__SANITIZE_ADDRESS__)
      true;
#else
      false;
#endif
  // Under half the small-page count: where physical memory is fragmented the kernel backs some 2 MiB ranges with
  // small pages after all (one of the eight here after a day of experiments: 517 faults), and without the advice
  // every page faults.
  if (!shadowed && (thp.find("[always]") != std::string::npos || thp.find("[madvise]") != std::string::npos))
    EXPECT_LT(after.ru_minflt - before.ru_minflt, long(big / 4096 / 2))
        << "page faults filling " << big << " bytes (4 KiB pages: " << big / 4096 << "); transparent huge pages: " << thp;
  ns::impl::rows_free(p, big);
  ns::impl::rows_free(q, small);
}

// What a tuner learned is kept per kind of launch: a sampler made after another of the same kind starts where it
// left off (no first blocks), one of another kind afresh.
TEST(SamplingMCMC, TeamTunerIsRecalledByKind) {
  using T = ns::impl::TeamTuner;
  T::Key a;
  a.log_prob_type = typeid(BoxUniform).hash_code();
  a.nwalkers = 7919;  // no sampler of the other tests has this many walkers
  a.ndim = 3;
  a.largest_split = 3960;
  a.team = 2;
  a.options = 2;
  T t = T::recall(a);
  EXPECT_EQ(t.options(), 2);
  EXPECT_EQ(t.next(), 0);
  EXPECT_EQ(t.steps(100), T::first_steps);
  t.record(0, 3.0, 2);
  t.record(1, 1.0, 2);
  T::keep(a, t);
  const T again = T::recall(a);
  EXPECT_EQ(again.fastest(), 1);
  EXPECT_EQ(again.estimate(0), 3.0);
  EXPECT_EQ(again.next(), 1);
  EXPECT_EQ(again.steps(100), T::grow * 2);
  T::Key b = a;
  b.ndim = 4;
  EXPECT_EQ(T::recall(b).steps(100), T::first_steps);
  b = a;
  b.log_prob_type = typeid(int).hash_code();
  EXPECT_EQ(T::recall(b).estimate(0), 0.0);
  // The newest keep wins.
  t.record(0, 0.5, 8);
  T::keep(a, t);
  EXPECT_EQ(T::recall(a).fastest(), 0);
}

TEST(SamplingMCMC, MinusInfinityRejects) {
  ns::SamplerOptions opt;
  opt.seed = 1;
  ns::EnsembleSampler s(16, 2, BoxUniform{}, opt);
  s.run_mcmc(nabla_test::initial_state(16, 2, 6, 0.05, 0.5), 4000);
  const auto flat = s.get_chain(ns::flat, 1, 200);
  for (std::size_t i = 0; i < flat.size(); ++i) {
    ASSERT_GE(flat.data()[i], 0.0);
    ASSERT_LE(flat.data()[i], 1.0);
  }
  // Uniform on the box: mean 1/2, var 1/12, 5 sigma with N_eff = N / τ.
  const auto tau = s.get_autocorr_time(200, 1, 5.0, 50.0, true);
  const double neff = double(flat.extent(0)) / max_of(tau);
  const auto m = moments(flat);
  EXPECT_NEAR(m.mean[0], 0.5, 5 * std::sqrt(1.0 / 12 / neff));
  EXPECT_NEAR(m.cov[3], 1.0 / 12, 5 * std::sqrt(1.0 / 180 / neff));  // SE of the variance: Var((x-1/2)²) = 1/180
}

TEST(SamplingMCMC, Errors) {
  // emcee requires nwalkers >= 2 ndim for the red-blue moves.
  try {
    ns::EnsembleSampler s(8, 5, Gaussian5{});
    ADD_FAILURE() << "no error for 8 walkers in 5-D";
  } catch (const nabla::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("2 x ndim = 10"), std::string::npos) << e.what();
  }
  ns::SamplerOptions dangerous;
  dangerous.live_dangerously = true;
  EXPECT_NO_THROW(ns::EnsembleSampler(8, 5, Gaussian5{}, dangerous));
  EXPECT_THROW(ns::EnsembleSampler(0, 1, Gaussian5{}), nabla::ValueError);
  EXPECT_THROW(ns::EnsembleSampler(4, 0, Gaussian5{}), nabla::ValueError);
  ns::SamplerOptions badmove;
  badmove.moves = {ns::WeightedMove{ns::StretchMove{0.5}, 1.0}};
  EXPECT_THROW(ns::EnsembleSampler(16, 2, Gaussian5{}, badmove), nabla::ValueError);
  badmove.moves = {ns::WeightedMove{ns::StretchMove{}, -1.0}};
  EXPECT_THROW(ns::EnsembleSampler(16, 2, Gaussian5{}, badmove), nabla::ValueError);
  // Each move checks its parameters and names the problem.
  const auto error_of = [](ns::Move m, std::size_t W, std::size_t D) {
    ns::SamplerOptions o;
    o.moves = {ns::WeightedMove{m, 1.0}};
    try {
      ns::EnsembleSampler s(W, D, Gaussian5{}, o);
    } catch (const nabla::ValueError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error_of(ns::WalkMove{1}, 16, 2).find("2 <= s <= 8"), std::string::npos) << error_of(ns::WalkMove{1}, 16, 2);
  EXPECT_NE(error_of(ns::WalkMove{9}, 16, 2).find("got 9"), std::string::npos);
  EXPECT_NE(error_of(ns::DESnookerMove{-1.0}, 16, 2).find("gammas > 0"), std::string::npos);
  EXPECT_NE(error_of(ns::GaussianMove{{1.0, 2.0, 3.0}}, 16, 2).find("has 3 entries"), std::string::npos);
  EXPECT_NE(error_of(ns::GaussianMove{{1.0, 0.5, 0.4, 1.0}}, 16, 2).find("not symmetric"), std::string::npos);
  EXPECT_NE(error_of(ns::GaussianMove{{1.0, 2.0, 2.0, 1.0}}, 16, 2).find("not positive definite"), std::string::npos);
  EXPECT_NE(error_of(ns::GaussianMove{{1.0, -1.0}}, 16, 2).find("variances > 0"), std::string::npos);
  EXPECT_EQ(error_of(ns::GaussianMove{{1.0, 0.5, 0.5, 1.0}}, 16, 2), "no error");

  ns::EnsembleSampler s(16, 5, Gaussian5{});
  EXPECT_THROW(s.run_mcmc(nabla_test::initial_state(15, 5, 1), 10), nabla::ShapeError);
  EXPECT_THROW(s.run_mcmc(10), nabla::ValueError);  // nothing to resume from
  EXPECT_THROW(s.get_chain(), nabla::ValueError);   // nothing stored yet

  // NaN from log_prob: the error names the step, the walker and its parameters (the proposal, beyond 0.5), and
  // every step before it is kept, also when the NaN comes in the middle of a block of steps in one launch.
  for (std::size_t per_launch : {0, 1}) {
    ns::SamplerOptions o;
    o.seed = 5;
    o.steps_per_launch = per_launch;
    ns::EnsembleSampler n(16, 1, NaNPastHalf{}, o);
    try {
      n.run_mcmc(nabla_test::initial_state(16, 1, 3, 0.01, 0.0), 1000);
      ADD_FAILURE() << "no error for NaN";
    } catch (const nabla::ValueError& e) {
      const std::string m = e.what();
      const std::size_t at = m.find("NaN at step "), walker = m.find(" for walker "), par = m.find("at parameters [");
      ASSERT_TRUE(at != std::string::npos && walker != std::string::npos && par != std::string::npos) << m;
      const std::size_t step = std::stoul(m.substr(at + 12));
      EXPECT_GT(step, 0u) << m;
      EXPECT_EQ(n.iteration(), step) << m;
      EXPECT_LT(std::stoul(m.substr(walker + 12)), 16u) << m;
      EXPECT_GT(std::stod(m.substr(par + 15)), 0.5) << m;
    }
  }
  ns::SamplerOptions o;
  o.seed = 5;
  ns::EnsembleSampler m(16, 1, NaNPastHalf{}, o);
  EXPECT_THROW(m.run_mcmc(nabla_test::initial_state(16, 1, 3, 0.01, 1.0), 10), nabla::ValueError);  // initial NaN
}

// The memory backend: run settings are kept with the chain and checked on resume as in a file; a run that cannot
// fit in memory fails at once, naming its sizes (before: std::length_error or std::bad_alloc from reserve); steps
// outside the chain are refused.
TEST(SamplingMCMC, MemoryBackendSettingsAndSizes) {
  auto backend = std::make_shared<ns::MemoryBackend>();
  ns::SamplerOptions o;
  o.seed = 3;
  o.backend = backend;
  o.settings = {{"points", "100"}, {"sigma", "0.05"}};
  ns::EnsembleSampler s(16, 5, Gaussian5{}, o);
  s.run_mcmc(nabla_test::initial_state(16, 5, 1), 4);
  EXPECT_EQ(backend->settings(), o.settings);
  EXPECT_NO_THROW(ns::EnsembleSampler(16, 5, Gaussian5{}, o).run_mcmc(2));
  EXPECT_EQ(backend->iteration(), 6u);
  o.settings["sigma"] = "0.1";
  try {
    ns::EnsembleSampler r(16, 5, Gaussian5{}, o);
    ADD_FAILURE() << "no error";
  } catch (const nabla::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("memory backend was written with sigma = 0.05; this run has sigma = 0.1"),
              std::string::npos)
        << e.what();
  }
  try {
    backend->set_settings(o.settings);
    ADD_FAILURE() << "no error";
  } catch (const nabla::ValueError& e) {  // the chain has steps
    EXPECT_NE(std::string(e.what()).find("the chain holds 6 steps; set the settings while the chain is empty"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(ns::settings_hash({{"a", "b"}}), ns::settings_hash({{"a", "b"}}));
  EXPECT_NE(ns::settings_hash({{"a", "b"}}), ns::settings_hash({{"a", "c"}}));
  EXPECT_NE(ns::settings_hash({{"ab", ""}}), ns::settings_hash({{"a", "b"}}));
  for (const std::size_t steps : {std::size_t(1) << 61, std::size_t(-1)}) {
    try {
      s.run_mcmc(steps);
      ADD_FAILURE() << "no error for " << steps << " steps";
    } catch (const nabla::ValueError& e) {
      EXPECT_NE(std::string(e.what()).find(std::to_string(steps) + " steps of 16 walkers x 5 dims need "),
                std::string::npos)
          << e.what();
    }
  }
  EXPECT_EQ(s.iteration(), 6u);
  EXPECT_THROW(backend->read_chain(5, 2), nabla::ValueError);
  EXPECT_EQ(backend->read_log_prob(5, 1).size(), 16u);
}

// get_chain / get_log_prob slice as emcee: rows discard + thin - 1, + thin, ... < iteration.
TEST(SamplingMCMC, ChainSlicingAsEmcee) {
  ns::EnsembleSampler s(10, 2, Rosenbrock{});
  s.run_mcmc(nabla_test::initial_state(10, 2, 8), 10);
  const auto all = s.get_chain();
  ASSERT_EQ(all.extent(0), 10u);
  ASSERT_EQ(all.extent(1), 10u);
  ASSERT_EQ(all.extent(2), 2u);
  const auto part = s.get_chain(3, 2);  // rows 4, 7
  ASSERT_EQ(part.extent(0), 2u);
  for (std::size_t w = 0; w < 10; ++w)
    for (std::size_t d = 0; d < 2; ++d) {
      EXPECT_EQ(part.view()(0, w, d), all.view()(4, w, d));
      EXPECT_EQ(part.view()(1, w, d), all.view()(7, w, d));
    }
  const auto flat = s.get_chain(ns::flat, 3, 2);
  ASSERT_EQ(flat.extent(0), 20u);
  EXPECT_EQ(flat.view()(13, 1), all.view()(7, 3, 1));
  const auto lp = s.get_log_prob(3, 2);
  const auto lpa = s.get_log_prob();
  EXPECT_EQ(lp.view()(1, 9), lpa.view()(7, 9));
  EXPECT_EQ(s.get_chain(1, 10).extent(0), 0u);
  EXPECT_THROW(s.get_chain(0, 0), nabla::ValueError);
  // log_prob agrees with the stored positions.
  const Rosenbrock r;
  for (std::size_t t = 0; t < 10; ++t)
    for (std::size_t w = 0; w < 10; ++w) {
      const double x[2] = {all.view()(t, w, 0), all.view()(t, w, 1)};
      EXPECT_EQ(lpa.view()(t, w), r(x));
    }
  const auto af = s.acceptance_fraction();
  ASSERT_EQ(af.size(), 10u);
  for (double a : af) {
    EXPECT_GE(a, 0.0);
    EXPECT_LE(a, 1.0);
  }
  // Continuing appends.
  s.run_mcmc(5);
  EXPECT_EQ(s.iteration(), 15u);
  // emcee's idiom for initial walkers.
  const auto ball = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), ns::gaussian_ball({1.0, -2.0}, 1e-3, 10, 4).view());
  ASSERT_EQ(ball.extent(0), 10u);
  ASSERT_EQ(ball.extent(1), 2u);
  for (std::size_t w = 0; w < 10; ++w) {
    EXPECT_NEAR(ball(w, 0), 1.0, 6e-3);
    EXPECT_NEAR(ball(w, 1), -2.0, 6e-3);
  }
  EXPECT_THROW(ns::gaussian_ball({}, 1.0, 10), nabla::ValueError);
}

// AR(1) x_t = φ x_{t-1} + ε has τ = (1 + φ) / (1 - φ) = 19 for φ = 0.9. With 32 walkers × 20000 steps Sokal's
// estimate has relative error ~ sqrt(2 (2M + 1) / N / walkers) with window M ≈ 5τ: 0.018; tolerance 5 sigma.
TEST(SamplingMCMC, AutocorrTimeOfAR1) {
  const std::size_t T = 20000, W = 32;
  const double phi = 0.9;
  ns::HostArray<double, 3> chain({T, W, 1});
  std::mt19937_64 gen(17);
  std::normal_distribution<double> n01;
  for (std::size_t w = 0; w < W; ++w) {
    double x = n01(gen) / std::sqrt(1 - phi * phi);
    for (std::size_t t = 0; t < T; ++t) {
      x = phi * x + n01(gen);
      chain.view()(t, w, 0) = x;
    }
  }
  const double tau = ns::integrated_time(chain)[0];
  const double expected = (1 + phi) / (1 - phi);
  EXPECT_NEAR(tau, expected, 5 * expected * std::sqrt(2 * (10 * expected + 1) / double(T) / double(W)));
  // Too short: 50 τ > 500 steps.
  ns::HostArray<double, 3> short_chain({500, W, 1});
  for (std::size_t t = 0; t < 500; ++t)
    for (std::size_t w = 0; w < W; ++w) short_chain.view()(t, w, 0) = chain.view()(t, w, 0);
  try {
    ns::integrated_time(short_chain);
    ADD_FAILURE() << "no AutocorrError for a short chain";
  } catch (const ns::AutocorrError& e) {
    EXPECT_NE(std::string(e.what()).find("The chain is shorter than 50 times"), std::string::npos) << e.what();
    ASSERT_EQ(e.tau.size(), 1u);
    EXPECT_GT(e.tau[0], 5.0);
  }
  EXPECT_NO_THROW(ns::integrated_time(short_chain, 5.0, 50.0, true));
}

#if defined(KOKKOS_ENABLE_OPENMP) && !defined(KOKKOS_ENABLE_CUDA) && !defined(KOKKOS_ENABLE_HIP)
// A sampler given no instance, run in a bulk task, runs on the task's partition: with two tasks on two threads
// every log_prob call ran on one thread (before, its blocks ran on the whole pool, queued on its one instance),
// and each task's chain equals the same sampler's run outside tasks, bit for bit.
TEST(SamplingMCMC, SamplerInABulkTaskRunsOnItsPartition) {
  using Exec = Kokkos::DefaultExecutionSpace;
  if (!std::is_same<Exec, Kokkos::OpenMP>::value || !nabla::compat::openmp_sized_instances ||
      Exec().concurrency() != 2)
    GTEST_SKIP() << "needs Kokkos 4 OpenMP with two threads";
  const auto chain = [](std::size_t i, std::atomic<int>& most) {
    ns::SamplerOptions o;
    o.seed = 40 + i;
    ns::EnsembleSampler s(32, 5, nabla_test::counting_threads(Gaussian5{}, most), o);
    s.run_mcmc(nabla_test::initial_state(32, 5, 7 + i), 300);
    return s.get_chain();
  };
  std::atomic<int> outside{0}, inside{0};
  const auto ref0 = chain(0, outside), ref1 = chain(1, outside);
  const auto got = nabla::tasks::sequential([&](nabla::tasks::Group& g) {
    return g.bulk("samplers", 2, [&](std::size_t i, const Exec&) { return chain(i, inside); });
  });
  EXPECT_EQ(inside.load(), 1) << "a task's log_prob calls ran among more threads than its partition has";
  for (std::size_t i = 0; i < 2; ++i) {
    const auto& ref = i == 0 ? ref0 : ref1;
    ASSERT_EQ(got[i].size(), ref.size());
    EXPECT_EQ(0, std::memcmp(got[i].data(), ref.data(), ref.size() * sizeof(double))) << "task " << i;
  }
}
#endif
