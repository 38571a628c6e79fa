// MLP training and inference throughput (samples/s) in Nabla: (a) the seed's 2-8-3 BatchNorm tanh net at
// batch 128, (b) a 784-256-256-10 relu MLP at batch 256 on synthetic data; Adam, float32. One iteration is one
// optimisation step (forward, fused cross-entropy, backward, one fused Adam kernel per parameter).
// torch_benchmark.cpp runs the same models in libtorch; perf/baseline.json divides the two.
#include "../bench_util.hpp"

#include <nabla/nn.hpp>

namespace {

namespace nn = nabla::nn;

struct Problem {
  nabla::Array<float, 2> x, y;
  Problem(std::size_t features, std::size_t classes, std::size_t batch) {
    const auto key = nabla::random::key(2024);
    x = nabla::random::normal<float, 2>(nabla::random::split(key, 0), {features, batch});
    std::vector<int> labels(batch);
    for (std::size_t j = 0; j < batch; ++j) labels[j] = int((j * 7 + 3) % classes);
    y = nn::one_hot<float>(labels, classes);
  }
};

nn::Chain<float> tiny_net() {
  nn::Chain<float> m(nn::Dense<float>(2, 8, nn::Activation::tanh), nn::BatchNorm<float>(8), nn::Dense<float>(8, 3),
                     nn::Softmax<float>());
  m.init(nabla::random::key(1));
  return m;
}

nn::Chain<float> mlp784() {
  auto m = nn::mlp<float>(784, {256, 256}, 10, nn::Activation::relu);
  m.init(nabla::random::key(1));
  return m;
}

void train(benchmark::State& state, nn::Chain<float> model, std::size_t features, std::size_t classes,
           std::size_t batch) {
  Problem p(features, classes, batch);
  nn::Adam<float> opt(1e-3);
  nn::Trainer<float> trainer(model, opt, nn::Loss::cross_entropy, 1);
  double loss = 0;
  nabla::bench::time_fenced(state, [&] { loss += trainer.step(p.x, p.y); });
  benchmark::DoNotOptimize(loss);
  state.SetItemsProcessed(state.iterations() * std::int64_t(batch));
}

void BM_NablaTrainTiny(benchmark::State& state) { train(state, tiny_net(), 2, 3, 128); }
void BM_NablaTrainMlp784(benchmark::State& state) { train(state, mlp784(), 784, 10, 256); }

void BM_NablaInferMlp784(benchmark::State& state) {
  auto model = mlp784();
  Problem p(784, 10, 256);
  nabla::ad::Tape tape;  // reused: the pool makes every call after the first allocation-free
  float s = 0;
  nabla::bench::time_fenced(state, [&] { s += model.predict(tape, p.x).size(); });
  benchmark::DoNotOptimize(s);
  state.SetItemsProcessed(state.iterations() * 256);
}

// Whole fits, as a user runs them (perf/main.cpp's --busy mode times them against a competing process): the
// README's snippet (three 2-D blobs, 720 samples, 2-8-3 tanh + BatchNorm, Adam, 30 epochs) and 05_train_csv's
// shape on the 8x8 digits (1797 samples of 64 features, 10 classes, 64-64-10 relu; 40 epochs of its 200).
void fit(benchmark::State& state, nn::Chain<float> (*make)(), std::size_t features, std::size_t classes,
         std::size_t samples, std::size_t epochs) {
  const auto key = nabla::random::key(7);
  std::vector<int> labels(samples);
  for (std::size_t j = 0; j < samples; ++j) labels[j] = int(j % classes);
  auto y = nn::one_hot<float>(labels, classes);
  // Class c's samples centred at 3 e_(c mod features): separable, so the fit does real work to the end.
  nabla::Array<float, 2> centres({features, samples});
  auto h = Kokkos::create_mirror_view(centres.view());
  for (std::size_t j = 0; j < samples; ++j)
    for (std::size_t f = 0; f < features; ++f) h(f, j) = f == std::size_t(labels[j]) % features ? 3.0f : 0.0f;
  Kokkos::deep_copy(centres.view(), h);
  nn::Dataset<float> data{nabla::eval(centres + nabla::random::normal_expr<float>(key, nabla::Shape<2>{features, samples})),
                          y};
  nn::FitOptions fo;
  fo.epochs = epochs;
  fo.verbose = 0;
  double loss = 0;
  nabla::bench::time_fenced(state, [&] {
    nn::Chain<float> m = make();
    nn::Adam<float> opt(1e-2);
    nn::Trainer<float> trainer(m, opt, nn::Loss::cross_entropy, 2);
    loss += trainer.fit(data, nullptr, fo).back().train_loss;
  });
  benchmark::DoNotOptimize(loss);
  state.SetItemsProcessed(state.iterations() * std::int64_t(samples * epochs));
}

nn::Chain<float> digits_net() {
  auto m = nn::mlp<float>(64, {64}, 10, nn::Activation::relu);
  m.init(nabla::random::key(1));
  return m;
}

void BM_FitReadme(benchmark::State& state) { fit(state, tiny_net, 2, 3, 720, 30); }
void BM_FitDigits(benchmark::State& state) { fit(state, digits_net, 64, 10, 1797, 40); }

}  // namespace

BENCHMARK(BM_FitReadme)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FitDigits)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_NablaTrainTiny)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_NablaTrainMlp784)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_NablaInferMlp784)->UseManualTime()->Unit(benchmark::kMicrosecond);

namespace {
// Diagnostics: the layer-1 gemm of the 784 MLP (256x784 times 784x256) in each transposition.
void BM_NablaGemm784(benchmark::State& state) {
  const char ta = state.range(0) ? 'T' : 'N', tb = state.range(1) ? 'T' : 'N';
  auto key = nabla::random::key(3);
  auto a = ta == 'N' ? nabla::random::normal<float, 2>(key, {256, 784}) : nabla::random::normal<float, 2>(key, {784, 256});
  auto b = tb == 'N' ? nabla::random::normal<float, 2>(key, {784, 256}) : nabla::random::normal<float, 2>(key, {256, 784});
  nabla::Array<float, 2> c(nabla::Shape<2>{256, 256});
  nabla::bench::time_fenced(state, [&] { nabla::gemm(ta, tb, 1.0f, a, b, 0.0f, c); });
  state.counters["flops"] = benchmark::Counter(2.0 * 256 * 784 * 256 * double(state.iterations()), benchmark::Counter::kIsRate);
}
}  // namespace
BENCHMARK(BM_NablaGemm784)->Args({0, 0})->Args({1, 0})->Args({0, 1})->UseManualTime()->Unit(benchmark::kMicrosecond);
