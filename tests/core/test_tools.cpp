#include <nabla/core.hpp>

#include <gtest/gtest.h>

// Kernels as functors: CUDA does not allow device lambdas inside GoogleTest bodies (private member functions).
namespace {
struct Iota {
  Kokkos::View<double*> v;
  KOKKOS_INLINE_FUNCTION void operator()(int i) const { v(i) = i; }
};
struct SumOf {
  Kokkos::View<double*> v;
  KOKKOS_INLINE_FUNCTION void operator()(int i, double& acc) const { acc += v(i); }
};
}  // namespace

TEST(KernelCounter, CountsEachLaunchWithItsLabel) {
  Kokkos::View<double*> v("v", 10);
  nabla::tools::KernelCounter counter;
  Kokkos::parallel_for("test::fill", Kokkos::RangePolicy<>(0, 10), Iota{v});
  double s = 0;
  Kokkos::parallel_reduce("test::sum", Kokkos::RangePolicy<>(0, 10), SumOf{v}, s);
  EXPECT_EQ(s, 45.0);
  ASSERT_EQ(counter.count(), 2u);
  EXPECT_EQ(counter.fors(), 1u);
  EXPECT_EQ(counter.reduces(), 1u);
  EXPECT_EQ(counter.labels()[0], "test::fill");
  EXPECT_EQ(counter.labels()[1], "test::sum");
  counter.reset();
  EXPECT_EQ(counter.count(), 0u);
}

TEST(KernelCounter, OnlyOneAtATime) {
  nabla::tools::KernelCounter first;
  EXPECT_THROW(nabla::tools::KernelCounter second, std::logic_error);
}

TEST(KernelCounter, StopsCountingWhenDestroyed) {
  Kokkos::View<double*> v("v", 4);
  { nabla::tools::KernelCounter counter; }
  nabla::tools::KernelCounter counter;
  Kokkos::parallel_for("test::after", Kokkos::RangePolicy<>(0, 4), Iota{v});
  EXPECT_EQ(counter.count(), 1u);
}
