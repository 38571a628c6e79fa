// Consumes the installed package: an Array built through Nabla::nabla, checked against a host loop.
#include <nabla/core.hpp>

#include <cstdio>

int main(int argc, char** argv) {
  Kokkos::ScopeGuard kokkos(argc, argv);
  nabla::Array<double, 1> a({1000});
  auto v = a.view();
  Kokkos::parallel_for("consumer::iota", v.extent(0), KOKKOS_LAMBDA(int i) { v(i) = i; });
  double s = 0;
  Kokkos::parallel_reduce("consumer::sum", v.extent(0), KOKKOS_LAMBDA(int i, double& acc) { acc += v(i); }, s);
  std::printf("Nabla %s consumer: sum = %g (expected %g)\n", NABLA_VERSION_STRING, s, 999.0 * 1000 / 2);
  return s == 999.0 * 1000 / 2 ? 0 : 1;
}
