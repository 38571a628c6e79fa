// Helpers of the tape tests: gradients of value_and_grad against central differences, float against double.
#pragma once

#include "../core/test_util.hpp"

#include <nabla/ad.hpp>
#include <nabla/core/tools.hpp>

#include <string>
#include <tuple>
#include <utility>

namespace nabla_test {

namespace ad = nabla::ad;

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

inline nabla::Array<double, 1> rvec(std::size_t n, unsigned seed, double lo = -1, double hi = 1) {
  nabla::Array<double, 1> a({n});
  fill_random(a.view(), lo, hi, seed);
  return a;
}
inline nabla::Array<double, 2> rmat(std::size_t m, std::size_t n, unsigned seed, double lo = -1, double hi = 1) {
  nabla::Array<double, 2> a({m, n});
  fill_random(a.view(), lo, hi, seed);
  return a;
}

/// How many kernels the counter saw under `label`.
inline std::size_t count_label(const nabla::tools::KernelCounter& k, const std::string& label) {
  std::size_t c = 0;
  for (const auto& l : k.labels()) c += l == label;
  return c;
}

}  // namespace nabla_test
