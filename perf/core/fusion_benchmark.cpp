// Fused broadcast expressions vs the STREAM triad, vs op-by-op evaluation with temporaries, vs Eigen's
// expression templates (same threads, same data), fused reductions, and the launch overhead of an assign.
#include "../bench_util.hpp"

#include <nabla/core.hpp>

#include <Eigen/Core>
#include <omp.h>

namespace {

constexpr int kLog2N = 24;
using Vec = nabla::Array<double, 1>;

struct Inputs {
  explicit Inputs(std::int64_t n) : a({std::size_t(n)}), b({std::size_t(n)}), c({std::size_t(n)}), d({std::size_t(n)}), out({std::size_t(n)}) {
    const auto key = nabla::random::key(1);
    nabla::assign(a, nabla::random::uniform_expr<double>(nabla::random::split(key, 0), a.shape()) + 0.5);
    nabla::assign(b, nabla::random::uniform_expr<double>(nabla::random::split(key, 1), b.shape()) + 0.5);
    nabla::assign(c, nabla::random::uniform_expr<double>(nabla::random::split(key, 2), c.shape()) + 0.5);
    nabla::assign(d, nabla::random::uniform_expr<double>(nabla::random::split(key, 3), d.shape()) + 0.5);
  }
  Vec a, b, c, d, out;
};

struct Temporaries {
  explicit Temporaries(std::int64_t n)
      : t1({std::size_t(n)}), t2({std::size_t(n)}), t3({std::size_t(n)}), t4({std::size_t(n)}) {}
  Vec t1, t2, t3, t4;
};

std::int64_t n_of(const benchmark::State& state) { return std::int64_t(1) << state.range(0); }
constexpr std::int64_t kDouble = sizeof(double);

void BM_Fused1(benchmark::State& state) {
  const auto n = n_of(state);
  auto& in = nabla::bench::kept<Inputs>(n);
  nabla::bench::time_fenced(state, [&] { nabla::assign(in.out, in.a + in.b); });
  nabla::bench::set_bytes(state, 3 * n * kDouble);
}

void BM_Fused4(benchmark::State& state) {
  const auto n = n_of(state);
  auto& in = nabla::bench::kept<Inputs>(n);
  nabla::bench::time_fenced(state, [&] { nabla::assign(in.out, (in.a + in.b) * in.c - in.d * in.a); });
  nabla::bench::set_bytes(state, 5 * n * kDouble);
}

// 8 arithmetic operations over 4 inputs: + - * * * - * +
#define NABLA_FUSED8(a, b, c, d) ((a + b) * (c - d) + (a * c - b * d) * a)

void BM_Fused8(benchmark::State& state) {
  const auto n = n_of(state);
  auto& in = nabla::bench::kept<Inputs>(n);
  nabla::bench::time_fenced(state, [&] { nabla::assign(in.out, NABLA_FUSED8(in.a, in.b, in.c, in.d)); });
  nabla::bench::set_bytes(state, 5 * n * kDouble);
}

// The same 8 operations one kernel each, through preallocated temporaries (NumPy's evaluation order).
void BM_Unfused8(benchmark::State& state) {
  const auto n = n_of(state);
  auto& in = nabla::bench::kept<Inputs>(n);
  auto& t = nabla::bench::kept<Temporaries>(n);
  nabla::bench::time_fenced(state, [&] {
    nabla::assign(t.t1, in.a + in.b);
    nabla::assign(t.t2, in.c - in.d);
    nabla::assign(t.t1, t.t1 * t.t2);
    nabla::assign(t.t3, in.a * in.c);
    nabla::assign(t.t4, in.b * in.d);
    nabla::assign(t.t3, t.t3 - t.t4);
    nabla::assign(t.t3, t.t3 * in.a);
    nabla::assign(in.out, t.t1 + t.t3);
  });
  nabla::bench::set_bytes(state, 5 * n * kDouble);  // the bytes the expression needs, not what this moves
}

// Eigen's expression templates, one contiguous segment per OpenMP thread (Eigen alone runs one thread).
template <class Body>
void eigen_parallel(std::int64_t n, Body&& body) {
#pragma omp parallel
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    const std::int64_t lo = n * t / nt, hi = n * (t + 1) / nt;
    body(lo, hi - lo);
  }
}

using EMap = Eigen::Map<Eigen::ArrayXd>;

void BM_EigenFused8(benchmark::State& state) {
  const auto n = n_of(state);
  auto& in = nabla::bench::kept<Inputs>(n);
  EMap a(in.a.data(), n), b(in.b.data(), n), c(in.c.data(), n), d(in.d.data(), n), out(in.out.data(), n);
  nabla::bench::time_fenced(state, [&] {
    eigen_parallel(n, [&](std::int64_t lo, std::int64_t len) {
      auto sa = a.segment(lo, len), sb = b.segment(lo, len), sc = c.segment(lo, len), sd = d.segment(lo, len);
      out.segment(lo, len) = NABLA_FUSED8(sa, sb, sc, sd);
    });
  });
  nabla::bench::set_bytes(state, 5 * n * kDouble);
}

void BM_Transcendental(benchmark::State& state) {
  const auto n = n_of(state);
  auto& in = nabla::bench::kept<Inputs>(n);
  nabla::bench::time_fenced(state, [&] {
    nabla::assign(in.out, nabla::exp(in.a) * nabla::sin(in.b) + nabla::tanh(in.c));
  });
  nabla::bench::set_bytes(state, 4 * n * kDouble);
}

void BM_EigenTranscendental(benchmark::State& state) {
  const auto n = n_of(state);
  auto& in = nabla::bench::kept<Inputs>(n);
  EMap a(in.a.data(), n), b(in.b.data(), n), c(in.c.data(), n), out(in.out.data(), n);
  nabla::bench::time_fenced(state, [&] {
    eigen_parallel(n, [&](std::int64_t lo, std::int64_t len) {
      out.segment(lo, len) = a.segment(lo, len).exp() * b.segment(lo, len).sin() + c.segment(lo, len).tanh();
    });
  });
  nabla::bench::set_bytes(state, 4 * n * kDouble);
}

void BM_SumProduct(benchmark::State& state) {
  const auto n = n_of(state);
  auto& in = nabla::bench::kept<Inputs>(n);
  double s = 0;
  nabla::bench::time_fenced(state, [&] { s += nabla::sum(in.a * in.b); });
  benchmark::DoNotOptimize(s);
  nabla::bench::set_bytes(state, 2 * n * kDouble);
}

// Launch overhead: a 1-element fused assign against an empty Kokkos parallel_for, per call.
void BM_Assign1(benchmark::State& state) {
  Vec a({1}), b({1}), out({1});
  for (auto _ : state) {
    nabla::assign(out, a * 2.0 + b);
    Kokkos::fence();
  }
  state.SetItemsProcessed(state.iterations());
}

struct MatrixAndVector {
  MatrixAndVector(std::size_t side, bool column)
      : a(nabla::random::uniform<double, 2>(nabla::random::key(5), {side, side})),
        v(nabla::random::uniform<double, 2>(nabla::random::split(nabla::random::key(5), 1),
                                            column ? nabla::Shape<2>{side, 1} : nabla::Shape<2>{1, side})),
        out({side, side}) {}
  nabla::Array<double, 2> a, v, out;
};

// A matrix plus a column (or row) vector: the vector broadcasts with stride 0, so the flat path does not
// apply; the kernel should still stream like the flat a + b (2 streams of n instead of 3).
void BM_BroadcastVector(benchmark::State& state) {
  const std::size_t side = std::size_t(1) << (state.range(0) / 2);
  auto& m = nabla::bench::kept<MatrixAndVector>(side, state.range(1) == 0);
  nabla::bench::time_fenced(state, [&] { nabla::assign(m.out, m.a + m.v); });
  nabla::bench::set_bytes(state, 2 * std::int64_t(side * side) * kDouble);
}

struct Empty {
  KOKKOS_INLINE_FUNCTION void operator()(int) const {}
};

void BM_EmptyParallelFor(benchmark::State& state) {
  for (auto _ : state) {
    Kokkos::parallel_for("nabla::perf::empty", Kokkos::RangePolicy<>(0, 1), Empty{});
    Kokkos::fence();
  }
  state.SetItemsProcessed(state.iterations());
}

}  // namespace

#define NABLA_BW(fn) BENCHMARK(fn)->Arg(kLog2N)->UseManualTime()->Unit(benchmark::kMillisecond)
NABLA_BW(BM_Fused1);
NABLA_BW(BM_Fused4);
NABLA_BW(BM_Fused8);
NABLA_BW(BM_Unfused8);
NABLA_BW(BM_EigenFused8);
NABLA_BW(BM_Transcendental);
NABLA_BW(BM_EigenTranscendental);
NABLA_BW(BM_SumProduct);
BENCHMARK(BM_BroadcastVector)->Args({kLog2N, 0})->Args({kLog2N, 1})->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Assign1)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_EmptyParallelFor)->Unit(benchmark::kMicrosecond);
