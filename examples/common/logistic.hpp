/// \file logistic.hpp
/// \brief Bayesian logistic regression on the breast cancer data (examples/data/breast_cancer.csv: 569 tumours,
/// 30 features, class 1 = benign) as a batched HMC target: every feature standardised (mean 0, sd with n − 1, as
/// R's scale()), an intercept first, each coefficient with a normal(0, 1) prior. The model of
/// tests/sampling/fixtures/make_stan_logistic.R, whose long Stan run is the reference.
#pragma once

#include <nabla/ad/ops.hpp>
#include <nabla/core/array.hpp>
#include <nabla/core/error.hpp>
#include <nabla/nn/csv.hpp>

#include <array>
#include <cmath>
#include <fstream>
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
inline std::map<std::string, std::array<double, 4>> read_stan_reference(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw nabla::IOError("read_stan_reference: cannot open " + path);
  std::map<std::string, std::array<double, 4>> ref;
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

}  // namespace nabla_examples
