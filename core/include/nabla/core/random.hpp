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
#include <Random123/philox.h>

#include <cstdint>

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

/// The key for an integer seed.
inline Key key(std::uint64_t seed) { return Key{std::uint32_t(seed), std::uint32_t(seed >> 32)}; }

/// A key derived from `key` and `data` (JAX's fold_in): distinct data give independent keys.
inline Key fold_in(const Key& key, std::uint64_t data) {
  const Block b = bits(key, data, 0xf01d1au);
  return Key{b[0], b[1]};
}

/// The i-th of the keys `key` splits into (JAX's split(key, n)[i]); independent of n.
inline Key split(const Key& key, std::uint64_t i) {
  const Block b = bits(key, i, 0x5b117u);
  return Key{b[0], b[1]};
}

namespace impl {
KOKKOS_INLINE_FUNCTION double u01_double(std::uint32_t hi, std::uint32_t lo) {
  // 53 random bits -> [0, 1)
  return double((std::uint64_t(hi) << 21) ^ (lo >> 11)) * (1.0 / 9007199254740992.0);
}
KOKKOS_INLINE_FUNCTION float u01_float(std::uint32_t w) { return float(w >> 8) * (1.0f / 16777216.0f); }

template <class T>
KOKKOS_INLINE_FUNCTION void box_muller(T u1, T u2, T& z0, T& z1) {
  // u1 in [0,1) -> 1-u1 in (0,1], so the log is finite.
  const T r = compat::kmath::sqrt(T(-2) * compat::kmath::log(T(1) - u1));
  const T t = T(6.283185307179586476925286766559) * u2;
  z0 = r * compat::kmath::cos(t);
  z1 = r * compat::kmath::sin(t);
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
    if constexpr (sizeof(T) == 8) {
      impl::box_muller(impl::u01_double(w[0], w[1]), impl::u01_double(w[2], w[3]), out[0], out[1]);
    } else {
      impl::box_muller(impl::u01_float(w[0]), impl::u01_float(w[1]), out[0], out[1]);
      impl::box_muller(impl::u01_float(w[2]), impl::u01_float(w[3]), out[2], out[3]);
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
  for (int d = N - R; d < N; ++d) {
    const std::size_t e = l.extents[d - (N - R)];
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
  Kokkos::parallel_for(label, Kokkos::RangePolicy<Exec, Kokkos::IndexType<std::size_t>>(0, (n + B - 1) / B),
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
