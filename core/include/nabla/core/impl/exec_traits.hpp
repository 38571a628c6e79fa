/// \file exec_traits.hpp
/// \brief The one place where Nabla's kernels choose their shape per Kokkos backend.
///
/// `ExecTraits<ExecSpace>` is declared, not defined: a backend without a specialisation here does not compile
/// until someone chooses its values (a silent host default would run a GPU 16 lanes per thread, or a new CPU
/// backend one). Kernels read the traits of the execution space they launch on.
#pragma once

#include <nabla/core/compat.hpp>

#include <cstddef>

namespace nabla {
namespace impl {

template <class ExecSpace>
struct ExecTraits;

/// CPUs: many lanes per thread, which the compiler keeps in vector registers.
struct HostExecTraits {
  /// Independent elements (walkers, dual-number elements) one work item handles in lane loops. Their random
  /// numbers and arithmetic vectorise across lanes, and independent dependency chains hide each other's
  /// latency: for BAOAB 16 is 14 % faster than 8 on AVX-512, 32 no better within noise.
  static constexpr int lanes = 16;
  /// Elements one work item of a flat reduction folds into independent partial results (a scalar loop
  /// otherwise waits on one add's latency per element).
  static constexpr int reduce_unroll = 16;
  /// Strided assignments run one row of the fastest dimension per work item, whose loop vectorises.
  static constexpr bool row_kernels = true;
  /// Elements of a row staged at once for an operand read with another stride along the row (GCC versions
  /// loops for unit strides only): 128 doubles stay in L1 next to the row.
  static constexpr std::size_t row_block = 128;
  /// Rows shorter than this run element-wise: a vector loop's set-up costs more than it saves.
  static constexpr std::size_t row_min_length = 8;
};

/// GPUs: one element per thread; coalescing comes from neighbouring threads, not from lanes within one.
struct DeviceExecTraits {
  static constexpr int lanes = 1;
  static constexpr int reduce_unroll = 1;
  static constexpr bool row_kernels = false;
  static constexpr std::size_t row_block = 0;
  static constexpr std::size_t row_min_length = 0;
};

#if defined(KOKKOS_ENABLE_SERIAL)
template <>
struct ExecTraits<Kokkos::Serial> : HostExecTraits {};
#endif
#if defined(KOKKOS_ENABLE_OPENMP)
template <>
struct ExecTraits<Kokkos::OpenMP> : HostExecTraits {};
#endif
#if defined(KOKKOS_ENABLE_THREADS)
template <>
struct ExecTraits<Kokkos::Threads> : HostExecTraits {};
#endif
#if defined(KOKKOS_ENABLE_CUDA)
template <>
struct ExecTraits<Kokkos::Cuda> : DeviceExecTraits {};
#endif
#if defined(KOKKOS_ENABLE_HIP)
template <>
struct ExecTraits<compat::HIP> : DeviceExecTraits {};
#endif

}  // namespace impl
}  // namespace nabla
