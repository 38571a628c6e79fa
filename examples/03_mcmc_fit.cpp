/// \file 03_mcmc_fit.cpp
/// \brief Example 3: a Bayesian curve fit with ensemble MCMC, the log-likelihood a fused reduction.
///
/// Synthetic data: y_i = A x_i^a (1 - x_i)^b + N(0, σ²) at N points in (0, 1) — a parton-distribution-like
/// shape. The workflow of emcee's "fitting a model to data" tutorial:
///   1. a maximum-likelihood start: Levenberg–Marquardt, where JᵀJ and Jᵀr are nine fused reductions over the
///      data; its (JᵀJ/σ²)⁻¹ is the Laplace approximation of the posterior covariance;
///   2. the affine-invariant ensemble sampler (stretch move) from a small ball around it; every walker's
///      log-likelihood −½ Σ ((y − A exp(a log x + b log(1−x))) / σ)² is ONE fused reduction over the N points;
///      flat priors on a box;
///   3. the chain goes to an HDF5 file in emcee's layout (`emcee.backends.HDFBackend(path).get_chain()` reads
///      it), flushed every step, so `--resume` continues a killed run exactly; a fresh run writes chain.partial.h5
///      and renames it onto chain.h5 when complete, so the previous run's chain and metrics.json stay until then;
///   4. posterior means ± std against the true values and against the Laplace standard deviations, the
///      integrated autocorrelation times, Stan's R-hat and bulk/tail ESS, and a corner plot.
///
///   ./03_mcmc_fit                                 # defaults: about 30 s on 2 cores
///   ./03_mcmc_fit --points 200000 --steps 3000 --kokkos-num-threads=2
#include "common/driver.hpp"
#include "common/plot.hpp"

#include <nabla/sampling.hpp>
#include <nabla/sampling/diagnostics.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

namespace ns = nabla::sampling;

namespace {

using Options = nabla::examples::McmcFitOptions;
constexpr int D = Options::D;  // A, a, b
using Vec = Options::Vec;
using Mat = std::array<Vec, D>;
constexpr auto names = Options::names;
const char* const keys[D] = {"A", "alpha", "beta"};  // metrics.json keys (JSON readers often fold case)

/// The data and the fused reductions over it.
struct Data {
  nabla::Array<double, 1> logx, log1mx, y;
  double inv_sigma;

  /// The model's residuals (y - f(x; θ)) / σ as a lazy expression: nothing is evaluated until it is reduced.
  auto residual(const Vec& t) const { return (y - t[0] * nabla::exp(t[1] * logx + t[2] * log1mx)) * inv_sigma; }

  double chi2(const Vec& t) const {
    const double r = nabla::norm(residual(t));  // one kernel over the N points
    return r * r;
  }

  /// JᵀJ and Jᵀr of the residuals at θ (J = ∂f/∂θ / σ): nine fused reductions over x^a (1-x)^b, which is
  /// evaluated once (every derivative and the residual share it).
  void normal_equations(const Vec& t, Mat& jtj, Vec& jtr) const {
    const auto e = nabla::eval(nabla::exp(t[1] * logx + t[2] * log1mx));
    const auto f = t[0] * e * inv_sigma;  // f/σ
    const auto dA = e * inv_sigma;
    const auto da = f * logx, db = f * log1mx;
    const auto r = (y - t[0] * e) * inv_sigma;
    jtj[0][0] = nabla::sum(dA * dA);
    jtj[0][1] = nabla::sum(dA * da);
    jtj[0][2] = nabla::sum(dA * db);
    jtj[1][1] = nabla::sum(da * da);
    jtj[1][2] = nabla::sum(da * db);
    jtj[2][2] = nabla::sum(db * db);
    jtj[1][0] = jtj[0][1];
    jtj[2][0] = jtj[0][2];
    jtj[2][1] = jtj[1][2];
    jtr = {nabla::sum(dA * r), nabla::sum(da * r), nabla::sum(db * r)};
  }
};

bool inverse(const Mat& m, Mat& inv) {
  const double det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
                     m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
                     m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  if (!(std::abs(det) > 0) || !std::isfinite(det)) return false;
  for (int i = 0; i < D; ++i)
    for (int j = 0; j < D; ++j) {
      const int r0 = (j + 1) % D, r1 = (j + 2) % D, c0 = (i + 1) % D, c1 = (i + 2) % D;
      inv[i][j] = (m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0]) / det;  // adjugate, transposed
    }
  return true;
}

/// Levenberg–Marquardt from `start`; returns the maximum-likelihood θ and JᵀJ there.
Vec max_likelihood(const Data& data, Vec t, Mat& jtj, int& iterations) {
  double lambda = 1e-3, c = data.chi2(t);
  Vec g;
  data.normal_equations(t, jtj, g);
  for (iterations = 1; iterations <= 200; ++iterations) {
    bool moved = false, converged = false;
    while (lambda < 1e12) {
      Mat damped = jtj, inv;
      for (int i = 0; i < D; ++i) damped[i][i] *= 1.0 + lambda;
      if (!inverse(damped, inv)) break;
      Vec next = t;
      for (int i = 0; i < D; ++i)
        for (int j = 0; j < D; ++j) next[i] += inv[i][j] * g[j];
      const double cn = data.chi2(next);
      if (cn < c) {
        const double drop = c - cn;
        t = next;
        c = cn;
        lambda = std::max(lambda / 10, 1e-12);
        moved = true;
        converged = !(drop > 1e-9 * c);
        break;
      }
      lambda *= 10;
    }
    if (moved) data.normal_equations(t, jtj, g);  // at the new θ: the next step's system, or the Laplace covariance
    if (!moved || converged) break;
  }
  return t;
}

bool write_corner(const std::string& dir, const std::vector<double>& flat, std::size_t n, const Vec& truth,
                  const Vec& mean, const Vec& sd) {
  // Samples (thinned to at most 5000 for the scatter panels) and 40-bin histograms, one column pair per parameter.
  const std::size_t every = std::max<std::size_t>(1, n / 5000);
  std::string s = "# A a b\n";
  char buf[96];
  for (std::size_t i = 0; i < n; i += every) {
    std::snprintf(buf, sizeof buf, "%.10g %.10g %.10g\n", flat[i * D], flat[i * D + 1], flat[i * D + 2]);
    s += buf;
  }
  nabla::io::write_file_atomic(dir + "/samples.dat", s);
  const int bins = 40;
  std::vector<std::vector<double>> cols;
  for (int d = 0; d < D; ++d) {
    const double lo = mean[d] - 4 * sd[d], hi = mean[d] + 4 * sd[d], w = (hi - lo) / bins;
    std::vector<double> c(bins), h(bins, 0.0);
    for (int b = 0; b < bins; ++b) c[b] = lo + (b + 0.5) * w;
    for (std::size_t i = 0; i < n; ++i) {
      const double v = flat[i * D + d];
      if (v >= lo && v < hi) h[std::size_t((v - lo) / w)] += 1.0 / (double(n) * w);
    }
    cols.push_back(c);
    cols.push_back(h);
  }
  nabla::examples::write_columns(dir + "/histograms.dat", "A density a density b density",
                                 {&cols[0], &cols[1], &cols[2], &cols[3], &cols[4], &cols[5]});
  std::string gp = "set multiplot layout 3,3 title 'Posterior of A x^a (1-x)^b (dashed: true values)'\n"
                   "set tics font ',8'; set format x '%.4g'; set format y '%.4g'; unset key\n"
                   "set xtics rotate by 35 right\n";
  for (int row = 0; row < D; ++row)
    for (int col = 0; col < D; ++col) {
      if (col > row) {
        gp += "set multiplot next\n";
        continue;
      }
      // Every panel of a column shares the x range (and every scatter panel of a row the y range): mean ± 4 std.
      std::snprintf(buf, sizeof buf, "set xrange [%.10g:%.10g]\n", mean[col] - 4 * sd[col], mean[col] + 4 * sd[col]);
      gp += buf;
      if (row == col)
        gp += "set yrange [0:*]\n";
      else {
        std::snprintf(buf, sizeof buf, "set yrange [%.10g:%.10g]\n", mean[row] - 4 * sd[row], mean[row] + 4 * sd[row]);
        gp += buf;
      }
      gp += "unset arrow\nset xlabel '" + std::string(names[col]) + "'; set ylabel '" +
            (row == col ? std::string("density") : std::string(names[row])) + "'\n";
      std::snprintf(buf, sizeof buf, "set arrow from %.10g, graph 0 to %.10g, graph 1 nohead dt 2 lc 'black'\n",
                    truth[col], truth[col]);
      gp += buf;
      if (row == col) {
        std::snprintf(buf, sizeof buf, "plot 'histograms.dat' u %d:%d w steps lw 2 lc '#1f77b4'\n", 2 * col + 1,
                      2 * col + 2);
      } else {
        gp += std::string("set arrow from graph 0, first ") + std::to_string(truth[row]) + " to graph 1, first " +
              std::to_string(truth[row]) + " nohead dt 2 lc 'black'\n";
        std::snprintf(buf, sizeof buf, "plot 'samples.dat' u %d:%d w p pt 7 ps 0.15 lc '#1f77b4'\n", col + 1,
                      row + 1);
      }
      gp += buf;
    }
  gp += "unset multiplot";
  return nabla::examples::plot_png(dir, "corner", gp, "900,900");
}

}  // namespace

int main(int argc, char** argv) {
  nabla::ScopeGuard runtime(argc, argv);

  Options o;
  if (int rc = nabla::examples::parse(o, argc, argv); rc >= 0) return rc;
  // A fresh run writes chain.partial.h5 and renames it onto chain.h5 at the end: until then the previous run's
  // chain and metrics stay, and a killed run resumes from its partial chain.
  const std::string resumed = o.resume || o.resume_or_start ? o.chain_to_resume() : std::string();
  const std::string chain_path = resumed.empty() ? o.partial_chain_path() : resumed;

  try {
    nabla::io::make_directories(o.out);
    Kokkos::Timer total;
    const std::size_t n = o.points;

    // The data: x on a regular grid in (0, 1), y = truth + noise; log x and log(1-x) kept for the model.
    Data data;
    {
      const auto x = nabla::linspace<double>(0.5 / double(n), 1.0 - 0.5 / double(n), n);
      data.logx = nabla::eval(nabla::log(x));
      data.log1mx = nabla::eval(nabla::log1p(-x));
      const Vec& t = o.truth;
      data.y = nabla::eval(t[0] * nabla::exp(t[1] * data.logx + t[2] * data.log1mx) +
                           o.sigma * nabla::random::normal_expr<double>(nabla::random::key(o.seed), nabla::Shape<1>{n}));
      data.inv_sigma = 1.0 / o.sigma;
    }
    std::printf("1. data: %zu points of %g x^%g (1-x)^%g + N(0, %g^2)\n", n, o.truth[0], o.truth[1], o.truth[2],
                o.sigma);

    // Maximum likelihood from a deliberately poor guess, and the Laplace covariance there.
    Kokkos::Timer t;
    Mat jtj, cov;
    int iterations = 0;
    const Vec mle = max_likelihood(data, Vec{1.0, 1.0, 1.0}, jtj, iterations);
    if (!inverse(jtj, cov)) throw nabla::ValueError("the Fisher matrix at the maximum likelihood is singular");
    Vec laplace_sd;
    for (int d = 0; d < D; ++d) laplace_sd[d] = std::sqrt(cov[d][d]);
    std::printf("   maximum likelihood (Levenberg-Marquardt, %d iterations, %.3f s): A %.6g  a %.6g  b %.6g; "
                "chi2/dof %.4f\n",
                iterations, t.seconds(), mle[0], mle[1], mle[2], data.chi2(mle) / double(n - D));

    // The sampler: batched log-probability, one fused reduction per walker.
    auto log_prob = [&](const nabla::Array<double, 2>& theta, nabla::Array<double, 1>& lp) {
      auto th = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), theta.view());
      auto lh = Kokkos::create_mirror_view(lp.view());
      for (std::size_t w = 0; w < th.extent(0); ++w) {
        const Vec p{th(w, 0), th(w, 1), th(w, 2)};
        bool inside = true;
        for (int d = 0; d < D; ++d) inside = inside && p[d] > o.lo[d] && p[d] < o.hi[d];
        lh(w) = inside ? -0.5 * data.chi2(p) : -std::numeric_limits<double>::infinity();
      }
      Kokkos::deep_copy(lp.view(), lh);
    };
    if (resumed.empty()) std::filesystem::remove(chain_path);  // an older unfinished run, abandoned
    ns::SamplerOptions sopt;
    sopt.seed = o.seed + 1;  // the data's seed is o.seed: the sampler's check covers both
    using nabla::examples::exact;
    // What else defines the data and the posterior: a chain of other settings is refused on resume, naming them.
    sopt.settings = {{"points", std::to_string(n)},
                     {"sigma", exact(o.sigma)},
                     {"truth", exact(o.truth[0]) + "," + exact(o.truth[1]) + "," + exact(o.truth[2])}};
    auto backend = std::make_shared<ns::HDFBackend>(chain_path);
    sopt.backend = backend;
    ns::EnsembleSampler sampler(o.walkers, D, log_prob, sopt);
    const std::size_t done = sampler.iteration();
    const std::size_t todo = o.steps > done ? o.steps - done : 0;
    // A finished chain grows in place: its metrics no longer describe it until this run writes them anew.
    if (todo > 0 && chain_path == o.chain_path()) std::filesystem::remove(o.out + "/metrics.json");
    const std::string start = done ? "resuming " + chain_path + " at step " + std::to_string(done)
                                   : std::string("from a ball around the maximum");
    std::printf("2. ensemble MCMC: %zu walkers x %zu steps (stretch move), %s; %zu x %zu-point reductions per step\n",
                o.walkers, o.steps, start.c_str(), o.walkers, n);
    t.reset();
    if (done == 0) {
      const double scale = 1e-2 * std::min({laplace_sd[0], laplace_sd[1], laplace_sd[2]});
      sampler.run_mcmc(ns::gaussian_ball({mle[0], mle[1], mle[2]}, scale, o.walkers, o.seed + 2), todo, !o.quiet);
    } else if (todo > 0) {
      sampler.run_mcmc(todo, !o.quiet);
    }
    const double t_mcmc = t.seconds();
    if (todo > 0)
      std::printf("   %.2f s: %.3g log-likelihoods/s, %.3g data points/s; acceptance fraction %.3f\n", t_mcmc,
                  double(todo * o.walkers) / t_mcmc, double(todo * o.walkers) * double(n) / t_mcmc,
                  sampler.mean_acceptance_fraction());

    // Posterior summary.
    const auto chain = sampler.get_chain(ns::flat, o.thin, o.burn);
    const std::size_t ns_ = chain.extent(0);
    auto ch = chain.view();
    std::vector<double> flat(ns_ * D);
    Vec mean{}, sd{};
    for (std::size_t i = 0; i < ns_; ++i)
      for (int d = 0; d < D; ++d) {
        flat[i * D + d] = ch(i, d);
        mean[d] += ch(i, d) / double(ns_);
      }
    for (std::size_t i = 0; i < ns_; ++i)
      for (int d = 0; d < D; ++d) sd[d] += (ch(i, d) - mean[d]) * (ch(i, d) - mean[d]) / double(ns_ - 1);
    for (int d = 0; d < D; ++d) sd[d] = std::sqrt(sd[d]);
    const std::vector<double> tau = sampler.get_autocorr_time(o.burn, 1, 5.0, 50.0, /*quiet=*/true);
    std::printf("3. posterior from %zu samples (steps %zu.., thin %zu):\n", ns_, o.burn, o.thin);
    std::printf("   %-3s %12s %12s %12s %12s %9s %8s\n", "", "true", "mean", "std", "Laplace std", "pull", "tau");
    nabla::examples::Summary s;
    for (int d = 0; d < D; ++d) {
      const double pull = (mean[d] - o.truth[d]) / sd[d];
      std::printf("   %-3s %12.6g %12.6g %12.4g %12.4g %9.2f %8.1f\n", names[d], o.truth[d], mean[d], sd[d],
                  laplace_sd[d], pull, tau[d]);
      const std::string k = keys[d];
      s.set(k + "_true", o.truth[d]);
      s.set(k + "_mle", mle[d]);
      s.set(k + "_mean", mean[d]);
      s.set(k + "_std", sd[d]);
      s.set(k + "_laplace_std", laplace_sd[d]);
      s.set(k + "_tau", tau[d]);
    }
    // Convergence, each walker taken as a chain: an ensemble's walkers are not independent, so R-hat and ESS
    // screen for a run too short to trust rather than prove one long enough.
    const auto diag = ns::summarize(sampler.get_chain(o.thin, o.burn));
    std::ostringstream table;
    ns::print_summary(table, diag, std::vector<std::string>(names.begin(), names.end()));
    std::printf("   convergence, walkers as chains (Stan's rank-normalised R-hat, bulk and tail ESS):\n");
    std::istringstream rows(table.str());
    for (std::string line; std::getline(rows, line);) std::printf("   %s\n", line.c_str());
    for (int d = 0; d < D; ++d) {
      const std::string k = keys[d];
      s.set(k + "_rhat", diag[d].rhat);
      s.set(k + "_ess_bulk", diag[d].ess_bulk);
      s.set(k + "_ess_tail", diag[d].ess_tail);
    }
    s.set("points", double(n));
    s.set("walkers", double(o.walkers));
    s.set("steps", double(sampler.iteration()));
    s.set("samples", double(ns_));
    s.set("acceptance_fraction", sampler.mean_acceptance_fraction());
    s.set("mcmc_seconds", t_mcmc);
    s.set("chain", o.chain_path());
    backend->close();
    if (chain_path != o.chain_path()) {  // the run is complete: its chain replaces the previous one, then metrics
      std::filesystem::remove(o.out + "/metrics.json");
      std::error_code ec;
      std::filesystem::rename(chain_path, o.chain_path(), ec);
      if (ec)  // keep the finished chain where it is: --resume finds it there
        throw nabla::IOError("cannot rename the finished chain '" + chain_path + "' onto '" + o.chain_path() +
                             "': " + ec.message() + " (the chain is kept; --resume completes the run)");
    }
    s.write(o.out + "/metrics.json");

    const bool plotted = o.plots && write_corner(o.out, flat, ns_, o.truth, mean, sd);
    std::printf("4. wrote %s: chain.h5 (emcee layout), metrics.json, %s; total %.2f s\n", o.out.c_str(),
                plotted ? "corner.png" : "no plot", total.seconds());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "03_mcmc_fit: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
