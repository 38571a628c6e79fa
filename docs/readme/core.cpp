#include <nabla/core.hpp>
using namespace nabla;

int main(int argc, char** argv) {
  ScopeGuard runtime(argc, argv);                             // Kokkos up; down at the end of main
  auto x = linspace<double>(0.0, 1.0, 1000);                  // Array<double, 1>, column-major
  Array<double, 2> m({1000, 3});                              // a vector is a column: it fills each one
  assign(m, 2.0 * x + sin(x) * x);                            // matrix <- vector: broadcast, ONE kernel
  auto y = eval(where(m > 1.0, exp(-m), m) / (1.0 + m * m));  // any expression: ONE kernel, new Array
  double s = sum(y * y);                                      // fused map-reduce: ONE parallel_reduce
  auto row_means = mean(m, axis(1));                          // along an axis: shape (1000,)
  auto heads = count(random::uniform_expr<double>(random::key(42), Shape<1>{1000000}) < 0.5);
  // [checks] Host loops; run by CTest (readme.core) and by the installed-package test.
  int failures = 0;
#if defined(NABLA_CONSUMER_PORTABLE) && defined(__AVX__)
  std::printf("NABLA_HOST_ARCH=x86-64 was asked for, but this file was compiled with AVX\n");
  ++failures;
#endif
  double want = 0;
  for (int i = 0; i < 1000; ++i) {
    const double v = i / 999.0, mv = 2 * v + std::sin(v) * v;
    const double yv = (mv > 1 ? std::exp(-mv) : mv) / (1 + mv * mv);
    want += 3 * yv * yv;
  }
  const auto hr = to_host(row_means);
  const double v7 = 7 / 999.0;
  failures += std::abs(s - want) > 1e-9 * want;
  failures += std::abs(hr.view()(7) - (2 * v7 + std::sin(v7) * v7)) > 1e-12;
  failures += std::abs(double(heads) - 500000.0) > 5 * 500.0;  // 5 binomial standard deviations
  std::printf("Nabla %s, core: sum = %.12g (host loop %.12g), heads = %ld: %s\n", NABLA_VERSION_STRING, s, want,
              long(heads), failures ? "FAILED" : "ok");
  return failures ? 1 : 0;
  // [/checks]
}
