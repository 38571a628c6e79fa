// MPI: Langevin walkers, perturbed-ensemble points and MCMC log-probability evaluations split over the ranks
// give results bit-identical to one rank (run under mpirun -np 2).
#include "targets.hpp"

#include <nabla/core/mpi.hpp>
#include <nabla/sampling/hmc.hpp>

#include <gtest/gtest.h>

#include <algorithm>

namespace ns = nabla::sampling;

namespace {
// [lo, hi) of n items for this rank.
std::pair<std::size_t, std::size_t> share(std::size_t n, const nabla::mpi::Comm& c) {
  return {n * c.rank() / c.size(), n * (c.rank() + 1) / c.size()};
}
}  // namespace

// Draws of two samplers' chains that differ (all of them when the shapes differ).
template <class A, class B>
std::size_t differing_draws(const A& a, const B& b) {
  const auto ca = a.get_chain(), cb = b.get_chain();
  if (ca.size() != cb.size()) return std::max(ca.size(), cb.size());
  std::size_t differ = 0;
  for (std::size_t i = 0; i < ca.size(); ++i) differ += ca.data()[i] != cb.data()[i];
  return differ;
}

TEST(SamplingMPI, LangevinWalkersSplitOverRanks) {
  nabla::mpi::Comm comm;
  const ns::DoubleWell dw;
  ns::BAOABParams prm;
  prm.seed = 31;
  const std::size_t W = 101;
  ns::LangevinState whole = ns::make_state(W, 1, 0.0);
  auto h = Kokkos::create_mirror_view(whole.x.view());
  for (std::size_t w = 0; w < W; ++w) h(w, 0) = -2.5 + 0.05 * double(w);
  Kokkos::deep_copy(whole.x.view(), h);
  const auto [lo, hi] = share(W, comm);
  ns::LangevinState mine = ns::make_state(hi - lo, 1, 0.0);
  mine.first_walker = lo;
  auto m = Kokkos::create_mirror_view(mine.x.view());
  for (std::size_t w = lo; w < hi; ++w) m(w - lo, 0) = h(w, 0);
  Kokkos::deep_copy(mine.x.view(), m);
  ns::baoab_advance(dw, prm, whole, 500);
  ns::baoab_advance(dw, prm, mine, 500);
  // Gather by an exact sum (every other rank contributes zeros).
  nabla::Array<double, 1> gathered({W});
  auto g = Kokkos::create_mirror_view(gathered.view());
  const auto mh = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), mine.x.view());
  for (std::size_t w = lo; w < hi; ++w) g(w) = mh(w - lo, 0);
  Kokkos::deep_copy(gathered.view(), g);
  comm.allreduce(gathered, nabla::mpi::Op::sum);
  const auto all = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), gathered.view());
  const auto ref = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), whole.x.view());
  for (std::size_t w = 0; w < W; ++w) ASSERT_EQ(all(w), ref(w, 0)) << "walker " << w;
}

TEST(SamplingMPI, PerturbedEnsemblePointsSplitOverRanks) {
  nabla::mpi::Comm comm;
  const ns::DoubleWell dw;
  ns::BAOABParams prm;
  ns::PerturbationOptions opt;
  opt.len = 50;
  const std::size_t P = 13;
  nabla::Array<double, 2> x({P, 1}), v({P, 1});
  auto xh = Kokkos::create_mirror_view(x.view());
  for (std::size_t p = 0; p < P; ++p) xh(p, 0) = -2 + 0.3 * double(p);
  Kokkos::deep_copy(x.view(), xh);
  const auto whole = ns::perturbed_ensembles(dw, prm, x, v, opt);
  const auto [lo, hi] = share(P, comm);
  nabla::Array<double, 2> xl({hi - lo, 1}), vl({hi - lo, 1});
  auto xlh = Kokkos::create_mirror_view(xl.view());
  for (std::size_t p = lo; p < hi; ++p) xlh(p - lo, 0) = xh(p, 0);
  Kokkos::deep_copy(xl.view(), xlh);
  ns::PerturbationOptions part = opt;
  part.first_point = lo;
  const auto mine = ns::perturbed_ensembles(dw, prm, xl, vl, part);
  nabla::Array<double, 1> spread({P});
  auto sh = Kokkos::create_mirror_view(spread.view());
  const auto ms = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), mine.spread.view());
  for (std::size_t p = lo; p < hi; ++p) sh(p) = ms(p - lo, 0);
  Kokkos::deep_copy(spread.view(), sh);
  comm.allreduce(spread, nabla::mpi::Op::sum);
  const auto all = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), spread.view());
  const auto ref = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), whole.spread.view());
  for (std::size_t p = 0; p < P; ++p) ASSERT_EQ(all(p), ref(p, 0)) << "point " << p;
}

TEST(SamplingMPI, EnsembleSamplerSameChainAsOneRank) {
  nabla::mpi::Comm comm;
  // Stretch and DE, fixed split; then every move with a random split (orders dealt alike on every rank).
  for (int set = 0; set < 2; ++set) {
    ns::SamplerOptions one;
    one.seed = 77;
    if (set == 0)
      one.moves = {ns::WeightedMove{ns::StretchMove{}, 0.7}, ns::WeightedMove{ns::DEMove{}, 0.3}};
    else
      one.moves = {{ns::StretchMove{}, 1.0}, {ns::DEMove{}, 1.0}, {ns::WalkMove{}, 1.0}, {ns::DESnookerMove{}, 1.0},
                   {ns::GaussianMove{{0.5}}, 1.0}};
    one.randomize_split = set == 1;
    ns::SamplerOptions split = one;
    split.comm = comm;
    ns::EnsembleSampler a(21, 5, nabla_test::Gaussian5{}, one);
    std::size_t evaluated = 0;
    ns::EnsembleSampler b(21, 5, nabla_test::batched(nabla_test::Gaussian5{}, &evaluated), split);
    const auto x0 = nabla_test::initial_state(21, 5, 3);
    a.run_mcmc(x0, 200);
    b.run_mcmc(x0, 200);
    EXPECT_EQ(differing_draws(a, b), 0u) << "move set " << set;
    EXPECT_EQ(a.acceptance_fraction(), b.acceptance_fraction()) << "move set " << set;
    // Each rank evaluated only its share: the total over ranks is one evaluation per walker and step (+ initial).
    const std::size_t total = comm.allreduce(evaluated, nabla::mpi::Op::sum);
    EXPECT_EQ(total, 21u * 201) << "move set " << set;
    if (comm.size() > 1) EXPECT_LT(evaluated, 21u * 201) << "move set " << set;
  }
}

// A correlated 2-D Gaussian, NaN beyond x_0 > 5 (a start there is refused).
struct Tilted {
  template <class T>
  KOKKOS_INLINE_FUNCTION T operator()(const Kokkos::Array<T, 2>& x) const {
    return double(x[0]) > 5.0 ? T(NAN) : -0.5 * (x[0] * x[0] + 4.0 * x[1] * x[1] - 2.0 * x[0] * x[1]);
  }
};

// 150 chains (blocks of 64, 64 and 22: uneven shares) split over the ranks: warm-up, adaptation, every draw and
// every statistic as on one rank, on every rank.
TEST(SamplingMPI, HamiltonianSamplerSameChainsAsOneRank) {
  nabla::mpi::Comm comm;
  constexpr std::size_t C = 150;
  const auto x0 = nabla_test::initial_state(C, 2, 4);
  ns::HmcOptions split;
  split.comm = comm;
  for (auto trajectory : {ns::HmcTrajectory::chees, ns::HmcTrajectory::nuts}) {
    SCOPED_TRACE(trajectory == ns::HmcTrajectory::nuts ? "NUTS" : "ChEES");
    ns::HmcOptions one;
    one.seed = 21;
    one.steps_per_launch = 7;
    one.trajectory = trajectory;
    split = one;
    split.comm = comm;
    ns::HamiltonianSampler<2, Tilted> a(C, Tilted{}, one), b(C, Tilted{}, split);
    a.run(x0, 30, 40);
    b.run(x0, 30, 40);
    EXPECT_EQ(differing_draws(a, b), 0u);
    const auto la = a.get_log_prob(), lb = b.get_log_prob();
    for (std::size_t i = 0; i < la.size(); ++i) ASSERT_EQ(la.data()[i], lb.data()[i]) << i;
    EXPECT_EQ(a.acceptance_fraction(), b.acceptance_fraction());
    EXPECT_EQ(a.step_size(), b.step_size());
    EXPECT_EQ(a.trajectory_length(), b.trajectory_length());
    EXPECT_EQ(a.inverse_mass(), b.inverse_mass());
    EXPECT_EQ(a.gradient_evaluations(), b.gradient_evaluations());
    EXPECT_EQ(a.warmup_divergences(), b.warmup_divergences());
    const auto ea = a.stats().energy, eb = b.stats().energy;
    for (std::size_t i = 0; i < ea.size(); ++i) ASSERT_EQ(ea.data()[i], eb.data()[i]) << i;
  }
  ns::HamiltonianSampler<2, Tilted> b(C, Tilted{}, split);
  // A bad start on one rank's chain is an error on every rank, naming that chain.
  auto bad = nabla_test::initial_state(C, 2, 4);
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), bad.view());
  h(100, 0) = 6.0;
  Kokkos::deep_copy(bad.view(), h);
  try {
    b.run(bad, 5);
    ADD_FAILURE() << "no error on rank " << comm.rank();
  } catch (const nabla::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("chain 100 starts where the log-density is nan"), std::string::npos)
        << e.what();
  }
}

/// A correlated Gaussian as a batched target: log p = −½ Σ_ij x_i P_ij x_j through a matmul on the tape.
struct BatchedCorrelated {
  nabla::Array<double, 2> precision;  // 3 × 3
  nabla::ad::Var<double, 1> operator()(const nabla::ad::Var<double, 2>& x) const {
    namespace ad = nabla::ad;
    const auto px = ad::matmul(x, x.tape()->constant(precision));
    return ad::sum(-0.5 * px * x, nabla::axis{1});
  }
};

// Batched targets too: each rank evaluates its share of the chains as one batch.
TEST(SamplingMPI, HamiltonianSamplerBatchedSameChainsAsOneRank) {
  nabla::mpi::Comm comm;
  constexpr std::size_t C = 150;
  BatchedCorrelated f{nabla::Array<double, 2>({3, 3}, "precision")};
  const auto h = Kokkos::create_mirror_view(f.precision.view());
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) h(i, j) = i == j ? 2.0 + i : 0.4;
  Kokkos::deep_copy(f.precision.view(), h);
  const auto x0 = nabla_test::initial_state(C, 3, 4);
  for (auto trajectory : {ns::HmcTrajectory::chees, ns::HmcTrajectory::nuts}) {
    SCOPED_TRACE(trajectory == ns::HmcTrajectory::nuts ? "NUTS" : "ChEES");
    ns::HmcOptions one;
    one.seed = 23;
    one.trajectory = trajectory;
    ns::HmcOptions split = one;
    split.comm = comm;
    ns::HamiltonianSampler<3, BatchedCorrelated> a(C, f, one), b(C, f, split);
    a.run(x0, 30, 40);
    b.run(x0, 30, 40);
    EXPECT_EQ(differing_draws(a, b), 0u);
    EXPECT_EQ(a.step_size(), b.step_size());
    EXPECT_EQ(a.inverse_mass(), b.inverse_mass());
    EXPECT_EQ(a.gradient_evaluations(), b.gradient_evaluations());
  }
}

// Ranks that would sample different chains are refused on every rank, naming the quantity (no hang, no silent
// mix of two ensembles).
TEST(SamplingMPI, RanksThatDisagreeAreRefused) {
  nabla::mpi::Comm comm;
  if (comm.size() < 2) GTEST_SKIP() << "needs 2 ranks";
  ns::SamplerOptions o;
  o.comm = comm;
  o.seed = 5 + std::uint64_t(comm.rank());
  try {
    ns::EnsembleSampler s(16, 5, nabla_test::Gaussian5{}, o);
    ADD_FAILURE() << "no error for ranks with different seeds";
  } catch (const nabla::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("nabla::sampling::EnsembleSampler: ranks disagree on the seed (rank "),
              std::string::npos)
        << e.what();
  }
  // Run settings that differ on one rank (a data file only that rank read differently, say).
  o.seed = 5;
  o.settings = {{"sigma", comm.rank() == 1 ? "0.1" : "0.05"}};
  try {
    ns::EnsembleSampler s(16, 5, nabla_test::Gaussian5{}, o);
    ADD_FAILURE() << "no error for ranks with different settings";
  } catch (const nabla::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("EnsembleSampler: ranks disagree on the run settings"), std::string::npos)
        << e.what();
  }
  ns::HmcOptions h;
  h.comm = comm;
  h.settings = o.settings;
  try {
    ns::HamiltonianSampler<2, Tilted> s(64, Tilted{}, h);
    ADD_FAILURE() << "no error for ranks with different settings";
  } catch (const nabla::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("HamiltonianSampler: ranks disagree on the run settings"), std::string::npos)
        << e.what();
  }
  h.settings = {};
  try {
    ns::HamiltonianSampler<2, Tilted> s(64 + std::size_t(comm.rank()), Tilted{}, h);
    ADD_FAILURE() << "no error for ranks with different numbers of chains";
  } catch (const nabla::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("HamiltonianSampler: ranks disagree on the number of chains"),
              std::string::npos)
        << e.what();
  }
  // Only rank 0's backend holds a chain to resume: refused on every rank, not a hang.
  auto backend = std::make_shared<ns::MemoryBackend>();
  ns::HmcOptions alone;
  alone.backend = backend;
  if (comm.rank() == 0)
    ns::HamiltonianSampler<2, Tilted>(64, Tilted{}, alone).run(nabla_test::initial_state(64, 2, 1), 3);
  h.backend = backend;
  try {
    ns::HamiltonianSampler<2, Tilted> s(64, Tilted{}, h);
    ADD_FAILURE() << "no error for a chain to resume on rank 0 only";
  } catch (const nabla::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("ranks disagree on the number of stored steps"), std::string::npos)
        << e.what();
  }
}

// Each rank checks its own backend's chain before the first collective of a run: a chain refused on one rank only
// (here one whose run settings differ from this run's) is an error on every rank, naming the failing rank, not
// that rank's error and the others waiting in a collective forever.
TEST(SamplingMPI, AChainRefusedOnOneRankIsAnErrorOnEveryRank) {
  nabla::mpi::Comm comm;
  if (comm.size() < 2) GTEST_SKIP() << "needs 2 ranks";
  const auto expect_refused = [&](auto&& make, const char* what) {
    try {
      make();
      ADD_FAILURE() << "no error for " << what;
    } catch (const nabla::ValueError& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find("was written with sigma = 0.05; this run has sigma = 0.1"), std::string::npos) << m;
      if (comm.rank() != 0) EXPECT_NE(m.find("(on rank 0 of "), std::string::npos) << m;
    }
  };
  // EnsembleSampler: rank 0's backend holds a chain written with sigma = 0.05; the other ranks' hold none (as
  // when rank 0 has the file and the others a MemoryBackend), so they would start new chains.
  auto backend = std::make_shared<ns::MemoryBackend>();
  if (comm.rank() == 0) {
    ns::SamplerOptions alone;
    alone.seed = 5;
    alone.backend = backend;
    alone.settings = {{"sigma", "0.05"}};
    ns::EnsembleSampler(16, 5, nabla_test::Gaussian5{}, alone).run_mcmc(nabla_test::initial_state(16, 5, 1), 3);
  }
  ns::SamplerOptions o;
  o.comm = comm;
  o.seed = 5;
  o.backend = backend;
  o.settings = {{"sigma", "0.1"}};
  expect_refused([&] { ns::EnsembleSampler s(16, 5, nabla_test::Gaussian5{}, o); }, "EnsembleSampler");
  // HamiltonianSampler: every rank holds 3 steps (the stored steps agree), rank 0's written with sigma = 0.05.
  auto hb = std::make_shared<ns::MemoryBackend>();
  ns::HmcOptions alone;
  alone.backend = hb;
  alone.settings = {{"sigma", comm.rank() == 0 ? "0.05" : "0.1"}};
  ns::HamiltonianSampler<2, Tilted>(64, Tilted{}, alone).run(nabla_test::initial_state(64, 2, 1), 3);
  ns::HmcOptions h;
  h.comm = comm;
  h.backend = hb;
  h.settings = {{"sigma", "0.1"}};
  expect_refused([&] { ns::HamiltonianSampler<2, Tilted> s(64, Tilted{}, h); }, "HamiltonianSampler");
  comm.barrier();  // every rank got here: none waits in a collective
}
