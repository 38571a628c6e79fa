/// \file bench_util.hpp
/// \brief Helpers shared by Nabla's benchmarks: timing a fenced Kokkos region as manual time.
#pragma once

#include <Kokkos_Core.hpp>
#include <benchmark/benchmark.h>

#include <cstdint>

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

/// Sets the bytes/s counter from the bytes one call of the benchmarked body must move.
inline void set_bytes(benchmark::State& state, std::int64_t bytes_per_call) {
  state.SetBytesProcessed(state.iterations() * bytes_per_call);
}

}  // namespace bench
}  // namespace nabla
