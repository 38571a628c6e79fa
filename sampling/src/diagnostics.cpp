/// \file diagnostics.cpp
/// \brief R-hat, ESS and MCSE as Stan computes them (rstan's monitor.R, Stan's C++ autocovariance), nested R-hat.
#include <nabla/sampling/diagnostics.hpp>

#include <nabla/core/error.hpp>

#include "mcmc/autocovariance.hpp"

#if defined(__NVCC__)
#pragma nv_diag_suppress 20208  // Boost.Math's constexpr long double helpers: host code here, never on a device
#endif
#include <boost/math/distributions/normal.hpp>
#include <boost/math/special_functions/beta.hpp>

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <numeric>
#include <ostream>
#include <sstream>

namespace nabla {
namespace sampling {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A parameter's draws as R's sims matrix: n draws × m chains, chain after chain.
struct Sims {
  std::size_t n = 0, m = 0;
  std::vector<double> v;
  const double* chain(std::size_t c) const { return v.data() + c * n; }
};

Sims sims_of(const Draws& x, const char* who) {
  const std::size_t n = x.extent(0), m = x.extent(1);
  if (n == 0 || m == 0)
    throw ValueError(nabla::impl::cat("nabla::sampling::", who, ": no draws (draws × chains = ", n, " × ", m, ")"));
  Sims s{n, m, std::vector<double>(n * m)};
  for (std::size_t c = 0; c < m; ++c)
    for (std::size_t i = 0; i < n; ++i) s.v[c * n + i] = x.view()(i, c);
  return s;
}

template <class F>
Sims map(Sims s, F f) {
  for (double& a : s.v) a = f(a);
  return s;
}

// Each chain's first and second halves become two chains (the middle draw of an odd length is dropped); all first
// halves come first, as rstan's split_chains orders them.
Sims split(const Sims& s) {
  if (s.n == 1) return s;
  const std::size_t h = s.n / 2, second = s.n - h;
  Sims out{h, 2 * s.m, std::vector<double>(2 * h * s.m)};
  for (std::size_t c = 0; c < s.m; ++c) {
    std::copy_n(s.chain(c), h, out.v.begin() + c * h);
    std::copy_n(s.chain(c) + second, h, out.v.begin() + (s.m + c) * h);
  }
  return out;
}

double mean(const double* a, std::size_t n) { return std::accumulate(a, a + n, 0.0) / double(n); }

// Sample variance (n - 1 in the denominator).
double var(const double* a, std::size_t n) {
  const double mu = mean(a, n);
  double s = 0.0;
  for (std::size_t i = 0; i < n; ++i) s += (a[i] - mu) * (a[i] - mu);
  return s / double(n - 1);
}

// Stan returns NA for draws it cannot judge: non-finite or constant ones.
bool undefined(const Sims& s) {
  for (double a : s.v)
    if (!std::isfinite(a)) return true;
  const auto mm = std::minmax_element(s.v.begin(), s.v.end());
  return std::abs(*mm.second - *mm.first) < std::numeric_limits<double>::epsilon();
}

// NaN draws have no rank: every diagnostic of them is NaN. Infinite ones have, and rank-based diagnostics use them.
bool any_nan(const Sims& s) {
  return std::any_of(s.v.begin(), s.v.end(), [](double a) { return std::isnan(a); });
}

// Ranks with ties averaged, then normal scores Φ⁻¹((r − ½) / S).
Sims z_scale(Sims s) {
  const std::size_t S = s.v.size();
  std::vector<std::size_t> order(S);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return s.v[a] < s.v[b]; });
  std::vector<double> rank(S);
  for (std::size_t i = 0; i < S;) {
    std::size_t j = i;
    while (j + 1 < S && s.v[order[j + 1]] == s.v[order[i]]) ++j;
    const double r = 0.5 * double(i + j) + 1.0;
    for (std::size_t k = i; k <= j; ++k) rank[order[k]] = r;
    i = j + 1;
  }
  const boost::math::normal_distribution<double> normal;
  for (std::size_t i = 0; i < S; ++i) s.v[i] = boost::math::quantile(normal, (rank[i] - 0.5) / double(S));
  return s;
}

// Split-free R-hat of chains already split (rstan's rhat_rfun).
double rhat_of(const Sims& s) {
  if (undefined(s) || s.m < 2 || s.n < 2) return kNaN;
  std::vector<double> means(s.m), vars(s.m);
  for (std::size_t c = 0; c < s.m; ++c) {
    means[c] = mean(s.chain(c), s.n);
    vars[c] = var(s.chain(c), s.n);
  }
  const double between = double(s.n) * var(means.data(), s.m);
  const double within = mean(vars.data(), s.m);
  return std::sqrt((between / within + double(s.n) - 1.0) / double(s.n));
}

// ESS of chains already split: Geyer's initial positive then monotone sequence over the cross-chain
// autocorrelations, with the antithetic improvement and the cap S log10 S (rstan's ess_rfun).
double ess_of(const Sims& s) {
  const std::size_t n = s.n, m = s.m;
  if (n < 3 || undefined(s)) return kNaN;
  std::vector<double> mean_acov(n, 0.0), means(m);
  for (std::size_t c = 0; c < m; ++c) {
    const auto ac = impl::autocovariance(std::vector<double>(s.chain(c), s.chain(c) + n));
    for (std::size_t t = 0; t < n; ++t) mean_acov[t] += ac[t];
    means[c] = mean(s.chain(c), n);
  }
  for (double& a : mean_acov) a /= double(m);
  const double mean_var = mean_acov[0] * double(n) / double(n - 1);
  double var_plus = mean_var * double(n - 1) / double(n);
  if (m > 1) var_plus += var(means.data(), m);
  const auto rho_at = [&](std::size_t t) { return 1.0 - (mean_var - mean_acov[t]) / var_plus; };

  std::vector<double> rho(n, 0.0);
  double even = 1.0, odd = rho_at(1);
  rho[0] = even;
  rho[1] = odd;
  std::size_t t = 0;
  while (t + 5 < n && !std::isnan(even + odd) && even + odd > 0.0) {
    t += 2;
    even = rho_at(t);
    odd = rho_at(t + 1);
    if (even + odd >= 0.0) {
      rho[t] = even;
      rho[t + 1] = odd;
    }
  }
  const std::size_t max_t = t;
  if (even > 0.0) rho[max_t] = even;
  for (t = 2; t + 2 <= max_t; t += 2) {
    if (rho[t] + rho[t + 1] > rho[t - 2] + rho[t - 1]) {
      rho[t] = rho[t + 1] = 0.5 * (rho[t - 2] + rho[t - 1]);
    }
  }
  // R sums rho_hat_t[1:max_t], which is the first element alone when max_t is 0.
  const double sum = std::accumulate(rho.begin(), rho.begin() + std::max<std::size_t>(max_t, 1), 0.0);
  const double total = double(m * n);
  const double tau = std::max(-1.0 + 2.0 * sum + rho[max_t], 1.0 / std::log10(total));
  return total / tau;
}

double min_or_nan(double a, double b) { return std::isnan(a) || std::isnan(b) ? kNaN : std::min(a, b); }

std::vector<double> sorted(const Sims& s) {
  auto v = s.v;
  std::sort(v.begin(), v.end());
  return v;
}

// R's type-7 quantile, evaluated as R evaluates it.
double quantile_sorted(const std::vector<double>& v, double prob) {
  const double index = double(v.size() - 1) * prob;
  const auto lo = std::size_t(std::floor(index)), hi = std::size_t(std::ceil(index));
  const double h = index - double(lo);
  return h > 0.0 && v[hi] != v[lo] ? (1.0 - h) * v[lo] + h * v[hi] : v[lo];
}

void check_prob(double prob, const char* who) {
  if (!(prob > 0.0 && prob < 1.0))
    throw ValueError(nabla::impl::cat("nabla::sampling::", who, ": prob must lie in (0, 1), got ", prob));
}

Sims below(const Sims& s, double q) {
  return map(s, [q](double a) { return a <= q ? 1.0 : 0.0; });
}

double ess_quantile_of(const Sims& s, double prob) {
  if (undefined(s)) return kNaN;  // NaN and infinite draws too
  return ess_of(split(below(s, quantile_sorted(sorted(s), prob))));
}

double sd_of(const Sims& s) { return std::sqrt(var(s.v.data(), s.v.size())); }

// The diagnostics of one parameter's draws (free of NaN where rank-based), from what they share: `sorted_v` is
// s.v sorted, `zs` the z-scaled split chains, `ess_mean` the ESS of the split chains (summarize computes each
// once per parameter).
double rhat_of_draws(const Sims& s, const std::vector<double>& sorted_v, const Sims& zs) {
  const double median = quantile_sorted(sorted_v, 0.5);
  const double bulk = rhat_of(zs);
  const double tail = rhat_of(z_scale(split(map(s, [median](double a) { return std::abs(a - median); }))));
  return std::isnan(bulk) || std::isnan(tail) ? kNaN : std::max(bulk, tail);
}

double ess_tail_of_draws(const Sims& s, const std::vector<double>& sorted_v) {
  return min_or_nan(ess_of(split(below(s, quantile_sorted(sorted_v, 0.05)))),
                    ess_of(split(below(s, quantile_sorted(sorted_v, 0.95)))));
}

double ess_sd_of_draws(const Sims& s, double ess_mean) {
  return min_or_nan(ess_mean, ess_of(split(map(s, [](double a) { return a * a; }))));
}

double mcse_sd_of_draws(const Sims& s, double ess_sd) {
  return sd_of(s) * std::sqrt(std::exp(1.0) * std::pow(1.0 - 1.0 / ess_sd, ess_sd - 1.0) - 1.0);
}
}  // namespace

double rhat(const Draws& x) {
  const Sims s = sims_of(x, "rhat");
  return any_nan(s) ? kNaN : rhat_of_draws(s, sorted(s), z_scale(split(s)));
}

double ess_bulk(const Draws& x) {
  const Sims s = sims_of(x, "ess_bulk");
  return any_nan(s) ? kNaN : ess_of(z_scale(split(s)));
}

double ess_tail(const Draws& x) {
  const Sims s = sims_of(x, "ess_tail");
  return any_nan(s) ? kNaN : ess_tail_of_draws(s, sorted(s));
}

double ess_mean(const Draws& x) { return ess_of(split(sims_of(x, "ess_mean"))); }

double ess_sd(const Draws& x) {
  const Sims s = sims_of(x, "ess_sd");
  return ess_sd_of_draws(s, ess_of(split(s)));
}

double ess_quantile(const Draws& x, double prob) {
  check_prob(prob, "ess_quantile");
  return ess_quantile_of(sims_of(x, "ess_quantile"), prob);
}

double mcse_mean(const Draws& x) {
  const Sims s = sims_of(x, "mcse_mean");
  return sd_of(s) / std::sqrt(ess_of(split(s)));
}

double mcse_sd(const Draws& x) {
  const Sims s = sims_of(x, "mcse_sd");
  return mcse_sd_of_draws(s, ess_sd_of_draws(s, ess_of(split(s))));
}

// Half the width of the central ±1σ interval of the quantile's posterior under a Beta(ess p + 1, ess (1 - p) + 1)
// model of its rank (rstan's conv_quantile).
double mcse_quantile(const Draws& x, double prob) {
  check_prob(prob, "mcse_quantile");
  const Sims s = sims_of(x, "mcse_quantile");
  const double ess = ess_quantile_of(s, prob);
  if (std::isnan(ess)) return kNaN;
  const auto v = sorted(s);
  const double S = double(v.size());
  const auto order_stat = [&](double p) {
    const double a = boost::math::ibeta_inv(ess * prob + 1.0, ess * (1.0 - prob) + 1.0, p);
    const double i = std::min(std::max(std::nearbyint(a * S), 1.0), S);
    return v[std::size_t(i) - 1];
  };
  return 0.5 * (order_stat(0.8413447) - order_stat(0.1586553));
}

double quantile(const Draws& x, double prob) {
  if (!(prob >= 0.0 && prob <= 1.0))
    throw ValueError(nabla::impl::cat("nabla::sampling::quantile: prob must lie in [0, 1], got ", prob));
  const Sims s = sims_of(x, "quantile");
  return any_nan(s) ? kNaN : quantile_sorted(sorted(s), prob);
}

double nested_rhat(const Draws& x, std::size_t superchains) {
  const Sims s = sims_of(x, "nested_rhat");
  const std::size_t K = superchains;
  if (K < 2 || s.m % K != 0)
    throw ValueError(nabla::impl::cat("nabla::sampling::nested_rhat: ", s.m, " chains do not form ", K,
                                      " superchains of equal size (at least 2 superchains are needed)"));
  if (undefined(s)) return kNaN;
  const std::size_t M = s.m / K;
  std::vector<double> chain_mean(s.m), super_mean(K), within(K);
  for (std::size_t c = 0; c < s.m; ++c) chain_mean[c] = mean(s.chain(c), s.n);
  for (std::size_t k = 0; k < K; ++k) {
    super_mean[k] = mean(s.chain(k * M), M * s.n);
    const double between_chains = M > 1 ? var(&chain_mean[k * M], M) : 0.0;
    double within_chains = 0.0;
    if (s.n > 1)
      for (std::size_t c = k * M; c < (k + 1) * M; ++c) within_chains += var(s.chain(c), s.n) / double(M);
    within[k] = between_chains + within_chains;
  }
  return std::sqrt(1.0 + var(super_mean.data(), K) / mean(within.data(), K));
}

std::vector<Summary> summarize(const Array<double, 3, Kokkos::HostSpace>& chain) {
  const std::size_t n = chain.extent(0), m = chain.extent(1), P = chain.extent(2);
  if (n == 0 || m == 0)
    throw ValueError(nabla::impl::cat("nabla::sampling::summarize: no draws (draws × chains = ", n, " × ", m, ")"));
  std::vector<Summary> rows;
  rows.reserve(P);
  Sims s{n, m, std::vector<double>(n * m)};
  for (std::size_t p = 0; p < P; ++p) {
    for (std::size_t c = 0; c < m; ++c)
      for (std::size_t i = 0; i < n; ++i) s.v[c * n + i] = chain.view()(i, c, p);
    const bool nan = any_nan(s);  // NaN draws have no rank: no z-scale, no quantile
    const auto v = nan ? std::vector<double>{} : sorted(s);
    const Sims zs = nan ? Sims{} : z_scale(split(s));
    const double ess_mean = ess_of(split(s));
    Summary r{};
    r.mean = mean(s.v.data(), s.v.size());
    r.sd = s.v.size() > 1 ? sd_of(s) : kNaN;
    r.q05 = nan ? kNaN : quantile_sorted(v, 0.05);
    r.q50 = nan ? kNaN : quantile_sorted(v, 0.5);
    r.q95 = nan ? kNaN : quantile_sorted(v, 0.95);
    r.mcse_mean = sd_of(s) / std::sqrt(ess_mean);
    r.mcse_sd = mcse_sd_of_draws(s, ess_sd_of_draws(s, ess_mean));
    r.rhat = nan ? kNaN : rhat_of_draws(s, v, zs);
    r.ess_bulk = nan ? kNaN : ess_of(zs);
    r.ess_tail = nan ? kNaN : ess_tail_of_draws(s, v);
    rows.push_back(r);
  }
  return rows;
}

void print_summary(std::ostream& os, const std::vector<Summary>& rows, const std::vector<std::string>& names) {
  if (!names.empty() && names.size() != rows.size())
    throw ValueError(nabla::impl::cat("nabla::sampling::print_summary: ", names.size(), " names for ", rows.size(),
                                      " parameters"));
  std::vector<std::string> label(rows.size());
  std::size_t width = 8;
  for (std::size_t p = 0; p < rows.size(); ++p) {
    label[p] = names.empty() ? nabla::impl::cat("x[", p, "]") : names[p];
    width = std::max(width, label[p].size() + 1);
  }
  std::ostringstream out;
  out << std::left << std::setw(int(width)) << "" << std::right;
  for (const char* h : {"mean", "se_mean", "sd", "5%", "50%", "95%"}) out << std::setw(10) << h;
  out << std::setw(8) << "Rhat" << std::setw(10) << "Bulk_ESS" << std::setw(10) << "Tail_ESS" << "\n";
  for (std::size_t p = 0; p < rows.size(); ++p) {
    const Summary& r = rows[p];
    out << std::left << std::setw(int(width)) << label[p] << std::right << std::setprecision(4);
    for (double v : {r.mean, r.mcse_mean, r.sd, r.q05, r.q50, r.q95}) out << std::setw(10) << v;
    out << std::fixed << std::setprecision(3) << std::setw(8) << r.rhat << std::setprecision(0) << std::setw(10)
        << r.ess_bulk << std::setw(10) << r.ess_tail << std::defaultfloat << "\n";
  }
  os << out.str();
}

}  // namespace sampling
}  // namespace nabla
