// The tape itself: kernels per node, Dual chunks, deferred sums, constants, reuse, jvp/vjp and bad input.
#include "gradient_check.hpp"

using namespace nabla_test;

namespace {

TEST(Tape, SameVariableTwiceAndReuse) {
  auto f = [](auto x) {
    auto y = ad::eval(x * x + x);
    auto z = ad::eval(y * x - ad::exp(y));
    return ad::mean(z * y);
  };
  check_gradients(f, 1e-7, 1e-9, rvec(17, 16));
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
  // A default-constructed Var belongs to no tape: an error wherever it is used, not a null dereference.
  ad::Var<double, 1> none;
  ad::Var<double, 2> none2;
  auto v = t2.variable(rvec(4, 36));
  EXPECT_THROW(ad::sum(none * 2.0), nabla::ValueError);
  EXPECT_THROW(ad::eval(v + none), nabla::ValueError);
  EXPECT_THROW(ad::sum(none2, nabla::axis(0)), nabla::ValueError);
  EXPECT_THROW(ad::matmul(none2, none2), nabla::ValueError);
  try {
    ad::eval(none * 2.0);
  } catch (const nabla::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("default-constructed Var"), std::string::npos) << e.what();
  }
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
