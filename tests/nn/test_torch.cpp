// The seed's 2-8-3 net (Dense(2=>8, tanh), BatchNorm(8), Dense(8=>3), softmax; Adam(1e-2), batch 128,
// shuffled, cross-entropy) reaches the same validation accuracy in Nabla as the same net in libtorch on the
// same data: overlapping Gaussian blobs, so the accuracy is well below 100% and a real comparison.
#include "nn_test_util.hpp"

#include <nabla/nn.hpp>

#include <torch/torch.h>

namespace {

namespace nn = nabla::nn;

double torch_accuracy(const nn_test::Points& train, const nn_test::Points& val, int epochs) {
  torch::manual_seed(0);
  torch::set_num_threads(Kokkos::DefaultExecutionSpace().concurrency());
  auto to_x = [](const nn_test::Points& p) {
    return torch::tensor(std::vector<float>(p.x.begin(), p.x.end())).reshape({int64_t(p.labels.size()), 2});
  };
  auto to_y = [](const nn_test::Points& p) {
    return torch::tensor(std::vector<int64_t>(p.labels.begin(), p.labels.end()));
  };
  auto x = to_x(train), y = to_y(train), xv = to_x(val), yv = to_y(val);
  torch::nn::Sequential net(torch::nn::Linear(2, 8), torch::nn::Tanh(), torch::nn::BatchNorm1d(8),
                            torch::nn::Linear(8, 3));
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(1e-2));
  const int64_t n = x.size(0), b = 128;
  for (int e = 0; e < epochs; ++e) {
    net->train();
    auto perm = torch::randperm(n);
    for (int64_t lo = 0; lo < n; lo += b) {
      auto idx = perm.slice(0, lo, std::min(n, lo + b));
      opt.zero_grad();
      auto loss = torch::nn::functional::cross_entropy(net->forward(x.index_select(0, idx)), y.index_select(0, idx));
      loss.backward();
      opt.step();
    }
  }
  net->eval();
  torch::NoGradGuard g;
  auto pred = net->forward(xv).argmax(1);
  return pred.eq(yv).to(torch::kFloat).mean().item<float>();
}

TEST(Libtorch, SeedNetReachesTheSameValidationAccuracy) {
  // blobs on a circle of radius 4 (spread 0.6: separable), widened by extra noise until they overlap.
  auto all = nn_test::make_blobs(3000, 3, 21);
  nn_test::Points train{{}, {}, 3}, val{{}, {}, 3};
  std::mt19937 gen(5);
  std::normal_distribution<double> extra(0.0, 1.6);  // widen the blobs
  for (std::size_t j = 0; j < all.labels.size(); ++j) {
    auto& dst = j < 2000 ? train : val;
    dst.x.push_back(all.x[2 * j] + extra(gen));
    dst.x.push_back(all.x[2 * j + 1] + extra(gen));
    dst.labels.push_back(all.labels[j]);
  }
  const int epochs = 30;
  nn::Chain<float> m(nn::Dense<float>(2, 8, nn::Activation::tanh), nn::BatchNorm<float>(8), nn::Dense<float>(8, 3),
                     nn::Softmax<float>());
  m.init(nabla::random::key(1));
  nn::Adam<float> opt(1e-2);
  nn::Trainer<float> t(m, opt, nn::Loss::cross_entropy, 3);
  nn::FitOptions o;
  o.epochs = std::size_t(epochs);
  o.batch_size = 128;
  o.verbose = 0;
  auto vds = nn_test::dataset<float>(val);
  auto h = t.fit(nn_test::dataset<float>(train), &vds, o);
  const double ours = h.back().val_accuracy, theirs = torch_accuracy(train, val, epochs);
  std::cout << "validation accuracy: Nabla " << ours << ", libtorch " << theirs << "\n";
  EXPECT_GT(ours, 0.7);
  EXPECT_LT(ours, 0.99) << "the blobs should overlap";
  EXPECT_NEAR(ours, theirs, 0.02);
}

}  // namespace
