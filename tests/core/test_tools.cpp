#include <nabla/core.hpp>
#include <nabla/core/impl/host_hints.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

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

// Non-temporal copies (the samplers' chain rows): every element lands, whatever the destination's alignment
// (scalar head and tail around the aligned vector stores) and the length, and nothing outside is touched.
TEST(StreamCopy, EqualsAPlainCopyAtAnyAlignmentAndLength) {
  std::vector<double> src(200), dst(232);
  for (std::size_t i = 0; i < src.size(); ++i) src[i] = 0.5 + double(i);
  for (std::size_t offset = 0; offset < 16; ++offset)
    for (std::size_t n : {0, 1, 3, 7, 8, 9, 15, 16, 17, 63, 64, 65, 200}) {
      std::fill(dst.begin(), dst.end(), -1.0);
      nabla::impl::stream_copy(dst.data() + offset, src.data(), n);
      nabla::impl::stream_fence();
      for (std::size_t i = 0; i < dst.size(); ++i) {
        const double want = i >= offset && i < offset + n ? src[i - offset] : -1.0;
        ASSERT_EQ(dst[i], want) << "offset " << offset << ", length " << n << ", element " << i;
      }
    }
}

// The progress bar draws a bounded number of times whatever the run's length, at the right fill, and ends on
// a line of its own.
TEST(Progress, DrawsBoundedTimesAtTheRightFill) {
  for (const std::size_t total : {std::size_t(7), std::size_t(1000), std::size_t(12345)}) {
    std::ostringstream os;
    const nabla::ProgressBar bar(os, total, 40, 100);
    for (std::size_t i = 1; i <= total; ++i) bar.update(i);
    const std::string s = os.str();
    // Redraws: every floor(total / 100)-th step (each step when fewer), and the last.
    const std::size_t every = std::max<std::size_t>(1, total / 100);
    const std::size_t want = total / every + (total % every != 0);
    EXPECT_EQ(std::size_t(std::count(s.begin(), s.end(), '\r')), want) << total;
    const std::string last = "\r[" + std::string(40, '#') + "] " + std::to_string(total) + "/" +
                             std::to_string(total) + "\n";
    ASSERT_GE(s.size(), last.size());
    EXPECT_EQ(s.substr(s.size() - last.size()), last) << total;
  }
  std::ostringstream os;
  nabla::ProgressBar(os, 8, 16).draw(3, "epoch 1/2 ", " loss 0.5");
  EXPECT_EQ(os.str(), "\repoch 1/2 [" + std::string(6, '#') + std::string(10, ' ') + "] 3/8 loss 0.5");
}
