#include <nabla/core/tasks.hpp>

#include "partition.hpp"

#include <Kokkos_Core.hpp>

#if defined(KOKKOS_ENABLE_OPENMP)
#include <omp.h>
#endif

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

namespace nabla {
namespace tasks {
namespace impl {

void rethrow_as_task_error(const std::string& task) {
  try {
    throw;
  } catch (const TaskError&) {
    throw;
  } catch (const std::exception& e) {
    throw TaskError(task, std::current_exception(), e.what());
  } catch (...) {
    throw TaskError(task, std::current_exception(), "an exception not derived from std::exception");
  }
}

namespace {

using Job = std::function<void(std::size_t, const Space&)>;

constexpr bool host_space = std::is_same<Space::memory_space, Kokkos::HostSpace>::value;

// Host partitions need OpenMP instances of fewer threads than the pool (Kokkos 4); device partitions are streams.
#if KOKKOS_VERSION >= 40000 && defined(KOKKOS_ENABLE_OPENMP)
constexpr bool host_partitions = std::is_same<Space, Kokkos::OpenMP>::value;
#else
constexpr bool host_partitions = false;
#endif
#if KOKKOS_VERSION >= 40000
constexpr bool device_partitions = !host_space;
#else
constexpr bool device_partitions = false;
#endif

// Streams beyond a few add no overlap to kernels that each fill the device.
constexpr std::size_t max_device_partitions = 8;

// One bulk call: its jobs and its first failure.
struct Round {
  const Job& job;
  const char* label;
  std::size_t n;
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex error_mutex;
  std::exception_ptr error;

  Round(const Job& j, const char* l, std::size_t count) : job(j), label(l), n(count) {}

  // Job i on `s`, which operations given no instance use too; `partition`: `s` is a share of the machine.
  void run(std::size_t i, const Space& s, bool partition) {
    try {
      const ::nabla::impl::TaskInstance on(s, partition);
      job(i, s);
    } catch (...) {
      std::exception_ptr wrapped;
      try {
        rethrow_as_task_error(std::string(label) + "[" + std::to_string(i) + "]");
      } catch (...) {
        wrapped = std::current_exception();
      }
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = wrapped;
      failed = true;
    }
  }

  // Takes jobs until none is left or one has failed, running them on partition `s`.
  void work(const Space& s) {
#if defined(KOKKOS_ENABLE_OPENMP)
    // OpenBLAS and any other OpenMP region a task opens stay within the partition's share of the threads.
    const int threads = omp_get_max_threads();
    omp_set_num_threads(std::max(1, s.concurrency()));
#endif
    for (std::size_t i; !failed && (i = next++) < n;) run(i, s, true);
#if defined(KOKKOS_ENABLE_OPENMP)
    omp_set_num_threads(threads);
#endif
  }
};

// Host threads that run the partitions after the first (the caller runs that one). They sleep between bulks, so
// an idle group costs a core nothing, and live until Kokkos finalizes.
class Workers {
 public:
  ~Workers() { stop(); }

  // Runs `round` on `parts`, the caller on the first; returns when all have ended. False, running nothing, when
  // another host thread's bulk holds the pool.
  bool try_run(Round& round, const std::vector<Space>& parts) {
    const std::size_t P = parts.size();
    std::unique_lock<std::mutex> one_at_a_time(m_run, std::try_to_lock);
    if (!one_at_a_time) return false;
    std::unique_lock<std::mutex> lock(m_mutex);
    while (m_threads.size() + 1 < P) {
      const std::size_t w = m_threads.size() + 1;
      m_threads.emplace_back([this, w] { loop(w); });
    }
    m_round = &round;
    m_parts = &parts;
    m_wanted = P - 1;
    m_busy = P - 1;
    ++m_generation;
    lock.unlock();
    m_wake.notify_all();
    round.work(parts[0]);
    lock.lock();
    m_done.wait(lock, [&] { return m_busy == 0; });
    m_round = nullptr;
    m_parts = nullptr;
    return true;
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      m_quit = true;
    }
    m_wake.notify_all();
    for (auto& t : m_threads) t.join();
    m_threads.clear();
    m_quit = false;
  }

 private:
  void loop(std::size_t w) {
    std::uint64_t seen = 0;
    std::unique_lock<std::mutex> lock(m_mutex);
    for (;;) {
      m_wake.wait(lock, [&] { return m_quit || m_generation != seen; });
      if (m_quit) return;
      seen = m_generation;
      if (w > m_wanted) continue;
      Round* round = m_round;
      const Space& s = (*m_parts)[w];
      lock.unlock();
      round->work(s);
      lock.lock();
      if (--m_busy == 0) m_done.notify_one();
    }
  }

  std::mutex m_run;  // held by the bulk that owns the pool
  std::mutex m_mutex;
  std::condition_variable m_wake, m_done;
  std::vector<std::thread> m_threads;
  Round* m_round = nullptr;
  const std::vector<Space>* m_parts = nullptr;
  std::uint64_t m_generation = 0;
  std::size_t m_wanted = 0, m_busy = 0;
  bool m_quit = false;
};

// P partitions of the default instance. On OpenMP sized here: Kokkos' partition_space rounds each share of the
// pool down from a floating-point fraction, which leaves the last partition the remainder (16 threads in 9: eight
// of one, one of eight) and aborts when the fraction rounds to zero (49 of 49 threads).
template <class S>
std::vector<S> make_partitions(std::size_t P) {
  std::vector<S> parts;
#if KOKKOS_VERSION >= 40000 && defined(KOKKOS_ENABLE_OPENMP)
  if constexpr (std::is_same<S, Kokkos::OpenMP>::value) {
    const std::size_t pool = std::size_t(S().concurrency());
    for (std::size_t p = 0; p < P; ++p) parts.push_back(compat::openmp_instance(int(pool / P + (p < pool % P))));
    return parts;
  }
#endif
#if KOKKOS_VERSION >= 40000
  if constexpr (device_partitions) return Kokkos::Experimental::partition_space(S(), std::vector<int>(P, 1));
#endif
  parts.assign(P, S());
  return parts;
}

// Partitions of the default instance by count, made once per Kokkos session and released when it finalizes
// (instances must not outlive Kokkos), with the worker threads.
struct Runtime {
  std::mutex mutex;
  std::map<std::size_t, std::vector<Space>> partitions;
  Workers workers;
  bool hooked = false;

  const std::vector<Space>& partition(std::size_t P) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!hooked) {
      hooked = true;
      Kokkos::push_finalize_hook([this] {
        workers.stop();
        std::lock_guard<std::mutex> l(mutex);
        partitions.clear();
        hooked = false;
      });
    }
    auto it = partitions.find(P);
    if (it != partitions.end()) return it->second;
    return partitions.emplace(P, make_partitions<Space>(P)).first->second;
  }
};

// Never destroyed: a Kokkos::finalize after static destruction (a global ScopeGuard) still runs its hook.
Runtime& runtime() {
  static Runtime* r = new Runtime;
  return *r;
}

}  // namespace

void run_bulk(const Space& before, const char* label, std::size_t n, const Job& job) {
  if (n == 0) return;
  before.fence();  // the tasks see everything the group did before them
  const std::size_t width = host_partitions     ? std::size_t(std::max(1, Space().concurrency()))
                            : device_partitions ? max_device_partitions
                                                : 1;
  const std::size_t P = std::min(n, width);
  // In order on the group's instance: one task, no partitions, a bulk inside a bulk's task, or a bulk while
  // another host thread's holds the partitions.
  const auto in_order = [&] {
    Round round(job, label, n);
    for (std::size_t i = 0; i < n && !round.failed; ++i) round.run(i, before, ::nabla::impl::on_partition());
    before.fence();
    if (round.error) std::rethrow_exception(round.error);
  };
  if (P == 1 || ::nabla::impl::on_partition()) return in_order();
  const std::vector<Space>& parts = runtime().partition(P);
  Round round(job, label, n);
  if constexpr (host_partitions) {
    if (!runtime().workers.try_run(round, parts)) return in_order();
  } else {  // device: the caller enqueues every task, each partition a stream of its own
    for (std::size_t i = 0; i < n && !round.failed; ++i) round.run(i, parts[i % P], true);
  }
  for (const Space& s : parts) s.fence();
  if (round.error) std::rethrow_exception(round.error);
}

}  // namespace impl
}  // namespace tasks
}  // namespace nabla
