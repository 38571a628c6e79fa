// One main for every benchmark executable: Kokkos outlives all benchmarks; `--kokkos-*` arguments reach it.
//
// `--busy`: a competing process spins on one core while the benchmarks run (a forked child pinned to the first
// core this process may use, killed at the end, and with this process if it dies), as on a laptop, login node or
// CI runner that other work shares. Pinned, so that a run does not depend on where the scheduler puts it. perf/check.py
// times the busy.* workloads this way with one thread and with all.
#include <nabla/core/runtime.hpp>

#include <Kokkos_Core.hpp>
#include <benchmark/benchmark.h>

#include <csignal>
#include <cstring>
#include <string>

#include <sched.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

// Forks the spinning child; before Kokkos starts its threads, so the child is a copy of one thread only.
pid_t start_competitor() {
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(0);  // the parent died before prctl
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) == 0) {
      for (int c = 0; c < CPU_SETSIZE; ++c)
        if (CPU_ISSET(c, &allowed)) {
          cpu_set_t one;
          CPU_ZERO(&one);
          CPU_SET(c, &one);
          sched_setaffinity(0, sizeof one, &one);
          break;
        }
    }
    volatile unsigned long spins = 0;
    for (;;) {
      const unsigned long n = spins;
      spins = n + 1;
    }
  }
  return pid;
}

}  // namespace

int main(int argc, char** argv) {
  bool busy = false;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--busy") == 0)
      busy = true;
    else
      argv[kept++] = argv[i];
  }
  argc = kept;
  const pid_t competitor = busy ? start_competitor() : -1;
  int status = 0;
  {
    nabla::ScopeGuard runtime(argc, argv);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
      status = 1;
    } else {
      benchmark::AddCustomContext("kokkos_execution_space", Kokkos::DefaultExecutionSpace::name());
      benchmark::AddCustomContext("kokkos_concurrency", std::to_string(Kokkos::DefaultExecutionSpace().concurrency()));
      benchmark::AddCustomContext("competing_process", busy ? "one spinning core" : "none");
      benchmark::RunSpecifiedBenchmarks();
      benchmark::Shutdown();
    }
  }
  if (competitor > 0) {
    kill(competitor, SIGKILL);
    waitpid(competitor, nullptr, 0);
  }
  return status;
}
