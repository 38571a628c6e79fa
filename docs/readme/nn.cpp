#include <nabla/nn.hpp>
namespace nn = nabla::nn;

int main(int argc, char** argv) {
  nabla::ScopeGuard runtime(argc, argv);
  // Data as features x samples: three Gaussian blobs in 2-D, centred at (4, 0), (0, 4) and (0, 0).
  std::vector<int> labels(900);
  for (std::size_t j = 0; j < labels.size(); ++j) labels[j] = int(j % 3);
  auto y = nn::one_hot<float>(labels, 3);                                 // (3 x 900) targets
  auto noise = nabla::random::normal_expr<float>(nabla::random::key(0), nabla::Shape<2>{2, 900});
  nn::Dataset<float> data{nabla::eval(noise + 4.0f * nabla::slice(y, std::make_pair(0, 2), Kokkos::ALL)), y};
  auto [train, val] = nn::train_val_split(data, 0.2, nabla::random::key(5));

  nn::Chain<float> model(nn::Dense<float>(2, 8, nn::Activation::tanh), nn::BatchNorm<float>(8),
                         nn::Dense<float>(8, 3), nn::Softmax<float>());  // Flux's Chain(Dense(2=>8,tanh), ...)
  model.init(nabla::random::key(1));
  nn::Adam<float> adam(1e-2);
  nn::Trainer<float> trainer(model, adam, nn::Loss::cross_entropy, /*seed=*/2);
  nn::FitOptions fit;  fit.epochs = 30;  fit.checkpoint = "model.h5";    // resumes if model.h5 exists
  auto history = trainer.fit(train, &val, fit);                          // per-epoch loss/accuracy
  auto probabilities = model.predict(val.x);                             // (3 x samples), columns sum to 1
  // [checks] The nearest-centre rule (Bayes-optimal for these blobs) as the reference; run by CTest (readme.nn).
  int failures = 0;
  const auto hx = nabla::to_host(val.x), hy = nabla::to_host(val.y), hp = nabla::to_host(probabilities);
  const double cx[3] = {4, 0, 0}, cy[3] = {0, 4, 0};
  std::size_t bayes = 0, model_hits = 0;
  for (std::size_t j = 0; j < val.size(); ++j) {
    int truth = 0, nearest = 0, argmax = 0;
    double best = 1e300, sum = 0;
    for (int k = 0; k < 3; ++k) {
      const double dx = hx.view()(0, j) - cx[k], dy = hx.view()(1, j) - cy[k];
      if (dx * dx + dy * dy < best) best = dx * dx + dy * dy, nearest = k;
      if (hy.view()(k, j) == 1.0f) truth = k;
      if (hp.view()(k, j) > hp.view()(argmax, j)) argmax = k;
      sum += hp.view()(k, j);
    }
    failures += std::abs(sum - 1.0) > 1e-5;
    bayes += nearest == truth;
    model_hits += argmax == truth;
  }
  const double bayes_acc = double(bayes) / double(val.size()), acc = double(model_hits) / double(val.size());
  failures += history.empty() || std::abs(history.back().val_accuracy - acc) > 1e-12;
  failures += acc < bayes_acc - 0.03;
  std::printf("nn: validation accuracy %.4f, nearest centre %.4f: %s\n", acc, bayes_acc, failures ? "FAILED" : "ok");
  return failures ? 1 : 0;
  // [/checks]
}
