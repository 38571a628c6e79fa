// Task groups (tasks.hpp): order, concurrency, values and failures, against the same work run directly.
#include "test_util.hpp"

#include <nabla/core/tasks.hpp>
#include <nabla/core/timeline.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#if defined(KOKKOS_ENABLE_OPENMP)
#include "common/thread_count.hpp"
#endif

namespace {

namespace tasks = nabla::tasks;
using Exec = tasks::Space;
using Vec = nabla::Array<double, 1>;
using nabla_test::host;

// Partitions of the host's threads run at once (Kokkos 4's sized OpenMP instances, at least two threads).
bool host_partitions() {
#if defined(KOKKOS_ENABLE_OPENMP)
  return std::is_same<Exec, Kokkos::OpenMP>::value && nabla::compat::openmp_sized_instances &&
         Exec().concurrency() > 1;
#else
  return false;
#endif
}

// Kernels may be launched from host threads other than the one that initialised Kokkos (Kokkos 4's OpenMP;
// Kokkos 3.4's launches only from that one, and devices are left to their own tests).
bool other_threads_launch() {
#if defined(KOKKOS_ENABLE_OPENMP)
  return std::is_same<Exec, Kokkos::OpenMP>::value && nabla::compat::openmp_sized_instances;
#else
  return false;
#endif
}

// Task i's input: n(i) elements of a sequence no two tasks share.
Vec input(std::size_t i) {
  const std::size_t n = std::size_t(1000) << (i % 6);  // 1000 .. 32000: either side of the one-thread threshold
  Vec x({n});
  nabla_test::fill_random(x.view(), -2.0, 2.0, unsigned(100 + i));
  return x;
}

// A fused expression with transcendental functions: a wrong or racing instance changes its bits.
template <class X>
auto work(const X& x) {
  return nabla::sin(x) * nabla::exp(-x * x) + 0.5 * nabla::tanh(3.0 * x);
}

}  // namespace

// Each `then` sees every write of the tasks before it: a chain of updates equals the same updates in a loop.
TEST(CoreTasks, ThenRunsInProgramOrder) {
  Vec x = input(0);
  const auto x0 = host(x);  // on host backends x itself: keep a copy
  std::vector<double> ref(x0.data(), x0.data() + x0.extent(0));
  const double last = tasks::sequential([&](tasks::Group& g) {
    for (int k = 1; k <= 20; ++k)
      g.then("update", [&, k](const Exec& s) { nabla::assign(s, x, x * 0.5 + double(k)); });
    return g.then("max", [&](const Exec& s) { return nabla::impl::reduce_all<nabla::impl::MaxOp>(s, x); });
  });
  for (double& r : ref)
    for (int k = 1; k <= 20; ++k) r = r * 0.5 + double(k);
  const auto got = host(x);
  double most = -INFINITY;
  for (std::size_t j = 0; j < ref.size(); ++j) {
    ASSERT_EQ(got(j), ref[j]) << "element " << j;
    most = std::max(most, ref[j]);
  }
  EXPECT_EQ(last, most) << std::hexfloat << last << " vs " << most;
}

// A bulk's tasks give the bits the same kernels give run one after another on the default instance, whatever
// partition each task lands on; `bulk` returns their values in task order.
TEST(CoreTasks, BulkEqualsSequentialBitForBit) {
  constexpr std::size_t n = 24;
  std::vector<Vec> in, direct, bulk;
  for (std::size_t i = 0; i < n; ++i) {
    in.push_back(input(i));
    direct.push_back(Vec(in[i].shape()));
    bulk.push_back(Vec(in[i].shape()));
  }
  std::vector<double> direct_max;
  for (std::size_t i = 0; i < n; ++i) {
    nabla::assign(direct[i], work(in[i]));
    direct_max.push_back(nabla::impl::reduce_all<nabla::impl::MaxOp>(Exec(), direct[i]));
  }
  const std::vector<double> bulk_max = tasks::sequential([&](tasks::Group& g) {
    return g.bulk("work", n, [&](std::size_t i, const Exec& s) {
      nabla::assign(s, bulk[i], work(in[i]));
      return nabla::impl::reduce_all<nabla::impl::MaxOp>(s, bulk[i]);
    });
  });
  ASSERT_EQ(bulk_max.size(), n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto a = host(direct[i]), b = host(bulk[i]);
    for (std::size_t j = 0; j < a.extent(0); ++j) ASSERT_EQ(a(j), b(j)) << "task " << i << ", element " << j;
    EXPECT_EQ(bulk_max[i], direct_max[i]) << "task " << i;
  }
}

// What follows a bulk sees all of its writes; a bulk of tasks of different kinds returns a tuple of their values.
TEST(CoreTasks, ThenAfterBulkSeesEveryWrite) {
  constexpr std::size_t n = 16;
  std::vector<Vec> parts;
  for (std::size_t i = 0; i < n; ++i) parts.push_back(Vec({4096}));
  Vec total({4096});
  const auto [sum, label, nothing] = tasks::sequential([&](tasks::Group& g) {
    g.bulk("fill", n, [&](std::size_t i, const Exec& s) { nabla::assign(s, parts[i], double(i + 1)); });
    g.then("sum", [&](const Exec& s) {
      nabla::assign(s, total, 0.0);
      for (const Vec& p : parts) nabla::assign(s, total, total + p);
    });
    return g.bulk(
        "mixed", [&](const Exec& s) { return nabla::sum(s, total); },
        [](const Exec&) { return std::string("host work"); }, [](const Exec&) {});
  });
  (void)nothing;
  EXPECT_EQ(sum, 4096.0 * double(n * (n + 1) / 2));
  EXPECT_EQ(label, "host work");
}

// An exception ends the group: the bulk starts no task after it, waits for the running ones, and reports the
// task; nothing after the bulk runs.
TEST(CoreTasks, FailureNamesTheTaskAndStopsTheGroup) {
  constexpr std::size_t n = 64, bad = 5;
  std::atomic<int> started{0}, finished{0};
  bool after = false;
  std::vector<Vec> x;
  for (std::size_t i = 0; i < n; ++i) x.push_back(Vec({1 << 12}));
  try {
    tasks::sequential([&](tasks::Group& g) {
      g.bulk("fit", n, [&](std::size_t i, const Exec& s) {
        ++started;
        if (i == bad) throw nabla::ValueError("negative variance");
        for (int k = 0; k < 50; ++k) nabla::assign(s, x[i], 1.0);  // long enough to still run when `bad` throws
        ++finished;
      });
      after = true;
    });
    FAIL() << "no TaskError";
  } catch (const tasks::TaskError& e) {
    EXPECT_EQ(e.task(), "fit[" + std::to_string(bad) + "]");
    EXPECT_NE(std::string(e.what()).find("task 'fit[5]' failed: negative variance"), std::string::npos) << e.what();
    EXPECT_THROW(std::rethrow_exception(e.cause()), nabla::ValueError);
  }
  EXPECT_FALSE(after);
  EXPECT_EQ(started.load(), finished.load() + 1) << "a task was still running, or one was lost";
  EXPECT_LT(started.load(), int(n)) << "tasks kept starting after the failure";
  // A failing `then` is named too, and the group is usable afterwards.
  EXPECT_THROW(tasks::sequential([&](tasks::Group& g) { g.then("load", [](const Exec&) { throw std::runtime_error("x"); }); }),
               tasks::TaskError);
  EXPECT_EQ(tasks::sequential([](tasks::Group& g) { return g.bulk("again", 3, [](std::size_t i, const Exec&) { return i; }); }),
            (std::vector<std::size_t>{0, 1, 2}));
}

// Bulks from two host threads at once: one holds the partitions, the other runs its tasks in order on its own
// instance; both give the values of a plain loop.
TEST(CoreTasks, BulksFromTwoHostThreadsAtOnce) {
  if (!other_threads_launch()) GTEST_SKIP() << "needs a backend that launches from any host thread (Kokkos 4 OpenMP)";
  constexpr std::size_t n = 16;
  std::vector<Vec> in, out[2];
  for (std::size_t i = 0; i < n; ++i) {
    in.push_back(input(i));
    for (auto& o : out) o.push_back(Vec(in[i].shape()));
  }
  std::vector<double> max[2];
  const auto run = [&](int t) {
    for (int round = 0; round < 20; ++round)
      max[t] = tasks::sequential([&](tasks::Group& g) {
        return g.bulk("work", n, [&](std::size_t i, const Exec& s) {
          nabla::assign(s, out[t][i], work(in[i]));
          return nabla::impl::reduce_all<nabla::impl::MaxOp>(s, out[t][i]);
        });
      });
  };
  std::thread other(run, 1);
  run(0);
  other.join();
  for (std::size_t i = 0; i < n; ++i) {
    const auto a = host(out[0][i]), b = host(out[1][i]);
    const auto x = host(in[i]);
    double most = -INFINITY;
    for (std::size_t j = 0; j < a.extent(0); ++j) {
      const double v = x(j);
      const double ref = std::sin(v) * std::exp(-v * v) + 0.5 * std::tanh(3.0 * v);
      ASSERT_NEAR(a(j), ref, 1e-14) << "task " << i << ", element " << j;
      ASSERT_EQ(a(j), b(j)) << "task " << i << ", element " << j;
      most = std::max(most, a(j));
    }
    EXPECT_EQ(max[0][i], most);
    EXPECT_EQ(max[1][i], most);
  }
}

// A bulk inside a bulk's task runs in order on that task's partition and gives the same values.
TEST(CoreTasks, NestedBulkRunsInOrder) {
  const auto sums = tasks::sequential([](tasks::Group& g) {
    return g.bulk("outer", 4, [](std::size_t i, const Exec& s) {
      tasks::Group inner(s);
      const auto v = inner.bulk("inner", 8, [i](std::size_t j, const Exec&) { return i * 8 + j; });
      std::size_t t = 0;
      for (std::size_t x : v) t += x;
      return t;
    });
  });
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(sums[i], 64 * i + 28);
}

#if defined(KOKKOS_ENABLE_OPENMP) && !defined(KOKKOS_ENABLE_CUDA) && !defined(KOKKOS_ENABLE_HIP) && \
    KOKKOS_VERSION >= 40000  // partitions from 4.0
namespace {
bool same_instance(const Kokkos::OpenMP& a, const Kokkos::OpenMP& b) {
  return a.impl_internal_space_instance() == b.impl_internal_space_instance();
}
}  // namespace

// Operations given no instance run on the task's: in a bulk of two tasks on two threads, default_instance() is
// the task's partition, a group made in the task runs on it, and assign, eval and sum without an instance, small
// (the one-thread instance's size outside tasks) or large (every thread's), compute on its one thread.
TEST(CoreTasks, OperationsGivenNoInstanceRunOnTheTasksPartition) {
  if (!host_partitions() || Exec().concurrency() != 2) GTEST_SKIP() << "needs Kokkos 4 OpenMP with two threads";
  const std::size_t sizes[] = {1000, std::size_t(1) << 20};
  std::atomic<int> most{0}, outside{0};
  const auto identity = [](double x) { return x; };
  for (const std::size_t n : sizes) nabla::sum(nabla::map(nabla_test::counting_threads(identity, outside), Vec({n})));
  EXPECT_EQ(outside.load(), 2) << "the large sum outside tasks should run on every thread";
  std::vector<double> ref;
  for (std::size_t i = 0; i < 2; ++i) ref.push_back(nabla::sum(work(input(i))));
  const auto got = tasks::sequential([&](tasks::Group& g) {
    return g.bulk("no instance", 2, [&](std::size_t i, const Exec& s) {
      EXPECT_TRUE(same_instance(nabla::default_instance(), s));
      EXPECT_FALSE(nabla::compat::is_default_instance(nabla::default_instance()));
      tasks::sequential([&](tasks::Group& inner) {
        EXPECT_TRUE(same_instance(inner.space(), s));
        inner.then("inner", [&](const Exec& t) { EXPECT_TRUE(same_instance(nabla::default_instance(), t)); });
      });
      for (const std::size_t n : sizes) {
        Vec x({n}), y({n});
        nabla::assign(x, 1.0);
        const auto counted = nabla_test::counting_threads(identity, most);
        nabla::assign(y, nabla::map(counted, x));
        const Vec z = nabla::eval(nabla::map(counted, y) * 2.0);
        EXPECT_EQ(nabla::sum(nabla::map(counted, z)), 2.0 * double(n));
      }
      return nabla::sum(work(input(i)));
    });
  });
  EXPECT_EQ(most.load(), 1) << "an operation given no instance ran on more threads than the task's partition";
  for (std::size_t i = 0; i < 2; ++i) EXPECT_NEAR(got[i], ref[i], 1e-12 * std::abs(ref[i]) + 1e-12) << "task " << i;
}
#endif

// Two half-machine kernels of a bulk run at the same time, each from its partition's thread: the Kokkos Tools
// timestamps of their kernels (KernelTimeline) overlap for most of the shorter task.
TEST(CoreTasks, BulkKernelsOverlapOnPartitions) {
  if (!host_partitions()) GTEST_SKIP() << "needs Kokkos 4 OpenMP with at least two threads";
  const std::size_t n = std::size_t(1) << 21;
  std::vector<Vec> in{Vec({n}), Vec({n})}, out{Vec({n}), Vec({n})};
  for (int i = 0; i < 2; ++i) nabla::assign(in[i], 0.25 * double(i + 1));
  // Each task: enough kernels to run for milliseconds, so a late start of one thread still leaves an overlap.
  const auto run = [&] {
    tasks::sequential([&](tasks::Group& g) {
      g.bulk("halves", 2, [&](std::size_t i, const Exec& s) {
        for (int k = 0; k < 20; ++k) nabla::assign(s, out[i], work(in[i] + double(k)));
      });
    });
  };
  run();  // first touch, partitions and worker threads made
  double best = 0.0;
  std::set<std::size_t> threads;
  for (int attempt = 0; attempt < 5 && best < 0.5; ++attempt) {  // a shared machine may deschedule a thread
    nabla::tools::KernelTimeline timeline;
    run();
    const auto ks = timeline.kernels();
    std::vector<nabla::tools::KernelTimeline::Kernel> a, b;
    for (const auto& k : ks) {
      if (k.label.find("nabla::core::assign") == std::string::npos) continue;
      threads.insert(k.thread);
      (a.empty() || k.thread == a.front().thread ? a : b).push_back(k);
    }
    ASSERT_EQ(a.size() + b.size(), 40u);
    if (b.empty()) continue;
    const double a0 = a.front().begin, a1 = a.back().end, b0 = b.front().begin, b1 = b.back().end;
    const double both = std::max(0.0, std::min(a1, b1) - std::max(a0, b0));
    best = std::max(best, both / std::min(a1 - a0, b1 - b0));
  }
  EXPECT_EQ(threads.size(), 2u) << "the two tasks' kernels were launched by one thread";
  EXPECT_GT(best, 0.5) << "the two tasks' kernels did not overlap";
}
