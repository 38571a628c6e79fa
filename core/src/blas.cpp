// Kokkos Kernels' gemm and gemv for impl::CompiledBlas (blas.hpp): the only file of Nabla that parses them.
#include <nabla/core/blas.hpp>

#include <KokkosBlas2_gemv.hpp>
#include <KokkosBlas3_gemm.hpp>
#include <KokkosKernels_config.h>

// Kokkos Kernels takes an execution space instance since 4.1; before, a call runs on the default instance, so it
// waits for `space` and the caller waits for it.
#if defined(KOKKOSKERNELS_VERSION) && KOKKOSKERNELS_VERSION >= 40100
#define NABLA_KOKKOS_KERNELS_ON_INSTANCES 1
#else
#define NABLA_KOKKOS_KERNELS_ON_INSTANCES 0
#endif

namespace nabla::impl {

namespace {
// Host BLAS on the instance's threads (one for a small call), not the whole pool's.
template <class Exec>
struct BlasThreads {
  BlasThreads(const Exec&, std::size_t) {}
};
#if defined(KOKKOS_ENABLE_OPENMP)
template <>
struct BlasThreads<Kokkos::OpenMP> : HostBlasThreads {
  BlasThreads(const Kokkos::OpenMP& space, std::size_t work) : HostBlasThreads(work, space.concurrency()) {}
};
#endif
}  // namespace

template <class Exec, class T, class Layout>
void CompiledBlas<Exec, T, Layout>::gemm(const Exec& space, char ta, char tb, T alpha, const view<const T**>& a,
                                         const view<const T**>& b, T beta, const view<T**>& c) {
  const char tas[2] = {ta, 0}, tbs[2] = {tb, 0};
  const BlasThreads<Exec> threads(space, c.extent(0) * c.extent(1) * (ta == 'T' ? a.extent(0) : a.extent(1)));
#if NABLA_KOKKOS_KERNELS_ON_INSTANCES
  KokkosBlas::gemm(space, tas, tbs, alpha, a, b, beta, c);
#else
  space.fence();
  KokkosBlas::gemm(tas, tbs, alpha, a, b, beta, c);
  Exec().fence();
#endif
}

template <class Exec, class T, class Layout>
void CompiledBlas<Exec, T, Layout>::gemv(const Exec& space, char t, T alpha, const view<const T**>& a,
                                         const view<const T*>& x, T beta, const view<T*>& y) {
  const char ts[2] = {t, 0};
  const BlasThreads<Exec> threads(space, a.extent(0) * a.extent(1));
#if NABLA_KOKKOS_KERNELS_ON_INSTANCES
  KokkosBlas::gemv(space, ts, alpha, a, x, beta, y);
#else
  space.fence();
  KokkosBlas::gemv(ts, alpha, a, x, beta, y);
  Exec().fence();
#endif
}

template struct CompiledBlas<Kokkos::DefaultExecutionSpace, float, Kokkos::LayoutLeft>;
template struct CompiledBlas<Kokkos::DefaultExecutionSpace, float, Kokkos::LayoutRight>;
template struct CompiledBlas<Kokkos::DefaultExecutionSpace, double, Kokkos::LayoutLeft>;
template struct CompiledBlas<Kokkos::DefaultExecutionSpace, double, Kokkos::LayoutRight>;
#if defined(KOKKOS_ENABLE_CUDA) || defined(KOKKOS_ENABLE_HIP) || defined(KOKKOS_ENABLE_SYCL)
static_assert(!std::is_same<Kokkos::DefaultExecutionSpace, Kokkos::DefaultHostExecutionSpace>::value);
template struct CompiledBlas<Kokkos::DefaultHostExecutionSpace, float, Kokkos::LayoutLeft>;
template struct CompiledBlas<Kokkos::DefaultHostExecutionSpace, float, Kokkos::LayoutRight>;
template struct CompiledBlas<Kokkos::DefaultHostExecutionSpace, double, Kokkos::LayoutLeft>;
template struct CompiledBlas<Kokkos::DefaultHostExecutionSpace, double, Kokkos::LayoutRight>;
#else
static_assert(std::is_same<Kokkos::DefaultExecutionSpace, Kokkos::DefaultHostExecutionSpace>::value,
              "nabla: a device backend Nabla does not know: instantiate CompiledBlas for its host space here");
#endif

}  // namespace nabla::impl
