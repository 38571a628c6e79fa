/// \file logistic.hpp
/// \brief Bayesian logistic regression on the breast cancer data (examples/data/breast_cancer.csv: 569 tumours,
/// 30 features, class 1 = benign) as a batched HMC target: every feature standardised (mean 0, sd with n − 1, as
/// R's scale()), an intercept first, each coefficient with a normal(0, 1) prior. The model of
/// tests/sampling/fixtures/make_stan_logistic.R, whose long Stan run is the reference (compare_with_stan).
#pragma once

#include <nabla/ad/ops.hpp>
#include <nabla/core/array.hpp>
#include <nabla/core/error.hpp>
#include <nabla/nn/csv.hpp>
#include <nabla/sampling/diagnostics.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <istream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace nabla_examples {

/// The design matrix transposed (ones, then the standardised features: (1 + 30) × 569) and the classes (1 × 569).
struct BreastCancer {
  static constexpr int features = 30, dim = features + 1;
  nabla::Array<double, 2> xt, y;
  std::size_t rows = 0;
};

/// Reads the file (its first line is sklearn's "rows,features,names..." line, then one tumour per line).
inline BreastCancer read_breast_cancer(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw nabla::IOError("read_breast_cancer: cannot open " + path);
  std::string first;
  std::getline(in, first);
  std::stringstream rest;
  rest << in.rdbuf();
  nabla::nn::CsvOptions opt;
  opt.header = false;
  opt.label_column = std::to_string(BreastCancer::features);
  const auto csv = nabla::nn::parse_csv(rest.str(), path, opt);
  if (csv.num_features() != std::size_t(BreastCancer::features) || csv.classes.size() != 2)
    throw nabla::ValueError(nabla::impl::cat("read_breast_cancer: ", path, " has ", csv.num_features(),
                                             " features and ", csv.classes.size(), " classes, not 30 and 2"));
  const std::size_t n = csv.rows, f = BreastCancer::features;
  BreastCancer d{nabla::Array<double, 2>({f + 1, n}, "breast_cancer::xt"),
                 nabla::Array<double, 2>({1, n}, "breast_cancer::y"), n};
  const auto xt = Kokkos::create_mirror_view(d.xt.view());
  const auto y = Kokkos::create_mirror_view(d.y.view());
  for (std::size_t j = 0; j < n; ++j) {
    xt(0, j) = 1.0;
    y(0, j) = std::stod(csv.classes[std::size_t(csv.labels[j])]);
  }
  for (std::size_t i = 0; i < f; ++i) {
    double mean = 0.0, ss = 0.0;
    for (std::size_t j = 0; j < n; ++j) mean += csv.features[j * f + i] / double(n);
    for (std::size_t j = 0; j < n; ++j) ss += (csv.features[j * f + i] - mean) * (csv.features[j * f + i] - mean);
    const double sd = std::sqrt(ss / double(n - 1));
    for (std::size_t j = 0; j < n; ++j) xt(i + 1, j) = (csv.features[j * f + i] - mean) / sd;
  }
  Kokkos::deep_copy(d.xt.view(), xt);
  Kokkos::deep_copy(d.y.view(), y);
  return d;
}

/// log p(β | data) of every chain at once: chains × 31 positions in, one log-density per chain out. The
/// log-likelihood y z − log(1 + eᶻ) with z = β·x is written log(1 + eᶻ) = (z + |z|) / 2 + log1p(e^−|z|), finite
/// for any z.
struct LogisticRegression {
  BreastCancer data;
  nabla::ad::Var<double, 1> operator()(const nabla::ad::Var<double, 2>& beta) const {
    namespace ad = nabla::ad;
    ad::Tape& tape = *beta.tape();
    const auto z = ad::matmul(beta, tape.constant(data.xt));  // chains × rows
    const auto y = tape.constant(data.y);
    const auto loglik = ad::sum(y * z - 0.5 * (z + ad::abs(z)) - ad::log1p(ad::exp(-ad::abs(z))), nabla::axis{1});
    return ad::eval(loglik - 0.5 * ad::sum(beta * beta, nabla::axis{1}));
  }
};

/// The long Stan run (tests/sampling/fixtures/stan_logistic.txt): per coefficient "beta<k>", its posterior mean,
/// variance, and their Monte Carlo standard errors.
using StanReference = std::map<std::string, std::array<double, 4>>;

/// Reads Stan's run from `in`, the file `path` (named in errors).
inline StanReference read_stan_reference(std::istream& in, const std::string& path) {
  StanReference ref;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream is(line);
    std::string name;
    std::array<double, 4> v{};
    if (!(is >> name >> v[0] >> v[1] >> v[2] >> v[3]))
      throw nabla::ValueError("read_stan_reference: " + path + ": a line is not 'name mean variance mcse mcse': " + line);
    ref[name] = v;
  }
  if (ref.size() != std::size_t(BreastCancer::dim))
    throw nabla::ValueError(nabla::impl::cat("read_stan_reference: ", path, " has ", ref.size(), " coefficients, not ",
                                             BreastCancer::dim));
  return ref;
}
inline StanReference read_stan_reference(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw nabla::IOError("read_stan_reference: cannot open " + path);
  return read_stan_reference(in, path);
}

/// A run's posterior means and variances against Stan's, per coefficient, each with z = difference / combined MCSE.
struct StanComparison {
  struct Coefficient {
    double stan_mean, mean, z_mean, stan_var, var, z_var;
  };
  std::vector<Coefficient> coefficients;
  double largest_z = 0.0;  // of every |z|
};

/// Compares `chain` (draws × chains × coefficients, as get_chain() returns it; `summary` = summarize(chain), which
/// the caller has anyway) with Stan's run. A variance is the mean squared deviation from the mean, its MCSE that of
/// the squared deviations as draws.
inline StanComparison compare_with_stan(const nabla::Array<double, 3, Kokkos::HostSpace>& chain,
                                        const StanReference& reference,
                                        const std::vector<nabla::sampling::Summary>& summary) {
  const std::size_t n = chain.extent(0), C = chain.extent(1);
  StanComparison out;
  for (std::size_t k = 0; k < chain.extent(2); ++k) {
    const auto& r = reference.at("beta" + std::to_string(k));
    const nabla::sampling::Summary& row = summary.at(k);
    nabla::sampling::Draws dev({n, C});
    double var = 0;
    for (std::size_t t = 0; t < n; ++t)
      for (std::size_t c = 0; c < C; ++c) {
        dev.view()(t, c) = (chain.view()(t, c, k) - row.mean) * (chain.view()(t, c, k) - row.mean);
        var += dev.view()(t, c) / double(n * C);
      }
    const double z_mean = (row.mean - r[0]) / std::hypot(row.mcse_mean, r[2]);
    const double z_var = (var - r[1]) / std::hypot(nabla::sampling::mcse_mean(dev), r[3]);
    out.coefficients.push_back({r[0], row.mean, z_mean, r[1], var, z_var});
    out.largest_z = std::max({out.largest_z, std::abs(z_mean), std::abs(z_var)});
  }
  return out;
}

}  // namespace nabla_examples
