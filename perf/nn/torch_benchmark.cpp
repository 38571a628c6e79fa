// The libtorch (C++ API) side of nn_benchmark.cpp: the same models, batch sizes, float32, Adam and thread
// count (torch::set_num_threads = Kokkos' OpenMP concurrency). Samples are rows here (batch x features),
// the transpose of Nabla's columns: the same arithmetic.
#include "../bench_util.hpp"

#include <torch/torch.h>

namespace {

int threads() { return Kokkos::DefaultExecutionSpace().concurrency(); }

struct TorchProblem {
  torch::Tensor x, y;
  TorchProblem(int64_t features, int64_t classes, int64_t batch) {
    torch::manual_seed(2024);
    x = torch::randn({batch, features});
    y = torch::arange(batch).mul(7).add(3).remainder(classes);
  }
};

torch::nn::Sequential tiny_net() {
  return torch::nn::Sequential(torch::nn::Linear(2, 8), torch::nn::Tanh(), torch::nn::BatchNorm1d(8),
                               torch::nn::Linear(8, 3));
}
torch::nn::Sequential mlp784() {
  return torch::nn::Sequential(torch::nn::Linear(784, 256), torch::nn::ReLU(), torch::nn::Linear(256, 256),
                               torch::nn::ReLU(), torch::nn::Linear(256, 10));
}

void train(benchmark::State& state, torch::nn::Sequential model, int64_t features, int64_t classes, int64_t batch) {
  torch::set_num_threads(threads());
  TorchProblem p(features, classes, batch);
  model->train();
  torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(1e-3));
  double loss = 0;
  nabla::bench::time_fenced(state, [&] {
    opt.zero_grad();
    auto l = torch::nn::functional::cross_entropy(model->forward(p.x), p.y);
    l.backward();
    opt.step();
    loss += l.item<float>();
  });
  benchmark::DoNotOptimize(loss);
  state.SetItemsProcessed(state.iterations() * batch);
}

void BM_TorchTrainTiny(benchmark::State& state) { train(state, tiny_net(), 2, 3, 128); }
void BM_TorchTrainMlp784(benchmark::State& state) { train(state, mlp784(), 784, 10, 256); }

void BM_TorchInferMlp784(benchmark::State& state) {
  torch::set_num_threads(threads());
  auto model = mlp784();
  model->eval();
  TorchProblem p(784, 10, 256);
  torch::NoGradGuard no_grad;
  double s = 0;
  nabla::bench::time_fenced(state, [&] { s += double(torch::softmax(model->forward(p.x), 1).size(0)); });
  benchmark::DoNotOptimize(s);
  state.SetItemsProcessed(state.iterations() * 256);
}

}  // namespace

BENCHMARK(BM_TorchTrainTiny)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TorchTrainMlp784)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TorchInferMlp784)->UseManualTime()->Unit(benchmark::kMicrosecond);
