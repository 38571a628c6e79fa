// Every differentiable op of ad/ under all four modes: jvp (forward), vjp and grad (reverse) and hvp (forward
// over reverse), each against central differences of the op's values.
#include "gradient_check.hpp"

#include <functional>
#include <vector>

using namespace nabla_test;

namespace {

using Mat = nabla::Array<double, 2>;

template <class T, int R>
std::vector<double> flat(const nabla::Array<T, R>& a) {
  const auto h = host(a);
  return std::vector<double>(h.data(), h.data() + h.span());
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

/// (f(x + h u) - f(x - h u)) / 2h, element by element.
std::vector<double> central(const std::function<std::vector<double>(const Mat&)>& f, const Mat& x, const Mat& u) {
  const double h = 1e-6;
  const auto p = f(nabla::eval(x + h * u)), m = f(nabla::eval(x - h * u));
  std::vector<double> d(p.size());
  for (std::size_t i = 0; i < d.size(); ++i) d[i] = (p[i] - m[i]) / (2 * h);
  return d;
}

void expect_close(const std::vector<double>& got, const std::vector<double>& want, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double scale = 1;
  for (double w : want) scale = std::max(scale, std::abs(w));
  for (std::size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], 1e-6 * scale) << what << " element " << i;
}

// op takes a Var<E, 2> of shape (3, 4), E double or Dual<double, 1>, and returns a Var of any rank.
template <class Op>
void check_every_mode(Op op) {
  Mat x({3, 4}), u({3, 4});
  fill_random(x.view(), -1, 1, 1);
  fill_random(u.view(), -1, 1, 2);
  const auto value = [&](const Mat& p) {
    ad::Tape tape;
    return flat(op(tape.constant(p)).value());
  };

  // jvp: J u, and the value alongside.
  const auto [y, tangent] = ad::jvp(op, x, u);
  expect_close(flat(y), value(x), "jvp value");
  expect_close(flat(tangent), central(value, x, u), "jvp tangent");

  // vjp: <v^T J, u> = <v, J u> for a cotangent v shaped like the output.
  const auto v = nabla::eval(nabla::cos(3.0 * y));
  const auto vj = ad::vjp(op, x, v);
  EXPECT_NEAR(dot(flat(vj), flat(u)), dot(flat(v), central(value, x, u)), 1e-6) << "vjp";

  // grad and hvp of a scalar that is nonlinear in the op's output.
  const auto loss = [op](auto xv) { return ad::sum(ad::sin(op(xv))); };
  const auto g = ad::grad(loss, x);
  std::vector<double> fd(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    Mat e({3, 4});
    auto he = host(e);
    he.data()[i] = 1;
    Kokkos::deep_copy(e.view(), he);
    fd[i] = central([&](const Mat& p) { return std::vector<double>{value_of(loss, p)}; }, x, e)[0];
  }
  expect_close(flat(g), fd, "grad");
  expect_close(flat(ad::hvp(loss, x, u)), central([&](const Mat& p) { return flat(ad::grad(loss, p)); }, x, u),
               "hvp");
}

using nabla::axis;

TEST(EveryMode, FusedBroadcast) {
  check_every_mode([](auto x) { return ad::eval(ad::tanh(x) * x + ad::exp(x * 0.5)); });
}
TEST(EveryMode, SumAndMean) {
  check_every_mode([](auto x) { return ad::sum(x * x); });
  check_every_mode([](auto x) { return ad::mean(ad::exp(x)); });
}
TEST(EveryMode, SumAndMeanAlongAnAxisOfAVarAndOfAnExpression) {
  check_every_mode([](auto x) { return ad::sum(x, axis(0)); });
  check_every_mode([](auto x) { return ad::sum(x * x, axis(1)); });
  check_every_mode([](auto x) { return ad::mean(x, axis(1)); });
  check_every_mode([](auto x) { return ad::mean(ad::exp(x) - x, axis(0)); });
}
TEST(EveryMode, MaxAndMinWhole) {
  check_every_mode([](auto x) { return ad::max(ad::eval(x * x)); });
  check_every_mode([](auto x) { return ad::min(x); });
  check_every_mode([](auto x) { return ad::max(x * 2.0 - 1.0); });
}
TEST(EveryMode, MaxAndMinAlongAnAxis) {
  check_every_mode([](auto x) { return ad::max(x, axis(0)); });
  check_every_mode([](auto x) { return ad::min(x, axis(1)); });
  check_every_mode([](auto x) { return ad::max(x * x, axis(1)); });
}
TEST(EveryMode, MatmulReshapeSliceConcat) {
  check_every_mode([](auto x) { return ad::matmul(ad::reshape(x, nabla::Shape<2>{4, 3}), x); });
  check_every_mode([](auto x) { return ad::matmul(x, ad::sum(x * x, axis(0))); });  // (3, 4) times (4,)
  check_every_mode([](auto x) { return ad::reshape(ad::eval(x * x), nabla::Shape<1>{12}); });
  check_every_mode([](auto x) { return ad::slice(ad::eval(x * x), nabla::Shape<2>{1, 1}, nabla::Shape<2>{3, 4}); });
  check_every_mode([](auto x) { return ad::concat(x, ad::eval(x * x), axis(1)); });
}
TEST(EveryMode, LogSoftmaxAndSoftmax) {
  check_every_mode([](auto x) { return ad::log_softmax(x); });
  check_every_mode([](auto x) { return ad::log_softmax(x, axis(1)); });
  check_every_mode([](auto x) { return ad::softmax(x * 2.0, axis(0)); });
  check_every_mode([](auto x) { return ad::softmax(x, axis(1)); });
}

}  // namespace
