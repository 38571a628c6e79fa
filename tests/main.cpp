// One main for every test executable: Kokkos lives for the whole run, `--kokkos-*` arguments reach it.
#include <nabla/config.hpp>

#include <nabla/core/runtime.hpp>

#include <Kokkos_Core.hpp>
#include <gtest/gtest.h>

#include <iostream>

int main(int argc, char** argv) {
  nabla::ScopeGuard runtime(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  std::cout << "Nabla " << NABLA_VERSION_STRING << " tests; Kokkos devices compiled in: " << NABLA_KOKKOS_DEVICES
            << "; default execution space: " << Kokkos::DefaultExecutionSpace::name()
            << ", concurrency " << Kokkos::DefaultExecutionSpace().concurrency() << "\n";
  Kokkos::print_configuration(std::cout);
  return RUN_ALL_TESTS();
}
