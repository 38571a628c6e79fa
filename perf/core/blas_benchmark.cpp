// gemm through Kokkos Kernels with OpenBLAS underneath (what nabla::gemm calls on the host) against Kokkos
// Kernels' own native kernel on the same data: the measurement behind choosing OpenBLAS as host BLAS.
#include "../bench_util.hpp"

#include <nabla/core.hpp>

#include <KokkosBlas3_gemm.hpp>

namespace {

using Mat = nabla::Array<double, 2>;

struct Gemm {
  explicit Gemm(std::size_t n) : a({n, n}), b({n, n}), c({n, n}) {
    nabla::assign(a, nabla::random::uniform_expr<double>(nabla::random::key(1), a.shape()));
    nabla::assign(b, nabla::random::uniform_expr<double>(nabla::random::key(2), b.shape()));
  }
  Mat a, b, c;
};

void set_flops(benchmark::State& state, std::int64_t n) {
  state.SetItemsProcessed(state.iterations() * 2 * n * n * n);
  state.counters["flops"] = benchmark::Counter(double(state.iterations()) * 2.0 * n * n * n,
                                               benchmark::Counter::kIsRate);
}

void BM_GemmOpenBLAS(benchmark::State& state) {
  const auto n = state.range(0);
  Gemm g{std::size_t(n)};
  nabla::bench::time_fenced(state, [&] { nabla::gemm('N', 'N', 1.0, g.a, g.b, 0.0, g.c); });
  set_flops(state, n);
}

void BM_GemmKokkosNative(benchmark::State& state) {
  const auto n = state.range(0);
  Gemm g{std::size_t(n)};
  // LayoutStride views over the same memory: no BLAS library takes them, so KokkosBlas::gemm runs Kokkos
  // Kernels' own kernel (instantiated here) on what nabla::gemm hands to OpenBLAS.
  using Dev = Mat::view_type::device_type;
  using AV = Kokkos::View<const double**, Kokkos::LayoutStride, Dev>;
  using CV = Kokkos::View<double**, Kokkos::LayoutStride, Dev>;
  const auto strided = [](auto& m) {
    return Kokkos::LayoutStride(m.extent(0), 1, m.extent(1), m.extent(0));
  };
  AV a(g.a.view().data(), strided(g.a)), b(g.b.view().data(), strided(g.b));
  CV c(g.c.view().data(), strided(g.c));
  nabla::bench::time_fenced(state, [&] { KokkosBlas::gemm("N", "N", 1.0, a, b, 0.0, c); });
  set_flops(state, n);
}

}  // namespace

BENCHMARK(BM_GemmOpenBLAS)->Arg(512)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GemmKokkosNative)->Arg(512)->UseManualTime()->Unit(benchmark::kMillisecond);
