# sampling benchmarks: BAOAB ensembles vs vectorised NumPy and vs a hand-written OpenMP loop with the same RNG,
# the stretch move vs emcee (vectorize=True), HMC vs the stretch move in effective samples per evaluation
# and HMC's batched (tape) vs per-chain (dual) gradients on a logistic regression (hmc_benchmark.cpp). The Python peers run from the same executable through /usr/bin/python3 (Debian's numpy
# and emcee), so perf/baseline.json's sampling.* ratios come from one run; a peer whose modules are missing is
# skipped with an error message, never a crash.
nabla_add_benchmark(sampling ${CMAKE_CURRENT_LIST_DIR}/sampling_benchmark.cpp ${CMAKE_CURRENT_LIST_DIR}/hmc_benchmark.cpp)
target_link_libraries(nabla_perf_sampling PRIVATE OpenMP::OpenMP_CXX)
target_compile_definitions(nabla_perf_sampling PRIVATE NABLA_SAMPLING_PEERS="${CMAKE_CURRENT_LIST_DIR}"
  NABLA_EXAMPLES_DATA="${PROJECT_SOURCE_DIR}/examples/data")
# The logistic regression model of 08_hmc (examples/common/logistic.hpp), batched and per chain.
target_include_directories(nabla_perf_sampling PRIVATE ${PROJECT_SOURCE_DIR}/examples/common)
