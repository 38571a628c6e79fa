#include <nabla/core.hpp>

#include <gtest/gtest.h>

TEST(KernelCounter, CountsEachLaunchWithItsLabel) {
  Kokkos::View<double*> v("v", 10);
  nabla::tools::KernelCounter counter;
  Kokkos::parallel_for("test::fill", Kokkos::RangePolicy<>(0, 10), KOKKOS_LAMBDA(int i) { v(i) = i; });
  double s = 0;
  Kokkos::parallel_reduce("test::sum", Kokkos::RangePolicy<>(0, 10),
                          KOKKOS_LAMBDA(int i, double& acc) { acc += v(i); }, s);
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
  Kokkos::parallel_for("test::after", Kokkos::RangePolicy<>(0, 4), KOKKOS_LAMBDA(int i) { v(i) = 1; });
  EXPECT_EQ(counter.count(), 1u);
}
