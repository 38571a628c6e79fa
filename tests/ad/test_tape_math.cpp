// Every math function and per-element branches through broadcast nodes of the tape, each gradient against
// central differences and float against double.
#include "gradient_check.hpp"

using namespace nabla_test;

namespace {

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

TEST(Tape, BranchesDifferentiatePerElement) {
  auto f = [](auto x) { return ad::sum(ad::where(x > 0.0, x * x, -3.0 * x) + ad::map(Branch{}, x)); };
  check_gradients(f, 1e-7, 1e-9, rvec(40, 6));
}

}  // namespace
