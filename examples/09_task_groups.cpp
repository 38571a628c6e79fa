/// \file 09_task_groups.cpp
/// \brief Example 9: one BAOAB ensemble three ways — a task per trajectory, a bulk of chunks, one kernel.
///
/// The lesson of the seed's Dagger notebook, in Nabla: tasks are for work that is not one kernel. Launched as a
/// task each (a bulk group of `walkers` tasks, spread over the host's threads or a device's streams), the
/// trajectories pay a launch each and lose the kernel's vector lanes; a bulk of one chunk per partition pays a
/// launch per chunk; the ensemble as one kernel pays one. All three give the same bits (each walker's random
/// stream is keyed by its global index), which the program checks before printing the times.
///
///   ./09_task_groups                          # 1024 walkers x 2000 steps
///   ./09_task_groups --walkers 4096 --steps 500 --kokkos-num-threads=2
#include "common/driver.hpp"

#include <nabla/core/tasks.hpp>
#include <nabla/sampling.hpp>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

namespace ns = nabla::sampling;
namespace tasks = nabla::tasks;

namespace nabla {
namespace examples {
struct TaskGroupsOptions {
  static constexpr const char* name = "09_task_groups";
  static constexpr const char* description =
      "A BAOAB ensemble as one task per trajectory, as a bulk of chunks and as one kernel: same bits, three costs.";
  std::uint64_t walkers = 1024;
  std::uint64_t steps = 2000;
  std::uint64_t seed = 7;
  std::string out = "out/task_groups";

  void add_to(CLI::App& app) {
    app.add_option("-w,--walkers", walkers, "walkers (trajectories) in the ensemble")->check(impl::positive())
        ->capture_default_str();
    app.add_option("-n,--steps", steps, "BAOAB steps of every walker")->check(impl::positive())->capture_default_str();
    app.add_option("--seed", seed, "random seed")->capture_default_str();
    app.add_option("-o,--out", out, "directory for summary.json")->capture_default_str();
  }
  std::string validate() const {
    return walkers > (std::uint64_t(1) << 20) ? "--walkers " + std::to_string(walkers) + ": at most 1048576 (one task each)"
                                              : "";
  }
};
}  // namespace examples
}  // namespace nabla

namespace {

// `count` states of `size` walkers each, walker j of state c being walker c * size + j of the ensemble.
std::vector<ns::LangevinState> split_states(std::size_t walkers, std::size_t count) {
  std::vector<ns::LangevinState> states;
  for (std::size_t c = 0; c < count; ++c) {
    const std::size_t first = walkers * c / count, last = walkers * (c + 1) / count;
    states.push_back(ns::make_state(last - first, 1, -2.0));
    states.back().first_walker = first;
  }
  return states;
}

// Positions then velocities of every walker, in ensemble order, on the host.
std::vector<double> gather(const std::vector<ns::LangevinState>& states) {
  std::vector<double> x, v;
  for (const auto& s : states) {
    const auto hx = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), s.x.view());
    const auto hv = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), s.v.view());
    for (std::size_t w = 0; w < hx.extent(0); ++w) {
      x.push_back(hx(w, 0));
      v.push_back(hv(w, 0));
    }
  }
  x.insert(x.end(), v.begin(), v.end());
  return x;
}

}  // namespace

int main(int argc, char** argv) {
  nabla::ScopeGuard runtime(argc, argv);
  nabla::examples::TaskGroupsOptions o;
  if (int rc = nabla::examples::parse(o, argc, argv); rc >= 0) return rc;
  const std::size_t W = o.walkers, steps = o.steps;
  const ns::DoubleWell pot;
  ns::BAOABParams params;
  params.gamma = 0.5;
  params.dt = 0.01;
  params.seed = o.seed;

  const std::size_t parts = std::min<std::size_t>(W, std::max(1, tasks::Space().concurrency()));
  auto per_walker = split_states(W, W), chunks = split_states(W, parts), whole = split_states(W, 1);

  Kokkos::Timer timer;
  tasks::sequential([&](tasks::Group& g) {
    g.bulk("nabla::examples::trajectory", W,
           [&](std::size_t i, const auto& s) { ns::baoab_advance(s, pot, params, per_walker[i], steps); });
  });
  const double t_tasks = timer.seconds();
  timer.reset();
  tasks::sequential([&](tasks::Group& g) {
    g.bulk("nabla::examples::chunk", parts,
           [&](std::size_t i, const auto& s) { ns::baoab_advance(s, pot, params, chunks[i], steps); });
  });
  const double t_bulk = timer.seconds();
  timer.reset();
  ns::baoab_advance(pot, params, whole[0], steps);
  Kokkos::fence();
  const double t_kernel = timer.seconds();

  const std::vector<double> a = gather(per_walker), b = gather(chunks), c = gather(whole);
  const std::string ca = nabla::examples::bits_checksum(a), cb = nabla::examples::bits_checksum(b),
                    cc = nabla::examples::bits_checksum(c);
  std::printf("ensemble: %zu walkers x %zu BAOAB steps in a double well, %d thread(s) (%s)\n", W, steps,
              tasks::Space().concurrency(), tasks::Space::name());
  std::printf("a task per trajectory: %9.3f ms  (%zu task(s))   final state %s\n", t_tasks * 1e3, W, ca.c_str());
  std::printf("a bulk of chunks:      %9.3f ms  (%zu task(s))   final state %s\n", t_bulk * 1e3, parts, cb.c_str());
  std::printf("one kernel:            %9.3f ms  (1 launch)     final state %s\n", t_kernel * 1e3, cc.c_str());
  std::printf("per-trajectory tasks / one kernel: %.1fx; chunks / one kernel: %.2fx\n", t_tasks / t_kernel,
              t_bulk / t_kernel);
  const bool same = ca == cc && cb == cc;
  nabla::io::make_directories(o.out);
  nabla::examples::Summary s;
  s.set("walkers", double(W));
  s.set("steps", double(steps));
  s.set("seconds_task_per_trajectory", t_tasks);
  s.set("seconds_bulk_chunks", t_bulk);
  s.set("seconds_one_kernel", t_kernel);
  s.set("same_bits", same ? 1.0 : 0.0);
  s.write(o.out + "/summary.json");
  if (!same) {
    std::fprintf(stderr, "09_task_groups: error: the three runs ended in different states\n");
    return 1;
  }
  std::printf("same bits all three ways\n");
  return 0;
}
