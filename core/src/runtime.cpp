#include <nabla/core/compat.hpp>
#include <nabla/core/runtime.hpp>

#include <Kokkos_Core.hpp>

#include <cstdlib>
#include <cstring>
#include <set>
#include <vector>

namespace nabla {

namespace {
bool is_help(const char* a) { return std::strcmp(a, "--help") == 0 || std::strcmp(a, "-h") == 0; }
}  // namespace

ScopeGuard::ScopeGuard(int& argc, char** argv) {
  compat::translate_kokkos_args(argc, argv);
  // Kokkos prints its help for --help as well as --kokkos-help: it sees every argument but the program's help.
  std::vector<char*> kokkos_args;
  for (int i = 0; i < argc; ++i)
    if (i == 0 || !is_help(argv[i])) kokkos_args.push_back(argv[i]);
  int kokkos_argc = int(kokkos_args.size());
  kokkos_args.push_back(nullptr);
  // Unset means unbound to the OpenMP runtime (read when it loaded); saying so keeps Kokkos from warning.
  if (!std::getenv("OMP_PROC_BIND")) setenv("OMP_PROC_BIND", "false", 0);
  Kokkos::initialize(kokkos_argc, kokkos_args.data());
  // What Kokkos left is the program's, in the original order, with the help flags it did not see.
  const std::set<char*> left(kokkos_args.begin() + 1, kokkos_args.begin() + kokkos_argc);
  int kept = 1;
  for (int i = 1; i < argc; ++i)
    if (is_help(argv[i]) || left.count(argv[i])) argv[kept++] = argv[i];
  for (int i = kept; i < argc; ++i) argv[i] = nullptr;
  argc = kept;
}

ScopeGuard::~ScopeGuard() {
  if (Kokkos::is_initialized()) Kokkos::finalize();
}

}  // namespace nabla
