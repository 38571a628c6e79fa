/// \file tasks.hpp
/// \brief Task groups after Dagger's spawn_sequential / spawn_bulk, on Kokkos execution space instances.
///
/// Nabla advances an ensemble in one kernel; a task group is for the work that is not one kernel: independent
/// kernels of different shapes (a forward model at several parameter sets, several small fits, the stages of a
/// pipeline) that should overlap on one device and spread over the host's cores.
///
///   double loss = nabla::tasks::sequential([&](nabla::tasks::Group& g) {
///     g.then("init", [&](const auto& space) { nabla::assign(space, x, 0.0); });
///     g.bulk("fits", 8, [&](std::size_t i, const auto& space) { fit(space, i); });
///     return g.then("loss", [&](const auto& space) { return nabla::sum(space, r * r); });
///   });
///
/// A task is a host function of the instance it launches on. Nabla operations given an execution space (assign,
/// eval, the reductions, gemm, sampling::baoab_advance) run on that one; those given none (a sampler's run, a
/// training step, the tape's kernels) run on the task's instance too, which nabla::default_instance() returns
/// on the task's thread. On host backends a task's thread gives BLAS calls its partition's share of the threads.
/// On CUDA a task's own kernels are functors (nvcc takes no KOKKOS_LAMBDA inside a lambda).
///
/// `then` runs its task after everything before it in the group, on the group's instance. `bulk` runs
/// independent tasks at once, each on a partition of the machine, and returns once all of them and their kernels
/// have finished, so what follows sees their writes. On OpenMP a partition is a share of the threads with a
/// sleeping host thread of its own (unbound threads, as nabla::ScopeGuard sets OMP_PROC_BIND, keep the shares
/// apart); on CUDA and HIP a stream each (Kokkos::Experimental::partition_space), the calling thread running every
/// task's host code, so tasks that wait for a result on the host run one after another. Other backends, Kokkos
/// 3.4, a bulk inside a bulk's task, and a bulk while another host thread's holds the partitions run their tasks
/// in order on the group's instance. Tasks run eagerly: `then` returns its task's value and `bulk` its tasks'
/// values in task order.
///
/// Nothing here schedules: ordering is program order, concurrency is the partitions'. Kokkos graphs are not used:
/// a graph's kernels are fixed before it runs, while a task is host code that picks its kernels as it goes (by
/// size, on one thread or all, host BLAS, values read back to decide); work that repeats one fixed sequence many
/// times is better one kernel (a fused expression, a sampler's block). An exception in a task
/// ends its group: a bulk starts no further task, waits for the running ones and their kernels, then throws a
/// TaskError naming the task.
#pragma once

#include <nabla/core/compat.hpp>
#include <nabla/core/launch.hpp>

#include <Kokkos_Core.hpp>

#include <cstddef>
#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace nabla {
namespace tasks {

/// The execution space tasks launch on.
using Space = Kokkos::DefaultExecutionSpace;

/// A task threw: what() names the task (`label` or `label[i]` for the i-th of a bulk) and repeats its message;
/// cause() is the original exception.
class TaskError : public std::runtime_error {
 public:
  TaskError(std::string task, std::exception_ptr cause, const std::string& message)
      : std::runtime_error("nabla::tasks: task '" + task + "' failed: " + message),
        m_task(std::move(task)),
        m_cause(std::move(cause)) {}
  const std::string& task() const noexcept { return m_task; }
  std::exception_ptr cause() const noexcept { return m_cause; }

 private:
  std::string m_task;
  std::exception_ptr m_cause;
};

namespace impl {

/// Rethrows the exception in flight as a TaskError naming `task` (a TaskError from a nested group passes as is).
[[noreturn]] void rethrow_as_task_error(const std::string& task);

/// Runs job(i, partition) for i in [0, n), concurrently over partitions of the machine (tasks.cpp), and returns
/// when every job and every kernel it launched has finished. After a failure no further job starts; the first
/// failure is thrown as a TaskError once the running ones have ended.
void run_bulk(const Space& before, const char* label, std::size_t n,
              const std::function<void(std::size_t, const Space&)>& job);

/// A task's value: void becomes std::monostate, so a bulk of mixed tasks returns a tuple.
template <class R>
using value_t = std::conditional_t<std::is_void<R>::value, std::monostate, std::decay_t<R>>;

template <class F, class... Args>
value_t<std::invoke_result_t<F&, Args...>> call(F& f, Args&&... args) {
  if constexpr (std::is_void<std::invoke_result_t<F&, Args...>>::value) {
    f(std::forward<Args>(args)...);
    return {};
  } else {
    return f(std::forward<Args>(args)...);
  }
}

}  // namespace impl

/// \brief Tasks in program order on one instance, with bulks of concurrent tasks between them.
class Group {
 public:
  /// A group inside a task runs on the task's instance by default.
  explicit Group(const Space& space = default_instance()) : m_space(space) {}

  /// The instance `then` tasks run on.
  const Space& space() const { return m_space; }

  /// Runs `task(space())` after everything before it in the group and returns its value.
  template <class F>
  decltype(auto) then(const std::string& label, F&& task) {
    static_assert(std::is_invocable<F&, const Space&>::value,
                  "nabla::tasks::Group::then: the task must be callable as task(const Space&)");
    compat::Region region(label.c_str());  // a tool shows the task by its name
    try {
      const ::nabla::impl::TaskInstance on(m_space);
      return task(m_space);
    } catch (...) {
      impl::rethrow_as_task_error(label);
    }
  }

  /// Runs task(i, partition) for i in [0, n) concurrently; returns their values in order (nothing for void tasks)
  /// once all have finished, their kernels included.
  template <class F, std::enable_if_t<std::is_invocable<F&, std::size_t, const Space&>::value, int> = 0>
  auto bulk(const std::string& label, std::size_t n, F&& task) {
    using R = std::decay_t<std::invoke_result_t<F&, std::size_t, const Space&>>;
    compat::Region region(label.c_str());
    if constexpr (std::is_void<R>::value) {
      impl::run_bulk(m_space, label.c_str(), n, [&](std::size_t i, const Space& s) { task(i, s); });
    } else {
      std::vector<std::optional<R>> slots(n);
      impl::run_bulk(m_space, label.c_str(), n, [&](std::size_t i, const Space& s) { slots[i].emplace(task(i, s)); });
      std::vector<R> values;
      values.reserve(n);
      for (auto& v : slots) values.push_back(std::move(*v));
      return values;
    }
  }

  /// Runs tasks of different kinds, each task(partition), concurrently; returns a tuple of their values
  /// (std::monostate for a void task) once all have finished.
  template <class... F, std::enable_if_t<(sizeof...(F) >= 1 && (std::is_invocable<F&, const Space&>::value && ...)), int> = 0>
  auto bulk(const std::string& label, F&&... tasks) {
    compat::Region region(label.c_str());
    std::tuple<std::optional<impl::value_t<std::invoke_result_t<F&, const Space&>>>...> slots;
    std::tuple<F&...> fs(tasks...);
    impl::run_bulk(m_space, label.c_str(), sizeof...(F), [&](std::size_t i, const Space& s) {
      run_one(i, s, fs, slots, std::index_sequence_for<F...>{});
    });
    return std::apply([](auto&... v) { return std::make_tuple(std::move(*v)...); }, slots);
  }

 private:
  template <class Fs, class Slots, std::size_t... I>
  static void run_one(std::size_t i, const Space& s, Fs& fs, Slots& slots, std::index_sequence<I...>) {
    ((i == I ? (void)std::get<I>(slots).emplace(impl::call(std::get<I>(fs), s)) : void()), ...);
  }

  Space m_space;
};

/// \brief Runs `body(group)` on a group over `space` and returns its value once the group's kernels have ended.
template <class Body>
std::invoke_result_t<Body&, Group&> sequential(const Space& space, Body&& body) {
  static_assert(std::is_invocable<Body&, Group&>::value,
                "nabla::tasks::sequential: the body must be callable as body(nabla::tasks::Group&)");
  using R = std::invoke_result_t<Body&, Group&>;
  Group g(space);
  try {
    if constexpr (std::is_void<R>::value) {
      body(g);
      g.space().fence();
    } else {
      R value = body(g);
      g.space().fence();
      return value;
    }
  } catch (...) {
    try {  // a failed group leaves nothing running; the task's error is the one to report
      g.space().fence();
    } catch (...) {
    }
    throw;
  }
}

/// sequential on default_instance(): the task's, inside a task.
template <class Body>
std::invoke_result_t<Body&, Group&> sequential(Body&& body) {
  return sequential(default_instance(), std::forward<Body>(body));
}

}  // namespace tasks
}  // namespace nabla
