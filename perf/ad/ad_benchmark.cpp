// Reverse mode against its primal, mixed mode against unfused reverse mode (the HM-LSTM cell of Revels,
// Besard et al., and their arity sweep), and forward-mode Dual<double, N> against plain doubles.
#include "../bench_util.hpp"

#include <nabla/ad.hpp>

#include <array>
#include <utility>

namespace {

namespace ad = nabla::ad;
using Vec = nabla::Array<double, 1>;

Vec random_vec(std::size_t n, std::uint64_t stream) {
  Vec v({n});
  nabla::assign(v, nabla::random::uniform_expr<double>(nabla::random::key(stream), v.shape()) + 0.5);
  return v;
}

struct Four {
  explicit Four(std::size_t n) : a(random_vec(n, 1)), b(random_vec(n, 2)), c(random_vec(n, 3)), d(random_vec(n, 4)) {}
  Vec a, b, c, d;
};

#define NABLA_FUSED8(a, b, c, d) ((a + b) * (c - d) + (a * c - b * d) * a)

// Primal: sum(f(x1..x4)) as one fused reduction.
void BM_Primal8(benchmark::State& state) {
  const std::size_t n = std::size_t(1) << state.range(0);
  const auto& x = nabla::bench::kept<Four>(n);
  double s = 0;
  nabla::bench::time_fenced(state, [&] { s += nabla::sum(NABLA_FUSED8(x.a, x.b, x.c, x.d)); });
  benchmark::DoNotOptimize(s);
  nabla::bench::set_bytes(state, std::int64_t(4 * n * sizeof(double)));
}

// value_and_grad of the same function: recorded on a tape reused across iterations.
void BM_ValueAndGrad8(benchmark::State& state) {
  const std::size_t n = std::size_t(1) << state.range(0);
  const auto& x = nabla::bench::kept<Four>(n);
  ad::Tape tape;
  double s = 0;
  nabla::bench::time_fenced(state, [&] {
    tape.clear();
    auto va = tape.variable(x.a), vb = tape.variable(x.b), vc = tape.variable(x.c), vd = tape.variable(x.d);
    auto y = ad::sum(NABLA_FUSED8(va, vb, vc, vd));
    tape.backward(y);
    s += tape.grad(va).size();
  });
  benchmark::DoNotOptimize(s);
  nabla::bench::set_bytes(state, std::int64_t(4 * n * sizeof(double)));
}

// HM-LSTM cell (thesis Listing 45), forward + backward w.r.t. c, f, i, g; z, zb are (1, n) rows broadcast
// along dimension 0.
struct HmLstm {
  explicit HmLstm(std::size_t n)
      : c({n, n}), f({n, n}), i({n, n}), g({n, n}), w({n, n}), z({1, n}), zb({1, n}) {
    const auto key = nabla::random::key(7);
    nabla::assign(c, nabla::random::normal_expr<float>(nabla::random::split(key, 0), c.shape()));
    nabla::assign(f, nabla::random::normal_expr<float>(nabla::random::split(key, 1), f.shape()));
    nabla::assign(i, nabla::random::normal_expr<float>(nabla::random::split(key, 2), i.shape()));
    nabla::assign(g, nabla::random::normal_expr<float>(nabla::random::split(key, 3), g.shape()));
    nabla::assign(w, nabla::random::normal_expr<float>(nabla::random::split(key, 4), w.shape()));
    nabla::assign(z, nabla::cast<float>(nabla::random::uniform_expr<float>(nabla::random::split(key, 5), z.shape()) < 0.3f));
    nabla::assign(zb, nabla::cast<float>(nabla::random::uniform_expr<float>(nabla::random::split(key, 6), zb.shape()) < 0.5f));
  }
  nabla::Array<float, 2> c, f, i, g, w;
  nabla::Array<float, 2> z, zb;
};

template <class X>
auto sigm(const X& x) {
  return 1.0f / (1.0f + ad::exp(-x));
}

/// Times forward + backward of cell(c, f, i, g, z, zb) -> output, recorded afresh on a reused tape.
template <class Cell>
void time_hmlstm(benchmark::State& state, Cell&& cell) {
  const auto& m = nabla::bench::kept<HmLstm>(std::size_t(state.range(0)));
  ad::Tape tape;
  nabla::bench::time_fenced(state, [&] {
    tape.clear();
    auto out = cell(tape.variable(m.c), tape.variable(m.f), tape.variable(m.i), tape.variable(m.g),
                    tape.constant(m.z), tape.constant(m.zb));
    tape.backward(ad::sum(out * m.w));
  });
  state.SetItemsProcessed(state.iterations() * state.range(0) * state.range(0));
}

void BM_HmLstmMixed(benchmark::State& state) {
  time_hmlstm(state, [](auto c, auto f, auto i, auto g, auto z, auto zb) {
    return ad::eval(ad::where(z == 1.0f, sigm(i) * ad::tanh(g),
                              ad::where(zb == 0.0f, c, sigm(f) * c + sigm(i) * ad::tanh(g))));
  });
}

void BM_HmLstmUnfused(benchmark::State& state) {
  time_hmlstm(state, [](auto c, auto f, auto i, auto g, auto z, auto zb) {
    // One node per operation, `where` evaluated eagerly, as an op-by-op reverse-mode framework does.
    auto si = ad::eval(sigm(i));
    auto tg = ad::eval(ad::tanh(g));
    auto a = ad::eval(si * tg);
    auto sf = ad::eval(sigm(f));
    auto b = ad::eval(sf * c);
    auto s = ad::eval(b + a);
    auto inner = ad::eval(ad::where(zb == 0.0f, c, s));
    return ad::eval(ad::where(z == 1.0f, a, inner));
  });
}

// Arity sweep: y = sin(x1) * ... * sin(xA) over 2^20 doubles, forward + backward of sum(y * w): one fused
// mixed-mode node (Dual<double, A>) against op-by-op nodes (A sines, A - 1 products), for A = 1..10.
template <std::size_t... I>
void time_arity(benchmark::State& state, bool fused, std::index_sequence<I...>) {
  constexpr std::size_t A = sizeof...(I);
  const std::size_t n = std::size_t(1) << 20;
  const std::array<Vec, A> x{random_vec(n, 20 + I)...};
  const Vec w = random_vec(n, 19);
  ad::Tape tape;
  nabla::bench::time_fenced(state, [&] {
    tape.clear();
    const std::array<ad::Var<double, 1>, A> v{tape.variable(x[I])...};
    ad::Var<double, 1> y;
    if (fused) {
      y = ad::eval((ad::sin(v[I]) * ...));
    } else {
      y = ad::eval(ad::sin(v[0]));
      for (std::size_t j = 1; j < A; ++j) y = ad::eval(y * ad::eval(ad::sin(v[j])));
    }
    tape.backward(ad::sum(y * w));
  });
  state.SetItemsProcessed(state.iterations() * std::int64_t(n));
}
template <int A>
void BM_ArityMixed(benchmark::State& state) {
  time_arity(state, true, std::make_index_sequence<A>{});
}
template <int A>
void BM_ArityUnfused(benchmark::State& state) {
  time_arity(state, false, std::make_index_sequence<A>{});
}

template <class D>
struct Seed {
  int dir;
  KOKKOS_INLINE_FUNCTION D operator()(double x) const { return D(x, dir); }
};

/// Four's inputs as Dual<double, N> numbers, each seeded in one direction (modulo N).
template <class D>
struct Seeded {
  static constexpr int N = D::size;
  explicit Seeded(std::size_t n) {
    const Four x(n);
    a = nabla::eval(nabla::map(Seed<D>{0 % N}, x.a));
    b = nabla::eval(nabla::map(Seed<D>{1 % N}, x.b));
    c = nabla::eval(nabla::map(Seed<D>{2 % N}, x.c));
    d = nabla::eval(nabla::map(Seed<D>{3 % N}, x.d));
  }
  nabla::Array<D, 1> a, b, c, d;
};

// Forward mode: the fused 8-op expression on Dual<double, N> elements against plain doubles.
template <int N>
void BM_DualFused8(benchmark::State& state) {
  using D = ad::Dual<double, N>;
  const std::size_t n = std::size_t(1) << state.range(0);
  const auto& x = nabla::bench::kept<Seeded<D>>(n);
  nabla::Array<D, 1> out({n});
  nabla::bench::time_fenced(state, [&] { nabla::assign(out, NABLA_FUSED8(x.a, x.b, x.c, x.d)); });
  state.SetItemsProcessed(state.iterations() * std::int64_t(n));
}

void BM_PrimalFused8(benchmark::State& state) {
  const std::size_t n = std::size_t(1) << state.range(0);
  const auto& x = nabla::bench::kept<Four>(n);
  Vec out({n});
  nabla::bench::time_fenced(state, [&] { nabla::assign(out, NABLA_FUSED8(x.a, x.b, x.c, x.d)); });
  state.SetItemsProcessed(state.iterations() * std::int64_t(n));
}

}  // namespace

BENCHMARK(BM_Primal8)->Arg(24)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ValueAndGrad8)->Arg(24)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_HmLstmMixed)->Arg(512)->Arg(1024)->Arg(2048)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_HmLstmUnfused)->Arg(512)->Arg(1024)->Arg(2048)->UseManualTime()->Unit(benchmark::kMillisecond);
#define NABLA_ARITY(A)                                                                         \
  BENCHMARK_TEMPLATE(BM_ArityMixed, A)->UseManualTime()->Unit(benchmark::kMillisecond); \
  BENCHMARK_TEMPLATE(BM_ArityUnfused, A)->UseManualTime()->Unit(benchmark::kMillisecond)
NABLA_ARITY(1);
NABLA_ARITY(2);
NABLA_ARITY(3);
NABLA_ARITY(4);
NABLA_ARITY(6);
NABLA_ARITY(8);
NABLA_ARITY(10);
#undef NABLA_ARITY
BENCHMARK(BM_PrimalFused8)->Arg(22)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_DualFused8, 1)->Arg(22)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_DualFused8, 4)->Arg(22)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_DualFused8, 8)->Arg(22)->UseManualTime()->Unit(benchmark::kMillisecond);
