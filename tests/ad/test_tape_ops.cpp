// Array ops of the tape: matmul, axis reductions, reshape, softmax, slicing, concatenation, min/max and
// Hessian-vector products, each gradient against central differences.
#include "gradient_check.hpp"

using namespace nabla_test;

namespace {

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

// One kernel each way, whatever the axis (the same kernels serve nn's softmax layer).
TEST(Tape, SoftmaxIsOneKernelEachWay) {
  for (int ax = 0; ax < 2; ++ax)
    for (bool logs : {false, true}) {
      ad::Tape tape;
      auto x = tape.variable(rmat(5, 7, 65));
      nabla::tools::KernelCounter forward;
      auto y = logs ? ad::log_softmax(x, nabla::axis(ax)) : ad::softmax(x, nabla::axis(ax));
      const std::string name = logs ? "nabla::ad::log_softmax" : "nabla::ad::softmax";
      EXPECT_EQ(forward.labels(), std::vector<std::string>{name}) << ax;
      forward.reset();
      tape.seed(y, rmat(5, 7, 66));
      const auto& l = forward.labels();
      EXPECT_EQ(std::count(l.begin(), l.end(), name + "::backward"), 1) << ax;
    }
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

template <class T>
struct Promote {
  KOKKOS_INLINE_FUNCTION T operator()(double s) const { return T(s); }
};

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
