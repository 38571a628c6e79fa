/// \file host_hints.hpp
/// \brief Hints to x86-64 host CPUs, which compile to plain code elsewhere: copies into memory that will not be
/// read again soon (a chain of samples, a trajectory) with non-temporal stores, and the pause (and yield) of a
/// spin-wait.
///
/// An ordinary store first reads the destination's cache line from memory, then writes it back when evicted:
/// two transfers per line, where a non-temporal store writes the line once and leaves the caches to the data
/// still in use. Host code only (x86-64 with SSE2, AVX or AVX-512; a plain loop elsewhere); call
/// stream_fence() before another thread reads what was copied.
#pragma once

#include <Kokkos_Macros.hpp>

#include <cstddef>
#include <cstdint>

#if !defined(__CUDA_ARCH__) && !defined(__HIP_DEVICE_COMPILE__) && defined(__unix__)
#include <sched.h>
#define NABLA_IMPL_HOST_YIELD 1
#else
#define NABLA_IMPL_HOST_YIELD 0
#endif

#if defined(__x86_64__) && !defined(__CUDA_ARCH__) && !defined(__HIP_DEVICE_COMPILE__)
#include <immintrin.h>
#define NABLA_IMPL_X86_HINTS 1
#else
#define NABLA_IMPL_X86_HINTS 0
#endif

namespace nabla {
namespace impl {

/// dst[i] = src[i] for i < n, the destination's aligned vectors stored around the caches.
KOKKOS_INLINE_FUNCTION void stream_copy(double* dst, const double* src, std::size_t n) {
#if NABLA_IMPL_X86_HINTS
#if defined(__AVX512F__)
  constexpr std::size_t V = 8;
#elif defined(__AVX__)
  constexpr std::size_t V = 4;
#else
  constexpr std::size_t V = 2;
#endif
  std::size_t i = 0;
  for (; i < n && reinterpret_cast<std::uintptr_t>(dst + i) % (V * sizeof(double)) != 0; ++i) dst[i] = src[i];
  for (; i + V <= n; i += V) {
#if defined(__AVX512F__)
    _mm512_stream_pd(dst + i, _mm512_loadu_pd(src + i));
#elif defined(__AVX__)
    _mm256_stream_pd(dst + i, _mm256_loadu_pd(src + i));
#else
    _mm_stream_pd(dst + i, _mm_loadu_pd(src + i));
#endif
  }
  for (; i < n; ++i) dst[i] = src[i];
#else
  for (std::size_t i = 0; i < n; ++i) dst[i] = src[i];
#endif
}

/// Orders the non-temporal stores of this thread before its later stores (and so before a barrier's).
KOKKOS_INLINE_FUNCTION void stream_fence() {
#if NABLA_IMPL_X86_HINTS
  _mm_sfence();
#endif
}

/// The body of a spin-wait on another thread: tells the core (and its sibling hyperthread) that it is waiting.
KOKKOS_INLINE_FUNCTION void spin_pause() {
#if NABLA_IMPL_X86_HINTS
  _mm_pause();
#endif
}

/// One round of a spin-wait that has run `round` rounds: a pause, and every 256th round the core offered to
/// another thread. When another process shares the cores, the thread waited for may be queued behind the waiter,
/// which would otherwise spin away its whole time slice.
KOKKOS_INLINE_FUNCTION void spin_wait(unsigned& round) {
#if NABLA_IMPL_HOST_YIELD
  if ((++round & 255u) == 0) {
    sched_yield();
    return;
  }
#else
  (void)round;
#endif
  spin_pause();
}

}  // namespace impl
}  // namespace nabla
