// HDF5 chains in emcee's layout: read back by emcee itself (skipped if /usr/bin/python3 lacks emcee/h5py),
// statistics against emcee on the same target, SIGKILL-and-resume bit identity, and clear errors for corrupted,
// truncated and wrong-schema files, and for headers that claim more than the file stores; bounded growth with a
// free-space check; run settings recorded with the chain.
#include "common/python.hpp"
#include "common/subprocess.hpp"
#include "targets.hpp"

#include <nabla/core/hdf5.hpp>

#include <gtest/gtest.h>
#include <hdf5.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>
#include <csignal>
#include <sys/resource.h>
#include <unistd.h>

namespace ns = nabla::sampling;
namespace fs = std::filesystem;

namespace {

// Removes this process's scratch directory at exit.
struct ScratchDir {
  fs::path dir;
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

std::string scratch(const std::string& name) {
  static const ScratchDir scratch_dir{fs::temp_directory_path() / ("nabla_sampling_" + std::to_string(::getpid()))};
  const fs::path& dir = scratch_dir.dir;
  fs::create_directories(dir);
  const fs::path p = dir / name;
  fs::remove(p);
  return p.string();
}

int python(const std::string& script, const std::vector<std::string>& args, std::string& out) {
  return nabla_test::python(script, scratch("script.py"), args, out);
}

bool have_emcee() {
  static const int ok = [] {
    std::string out;
    return python("import emcee, h5py, numpy\n", {}, out) == 0 ? 1 : 0;
  }();
  return ok == 1;
}

std::vector<double> read_raw(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::vector<double> v;
  double x;
  while (f.read(reinterpret_cast<char*>(&x), sizeof x)) v.push_back(x);
  return v;
}

std::shared_ptr<ns::HDFBackend> sample_to_file(const std::string& path, std::size_t steps, std::uint64_t seed = 11,
                                               const ns::Settings& settings = {}) {
  ns::SamplerOptions opt;
  opt.seed = seed;
  opt.settings = settings;
  auto b = std::make_shared<ns::HDFBackend>(path);
  opt.backend = b;
  ns::EnsembleSampler s(16, 5, nabla_test::Gaussian5{}, opt);
  s.run_mcmc(nabla_test::initial_state(16, 5, 1), steps);
  return b;
}

// The helper; `extension` (bytes of rows per extension of the file) when not empty.
nabla_test::Child spawn_helper(const std::string& path, std::size_t total, std::size_t pause_at,
                               const std::string& extension = "") {
  std::vector<std::string> argv{NABLA_SAMPLING_RESUME_HELPER, path, std::to_string(total), std::to_string(pause_at)};
  if (!extension.empty()) argv.push_back(extension);
  return nabla_test::spawn(argv);
}

// Runs the helper to completion; true on exit code 0.
bool run_helper(const std::string& path, std::size_t total, const std::string& extension = "") {
  return nabla_test::finish(spawn_helper(path, total, 0, extension));
}

// Starts the helper, waits until it has stored `pause_at` steps, and SIGKILLs it.
void run_and_kill(const std::string& path, std::size_t total, std::size_t pause_at,
                  const std::string& extension = "") {
  const auto child = spawn_helper(path, total, pause_at, extension);
  ASSERT_GT(child.pid, 0);
  EXPECT_EQ(nabla_test::read_line(child.out), "paused " + std::to_string(pause_at));
  EXPECT_TRUE(nabla_test::kill_now(child));
}

// Chains, log-probabilities and acceptance totals of two chain files are bit-identical, `steps` steps each.
void expect_same_chain(const std::string& ref, const std::string& res, std::size_t steps) {
  ns::HDFBackend a(ref, "mcmc", true), b(res, "mcmc", true);
  ASSERT_EQ(a.iteration(), steps);
  ASSERT_EQ(b.iteration(), steps);
  const auto ca = a.get_chain(), cb = b.get_chain();
  for (std::size_t i = 0; i < ca.size(); ++i) ASSERT_EQ(ca.data()[i], cb.data()[i]) << "element " << i;
  const auto la = a.get_log_prob(ns::flat), lb = b.get_log_prob(ns::flat);
  for (std::size_t i = 0; i < la.size(); ++i) ASSERT_EQ(la.data()[i], lb.data()[i]);
  EXPECT_EQ(a.accepted(), b.accepted());
}

}  // namespace

TEST(SamplingChains, HDFBackendRoundTrip) {
  const std::string path = scratch("roundtrip.h5");
  sample_to_file(path, 25);
  ns::HDFBackend b(path, "mcmc", true);
  ASSERT_TRUE(b.initialized());
  EXPECT_EQ(b.iteration(), 25u);
  EXPECT_EQ(b.nwalkers(), 16u);
  EXPECT_EQ(b.ndim(), 5u);
  ASSERT_TRUE(b.seed().has_value());
  EXPECT_EQ(*b.seed(), 11u);
  // The same run into memory gives the same chain.
  ns::SamplerOptions opt;
  opt.seed = 11;
  ns::EnsembleSampler m(16, 5, nabla_test::Gaussian5{}, opt);
  m.run_mcmc(nabla_test::initial_state(16, 5, 1), 25);
  const auto a = b.get_chain(), c = m.get_chain();
  ASSERT_EQ(a.size(), c.size());
  for (std::size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a.data()[i], c.data()[i]);
  EXPECT_EQ(b.acceptance_fraction(), m.acceptance_fraction());
  EXPECT_THROW(b.reset(16, 5), nabla::IOError);  // read-only
}

// Backend::save_step, the one-step entry point for code that fills a backend itself: rows land in order in memory
// and in a file, acceptance counts add up, and vectors of the wrong size are refused before anything is written.
TEST(SamplingChains, SaveStepAppendsSteps) {
  const std::string path = scratch("save_step.h5");
  std::vector<std::shared_ptr<ns::Backend>> backends{std::make_shared<ns::MemoryBackend>(),
                                                     std::make_shared<ns::HDFBackend>(path)};
  constexpr std::size_t W = 3, D = 2, T = 4;
  for (const auto& b : backends) {
    b->reset(W, D);
    std::vector<std::uint8_t> taken(W, 0);
    for (std::size_t t = 0; t < T; ++t) {
      std::vector<double> x(W * D), lp(W);
      std::vector<std::uint8_t> acc(W);
      for (std::size_t w = 0; w < W; ++w) {
        for (std::size_t d = 0; d < D; ++d) x[w * D + d] = 100.0 * double(t) + 10.0 * double(w) + double(d);
        lp[w] = -double(t * W + w);
        acc[w] = std::uint8_t((t + w) % 2);
        taken[w] += acc[w];
      }
      b->save_step(x, lp, acc);
    }
    ASSERT_EQ(b->iteration(), T) << b->describe();
    const auto c = b->get_chain();
    const auto l = b->get_log_prob();
    for (std::size_t t = 0; t < T; ++t)
      for (std::size_t w = 0; w < W; ++w) {
        for (std::size_t d = 0; d < D; ++d)
          ASSERT_EQ(c.view()(t, w, d), 100.0 * double(t) + 10.0 * double(w) + double(d)) << b->describe();
        ASSERT_EQ(l.view()(t, w), -double(t * W + w)) << b->describe();
      }
    const auto f = b->acceptance_fraction();
    for (std::size_t w = 0; w < W; ++w) EXPECT_EQ(f[w], double(taken[w]) / double(T)) << b->describe();
    try {
      b->save_step(std::vector<double>(W * D + 1), std::vector<double>(W), std::vector<std::uint8_t>(W));
      ADD_FAILURE() << "no error for " << W * D + 1 << " coords";
    } catch (const nabla::ShapeError& e) {
      EXPECT_NE(std::string(e.what()).find("got 7 coords"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("3 walkers x 2 dims"), std::string::npos) << e.what();
    }
    EXPECT_THROW(b->save_step(std::vector<double>(W * D), std::vector<double>(W - 1), std::vector<std::uint8_t>(W)),
                 nabla::ShapeError);
    EXPECT_EQ(b->iteration(), T) << b->describe();
  }
  ns::HDFBackend reread(path, "mcmc", true);
  EXPECT_EQ(reread.iteration(), T);
}

TEST(SamplingChains, EmceeReadsNablaChains) {
  if (!have_emcee()) GTEST_SKIP() << "/usr/bin/python3 has no emcee/h5py/numpy";
  const std::string path = scratch("for_emcee.h5");
  const ns::Settings settings{{"sigma", "0.05"}, {"data", "fnv:0123"}};  // one more attribute, which emcee ignores
  sample_to_file(path, 30, 11, settings);
  const std::string chain_out = scratch("chain.f8"), lp_out = scratch("lp.f8");
  const std::string script = R"(
import sys, numpy as np, emcee
b = emcee.backends.HDFBackend(sys.argv[1], read_only=True)
c = b.get_chain()
lp = b.get_log_prob()
c.astype('<f8').tofile(sys.argv[2])
lp.astype('<f8').tofile(sys.argv[3])
f = b.get_chain(flat=True, thin=2, discard=3)
print(b.iteration, c.shape[0], c.shape[1], c.shape[2], f.shape[0], int(b.accepted.sum()))
# emcee can continue the chain in the same file (its own random numbers), and Nabla reads it back.
bw = emcee.backends.HDFBackend(sys.argv[1])
P = np.linalg.inv(np.array([[(1 + 0.5 * i) * (1 + 0.5 * j) * 0.5 ** abs(i - j) for j in range(5)] for i in range(5)]))
s = emcee.EnsembleSampler(16, 5, lambda x: -0.5 * x @ P @ x, backend=bw)
s.run_mcmc(None, 5)
print(bw.iteration, int(bw.accepted.sum()))
)";
  std::string out;
  ASSERT_EQ(python(script, {path, chain_out, lp_out}, out), 0) << out;
  std::istringstream is(out);
  std::size_t it, t, w, d, nflat, acc, it2, acc2;
  is >> it >> t >> w >> d >> nflat >> acc >> it2 >> acc2;
  EXPECT_EQ(it, 30u);
  EXPECT_EQ(t, 30u);
  EXPECT_EQ(w, 16u);
  EXPECT_EQ(d, 5u);
  EXPECT_EQ(nflat, 16u * 13);  // rows 4, 6, ..., 28
  EXPECT_EQ(it2, 35u);
  {
    ns::HDFBackend b(path, "mcmc", true);
    const auto mine = b.get_chain(1, 0);
    const auto theirs = read_raw(chain_out);
    ASSERT_EQ(theirs.size(), 30u * 16 * 5);
    for (std::size_t s = 0; s < 30; ++s)
      for (std::size_t k = 0; k < 16; ++k)
        for (std::size_t j = 0; j < 5; ++j) ASSERT_EQ(mine.view()(s, k, j), theirs[(s * 16 + k) * 5 + j]);
    const auto lp = read_raw(lp_out);
    const auto mylp = b.get_log_prob();
    for (std::size_t s = 0; s < 30; ++s)
      for (std::size_t k = 0; k < 16; ++k) ASSERT_EQ(mylp.view()(s, k), lp[s * 16 + k]);
    double accepted = 0;
    for (double a : b.accepted()) accepted += a;
    EXPECT_EQ(accepted, double(acc2));  // emcee's totals, its 5 steps included
    EXPECT_EQ(b.iteration(), 35u);      // emcee's 5 more steps
  }
  // Nabla continues the chain emcee extended: the totals grow by exactly Nabla's acceptances (a walker moved iff
  // its proposal was accepted, on this continuous target), not recomputed from flags emcee never wrote.
  {
    ns::SamplerOptions opt;
    opt.seed = 11;
    opt.settings = settings;  // kept through emcee's extension
    opt.backend = std::make_shared<ns::HDFBackend>(path);
    ns::EnsembleSampler more(16, 5, nabla_test::Gaussian5{}, opt);
    more.run_mcmc(10);
  }
  ns::HDFBackend after(path, "mcmc", true);
  ASSERT_EQ(after.iteration(), 45u);
  const auto c = after.get_chain(1, 0);
  double moved = 0;
  for (std::size_t s = 35; s < 45; ++s)
    for (std::size_t k = 0; k < 16; ++k) moved += c.view()(s, k, 0) != c.view()(s - 1, k, 0) ? 1.0 : 0.0;
  double total = 0;
  for (double a : after.accepted()) total += a;
  EXPECT_EQ(total, double(acc2) + moved);
}

// Acceptance fraction and τ of Nabla's stretch move vs emcee's on the 5-D Gaussian, 32 walkers × 6000 steps.
// Tolerances (5 sigma of the difference of two independent runs):
// - acceptance: N = 32·6000 proposals; acceptance indicators are correlated over ~τ_acc ≤ 10 steps, so
//   SE ≤ sqrt(p(1-p)·10/N) per run;
// - τ: Sokal's relative error sqrt(2(2M+1)/N_t) with window M ≈ 5τ, averaged over 32 walkers: SE/τ =
//   sqrt(2(10τ+1)/N_t/32) per run (parameters share walkers, so the mean over dims gets no further credit).
TEST(SamplingChains, AcceptanceAndTauMatchEmcee) {
  if (!have_emcee()) GTEST_SKIP() << "/usr/bin/python3 has no emcee/h5py/numpy";
  const std::string script = R"(
import numpy as np, emcee
C = np.array([[(1 + 0.5 * i) * (1 + 0.5 * j) * 0.5 ** abs(i - j) for j in range(5)] for i in range(5)])
P = np.linalg.inv(C)
def lp(x):
    return -0.5 * np.einsum('ij,jk,ik->i', x, P, x)
rng = np.random.default_rng(1)
s = emcee.EnsembleSampler(32, 5, lp, vectorize=True)
np.random.seed(1)
s.run_mcmc(0.1 * rng.standard_normal((32, 5)), 6000)
print(np.mean(s.acceptance_fraction), np.mean(s.get_autocorr_time(discard=1000, quiet=True)))
)";
  std::string out;
  ASSERT_EQ(python(script, {}, out), 0) << out;
  std::istringstream is(out);
  double acc_e = 0, tau_e = 0;
  is >> acc_e >> tau_e;
  ns::SamplerOptions opt;
  opt.seed = 123;
  ns::EnsembleSampler s(32, 5, nabla_test::Gaussian5{}, opt);
  s.run_mcmc(nabla_test::initial_state(32, 5, 1), 6000);
  const double acc_n = s.mean_acceptance_fraction();
  const auto taus = s.get_autocorr_time(1000, 1, 5.0, 50.0, true);
  double tau_n = 0;
  for (double t : taus) tau_n += t / double(taus.size());
  const double N = 32.0 * 6000, se_acc = std::sqrt(acc_e * (1 - acc_e) * 10 / N);
  EXPECT_NEAR(acc_n, acc_e, 5 * std::sqrt(2.0) * se_acc) << "emcee " << acc_e << " nabla " << acc_n;
  const double rel = std::sqrt(2 * (10 * tau_e + 1) / 5000.0 / 32.0);
  EXPECT_NEAR(tau_n, tau_e, 5 * std::sqrt(2.0) * rel * tau_e) << "emcee " << tau_e << " nabla " << tau_n;
  std::cout << "[ acceptance ] emcee " << acc_e << ", nabla " << acc_n << "; tau emcee " << tau_e << ", nabla "
            << tau_n << "\n";
}

// Each move against emcee's own on the same target and ensemble (32 walkers on the 5-D Gaussian): acceptance and τ
// within the tolerances above. emcee deals the walkers to sub-ensembles at random unless told otherwise; each case
// names both samplers' split. The snooker move is emcee's machinery with ter Braak & Vrugt's proposal, which Nabla
// implements (moves/de_snooker.hpp: emcee 3.1.4's own projects with |X - z|^½ and halves the log factor, and
// samples a different distribution).
struct EmceeCase {
  const char* name;
  const char* emcee_move;  // a Python expression; C and Snooker are defined
  ns::Move move;
  bool randomize;
  std::size_t steps;
};
class SamplingEmceeMoves : public ::testing::TestWithParam<EmceeCase> {};

TEST_P(SamplingEmceeMoves, AcceptanceAndTauMatchEmcee) {
  if (!have_emcee()) GTEST_SKIP() << "/usr/bin/python3 has no emcee/h5py/numpy";
  const EmceeCase& c = GetParam();
  const std::string script = std::string(R"(
import sys, numpy as np, emcee
C = np.array([[(1 + 0.5 * i) * (1 + 0.5 * j) * 0.5 ** abs(i - j) for j in range(5)] for i in range(5)])
P = np.linalg.inv(C)
def lp(x):
    return -0.5 * np.einsum('ij,jk,ik->i', x, P, x)
class Snooker(emcee.moves.DESnookerMove):
    def get_proposal(self, s, c, random):
        Nc = list(map(len, c))
        ndim = s.shape[1]
        q = np.empty_like(s)
        f = np.empty(len(s))
        for i in range(len(s)):
            w = np.array([c[j][random.randint(Nc[j])] for j in range(3)])
            random.shuffle(w)
            z, z1, z2 = w
            u = (s[i] - z) / np.linalg.norm(s[i] - z)
            q[i] = s[i] + u * self.gammas * (np.dot(u, z1) - np.dot(u, z2))
            f[i] = (ndim - 1.0) * (np.log(np.linalg.norm(q[i] - z)) - np.log(np.linalg.norm(s[i] - z)))
        return q, f
n = int(sys.argv[1])
np.random.seed(1)
s = emcee.EnsembleSampler(32, 5, lp, vectorize=True, moves=)") + c.emcee_move + R"()
s.run_mcmc(0.1 * np.random.standard_normal((32, 5)), n)
print(np.mean(s.acceptance_fraction), np.mean(s.get_autocorr_time(discard=n // 6, quiet=True)))
)";
  std::string out;
  ASSERT_EQ(python(script, {std::to_string(c.steps)}, out), 0) << out;
  std::istringstream is(out);
  double acc_e = 0, tau_e = 0;
  is >> acc_e >> tau_e;
  ASSERT_GT(tau_e, 0.0) << out;
  ns::SamplerOptions opt;
  opt.seed = 5;
  opt.moves = {ns::WeightedMove{c.move, 1.0}};
  opt.randomize_split = c.randomize;
  ns::EnsembleSampler s(32, 5, nabla_test::Gaussian5{}, opt);
  s.run_mcmc(nabla_test::initial_state(32, 5, 1), c.steps);
  const double acc_n = s.mean_acceptance_fraction();
  const std::size_t discard = c.steps / 6;
  const auto taus = s.get_autocorr_time(discard, 1, 5.0, 50.0, true);
  double tau_n = 0;
  for (double t : taus) tau_n += t / double(taus.size());
  const double N = 32.0 * double(c.steps), se_acc = std::sqrt(acc_e * (1 - acc_e) * 10 / N);
  EXPECT_NEAR(acc_n, acc_e, 5 * std::sqrt(2.0) * se_acc) << c.name << ": emcee " << acc_e << " nabla " << acc_n;
  const double rel = std::sqrt(2 * (10 * tau_e + 1) / double(c.steps - discard) / 32.0);
  EXPECT_NEAR(tau_n, tau_e, 5 * std::sqrt(2.0) * rel * tau_e) << c.name << ": emcee " << tau_e << " nabla " << tau_n;
  std::cout << "[ " << c.name << " ] acceptance emcee " << acc_e << ", nabla " << acc_n << "; tau emcee " << tau_e
            << ", nabla " << tau_n << "\n";
}

std::vector<double> half_variances() {
  const auto C = nabla_test::Gaussian5::covariance();
  std::vector<double> v;
  for (int i = 0; i < 5; ++i) v.push_back(0.5 * C[i * 5 + i]);
  return v;
}

INSTANTIATE_TEST_SUITE_P(
    All, SamplingEmceeMoves,
    ::testing::Values(EmceeCase{"walk", "emcee.moves.WalkMove(randomize_split=False)", ns::WalkMove{}, false, 3000},
                      EmceeCase{"snooker", "Snooker(randomize_split=False)", ns::DESnookerMove{}, false, 6000},
                      EmceeCase{"gaussian", "emcee.moves.GaussianMove(np.diag(C) * 0.5)",
                                ns::GaussianMove{half_variances()}, false, 6000},
                      EmceeCase{"stretch_random_split", "emcee.moves.StretchMove(randomize_split=True)",
                                ns::StretchMove{}, true, 6000}),
    [](const ::testing::TestParamInfo<EmceeCase>& i) { return std::string(i.param.name); });

// SIGKILL after 23 and again after 77 stored steps, resuming each time, gives the bit-identical chain of an
// uninterrupted run (counter-based random numbers keyed by (seed, step, walker); positions and log_prob read back
// exactly from the file).
TEST(SamplingChains, KillAndResumeBitIdentical) {
  const std::string ref = scratch("uninterrupted.h5"), res = scratch("resumed.h5");
  ASSERT_TRUE(run_helper(ref, 120)) << "helper failed";
  run_and_kill(res, 120, 23);
  {
    ns::HDFBackend b(res, "mcmc", true);
    EXPECT_EQ(b.iteration(), 23u);
  }
  run_and_kill(res, 120, 77);
  ASSERT_TRUE(run_helper(res, 120)) << "resume failed";
  expect_same_chain(ref, res, 120);
}

// SIGKILL at arbitrary times (not at step boundaries: the helper runs freely and is killed after fixed delays),
// resuming after each kill: chain, log_prob and acceptance totals equal those of an uninterrupted run. Also with
// extensions of 8 steps (about 750 during the run, each under the marker protocol), so that kills land in them.
//
// Kills that found the marker (landed inside an extension, which the next helper then repaired) are counted and
// printed, not asserted: an extension of 8 steps takes a small fraction of the run (a few of the ~750 extensions'
// milliseconds in a run of several hundred), so whether one of 4 fixed-delay kills lands in one depends on the
// machine's speed and load. KilledWhileExtendingResumes is the test that asserts a kill inside an extension.
void kill_at_arbitrary_times_and_resume(const std::string& extension) {
  const std::string ref = scratch("free_ref.h5"), res = scratch("free_resumed.h5");
  const std::string marker = res + ".nabla-extending";
  const std::size_t total = 6000;
  ASSERT_TRUE(run_helper(ref, total));
  int in_extension = 0;
  for (int delay_ms : {120, 260, 410, 530}) {
    const auto child = spawn_helper(res, total, 0, extension);
    ASSERT_GT(child.pid, 0);
    ::usleep(useconds_t(delay_ms) * 1000);
    nabla_test::kill_now(child);
    std::error_code ec;
    const bool marked = fs::exists(marker, ec);  // before the next helper repairs the file
    in_extension += marked ? 1 : 0;
    if (fs::exists(res, ec))
      std::cout << "[ killed ] after " << delay_ms << " ms at iteration "
                << ns::HDFBackend(res, "mcmc", true).iteration() << (marked ? ", inside an extension" : "") << "\n";
  }
  std::cout << "[ killed ] " << in_extension << " of 4 kills inside an extension (marker found)\n";
  ASSERT_TRUE(run_helper(res, total, extension)) << "resume after the kills failed";
  EXPECT_FALSE(fs::exists(res + ".nabla-extending"));
  expect_same_chain(ref, res, total);
}
TEST(SamplingChains, KillAtArbitraryTimesAndResume) { kill_at_arbitrary_times_and_resume(""); }
TEST(SamplingChains, KillAtArbitraryTimesDuringSmallExtensionsAndResume) {
  kill_at_arbitrary_times_and_resume(std::to_string(8 * (16 * 5 * 8 + 16 * 9)));  // 8 steps of 16 walkers x 5 dims
}

// A writer killed while extending the chain leaves `<path>.nabla-extending`: the file's allocation metadata may
// then be torn, so the next writer rewrites the file whole around the committed steps before appending. The
// resumed chain is bit-identical to an uninterrupted one, rows past `iteration` (here garbage) are dropped, other
// objects in the file survive, and so they do a reset. A repair that cannot read the committed steps back is an
// IOError naming the marker and the step.
TEST(SamplingChains, InterruptedExtensionIsRepairedOnResume) {
  const std::string ref = scratch("ext_ref.h5"), res = scratch("ext_resumed.h5");
  const std::string marker = res + ".nabla-extending";
  ASSERT_TRUE(run_helper(ref, 120));
  run_and_kill(res, 120, 40);
  {
    nabla::hdf5::File f(res, nabla::hdf5::Mode::readwrite);
    f.write<double>("other/data", {1.0, 2.0, 3.0}, {3});
    f.resize("mcmc/chain", 90);
    f.write_rows("mcmc/chain", 40, std::vector<double>(50 * 16 * 5, 7.0), 50);
  }
  std::ofstream(marker).put('\n');
  ASSERT_TRUE(run_helper(res, 120)) << "resume after an interrupted extension failed";
  EXPECT_FALSE(fs::exists(marker));
  expect_same_chain(ref, res, 120);
  EXPECT_EQ(nabla::hdf5::File(res, nabla::hdf5::Mode::read).read<double>("other/data"),
            (std::vector<double>{1.0, 2.0, 3.0}));
  {
    ns::HDFBackend b(res);
    b.reset(8, 3);
    EXPECT_EQ(b.iteration(), 0u);
    EXPECT_EQ(b.nwalkers(), 8u);
  }
  EXPECT_EQ(nabla::hdf5::File(res, nabla::hdf5::Mode::read).read<double>("other/data"),
            (std::vector<double>{1.0, 2.0, 3.0}));
  // Committed rows that cannot be read back: the repair refuses, and the file is left as it was.
  run_and_kill(res, 120, 30);
  {
    nabla::hdf5::File f(res, nabla::hdf5::Mode::readwrite);
    f.write_rows("mcmc/chain", 12, std::vector<double>(16 * 5, std::nan("")), 1);
  }
  std::ofstream(marker).put('\n');
  const auto bytes = fs::file_size(res);
  try {
    ns::SamplerOptions opt;
    opt.seed = 2718;
    opt.backend = std::make_shared<ns::HDFBackend>(res);
    ns::EnsembleSampler s(16, 5, nabla_test::Gaussian5{}, opt);
    s.run_mcmc(10);
    ADD_FAILURE() << "no error for an unreadable committed step";
  } catch (const nabla::IOError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find(marker), std::string::npos) << m;
    EXPECT_NE(m.find("NaN at step 12"), std::string::npos) << m;
  }
  EXPECT_TRUE(fs::exists(marker));
  EXPECT_EQ(fs::file_size(res), bytes);
}

// SIGKILL while a resumed run extends its chain (some 10^4 chunks allocated per dataset, the one write of a run
// that is not in place; extensions of 4 GiB here, so that one covers the run and lasts long enough): the test
// watches for the marker the extension leaves while it runs and kills the writer as soon as it appears. The next
// resume repairs the file, and the chain equals an uninterrupted run's.
TEST(SamplingChains, KilledWhileExtendingResumes) {
  const std::string ref = scratch("long_ref.h5"), res = scratch("long_resumed.h5");
  const std::string marker = res + ".nabla-extending", large = std::to_string(std::size_t(4) << 30);
  // The files are sparse, but the free-space check before each extension counts the bytes declared: 4·10^6 rows
  // of 784 bytes, about 1.6 GB (a CI machine's small /tmp has less).
  std::error_code ec;
  const fs::space_info space = fs::space(fs::path(res).parent_path(), ec);
  if (ec || space.available < (std::uintmax_t(2) << 30))
    GTEST_SKIP() << "needs 2 GiB free in " << fs::path(res).parent_path() << " (has "
                 << (ec ? std::string("unknown") : std::to_string(space.available)) << " bytes)";
  ASSERT_TRUE(run_helper(ref, 1000));
  int marked = 0;
  for (std::size_t committed : {1, 300}) {
    fs::remove(res);
    run_and_kill(res, 2000000, committed, large);  // extended to 2·10^6 rows, `committed` steps stored
    const auto child = spawn_helper(res, 4000000, 0, large);  // resumes and extends to 4·10^6 rows
    ASSERT_GT(child.pid, 0);
    for (int i = 0; i < 100000 && !fs::exists(marker); ++i) ::usleep(50);
    nabla_test::kill_now(child);
    marked += fs::exists(marker) ? 1 : 0;
    ASSERT_TRUE(run_helper(res, 1000)) << "resume failed after " << committed << " steps";
    EXPECT_FALSE(fs::exists(marker));
    expect_same_chain(ref, res, 1000);
  }
  EXPECT_GE(marked, 1) << "no kill landed while extending";
  std::cout << "[ killed ] " << marked << " of 2 runs while extending\n";
}

// SIGKILL within the first 150 ms of a helper that only creates the chain file (0 steps): the path then holds
// no file or a whole one (written under a temporary name and renamed), never a broken file that blocks the
// resume. (Before the chain file was created this way, 1 of 3 runs of this test left a file HDF5 could not open.)
TEST(SamplingChains, KilledWhileCreatingTheFileLeavesNoBrokenFile) {
  const std::string res = scratch("created.h5");
  for (int delay_ms = 0; delay_ms <= 150; delay_ms += 5) {
    fs::remove(res);
    const auto child = spawn_helper(res, 0, 0);
    ASSERT_GT(child.pid, 0);
    ::usleep(useconds_t(delay_ms) * 1000);
    nabla_test::kill_now(child);
    std::error_code ec;
    if (fs::exists(res, ec))
      EXPECT_NO_THROW((void)ns::HDFBackend(res, "mcmc", true).iteration()) << "killed after " << delay_ms << " ms";
  }
  ASSERT_TRUE(run_helper(res, 50)) << "resume after the last kill failed";
  EXPECT_EQ(ns::HDFBackend(res, "mcmc", true).iteration(), 50u);
}

TEST(SamplingChains, CorruptedTruncatedAndWrongSchemaFiles) {
  auto expect_io_error = [](const std::string& path, const std::string& needle) {
    try {
      ns::SamplerOptions opt;
      opt.backend = std::make_shared<ns::HDFBackend>(path);
      ns::EnsembleSampler s(16, 5, nabla_test::Gaussian5{}, opt);
      ADD_FAILURE() << "no error for " << path;
    } catch (const nabla::IOError& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find(path), std::string::npos) << m;
      EXPECT_NE(m.find(needle), std::string::npos) << m;
    }
  };
  // Not HDF5 at all.
  const std::string garbage = scratch("garbage.h5");
  std::ofstream(garbage) << "this is not an HDF5 file, just text pretending to be a chain\n";
  expect_io_error(garbage, "");
  // Truncated: a valid chain file cut in half.
  const std::string good = scratch("good.h5"), cut = scratch("truncated.h5");
  sample_to_file(good, 40);
  fs::copy_file(good, cut);
  fs::resize_file(cut, fs::file_size(good) / 2);
  expect_io_error(cut, "");
  // A group with emcee's attributes (16 walkers x 5 dims, 3 steps), accepted and log_prob, and optionally a chain
  // of `chain_dims` dims.
  auto fake_chain = [&](const std::string& name, int chain_dims) {
    const std::string path = scratch(name);
    nabla::hdf5::File f(path, nabla::hdf5::Mode::create);
    f.create_group("mcmc");
    f.set_attribute("mcmc", "nwalkers", std::int64_t(16));
    f.set_attribute("mcmc", "ndim", std::int64_t(5));
    f.set_attribute("mcmc", "iteration", std::int64_t(3));
    f.write<double>("mcmc/accepted", std::vector<double>(16, 0.0), {16});
    f.write<double>("mcmc/log_prob", std::vector<double>(48, 0.0), {3, 16});
    if (chain_dims > 0)
      f.write<double>("mcmc/chain", std::vector<double>(3 * 16 * std::size_t(chain_dims), 0.0),
                      {3, 16, std::size_t(chain_dims)});
    return path;
  };
  expect_io_error(fake_chain("wrong.h5", 0), "'chain' is missing");                       // wrong schema
  const std::string shape = fake_chain("shape.h5", 4);                                    // 4 dims, attributes say 5
  expect_io_error(shape, "dataset 'chain' has shape (3, 16, 4)");
  // A chain of another size, and another seed, are refused with ValueError.
  try {
    ns::SamplerOptions opt;
    opt.backend = std::make_shared<ns::HDFBackend>(good);
    opt.seed = 11;
    ns::EnsembleSampler s(20, 5, nabla_test::Gaussian5{}, opt);
    ADD_FAILURE() << "no error for a size mismatch";
  } catch (const nabla::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("16 walkers x 5 dims"), std::string::npos) << e.what();
  }
  try {
    ns::SamplerOptions opt;
    opt.backend = std::make_shared<ns::HDFBackend>(good);
    opt.seed = 12;
    ns::EnsembleSampler s(16, 5, nabla_test::Gaussian5{}, opt);
    ADD_FAILURE() << "no error for a seed mismatch";
  } catch (const nabla::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("seed 11"), std::string::npos) << e.what();
  }
}

namespace {

// A chain file as another writer (h5py, a hostile one) could make it, through HDF5 itself: emcee's attributes
// with the values given, and chunked datasets of the shapes given whose chunks are allocated only where rows are
// written (h5py's default), so a shape can be declared far beyond what the file stores.
struct Forged {
  std::int64_t nwalkers = 4, ndim = 2, iteration = 3;
  std::vector<hsize_t> chain{3, 4, 2}, log_prob{3, 4}, accepted{4}, flags{};  // flags: none when empty
  hsize_t written = 3, flags_written = 3, accepted_written = 4;  // rows written (of chain and log_prob: `written`)
  hid_t values = H5T_IEEE_F64LE;  // chain and log_prob; emcee's HDFBackend(dtype=np.float32) stores F32
};

std::string forge(const std::string& name, const Forged& spec) {
  const std::string path = scratch(name);
  const hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  const hid_t g = H5Gcreate2(f, "mcmc", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  const hid_t scalar = H5Screate(H5S_SCALAR);
  for (const auto& [attr, value] : {std::pair<const char*, std::int64_t>{"nwalkers", spec.nwalkers},
                                    {"ndim", spec.ndim},
                                    {"iteration", spec.iteration}}) {
    const hid_t a = H5Acreate2(g, attr, H5T_NATIVE_INT64, scalar, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_INT64, &value);
    H5Aclose(a);
  }
  H5Sclose(scalar);
  auto dataset = [&](const char* d, const std::vector<hsize_t>& dims, hid_t type, hsize_t rows) {
    if (dims.empty()) return;
    std::vector<hsize_t> max(dims), chunk(dims.size());
    max[0] = H5S_UNLIMITED;
    for (std::size_t i = 0; i < dims.size(); ++i) chunk[i] = std::max<hsize_t>(1, std::min<hsize_t>(dims[i], 64));
    const hid_t space = H5Screate_simple(int(dims.size()), dims.data(), max.data());
    const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, int(chunk.size()), chunk.data());
    const hid_t ds = H5Dcreate2(g, d, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    rows = std::min(rows, dims[0]);
    if (rows > 0) {
      std::vector<hsize_t> count(dims);
      count[0] = rows;
      std::size_t n = 1;
      for (hsize_t c : count) n *= std::size_t(c);
      std::vector<double> values(n);
      for (std::size_t i = 0; i < n; ++i) values[i] = 0.25 + double(i % 7);
      const std::vector<hsize_t> start(dims.size(), 0);
      H5Sselect_hyperslab(space, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr);
      const hid_t mem = H5Screate_simple(int(count.size()), count.data(), nullptr);
      H5Dwrite(ds, H5T_NATIVE_DOUBLE, mem, space, H5P_DEFAULT, values.data());
      H5Sclose(mem);
    }
    H5Dclose(ds);
    H5Pclose(dcpl);
    H5Sclose(space);
  };
  dataset("chain", spec.chain, spec.values, spec.written);
  dataset("log_prob", spec.log_prob, spec.values, spec.written);
  dataset("accepted", spec.accepted, H5T_IEEE_F64LE, spec.accepted_written);
  dataset("nabla_accepted_steps", spec.flags, H5T_STD_U8LE, spec.flags_written);
  H5Gclose(g);
  H5Fclose(f);
  return path;
}

// The IOError of reading the forged file `path` read-only (every accessor), or "no error".
std::string read_error(const std::string& path) {
  try {
    ns::HDFBackend b(path, "mcmc", true);
    if (b.initialized() && b.iteration() > 0) {
      (void)b.get_chain();
      (void)b.get_log_prob();
    }
    (void)b.accepted();
  } catch (const nabla::IOError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

// Headers whose values the file does not back: each is an IOError naming the file, the attribute or dataset and
// both numbers, raised before anything of the claimed size is allocated (before: a resume that spun with growing
// memory over 10^12 claimed steps, std::bad_alloc for 2^40 walkers).
TEST(SamplingChains, HeaderValuesAreCheckedAgainstTheFile) {
  const auto expect = [](const std::string& path, std::vector<std::string> needles) {
    const std::string m = read_error(path);
    EXPECT_NE(m.find(path), std::string::npos) << m;
    for (const auto& n : needles) EXPECT_NE(m.find(n), std::string::npos) << "'" << n << "' not in: " << m;
  };
  Forged good;
  EXPECT_EQ(read_error(forge("forged_good.h5", good)), "no error");  // the forger itself writes a valid chain
  Forged f = good;
  f.iteration = 1000;  // more steps than the datasets' shapes hold
  expect(forge("forged_iteration.h5", f), {"attribute 'iteration' = 1000", "dataset 'chain' has shape (3, 4, 2)"});
  f = good;
  f.iteration = 1000000000000;  // over datasets declared that long, 3 steps written
  f.chain[0] = f.log_prob[0] = 1000000000000;
  expect(forge("forged_long.h5", f), {"attribute 'iteration' = 1000000000000", "need 64000000000000 bytes",
                                      "dataset 'chain', which stores "});
  f.chain[0] = 3;  // the log_prob alone
  f.iteration = 3;
  f.log_prob[0] = 1000000000000;
  EXPECT_EQ(read_error(forge("forged_long_ok.h5", f)), "no error");  // declared, not claimed: fine
  f = good;
  f.nwalkers = 5;
  expect(forge("forged_nwalkers.h5", f), {"attribute 'nwalkers' = 5", "dataset 'chain' has shape (3, 4, 2)"});
  f = good;
  f.ndim = 3;
  expect(forge("forged_ndim.h5", f), {"attribute 'ndim' = 3", "dataset 'chain' has shape (3, 4, 2)"});
  f = good;
  f.accepted = {5};
  expect(forge("forged_accepted.h5", f), {"attribute 'nwalkers' = 4", "dataset 'accepted' has shape (5,)"});
  f = good;  // 2^40 walkers, every dataset declared to match, nothing stored
  f.nwalkers = std::int64_t(1) << 40;
  f.ndim = 1;
  f.iteration = 0;
  f.chain = {0, hsize_t(1) << 40, 1};
  f.log_prob = {0, hsize_t(1) << 40};
  f.accepted = {hsize_t(1) << 40};
  f.written = f.accepted_written = 0;
  expect(forge("forged_walkers.h5", f),
         {"attribute 'nwalkers' = 1099511627776", "need 8796093022208 bytes of dataset 'accepted', which stores 0"});
  f = good;  // Nabla's per-step flags declared for 10^12 steps: their 3 committed rows must be stored
  f.flags = {1000000000000, 4};
  EXPECT_EQ(read_error(forge("forged_flags.h5", f)), "no error");
  f.flags_written = 0;
  expect(forge("forged_flags_empty.h5", f),
         {"attribute 'iteration' = 3", "need 12 bytes of dataset 'nabla_accepted_steps', which stores 0"});
  f = good;  // no row written: the chain's chunks were never allocated
  f.written = 0;
  expect(forge("forged_unwritten.h5", f), {"attribute 'iteration' = 3", "dataset 'chain', which stores 0"});
  // The sampler resuming such a file gets the same IOError (before: a spin with growing memory).
  f = good;
  f.iteration = 1000000000000;
  f.chain[0] = f.log_prob[0] = 1000000000000;
  const std::string long_path = forge("forged_resume.h5", f);
  try {
    ns::SamplerOptions opt;
    opt.backend = std::make_shared<ns::HDFBackend>(long_path);
    ns::EnsembleSampler s(4, 2, nabla_test::Rosenbrock{}, opt);
    s.run_mcmc(10);
    ADD_FAILURE() << "no error";
  } catch (const nabla::IOError& e) {
    EXPECT_NE(std::string(e.what()).find("attribute 'iteration' = 1000000000000"), std::string::npos) << e.what();
  }
  // Steps outside the committed ones are refused rather than read from rows never written.
  ns::HDFBackend b(forge("forged_rows.h5", good), "mcmc", true);
  EXPECT_THROW(b.read_chain(2, 2), nabla::ValueError);
  EXPECT_THROW(b.read_log_prob(std::size_t(-1), 2), nabla::ValueError);
  EXPECT_EQ(b.read_chain(1, 2).size(), 2u * 4 * 2);
}

// emcee's HDFBackend(dtype=np.float32) stores chain and log_prob as 4-byte floats: such a file stores half the
// bytes a float64 one does, and is a valid chain (read with conversion), checked against its own element size.
TEST(SamplingChains, Float32ChainsAreCheckedInTheirOwnElementSize) {
  Forged f;
  f.values = H5T_IEEE_F32LE;
  const std::string path = forge("forged_f32.h5", f);
  ASSERT_EQ(read_error(path), "no error");
  ns::HDFBackend b(path, "mcmc", true);
  ASSERT_EQ(b.iteration(), 3u);
  const auto chain = b.get_chain();
  ASSERT_EQ(chain.size(), 3u * 4 * 2);
  for (std::size_t t = 0; t < 3; ++t)
    for (std::size_t w = 0; w < 4; ++w)
      for (std::size_t d = 0; d < 2; ++d)
        EXPECT_EQ(chain.view()(t, w, d), 0.25 + double(((t * 4 + w) * 2 + d) % 7)) << t << " " << w << " " << d;
  const auto lp = b.get_log_prob();
  for (std::size_t t = 0; t < 3; ++t)
    for (std::size_t w = 0; w < 4; ++w) EXPECT_EQ(lp.view()(t, w), 0.25 + double((t * 4 + w) % 7));
  // What a float32 file claims is still checked, in its element size: 3 steps x 4 walkers x 2 dims x 4 bytes.
  f.written = 0;
  const std::string empty = forge("forged_f32_empty.h5", f);
  const std::string m = read_error(empty);
  EXPECT_NE(m.find("need 96 bytes of dataset 'chain', which stores 0"), std::string::npos) << m;
}

// A corrupted chain header (a flipped byte in the group's object header): the resume fails with one line naming
// the file, and HDF5 closes without "infinite loop closing library" (HDF5 1.10 leaks a block when a header fails
// its checksum, so the library cannot finish closing; Nabla turns HDF5's own error printing off after an error).
TEST(SamplingChains, CorruptedHeaderEndsCleanly) {
  const std::string good = scratch("flip_good.h5"), bad = scratch("flip_bad.h5");
  ASSERT_TRUE(run_helper(good, 20));
  std::ifstream in(good, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The chain group's object header holds its attributes: the one before "nwalkers".
  const std::size_t attr = bytes.find("nwalkers"), header = bytes.rfind("OHDR", attr);
  ASSERT_NE(attr, std::string::npos);
  ASSERT_NE(header, std::string::npos);
  int refused = 0;
  for (std::size_t offset : {header + 6, header + 12, header + 40, attr, attr + 40}) {
    std::string flipped = bytes;
    flipped[offset] = char(flipped[offset] ^ 0xff);
    std::ofstream(bad, std::ios::binary | std::ios::trunc) << flipped;
    const std::string cmd = std::string(NABLA_SAMPLING_RESUME_HELPER) + " " + bad + " 30 0 2>&1";
    std::FILE* p = ::popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    std::string out;
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
    const int status = ::pclose(p);
    ASSERT_TRUE(WIFEXITED(status)) << "offset " << offset << ": " << out;
    EXPECT_EQ(out.find("infinite loop"), std::string::npos) << "offset " << offset << ": " << out;
    if (WEXITSTATUS(status) != 0) {
      ++refused;
      EXPECT_NE(out.find(bad), std::string::npos) << out;
      EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << "offset " << offset << ": " << out;
    }
  }
  EXPECT_GE(refused, 3);
}

namespace {
// Rows allocated to the chain dataset of `path` (read while its writer has it open: HDF5 shares the file).
std::size_t allocated_steps(const std::string& path) {
  return nabla::hdf5::File(path, nabla::hdf5::Mode::read).dims("mcmc/chain")[0];
}
}  // namespace

// A run extends its chain in bounded increments, each when the rows allocated run out, and the chain is the one
// a single extension gives (before: run_mcmc(10^12 steps) extended to the whole run first and filled the disk).
TEST(SamplingChains, ChainsGrowInBoundedIncrements) {
  const std::string whole = scratch("grow_whole.h5"), steps = scratch("grow_steps.h5");
  sample_to_file(whole, 95);
  EXPECT_EQ(allocated_steps(whole), 95u);  // 95 steps of 784 bytes: one extension of the default 64 MiB
  const std::size_t row = 16 * 5 * 8 + 16 * 9, increment = 10;
  ns::SamplerOptions opt;
  opt.seed = 11;
  auto b = std::make_shared<ns::HDFBackend>(steps);
  b->set_extension_bytes(increment * row);
  EXPECT_EQ(b->extension_bytes(), increment * row);
  opt.backend = b;
  ns::EnsembleSampler s(16, 5, nabla_test::Gaussian5{}, opt);
  std::size_t most = 0, checks = 0;
  s.run_mcmc(nabla_test::initial_state(16, 5, 1), 95, ns::Progress([&](std::size_t done, std::size_t) {
               const std::size_t rows = allocated_steps(steps);
               most = std::max(most, rows);
               EXPECT_GE(rows, done);
               EXPECT_LE(rows, done + increment) << "after " << done << " steps";
               EXPECT_FALSE(fs::exists(steps + ".nabla-extending"));
               ++checks;
             }));
  EXPECT_EQ(checks, 95u);
  EXPECT_EQ(most, 95u);  // never past the run's end
  EXPECT_EQ(allocated_steps(steps), 95u);
  expect_same_chain(whole, steps, 95);
  // Steps saved one by one (no run announced by grow): the allocation doubles, up to the increment.
  const std::string one = scratch("grow_one.h5");
  ns::HDFBackend c(one);
  c.reset(2, 1);
  c.set_extension_bytes(4 * (2 * 8 + 2 * 9));
  std::vector<std::size_t> seen;
  for (int t = 0; t < 12; ++t) {
    c.save_step({double(t), -double(t)}, {-1.0, -2.0}, {1, 0});
    seen.push_back(allocated_steps(one));
  }
  EXPECT_EQ(seen, (std::vector<std::size_t>{1, 2, 4, 4, 8, 8, 8, 8, 12, 12, 12, 12}));
  EXPECT_EQ(c.iteration(), 12u);
  EXPECT_EQ(c.accepted(), (std::vector<double>{12.0, 0.0}));
}

// Before each extension the file system must have room for it: a run that would not fit is an IOError naming the
// file and both byte counts, raised with every step before it committed; the chain then resumes. (Tested with an
// extension far larger than any disk: 10^15 steps at once.)
TEST(SamplingChains, ExtensionsNeedFreeSpace) {
  const std::string path = scratch("full.h5"), ref = scratch("full_ref.h5");
  sample_to_file(ref, 30);
  ns::SamplerOptions opt;
  opt.seed = 11;
  auto b = std::make_shared<ns::HDFBackend>(path);
  b->set_extension_bytes(5 * (16 * 5 * 8 + 16 * 9));  // 5 steps per extension
  opt.backend = b;
  const std::size_t huge = 1000000000000000;
  const auto expect_full = [&](auto&& run, std::size_t committed) {
    try {
      run();
      ADD_FAILURE() << "no error";
    } catch (const nabla::IOError& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find(path), std::string::npos) << m;
      EXPECT_NE(m.find(" needs "), std::string::npos) << m;
      EXPECT_NE(m.find(" bytes free; the " + std::to_string(committed) + " steps so far are committed"),
                std::string::npos)
          << m;
    }
    EXPECT_FALSE(fs::exists(path + ".nabla-extending"));
    EXPECT_EQ(ns::HDFBackend(path, "mcmc", true).iteration(), committed);
  };
  {
    ns::EnsembleSampler s(16, 5, nabla_test::Gaussian5{}, opt);
    // Mid-run: after 12 steps the increment becomes the whole run, and the extension at step 15 does not fit.
    expect_full([&] {
      s.run_mcmc(nabla_test::initial_state(16, 5, 1), huge, ns::Progress([&](std::size_t done, std::size_t) {
                   if (done == 12) b->set_extension_bytes(std::size_t(-1));
                 }));
    }, 15);
    // Up front: nothing is computed.
    expect_full([&] { s.run_mcmc(huge); }, 15);
  }
  b->set_extension_bytes(std::size_t(64) << 20);
  ns::EnsembleSampler s(16, 5, nabla_test::Gaussian5{}, opt);
  s.run_mcmc(15);
  b->close();
  expect_same_chain(ref, path, 30);
}

// An extension that fails after its marker is created (another writer filled the disk after the free-space
// check: ENOSPC; here the file-size limit, EFBIG, on a file system with room) leaves the marker, and the backend
// forgets its open file: the next access in the same process reopens the file and repairs it before writing
// (before: it wrote on into the possibly torn file, and its next extension deleted the marker). The continued
// chain equals an uninterrupted one.
TEST(SamplingChains, AFailedExtensionIsRepairedByTheNextAccess) {
  const std::string path = scratch("efbig.h5"), ref = scratch("efbig_ref.h5"), marker = path + ".nabla-extending";
  sample_to_file(ref, 300);
  ns::SamplerOptions opt;
  opt.seed = 11;
  auto b = std::make_shared<ns::HDFBackend>(path);
  b->set_extension_bytes(100 * (16 * 5 * 8 + 16 * 9));  // 100 steps per extension
  opt.backend = b;
  ns::EnsembleSampler s(16, 5, nabla_test::Gaussian5{}, opt);
  // 200 rows allocated, all used: the next step extends the chain past its first chunk (204 rows of 16 x 5), so
  // the file must grow.
  s.run_mcmc(nabla_test::initial_state(16, 5, 1), 200);
  ASSERT_EQ(allocated_steps(path), 200u);
  // Writes that would make the file larger than it is now fail (EFBIG; SIGXFSZ ignored), in this process only.
  struct rlimit old_limit;
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit limit = old_limit;
  limit.rlim_cur = rlim_t(fs::file_size(path));
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limit), 0);
  std::string error = "no error";
  try {
    s.run_mcmc(100);
  } catch (const nabla::IOError& e) {
    error = e.what();
  }
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, old_handler);
  ASSERT_NE(error, "no error") << "the extension did not fail under the file-size limit";
  std::cout << "[ failed ] " << error << "\n";
  EXPECT_TRUE(fs::exists(marker)) << "the failed extension removed its marker";
  // The same backend, in the same process: repaired on its next access, then continued.
  EXPECT_EQ(b->iteration(), 200u);
  EXPECT_FALSE(fs::exists(marker));
  s.run_mcmc(100);
  b->close();
  EXPECT_FALSE(fs::exists(marker));
  expect_same_chain(ref, path, 300);
}

// A writer stopped between HDF5's writes of an extension can leave the file shorter than its superblock records
// (the superblock written, the file not yet extended to match: HDF5 then refuses to open it, "truncated file").
// The tail is space the extension allocated after every committed row: the repair restores it as (sparse) zeros
// and the chain resumes. Made here by cutting the unwritten chunk the last extension allocated off a stopped run.
TEST(SamplingChains, AFileCutShortOfItsSuperblockIsRepaired) {
  const std::string ref = scratch("cut_ref.h5"), res = scratch("cut.h5"), marker = res + ".nabla-extending";
  const std::string extension = std::to_string(100 * (16 * 5 * 8 + 16 * 9));  // 100 steps per extension
  ASSERT_TRUE(run_helper(ref, 300, extension));
  // Stopped after step 201: the extension to 300 rows allocated the chain's second chunk (rows 204-407 of 16 x 5
  // doubles), never written, at the end of the file.
  run_and_kill(res, 300, 201, extension);
  const std::uintmax_t size = fs::file_size(res), chunk = 204 * 16 * 5 * 8;
  {
    std::ifstream in(res, std::ios::binary);
    in.seekg(std::streamoff(size - chunk));
    std::vector<char> tail(chunk);
    ASSERT_TRUE(in.read(tail.data(), std::streamsize(chunk)));
    if (std::any_of(tail.begin(), tail.end(), [](char c) { return c != 0; }))
      GTEST_SKIP() << "this HDF5 did not put the unwritten chunk at the end of the file";
  }
  fs::resize_file(res, size - chunk);
  std::ofstream(marker).put('\n');
  ASSERT_TRUE(run_helper(res, 300, extension)) << "resume of a file cut short of its superblock failed";
  EXPECT_FALSE(fs::exists(marker));
  expect_same_chain(ref, res, 300);
}

// Run settings recorded with the chain: a resume with the same settings continues it, one with a value changed,
// a key missing or a key added is a ValueError naming the file, the key and both values; emcee's layout is
// unchanged (one string attribute more), and a reset records the new settings.
TEST(SamplingChains, ResumeChecksTheRunSettings) {
  const std::string path = scratch("settings.h5");
  const ns::Settings settings{{"points", "100"}, {"sigma", "0.05"}, {"truth", "1.5,-0.7"}};
  auto make = [&](const ns::Settings& s) {
    ns::SamplerOptions opt;
    opt.seed = 11;
    opt.settings = s;
    opt.backend = std::make_shared<ns::HDFBackend>(path);
    return ns::EnsembleSampler(16, 5, nabla_test::Gaussian5{}, opt);
  };
  make(settings).run_mcmc(nabla_test::initial_state(16, 5, 1), 10);
  EXPECT_EQ(ns::HDFBackend(path, "mcmc", true).settings(), settings);
  EXPECT_EQ(nabla::hdf5::File(path, nabla::hdf5::Mode::read).attribute_string("mcmc", "nabla_settings"),
            "points=100\nsigma=0.05\ntruth=1.5,-0.7\n");
  const auto refused = [&](const ns::Settings& s) {
    try {
      make(s);
    } catch (const nabla::ValueError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  ns::Settings other = settings;
  other["sigma"] = "0.1";
  std::string m = refused(other);
  EXPECT_NE(m.find("'" + path + "'"), std::string::npos) << m;
  EXPECT_NE(m.find("was written with sigma = 0.05; this run has sigma = 0.1"), std::string::npos) << m;
  other = settings;
  other.erase("points");
  EXPECT_NE(refused(other).find("was written with points = 100; this run has points (unset)"), std::string::npos);
  other = settings;
  other["data"] = "fnv:0123";
  EXPECT_NE(refused(other).find("was written with data (unset); this run has data = fnv:0123"), std::string::npos);
  // Every differing key, in key order, on both sides (as a checkpoint's run settings).
  EXPECT_NE(refused({}).find("was written with points = 100, sigma = 0.05, truth = 1.5,-0.7; this run has points "
                             "(unset), sigma (unset), truth (unset)"),
            std::string::npos);
  EXPECT_NE(refused({{"points", "100"}, {"sigma", "0.05"}, {"truth", "1.5,-0.7"}, {"note", "a\nb"}})
                .find("run setting 'note' holds a newline or NUL"),
            std::string::npos);
  EXPECT_NE(refused({{"bad=key", "1"}}).find("'bad=key'"), std::string::npos);
  {
    auto s = make(settings);  // the same settings resume
    s.run_mcmc(5);
    EXPECT_EQ(s.iteration(), 15u);
  }
  // A chain written without settings (an older Nabla, emcee) refuses a run that has some, and takes one without.
  const std::string plain = scratch("plain.h5");
  sample_to_file(plain, 5);
  EXPECT_TRUE(ns::HDFBackend(plain, "mcmc", true).settings().empty());
  ns::SamplerOptions opt;
  opt.seed = 11;
  opt.settings = settings;
  opt.backend = std::make_shared<ns::HDFBackend>(plain);
  EXPECT_THROW(ns::EnsembleSampler(16, 5, nabla_test::Gaussian5{}, opt), nabla::ValueError);
  // reset() starts a new chain under the sampler's settings; set_settings refuses a chain that has steps.
  {
    opt.backend = std::make_shared<ns::HDFBackend>(path);
    opt.settings = settings;
    ns::EnsembleSampler again(16, 5, nabla_test::Gaussian5{}, opt);
    try {
      again.backend().set_settings({{"sigma", "0.2"}});
      ADD_FAILURE() << "no error";
    } catch (const nabla::ValueError& e) {  // names the file and its steps, and says when settings can be set
      const std::string what = e.what();
      EXPECT_NE(what.find(path), std::string::npos) << what;
      EXPECT_NE(what.find("holds 15 steps; set the settings while the chain is empty"), std::string::npos) << what;
    }
    again.backend().set_settings(settings);  // the same: nothing to write
    again.reset();
    EXPECT_EQ(again.iteration(), 0u);
    EXPECT_EQ(again.backend().settings(), settings);
  }
  opt.backend.reset();  // closes the file
  // A settings attribute edited into something else is an IOError naming it.
  {
    nabla::hdf5::File h(path, nabla::hdf5::Mode::readwrite);
    h.set_attribute("mcmc", "nabla_settings", "sigma=0.05\nno equals sign\n");
  }
  try {
    (void)ns::HDFBackend(path, "mcmc", true).settings();
    ADD_FAILURE() << "no error";
  } catch (const nabla::IOError& e) {
    EXPECT_NE(std::string(e.what()).find("'no equals sign'"), std::string::npos) << e.what();
  }
}
