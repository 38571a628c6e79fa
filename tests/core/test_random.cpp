// Counter-based RNG: Philox known answers, purity (array == per-index function == lazy leaf, at any thread
// count), key derivation, and moments / a Kolmogorov-Smirnov bound against the exact distributions.
#include "test_util.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <vector>

using nabla_test::host;
namespace rnd = nabla::random;

namespace {

// Known-answer vectors of Philox4x32-10 from Random123's kat_vectors.
TEST(Random, PhiloxKnownAnswers) {
  r123::Philox4x32 rng;
  r123::Philox4x32::ctr_type c = {{0u, 0u, 0u, 0u}};
  r123::Philox4x32::key_type k = {{0u, 0u}};
  auto r = rng(c, k);
  EXPECT_EQ(r[0], 0x6627e8d5u);
  EXPECT_EQ(r[1], 0xe169c58du);
  EXPECT_EQ(r[2], 0xbc57ac4cu);
  EXPECT_EQ(r[3], 0x9b00dbd8u);
  c = {{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}};
  k = {{0xa4093822u, 0x299f31d0u}};
  r = rng(c, k);
  EXPECT_EQ(r[0], 0xd16cfe09u);
  EXPECT_EQ(r[1], 0x94fdccebu);
  EXPECT_EQ(r[2], 0x5001e420u);
  EXPECT_EQ(r[3], 0x24126ea1u);
  c = {{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}};
  k = {{0xffffffffu, 0xffffffffu}};
  r = rng(c, k);
  EXPECT_EQ(r[0], 0x408f276du);
  EXPECT_EQ(r[1], 0x41c83b0eu);
  EXPECT_EQ(r[2], 0xa20bc7c6u);
  EXPECT_EQ(r[3], 0x6d5451fdu);
}

template <class T>
void check_purity(std::size_t n) {
  const auto key = rnd::fold_in(rnd::key(2024), 7);
  auto u = host(rnd::uniform<T, 1>(key, {n}));
  auto z = host(rnd::normal<T, 1>(key, {n}));
  auto lazy_u = host(nabla::eval(rnd::uniform_expr<T>(key, nabla::Shape<1>{n})));
  for (std::size_t i = 0; i < n; ++i) {
    // Bitwise: the parallel fill at this run's thread count equals the serial per-index definition.
    ASSERT_EQ(u(i), rnd::uniform_at<T>(key, i)) << i;
    ASSERT_EQ(z(i), rnd::normal_at<T>(key, i)) << i;
    ASSERT_EQ(lazy_u(i), u(i)) << i;
  }
}

TEST(Random, ArraysArePureFunctionsOfKeyAndIndex) {
  for (std::size_t n : {0, 1, 13, 1024, 132231}) {
    check_purity<double>(n);
    check_purity<float>(n);
  }
}

TEST(Random, LazyLeafIndexesColumnMajorUnderBroadcast) {
  const auto key = rnd::key(5);
  auto m = host(rnd::uniform<double, 2>(key, {6, 4}));
  auto lazy = host(nabla::eval(rnd::uniform_expr<double>(key, nabla::Shape<2>{6, 4}) + 0.0));
  nabla::Array<double, 3> big({6, 4, 2});
  nabla::assign(big, rnd::uniform_expr<double>(key, nabla::Shape<2>{6, 4}));  // extruded along dim 2
  auto hb = host(big);
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 4; ++j) {
      EXPECT_EQ(lazy(i, j), m(i, j));
      EXPECT_EQ(hb(i, j, 0), m(i, j));
      EXPECT_EQ(hb(i, j, 1), m(i, j));
    }
}

TEST(Random, DerivedKeysDiffer) {
  const auto k = rnd::key(1);
  EXPECT_NE(rnd::split(k, 0), rnd::split(k, 1));
  EXPECT_NE(rnd::fold_in(k, 0), rnd::fold_in(k, 1));
  EXPECT_NE(rnd::split(k, 0), rnd::fold_in(k, 0));
  EXPECT_EQ(rnd::split(k, 3), rnd::split(k, 3));
  EXPECT_NE(rnd::uniform_at<double>(rnd::key(1), 0), rnd::uniform_at<double>(rnd::key(2), 0));
}

template <class T>
void check_moments() {
  const std::size_t n = 1 << 20;
  const auto key = rnd::key(99);
  auto u = rnd::uniform<T, 1>(key, {n});
  auto z = rnd::normal<T, 1>(key, {n});
  // Standard errors of the sample moments; 6 sigma bounds.
  const double se = 1.0 / std::sqrt(double(n));
  EXPECT_NEAR(nabla::mean(u), 0.5, 6 * se * std::sqrt(1.0 / 12));
  EXPECT_NEAR(nabla::mean((u - T(0.5)) * (u - T(0.5))), 1.0 / 12, 6 * se * std::sqrt(1.0 / 180));
  EXPECT_GE(nabla::min(u), T(0));
  EXPECT_LT(nabla::max(u), T(1));
  EXPECT_NEAR(nabla::mean(z), 0.0, 6 * se);
  EXPECT_NEAR(nabla::mean(z * z), 1.0, 6 * se * std::sqrt(2.0));
  EXPECT_NEAR(nabla::mean(z * z * z * z), 3.0, 6 * se * std::sqrt(96.0));
  // Neighbouring elements (the two outputs of one Box-Muller pair) must be uncorrelated.
  auto hz = host(z);
  double c = 0;
  for (std::size_t i = 0; i + 1 < n; i += 2) c += double(hz(i)) * double(hz(i + 1));
  EXPECT_NEAR(c / (n / 2), 0.0, 6 * std::sqrt(2.0 / n));
}

TEST(Random, MomentsDouble) { check_moments<double>(); }
TEST(Random, MomentsFloat) { check_moments<float>(); }

TEST(Random, KolmogorovSmirnovNormal) {
  const std::size_t n = 20000;
  auto z = host(rnd::normal<double, 1>(rnd::key(3), {n}));
  std::vector<double> v(z.data(), z.data() + n);
  std::sort(v.begin(), v.end());
  double d = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double f = 0.5 * std::erfc(-v[i] / std::sqrt(2.0));
    d = std::max({d, std::abs(f - double(i) / n), std::abs(f - double(i + 1) / n)});
  }
  // Critical value at alpha = 0.001: 1.95 / sqrt(n).
  EXPECT_LT(d, 1.95 / std::sqrt(double(n)));
}

// The normal transform's own log and sin/cos (bit-identical on every backend) against long double libm.
TEST(Random, NormalTransformMatchesLibm) {
  const long double two_pi = 6.283185307179586476925286766559005768L;
  const double eps = std::numeric_limits<double>::epsilon();
  for (int bits : {24, 32, 33, 53}) {  // float and double normals, sampling's 32-bit pairs
    const std::uint64_t full = std::uint64_t(1) << bits;
    std::vector<std::uint64_t> ns = {1, 2, 3, full / 8 - 1, full / 8, full / 8 + 1, full / 4, full / 2 - 1,
                                     full / 2, full / 2 + 1, 3 * full / 8, 3 * full / 4, full - 2, full - 1};
    for (std::uint64_t i = 0; i < 200000; ++i) {
      const rnd::Block b = rnd::bits(rnd::key(8), i);
      ns.push_back(rnd::impl::bits53(b[0], b[1]) >> (53 - bits));
    }
    for (std::uint64_t n : ns) {
      if (n == 0) continue;
      const long double ratio = (long double)n / (long double)full;
      const double want_log = double(std::log(ratio));
      const double got_log = rnd::impl::log_ratio(n, bits);
      ASSERT_LE(std::abs(got_log - want_log), 2 * eps * std::abs(want_log)) << "log(" << n << "/2^" << bits << ")";
      double s, c;
      rnd::impl::sincos_turns(n, bits, s, c);  // every n here is below 2^bits
      ASSERT_LE(std::abs(s - double(std::sin(two_pi * ratio))), 2 * eps) << "sin(2 pi " << n << "/2^" << bits << ")";
      ASSERT_LE(std::abs(c - double(std::cos(two_pi * ratio))), 2 * eps) << "cos(2 pi " << n << "/2^" << bits << ")";
    }
  }
}

// The lane-wise Philox, against Random123 itself: 8 lanes (CPUs: 64-bit words) and 1 (GPU threads: 32-bit words).
template <int L>
void check_lane_philox() {
  for (std::uint64_t t = 0; t < 2000; ++t) {
    std::uint32_t k0[L], k1[L], out[4][L];
    for (int l = 0; l < L; ++l) {
      const rnd::Block r = rnd::bits(rnd::key(t), std::uint64_t(l), 3u);
      k0[l] = r[0];
      k1[l] = t % 7 ? r[1] : 0xffffffffu;  // a saturated key word too
    }
    const std::uint64_t counter = t % 3 ? t * 0x9E3779B97F4A7C15ull : ~std::uint64_t(0);
    const std::uint32_t domain = std::uint32_t(t % 5);
    rnd::bits_lanes<L>(k0, k1, counter, domain, out);
    for (int l = 0; l < L; ++l) {
      const rnd::Block want = rnd::bits(rnd::Key{k0[l], k1[l]}, counter, domain);
      for (int j = 0; j < 4; ++j)
        ASSERT_EQ(out[j][l], want[j]) << L << " lanes, trial " << t << " lane " << l << " word " << j;
    }
  }
}
TEST(Random, LaneWisePhiloxEqualsRandom123) {
  check_lane_philox<8>();
  check_lane_philox<1>();
}

// normal4, the generator kernels draw their own streams from: the first four moments of 2^22 normals (standard
// errors 1/sqrt(n), sqrt(2/n), sqrt(15/n), sqrt(96/n) for mean, variance, skewness-sum, kurtosis; tolerance
// 5 sigma). Its log and sin/cos are tested against libm in Random.NormalTransformMatchesLibm.
TEST(Random, Normal4Moments) {
  const auto key = rnd::key(8);
  const std::size_t n = std::size_t(1) << 22;
  double m1 = 0, m2 = 0, m3 = 0, m4 = 0;
  for (std::size_t b = 0; b < n / 4; ++b) {
    double z[4];
    rnd::normal4(key, b, z);
    for (double x : z) {
      m1 += x;
      m2 += x * x;
      m3 += x * x * x;
      m4 += x * x * x * x;
    }
    if (b < 1000) {
      ASSERT_EQ(z[b % 4], rnd::normal4_at(key, 4 * b + b % 4));
    }
  }
  const double N = double(n);
  EXPECT_NEAR(m1 / N, 0.0, 5 / std::sqrt(N));
  EXPECT_NEAR(m2 / N, 1.0, 5 * std::sqrt(2 / N));
  EXPECT_NEAR(m3 / N, 0.0, 5 * std::sqrt(15 / N));
  EXPECT_NEAR(m4 / N, 3.0, 5 * std::sqrt(96 / N));
}

// The lane-wise form CPU kernels use gives each lane exactly its own stream's normals.
TEST(Random, LaneWiseNormal4EqualsNormal4) {
  constexpr int L = 8;
  std::uint32_t k0[L], k1[L];
  for (int l = 0; l < L; ++l) {
    const auto k = rnd::fold_in(rnd::key(5), std::uint64_t(l));
    k0[l] = k.k0;
    k1[l] = k.k1;
  }
  for (std::uint64_t b = 0; b < 20000; b += 7) {
    double lanes[4][L];
    rnd::normal4_lanes<L>(k0, k1, b, lanes);
    for (int l = 0; l < L; ++l) {
      double z[4];
      rnd::normal4(rnd::Key{k0[l], k1[l]}, b, z);
      for (int j = 0; j < 4; ++j) ASSERT_EQ(lanes[j][l], z[j]) << "block " << b << " lane " << l;
    }
  }
}

// Keys derive inside kernels exactly as on the host: walker w's stream is fold_in(key, w) wherever it is drawn.
struct DeriveKeys {
  rnd::Key key;
  Kokkos::View<std::uint32_t* [4]> out;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t i) const {
    const rnd::Key f = rnd::fold_in(key, i), s = rnd::split(key, i);
    out(i, 0) = f.k0;
    out(i, 1) = f.k1;
    out(i, 2) = s.k0;
    out(i, 3) = s.k1;
  }
};
TEST(Random, KeysDeriveAlikeInKernels) {
  const auto key = rnd::key(0x1234567890ull);
  const std::size_t n = 4096;
  Kokkos::View<std::uint32_t* [4]> out("keys", n);
  Kokkos::parallel_for("nabla::test::derive_keys", Kokkos::RangePolicy<Kokkos::IndexType<std::size_t>>(0, n),
                       DeriveKeys{key, out});
  const auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), out);
  for (std::size_t i = 0; i < n; ++i) {
    const rnd::Key f = rnd::fold_in(key, i), s = rnd::split(key, i);
    ASSERT_EQ(h(i, 0), f.k0) << i;
    ASSERT_EQ(h(i, 1), f.k1) << i;
    ASSERT_EQ(h(i, 2), s.k0) << i;
    ASSERT_EQ(h(i, 3), s.k1) << i;
  }
}


// The normal transform's integer -> double conversion (a bit trick on CPUs) against the plain conversion, up to
// the +-2^50 it is used for.
// shuffle deals every permutation of 4 alike over 24000 keys: chi-square with 23 degrees of freedom below
// 70 (p < 1e-6 under uniformity); and a long shuffle is a permutation, the same for the same key.
TEST(Random, ShuffleIsUniformAndPure) {
  std::map<std::vector<int>, int> seen;
  const int trials = 24000;
  for (int t = 0; t < trials; ++t) {
    std::vector<int> v = {0, 1, 2, 3};
    rnd::shuffle(rnd::fold_in(rnd::key(3), std::uint64_t(t)), v.data(), v.size());
    ++seen[v];
  }
  ASSERT_EQ(seen.size(), 24u);
  double chi2 = 0;
  for (const auto& kv : seen) chi2 += (kv.second - 1000.0) * (kv.second - 1000.0) / 1000.0;
  EXPECT_LT(chi2, 70.0);
  std::vector<std::uint32_t> a(10007), b;
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = std::uint32_t(i);
  b = a;
  rnd::shuffle(rnd::key(4), a.data(), a.size());
  rnd::shuffle(rnd::key(4), b.data(), b.size());
  EXPECT_EQ(a, b);
  std::vector<std::uint32_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < sorted.size(); ++i) ASSERT_EQ(sorted[i], i);
  std::size_t fixed = 0;
  for (std::size_t i = 0; i < a.size(); ++i) fixed += a[i] == i;
  EXPECT_LT(fixed, 10u);  // a uniform permutation has Poisson(1) fixed points
}

TEST(Random, SmallIntegersConvertExactly) {
  const std::int64_t big = std::int64_t(1) << 50;
  std::vector<std::int64_t> vs = {0, 1, -1, 2, -2, big, -big, big - 1, -big + 1, big / 3, -big / 3};
  for (std::uint64_t i = 0; i < 100000; ++i) {
    const rnd::Block b = rnd::bits(rnd::key(9), i);
    const std::int64_t m = std::int64_t(rnd::impl::bits53(b[0], b[1]) >> (3 + i % 50));  // below 2^50, all scales
    vs.push_back(b[2] & 1u ? m : -m);
  }
  for (std::int64_t v : vs) ASSERT_EQ(rnd::impl::to_double(v, 50), double(v)) << v;
  for (std::int64_t v : {std::int64_t(1) << 53, -(std::int64_t(1) << 53) + 1}) ASSERT_EQ(rnd::impl::to_double(v, 53), double(v));
}

TEST(Random, LogOfAnyPositiveDouble) {  // the stretch move's log z and log u
  const double eps = std::numeric_limits<double>::epsilon();
  for (int i = 1; i <= 100000; ++i) {
    const double x = double(i) / 7919.0 * (i % 3 ? 1.0 : 1e-9) * (i % 5 ? 1.0 : 1e12);
    ASSERT_LE(std::abs(rnd::impl::log_scaled(x, 0) - double(std::log((long double)x))), 2 * eps * std::abs(std::log(x)))
        << x;
  }
}

TEST(Random, FusedCoinTossCount) {
  const std::size_t n = 1000000;
  const auto heads = nabla::count(rnd::uniform_expr<double>(rnd::key(11), nabla::Shape<1>{n}) < 0.5);
  EXPECT_NEAR(double(heads), n / 2.0, 6 * std::sqrt(n * 0.25));
  // Same count as the materialised array: the lazy leaf is the same stream.
  EXPECT_EQ(heads, nabla::count(rnd::uniform<double, 1>(rnd::key(11), {n}) < 0.5));
}

}  // namespace
