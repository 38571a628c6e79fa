// Rank 1 throws while rank 0 waits in a collective: the job must end, non-zero, naming rank 1.
#include <nabla/core/mpi.hpp>
#include <nabla/core/runtime.hpp>

#include <Kokkos_Core.hpp>

#include <stdexcept>

int main(int argc, char** argv) {
  nabla::mpi::Environment mpi(argc, argv);
  nabla::ScopeGuard runtime(argc, argv);
  nabla::mpi::Comm comm;
  return nabla::mpi::run_or_abort(comm, [&] {
    if (comm.rank() == 1) throw std::runtime_error("deliberate failure for the test");
    comm.barrier();  // without the abort, rank 0 would wait here forever
  });
}
