// Convergence diagnostics against rstan's own implementations on stored chains (fixtures/), nested R-hat against
// an independent NumPy transcription of Margossian et al.'s formula, ESS against the AR(1) closed form, and the
// errors and NaNs of bad input.
#include "common/python.hpp"

#include <nabla/core/random.hpp>
#include <nabla/sampling/diagnostics.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace ns = nabla::sampling;

namespace {

struct Case {
  std::string name;
  ns::Draws x;
  std::map<std::string, double> expected;
};

double parse(const std::string& s) {
  if (s == "inf" || s == "-inf") return s[0] == '-' ? -INFINITY : INFINITY;
  return s == "nan" ? std::nan("") : std::stod(s);
}

std::vector<Case> rstan_cases() {
  std::ifstream in(NABLA_SAMPLING_FIXTURES "/rstan_diagnostics.txt");
  EXPECT_TRUE(in.good()) << NABLA_SAMPLING_FIXTURES "/rstan_diagnostics.txt";
  std::vector<Case> cases;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string key;
    ls >> key;
    if (key == "case") {
      std::size_t n, m;
      Case c;
      ls >> c.name >> n >> m;
      c.x = ns::Draws({n, m});
      cases.push_back(std::move(c));
    } else if (key == "x") {
      auto& x = cases.back().x;
      std::string v;
      for (std::size_t c = 0; c < x.extent(1); ++c)
        for (std::size_t i = 0; i < x.extent(0); ++i) {
          ls >> v;
          x.view()(i, c) = parse(v);
        }
    } else {
      std::string v;
      ls >> v;
      cases.back().expected[key] = parse(v);
    }
  }
  return cases;
}

// AR(1) chains x_t = ρ x_{t-1} + √(1-ρ²) ε_t from stationarity, drawn with core's counter-based normals.
ns::Draws ar1(std::size_t n, std::size_t m, double rho, std::uint64_t seed, double shift_last_chain = 0.0) {
  ns::Draws x({n, m});
  for (std::size_t c = 0; c < m; ++c) {
    nabla::random::NormalStream z(nabla::random::fold_in(nabla::random::key(seed), c), 0);
    double v = z();
    for (std::size_t i = 0; i < n; ++i) {
      if (i > 0) v = rho * v + std::sqrt(1.0 - rho * rho) * z();
      x.view()(i, c) = v + (c + 1 == m ? shift_last_chain : 0.0);
    }
  }
  return x;
}

}  // namespace

TEST(Diagnostics, AgreeWithRstan) {
  const auto cases = rstan_cases();
  ASSERT_EQ(cases.size(), 11u);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::map<std::string, double> ours = {
        {"Rhat", ns::rhat(c.x)},
        {"ess_bulk", ns::ess_bulk(c.x)},
        {"ess_tail", ns::ess_tail(c.x)},
        {"ess_mean", ns::ess_mean(c.x)},
        {"ess_sd", ns::ess_sd(c.x)},
        {"ess_q05", ns::ess_quantile(c.x, 0.05)},
        {"mcse_mean", ns::mcse_mean(c.x)},
        {"mcse_sd", ns::mcse_sd(c.x)},
        {"mcse_q05", ns::mcse_quantile(c.x, 0.05)},
        {"mcse_q50", ns::mcse_quantile(c.x, 0.5)},
        {"mcse_q95", ns::mcse_quantile(c.x, 0.95)},
        {"q05", ns::quantile(c.x, 0.05)},
        {"q50", ns::quantile(c.x, 0.5)},
        {"q95", ns::quantile(c.x, 0.95)}};
    ASSERT_EQ(c.expected.size(), ours.size());
    for (const auto& [key, want] : c.expected) {
      const double got = ours.at(key);
      if (std::isnan(want)) {
        EXPECT_TRUE(std::isnan(got)) << key << " = " << got << ", rstan says NA";
      } else if (std::isinf(want)) {
        EXPECT_EQ(got, want) << key;
      } else {
        EXPECT_NEAR(got, want, 1e-6 * std::abs(want)) << key;
      }
    }
  }
}

// For an AR(1) chain τ = (1 + ρ) / (1 − ρ): ESS of the mean ≈ S (1 − ρ) / (1 + ρ). 8 chains × 4000 draws estimate it
// within a few percent; the bulk ESS of a Gaussian chain is close to the same number.
TEST(Diagnostics, EssMatchesTheAr1ClosedForm) {
  for (double rho : {0.0, 0.5, 0.9, -0.5}) {
    SCOPED_TRACE(rho);
    const auto x = ar1(4000, 8, rho, 11);
    const double S = 4000.0 * 8.0, want = S * (1.0 - rho) / (1.0 + rho);
    EXPECT_NEAR(ns::ess_mean(x) / want, 1.0, 0.12);
    EXPECT_NEAR(ns::ess_bulk(x) / want, 1.0, 0.12);
    EXPECT_LT(ns::rhat(x), 1.01);
    // MCSE of the mean: sd / √ESS with sd = 1.
    EXPECT_NEAR(ns::mcse_mean(x) * std::sqrt(want), 1.0, 0.08);
  }
}

TEST(Diagnostics, RhatFlagsChainsThatDisagree) {
  EXPECT_LT(ns::rhat(ar1(500, 4, 0.5, 3)), 1.01);
  EXPECT_GT(ns::rhat(ar1(500, 4, 0.5, 3, 2.0)), 1.1);  // one chain shifted by 2 sd
  // A chain with four times the spread: the bulk R-hat barely moves, the folded (tail) one does.
  auto x = ar1(1000, 4, 0.0, 5);
  for (std::size_t i = 0; i < 1000; ++i) x.view()(i, 3) *= 4.0;
  EXPECT_GT(ns::rhat(x), 1.05);
}

// Nested R-hat against NumPy evaluating eqs. 15-19 of Margossian et al. (2024) directly.
TEST(Diagnostics, NestedRhatMatchesNumPy) {
  std::string out;
  const std::string dir = std::filesystem::temp_directory_path() / ("nabla_diag_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  if (nabla_test::python("import numpy\n", dir + "/probe.py", {}, out) != 0)
    GTEST_SKIP() << "/usr/bin/python3 has no numpy";
  const char* script = R"(import sys, numpy as np
x = np.loadtxt(sys.argv[1], ndmin=2)          # draws x chains
K = int(sys.argv[2]); N, C = x.shape; M = C // K
chains = x.T.reshape(K, M, N)                 # superchain, chain, draw
chain_mean = chains.mean(axis=2)
super_mean = chains.reshape(K, M * N).mean(axis=1)
B_nu = ((super_mean - super_mean.mean()) ** 2).sum() / (K - 1)
B_k = ((chain_mean - chain_mean.mean(axis=1, keepdims=True)) ** 2).sum(axis=1) / (M - 1) if M > 1 else np.zeros(K)
W_k = chains.var(axis=2, ddof=1).mean(axis=1) if N > 1 else np.zeros(K)
print(repr(float(np.sqrt(1 + B_nu / (B_k + W_k).mean()))))
)";
  struct Shape {
    std::size_t draws, chains, superchains;
    double shift;
  };
  for (const Shape s : {Shape{10, 64, 8, 0.0}, Shape{10, 64, 8, 1.0}, Shape{1, 128, 16, 0.0}, Shape{50, 8, 8, 0.0},
                        Shape{5, 256, 4, 0.3}}) {
    SCOPED_TRACE(::testing::Message() << s.draws << " draws, " << s.chains << " chains, " << s.superchains
                                      << " superchains");
    auto x = ar1(s.draws, s.chains, 0.6, 21);
    // Superchain k starts from its own point: offset k·shift.
    const std::size_t M = s.chains / s.superchains;
    for (std::size_t c = 0; c < s.chains; ++c)
      for (std::size_t i = 0; i < s.draws; ++i) x.view()(i, c) += s.shift * double(c / M);
    const std::string data = dir + "/draws.txt";
    {
      std::ofstream f(data);
      f.precision(17);
      for (std::size_t i = 0; i < s.draws; ++i) {
        for (std::size_t c = 0; c < s.chains; ++c) f << (c ? " " : "") << x.view()(i, c);
        f << "\n";
      }
    }
    ASSERT_EQ(nabla_test::python(script, dir + "/nested.py", {data, std::to_string(s.superchains)}, out), 0) << out;
    const double want = std::stod(out);
    EXPECT_NEAR(ns::nested_rhat(x, s.superchains), want, 1e-12 * want);
    if (s.shift == 0.0 && s.draws > 1) EXPECT_LT(ns::nested_rhat(x, s.superchains), 1.1);
    if (s.shift >= 1.0) EXPECT_GT(ns::nested_rhat(x, s.superchains), 1.2);
  }
  std::filesystem::remove_all(dir);
}

TEST(Diagnostics, SummaryOfAChainIsItsParametersDiagnostics) {
  // Two parameters: an AR(1) chain and twice it plus one.
  const auto a = ar1(400, 6, 0.3, 9);
  nabla::Array<double, 3, Kokkos::HostSpace> chain({400, 6, 2});
  for (std::size_t c = 0; c < 6; ++c)
    for (std::size_t i = 0; i < 400; ++i) {
      chain.view()(i, c, 0) = a.view()(i, c);
      chain.view()(i, c, 1) = 2.0 * a.view()(i, c) + 1.0;
    }
  const auto rows = ns::summarize(chain);
  ASSERT_EQ(rows.size(), 2u);
  double mean = 0.0;
  for (std::size_t c = 0; c < 6; ++c)
    for (std::size_t i = 0; i < 400; ++i) mean += a.view()(i, c) / 2400.0;
  EXPECT_NEAR(rows[0].mean, mean, 1e-12);
  EXPECT_EQ(rows[0].rhat, ns::rhat(a));
  EXPECT_EQ(rows[0].ess_bulk, ns::ess_bulk(a));
  EXPECT_EQ(rows[0].ess_tail, ns::ess_tail(a));
  EXPECT_EQ(rows[0].mcse_mean, ns::mcse_mean(a));
  EXPECT_EQ(rows[0].q05, ns::quantile(a, 0.05));
  // Rank-based diagnostics do not change under an increasing affine map; location and scale ones follow it.
  EXPECT_NEAR(rows[1].rhat, rows[0].rhat, 1e-12);
  EXPECT_NEAR(rows[1].ess_bulk, rows[0].ess_bulk, 1e-9);
  EXPECT_NEAR(rows[1].mean, 2.0 * rows[0].mean + 1.0, 1e-12);
  EXPECT_NEAR(rows[1].sd, 2.0 * rows[0].sd, 1e-12);
  EXPECT_NEAR(rows[1].mcse_mean, 2.0 * rows[0].mcse_mean, 1e-12);

  std::ostringstream os;
  ns::print_summary(os, rows, {"alpha", "beta"});
  std::istringstream lines(os.str());
  std::string header, row0, row1, extra;
  std::getline(lines, header);
  std::getline(lines, row0);
  std::getline(lines, row1);
  EXPECT_FALSE(std::getline(lines, extra));
  for (const char* col : {"mean", "se_mean", "sd", "5%", "50%", "95%", "Rhat", "Bulk_ESS", "Tail_ESS"})
    EXPECT_NE(header.find(col), std::string::npos) << col;
  EXPECT_EQ(row0.rfind("alpha", 0), 0u);
  EXPECT_EQ(row1.rfind("beta", 0), 0u);
  EXPECT_EQ(row0.size(), header.size());
  EXPECT_THROW(ns::print_summary(os, rows, {"only one"}), nabla::ValueError);
}

// summarize shares sorts, z-scales and autocovariances between its columns: each must still equal its function,
// bit for bit, also where draws hold a NaN, an infinity or one constant value.
TEST(Diagnostics, SummarizeEqualsEachFunction) {
  const auto a = ar1(150, 4, 0.6, 3);
  const double inf = std::numeric_limits<double>::infinity();
  nabla::Array<double, 3, Kokkos::HostSpace> chain({150, 4, 4});
  for (std::size_t c = 0; c < 4; ++c)
    for (std::size_t i = 0; i < 150; ++i) {
      chain.view()(i, c, 0) = a.view()(i, c);
      chain.view()(i, c, 1) = i == 7 && c == 2 ? std::nan("") : a.view()(i, c);
      chain.view()(i, c, 2) = i == 9 && c == 1 ? inf : a.view()(i, c);
      chain.view()(i, c, 3) = 2.5;
    }
  const auto rows = ns::summarize(chain);
  ASSERT_EQ(rows.size(), 4u);
  const auto same = [](double x, double y) { return (std::isnan(x) && std::isnan(y)) || x == y; };
  for (std::size_t p = 0; p < 4; ++p) {
    ns::Draws x({150, 4});
    for (std::size_t c = 0; c < 4; ++c)
      for (std::size_t i = 0; i < 150; ++i) x.view()(i, c) = chain.view()(i, c, p);
    const auto& r = rows[p];
    EXPECT_PRED2(same, r.q05, ns::quantile(x, 0.05)) << p;
    EXPECT_PRED2(same, r.q50, ns::quantile(x, 0.5)) << p;
    EXPECT_PRED2(same, r.q95, ns::quantile(x, 0.95)) << p;
    EXPECT_PRED2(same, r.mcse_mean, ns::mcse_mean(x)) << p;
    EXPECT_PRED2(same, r.mcse_sd, ns::mcse_sd(x)) << p;
    EXPECT_PRED2(same, r.rhat, ns::rhat(x)) << p;
    EXPECT_PRED2(same, r.ess_bulk, ns::ess_bulk(x)) << p;
    EXPECT_PRED2(same, r.ess_tail, ns::ess_tail(x)) << p;
  }
  EXPECT_TRUE(std::isnan(rows[1].rhat) && std::isnan(rows[3].rhat));
  EXPECT_TRUE(std::isfinite(rows[0].ess_tail) && std::isfinite(rows[2].q50));
}

TEST(Diagnostics, BadInputIsAnErrorOrNaN) {
  const ns::Draws empty({0, 4});
  try {
    ns::rhat(empty);
    FAIL() << "no error for zero draws";
  } catch (const nabla::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("no draws (draws × chains = 0 × 4)"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ns::ess_bulk(ns::Draws({100, 0})), nabla::ValueError);
  const auto x = ar1(100, 8, 0.5, 1);
  EXPECT_THROW(ns::ess_quantile(x, 1.0), nabla::ValueError);
  EXPECT_THROW(ns::mcse_quantile(x, -0.1), nabla::ValueError);
  try {
    ns::nested_rhat(x, 3);
    FAIL() << "no error for 8 chains in 3 superchains";
  } catch (const nabla::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("8 chains do not form 3 superchains"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ns::nested_rhat(x, 1), nabla::ValueError);

  // What Stan calls NA: constant draws, NaN draws, too few draws for an autocorrelation.
  const ns::Draws constant({50, 4});
  EXPECT_TRUE(std::isnan(ns::rhat(constant)));
  EXPECT_TRUE(std::isnan(ns::ess_bulk(constant)));
  EXPECT_TRUE(std::isnan(ns::nested_rhat(constant, 2)));
  // NaN draws have no rank (infinite ones do: fixtures' with_inf case).
  auto nan = ar1(50, 4, 0.5, 2);
  nan.view()(7, 2) = NAN;
  for (double v : {ns::rhat(nan), ns::ess_bulk(nan), ns::ess_tail(nan), ns::ess_mean(nan), ns::mcse_mean(nan),
                   ns::mcse_quantile(nan, 0.5), ns::quantile(nan, 0.5), ns::nested_rhat(nan, 2)})
    EXPECT_TRUE(std::isnan(v)) << v;
  EXPECT_TRUE(std::isnan(ns::ess_bulk(ar1(5, 4, 0.5, 3))));  // split halves of 2 draws
}
