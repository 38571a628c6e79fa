// Must not compile: a distributed expression reduced by core's sum (which would see one rank's block only).
#include <nabla/dist.hpp>

int main(int argc, char** argv) {
  nabla::mpi::Environment mpi(argc, argv);
  nabla::ScopeGuard runtime(argc, argv);
  nabla::dist::Grid grid{nabla::mpi::Comm()};
  auto a = nabla::dist::zeros<double, 1>(nabla::dist::Partition<1>(grid, {8}, {0}));
  return int(nabla::sum(2.0 * a));
}
