// Size-aware launches (launch.hpp): small work on one thread, large on all, the same results either side.
#include <nabla/core.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>
#include <vector>

#if defined(KOKKOS_ENABLE_OPENMP)
#include <omp.h>
#endif

namespace {

using Exec = Kokkos::DefaultExecutionSpace;
// Host OpenMP with one-thread instances (Kokkos 4; on 3.4 every launch keeps the whole pool).
constexpr bool host_openmp =
#if defined(KOKKOS_ENABLE_OPENMP)
    std::is_same<Exec, Kokkos::OpenMP>::value && nabla::compat::openmp_sized_instances;
#else
    false;
#endif

#if defined(KOKKOS_ENABLE_OPENMP)
// The most OpenMP threads any iteration of a kernel on `space` ran among.
int team_size(const Kokkos::OpenMP& space) {
  int most = 0;
  Kokkos::parallel_reduce("nabla::test::team_size", Kokkos::RangePolicy<Kokkos::OpenMP>(space, 0, 1000),
                          [](int, int& m) { m = std::max(m, omp_get_num_threads()); }, Kokkos::Max<int>(most));
  return most;
}
#endif

}  // namespace

TEST(CoreLaunch, SmallWorkRunsOnOneThreadLargeOnAll) {
  const int all = Exec().concurrency();
  const std::size_t below = nabla::impl::LaunchTraits<Exec>::one_thread_below;
  const Exec small = nabla::launch_space(below > 0 ? below - 1 : 0);
  const Exec large = nabla::launch_space(below);
  EXPECT_EQ(large.concurrency(), all);
  const bool one = host_openmp && all > 1 && below > 0 && !std::getenv("NABLA_ONE_THREAD_BELOW");
  EXPECT_EQ(small.concurrency(), one ? 1 : all);
#if defined(KOKKOS_ENABLE_OPENMP)
  if constexpr (host_openmp) {
    EXPECT_EQ(team_size(small), one ? 1 : all);
    EXPECT_EQ(team_size(large), all);
  }
#endif
}

// NABLA_ONE_THREAD_BELOW=<n> moves the threshold to n elements (core.launch_env runs this with n = 1000; 0 would
// mean never one thread).
TEST(CoreLaunch, EnvironmentMovesTheThreshold) {
  const char* env = std::getenv("NABLA_ONE_THREAD_BELOW");
  if (!env) GTEST_SKIP() << "NABLA_ONE_THREAD_BELOW is not set (core.launch_env sets it)";
  const std::size_t n = std::stoull(env);
  const int all = Exec().concurrency();
  EXPECT_EQ(nabla::launch_space(n).concurrency(), all);
  if (n > 0) EXPECT_EQ(nabla::launch_space(n - 1).concurrency(), host_openmp && all > 1 ? 1 : all);
  // The compiled-in threshold no longer applies.
  const std::size_t built_in = nabla::impl::LaunchTraits<Exec>::one_thread_below;
  if (built_in > n + 1) EXPECT_EQ(nabla::launch_space(built_in - 1).concurrency(), all);
}

#if defined(KOKKOS_ENABLE_OPENMP)
// A small BLAS call sees one OpenMP thread while the guard lives (OpenBLAS's OpenMP build asks
// omp_get_max_threads()); a large one sees its instance's count, never more than the caller had, and everything
// after the guard sees the pool's count again.
TEST(CoreLaunch, HostBlasCallsRunOnTheirInstancesThreads) {
  if (!std::is_same<Exec, Kokkos::OpenMP>::value) GTEST_SKIP() << "host OpenMP only";
  const int before = omp_get_max_threads();
  const std::size_t big = nabla::impl::LaunchTraits<Kokkos::OpenMP>::blas_one_thread_below;
  // Small BLAS calls follow the small kernels (one thread unless the threshold is 0 or the pool has one).
  const bool one = before > 1 && nabla::launch_space(0).concurrency() == 1;
  {
    nabla::impl::HostBlasThreads guard(1000, before);
    EXPECT_EQ(omp_get_max_threads(), one ? 1 : before);
  }
  EXPECT_EQ(omp_get_max_threads(), before);
  {
    nabla::impl::HostBlasThreads guard(big, before);
    EXPECT_EQ(omp_get_max_threads(), before);
  }
  {
    nabla::impl::HostBlasThreads guard(big, 1);
    EXPECT_EQ(omp_get_max_threads(), 1);
  }
  {
    nabla::impl::HostBlasThreads guard(big, before + 3);
    EXPECT_EQ(omp_get_max_threads(), before);
  }
  EXPECT_EQ(omp_get_max_threads(), before);
}
#endif

#if defined(KOKKOS_ENABLE_OPENMP)
// A large kernel on unbound threads (the test runs under nabla::ScopeGuard, which leaves them unbound unless
// OMP_PROC_BIND says otherwise): a thread held up, as by another process on its core, leaves the rest of the
// range to the others. Bound threads keep the static split.
TEST(CoreLaunch, LargeKernelsOnUnboundThreadsShareTheirRange) {
  if (!std::is_same<Exec, Kokkos::OpenMP>::value || Kokkos::OpenMP().concurrency() < 2)
    GTEST_SKIP() << "needs two or more OpenMP threads";
  using Traits = nabla::impl::LaunchTraits<Kokkos::OpenMP>;
  const std::size_t n = Traits::claimed_from, threads = std::size_t(Kokkos::OpenMP().concurrency());
  Kokkos::View<int*, Kokkos::HostSpace> who("nabla::test::who", n);
  std::atomic<int> held{-1};
  nabla::impl::parallel_range("nabla::test::held_thread", Kokkos::OpenMP(), n, n, [&held, who](std::size_t i) {
    const int t = omp_get_thread_num();
    int none = -1;
    if (held.compare_exchange_strong(none, t)) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    who(i) = t;
  });
  const std::size_t by_held = std::size_t(std::count(who.data(), who.data() + n, held.load()));
  if (nabla::impl::openmp_unbound()) {
    // Its first chunk (n / (8 threads)), not its static share (n / threads).
    EXPECT_LE(by_held, n / (Traits::chunks_per_thread * threads));
  } else {
    EXPECT_GE(by_held, n / threads);
  }
}
#endif

#if defined(KOKKOS_ENABLE_OPENMP) && KOKKOS_VERSION >= 40000  // instances of their own from 4.0
// A caller's own instance is kept for small work: only the whole pool's default instance gives way to the
// one-thread instance (a caller's partition, as a task's, must not share the process's one-thread instance).
TEST(CoreLaunch, CallersOwnInstanceIsKept) {
  if (!host_openmp || Kokkos::OpenMP().concurrency() < 2) GTEST_SKIP() << "needs Kokkos 4 OpenMP, two threads";
  const int all = Kokkos::OpenMP().concurrency();
  const Kokkos::OpenMP mine = nabla::compat::openmp_instance(all);  // the pool's size, not the default instance
  EXPECT_TRUE(nabla::compat::is_default_instance(Kokkos::OpenMP()));
  EXPECT_FALSE(nabla::compat::is_default_instance(mine));
  const Kokkos::OpenMP small = nabla::launch_space(0, mine);
  EXPECT_EQ(small.impl_internal_space_instance(), mine.impl_internal_space_instance());
  EXPECT_EQ(team_size(small), all);
  if (!std::getenv("NABLA_ONE_THREAD_BELOW")) EXPECT_EQ(team_size(nabla::launch_space(0, Kokkos::OpenMP())), 1);
}
#endif

// Either side of the thresholds, an expression and its reductions give what a scalar loop gives.
TEST(CoreLaunch, ResultsEitherSideOfTheThreshold) {
  const std::size_t below = std::max<std::size_t>(nabla::impl::LaunchTraits<Exec>::one_thread_below, 64);
  std::vector<std::size_t> sizes{below - 1, below, below + 1};
#if defined(KOKKOS_ENABLE_OPENMP)
  const std::size_t claimed = nabla::impl::LaunchTraits<Kokkos::OpenMP>::claimed_from;
  sizes.insert(sizes.end(), {claimed - 1, claimed, 3 * claimed + 7});
#endif
  for (const std::size_t n : sizes) {
    nabla::Array<double, 1> a({n}), out({n});
    auto h = Kokkos::create_mirror_view(a.view());
    for (std::size_t i = 0; i < n; ++i) h(i) = double(i % 97) - 48.0;
    Kokkos::deep_copy(a.view(), h);
    nabla::assign(out, 2.0 * a + 1.0);
    const auto o = nabla::to_host(out);
    long long sum = 0, max = -1000000;
    for (std::size_t i = 0; i < n; ++i) {
      ASSERT_EQ(o.view()(i), 2.0 * h(i) + 1.0) << n << " " << i;
      sum += (long long)(h(i));
      max = std::max(max, (long long)(h(i)));
    }
    // Integer-valued doubles: every fold order gives the exact sum.
    EXPECT_EQ(nabla::sum(a), double(sum)) << n;
    EXPECT_EQ(nabla::max(a), double(max)) << n;
  }
}

// A broadcast (the row kernels on host backends) either side of the thresholds, against a scalar loop.
TEST(CoreLaunch, BroadcastRowsEitherSideOfTheThreshold) {
  for (const std::size_t rows : {std::size_t(3), std::size_t(1000)}) {
    const std::size_t cols = 700;
    nabla::Array<double, 2> a({rows, 1}), b({1, cols}), out({rows, cols});
    auto ha = Kokkos::create_mirror_view(a.view());
    auto hb = Kokkos::create_mirror_view(b.view());
    for (std::size_t i = 0; i < rows; ++i) ha(i, 0) = double(i % 13);
    for (std::size_t j = 0; j < cols; ++j) hb(0, j) = double(j % 7) - 3.0;
    Kokkos::deep_copy(a.view(), ha);
    Kokkos::deep_copy(b.view(), hb);
    nabla::assign(out, 3.0 * a - b);
    const auto o = nabla::to_host(out);
    std::size_t wrong = 0;
    for (std::size_t j = 0; j < cols; ++j)
      for (std::size_t i = 0; i < rows; ++i) wrong += o.view()(i, j) != 3.0 * ha(i, 0) - hb(0, j);
    EXPECT_EQ(wrong, 0u) << rows << " x " << cols;
  }
}
