// A user's one-file program over core, ad, nn and sampling (the README's snippets): its compile time is what the
// perf check's compile ratio measures (perf/compile_time.py). Built, not run.
#include <nabla/ad.hpp>
#include <nabla/core.hpp>
#include <nabla/nn.hpp>
#include <nabla/sampling.hpp>

#include <vector>

namespace ad = nabla::ad;
namespace nn = nabla::nn;
namespace ns = nabla::sampling;
using namespace nabla;

namespace {
struct Gauss {
  KOKKOS_INLINE_FUNCTION double operator()(const ns::WalkerPoint& x) const {
    double s = 0;
    for (int i = 0; i < x.size(); ++i) s += x[i] * x[i];
    return -0.5 * s;
  }
};
}  // namespace

int main(int argc, char** argv) {
  nabla::ScopeGuard runtime(argc, argv);
  double checksum = 0;
  {  // core
    auto x = linspace<double>(0.0, 1.0, 1000);
    Array<double, 2> m({3, 1000});
    assign(m, 2.0 * x + sin(x) * x);
    auto y = eval(where(m > 1.0, exp(-m), m) / (1.0 + m * m));
    checksum += sum(y * y);
    auto col_means = mean(m, axis(0));
    checksum += double(count(random::uniform_expr<double>(random::key(42), Shape<1>{1000000}) < 0.5));
    checksum += sum(col_means);
  }
  {  // ad
    Array<double, 2> x({4, 1});
    Array<double, 2> w({4, 4});
    assign(x, 0.5);
    assign(w, 0.25);
    auto f = [](auto xv, auto wv) {
      auto h = ad::eval(ad::tanh(ad::matmul(wv, xv)) * 0.5 + xv);
      return ad::sum(h * h);
    };
    auto [value, grads] = ad::value_and_grad(f, x, w);
    checksum += value + sum(std::get<0>(grads));
  }
  {  // nn
    nn::Chain<float> model(nn::Dense<float>(2, 8, nn::Activation::tanh), nn::BatchNorm<float>(8),
                           nn::Dense<float>(8, 3), nn::Softmax<float>());
    model.init(random::key(1));
    nn::Adam<float> adam(1e-2f);
    nn::Trainer<float> trainer(model, adam, nn::Loss::cross_entropy, 2);
    nn::Dataset<float> train{Array<float, 2>({2, 64}), Array<float, 2>({3, 64})};
    assign(train.x, random::uniform_expr<float>(random::key(3), train.x.shape()));
    assign(train.y, 1.0f / 3);
    nn::FitOptions fit;
    fit.epochs = 2;
    trainer.fit(train, nullptr, fit);
    checksum += double(sum(model.predict(train.x)));
  }
  {  // sampling
    ns::BAOABParams p;
    p.gamma = 1.0;
    p.kBT = 1.0;
    p.dt = 0.01;
    p.seed = 1;
    auto state = ns::make_state(64, 1, -2.0);
    auto traj = ns::baoab(ns::DoubleWell{2.0, 1.0}, p, state, 100, 10);
    checksum += ns::mean_kinetic_energy(traj.v);
    ns::SamplerOptions opt;
    opt.seed = 3;
    ns::EnsembleSampler sampler(32, 5, Gauss{}, opt);
    sampler.run_mcmc(ns::gaussian_ball(std::vector<double>(5, 0.0), 1e-3, 32), 100);
    checksum += double(sampler.get_chain(ns::flat, 10, 50).size());
  }
  return checksum == checksum ? 0 : 1;
}
