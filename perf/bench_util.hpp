/// \file bench_util.hpp
/// \brief Helpers shared by Nabla's benchmarks: timing a fenced Kokkos region as manual time.
#pragma once

#include <Kokkos_Core.hpp>
#include <benchmark/benchmark.h>

#include <cstdint>
#include <map>
#include <memory>
#include <tuple>

namespace nabla {
namespace bench {

/// Runs `body` once per benchmark iteration, fenced, and reports the fenced wall time as manual time.
template <class Body>
void time_fenced(benchmark::State& state, Body&& body) {
  body();  // warm-up: first touch, page faults and lazy initialisation stay out of the timing
  Kokkos::fence();
  for (auto _ : state) {
    Kokkos::Timer timer;
    body();
    Kokkos::fence();
    state.SetIterationTime(timer.seconds());
  }
}

/// The inputs `T(args...)` of a benchmark, built on its first call with these arguments and kept until Kokkos
/// finalizes. Google Benchmark calls a benchmark once to size its iteration count and once per repetition:
/// building arrays of 2^24 elements each time (allocation, first touch, random fill) took 2 s of a 2.2 s call.
/// Only for inputs the benchmark reads or overwrites whole, so every call times the same work.
template <class T, class... Args>
T& kept(const Args&... args) {
  static std::map<std::tuple<Args...>, std::unique_ptr<T>> made = [] {
    Kokkos::push_finalize_hook([] { made.clear(); });  // Views must go before Kokkos does
    return std::map<std::tuple<Args...>, std::unique_ptr<T>>{};
  }();
  auto& slot = made[std::tuple<Args...>(args...)];
  if (!slot) slot = std::make_unique<T>(args...);
  return *slot;
}

/// Sets the bytes/s counter from the bytes one call of the benchmarked body must move.
inline void set_bytes(benchmark::State& state, std::int64_t bytes_per_call) {
  state.SetBytesProcessed(state.iterations() * bytes_per_call);
}

}  // namespace bench
}  // namespace nabla
