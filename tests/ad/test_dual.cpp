// Dual numbers: every math function's derivative against the analytic derivative and central finite
// differences; duals inside fused broadcasts and Kokkos kernels; nested duals; the autodiff-style API.
#include "../core/test_util.hpp"

#include <nabla/ad.hpp>

#include <cmath>
#include <functional>

using nabla::ad::Dual;
using nabla_test::close;
using nabla_test::host;

namespace {

struct Case {
  const char* name;
  std::function<Dual<double, 1>(const Dual<double, 1>&)> f;
  std::function<double(double)> ref, dref;
  double lo, hi;
};

#define NABLA_CASE(NAME, DREF, LO, HI)                                                                 \
  Case {                                                                                               \
    #NAME, [](const Dual<double, 1>& x) { return nabla::ad::NAME(x); }, [](double v) { return std::NAME(v); }, \
        [](double v) { return DREF; }, LO, HI                                                            \
  }

// Central differences with step h: error O(h^2 f''') + O(eps/h); h = 1e-5 gives ~1e-9 relative.
double central(const std::function<double(double)>& f, double x, double h = 1e-5) {
  return (f(x + h) - f(x - h)) / (2 * h);
}

TEST(Dual, EveryMathFunctionMatchesAnalyticAndFiniteDifferences) {
  static constexpr double pi = 3.14159265358979323846;
  const Case cases[] = {
      NABLA_CASE(sqrt, 0.5 / std::sqrt(v), 0.1, 10),
      NABLA_CASE(cbrt, 1.0 / (3 * std::cbrt(v) * std::cbrt(v)), 0.1, 10),
      NABLA_CASE(exp, std::exp(v), -5, 5),
      NABLA_CASE(expm1, std::exp(v), -1, 1),
      NABLA_CASE(log, 1 / v, 0.1, 10),
      NABLA_CASE(log1p, 1 / (1 + v), -0.5, 5),
      NABLA_CASE(sin, std::cos(v), -5, 5),
      NABLA_CASE(cos, -std::sin(v), -5, 5),
      NABLA_CASE(tan, 1 / (std::cos(v) * std::cos(v)), -1.2, 1.2),
      NABLA_CASE(asin, 1 / std::sqrt(1 - v * v), -0.9, 0.9),
      NABLA_CASE(acos, -1 / std::sqrt(1 - v * v), -0.9, 0.9),
      NABLA_CASE(atan, 1 / (1 + v * v), -5, 5),
      NABLA_CASE(sinh, std::cosh(v), -3, 3),
      NABLA_CASE(cosh, std::sinh(v), -3, 3),
      NABLA_CASE(tanh, 1 - std::tanh(v) * std::tanh(v), -3, 3),
      NABLA_CASE(erf, 2 / std::sqrt(pi) * std::exp(-v * v), -2, 2),
      NABLA_CASE(erfc, -2 / std::sqrt(pi) * std::exp(-v * v), -2, 2),
      NABLA_CASE(abs, v > 0 ? 1.0 : -1.0, 0.1, 3),
  };
  std::mt19937 gen(1);
  for (const auto& c : cases) {
    std::uniform_real_distribution<double> dist(c.lo, c.hi);
    for (int t = 0; t < 50; ++t) {
      const double v = dist(gen);
      const auto y = c.f(Dual<double, 1>(v, 0));
      ASSERT_TRUE(close(y.val, c.ref(v), 1e-15, 1e-15)) << c.name << " at " << v;
      ASSERT_TRUE(close(y.grad[0], c.dref(v), 1e-13, 1e-14)) << c.name << "' at " << v;
      ASSERT_TRUE(close(y.grad[0], central(c.ref, v), 1e-6, 1e-8)) << c.name << "' vs FD at " << v;
    }
  }
}

TEST(Dual, BinaryFunctionsAndArithmetic) {
  using D = Dual<double, 2>;
  std::mt19937 gen(2);
  std::uniform_real_distribution<double> dist(0.3, 3.0);
  for (int t = 0; t < 50; ++t) {
    const double a = dist(gen), b = dist(gen);
    const D x(a, 0), y(b, 1);
    auto check = [&](const char* name, const D& r, const std::function<double(double, double)>& f) {
      const double fx = (f(a + 1e-6, b) - f(a - 1e-6, b)) / 2e-6, fy = (f(a, b + 1e-6) - f(a, b - 1e-6)) / 2e-6;
      EXPECT_TRUE(close(r.val, f(a, b), 1e-14)) << name;
      EXPECT_TRUE(close(r.grad[0], fx, 1e-6, 1e-8)) << name << " d/dx at " << a << "," << b;
      EXPECT_TRUE(close(r.grad[1], fy, 1e-6, 1e-8)) << name << " d/dy at " << a << "," << b;
    };
    check("x*y/(x+1)-y", x * y / (x + 1.0) - y, [](double p, double q) { return p * q / (p + 1) - q; });
    check("3/x+2*y", 3 / x + 2 * y, [](double p, double q) { return 3 / p + 2 * q; });
    check("pow", nabla::ad::pow(x, y), [](double p, double q) { return std::pow(p, q); });
    check("pow(x,2.5)", nabla::ad::pow(x, 2.5), [](double p, double) { return std::pow(p, 2.5); });
    check("pow(2,y)", nabla::ad::pow(2.0, y), [](double, double q) { return std::pow(2.0, q); });
    check("atan2", nabla::ad::atan2(x, y), [](double p, double q) { return std::atan2(p, q); });
    check("hypot", nabla::ad::hypot(x, y), [](double p, double q) { return std::hypot(p, q); });
  }
}

TEST(Dual, ComparisonsUseTheValue) {
  const Dual<double, 1> x(2.0, 0), y(3.0);
  EXPECT_TRUE(x < y);
  EXPECT_TRUE(x < 2.5);
  EXPECT_TRUE(1 < x);
  EXPECT_FALSE(x == y);
  EXPECT_TRUE(x == 2.0);
}

template <class D>
struct SeedFirst {
  KOKKOS_INLINE_FUNCTION D operator()(double v) const { return D(v, 0); }
};

TEST(Dual, InsideFusedBroadcastsUnchanged) {
  using D = Dual<double, 3>;
  const std::size_t n = 1024;
  auto xs = nabla::linspace<double>(0.1, 2.0, n);
  nabla::Array<D, 1> x({n});
  // Seed: direction 0 = x itself, 1 = a constant 0.5 shift, 2 unused.
  nabla::assign(x, nabla::map(SeedFirst<D>{}, xs));
  auto y = nabla::eval(nabla::sin(x) * x + 2.0 * nabla::exp(-x) + nabla::where(x > 1.0, x * x, x));
  auto hx = host(xs);
  auto hy = host(y);
  for (std::size_t i = 0; i < n; ++i) {
    const double v = hx(i);
    const double f = std::sin(v) * v + 2 * std::exp(-v) + (v > 1 ? v * v : v);
    const double df = std::cos(v) * v + std::sin(v) - 2 * std::exp(-v) + (v > 1 ? 2 * v : 1.0);
    ASSERT_TRUE(close(hy(i).val, f, 1e-14));
    ASSERT_TRUE(close(hy(i).grad[0], df, 1e-13, 1e-14));
    ASSERT_EQ(hy(i).grad[1], 0.0);
  }
  // Reductions over duals: d/dx of sum(x^2) is sum(2x).
  const D s = nabla::sum(x * x);
  EXPECT_TRUE(close(s.grad[0], 2 * nabla::sum(xs), 1e-12));
}

TEST(Dual, NestedDualsGiveSecondDerivatives) {
  using D1 = Dual<double, 1>;
  using D2 = Dual<D1, 1>;
  for (double v : {0.3, 1.0, 2.5}) {
    const D2 x(D1(v, 0), 0);
    const D2 y = nabla::ad::sin(x) * x * x * x;  // f = x^3 sin x
    const double f2 = 6 * v * std::sin(v) + 6 * v * v * std::cos(v) - v * v * v * std::sin(v);
    EXPECT_TRUE(close(y.grad[0].grad[0], f2, 1e-13));
    EXPECT_TRUE(close(y.val.grad[0], 3 * v * v * std::sin(v) + v * v * v * std::cos(v), 1e-13));
    const D2 z = 3.0 * x + 2 * nabla::ad::exp(x);  // constants of other types mix in
    EXPECT_TRUE(close(z.grad[0].grad[0], 2 * std::exp(v), 1e-13));
  }
}

TEST(Dual, AutodiffStyleApi) {
  double x = 1.5, y = -0.7;
  auto f = [](auto a, auto b) { return a * a * b + nabla::ad::sin(a * b); };
  const double dfdx = nabla::ad::derivative(f, nabla::ad::wrt(x), nabla::ad::at(x, y));
  EXPECT_TRUE(close(dfdx, 2 * x * y + y * std::cos(x * y), 1e-14));
  const auto g = nabla::ad::gradient(f, nabla::ad::wrt(x, y), nabla::ad::at(x, y));
  EXPECT_TRUE(close(g[1], x * x + x * std::cos(x * y), 1e-14));
  const auto H = nabla::ad::hessian(f, nabla::ad::wrt(x, y), nabla::ad::at(x, y));
  const double s = std::sin(x * y), c = std::cos(x * y);
  EXPECT_TRUE(close(H[0][0], 2 * y - y * y * s, 1e-13));
  EXPECT_TRUE(close(H[0][1], 2 * x + c - x * y * s, 1e-13));
  EXPECT_TRUE(close(H[1][0], H[0][1], 1e-14));
  EXPECT_TRUE(close(H[1][1], -x * x * s, 1e-13));
  auto v = [](auto a, auto b) { return std::array<decltype(a), 2>{a * b, a + 3.0 * b}; };
  const auto J = nabla::ad::jacobian(v, nabla::ad::wrt(x, y), nabla::ad::at(x, y));
  EXPECT_EQ(J[0][0], y);
  EXPECT_EQ(J[0][1], x);
  EXPECT_EQ(J[1][0], 1.0);
  EXPECT_EQ(J[1][1], 3.0);
}

// The double well E = k/4 (x-a)^2 (x+a)^2 in a kernel: forces -dE/dx from duals equal the analytic force.
struct DoubleWell {
  double a = 2, k = 1;
  template <class T>
  KOKKOS_INLINE_FUNCTION T operator()(const Kokkos::Array<T, 1>& x) const {
    return 0.25 * k * (x[0] - a) * (x[0] - a) * (x[0] + a) * (x[0] + a);
  }
};

struct Force {
  Kokkos::View<const double*, Kokkos::LayoutLeft> x;
  Kokkos::View<double*, Kokkos::LayoutLeft> f;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t i) const {
    const Kokkos::Array<double, 1> p{{x(i)}};
    f(i) = -nabla::ad::gradient<1>(DoubleWell{}, p)[0];
  }
};

TEST(Dual, GradientInsideAKernel) {
  const std::size_t n = 1000;
  auto xs = nabla::linspace<double>(-3, 3, n);
  nabla::Array<double, 1> force({n});
  Kokkos::parallel_for("test::ad::force", n, Force{xs.view(), force.view()});
  auto hx = host(xs), hf = host(force);
  for (std::size_t i = 0; i < n; ++i) {
    const double v = hx(i);
    ASSERT_TRUE(close(hf(i), -v * (v - 2) * (v + 2), 1e-13, 1e-13));
  }
}

}  // namespace
