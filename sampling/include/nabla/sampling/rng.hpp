/// \file rng.hpp
/// \brief The sampling module's counter-based random streams: every number is a pure function of
/// (seed, walker, index), so results do not depend on threads, backends, launch chunking or MPI layout.
///
/// Langevin noise is the hot loop of every ensemble run, so its normals come four per Philox4x32-10 call
/// (Box-Muller on two pairs of 32-bit uniforms) through core's branch-free, backend-independent log and sin/cos
/// (random::impl::log_ratio, sincos_turns). The 32-bit radius uniform truncates the normal at |z| = 6.8
/// (probability 1e-11).
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

}  // namespace impl

/// \brief Standard normals 4b .. 4b+3 of the stream `key` (one Philox4x32-10 call, domain 2): the module's
/// generator for Langevin noise and perturbations. Usable on the host and in kernels.
KOKKOS_INLINE_FUNCTION void normal4(const random::Key& key, std::uint64_t b, double* out) {
  const random::Block w = random::bits(key, b, 2u);
  for (int j = 0; j < 2; ++j) {
    // Radius uniform (w + 1/2) / 2^32 in (0, 1), so the log is finite; angle uniform w / 2^32.
    random::impl::box_muller(2 * std::uint64_t(w[2 * j]) + 1, 33, w[2 * j + 1], 32, out[2 * j], out[2 * j + 1]);
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
