/// \file random.hpp
/// \brief Counter-based random numbers (Random123 Philox4x32-10): a value is a pure function of (key, index).
///
/// Nothing has state: the same key gives bit-identical arrays on any thread count, backend or MPI layout.
/// Keys derive from keys as in JAX (`split`, `fold_in`). Element i of a stream uses Philox block i/B
/// (B values per block: 2 doubles or 4 floats), so filling an array costs one Philox call per block.
#pragma once

#include <nabla/core/assign.hpp>
#include <nabla/core/compat.hpp>

// Random123 marks its functions __device__ only under nvcc; Kokkos kernels also run them on the host.
#if (defined(__CUDACC__) || defined(__HIPCC__)) && !defined(R123_CUDA_DEVICE)
#define R123_CUDA_DEVICE __host__ __device__
#endif
// Under HIP (clang), Random123's SSE overloads are host-only and clash with the __host__ __device__ ones.
#if defined(__HIPCC__) && !defined(R123_USE_SSE)
#define R123_USE_SSE 0
#endif
#include <Random123/philox.h>

#include <cmath>
#include <cstdint>
#include <type_traits>

namespace nabla {
namespace random {

/// A Philox key: 64 bits, cheap to copy into kernels.
struct Key {
  std::uint32_t k0 = 0, k1 = 0;
  KOKKOS_INLINE_FUNCTION bool operator==(const Key& o) const { return k0 == o.k0 && k1 == o.k1; }
  KOKKOS_INLINE_FUNCTION bool operator!=(const Key& o) const { return !(*this == o); }
};

using Block = Kokkos::Array<std::uint32_t, 4>;

/// The 4 x 32 random bits of block `counter` in stream `domain` (one Philox4x32-10 call).
KOKKOS_INLINE_FUNCTION Block bits(const Key& key, std::uint64_t counter, std::uint32_t domain = 0) {
  r123::Philox4x32 rng;
  const r123::Philox4x32::ctr_type c = {
      {std::uint32_t(counter), std::uint32_t(counter >> 32), domain, 0x6e61626cu /* "nabl" */}};
  const r123::Philox4x32::key_type k = {{key.k0, key.k1}};
  const auto r = rng(c, k);
  return Block{{r[0], r[1], r[2], r[3]}};
}

/// \brief bits() of L keys at one counter: out[j][l] = bits(Key{k0[l], k1[l]}, counter, domain)[j].
/// Philox4x32-10 written lane by lane, because Random123's code, called per lane, does not vectorise across
/// lanes; the tests check it against Random123 bit for bit. With several lanes (CPUs) each 32-bit word lives in
/// a 64-bit lane, where its 32 x 32 -> 64-bit products need no reshuffling of lanes (BAOAB 7 % faster on
/// AVX-512); one lane (a GPU thread) keeps 32-bit words, native to GPUs.
template <int L>
KOKKOS_INLINE_FUNCTION void bits_lanes(const std::uint32_t* k0, const std::uint32_t* k1, std::uint64_t counter,
                                       std::uint32_t domain, std::uint32_t (*out)[L]) {
  using W = std::conditional_t<(L > 1), std::uint64_t, std::uint32_t>;
  constexpr W lo32 = 0xffffffffu;
  W c0[L], c1[L], c2[L], c3[L], a[L], b[L];
  for (int l = 0; l < L; ++l) {
    c0[l] = W(counter & lo32);
    c1[l] = W(counter >> 32);
    c2[l] = domain;
    c3[l] = 0x6e61626cu;  // as in bits()
    a[l] = k0[l];
    b[l] = k1[l];
  }
  for (int r = 0; r < 10; ++r) {
    NABLA_SIMD
    for (int l = 0; l < L; ++l) {
      const std::uint64_t p0 = std::uint64_t(0xD2511F53u) * std::uint32_t(c0[l]),
                          p1 = std::uint64_t(0xCD9E8D57u) * std::uint32_t(c2[l]);
      const W n0 = W(p1 >> 32) ^ c1[l] ^ a[l], n2 = W(p0 >> 32) ^ c3[l] ^ b[l];
      c0[l] = n0;
      c1[l] = W(p1) & lo32;
      c2[l] = n2;
      c3[l] = W(p0) & lo32;
      a[l] = (a[l] + 0x9E3779B9u) & lo32;  // the Weyl key schedule, mod 2^32
      b[l] = (b[l] + 0xBB67AE85u) & lo32;
    }
  }
  for (int l = 0; l < L; ++l) {
    out[0][l] = std::uint32_t(c0[l]);
    out[1][l] = std::uint32_t(c1[l]);
    out[2][l] = std::uint32_t(c2[l]);
    out[3][l] = std::uint32_t(c3[l]);
  }
}

/// The key for an integer seed.
KOKKOS_INLINE_FUNCTION Key key(std::uint64_t seed) { return Key{std::uint32_t(seed), std::uint32_t(seed >> 32)}; }

/// A key derived from `key` and `data` (JAX's fold_in): distinct data give independent keys. Callable in
/// kernels, where each walker or element derives its own stream.
KOKKOS_INLINE_FUNCTION Key fold_in(const Key& key, std::uint64_t data) {
  const Block b = bits(key, data, 0xf01d1au);
  return Key{b[0], b[1]};
}

/// The i-th of the keys `key` splits into (JAX's split(key, n)[i]); independent of n.
KOKKOS_INLINE_FUNCTION Key split(const Key& key, std::uint64_t i) {
  const Block b = bits(key, i, 0x5b117u);
  return Key{b[0], b[1]};
}

/// \brief Shuffles first[0 .. n) in place (Fisher-Yates), a pure function of `key` (host): element i - 1 trades
/// places with element (64 random bits of block i) mod i, whose bias is below 2^-32 for n < 2^32.
template <class T>
void shuffle(const Key& key, T* first, std::size_t n) {
  for (std::size_t i = n; i > 1; --i) {
    const Block w = bits(key, i);
    const std::size_t j = std::size_t(((std::uint64_t(w[0]) << 32) | w[1]) % i);
    const T t = first[i - 1];
    first[i - 1] = first[j];
    first[j] = t;
  }
}

namespace impl {
/// The 53 random bits of a double uniform and the 24 of a float one.
KOKKOS_INLINE_FUNCTION std::uint64_t bits53(std::uint32_t hi, std::uint32_t lo) {
  return (std::uint64_t(hi) << 21) ^ (lo >> 11);
}
KOKKOS_INLINE_FUNCTION std::uint64_t bits24(std::uint32_t w) { return w >> 8; }
KOKKOS_INLINE_FUNCTION double u01_double(std::uint32_t hi, std::uint32_t lo) {
  return double(bits53(hi, lo)) * (1.0 / 9007199254740992.0);  // [0, 1), exact
}
KOKKOS_INLINE_FUNCTION float u01_float(std::uint32_t w) { return float(bits24(w)) * (1.0f / 16777216.0f); }

// The normal transform must round alike on every backend, so it uses neither the backends' log/sin/cos
// (CUDA's differ from glibc's in the last bit) nor a * b + c left to the compiler (nvcc and hipcc fuse it into an
// FMA by default, GCC only for targets with FMA): products and sums go through these, each rounded once, and
// everything else is exact by construction. fma_rn is the fused multiply-add everywhere: GPUs and CPUs since 2013
// have it in hardware; on a host build without it (no -march), glibc's fma still computes it exactly, through a
// call. (HIP's __dmul_rn is a plain a * b, so clang, HIP's compiler, gets the pragma that its default
// -ffp-contract=fast-honor-pragmas honours.)
KOKKOS_INLINE_FUNCTION double mul_rn(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dmul_rn(a, b);
#else
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
  return a * b;
#endif
}
KOKKOS_INLINE_FUNCTION double add_rn(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dadd_rn(a, b);
#else
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
  return a + b;
#endif
}

KOKKOS_INLINE_FUNCTION double sub_rn(double a, double b) { return add_rn(a, -b); }

/// a * b + c rounded once.
KOKKOS_INLINE_FUNCTION double fma_rn(double a, double b, double c) {
#if defined(__CUDA_ARCH__)
  return __fma_rn(a, b, c);
#else
  return ::fma(a, b, c);  // <cmath>'s on the host; HIP's device overload in its kernels
#endif
}

/// c0 x^n + c1 x^(n-1) + ... + cn by Horner's rule, one fma_rn per coefficient.
KOKKOS_FORCEINLINE_FUNCTION double horner(double, double c) { return c; }
template <class... C>
KOKKOS_FORCEINLINE_FUNCTION double horner(double x, double c0, double c1, C... rest) {
  return horner(x, fma_rn(c0, x, c1), rest...);
}

/// log(x * 2^scale) for a positive normal double x: the exponent split off exactly, then fdlibm's log
/// kernel for the mantissa (within 1 ulp). Branch-free: the comparisons are on random data. Forced inline: lane
/// loops call it, and GCC, out of inlining budget in large kernels, otherwise calls it per lane instead of
/// vectorising the loop (the sampler's stretch-move kernel ran 1.75x slower so).
KOKKOS_FORCEINLINE_FUNCTION double log_scaled(double x, int scale) {
  union {
    double d;
    std::uint64_t i;
  } pun;  // type punning through a union: supported by GCC, Clang and nvcc (Kokkos 3.4 has no bit_cast)
  pun.d = x;
  int e = int(pun.i >> 52) - 1023 + scale;
  pun.i = (pun.i & 0x000fffffffffffffull) | 0x3ff0000000000000ull;  // mantissa in [1, 2)
  double m = pun.d;
  const int big = m > 1.4142135623730951;  // m in [sqrt(1/2), sqrt(2)): halve it, bump e
  m = mul_rn(m, 1.0 - 0.5 * double(big));  // exact
  e += big;
  const double f = m - 1.0, s = f / (2.0 + f), z = mul_rn(s, s), w = mul_rn(z, z);  // f exact
  const double t1 = mul_rn(w, horner(w, 1.531383769920937332e-01, 2.222219843214978396e-01, 3.999999999940941908e-01));
  const double t2 = mul_rn(z, horner(w, 1.479819860511658591e-01, 1.818357216161805012e-01, 2.857142874366239149e-01,
                                     6.666666666666735130e-01));
  const double hfsq = mul_rn(0.5 * f, f);
  // e ln2 with ln 2 split (fdlibm's): e * ln2_hi is exact for |e| < 2^20.
  const double de = double(e);
  return fma_rn(de, 6.93147180369123816490e-01,
                sub_rn(f, sub_rn(hfsq, fma_rn(s, add_rn(hfsq, add_rn(t2, t1)), mul_rn(de, 1.90821492927058770002e-10)))));
}

/// double(v), exactly, for |v| < 2^51 (`bits` bounds |v| by 2^bits): CPUs without AVX-512 have no vector
/// instruction for int64 -> double, so on the host small values go through the exponent of 1.5 * 2^52.
KOKKOS_INLINE_FUNCTION double to_double(std::int64_t v, int bits) {
#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
  (void)bits;
  return double(v);
#else
  if (bits > 50) return double(v);
  union {
    double d;
    std::uint64_t i;
  } pun;
  pun.d = 6755399441055744.0;  // 1.5 * 2^52: its ulp is 1, so adding v to its bits adds v to its value
  pun.i += std::uint64_t(v);
  return pun.d - 6755399441055744.0;
#endif
}

/// log(n / 2^bits) for 1 <= n <= 2^bits, bits <= 53 (n converts exactly).
KOKKOS_INLINE_FUNCTION double log_ratio(std::uint64_t n, int bits) {
  return log_scaled(to_double(std::int64_t(n), bits), -bits);
}

/// sin and cos of 2 pi n / 2^bits for 0 <= n < 2^bits, bits <= 53: the nearest quarter turn from the integer
/// (no argument-reduction error), then fdlibm's sin and cos kernels rewritten in g, the remaining fraction of
/// a quarter turn (|g| <= 1/2). Within 1 ulp; branch-free.
KOKKOS_INLINE_FUNCTION void sincos_turns(std::uint64_t n, int bits, double& sin_out, double& cos_out) {
  const int qb = bits - 2;
  const std::uint64_t q = (n + (std::uint64_t(1) << (qb - 1))) >> qb;  // nearest quarter turn, 0..4
  const double g = to_double(std::int64_t(n) - std::int64_t(q << qb), bits) * (1.0 / double(std::uint64_t(1) << qb));
  const double z = mul_rn(g, g);
  // sin(pi/2 g) = g (S0 + S1 z + ... + S6 z^6), cos(pi/2 g) = 1 + C1 z + ... + C7 z^7
  const double ps = horner(z, 5.634704113884751e-08, -3.598649570240692e-06, 0.00016044115266738095,
                           -0.0046817541326259334, 0.07969262624606334, -0.645964097506245, 1.5707963267948966);
  const double pc = horner(z, -6.32474667886607e-09, 4.710641505803502e-07, -2.520203791691774e-05,
                           0.0009192602743905533, -0.02086348076333076, 0.25366950790104764, -1.2337005501361697,
                           1.0);
  const double sg = mul_rn(g, ps);
  // Quarter turn k: (sin, cos) = (sg, pc), (pc, -sg), (-sg, -pc), (-pc, sg), selected by exact products with
  // 0, 1 and -1 (a branch on random data would mispredict or diverge).
  const int k = int(q & 3u);
  const double swap = double(k & 1), keep = 1.0 - swap;
  const double ss = 1.0 - double(k & 2), sc = 1.0 - 2.0 * double(((k + 1) >> 1) & 1);
  sin_out = ss * (keep * sg + swap * pc);
  cos_out = sc * (keep * pc + swap * sg);
}

/// Box-Muller from integers: radius uniform r / 2^rbits in (0, 1], angle uniform a / 2^abits in [0, 1):
/// sqrt(-2 log(radius)) (cos, sin)(2 pi angle), in double for float streams too.
KOKKOS_INLINE_FUNCTION void box_muller(std::uint64_t r, int rbits, std::uint64_t a, int abits, double& z0, double& z1) {
  const double rho = compat::kmath::sqrt(-2.0 * log_ratio(r, rbits));  // IEEE sqrt: exact rounding everywhere
  double s, c;
  sincos_turns(a, abits, s, c);
  z0 = mul_rn(rho, c);
  z1 = mul_rn(rho, s);
}
}  // namespace impl

/// Values per Philox block: 2 for double, 4 for float.
template <class T>
struct per_block : std::integral_constant<int, sizeof(T) == 8 ? 2 : 4> {
  static_assert(std::is_floating_point<T>::value, "nabla::random: element type must be float or double");
};

struct UniformDist {
  static constexpr const char* name = "uniform";
  /// All values of block b: out[j] is element b * per_block + j.
  template <class T>
  KOKKOS_INLINE_FUNCTION static void block(const Key& key, std::uint64_t b, T* out) {
    const Block w = bits(key, b);
    if constexpr (sizeof(T) == 8) {
      out[0] = T(impl::u01_double(w[0], w[1]));
      out[1] = T(impl::u01_double(w[2], w[3]));
    } else {
      for (int j = 0; j < 4; ++j) out[j] = impl::u01_float(w[j]);
    }
  }
};

struct NormalDist {
  static constexpr const char* name = "normal";
  template <class T>
  KOKKOS_INLINE_FUNCTION static void block(const Key& key, std::uint64_t b, T* out) {
    const Block w = bits(key, b, 1u);
    double z[4];
    if constexpr (sizeof(T) == 8) {
      // 1 - u1 in (0, 1]: the log is finite.
      impl::box_muller((std::uint64_t(1) << 53) - impl::bits53(w[0], w[1]), 53, impl::bits53(w[2], w[3]), 53, z[0], z[1]);
      out[0] = z[0];
      out[1] = z[1];
    } else {
      impl::box_muller((1u << 24) - impl::bits24(w[0]), 24, impl::bits24(w[1]), 24, z[0], z[1]);
      impl::box_muller((1u << 24) - impl::bits24(w[2]), 24, impl::bits24(w[3]), 24, z[2], z[3]);
      for (int j = 0; j < 4; ++j) out[j] = T(z[j]);
    }
  }
};

/// Element i of the stream of `Dist` under `key` (computes its whole block; prefer the array fills).
template <class Dist, class T>
KOKKOS_INLINE_FUNCTION T at(const Key& key, std::uint64_t i) {
  constexpr int B = per_block<T>::value;
  T out[B];
  Dist::template block<T>(key, i / B, out);
  return out[i % B];
}

/// Uniform in [0, 1) at index i.
template <class T>
KOKKOS_INLINE_FUNCTION T uniform_at(const Key& key, std::uint64_t i) {
  return at<UniformDist, T>(key, i);
}
/// Standard normal (Box-Muller) at index i.
template <class T>
KOKKOS_INLINE_FUNCTION T normal_at(const Key& key, std::uint64_t i) {
  return at<NormalDist, T>(key, i);
}

// ------------------------------------------------------------ per-element streams drawn inside kernels
// Kernels that draw numbers of their own in their hot loop (a Langevin step, an MCMC move) take 32-bit words:
// four normals per Philox call instead of NormalDist's two, and lane-wise forms that vectorise across
// walkers on CPUs. The 32-bit radius uniform truncates the normal at |z| = 6.8 (probability 1e-11).

namespace impl {
/// Uniform in [0, 1) from 32 random bits.
KOKKOS_INLINE_FUNCTION double u01_word(std::uint32_t w) { return double(w) * (1.0 / 4294967296.0); }
/// Uniform integer in [0, n) from 32 random bits (multiply-shift).
KOKKOS_INLINE_FUNCTION std::uint64_t below(std::uint32_t w, std::uint64_t n) { return (std::uint64_t(w) * n) >> 32; }

/// Four normals from one Philox block: radius uniforms (w + 1/2) / 2^32 in (0, 1), so the log is finite;
/// angle uniforms w / 2^32.
KOKKOS_INLINE_FUNCTION void box_muller4(std::uint32_t w0, std::uint32_t w1, std::uint32_t w2, std::uint32_t w3,
                                        double& z0, double& z1, double& z2, double& z3) {
  box_muller(2 * std::uint64_t(w0) + 1, 33, w1, 32, z0, z1);
  box_muller(2 * std::uint64_t(w2) + 1, 33, w3, 32, z2, z3);
}
}  // namespace impl

/// \brief Standard normals 4b .. 4b+3 of the stream `key` (one Philox4x32-10 call, domain 2).
KOKKOS_INLINE_FUNCTION void normal4(const Key& key, std::uint64_t b, double* out) {
  const Block w = bits(key, b, 2u);
  impl::box_muller4(w[0], w[1], w[2], w[3], out[0], out[1], out[2], out[3]);
}

/// \brief normal4 for L streams at once, lane l keyed (k0[l], k1[l]): out[j][l] is normal 4b + j of lane l.
/// The same numbers as normal4, laid out so that CPUs compute the lanes in vector registers.
template <int L>
KOKKOS_INLINE_FUNCTION void normal4_lanes(const std::uint32_t* k0, const std::uint32_t* k1, std::uint64_t b,
                                          double (*out)[L]) {
  std::uint32_t w[4][L];
  bits_lanes<L>(k0, k1, b, 2u, w);
  NABLA_SIMD
  for (int l = 0; l < L; ++l)
    impl::box_muller4(w[0][l], w[1][l], w[2][l], w[3][l], out[0][l], out[1][l], out[2][l], out[3][l]);
}

/// \brief Normal number i of normal4's stream `key` (computes its whole block of 4).
KOKKOS_INLINE_FUNCTION double normal4_at(const Key& key, std::uint64_t i) {
  double v[4];
  normal4(key, i / 4, v);
  return v[i % 4];
}

/// \brief Normals i, i+1, ... of normal4's stream `key`, four per Philox call; number i equals normal4_at(key, i).
struct NormalStream {
  Key key;
  std::uint64_t i;
  double buf[4];
  KOKKOS_INLINE_FUNCTION NormalStream(const Key& k, std::uint64_t first) : key(k), i(first) {
    if (i & 3u) normal4(key, i >> 2, buf);
  }
  KOKKOS_INLINE_FUNCTION double operator()() {
    if ((i & 3u) == 0) normal4(key, i >> 2, buf);
    return buf[(i++) & 3u];
  }
};

}  // namespace random

// --------------------------------------------------------------------------- lazy leaves (fuse into kernels)

/// A random array that exists only inside expressions: element (i0, i1, ...) is the stream's value at the
/// column-major linear index, exactly what the materialising functions store there.
template <class Dist, class T, int R>
struct RandomLeaf {
  using value_type = T;
  using memory_space = void;
  static constexpr int rank = R;
  random::Key key;
  Shape<R> extents;
  std::uint64_t offset = 0;  // index of element 0 in the stream (a rank's share of a global stream)
  Shape<R> shape() const { return extents; }
};

template <class Dist, class T, int R>
struct is_expression<RandomLeaf<Dist, T, R>> : std::true_type {};

template <class Dist, class T, int N>
struct RandomKernel {
  random::Key key;
  Strides<N> stride;  // column-major linear strides, 0 where extruded
  std::uint64_t offset;
  KOKKOS_INLINE_FUNCTION T at(const Index<N>& i) const {
    return random::at<Dist, T>(key, offset + std::uint64_t(impl::offset(i, stride)));
  }
  KOKKOS_INLINE_FUNCTION T flat(std::size_t i) const { return random::at<Dist, T>(key, offset + i); }
};

template <class Dist, class T, int R>
Shape<R> broadcast_shape(const RandomLeaf<Dist, T, R>& l) {
  return l.extents;
}
template <int N, class Dist, class T, int R>
RandomKernel<Dist, T, N> instantiate(const RandomLeaf<Dist, T, R>& l, const Shape<N>& out) {
  Strides<N> s{};
  std::ptrdiff_t lin = 1;
  for (int d = 0; d < R; ++d) {  // a trailing dimension the stream lacks extrudes (stride 0)
    const std::size_t e = l.extents[d];
    s[d] = (e == 1 || out[d] == 1) ? 0 : lin;
    lin *= std::ptrdiff_t(e);
  }
  return {l.key, s, l.offset};
}
template <int N, class Dist, class T>
bool flat_compatible(const RandomKernel<Dist, T, N>& k, const Strides<N>& dst) {
  return impl::strides_equal(k.stride, dst);
}
template <class Dist, class T, int R, class Fn>
void for_each_leaf(RandomLeaf<Dist, T, R>&, Fn&&) {}


namespace random {

/// Lazy uniform [0, 1) values of the given shape: `count(random::uniform_expr<double>(k, {n}) < 0.5)` tosses
/// n coins in one kernel without storing them.
/// `offset` starts the array at that index of the stream, so ranks can each take a slice of one stream.
template <class T, int R>
RandomLeaf<UniformDist, T, R> uniform_expr(const Key& key, const Shape<R>& shape, std::uint64_t offset = 0) {
  return {key, shape, offset};
}
/// Lazy standard normal values of the given shape.
template <class T, int R>
RandomLeaf<NormalDist, T, R> normal_expr(const Key& key, const Shape<R>& shape, std::uint64_t offset = 0) {
  return {key, shape, offset};
}

// ------------------------------------------------------------------------------------- materialised arrays
namespace impl {
template <class Dist, class T>
struct FillBlocks {
  Key key;
  T* out;
  std::size_t n;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t b) const {
    constexpr int B = per_block<T>::value;
    T v[B];
    Dist::template block<T>(key, b, v);
    for (int j = 0; j < B; ++j)
      if (b * B + j < n) out[b * B + j] = v[j];
  }
};

template <class Dist, class T, int R, class Space>
Array<T, R, Space> fill(const Key& key, const Shape<R>& shape, const char* label) {
  Array<T, R, Space> a(shape, label, uninitialized);
  const std::size_t n = a.size();
  constexpr int B = per_block<T>::value;
  using Exec = typename Array<T, R, Space>::execution_space;
  Kokkos::parallel_for(label, Kokkos::RangePolicy<Exec, Kokkos::IndexType<std::size_t>>(launch_space<Exec>(n), 0, (n + B - 1) / B),
                       FillBlocks<Dist, T>{key, a.data(), n});
  return a;
}
}  // namespace impl

/// \brief Uniform [0, 1) array (column-major element i = uniform_at(key, i)); one Philox call per block.
template <class T, int R, class Space = DefaultMemorySpace>
Array<T, R, Space> uniform(const Key& key, const Shape<R>& shape) {
  return impl::fill<UniformDist, T, R, Space>(key, shape, "nabla::core::random::uniform");
}

/// \brief Standard normal array (column-major element i = normal_at(key, i)).
template <class T, int R, class Space = DefaultMemorySpace>
Array<T, R, Space> normal(const Key& key, const Shape<R>& shape) {
  return impl::fill<NormalDist, T, R, Space>(key, shape, "nabla::core::random::normal");
}

}  // namespace random


}  // namespace nabla
