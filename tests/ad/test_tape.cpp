// Reverse mode over arrays: every op's gradient against central finite differences, broadcast adjoints
// under every extrusion pattern, one forward + one backward kernel per broadcast node, and bad input.
#include "../core/test_util.hpp"

#include <nabla/ad.hpp>

using nabla_test::close;
using nabla_test::fill_random;
using nabla_test::host;
namespace ad = nabla::ad;

namespace {

/// f's value at xs, through a tape of constants (no adjoints).
template <class F, class... Xs>
double value_of(F& f, const Xs&... xs) {
  ad::Tape tape;
  auto y = f(tape.constant(xs)...);
  double h = 0;
  Kokkos::deep_copy(h, y.value().view());
  return h;
}

template <class GF, class GD, std::size_t... I>
void compare_gradients(const GF& gf, const GD& gd, double tol, std::index_sequence<I...>) {
  auto one = [tol](const auto& f, const auto& d, std::size_t which) {
    const auto hf = host(f);
    const auto hd = host(d);
    ASSERT_EQ(hf.span(), hd.span());
    double scale = 1;
    for (std::size_t j = 0; j < hd.span(); ++j) scale = std::max(scale, std::abs(hd.data()[j]));
    for (std::size_t j = 0; j < hd.span(); ++j)
      ASSERT_LE(std::abs(double(hf.data()[j]) - hd.data()[j]), tol * scale)
          << "input " << which << " element " << j << ": float " << hf.data()[j] << " vs double " << hd.data()[j];
  };
  (one(std::get<I>(gf), std::get<I>(gd), I), ...);
}

/// Checks f's float gradients against its double gradients at the same point (the inputs rounded to float
/// first). The double gradients are the reference because check_gradients verifies them against central
/// differences. Bound: |g_float - g_double| <= tol max(1, max |g_double|); float rounds each operation to
/// 6e-8 relative, and 3e-5 leaves room for the few hundred roundings of these small tests.
template <class F, class... Xs>
void check_float_gradients(F f, double tol, const Xs&... xd) {
  const auto xf = std::make_tuple(nabla::eval(nabla::cast<float>(xd))...);
  const auto xr =
      std::apply([](const auto&... x) { return std::make_tuple(nabla::eval(nabla::cast<double>(x))...); }, xf);
  const auto [vf, gf] = std::apply([&](const auto&... x) { return ad::value_and_grad(f, x...); }, xf);
  const auto [vd, gd] = std::apply([&](const auto&... x) { return ad::value_and_grad(f, x...); }, xr);
  static_assert(std::is_same<std::decay_t<decltype(vf)>, float>::value, "f must keep float inputs in float");
  EXPECT_LE(std::abs(double(vf) - vd), tol * std::max(1.0, std::abs(vd)))
      << "value: float " << vf << " vs double " << vd;
  compare_gradients(gf, gd, tol, std::index_sequence_for<Xs...>{});
}

/// Checks value_and_grad(f, xs...) against central differences in every element of every input,
/// then the same f on float inputs against these double gradients.
/// Bound: |g - fd| <= rtol |fd| + atol with h = 1e-6 (truncation ~1e-12 |f'''|, round-off ~1e-10 |f|).
template <class F, class... Xs>
void check_gradients(F f, double rtol, double atol, const Xs&... xs) {
  auto [value, grads] = ad::value_and_grad(f, xs...);
  EXPECT_TRUE(close(value, value_of(f, xs...), 1e-14, 1e-14));
  std::size_t which = 0;
  auto check_one = [&](const auto& x, const auto& g) {
    auto hx = host(x);
    const auto hg = host(g);
    ASSERT_EQ(hg.size(), hx.size());
    for (std::size_t j = 0; j < hx.span(); ++j) {
      const double orig = hx.data()[j], h = 1e-6 * std::max(1.0, std::abs(orig));
      hx.data()[j] = orig + h;
      Kokkos::deep_copy(x.view(), hx);
      const double fp = value_of(f, xs...);
      hx.data()[j] = orig - h;
      Kokkos::deep_copy(x.view(), hx);
      const double fm = value_of(f, xs...);
      hx.data()[j] = orig;
      Kokkos::deep_copy(x.view(), hx);
      ASSERT_TRUE(close(hg.data()[j], (fp - fm) / (2 * h), rtol, atol))
          << "input " << which << " element " << j << ": " << hg.data()[j] << " vs " << (fp - fm) / (2 * h);
    }
    ++which;
  };
  std::apply([&](const auto&... g) { (check_one(xs, g), ...); }, grads);
  check_float_gradients(f, 3e-5, xs...);
}

/// `a` in the element type of the Var `x`, so one test function runs on float and on double Vars.
template <class V, class A>
auto like(const V&, const A& a) {
  return nabla::cast<typename V::value_type>(a);
}

nabla::Array<double, 1> rvec(std::size_t n, unsigned seed, double lo = -1, double hi = 1) {
  nabla::Array<double, 1> a({n});
  fill_random(a.view(), lo, hi, seed);
  return a;
}
nabla::Array<double, 2> rmat(std::size_t m, std::size_t n, unsigned seed, double lo = -1, double hi = 1) {
  nabla::Array<double, 2> a({m, n});
  fill_random(a.view(), lo, hi, seed);
  return a;
}

TEST(Tape, FusedEightOpExpressionGradient) {
  auto f = [](auto a, auto b, auto c, auto d) { return ad::sum((a + b) * (c - d) + (a * c - b * d) * a); };
  check_gradients(f, 1e-7, 1e-9, rvec(13, 1), rvec(13, 2), rvec(13, 3), rvec(13, 4));
}

// Five functions per fused node: one 25-leaf expression compiles in seconds with GCC but kept NVVM's optimiser
// busy for over 25 minutes (its cost grows steeply with the leaves of one differentiated kernel).
TEST(Tape, EveryMathFunctionThroughABroadcastNode) {
  auto x = rvec(9, 5, 0.2, 0.9);
  check_gradients([](auto v) { return ad::sum(ad::sqrt(v) + ad::cbrt(v) + ad::exp(v) + ad::expm1(v) + ad::log(v)); },
                  1e-6, 1e-8, x);
  check_gradients([](auto v) { return ad::sum(ad::log1p(v) + ad::sin(v) + ad::cos(v) + ad::tan(v) + ad::asin(v)); },
                  1e-6, 1e-8, x);
  check_gradients([](auto v) { return ad::sum(ad::acos(v) + ad::atan(v) + ad::sinh(v) + ad::cosh(v) + ad::tanh(v)); },
                  1e-6, 1e-8, x);
  check_gradients(
      [](auto v) { return ad::sum(ad::erf(v) + ad::erfc(v) + ad::abs(v - 0.5) + ad::pow(v, 2.5) + ad::atan2(v, 0.3)); },
      1e-6, 1e-8, x);
  check_gradients(
      [](auto v) { return ad::sum(ad::hypot(v, 0.7) + ad::max(v, 0.5) + ad::min(v, 0.5) + ad::clamp(v, 0.3, 0.6) + 3.0 / v); },
      1e-6, 1e-8, x);
}

struct Branch {
  template <class V>
  KOKKOS_INLINE_FUNCTION V operator()(const V& v) const {
    return v > 0.5 ? v * v * v : 2.0 * v;
  }
};

template <class T>
struct Promote {
  KOKKOS_INLINE_FUNCTION T operator()(double s) const { return T(s); }
};

TEST(Tape, BranchesDifferentiatePerElement) {
  auto f = [](auto x) { return ad::sum(ad::where(x > 0.0, x * x, -3.0 * x) + ad::map(Branch{}, x)); };
  check_gradients(f, 1e-7, 1e-9, rvec(40, 6));
}

// Every way a rank-2 operand can broadcast against a (5, 4) result, plus lower-rank operands.
TEST(Tape, BroadcastAdjointsSumOverEveryExtrusionPattern) {
  auto m = rmat(5, 4, 7);
  auto f_row = [](auto a, auto b) { return ad::sum(ad::eval(a * b + ad::sin(b)) * a); };
  check_gradients(f_row, 1e-7, 1e-9, m, rmat(1, 4, 8));
  check_gradients(f_row, 1e-7, 1e-9, m, rmat(5, 1, 9));
  check_gradients(f_row, 1e-7, 1e-9, m, rmat(1, 1, 10));
  check_gradients(f_row, 1e-7, 1e-9, m, rvec(4, 11));
  check_gradients(f_row, 1e-7, 1e-9, rmat(1, 4, 12), rmat(5, 1, 13));  // both extruded, result (5, 4)
  auto f_sum = [](auto a, auto b) { return ad::sum(a * ad::exp(b)); };  // extrusion inside a fused sum
  check_gradients(f_sum, 1e-7, 1e-9, m, rmat(1, 4, 14));
  check_gradients(f_sum, 1e-7, 1e-9, m, rvec(4, 15));
}

// Host reverse kernels take 16 elements of dimension 0 per lane loop: full blocks and tails, flat and
// through strides (a row operand makes the result non-flat), writing and adding into adjoints.
TEST(Tape, LaneBlocksAndTails) {
  auto f_rows = [](auto a, auto b) { return ad::sum(ad::eval(a * b - ad::cos(b)) * a); };
  check_gradients(f_rows, 1e-7, 1e-9, rmat(37, 3, 51), rmat(1, 3, 52));
  check_gradients(f_rows, 1e-7, 1e-9, rmat(37, 3, 53), rmat(37, 1, 54));
  auto f_flat = [](auto a, auto b) {
    auto y = ad::eval(a * b + a);
    // Means keep |f| near 1, so the differences' round-off (~1e-10 |f|) stays under the bound.
    return ad::sum(ad::mean(y * y * b + a) + ad::mean(ad::eval(y * a)));  // the outer sum has rank 0
  };
  check_gradients(f_flat, 1e-7, 1e-9, rvec(50, 55), rvec(50, 56));
  check_gradients(f_flat, 1e-7, 1e-9, rmat(16, 2, 57), rmat(16, 2, 58));
}

// The HM-LSTM cell of perf/ad: fused into one node (data-dependent branches, z and zb broadcast along
// dimension 0) and as one node per operation; each against differences, and the two against each other.
TEST(Tape, HmLstmCellFusedAndUnfused) {
  nabla::Array<double, 1> z({5}), zb({5});
  {
    auto hz = Kokkos::create_mirror_view(z.view()), hzb = Kokkos::create_mirror_view(zb.view());
    const double zs[5] = {1, 0, 0, 1, 0}, zbs[5] = {0, 1, 0, 1, 1};  // every (z, zb) pair
    for (int j = 0; j < 5; ++j) hz(j) = zs[j], hzb(j) = zbs[j];
    Kokkos::deep_copy(z.view(), hz);
    Kokkos::deep_copy(zb.view(), hzb);
  }
  auto sig = [](const auto& x) { return 1.0 / (1.0 + ad::exp(-x)); };
  auto fused = [=](auto c, auto f, auto i, auto g) {
    auto h = ad::eval(ad::where(like(c, z) == 1.0, sig(i) * ad::tanh(g),
                                ad::where(like(c, zb) == 0.0, c, sig(f) * c + sig(i) * ad::tanh(g))));
    return ad::sum(h * h);
  };
  auto unfused = [=](auto c, auto f, auto i, auto g) {
    auto si = ad::eval(sig(i));
    auto tg = ad::eval(ad::tanh(g));
    auto a = ad::eval(si * tg);
    auto b = ad::eval(ad::eval(sig(f)) * c);
    auto s = ad::eval(b + a);
    auto inner = ad::eval(ad::where(like(c, zb) == 0.0, c, s));
    auto h = ad::eval(ad::where(like(c, z) == 1.0, a, inner));
    return ad::sum(h * h);
  };
  const auto c = rmat(6, 5, 70), f = rmat(6, 5, 71), i = rmat(6, 5, 72), g = rmat(6, 5, 73);
  check_gradients(fused, 1e-7, 1e-9, c, f, i, g);
  check_gradients(unfused, 1e-7, 1e-9, c, f, i, g);
  const auto gf = ad::value_and_grad(fused, c, f, i, g).second;
  const auto gu = ad::value_and_grad(unfused, c, f, i, g).second;
  compare_gradients(gf, gu, 1e-14, std::index_sequence_for<int, int, int, int>{});
}

TEST(Tape, SameVariableTwiceAndReuse) {
  auto f = [](auto x) {
    auto y = ad::eval(x * x + x);
    auto z = ad::eval(y * x - ad::exp(y));
    return ad::mean(z * y);
  };
  check_gradients(f, 1e-7, 1e-9, rvec(17, 16));
}

TEST(Tape, MatmulBothAdjoints) {
  auto f = [](auto a, auto b, auto c) { return ad::sum(ad::tanh(ad::matmul(a, b)) * c); };
  check_gradients(f, 1e-7, 1e-9, rmat(4, 3, 17), rmat(3, 5, 18), rmat(4, 5, 19));
}

TEST(Tape, AxisReductionsAndReshape) {
  auto h = [](auto x) {
    auto s0 = ad::sum(x, nabla::axis(0));  // (4,)
    return ad::sum(ad::eval(s0 * s0) * 2.0);
  };
  check_gradients(h, 1e-7, 1e-9, rmat(3, 4, 20));
  auto k = [](auto x) { return ad::sum(ad::exp(ad::mean(x, nabla::axis(1)))); };
  check_gradients(k, 1e-7, 1e-9, rmat(3, 4, 21));
  auto r = [](auto x) { return ad::sum(ad::sin(ad::reshape(x, nabla::Shape<1>{12})) * 3.0); };
  check_gradients(r, 1e-7, 1e-9, rmat(3, 4, 22));
}

TEST(Tape, LogSoftmaxAndSoftmax) {
  auto t = rmat(3, 6, 23);
  auto f = [t](auto x) { return ad::sum(ad::log_softmax(x) * like(x, t)); };
  check_gradients(f, 1e-7, 1e-9, rmat(3, 6, 24, -3, 3));
  auto g = [t](auto x) { return ad::sum(ad::softmax(x) * like(x, t)); };
  check_gradients(g, 1e-7, 1e-9, rmat(3, 6, 25, -3, 3));
  // Columns of softmax sum to one, even for large logits (stability).
  ad::Tape tape;
  auto big = nabla::eval(rmat(3, 6, 26) * 800.0);
  auto s = ad::softmax(tape.constant(big));
  auto cs = host(nabla::sum(s.value(), nabla::axis(0)));
  for (int j = 0; j < 6; ++j) EXPECT_NEAR(cs(j), 1.0, 1e-12);
}

// Along every axis of a rank-3 array and of a vector: values against a host loop, gradients against
// differences, normalisation for large logits, and bad axes.
TEST(Tape, LogSoftmaxAlongAnyAxis) {
  auto x = nabla::eval(rmat(12, 5, 60, -3, 3));
  auto x3 = nabla::reshape(x, nabla::Shape<3>{3, 4, 5});
  auto t = nabla::reshape(rmat(12, 5, 61), nabla::Shape<3>{3, 4, 5});
  const auto hx = host(x3);
  for (int ax = 0; ax < 3; ++ax) {
    ad::Tape tape;
    const auto y = host(ad::log_softmax(tape.constant(nabla::eval(x3)), nabla::axis(ax)).value());
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 4; ++j)
        for (int k = 0; k < 5; ++k) {
          const int n = ax == 0 ? 3 : ax == 1 ? 4 : 5;
          double m = -1e300, s = 0;
          for (int r = 0; r < n; ++r) {
            const double v = ax == 0 ? hx(r, j, k) : ax == 1 ? hx(i, r, k) : hx(i, j, r);
            m = std::max(m, v);
          }
          for (int r = 0; r < n; ++r) s += std::exp((ax == 0 ? hx(r, j, k) : ax == 1 ? hx(i, r, k) : hx(i, j, r)) - m);
          EXPECT_TRUE(close(y(i, j, k), hx(i, j, k) - m - std::log(s), 1e-14, 1e-14)) << ax;
        }
    auto f = [t, ax](auto v) { return ad::sum(ad::log_softmax(v, nabla::axis(ax)) * like(v, t)); };
    check_gradients(f, 1e-7, 1e-9, nabla::eval(x3));
    auto g = [t, ax](auto v) { return ad::sum(ad::softmax(v, nabla::axis(ax)) * like(v, t)); };
    check_gradients(g, 1e-7, 1e-9, nabla::eval(x3));
  }
  auto f1 = [](auto v) { return ad::sum(ad::log_softmax(v) * ad::log_softmax(v)); };
  check_gradients(f1, 1e-7, 1e-9, rvec(7, 62, -2, 2));
  // Rows of a softmax along axis 1 sum to one, even for large logits.
  ad::Tape tape;
  auto s = ad::softmax(tape.constant(nabla::eval(rmat(4, 6, 63) * 900.0)), nabla::axis(1));
  const auto rs = host(nabla::sum(s.value(), nabla::axis(1)));
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(rs(i), 1.0, 1e-12);
  auto v = tape.variable(rmat(4, 6, 64));
  EXPECT_THROW(ad::log_softmax(v, nabla::axis(2)), nabla::ValueError);
  try {
    ad::log_softmax(tape.variable(nabla::Array<double, 2>({0, 3})), nabla::axis(0));
    ADD_FAILURE() << "no error for an empty axis";
  } catch (const nabla::ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("log_softmax: axis 0 of shape"), std::string::npos) << e.what();
  }
}

TEST(Tape, VjpMatchesTheTransposedJacobian) {
  // f(x) = x * sin(x) elementwise: J = diag(sin x + x cos x), so v^T J = v * (sin x + x cos x).
  auto x = rvec(11, 27), v = rvec(11, 28);
  auto g = host(ad::vjp([](auto a) { return ad::eval(a * ad::sin(a)); }, x, v));
  auto hx = host(x), hv = host(v);
  for (int i = 0; i < 11; ++i)
    EXPECT_TRUE(close(g(i), hv(i) * (std::sin(hx(i)) + hx(i) * std::cos(hx(i))), 1e-14, 1e-15));
  EXPECT_THROW(ad::vjp([](auto a) { return ad::eval(a * 2.0); }, x, rvec(3, 1)), nabla::ShapeError);
}

std::size_t count_label(const nabla::tools::KernelCounter& k, const std::string& label) {
  std::size_t c = 0;
  for (const auto& l : k.labels()) c += l == label;
  return c;
}

TEST(Tape, OneForwardAndOneBackwardKernelPerBroadcastNode) {
  auto a = rvec(1000, 29), b = rvec(1000, 30);
  ad::Tape tape;
  auto va = tape.variable(a), vb = tape.variable(b);
  nabla::tools::KernelCounter k;
  auto y = ad::eval(ad::exp(va) * vb + va * va - vb / (va + 2.0));
  EXPECT_EQ(k.count(), 1u) << "forward of a broadcast node";
  auto s = ad::sum(y * y);  // deferred: nothing runs until its value is read or backward() is called
  EXPECT_EQ(k.count(), 1u);
  EXPECT_EQ(tape.num_nodes(), 2u);
  k.reset();
  tape.backward(s);
  // The sum's forward and backward fused into one kernel, then one backward kernel for the broadcast.
  EXPECT_EQ(count_label(k, "nabla::ad::sum::forward_backward"), 1u);
  EXPECT_EQ(count_label(k, "nabla::ad::broadcast::backward"), 1u);
  EXPECT_EQ(k.fors() + k.reduces(), 3u) << "the two node kernels and the dy/dy = 1 seed";
  // The deferred value was computed by the fused kernel.
  const auto hy = host(y.value());
  double want = 0;
  for (int i = 0; i < 1000; ++i) want += hy(i) * hy(i);
  EXPECT_TRUE(close(nabla_test::host(s.value())(), want, 1e-12));
}

// Ten distinct inputs: more than one Dual chunk (8 directions), so the backward runs one kernel per chunk.
TEST(Tape, MoreInputsThanOneDualChunk) {
  auto f = [](auto a, auto b, auto c, auto d, auto e, auto g, auto h, auto p, auto q, auto r) {
    return ad::sum(a * b + c * ad::sin(d) + e / (g + 3.0) + h * p * q - ad::exp(r) * a);
  };
  std::vector<nabla::Array<double, 1>> x;
  for (unsigned s = 0; s < 10; ++s) x.push_back(rvec(17, 40 + s));
  check_gradients(f, 1e-7, 1e-9, x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], x[8], x[9]);
  // Through a broadcast node too (its backward, not the fused sum's), and three inputs (a width of 4).
  auto node = [](auto a, auto b, auto c, auto d, auto e, auto g, auto h, auto p, auto q, auto r) {
    return ad::sum(ad::eval(a * b + c * ad::sin(d) + e / (g + 3.0) + h * p * q - ad::exp(r) * a) * a);
  };
  check_gradients(node, 1e-7, 1e-9, x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], x[8], x[9]);
  check_gradients([](auto a, auto b, auto c) { return ad::sum(a * b * ad::cos(c)); }, 1e-7, 1e-9, x[0], x[1], x[2]);

  ad::Tape tape;
  std::vector<ad::Var<double, 1>> v;
  for (const auto& xi : x) v.push_back(tape.variable(xi));
  auto s = f(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9]);
  nabla::tools::KernelCounter k;
  tape.backward(s);
  EXPECT_EQ(count_label(k, "nabla::ad::sum::forward_backward"), 2u) << "directions 0-7, then 8-9";
}

TEST(Tape, ASumReadBeforeBackwardRunsForwardAndBackwardSeparately) {
  auto a = rvec(100, 31);
  ad::Tape tape;
  auto va = tape.variable(a);
  auto s = ad::sum(ad::sin(va));
  nabla::tools::KernelCounter k;
  const double v = nabla_test::host(s.value())();  // forces the forward: one reduction
  EXPECT_EQ(k.reduces(), 1u);
  auto ha = host(a);
  double want = 0;
  for (int i = 0; i < 100; ++i) want += std::sin(ha(i));
  EXPECT_TRUE(close(v, want, 1e-13));
  k.reset();
  tape.backward(s);
  EXPECT_EQ(count_label(k, "nabla::ad::sum::backward"), 1u);
  auto g = host(tape.grad(va));
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(close(g(i), std::cos(ha(i)), 1e-14));
}

TEST(Tape, NoAdjointForConstants) {
  ad::Tape tape;
  auto x = tape.variable(rvec(10, 31));
  auto c = tape.constant(rvec(10, 32));
  auto y = ad::sum(x * c);
  tape.backward(y);
  EXPECT_FALSE(tape.has_adjoint(c));
  EXPECT_THROW(tape.grad(c), nabla::ValueError);
  auto gx = host(tape.grad(x)), hc = host(c.value());
  for (int i = 0; i < 10; ++i) EXPECT_EQ(gx(i), hc(i));
}

TEST(Tape, BadInputIsAClearError) {
  ad::Tape t1, t2;
  auto x = t1.variable(rvec(4, 33));
  auto y = t2.variable(rvec(4, 34));
  EXPECT_THROW(ad::sum(x * y), nabla::ValueError);  // two tapes
  auto s = ad::sum(x * x);
  EXPECT_THROW(t2.backward(s), nabla::ValueError);  // not on this tape
  t1.clear();
  EXPECT_THROW(t1.backward(s), nabla::ValueError);  // cleared
  EXPECT_THROW(ad::sum(x * 2.0), nabla::ValueError);
  auto c = t2.constant(rvec(4, 35));
  EXPECT_THROW(t2.backward(ad::sum(c * 2.0)), nabla::ValueError);  // nothing to differentiate
  EXPECT_THROW(ad::matmul(t2.variable(rmat(2, 3, 1)), t2.variable(rmat(2, 3, 2))), nabla::ShapeError);
}

TEST(Tape, ReusedAfterClear) {
  ad::Tape tape;
  for (int round = 0; round < 3; ++round) {
    auto x = tape.variable(rvec(5, 36));
    tape.backward(ad::sum(x * x * double(round + 1)));
    auto g = host(tape.grad(x)), hx = host(x.value());
    for (int i = 0; i < 5; ++i) EXPECT_DOUBLE_EQ(g(i), 2.0 * (round + 1) * hx(i));
    tape.clear();
    EXPECT_EQ(tape.num_nodes(), 0u);
  }
}

}  // namespace

namespace {

TEST(Tape, SliceConcatMinMax) {
  auto f = [](auto x) {
    auto top = ad::slice(x, nabla::Shape<2>{0, 1}, nabla::Shape<2>{2, 4});  // (2, 3)
    auto bottom = ad::slice(x, nabla::Shape<2>{2, 0}, nabla::Shape<2>{4, 3});
    auto joined = ad::concat(top, bottom, nabla::axis(0));                     // (4, 3)
    return ad::eval(ad::sum(joined * joined * 0.5) + ad::max(x) * 2.0 - ad::min(x));
  };
  auto g = [f](auto x) { return ad::sum(f(x)); };
  check_gradients(g, 1e-7, 1e-9, rmat(4, 5, 40));
  ad::Tape tape;
  auto x = tape.variable(rmat(3, 3, 41));
  EXPECT_THROW(ad::slice(x, nabla::Shape<2>{0, 0}, nabla::Shape<2>{4, 1}), nabla::ShapeError);
  EXPECT_THROW(ad::concat(x, tape.variable(rmat(2, 4, 42)), nabla::axis(0)), nabla::ShapeError);
}

TEST(Tape, PerAxisMinMax) {
  auto g = [](auto x) { return ad::sum(ad::max(x, nabla::axis(1)) * ad::max(x, nabla::axis(1))); };
  check_gradients(g, 1e-7, 1e-9, rmat(4, 5, 49));
  auto h = [](auto x) { return ad::sum(ad::exp(ad::min(x, nabla::axis(0)))); };
  check_gradients(h, 1e-7, 1e-9, rmat(4, 5, 50));
}

TEST(Tape, JvpAndVjpAgree) {
  // <v, J u> computed by forward mode equals <J^T v, u> computed by reverse mode.
  auto f = [](auto a) { return ad::eval(ad::sin(a) * a + ad::exp(a * 0.3)); };
  auto x = rvec(20, 43), u = rvec(20, 44), v = rvec(20, 45);
  auto [y, ju] = ad::jvp(f, x, u);
  auto jtv = ad::vjp(f, x, v);
  const double lhs = nabla::dot(v, ju), rhs = nabla::dot(jtv, u);
  EXPECT_TRUE(close(lhs, rhs, 1e-13, 1e-14));
  auto hx = host(x), hy = host(y);
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(close(hy(i), std::sin(hx(i)) * hx(i) + std::exp(0.3 * hx(i)), 1e-14));
}

TEST(Tape, HessianVectorProductMatchesFiniteDifferencesOfGradients) {
  // f(a, W) with a matmul: the reverse sweep on Dual elements takes Nabla's generic gemm.
  auto w = rmat(3, 3, 46);
  auto f = [w](auto x) {
    ad::Tape* t = x.tape();
    auto wm = t->constant(nabla::eval(nabla::map(Promote<typename decltype(x)::value_type>{}, w)));
    auto h = ad::matmul(wm, x);
    return ad::sum(ad::tanh(h) * x + x * x * x);
  };
  auto x = rmat(3, 2, 47), v = rmat(3, 2, 48);
  auto hv = host(ad::hvp(f, x, v));
  // Central difference of the gradient along v.
  const double h = 1e-5;
  auto xp = nabla::eval(x + h * v), xm = nabla::eval(x - h * v);
  auto fd = [&](const nabla::Array<double, 2>& p) {
    auto f1 = [w](auto y) {
      ad::Tape* t = y.tape();
      auto h2 = ad::matmul(t->constant(w), y);
      return ad::sum(ad::tanh(h2) * y + y * y * y);
    };
    return ad::grad(f1, p);
  };
  auto gp = host(fd(xp)), gm = host(fd(xm));
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 2; ++j) EXPECT_TRUE(close(hv(i, j), (gp(i, j) - gm(i, j)) / (2 * h), 1e-6, 1e-8));
}

}  // namespace

namespace {

// Float gradients against double-precision central differences of the same function: the bound is
// float's, ~1e-4 relative (rounding of a few float operations per element plus float's own sum).
TEST(Tape, FloatGradientsAgainstDoubleReference) {
  const std::size_t n = 64;
  auto xd = rvec(n, 60, 0.2, 1.5), wd = rvec(n, 61);
  nabla::Array<float, 1> x({n}), w({n});
  nabla::assign(x, nabla::cast<float>(xd));
  nabla::assign(w, nabla::cast<float>(wd));
  auto f = [](auto a, auto b) { return ad::sum(ad::exp(a) * ad::sin(b) + a * a * b - ad::log(a) * 3.0f); };
  auto [value, grads] = ad::value_and_grad(f, x, w);
  const auto gx = host(std::get<0>(grads)), gw = host(std::get<1>(grads));
  const auto hx = host(x), hw = host(w);
  double want = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double a = hx(i), b = hw(i);  // the float inputs, evaluated in double
    want += std::exp(a) * std::sin(b) + a * a * b - 3 * std::log(a);
    EXPECT_TRUE(close(gx(i), std::exp(a) * std::sin(b) + 2 * a * b - 3 / a, 1e-4, 1e-5)) << i;
    EXPECT_TRUE(close(gw(i), std::exp(a) * std::cos(b) + a * a, 1e-4, 1e-5)) << i;
  }
  EXPECT_TRUE(close(value, want, 1e-5, 1e-5));
}

}  // namespace
