/// \file runtime.hpp
/// \brief nabla::ScopeGuard: Kokkos initialised for a Nabla program, finalised at the end of its scope.
#pragma once

namespace nabla {

/// \brief Initialises Kokkos from the command line and finalises it when it goes out of scope.
///
/// Kokkos' own options (`--kokkos-num-threads=N`, `--kokkos-device-id=N`, ...) reach Kokkos and are removed from
/// argv, as with `Kokkos::ScopeGuard`. Two differences: `--help` and `-h` stay the program's (Kokkos lists its
/// options only under `--kokkos-help`), and host threads are left unbound unless `OMP_PROC_BIND` says otherwise
/// (the OpenMP runtime's own default, which suits machines shared with other work), without Kokkos' warning about
/// the unset variable. A thread count (`--kokkos-num-threads=N`, `KOKKOS_NUM_THREADS`) that is not a whole number
/// from 1 to 512 ends the program with exit status 2 and one line naming it, before Kokkos sees it.
/// Not copyable; one per program.
class ScopeGuard {
 public:
  ScopeGuard(int& argc, char** argv);
  ~ScopeGuard();
  ScopeGuard(const ScopeGuard&) = delete;
  ScopeGuard& operator=(const ScopeGuard&) = delete;
};

/// The line a program's `--help` ends with.
inline constexpr const char* kokkos_help_hint = "Kokkos' options (threads, device, tools): --kokkos-help";

}  // namespace nabla
