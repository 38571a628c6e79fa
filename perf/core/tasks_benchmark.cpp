// Task groups (tasks.hpp): independent small kernels in one bulk against the same kernels one after another, and
// the cost of a sequential group over direct launches.
#include "../bench_util.hpp"

#include <nabla/core.hpp>
#include <nabla/core/tasks.hpp>

#include <vector>

namespace {

using Vec = nabla::Array<double, 1>;
namespace tasks = nabla::tasks;

// `count` independent fused 8-op broadcasts over their own arrays of `n` elements.
struct SmallKernels {
  SmallKernels(std::size_t count, std::size_t n) {
    const auto key = nabla::random::key(7);
    for (std::size_t i = 0; i < count; ++i) {
      a.emplace_back(nabla::Shape<1>{n});
      b.emplace_back(nabla::Shape<1>{n});
      out.emplace_back(nabla::Shape<1>{n});
      nabla::assign(a[i], nabla::random::uniform_expr<double>(nabla::random::split(key, 2 * i), a[i].shape()) + 0.5);
      nabla::assign(b[i], nabla::random::uniform_expr<double>(nabla::random::split(key, 2 * i + 1), b[i].shape()) + 0.5);
    }
  }
  template <class Space>
  void run(std::size_t i, const Space& s) const {
    nabla::assign(s, out[i], (a[i] + b[i]) * (a[i] - b[i]) + (a[i] * a[i] - b[i] * b[i]) * a[i]);
  }
  std::vector<Vec> a, b, out;
};

constexpr std::size_t kSmall = 64, kSmallLog2 = 14;

void BM_TasksSmallDirect(benchmark::State& state) {
  const SmallKernels k(kSmall, std::size_t(1) << kSmallLog2);
  nabla::bench::time_fenced(state, [&] {
    for (std::size_t i = 0; i < kSmall; ++i) k.run(i, tasks::Space());
  });
  state.SetItemsProcessed(state.iterations() * std::int64_t(kSmall));
}

void BM_TasksSmallBulk(benchmark::State& state) {
  const SmallKernels k(kSmall, std::size_t(1) << kSmallLog2);
  nabla::bench::time_fenced(state, [&] {
    tasks::sequential([&](tasks::Group& g) { g.bulk("small", kSmall, [&](std::size_t i, const auto& s) { k.run(i, s); }); });
  });
  state.SetItemsProcessed(state.iterations() * std::int64_t(kSmall));
}

constexpr std::size_t kTiny = 1000;

// 1000 dependent tiny kernels (16 elements), launched directly or as the `then` tasks of one group.
void BM_TasksTinyDirect(benchmark::State& state) {
  Vec x({16});
  nabla::bench::time_fenced(state, [&] {
    for (std::size_t i = 0; i < kTiny; ++i) nabla::assign(x, x * 0.5 + 1.0);
  });
  state.SetItemsProcessed(state.iterations() * std::int64_t(kTiny));
}

void BM_TasksTinyThen(benchmark::State& state) {
  Vec x({16});
  nabla::bench::time_fenced(state, [&] {
    tasks::sequential([&](tasks::Group& g) {
      for (std::size_t i = 0; i < kTiny; ++i) g.then("tiny", [&](const auto& s) { nabla::assign(s, x, x * 0.5 + 1.0); });
    });
  });
  state.SetItemsProcessed(state.iterations() * std::int64_t(kTiny));
}

}  // namespace

BENCHMARK(BM_TasksSmallDirect)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TasksSmallBulk)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TasksTinyDirect)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TasksTinyThen)->UseManualTime()->Unit(benchmark::kMicrosecond);
