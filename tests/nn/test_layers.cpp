// Layers against independent host formulas: activations, Dense, BatchNorm (both modes, forward and
// backward), softmax; the whole network's gradient against central finite differences; Flux's parameter counts.
#include "nn_test_util.hpp"

#include <nabla/nn.hpp>

#include <functional>

namespace {

namespace nn = nabla::nn;
namespace ad = nabla::ad;
using nn_test::close;
using nn_test::device;
using nn_test::host;
using Mat = nabla::Array<double, 2>;

void copy_into(const Mat& dst, const std::vector<double>& v) {
  auto src = device<double>(v, dst.extent(0), dst.extent(1));
  Kokkos::deep_copy(dst.view(), src.view());
}

double host_act(nn::Activation a, double x) {
  switch (a) {
    case nn::Activation::identity: return x;
    case nn::Activation::relu: return x > 0 ? x : 0;
    case nn::Activation::leaky_relu: return x > 0 ? x : 0.01 * x;
    case nn::Activation::tanh: return std::tanh(x);
    case nn::Activation::sigmoid: return 1 / (1 + std::exp(-x));
    case nn::Activation::softplus: return std::log(1 + std::exp(x));
    case nn::Activation::gelu: return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
  }
  return 0;
}

const nn::Activation kAll[] = {nn::Activation::identity, nn::Activation::relu,     nn::Activation::leaky_relu,
                               nn::Activation::tanh,     nn::Activation::sigmoid,  nn::Activation::softplus,
                               nn::Activation::gelu};

TEST(Chain, SeedNetParameterCountsMatchFlux) {
  nn::Chain<float> m(nn::Dense<float>(2, 8, nn::Activation::tanh), nn::BatchNorm<float>(8), nn::Dense<float>(8, 3),
                     nn::Softmax<float>());
  EXPECT_EQ(m.num_trainable(), 67u);
  EXPECT_EQ(m.num_nontrainable(), 16u);
  const std::string s = m.summary();
  EXPECT_NE(s.find("Dense(2 => 8, tanh)"), std::string::npos) << s;
  EXPECT_NE(s.find("BatchNorm(8),  # 16 parameters, plus 16 non-trainable"), std::string::npos) << s;
  EXPECT_NE(s.find("Total: 67 trainable, 16 non-trainable"), std::string::npos) << s;
  EXPECT_EQ(m.output_features(2), 3u);
  EXPECT_THROW(m.output_features(3), nabla::ShapeError);
  auto named = m.named_parameters();
  ASSERT_EQ(named.size(), 8u);
  EXPECT_EQ(named[0].first, "1_dense/weight");
  EXPECT_EQ(named[5].first, "2_batchnorm/running_var");
}

TEST(Dense, EveryActivationMatchesTheHostFormula) {
  const std::size_t in = 3, out = 4, b = 5;
  const auto w = nn_test::uniform(out * in, -1.5, 1.5, 1), bias = nn_test::uniform(out, -0.5, 0.5, 2);
  const auto x = nn_test::uniform(in * b, -2, 2, 3);
  for (auto a : kAll) {
    nn::Dense<double> d(in, out, a);
    copy_into(d.weight().value, w);
    copy_into(d.bias().value, bias);
    ad::Tape tape;
    auto y = host(d.forward(tape, tape.constant(device<double>(x, in, b)), nn::Mode::train, true).value());
    for (std::size_t j = 0; j < b; ++j)
      for (std::size_t i = 0; i < out; ++i) {
        double z = bias[i];
        for (std::size_t k = 0; k < in; ++k) z += w[k * out + i] * x[j * in + k];  // column-major W
        EXPECT_TRUE(close(y(i, j), host_act(a, z), 1e-13, 1e-14)) << nn::name(a) << " (" << i << ", " << j << ")";
      }
  }
}

TEST(Dense, InitialisationIsGlorotOrHeAndSeeded) {
  nn::Dense<double> g(300, 200, nn::Activation::tanh), h(300, 200, nn::Activation::relu);
  g.init(nabla::random::key(5));
  h.init(nabla::random::key(5));
  auto gw = host(g.weight().value), hw = host(h.weight().value);
  const double a = std::sqrt(6.0 / 500.0);
  double s2 = 0, mx = 0;
  for (std::size_t i = 0; i < gw.size(); ++i) mx = std::max(mx, std::abs(gw.data()[i]));
  for (std::size_t i = 0; i < hw.size(); ++i) s2 += hw.data()[i] * hw.data()[i];
  EXPECT_LE(mx, a);
  EXPECT_GT(mx, 0.99 * a);
  EXPECT_TRUE(close(std::sqrt(s2 / double(hw.size())), std::sqrt(2.0 / 300.0), 0.02, 0));
  nn::Dense<double> g2(300, 200, nn::Activation::tanh);
  g2.init(nabla::random::key(5));
  auto g2w = host(g2.weight().value);
  for (std::size_t i = 0; i < gw.size(); ++i) ASSERT_EQ(gw.data()[i], g2w.data()[i]);
  EXPECT_THROW(nn::Dense<double>(0, 3), nabla::ValueError);
}

TEST(Dense, WrongInputShapeNamesBoth) {
  nn::Dense<double> d(3, 2);
  ad::Tape tape;
  try {
    d.forward(tape, tape.constant(Mat(nabla::Shape<2>{4, 5})), nn::Mode::train, true);
    FAIL() << "no error";
  } catch (const nabla::ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("(4, 5)"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("expected 3 features"), std::string::npos) << e.what();
  }
}

// Textbook batch norm (Ioffe & Szegedy, Algorithm 1 and its gradient), on the host.
struct HostBN {
  std::size_t n, b;
  std::vector<double> x, gamma, beta, dy;
  double eps = 1e-5;
  std::vector<double> y, dx, dgamma, dbeta, mean, var;
  void run() {
    y.assign(n * b, 0);
    dx.assign(n * b, 0);
    dgamma.assign(n, 0);
    dbeta.assign(n, 0);
    mean.assign(n, 0);
    var.assign(n, 0);
    for (std::size_t i = 0; i < n; ++i) {
      double mu = 0, v = 0;
      for (std::size_t j = 0; j < b; ++j) mu += x[j * n + i] / double(b);
      for (std::size_t j = 0; j < b; ++j) v += (x[j * n + i] - mu) * (x[j * n + i] - mu) / double(b);
      mean[i] = mu;
      var[i] = v;
      const double sd = std::sqrt(v + eps);
      // dL/dxhat, dL/dvar, dL/dmu, then dL/dx (the paper's chain, term by term)
      double dvar = 0, dmu = 0;
      for (std::size_t j = 0; j < b; ++j) {
        const double xh = (x[j * n + i] - mu) / sd;
        y[j * n + i] = gamma[i] * xh + beta[i];
        dgamma[i] += dy[j * n + i] * xh;
        dbeta[i] += dy[j * n + i];
        const double dxh = dy[j * n + i] * gamma[i];
        dvar += dxh * (x[j * n + i] - mu) * -0.5 * std::pow(v + eps, -1.5);
        dmu += -dxh / sd;
      }
      for (std::size_t j = 0; j < b; ++j) dmu += dvar * -2.0 * (x[j * n + i] - mu) / double(b);
      for (std::size_t j = 0; j < b; ++j) {
        const double dxh = dy[j * n + i] * gamma[i];
        dx[j * n + i] = dxh / sd + dvar * 2.0 * (x[j * n + i] - mu) / double(b) + dmu / double(b);
      }
    }
  }
};

TEST(BatchNorm, TrainingModeMatchesTheTextbookForwardAndBackward) {
  HostBN r{5, 9, nn_test::uniform(45, -2, 3, 4), nn_test::uniform(5, 0.5, 2, 5), nn_test::uniform(5, -1, 1, 6),
           nn_test::uniform(45, -1, 1, 7)};
  r.run();
  nn::BatchNorm<double> bn(5, 0.1, 1e-5);
  copy_into(bn.scale().value, r.gamma);
  copy_into(bn.shift().value, r.beta);
  ad::Tape tape;
  auto xv = tape.variable(device<double>(r.x, 5, 9));
  auto y = bn.forward(tape, xv, nn::Mode::train, true);
  tape.seed(y, device<double>(r.dy, 5, 9));
  auto hy = host(y.value()), hdx = host(tape.grad(xv));
  auto hdg = host(tape.grad(bn.scale().var)), hdb = host(tape.grad(bn.shift().var));
  auto rm = host(bn.running_mean().value), rv = host(bn.running_var().value);
  for (std::size_t i = 0; i < 5; ++i) {
    for (std::size_t j = 0; j < 9; ++j) {
      EXPECT_TRUE(close(hy(i, j), r.y[j * 5 + i], 1e-12, 1e-13));
      EXPECT_TRUE(close(hdx(i, j), r.dx[j * 5 + i], 1e-9, 1e-11)) << i << "," << j;
    }
    EXPECT_TRUE(close(hdg(i, 0), r.dgamma[i], 1e-12, 1e-13));
    EXPECT_TRUE(close(hdb(i, 0), r.dbeta[i], 1e-12, 1e-13));
    // running statistics: momentum 0.1 from (0, 1), unbiased variance (Flux, PyTorch)
    EXPECT_TRUE(close(rm(i, 0), 0.1 * r.mean[i], 1e-12, 1e-14));
    EXPECT_TRUE(close(rv(i, 0), 0.9 + 0.1 * r.var[i] * 9.0 / 8.0, 1e-12, 1e-14));
  }
}

TEST(BatchNorm, InferenceModeUsesRunningStatistics) {
  const std::size_t n = 4, b = 6;
  const auto x = nn_test::uniform(n * b, -2, 2, 8), g = nn_test::uniform(n, 0.5, 2, 9),
             be = nn_test::uniform(n, -1, 1, 10), rm = nn_test::uniform(n, -0.5, 0.5, 11),
             rv = nn_test::uniform(n, 0.5, 2, 12), dy = nn_test::uniform(n * b, -1, 1, 13);
  nn::BatchNorm<double> bn(n);
  copy_into(bn.scale().value, g);
  copy_into(bn.shift().value, be);
  copy_into(bn.running_mean().value, rm);
  copy_into(bn.running_var().value, rv);
  ad::Tape tape;
  auto xv = tape.variable(device<double>(x, n, b));
  auto y = bn.forward(tape, xv, nn::Mode::test, true);
  tape.seed(y, device<double>(dy, n, b));
  auto hy = host(y.value()), hdx = host(tape.grad(xv)), hdg = host(tape.grad(bn.scale().var)),
       hdb = host(tape.grad(bn.shift().var));
  auto rm_after = host(bn.running_mean().value);
  for (std::size_t i = 0; i < n; ++i) {
    const double sd = std::sqrt(rv[i] + 1e-5);
    double sg = 0, sb = 0;
    for (std::size_t j = 0; j < b; ++j) {
      const double xh = (x[j * n + i] - rm[i]) / sd;
      EXPECT_TRUE(close(hy(i, j), g[i] * xh + be[i], 1e-13, 1e-14));
      EXPECT_TRUE(close(hdx(i, j), dy[j * n + i] * g[i] / sd, 1e-13, 1e-14));
      sg += dy[j * n + i] * xh;
      sb += dy[j * n + i];
    }
    EXPECT_TRUE(close(hdg(i, 0), sg, 1e-12, 1e-13));
    EXPECT_TRUE(close(hdb(i, 0), sb, 1e-12, 1e-13));
    EXPECT_EQ(rm_after(i, 0), rm[i]);  // inference leaves the statistics alone
  }
}

TEST(Softmax, ForwardAndBackwardMatchTheHost) {
  const std::size_t c = 4, b = 3;
  const auto x = nn_test::uniform(c * b, -30, 30, 14), dy = nn_test::uniform(c * b, -1, 1, 15);
  ad::Tape tape;
  auto xv = tape.variable(device<double>(x, c, b));
  auto y = nn::Softmax<double>().forward(tape, xv, nn::Mode::train, false);
  tape.seed(y, device<double>(dy, c, b));
  auto hy = host(y.value()), hdx = host(tape.grad(xv));
  for (std::size_t j = 0; j < b; ++j) {
    double m = -1e300, s = 0, dot = 0;
    for (std::size_t i = 0; i < c; ++i) m = std::max(m, x[j * c + i]);
    for (std::size_t i = 0; i < c; ++i) s += std::exp(x[j * c + i] - m);
    std::vector<double> p(c);
    for (std::size_t i = 0; i < c; ++i) p[i] = std::exp(x[j * c + i] - m) / s;
    for (std::size_t i = 0; i < c; ++i) dot += p[i] * dy[j * c + i];
    for (std::size_t i = 0; i < c; ++i) {
      EXPECT_TRUE(close(hy(i, j), p[i], 1e-13, 1e-300));
      EXPECT_TRUE(close(hdx(i, j), p[i] * (dy[j * c + i] - dot), 1e-12, 1e-15));
    }
  }
}

// The loss of `model` on (x, y) for the given loss function, with parameters as they are now.
using LossFn = std::function<ad::Var<double, 0>(ad::Tape&, const ad::Var<double, 2>&, const ad::Var<double, 2>&)>;

void check_gradient(nn::Chain<double>& model, const Mat& x, const Mat& y, const LossFn& loss, bool stop_before_softmax) {
  ad::Tape tape;
  auto out = model.forward(tape, tape.constant(x), nn::Mode::train, true, stop_before_softmax);
  auto l = loss(tape, out, tape.constant(y));
  tape.backward(l);
  auto params = model.trainable_parameters();
  std::vector<Kokkos::View<double**, Kokkos::LayoutLeft, Kokkos::HostSpace>> grads;
  for (auto* p : params) grads.push_back(host(tape.grad(p->var)));
  auto eval = [&] {
    ad::Tape t;
    auto o = model.forward(t, t.constant(x), nn::Mode::train, false, stop_before_softmax);
    double v;
    Kokkos::deep_copy(v, loss(t, o, t.constant(y)).value().view());
    return v;
  };
  const double h = 1e-6;
  std::size_t checked = 0;
  for (std::size_t k = 0; k < params.size(); ++k) {
    auto hv = host(params[k]->value);
    for (std::size_t e = 0; e < hv.size(); ++e) {
      const double orig = hv.data()[e];
      hv.data()[e] = orig + h;
      Kokkos::deep_copy(params[k]->value.view(), hv);
      const double fp = eval();
      hv.data()[e] = orig - h;
      Kokkos::deep_copy(params[k]->value.view(), hv);
      const double fm = eval();
      hv.data()[e] = orig;
      Kokkos::deep_copy(params[k]->value.view(), hv);
      const double fd = (fp - fm) / (2 * h);
      EXPECT_TRUE(close(grads[k].data()[e], fd, 1e-5, 1e-8)) << "parameter " << k << " (" << params[k]->name
                                                             << ") element " << e;
      ++checked;
    }
  }
  EXPECT_EQ(checked, model.num_trainable());
}

TEST(Gradient, WholeNetworkWithEveryActivationAndBatchNormMatchesFiniteDifferences) {
  nn::Chain<double> m(nn::Dense<double>(3, 6, nn::Activation::tanh), nn::BatchNorm<double>(6),
                      nn::Dense<double>(6, 5, nn::Activation::gelu), nn::Dense<double>(5, 5, nn::Activation::softplus),
                      nn::Dense<double>(5, 4, nn::Activation::sigmoid),
                      nn::Dense<double>(4, 4, nn::Activation::leaky_relu),
                      nn::Dense<double>(4, 4, nn::Activation::relu), nn::Dense<double>(4, 3), nn::Softmax<double>());
  m.init(nabla::random::key(21));
  const std::size_t b = 7;
  const auto x = device<double>(nn_test::uniform(3 * b, -2, 2, 16), 3, b);
  const auto y = nn::one_hot<double>({0, 2, 1, 1, 0, 2, 2}, 3);
  // fused cross-entropy from logits (the softmax layer skipped)
  check_gradient(m, x, y, [](ad::Tape& t, const ad::Var<double, 2>& o, const ad::Var<double, 2>& yy) {
    return nn::logit_cross_entropy(t, o, yy);
  }, true);
  // cross-entropy of the softmax output (through the softmax layer's backward)
  check_gradient(m, x, y, [](ad::Tape&, const ad::Var<double, 2>& o, const ad::Var<double, 2>& yy) {
    return nn::cross_entropy(o, yy);
  }, false);
}

TEST(Gradient, RegressionAndBinaryLossesMatchFiniteDifferences) {
  nn::Chain<double> m(nn::Dense<double>(2, 5, nn::Activation::tanh), nn::Dense<double>(5, 2, nn::Activation::sigmoid));
  m.init(nabla::random::key(3));
  const std::size_t b = 6;
  const auto x = device<double>(nn_test::uniform(2 * b, -2, 2, 17), 2, b);
  const auto y = device<double>(nn_test::uniform(2 * b, 0, 1, 18), 2, b);
  check_gradient(m, x, y, [](ad::Tape&, const ad::Var<double, 2>& o, const ad::Var<double, 2>& yy) {
    return nn::mse(o, yy);
  }, false);
  check_gradient(m, x, y, [](ad::Tape&, const ad::Var<double, 2>& o, const ad::Var<double, 2>& yy) {
    return nn::binary_cross_entropy(o, yy);
  }, false);
  check_gradient(m, x, y, [](ad::Tape&, const ad::Var<double, 2>& o, const ad::Var<double, 2>& yy) {
    return nn::binary_cross_entropy_logits(o, yy);
  }, false);
}

}  // namespace
