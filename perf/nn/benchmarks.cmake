# nn benchmarks: Nabla's MLP training and inference against libtorch's C++ API (same model, batch, float32
# and thread count) in ONE executable, so perf/baseline.json's nn.*_vs_libtorch ratios come from one run.
# Without libtorch (Debian: libtorch-dev) the Nabla half still builds and runs.
set(_nabla_nn_bench ${CMAKE_CURRENT_LIST_DIR}/nn_benchmark.cpp)
find_package(Torch QUIET)
if(Torch_FOUND)
  list(APPEND _nabla_nn_bench ${CMAKE_CURRENT_LIST_DIR}/torch_benchmark.cpp)
endif()
nabla_add_benchmark(nn ${_nabla_nn_bench})
if(Torch_FOUND)
  target_link_libraries(nabla_perf_nn PRIVATE ${TORCH_LIBRARIES})
  message(STATUS "Nabla: nn benchmarks compare against libtorch ${Torch_VERSION}")
else()
  message(STATUS "Nabla: libtorch not found: nn benchmarks run without their libtorch baselines")
endif()
