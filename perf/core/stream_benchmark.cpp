// STREAM copy and triad in plain Kokkos: the bandwidth reference every memory-bound ratio is taken against.
#include "../bench_util.hpp"

namespace {

constexpr int kDefaultLog2N = 24;

struct Copy {
  Kokkos::View<double*> a, b;
  KOKKOS_INLINE_FUNCTION void operator()(std::int64_t i) const { a(i) = b(i); }
};
struct Triad {
  Kokkos::View<double*> a, b, c;
  double s;
  KOKKOS_INLINE_FUNCTION void operator()(std::int64_t i) const { a(i) = b(i) + s * c(i); }
};

struct Streams {
  explicit Streams(std::int64_t n) : a("a", n), b("b", n), c("c", n) {
    Kokkos::deep_copy(b, 1.0);
    Kokkos::deep_copy(c, 2.0);
  }
  Kokkos::View<double*> a, b, c;
};

void BM_StreamCopy(benchmark::State& state) {
  const std::int64_t n = std::int64_t(1) << state.range(0);
  const auto& v = nabla::bench::kept<Streams>(n);
  nabla::bench::time_fenced(state, [&] {
    Kokkos::parallel_for("nabla::perf::stream_copy", n, Copy{v.a, v.b});
  });
  nabla::bench::set_bytes(state, 2 * n * std::int64_t(sizeof(double)));
}

void BM_StreamTriad(benchmark::State& state) {
  const std::int64_t n = std::int64_t(1) << state.range(0);
  const auto& v = nabla::bench::kept<Streams>(n);
  const double s = 3.0;
  nabla::bench::time_fenced(state, [&] {
    Kokkos::parallel_for("nabla::perf::stream_triad", n, Triad{v.a, v.b, v.c, s});
  });
  nabla::bench::set_bytes(state, 3 * n * std::int64_t(sizeof(double)));
}

}  // namespace

BENCHMARK(BM_StreamCopy)->Arg(kDefaultLog2N)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_StreamTriad)->Arg(kDefaultLog2N)->UseManualTime()->Unit(benchmark::kMillisecond);
