// The reference of the compile ratio: a Kokkos program of one kernel and one reduction, with the same flags.
#include <Kokkos_Core.hpp>

int main(int argc, char** argv) {
  Kokkos::ScopeGuard guard(argc, argv);
  Kokkos::View<double*> x("x", 1000);
  Kokkos::parallel_for("fill", x.extent(0), KOKKOS_LAMBDA(int i) { x(i) = 0.5 * i; });
  double s = 0;
  Kokkos::parallel_reduce("sum", x.extent(0), KOKKOS_LAMBDA(int i, double& acc) { acc += x(i); }, s);
  return s > 0 ? 0 : 1;
}
