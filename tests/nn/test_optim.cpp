// Optimizer steps against hand-written host loops of PyTorch's update rules; loss values and accuracy
// against host formulas; bad hyperparameters.
#include "nn_test_util.hpp"

#include <nabla/nn/loss.hpp>
#include <nabla/nn/optimizer.hpp>

namespace {

namespace nn = nabla::nn;
namespace ad = nabla::ad;
using nn_test::close;
using nn_test::device;
using nn_test::host;

struct HostOpt {
  // state per element
  std::vector<double> w, m, v;
  int t = 0;
};

// Runs `steps` updates of two parameters (3x2 and 4x1) with gradients drawn per step, through the nabla
// optimizer and through `ref` (a scalar host loop), and compares.
template <class Opt, class Ref>
void compare(Opt& opt, Ref ref, int steps, double rtol) {
  const std::size_t rows[2] = {3, 4}, cols[2] = {2, 1};
  std::vector<nn::Param<double>> params(2);
  std::vector<HostOpt> hs(2);
  for (int k = 0; k < 2; ++k) {
    hs[k].w = nn_test::uniform(rows[k] * cols[k], -1, 1, 100 + k);
    hs[k].m.assign(hs[k].w.size(), 0);
    hs[k].v.assign(hs[k].w.size(), 0);
    params[k] = {"p" + std::to_string(k), device<double>(hs[k].w, rows[k], cols[k]), true, {}};
  }
  std::vector<nn::Param<double>*> ptrs{&params[0], &params[1]};
  for (int s = 0; s < steps; ++s) {
    std::vector<nabla::Array<double, 2>> grads;
    for (int k = 0; k < 2; ++k) {
      const auto g = nn_test::uniform(hs[k].w.size(), -2, 2, 200 + 10 * s + k);
      grads.push_back(device<double>(g, rows[k], cols[k]));
      ++hs[k].t;
      for (std::size_t i = 0; i < g.size(); ++i) ref(hs[k], i, g[i]);
    }
    opt.step(ptrs, grads);
  }
  EXPECT_EQ(opt.steps(), steps);
  for (int k = 0; k < 2; ++k) {
    auto hw = host(params[k].value);
    for (std::size_t i = 0; i < hs[k].w.size(); ++i)
      EXPECT_TRUE(close(hw.data()[i], hs[k].w[i], rtol, 1e-15)) << "param " << k << " element " << i;
  }
}

TEST(Optimizer, SgdPlainMomentumAndNesterovMatchTheHostLoop) {
  {
    nn::SGD<double> opt(0.1);
    compare(opt, [](HostOpt& h, std::size_t i, double g) { h.w[i] -= 0.1 * g; }, 3, 1e-15);
  }
  {
    nn::SGD<double> opt(0.05, 0.9, false, 0.01);
    compare(opt, [](HostOpt& h, std::size_t i, double g) {
      const double d = g + 0.01 * h.w[i];
      h.m[i] = 0.9 * h.m[i] + d;
      h.w[i] -= 0.05 * h.m[i];
    }, 4, 1e-14);
  }
  {
    nn::SGD<double> opt(0.05, 0.8, true);
    compare(opt, [](HostOpt& h, std::size_t i, double g) {
      h.m[i] = 0.8 * h.m[i] + g;
      h.w[i] -= 0.05 * (g + 0.8 * h.m[i]);
    }, 4, 1e-14);
  }
}

TEST(Optimizer, AdamAndAdamWMatchTheHostLoop) {
  {
    nn::Adam<double> opt(1e-2);  // betas 0.9, 0.999, eps 1e-8 by default
    compare(opt, [](HostOpt& h, std::size_t i, double g) {
      h.m[i] = 0.9 * h.m[i] + 0.1 * g;
      h.v[i] = 0.999 * h.v[i] + 0.001 * g * g;
      const double mh = h.m[i] / (1 - std::pow(0.9, h.t)), vh = h.v[i] / (1 - std::pow(0.999, h.t));
      h.w[i] -= 1e-2 * mh / (std::sqrt(vh) + 1e-8);
    }, 5, 1e-12);
  }
  {
    nn::AdamW<double> opt(3e-3, 0.8, 0.99, 1e-6, 0.1);
    compare(opt, [](HostOpt& h, std::size_t i, double g) {
      h.w[i] -= 3e-3 * 0.1 * h.w[i];
      h.m[i] = 0.8 * h.m[i] + 0.2 * g;
      h.v[i] = 0.99 * h.v[i] + 0.01 * g * g;
      const double mh = h.m[i] / (1 - std::pow(0.8, h.t)), vh = h.v[i] / (1 - std::pow(0.99, h.t));
      h.w[i] -= 3e-3 * mh / (std::sqrt(vh) + 1e-6);
    }, 5, 1e-12);
  }
}

TEST(Optimizer, DefaultsAreTheStandardOnes) {
  EXPECT_EQ(nn::SGD<float>().learning_rate(), 0.01);
  EXPECT_EQ(nn::Adam<float>().learning_rate(), 1e-3);
  EXPECT_EQ(nn::AdamW<float>().type(), "adamw");
  EXPECT_EQ(nn::Adam<float>().slot_names().size(), 2u);
}

TEST(Optimizer, BadHyperparametersAreClearErrors) {
  EXPECT_THROW(nn::SGD<double>(0.0), nabla::ValueError);
  EXPECT_THROW(nn::SGD<double>(-1.0), nabla::ValueError);
  EXPECT_THROW(nn::SGD<double>(0.1, 1.5), nabla::ValueError);
  EXPECT_THROW(nn::SGD<double>(0.1, 0.0, true), nabla::ValueError);
  EXPECT_THROW(nn::Adam<double>(std::nan("")), nabla::ValueError);
  EXPECT_THROW(nn::Adam<double>(1e-3, 1.0), nabla::ValueError);
  EXPECT_THROW(nn::AdamW<double>(1e-3, 0.9, 0.999, 0.0), nabla::ValueError);
  try {
    nn::SGD<double>(-2.0);
  } catch (const nabla::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("-2"), std::string::npos) << e.what();
  }
}

double read(const ad::Var<double, 0>& v) {
  double h;
  Kokkos::deep_copy(h, v.value().view());
  return h;
}

TEST(Loss, ValuesMatchTheHostFormulas) {
  const std::size_t c = 3, b = 5;
  const auto z = nn_test::uniform(c * b, -40, 40, 30);  // large logits: the stable form matters
  auto t = nn_test::uniform(c * b, 0, 1, 31);            // soft targets
  ad::Tape tape;
  auto zv = tape.variable(device<double>(z, c, b));
  auto tv = tape.constant(device<double>(t, c, b));
  double ce = 0;
  for (std::size_t j = 0; j < b; ++j) {
    double m = -1e300, s = 0;
    for (std::size_t i = 0; i < c; ++i) m = std::max(m, z[j * c + i]);
    for (std::size_t i = 0; i < c; ++i) s += std::exp(z[j * c + i] - m);
    for (std::size_t i = 0; i < c; ++i) ce += t[j * c + i] * (m + std::log(s) - z[j * c + i]);
  }
  EXPECT_TRUE(close(read(nn::logit_cross_entropy(tape, zv, tv)), ce / b, 1e-13, 0));
  EXPECT_TRUE(close(read(nn::logit_cross_entropy(tape, zv, tv, 20)), ce / 20, 1e-13, 0));

  const auto p = nn_test::uniform(c * b, 0.01, 0.99, 32);
  auto pv = tape.variable(device<double>(p, c, b));
  double se = 0, bce = 0, bcel = 0;
  for (std::size_t i = 0; i < c * b; ++i) {
    se += (p[i] - t[i]) * (p[i] - t[i]);
    bce += -(t[i] * std::log(p[i]) + (1 - t[i]) * std::log(1 - p[i]));
    bcel += std::log1p(std::exp(z[i])) - t[i] * z[i];
  }
  EXPECT_TRUE(close(read(nn::mse(pv, tv)), se / (c * b), 1e-13, 0));
  EXPECT_TRUE(close(read(nn::binary_cross_entropy(pv, tv)), bce / (c * b), 1e-12, 0));
  EXPECT_TRUE(close(read(nn::binary_cross_entropy_logits(zv, tv)), bcel / (c * b), 1e-12, 0));
  EXPECT_THROW(nn::mse(pv, tape.constant(nabla::Array<double, 2>(nabla::Shape<2>{c, b + 1}))), nabla::ShapeError);
}

TEST(Loss, AccuracyCountsArgmaxHits) {
  // columns: argmax 0, 2, 1, 1 vs labels 0, 2, 0, 1 -> 3 of 4
  const std::vector<double> s = {0.9, 0.1, 0.0, 0.1, 0.2, 0.7, 0.3, 0.6, 0.1, -1, 5, 2};
  auto y = nn::one_hot<double>({0, 2, 0, 1}, 3);
  EXPECT_EQ(nn::correct(device<double>(s, 3, 4), y), 3);
  EXPECT_DOUBLE_EQ(nn::accuracy(device<double>(s, 3, 4), y), 0.75);
}

}  // namespace
