/// \file autocorr.cpp
/// \brief emcee's integrated autocorrelation time and Stan's autocovariance, with a radix-2 FFT.
#include <nabla/sampling/mcmc/autocorr.hpp>

#include "autocovariance.hpp"

#include <nabla/core/error.hpp>

#include <cmath>
#include <complex>
#include <iostream>
#include <sstream>

namespace nabla {
namespace sampling {

namespace {
// In-place iterative radix-2 FFT (n a power of two); inverse without the 1/n factor. Products are written out:
// std::complex's operator* checks for NaN and infinities (C99 Annex G) through a library call per product, which
// made this FFT most of the time of R-hat and ESS. Twiddles come from one table (exact to the rounding of cos and
// sin) rather than from repeated multiplication.
void fft(std::vector<std::complex<double>>& a, bool inverse) {
  const std::size_t n = a.size();
  for (std::size_t i = 1, j = 0; i < n; ++i) {
    std::size_t bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) std::swap(a[i], a[j]);
  }
  // One table per length and thread: ESS computes thousands of transforms of one length.
  thread_local std::vector<double> wr, wi;
  if (wr.size() != n / 2) {
    wr.resize(n / 2);
    wi.resize(n / 2);
    for (std::size_t k = 0; k < n / 2; ++k) {
      const double ang = 2.0 * M_PI * double(k) / double(n);
      wr[k] = std::cos(ang);
      wi[k] = std::sin(ang);
    }
  }
  const double sign = inverse ? 1.0 : -1.0;
  for (std::size_t len = 2; len <= n; len <<= 1) {
    const std::size_t half = len / 2, stride = n / len;
    for (std::size_t i = 0; i < n; i += len)
      for (std::size_t j = 0; j < half; ++j) {
        const double c = wr[j * stride], s = sign * wi[j * stride];
        const double xr = a[i + j + half].real(), xi = a[i + j + half].imag();
        const double vr = xr * c - xi * s, vi = xr * s + xi * c;
        const double ur = a[i + j].real(), ui = a[i + j].imag();
        a[i + j] = {ur + vr, ui + vi};
        a[i + j + half] = {ur - vr, ui - vi};
      }
  }
}
std::size_t next_pow_two(std::size_t n) {
  std::size_t i = 1;
  while (i < n) i <<= 1;
  return i;
}

// Re of the inverse transform of |FFT(x - mean)|^2 on a zero-padded grid of L >= 2n points: L times the lagged
// sums of products, lags 0..n-1, with no wrap-around.
std::vector<double> lag_products(const std::vector<double>& x, const char* who) {
  const std::size_t n = x.size();
  if (n == 0) throw ValueError(nabla::impl::cat("nabla::sampling::", who, ": empty series"));
  double mean = 0;
  for (double v : x) mean += v;
  mean /= double(n);
  std::vector<std::complex<double>> f(2 * next_pow_two(n), 0.0);
  for (std::size_t i = 0; i < n; ++i) f[i] = x[i] - mean;
  fft(f, false);
  for (auto& c : f) c = c.real() * c.real() + c.imag() * c.imag();  // |c|², written out as above
  fft(f, true);
  std::vector<double> p(n);
  for (std::size_t i = 0; i < n; ++i) p[i] = f[i].real();
  return p;
}
}  // namespace

std::vector<double> autocorr_function(const std::vector<double>& x) {
  auto acf = lag_products(x, "autocorr_function");
  const double a0 = acf[0];
  for (std::size_t i = 0; i < acf.size(); ++i) acf[i] = a0 != 0.0 ? acf[i] / a0 : (i == 0 ? 1.0 : 0.0);
  return acf;
}

std::vector<double> impl::autocovariance(const std::vector<double>& x) {
  auto ac = lag_products(x, "autocovariance");
  const double scale = 1.0 / (double(2 * next_pow_two(x.size())) * double(x.size()));
  for (double& a : ac) a *= scale;
  return ac;
}

std::vector<double> integrated_time(const Array<double, 3, Kokkos::HostSpace>& chain, double c, double tol,
                                    bool quiet) {
  const std::size_t T = chain.extent(0), W = chain.extent(1), D = chain.extent(2);
  if (T == 0 || W == 0) throw ValueError(nabla::impl::cat("nabla::sampling::integrated_time: empty chain ",
                                                          to_string(chain.shape())));
  std::vector<double> tau(D);
  std::vector<double> x(T);
  std::size_t flagged = 0;
  for (std::size_t d = 0; d < D; ++d) {
    std::vector<double> f(T, 0.0);
    for (std::size_t w = 0; w < W; ++w) {
      for (std::size_t t = 0; t < T; ++t) x[t] = chain.view()(t, w, d);
      const auto a = autocorr_function(x);
      for (std::size_t t = 0; t < T; ++t) f[t] += a[t];
    }
    // taus = 2 cumsum(f / W) - 1; window = first m with m >= c taus[m] (else the last).
    double cum = 0.0;
    std::size_t window = T - 1;
    std::vector<double> taus(T);
    for (std::size_t t = 0; t < T; ++t) {
      cum += f[t] / double(W);
      taus[t] = 2.0 * cum - 1.0;
    }
    // As emcee's auto_window: m = arange < c taus; argmin(m) (the first False, 0 if none) if any(m), else T - 1.
    bool any = false, found = false;
    std::size_t first_false = 0;
    for (std::size_t t = 0; t < T; ++t) {
      const bool m = double(t) < c * taus[t];
      any = any || m;
      if (!m && !found) {
        found = true;
        first_false = t;
      }
    }
    window = any ? first_false : T - 1;
    tau[d] = taus[window];
    if (tol * tau[d] > double(T)) ++flagged;
  }
  if (flagged > 0) {
    std::ostringstream os;
    os << "The chain is shorter than " << tol << " times the integrated autocorrelation time for " << flagged
       << " parameter(s). Use this estimate with caution and run a longer chain!\nN/" << tol << " = "
       << std::llround(double(T) / tol) << ";\ntau: [";
    for (std::size_t d = 0; d < D; ++d) os << (d ? " " : "") << tau[d];
    os << "]";
    if (!quiet) throw AutocorrError(tau, os.str());
    std::cerr << "nabla::sampling::integrated_time: warning: " << os.str() << "\n";
  }
  return tau;
}

}  // namespace sampling
}  // namespace nabla
