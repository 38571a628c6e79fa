/// \file compat.hpp
/// \brief The one place where Kokkos 3.4 and Kokkos 4.x spellings differ (and where Kokkos::Impl may be named).
///
/// Everything else in Nabla spells Kokkos through these names, so supporting another Kokkos release means
/// editing this file only.
#pragma once

#include <Kokkos_Core.hpp>

#include <string>

#ifndef KOKKOS_VERSION
#error "nabla: KOKKOS_VERSION is not defined; is Kokkos_Core.hpp the Kokkos 3.4+ header?"
#endif

/// Marks a loop over independent lanes (walkers, elements) that CPUs should vectorise whatever their cost
/// model says, and whose iterations may be reordered (no loop-carried dependence, no aliasing between what
/// one lane writes and another reads). Empty on GPUs.
#if defined(_OPENMP) && !defined(__CUDA_ARCH__) && !defined(__HIP_DEVICE_COMPILE__)
#define NABLA_SIMD _Pragma("omp simd")
#else
#define NABLA_SIMD
#endif

namespace nabla {
namespace compat {

// Math functions moved from Kokkos::Experimental to Kokkos in 3.6 (and left Experimental in 4.x).
#if KOKKOS_VERSION >= 30600
namespace kmath = ::Kokkos;
#else
namespace kmath = ::Kokkos::Experimental;
#endif

#if defined(KOKKOS_ENABLE_HIP)
// HIP left Kokkos::Experimental in 4.0.
#if KOKKOS_VERSION >= 40000
using HIP = ::Kokkos::HIP;
#else
using HIP = ::Kokkos::Experimental::HIP;
#endif
#endif

#if defined(KOKKOS_ENABLE_OPENMP)
/// OpenMP instances of fewer threads than the pool exist from 4.0; before, the backend also keeps per-thread
/// state in thread-locals, so the OpenMP runtime's threads must not be released and restarted either.
inline constexpr bool openmp_sized_instances = KOKKOS_VERSION >= 40000;

/// An OpenMP instance of `threads` threads, sharing the process's pool (4.0+); before 4.0, the default instance.
inline Kokkos::OpenMP openmp_instance(int threads) {
#if KOKKOS_VERSION >= 40000
  return Kokkos::OpenMP(threads);
#else
  (void)threads;
  return Kokkos::OpenMP();
#endif
}

/// Whether `space` is the default instance, every thread of the pool (before 4.0 every instance is). Not by
/// comparing with Kokkos::OpenMP(), whose construction allocates.
inline bool is_default_instance(const Kokkos::OpenMP& space) {
#if KOKKOS_VERSION >= 40000
  return space.impl_internal_space_instance() == &Kokkos::Impl::OpenMPInternal::singleton();
#else
  (void)space;
  return true;
#endif
}
#endif

/// RAII profiling region (Kokkos::Profiling::ScopedRegion exists only from 4.1). Costs nothing, and
/// allocates nothing, unless a Kokkos Tools library is loaded.
class Region {
 public:
  explicit Region(const char* name) : m_on(Kokkos::Tools::profileLibraryLoaded()) {
    if (m_on) Kokkos::Profiling::pushRegion(name);
  }
  ~Region() {
    if (m_on) Kokkos::Profiling::popRegion();
  }
  Region(const Region&) = delete;
  Region& operator=(const Region&) = delete;

 private:
  bool m_on;
};

/// Rewrites `--kokkos-num-threads=N` (the 4.x spelling) to `--kokkos-threads=N` for Kokkos before 3.7, so
/// drivers document one spelling. Call before Kokkos::initialize; argv keeps pointing at valid strings.
inline void translate_kokkos_args(int argc, char** argv) {
#if KOKKOS_VERSION < 30700
  static std::string storage[8];
  int used = 0;
  const std::string from = "--kokkos-num-threads=";
  for (int i = 1; i < argc && used < 8; ++i) {
    const std::string a = argv[i];
    if (a.compare(0, from.size(), from) == 0) {
      storage[used] = "--kokkos-threads=" + a.substr(from.size());
      argv[i] = &storage[used][0];
      ++used;
    }
  }
#else
  (void)argc;
  (void)argv;
#endif
}

}  // namespace compat
}  // namespace nabla
