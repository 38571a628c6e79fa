/// \file adapt.hpp
/// \brief Warm-up adaptation shared by all chains (host): the step size by Nesterov dual averaging toward a target
/// acceptance (Hoffman & Gelman 2014, Stan's constants), the trajectory length by Adam ascent of the ChEES criterion
/// on log T (Hoffman, Radul & Sountsov 2021, their constants).
#pragma once

#include <cmath>
#include <cstddef>

namespace nabla {
namespace sampling {
namespace hmc {

/// \brief Dual averaging of log ε: `update(mean acceptance)` returns the next ε, `averaged()` the one to sample with.
struct DualAveraging {
  double target;
  double mu = 0.0, log_eps = 0.0, log_eps_bar = 0.0, h_bar = 0.0;
  std::size_t m = 0;
  static constexpr double gamma = 0.05, t0 = 10.0, kappa = 0.75;

  DualAveraging(double target_accept, double eps) : target(target_accept) { restart(eps); }

  /// Starts over from ε, shrinking toward 10 ε (after the mass matrix changed).
  void restart(double eps) {
    mu = std::log(10.0 * eps);
    log_eps = std::log(eps);
    log_eps_bar = 0.0;
    h_bar = 0.0;
    m = 0;
  }

  double update(double accept) {
    ++m;
    const double eta = 1.0 / (double(m) + t0);
    h_bar = (1.0 - eta) * h_bar + eta * (target - accept);
    log_eps = mu - std::sqrt(double(m)) / gamma * h_bar;
    const double w = std::pow(double(m), -kappa);
    log_eps_bar = w * log_eps + (1.0 - w) * log_eps_bar;
    return std::exp(log_eps);
  }

  double averaged() const { return m == 0 ? std::exp(log_eps) : std::exp(log_eps_bar); }
};

/// \brief Adam ascent on log T with β1 = 0, β2 = 0.95 and learning rate 0.025; `update(∂ChEES/∂log T)` returns T.
struct TrajectoryAdam {
  double log_t, v = 0.0;
  std::size_t k = 0;
  static constexpr double rate = 0.025, beta2 = 0.95, tiny = 1e-8;

  explicit TrajectoryAdam(double length) : log_t(std::log(length)) {}

  double update(double grad) {
    if (!std::isfinite(grad)) return std::exp(log_t);
    ++k;
    v = beta2 * v + (1.0 - beta2) * grad * grad;
    const double v_hat = v / (1.0 - std::pow(beta2, double(k)));
    log_t += rate * grad / (std::sqrt(v_hat) + tiny);
    return std::exp(log_t);
  }

  /// Keeps T within [lo, hi] (at least one leapfrog step, at most the cap).
  double clamp(double lo, double hi) {
    log_t = std::fmin(std::fmax(log_t, std::log(lo)), std::log(hi));
    return std::exp(log_t);
  }
};

}  // namespace hmc
}  // namespace sampling
}  // namespace nabla
