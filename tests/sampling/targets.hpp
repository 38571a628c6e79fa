// Log-densities shared by the sampling tests, the resume helper and the MPI tests (device functors).
#pragma once

#include <nabla/sampling.hpp>

#include <array>
#include <cmath>

namespace nabla_test {

/// Zero-mean Gaussian in 5-D with covariance Σ_ij = s_i s_j ρ^|i-j| (s_i = 1 + i/2, ρ = 0.5).
struct Gaussian5 {
  static constexpr int n = 5;
  Kokkos::Array<double, 25> prec;  // Σ⁻¹, row-major
  static std::array<double, 25> covariance() {
    std::array<double, 25> c{};
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) c[i * n + j] = (1 + 0.5 * i) * (1 + 0.5 * j) * std::pow(0.5, std::abs(i - j));
    return c;
  }
  Gaussian5() {
    // Gauss-Jordan inverse of the covariance (host).
    std::array<double, 25> a = covariance(), inv{};
    for (int i = 0; i < n; ++i) inv[i * n + i] = 1;
    for (int c = 0; c < n; ++c) {
      const double p = a[c * n + c];
      for (int j = 0; j < n; ++j) {
        a[c * n + j] /= p;
        inv[c * n + j] /= p;
      }
      for (int r = 0; r < n; ++r)
        if (r != c) {
          const double f = a[r * n + c];
          for (int j = 0; j < n; ++j) {
            a[r * n + j] -= f * a[c * n + j];
            inv[r * n + j] -= f * inv[c * n + j];
          }
        }
    }
    for (int i = 0; i < 25; ++i) prec[i] = inv[i];
  }
  template <class X>
  KOKKOS_INLINE_FUNCTION double operator()(const X& x) const {
    double q = 0;
    for (int i = 0; i < n; ++i) {
      double r = 0;
      for (int j = 0; j < n; ++j) r += prec[i * n + j] * x[j];
      q += x[i] * r;
    }
    return -0.5 * q;
  }
};

/// emcee's Rosenbrock density: log p = -(100 (x2 - x1²)² + (1 - x1)²) / 20.
/// Marginals: x1 ~ N(1, 10), x2 | x1 ~ N(x1², 0.1), so E x2 = 11, Var x2 = 240.1.
struct Rosenbrock {
  template <class X>
  KOKKOS_INLINE_FUNCTION double operator()(const X& x) const {
    const double a = x[1] - x[0] * x[0], b = 1.0 - x[0];
    return -(100.0 * a * a + b * b) / 20.0;
  }
};

/// A per-walker functor as a batched host callable doing the same arithmetic on the host (the half-step launch
/// path); counts the walkers it evaluated into *evaluated when given.
template <class F>
nabla::sampling::BatchLogProb batched(F f, std::size_t* evaluated = nullptr) {
  return [f, evaluated](const nabla::Array<double, 2>& x, nabla::Array<double, 1>& lp) {
    if (evaluated) *evaluated += x.extent(0);
    auto xh = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), x.view());
    auto lh = Kokkos::create_mirror_view(lp.view());
    for (std::size_t i = 0; i < xh.extent(0); ++i)
      lh(i) = f(nabla::sampling::WalkerPoint{&xh(i, 0), xh.stride(1), int(xh.extent(1))});
    Kokkos::deep_copy(lp.view(), lh);
  };
}

/// Initial walkers: N(0, 0.1²) per coordinate from Nabla's RNG (host), as a device array.
inline nabla::Array<double, 2> initial_state(std::size_t nwalkers, std::size_t ndim, std::uint64_t seed,
                                             double scale = 0.1, double offset = 0.0) {
  nabla::Array<double, 2> x({nwalkers, ndim}, "initial");
  auto h = Kokkos::create_mirror_view(x.view());
  const auto key = nabla::random::key(seed);
  for (std::size_t w = 0; w < nwalkers; ++w)
    for (std::size_t d = 0; d < ndim; ++d)
      h(w, d) = offset + scale * nabla::random::normal_at<double>(key, w * ndim + d);
  Kokkos::deep_copy(x.view(), h);
  return x;
}

}  // namespace nabla_test
