# dist benchmarks: run under mpirun with 2 ranks x 1 thread by perf/check.py (--mpi-exe), so their ratios come
# from one job; the mpi4py + NumPy peer is launched from the same executable (Debian's python3-mpi4py).
if(NABLA_ENABLE_MPI)
  add_executable(nabla_perf_dist ${CMAKE_CURRENT_LIST_DIR}/dist_benchmark.cpp)
  target_link_libraries(nabla_perf_dist PRIVATE Nabla::nabla benchmark::benchmark)
  target_compile_definitions(nabla_perf_dist PRIVATE NABLA_DIST_PEERS="${CMAKE_CURRENT_LIST_DIR}"
                                                     NABLA_MPIEXEC="${MPIEXEC_EXECUTABLE}")
  set_property(GLOBAL APPEND PROPERTY NABLA_PERF_MPI_EXECUTABLES nabla_perf_dist)
endif()
