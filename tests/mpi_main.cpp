// Main for tests run under mpirun: MPI outlives Kokkos, rank 0 prints, the exit code is the worst rank's.
#include <nabla/core/mpi.hpp>

#include <nabla/core/runtime.hpp>

#include <Kokkos_Core.hpp>
#include <gtest/gtest.h>

int main(int argc, char** argv) {
  nabla::mpi::Environment mpi(argc, argv);
  int rc = 0;
  {
    nabla::ScopeGuard runtime(argc, argv);
    ::testing::InitGoogleTest(&argc, argv);
    nabla::mpi::Comm comm;
    if (comm.rank() != 0) {
      auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
      delete listeners.Release(listeners.default_result_printer());
    }
    comm.print("MPI tests on ", comm.size(), " ranks; Kokkos ", Kokkos::DefaultExecutionSpace::name(), "\n");
    rc = comm.allreduce(RUN_ALL_TESTS(), nabla::mpi::Op::max);
  }
  return rc;
}
