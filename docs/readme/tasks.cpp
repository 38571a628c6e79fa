#include <nabla/core.hpp>
#include <nabla/core/tasks.hpp>
// [checks]
#include <cmath>
#include <cstdio>
// [/checks]
using namespace nabla;

int main(int argc, char** argv) {
  ScopeGuard runtime(argc, argv);
  std::vector<Array<double, 1>> models;                       // eight independent problems of different sizes
  for (int i = 0; i < 8; ++i) models.push_back(linspace<double>(0.0, 1.0, 1000 << i));
  double total = tasks::sequential([&](tasks::Group& g) {
    g.then("scale", [&](const auto& space) { assign(space, models[0], 2.0 * models[0]); });  // first, alone
    auto norms = g.bulk("forward", models.size(), [&](std::size_t i, const auto& space) {   // all at once, each
      assign(space, models[i], exp(-models[i]) * sin(models[i]));                          // on a partition
      return sum(space, models[i] * models[i]);
    });
    return g.then("combine", [&](const auto&) {               // after every task of the bulk has finished
      double t = 0.0;
      for (double n : norms) t += n;
      return t;
    });
  });
  // [checks]
  double expect = 0.0;
  for (int i = 0; i < 8; ++i) {
    const std::size_t n = std::size_t(1000) << i;
    for (std::size_t j = 0; j < n; ++j) {
      const double x = (i == 0 ? 2.0 : 1.0) * double(j) / double(n - 1);
      expect += std::pow(std::exp(-x) * std::sin(x), 2);
    }
  }
  if (std::abs(total - expect) > 1e-9 * expect) {
    std::fprintf(stderr, "tasks snippet: total %.17g, the loop gives %.17g\n", total, expect);
    return 1;
  }
  // [/checks]
}
