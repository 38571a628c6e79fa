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
#include <type_traits>

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

/// Four normals from one Philox block: radius uniforms (w + 1/2) / 2^32 in (0, 1), so the log is finite;
/// angle uniforms w / 2^32.
KOKKOS_INLINE_FUNCTION void box_muller4(std::uint32_t w0, std::uint32_t w1, std::uint32_t w2, std::uint32_t w3,
                                        double& z0, double& z1, double& z2, double& z3) {
  random::impl::box_muller(2 * std::uint64_t(w0) + 1, 33, w1, 32, z0, z1);
  random::impl::box_muller(2 * std::uint64_t(w2) + 1, 33, w3, 32, z2, z3);
}

}  // namespace impl

/// \brief Standard normals 4b .. 4b+3 of the stream `key` (one Philox4x32-10 call, domain 2): the module's
/// generator for Langevin noise and perturbations. Usable on the host and in kernels.
KOKKOS_INLINE_FUNCTION void normal4(const random::Key& key, std::uint64_t b, double* out) {
  const random::Block w = random::bits(key, b, 2u);
  impl::box_muller4(w[0], w[1], w[2], w[3], out[0], out[1], out[2], out[3]);
}

/// \brief normal4 for L streams at once, lane l keyed (k0[l], k1[l]): out[j][l] is normal 4b + j of lane l.
/// The same numbers as normal4, laid out so that CPUs compute the lanes in vector registers.
template <int L>
KOKKOS_INLINE_FUNCTION void normal4_lanes(const std::uint32_t* k0, const std::uint32_t* k1, std::uint64_t b,
                                          double (*out)[L]) {
  std::uint32_t w[4][L];
  random::bits_lanes<L>(k0, k1, b, 2u, w);
  NABLA_SIMD
  for (int l = 0; l < L; ++l)
    impl::box_muller4(w[0][l], w[1][l], w[2][l], w[3][l], out[0][l], out[1][l], out[2][l], out[3][l]);
}

/// \brief Standard normal number i of the stream `key` (computes its whole block of 4).
KOKKOS_INLINE_FUNCTION double normal_at(const random::Key& key, std::uint64_t i) {
  double v[4];
  normal4(key, i / 4, v);
  return v[i % 4];
}

namespace impl {
/// Walkers one work item of the ensemble kernels (BAOAB, the fused stretch move) handles together. On CPUs the
/// random numbers of all of them come from lane loops that vectorise (normal4_lanes, bits_lanes), and their
/// independent dependency chains hide each other's latency: for BAOAB 16 is 14 % faster than 8 on AVX-512, 32
/// no better within noise. One walker per thread on GPUs.
template <class ExecSpace>
struct lanes_for : std::integral_constant<int, 16> {};
#if defined(KOKKOS_ENABLE_CUDA)
template <>
struct lanes_for<Kokkos::Cuda> : std::integral_constant<int, 1> {};
#endif
#if defined(KOKKOS_ENABLE_HIP)
template <>
struct lanes_for<compat::HIP> : std::integral_constant<int, 1> {};
#endif

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
