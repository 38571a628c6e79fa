/// \file launch.hpp
/// \brief Size-aware launches: a host kernel with little work runs on the calling thread alone.
///
/// A kernel on every host thread ends in a barrier that needs all of them. On a quiet machine that costs a few
/// microseconds; when another process shares the cores, a descheduled thread holds the barrier for a scheduler
/// slice, and small kernels (a tiny network's layers, a sampler's half-steps) ran 6-100x slower on two threads
/// than on one. Below a backend's threshold, launch_space() gives a one-thread instance instead: the calling
/// thread runs the kernel and waits for no one, and idle pool threads go to sleep. Elementwise results do not
/// change; a small floating-point reduction folds as it would with one thread in the pool.
///
/// The threshold is LaunchTraits<ExecSpace>::one_thread_below; `NABLA_ONE_THREAD_BELOW=<work>` in the
/// environment overrides it for host backends (0: always every thread).
///
/// Large kernels meet the same barrier once: with a static split, every thread's share is as slow as the
/// slowest thread, and a thread whose core another process shares runs at half speed. parallel_range() lets
/// threads that are not bound to cores (Nabla's default) claim chunks of a large range as they finish instead.
#pragma once

#include <nabla/core/compat.hpp>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cstddef>
#include <string>
#include <type_traits>

namespace nabla {
namespace impl {

/// Per backend: the work (loop iterations times the elements each touches) below which a launch runs on one
/// thread. Devices: never.
template <class ExecSpace>
struct LaunchTraits {
  static constexpr std::size_t one_thread_below = 0;
};

#if defined(KOKKOS_ENABLE_OPENMP)
/// Two threads overtake one at about 2^15 elements of a flat expression on a quiet machine (fork and join cost
/// 1-3 us there), while under a competing load the cost of a join is a scheduler slice.
/// BLAS calls (work: multiply-adds) on one thread below 2^21, about 80 us of one core's float GEMM.
/// Kernels from 2^18 elements on unbound threads are split in 8 chunks per thread, claimed as threads finish
/// (parallel_range): chunks of 16K elements or more cost nothing measurable on a quiet machine.
template <>
struct LaunchTraits<Kokkos::OpenMP> {
  static constexpr std::size_t one_thread_below = std::size_t(1) << 15;
  static constexpr std::size_t blas_one_thread_below = std::size_t(1) << 21;
  static constexpr std::size_t claimed_from = std::size_t(1) << 18;
  static constexpr std::size_t chunks_per_thread = 8;
};

/// The one-thread instance for a launch of `work`, or nullptr when every thread should run it (runtime.cpp).
const Kokkos::OpenMP* one_thread_openmp(std::size_t work);

/// Whether the OpenMP threads are not bound to places (OMP_PROC_BIND false, which nabla::ScopeGuard sets when
/// the user did not choose): read once (runtime.cpp).
bool openmp_unbound();

/// While alive, host BLAS calls run on at most `threads` threads, and on one when `work` (multiply-adds) is below
/// blas_one_thread_below and small launches run on one thread; never on more than the caller had. The OpenMP build
/// of OpenBLAS (Debian's default) takes its thread count from the caller's omp_get_max_threads(), not from the
/// execution space instance it was called for.
class HostBlasThreads {
 public:
  HostBlasThreads(std::size_t work, int threads);
  ~HostBlasThreads();
  HostBlasThreads(const HostBlasThreads&) = delete;
  HostBlasThreads& operator=(const HostBlasThreads&) = delete;

 private:
  int m_restore = 0;
};
#else
class HostBlasThreads {
 public:
  HostBlasThreads(std::size_t, int) {}
};
#endif

/// Selects the overloads of an operation that take the execution space instance to run on first.
template <class T>
using enable_if_space_t = std::enable_if_t<Kokkos::is_execution_space<std::decay_t<T>>::value, int>;

/// The instance of the task the calling thread runs (tasks.hpp), or nullptr outside tasks (runtime.cpp).
const Kokkos::DefaultExecutionSpace* task_instance();

/// While alive, the calling thread runs a task on `space` (which must outlive it): operations given no instance
/// launch there. `partition`: `space` is a share of the machine, which size-aware launches keep (the process's
/// one-thread instance is shared by every concurrent task); without it, the calling thread's mark stays.
class TaskInstance {
 public:
  TaskInstance(const Kokkos::DefaultExecutionSpace& space, bool partition);
  explicit TaskInstance(const Kokkos::DefaultExecutionSpace& space);
  ~TaskInstance();
  TaskInstance(const TaskInstance&) = delete;
  TaskInstance& operator=(const TaskInstance&) = delete;

 private:
  const Kokkos::DefaultExecutionSpace* m_space;
  bool m_partition;
};

}  // namespace impl

/// The instance an operation given none launches on: inside a task (tasks.hpp) the task's, so a sampler's block or
/// a training step in a bulk runs on its partition; elsewhere ExecSpace().
template <class ExecSpace = Kokkos::DefaultExecutionSpace>
ExecSpace default_instance() {
  if constexpr (std::is_same<ExecSpace, Kokkos::DefaultExecutionSpace>::value)
    if (const Kokkos::DefaultExecutionSpace* task = impl::task_instance()) return *task;
  return ExecSpace();
}

/// The instance to launch `work` (loop iterations times the elements each touches) on: `space`, or on host
/// backends a one-thread instance when the work is small and `space` is the whole pool (a caller's own partition
/// is kept). Kernels that must run on every thread (a team that passes data between its members) do not ask.
template <class ExecSpace>
ExecSpace launch_space(std::size_t work, const ExecSpace& space) {
#if defined(KOKKOS_ENABLE_OPENMP)
  if constexpr (std::is_same<ExecSpace, Kokkos::OpenMP>::value)
    if (const Kokkos::OpenMP* one = impl::one_thread_openmp(work))
      if (compat::is_default_instance(space)) return *one;
#endif
  (void)work;
  return space;
}

/// launch_space(work, default_instance<ExecSpace>()).
template <class ExecSpace = Kokkos::DefaultExecutionSpace>
ExecSpace launch_space(std::size_t work) {
  return launch_space(work, default_instance<ExecSpace>());
}

namespace impl {
/// Kokkos::parallel_for(label, [0, items), f) on `space`, the whole kernel `work` elements. On unbound OpenMP
/// threads, from LaunchTraits::claimed_from elements, the range is split in chunks_per_thread chunks per thread
/// that threads claim as they finish: under a competing process the thread sharing its core takes fewer. Bound
/// threads keep the static split, whose blocks are the ones a static first touch placed near them. Chunks are
/// multiples of `granule` items (elements: 64, so a chunk of an aligned array starts on a cache line; vector
/// stores across lines made a fused expression 1.4x slower).
template <class ExecSpace, class F>
void parallel_range(const std::string& label, const ExecSpace& space, std::size_t items, std::size_t work, const F& f,
                    std::size_t granule = 1) {
#if defined(KOKKOS_ENABLE_OPENMP)
  if constexpr (std::is_same<ExecSpace, Kokkos::OpenMP>::value) {
    using Traits = LaunchTraits<Kokkos::OpenMP>;
    const std::size_t threads = std::size_t(space.concurrency());
    if (threads > 1 && work >= Traits::claimed_from && openmp_unbound()) {
      using Claimed = Kokkos::RangePolicy<ExecSpace, Kokkos::Schedule<Kokkos::Dynamic>, Kokkos::IndexType<std::size_t>>;
      const std::size_t parts = threads * Traits::chunks_per_thread;
      const std::size_t chunk = std::min<std::size_t>(((items + parts - 1) / parts + granule - 1) / granule * granule, 1u << 30);
      Kokkos::parallel_for(label, Claimed(space, 0, items, Kokkos::ChunkSize(int(chunk))), f);
      return;
    }
  }
#endif
  (void)work;
  Kokkos::parallel_for(label, Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::size_t>>(space, 0, items), f);
}
}  // namespace impl

}  // namespace nabla
