/// \file 08_hmc.cpp
/// \brief Example 8: eight schools with Hamiltonian Monte Carlo over many chains, checked against quadrature.
///
/// Rubin's eight schools (the effect y_j ± σ_j of coaching in each school) in the non-centred form that
/// gradient samplers need: μ ~ N(0, 5²), τ ~ half-Cauchy(0, 5), z_j ~ N(0, 1), θ_j = μ + τ z_j, y_j ~ N(θ_j,
/// σ_j²). The sampler sees (μ, log τ, z_1..z_8); the log-density is one templated functor, differentiated by
/// dual numbers inside the kernel. The workflow:
///   1. HMC: warm-up adapts the step size, the trajectory length (ChEES) and a diagonal mass matrix across all
///      chains; then a block of transitions of every chain per kernel launch;
///   2. Stan's summary table (mean, MCSE, sd, quantiles, R-hat, bulk and tail ESS) of μ, τ and θ;
///   3. the exact posterior means by quadrature: θ integrates out analytically (y_j | μ, τ ~ N(μ, σ_j² + τ²)),
///      leaving a 2-D integral over (μ, log τ); every HMC mean should lie within a few MCSE of it;
///   4. metrics.json, and a PNG of τ's trace in four chains beside the funnel of (θ_1, log τ).
/// `--model logistic`: Bayesian logistic regression of the breast cancer data (569 tumours, 30 features; an
/// intercept and 30 coefficients with normal(0, 1) priors) as a batched target: one array program on the tape
/// gives every chain's log-density (a matmul over the data) and one reverse sweep all their gradients. Its
/// posterior means and variances are compared with a long Stan run of the same model.
/// The chains do not depend on the thread count: the printed checksum of the draws says so.
///
///   ./08_hmc                                       # 1024 chains, about 10 s on 2 cores
///   ./08_hmc --chains 4096 --steps 1000 --kokkos-num-threads=2
///   ./08_hmc --trajectory nuts                     # No-U-Turn trajectories instead of ChEES
///   ./08_hmc --model logistic                      # run from the repository root (the data and Stan's run)
#include "common/driver.hpp"
#include "common/logistic.hpp"
#include "common/plot.hpp"

#include <nabla/ad.hpp>
#include <nabla/sampling/diagnostics.hpp>
#include <nabla/sampling/hmc.hpp>
#include <nabla/sampling/mcmc/ensemble_sampler.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace ns = nabla::sampling;

namespace {

constexpr int J = 8;      // schools
constexpr int D = J + 2;  // μ, log τ, z_1..z_8

struct HmcOptions {
  static constexpr const char* name = "08_hmc";
  static constexpr const char* description =
      "Eight schools (non-centred) with Hamiltonian Monte Carlo over many chains: Stan's summary table, the "
      "posterior means against quadrature, a trace and funnel plot.";
  std::size_t chains = 1024, warmup = 500, steps = 300;
  std::uint64_t seed = 8;
  std::string out = "out/hmc", trajectory = "chees", model = "eight_schools";
  std::string data = "examples/data/breast_cancer.csv", reference = "tests/sampling/fixtures/stan_logistic.txt";
  bool plots = true;

  void add_to(CLI::App& app) {
    app.add_option("-c,--chains", chains, "chains, advanced in lockstep")
        ->check(CLI::Range(std::size_t(2), std::size_t(1) << 24))->capture_default_str();
    app.add_option("-w,--warmup", warmup, "adapting transitions (not stored)")
        ->check(CLI::Range(std::size_t(0), std::size_t(1) << 20))->capture_default_str();
    app.add_option("-s,--steps", steps, "stored transitions per chain")
        ->check(CLI::Range(std::size_t(4), std::size_t(1) << 20))->capture_default_str();
    app.add_option("-t,--trajectory", trajectory, "chees (a jittered length adapted across chains) or nuts (No-U-Turn)")
        ->check(CLI::IsMember({"chees", "nuts"}))->capture_default_str();
    app.add_option("-m,--model", model, "eight_schools (per-chain functor, dual numbers) or logistic (batched, the tape)")
        ->check(CLI::IsMember({"eight_schools", "logistic"}))->capture_default_str();
    app.add_option("--data", data, "the breast cancer CSV (--model logistic)")->capture_default_str();
    app.add_option("--reference", reference, "Stan's run of the logistic regression to compare with (skipped if absent)")
        ->capture_default_str();
    app.add_option("--seed", seed, "random seed")->capture_default_str();
    app.add_option("-o,--out", out, "output directory")->capture_default_str();
    app.add_flag("!--no-plots", plots, "skip the PNG plot");
  }
  std::string validate() const {
    const int dim = model == "logistic" ? nabla_examples::BreastCancer::dim : D;
    if (double(chains) * double(steps) * dim * 8 > double(std::size_t(1) << 36))
      return "--chains " + std::to_string(chains) + " x --steps " + std::to_string(steps) +
             " would store more than 64 GiB of draws";
    return {};
  }
};

/// log p(μ, log τ, z | y) up to a constant, generic in its scalar so that duals differentiate it.
struct EightSchools {
  Kokkos::Array<double, J> y{28, 8, -3, 7, -1, 1, 18, 12}, sigma{15, 10, 16, 11, 9, 11, 10, 18};

  template <class T>
  KOKKOS_INLINE_FUNCTION T operator()(const Kokkos::Array<T, D>& q) const {
    using nabla::math::exp;
    using nabla::math::log1p;
    const T mu = q[0], log_tau = q[1], tau = exp(log_tau);
    T lp = -mu * mu / 50.0 - log1p(tau * tau / 25.0) + log_tau;  // N(0, 5²), half-Cauchy(0, 5), Jacobian of τ
    for (int j = 0; j < J; ++j) {
      const T r = (y[j] - mu - tau * q[2 + j]) / sigma[j];
      lp -= 0.5 * (q[2 + j] * q[2 + j] + r * r);
    }
    return lp;
  }
};

/// Posterior means and sds of μ, τ, θ_1..θ_8 by quadrature over (μ, log τ), θ integrated out analytically.
struct Reference {
  double mean[D], sd[D];
};
Reference quadrature() {
  const EightSchools data;
  const auto &y = data.y, &sigma = data.sigma;
  const double mu_lo = -40, mu_hi = 50, s_lo = -12, s_hi = 7, h_mu = 0.05, h_s = 0.01;
  const int n_mu = int((mu_hi - mu_lo) / h_mu), n_s = int((s_hi - s_lo) / h_s);
  // Weights of the grid, then moments; log-weights first, so nothing underflows before normalising.
  std::vector<double> logw(std::size_t(n_mu) * n_s);
  double top = -1e300;
  for (int b = 0; b < n_s; ++b) {
    const double s = s_lo + (b + 0.5) * h_s, tau = std::exp(s);
    for (int a = 0; a < n_mu; ++a) {
      const double mu = mu_lo + (a + 0.5) * h_mu;
      double lw = -mu * mu / 50.0 - std::log1p(tau * tau / 25.0) + s;
      for (int j = 0; j < J; ++j) {
        const double v = sigma[j] * sigma[j] + tau * tau;
        lw -= 0.5 * ((y[j] - mu) * (y[j] - mu) / v + std::log(v));
      }
      logw[std::size_t(b) * n_mu + a] = lw;
      top = std::max(top, lw);
    }
  }
  double z = 0, m1[D] = {}, m2[D] = {};
  for (int b = 0; b < n_s; ++b) {
    const double tau = std::exp(s_lo + (b + 0.5) * h_s);
    for (int a = 0; a < n_mu; ++a) {
      const double mu = mu_lo + (a + 0.5) * h_mu, w = std::exp(logw[std::size_t(b) * n_mu + a] - top);
      z += w;
      m1[0] += w * mu;
      m2[0] += w * mu * mu;
      m1[1] += w * tau;
      m2[1] += w * tau * tau;
      for (int j = 0; j < J; ++j) {  // θ_j | μ, τ, y: the precision-weighted mean of y_j and μ
        const double prec = 1.0 / (sigma[j] * sigma[j]) + 1.0 / (tau * tau);
        const double m = (y[j] / (sigma[j] * sigma[j]) + mu / (tau * tau)) / prec;
        m1[2 + j] += w * m;
        m2[2 + j] += w * (m * m + 1.0 / prec);
      }
    }
  }
  Reference r;
  for (int i = 0; i < D; ++i) {
    r.mean[i] = m1[i] / z;
    r.sd[i] = std::sqrt(m2[i] / z - r.mean[i] * r.mean[i]);
  }
  return r;
}

/// hmc.png: parameter `traced`'s trace in four chains beside the pairs (x_px, x_py) of every chain at a few steps
/// (log x_py when log_y).
struct PlotSpec {
  std::string title, traced_label, x_label, y_label;
  int traced, px, py;
  bool log_y;
};
bool plot(const std::string& dir, const ns::HostArray<double, 3>& x, const PlotSpec& p) {
  const std::size_t steps = x.extent(0), chains = x.extent(1);
  std::vector<double> t(steps), tr[4];
  for (std::size_t s = 0; s < steps; ++s) t[s] = double(s);
  for (int c = 0; c < 4; ++c)
    for (std::size_t s = 0; s < steps; ++s) tr[c].push_back(x.view()(s, std::size_t(c) % chains, p.traced));
  nabla::examples::write_columns(dir + "/trace.dat", "transition " + p.traced_label + "(chain 0..3)",
                                 {&t, &tr[0], &tr[1], &tr[2], &tr[3]});
  std::vector<double> px, py;
  for (std::size_t s = 0; s < steps; s += std::max<std::size_t>(1, steps / 8))
    for (std::size_t c = 0; c < chains; ++c) {
      px.push_back(x.view()(s, c, p.px));
      py.push_back(p.log_y ? std::log(x.view()(s, c, p.py)) : x.view()(s, c, p.py));
    }
  nabla::examples::write_columns(dir + "/pair.dat", p.x_label + " " + p.y_label, {&px, &py});
  const std::string gp =
      "set multiplot layout 1,2 title '" + p.title + "'\n"
      "set xlabel 'transition'; set ylabel '" + p.traced_label + "'; set key top right\n"
      "plot for [c=2:5] 'trace.dat' u 1:c w l lw 1 title sprintf('chain %d', c-2)\n"
      "set xlabel '" + p.x_label + "'; set ylabel '" + p.y_label + "'; unset key\n"
      "plot 'pair.dat' u 1:2 w p pt 7 ps 0.2 lc '#1f77b4'\n"
      "unset multiplot";
  return nabla::examples::plot_png(dir, "hmc", gp, "1100,500");
}

/// Stan's summary table of the draws, then the lowest E-BFMI over chains (returned).
double print_posterior(const std::vector<ns::Summary>& rows, const std::vector<std::string>& names,
                       const std::vector<double>& ebfmi) {
  std::ostringstream table;
  ns::print_summary(table, rows, names);
  std::printf("2. posterior (Stan's summary layout):\n");
  std::istringstream lines(table.str());
  for (std::string line; std::getline(lines, line);) std::printf("   %s\n", line.c_str());
  double lowest = 1e300;
  for (double e : ebfmi) lowest = std::min(lowest, e);
  std::printf("   lowest E-BFMI over chains %.3f (below 0.3 warns of poor exploration)\n", lowest);
  return lowest;
}

/// ChEES's adapted trajectory length, or NUTS's tree depths.
template <class Sampler>
void print_trajectory(const HmcOptions& o, const Sampler& sampler) {
  if (o.trajectory == "chees") {
    std::printf("   trajectory length %.3g (ChEES)\n", sampler.trajectory_length());
    return;
  }
  const auto depth = sampler.stats().tree_depth;
  double mean = 0.0, deepest = 0.0;
  for (std::size_t k = 0; k < depth.size(); ++k) {
    mean += depth.data()[k] / double(depth.size());
    deepest = std::max(deepest, depth.data()[k]);
  }
  std::printf("   tree depth: mean %.2f, deepest %.0f\n", mean, deepest);
}

/// metrics.json: the model's own entries in m, then the run's.
template <class Sampler>
void write_metrics(nabla::examples::Summary& m, const HmcOptions& o, const Sampler& sampler, double seconds,
                   double ebfmi, double largest_z, const std::string& checksum) {
  m.set("model", o.model);
  m.set("chains", double(o.chains));
  m.set("warmup", double(o.warmup));
  m.set("steps", double(o.steps));
  m.set("seconds", seconds);
  m.set("step_size", sampler.step_size());
  m.set("trajectory", o.trajectory);
  m.set("trajectory_length", sampler.trajectory_length());
  m.set("gradient_evaluations", double(sampler.gradient_evaluations()));
  m.set("divergences", double(sampler.divergences()));
  m.set("min_ebfmi", ebfmi);
  m.set("largest_z", largest_z);
  m.set("checksum", checksum);
  m.write(o.out + "/metrics.json");
}

void eight_schools(const HmcOptions& o) {
  Kokkos::Timer timer;
  ns::HmcOptions opt;
  opt.seed = o.seed;
  opt.trajectory = o.trajectory == "nuts" ? ns::HmcTrajectory::nuts : ns::HmcTrajectory::chees;
  ns::HamiltonianSampler<D, EightSchools> sampler(o.chains, EightSchools{}, opt);
  sampler.run(ns::gaussian_ball(std::vector<double>(D, 0.0), 1.0, o.chains, o.seed + 1), o.steps, o.warmup);
  const double seconds = timer.seconds();
  std::printf("1. HMC (%s): %zu chains x (%zu warm-up + %zu) transitions in %.2f s; step size %.3g, %zu "
              "gradients; %zu divergent transitions (%zu in warm-up)\n",
              o.trajectory.c_str(), o.chains, o.warmup, o.steps, seconds, sampler.step_size(),
              sampler.gradient_evaluations(), sampler.divergences(), sampler.warmup_divergences());
  print_trajectory(o, sampler);

  // The reported quantities: μ, τ = exp(log τ), θ_j = μ + τ z_j.
  const auto q = sampler.get_chain();
  ns::HostArray<double, 3> x({o.steps, o.chains, std::size_t(D)});
  for (std::size_t s = 0; s < o.steps; ++s)
    for (std::size_t c = 0; c < o.chains; ++c) {
      const double mu = q.view()(s, c, 0), tau = std::exp(q.view()(s, c, 1));
      x.view()(s, c, 0) = mu;
      x.view()(s, c, 1) = tau;
      for (int j = 0; j < J; ++j) x.view()(s, c, 2 + j) = mu + tau * q.view()(s, c, 2 + j);
    }
  std::vector<std::string> names{"mu", "tau"};
  for (int j = 1; j <= J; ++j) names.push_back("theta[" + std::to_string(j) + "]");
  const auto rows = ns::summarize(x);
  const double ebfmi = print_posterior(rows, names, sampler.ebfmi());

  const Reference ref = quadrature();
  std::printf("3. against quadrature (exact posterior means):\n   %-9s %10s %10s %8s %8s\n", "", "exact", "HMC",
              "MCSE", "z");
  nabla::examples::Summary m;
  double worst = 0;
  for (int i = 0; i < D; ++i) {
    const double z = (rows[i].mean - ref.mean[i]) / rows[i].mcse_mean;
    worst = std::max(worst, std::abs(z));
    std::printf("   %-9s %10.4f %10.4f %8.4f %8.2f\n", names[i].c_str(), ref.mean[i], rows[i].mean,
                rows[i].mcse_mean, z);
    std::string k = names[i];
    if (i >= 2) k = "theta" + std::to_string(i - 1);
    m.set(k + "_mean", rows[i].mean);
    m.set(k + "_exact_mean", ref.mean[i]);
    m.set(k + "_exact_sd", ref.sd[i]);
    m.set(k + "_sd", rows[i].sd);
    m.set(k + "_mcse", rows[i].mcse_mean);
    m.set(k + "_rhat", rows[i].rhat);
    m.set(k + "_ess_bulk", rows[i].ess_bulk);
    m.set(k + "_ess_tail", rows[i].ess_tail);
  }
  std::printf("   largest |HMC - exact| / MCSE: %.2f\n", worst);
  const std::string checksum = nabla::examples::bits_checksum(q);
  std::printf("   checksum of the draws %s\n", checksum.c_str());

  write_metrics(m, o, sampler, seconds, ebfmi, worst, checksum);
  // The funnel non-centring avoids: (θ_1, log τ).
  const bool plotted = o.plots && plot(o.out, x, {"Eight schools, HMC", "tau", "theta_1", "log tau", 1, 2, 1, true});
  std::printf("4. wrote %s: metrics.json, %s\n", o.out.c_str(), plotted ? "hmc.png" : "no plot");
}

void logistic(const HmcOptions& o) {
  using nabla_examples::BreastCancer;
  constexpr int K = BreastCancer::dim;
  const auto data = nabla_examples::read_breast_cancer(o.data);
  Kokkos::Timer timer;
  ns::HmcOptions opt;
  opt.seed = o.seed;
  opt.trajectory = o.trajectory == "nuts" ? ns::HmcTrajectory::nuts : ns::HmcTrajectory::chees;
  ns::HamiltonianSampler<K, nabla_examples::LogisticRegression> sampler(o.chains, {data}, opt);
  sampler.run(ns::gaussian_ball(std::vector<double>(K, 0.0), 0.5, o.chains, o.seed + 1), o.steps, o.warmup);
  const double seconds = timer.seconds();
  std::printf("1. HMC (%s) of a batched target, every chain's gradient from one reverse sweep of the tape: %zu "
              "chains x (%zu warm-up + %zu) transitions in %.2f s; step size %.3g; %zu chain-gradients (%.3g per s); "
              "%zu divergent transitions (%zu in warm-up)\n",
              o.trajectory.c_str(), o.chains, o.warmup, o.steps, seconds, sampler.step_size(),
              sampler.gradient_evaluations(), double(sampler.gradient_evaluations()) / seconds,
              sampler.divergences(), sampler.warmup_divergences());
  print_trajectory(o, sampler);
  // Lockstep: every transition lasts as long as its longest trajectory, the chains done before it masked.
  const auto leapfrog = sampler.stats().leapfrog;
  double used = 0.0, paid = 0.0;
  for (std::size_t t = 0; t < leapfrog.extent(0); ++t) {
    double longest = 0.0;
    for (std::size_t c = 0; c < leapfrog.extent(1); ++c) {
      used += leapfrog.view()(t, c);
      longest = std::max(longest, leapfrog.view()(t, c));
    }
    paid += longest * double(leapfrog.extent(1));
  }
  std::printf("   lockstep: %.0f %% of the chain-gradients evaluated while sampling were on a trajectory (the rest "
              "masked)\n", 100.0 * used / paid);
  const auto x = sampler.get_chain();
  std::vector<std::string> names;
  for (int k = 0; k < K; ++k) names.push_back("beta[" + std::to_string(k) + "]");
  const auto rows = ns::summarize(x);
  const double ebfmi = print_posterior(rows, names, sampler.ebfmi());

  nabla::examples::Summary m;
  double worst = 0;
  std::ifstream reference(o.reference);
  if (!reference) {
    std::printf("3. no Stan reference at %s: comparison skipped\n", o.reference.c_str());
  } else {
    const auto stan =
        nabla_examples::compare_with_stan(x, nabla_examples::read_stan_reference(reference, o.reference), rows);
    std::printf("3. against a long Stan run (%s): z = difference / combined MCSE\n   %-9s %9s %9s %6s %9s %9s %6s\n",
                o.reference.c_str(), "", "Stan mean", "HMC mean", "z", "Stan var", "HMC var", "z");
    for (int k = 0; k < K; ++k) {
      const auto& c = stan.coefficients[std::size_t(k)];
      std::printf("   %-9s %9.4f %9.4f %6.2f %9.4f %9.4f %6.2f\n", names[k].c_str(), c.stan_mean, c.mean, c.z_mean,
                  c.stan_var, c.var, c.z_var);
      const std::string key = "beta" + std::to_string(k);
      m.set(key + "_z_mean", c.z_mean);
      m.set(key + "_z_var", c.z_var);
    }
    worst = stan.largest_z;
    std::printf("   largest |z|: %.2f\n", worst);
  }
  for (int k = 0; k < K; ++k) {
    const std::string key = "beta" + std::to_string(k);
    m.set(key + "_mean", rows[k].mean);
    m.set(key + "_sd", rows[k].sd);
    m.set(key + "_rhat", rows[k].rhat);
    m.set(key + "_ess_bulk", rows[k].ess_bulk);
  }
  const std::string checksum = nabla::examples::bits_checksum(x);
  std::printf("   checksum of the draws %s\n", checksum.c_str());
  write_metrics(m, o, sampler, seconds, ebfmi, worst, checksum);
  // The coefficients of two nearly collinear features, mean radius and mean perimeter.
  const bool plotted = o.plots && plot(o.out, x,
                                       {"Breast cancer logistic regression, HMC on a batched target",
                                        "beta[1] (mean radius)", "beta[1] (mean radius)", "beta[3] (mean perimeter)",
                                        1, 1, 3, false});
  std::printf("4. wrote %s: metrics.json, %s\n", o.out.c_str(), plotted ? "hmc.png" : "no plot");
}

}  // namespace

int main(int argc, char** argv) {
  nabla::ScopeGuard runtime(argc, argv);
  HmcOptions o;
  if (int rc = nabla::examples::parse(o, argc, argv); rc >= 0) return rc;

  try {
    nabla::io::make_directories(o.out);
    if (o.model == "logistic") logistic(o);
    else eight_schools(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "08_hmc: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
