// Every math function and per-element branches through broadcast nodes of the tape, each gradient against
// central differences and float against double; a gradient step in a task runs on the task's partition.
#include "gradient_check.hpp"

#include <nabla/core/tasks.hpp>

#include <atomic>

#if defined(KOKKOS_ENABLE_OPENMP)
#include "common/thread_count.hpp"
#endif

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

#if defined(KOKKOS_ENABLE_OPENMP) && !defined(KOKKOS_ENABLE_CUDA) && !defined(KOKKOS_ENABLE_HIP)
// A gradient step on the tape, given no instance, in a bulk task runs on the task's partition: with two tasks on
// two threads, its forward and backward kernels, small and large, each ran on one thread, and the gradient of
// sum(x² / 2) is x.
TEST(Tape, GradientStepInABulkTaskRunsOnItsPartition) {
  using Exec = Kokkos::DefaultExecutionSpace;
  if (!std::is_same<Exec, Kokkos::OpenMP>::value || !nabla::compat::openmp_sized_instances ||
      Exec().concurrency() != 2)
    GTEST_SKIP() << "needs Kokkos 4 OpenMP with two threads";
  std::atomic<int> most{0};
  for (const std::size_t n : {std::size_t(1000), std::size_t(1) << 18}) {
    nabla::tasks::sequential([&](nabla::tasks::Group& g) {
      g.bulk("steps", 2, [&](std::size_t i, const Exec&) {
        auto x = rvec(n, unsigned(70 + i));
        const auto x0 = host(nabla::eval(x));
        const auto square = nabla_test::counting_threads([](const auto& u) { return u * u; }, most);
        const auto f = [&](auto v) { return ad::sum(ad::map(square, v) * 0.5); };
        const auto [value, grads] = ad::value_and_grad(f, x);
        nabla::assign(x, x - 0.1 * std::get<0>(grads));
        const auto gx = host(std::get<0>(grads)), hx = host(x);
        double want = 0.0;
        for (std::size_t j = 0; j < n; ++j) {
          ASSERT_EQ(gx(j), x0(j)) << "task " << i << ", element " << j;
          ASSERT_EQ(hx(j), x0(j) - 0.1 * x0(j)) << "task " << i << ", element " << j;
          want += 0.5 * x0(j) * x0(j);
        }
        EXPECT_NEAR(value, want, 1e-12 * want);
      });
    });
  }
  EXPECT_EQ(most.load(), 1) << "a tape kernel ran on more threads than its task's partition";
}
#endif

}  // namespace
