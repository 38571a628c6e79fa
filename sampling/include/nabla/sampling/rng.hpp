/// \file rng.hpp
/// \brief The sampling module's counter-based random streams: every number is a pure function of
/// (seed, walker, index), so results do not depend on threads, backends, launch chunking or MPI layout.
///
/// Langevin noise is the hot loop of every ensemble run, so this header has its own normal generator: one
/// Philox4x32-10 call gives FOUR standard normals (Box-Muller on two pairs of 32-bit uniforms), with log, sin and
/// cos as branch-free polynomials (fdlibm's log kernel, Taylor sin/cos on [-π/4, π/4]; errors < 1e-12)
/// instead of libm calls. The 32-bit radius uniform truncates the normal at |z| = 6.8 (probability 1e-11).
#pragma once

#include <nabla/core/compat.hpp>
#include <nabla/core/random.hpp>

#include <cstdint>

namespace nabla {
namespace sampling {
namespace impl {

/// The key of walker `w` under `key`: equal to `random::fold_in(key, w)`, but callable inside kernels.
KOKKOS_INLINE_FUNCTION random::Key walker_key(const random::Key& key, std::uint64_t w) {
  const random::Block b = random::bits(key, w, 0xf01d1au);
  return random::Key{b[0], b[1]};
}

/// Uniform in [0, 1) from 32 random bits.
KOKKOS_INLINE_FUNCTION double u01(std::uint32_t w) { return double(w) * (1.0 / 4294967296.0); }
/// Uniform integer in [0, n) from 32 random bits (multiply-shift).
KOKKOS_INLINE_FUNCTION std::uint64_t below(std::uint32_t w, std::uint64_t n) {
  return (std::uint64_t(w) * n) >> 32;
}

/// ln(u) for positive normal (not subnormal) doubles u: exponent split plus fdlibm's polynomial for log(m), m in [√½, √2).
KOKKOS_INLINE_FUNCTION double fast_log(double u) {
  union {
    double d;
    std::uint64_t i;
  } pun;  // type punning through a union: supported by GCC, Clang and nvcc (Kokkos 3.4 has no bit_cast)
  pun.d = u;
  int e = int((pun.i >> 52) & 0x7ff) - 1023;
  pun.i = (pun.i & 0x000fffffffffffffull) | 0x3ff0000000000000ull;  // mantissa in [1, 2)
  double m = pun.d;
  const int big = m > 1.4142135623730951;  // branch-free (the comparison is random): halve m, bump e
  m *= 1.0 - 0.5 * double(big);
  e += big;
  const double f = m - 1.0, s = f / (2.0 + f), z = s * s, w = z * z;
  const double t1 = w * (3.999999999940941908e-01 + w * (2.222219843214978396e-01 + w * 1.531383769920937332e-01));
  const double t2 = z * (6.666666666666735130e-01 +
                         w * (2.857142874366239149e-01 + w * (1.818357216161805012e-01 + w * 1.479819860511658591e-01)));
  const double hfsq = 0.5 * f * f;
  return double(e) * 6.93147180369123816490e-01 + (f - (hfsq - s * (hfsq + t2 + t1))) +
         double(e) * 1.90821492927058770002e-10;
}

/// sin and cos of 2π t for t in [0, 1): quadrant reduction, then Taylor polynomials on [-π/4, π/4].
KOKKOS_INLINE_FUNCTION void fast_sincos_2pi(double t, double& s, double& c) {
  const double x4 = 4.0 * t;
  const int q = int(x4 + 0.5);  // nearest quadrant 0..4
  const double r = (x4 - double(q)) * 1.5707963267948966;  // in [-π/4, π/4]
  const double r2 = r * r;
  const double sr =
      r * (1.0 + r2 * (-1.0 / 6 + r2 * (1.0 / 120 + r2 * (-1.0 / 5040 + r2 * (1.0 / 362880 +
                                                                              r2 * (-1.0 / 39916800 + r2 / 6227020800.0))))));
  const double cr =
      1.0 + r2 * (-0.5 + r2 * (1.0 / 24 + r2 * (-1.0 / 720 + r2 * (1.0 / 40320 + r2 * (-1.0 / 3628800 +
                                                                                      r2 / 479001600.0)))));
  // Quadrant k: (sin, cos) = (sr, cr), (cr, -sr), (-sr, -cr), (-cr, sr); selected by exact 0/1 products, since
  // the quadrant is random and branches on it would mispredict.
  const int k = q & 3;
  const double swap = double(k & 1), keep = 1.0 - swap;
  const double ss = 1.0 - double(k & 2), sc = 1.0 - 2.0 * double(((k + 1) >> 1) & 1);
  s = ss * (keep * sr + swap * cr);
  c = sc * (keep * cr + swap * sr);
}

}  // namespace impl

/// \brief Standard normals 4b .. 4b+3 of the stream `key` (one Philox4x32-10 call, domain 2): the module's
/// generator for Langevin noise and perturbations. Usable on the host and in kernels.
KOKKOS_INLINE_FUNCTION void normal4(const random::Key& key, std::uint64_t b, double* out) {
  const random::Block w = random::bits(key, b, 2u);
  for (int j = 0; j < 2; ++j) {
    const double u = (double(w[2 * j]) + 0.5) * (1.0 / 4294967296.0);  // (0, 1): the log is finite
    const double r = compat::kmath::sqrt(-2.0 * impl::fast_log(u));
    double s, c;
    impl::fast_sincos_2pi(double(w[2 * j + 1]) * (1.0 / 4294967296.0), s, c);
    out[2 * j] = r * c;
    out[2 * j + 1] = r * s;
  }
}

/// \brief Standard normal number i of the stream `key` (computes its whole block of 4).
KOKKOS_INLINE_FUNCTION double normal_at(const random::Key& key, std::uint64_t i) {
  double v[4];
  normal4(key, i / 4, v);
  return v[i % 4];
}

namespace impl {
/// \brief Normals i, i+1, ... of a walker's stream, four per Philox call; number i equals `normal_at(key, i)`.
struct NormalStream {
  random::Key key;
  std::uint64_t i;
  double buf[4];
  KOKKOS_INLINE_FUNCTION NormalStream(const random::Key& k, std::uint64_t first) : key(k), i(first) {
    if (i & 3u) normal4(key, i >> 2, buf);
  }
  KOKKOS_INLINE_FUNCTION double operator()() {
    if ((i & 3u) == 0) normal4(key, i >> 2, buf);
    return buf[(i++) & 3u];
  }
};
}  // namespace impl

}  // namespace sampling
}  // namespace nabla
