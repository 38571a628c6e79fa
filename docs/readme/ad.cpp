#include <nabla/ad.hpp>
namespace ad = nabla::ad;

int main(int argc, char** argv) {
  nabla::ScopeGuard runtime(argc, argv);
  nabla::Array<double, 2> w({4, 4}), x({4, 5});               // weights, and 5 inputs as columns
  nabla::assign(w, nabla::random::normal_expr<double>(nabla::random::key(1), w.shape()));
  nabla::assign(x, nabla::random::normal_expr<double>(nabla::random::key(2), x.shape()));
  auto f = [](auto x, auto w) {                               // Vars in, a rank-0 Var out
    auto h = ad::eval(ad::tanh(ad::matmul(w, x)) * 0.5 + x);  // one fused broadcast = ONE tape node
    return ad::sum(h * h);                                    // sum of a fused expression: one node
  };
  auto [value, grads] = ad::value_and_grad(f, x, w);          // (double, tuple of Arrays shaped like x, w)
  const double t0 = 0.5;
  double dfdt = ad::derivative([](auto t) { return t * ad::sin(t); }, ad::wrt(t0), ad::at(t0));
  // [checks] Central differences and calculus; run by CTest (readme.ad).
  int failures = 0;
  auto at = [&](const nabla::Array<double, 2>& xs, const nabla::Array<double, 2>& ws) {
    ad::Tape tape;
    double v = 0;
    Kokkos::deep_copy(v, f(tape.constant(xs), tape.constant(ws)).value().view());
    return v;
  };
  failures += std::abs(value - at(x, w)) > 1e-12 * std::abs(value);
  const auto gw = nabla::to_host(std::get<1>(grads));
  for (std::size_t k = 0; k < 16; k += 5) {  // a few weights, by central differences
    const double h = 1e-6;
    auto step = [&](double s) {
      auto wp = nabla::copy(w);
      auto hw = nabla::to_host(wp);
      hw.view().data()[k] += s;
      Kokkos::deep_copy(wp.view(), hw.view());
      return at(x, wp);
    };
    const double fd = (step(h) - step(-h)) / (2 * h);
    failures += std::abs(gw.view().data()[k] - fd) > 1e-6 * std::max(1.0, std::abs(fd));
  }
  failures += std::abs(dfdt - (std::sin(t0) + t0 * std::cos(t0))) > 1e-14;
  std::printf("ad: f = %.12g, df/dt = %.15g: %s\n", value, dfdt, failures ? "FAILED" : "ok");
  return failures ? 1 : 0;
  // [/checks]
}
