// One main for every benchmark executable: Kokkos outlives all benchmarks; `--kokkos-*` arguments reach it.
#include <nabla/core/runtime.hpp>

#include <Kokkos_Core.hpp>
#include <benchmark/benchmark.h>

int main(int argc, char** argv) {
  nabla::ScopeGuard runtime(argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("kokkos_execution_space", Kokkos::DefaultExecutionSpace::name());
  benchmark::AddCustomContext("kokkos_concurrency", std::to_string(Kokkos::DefaultExecutionSpace().concurrency()));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
