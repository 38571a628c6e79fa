/// \file 04_broadcast_tour.cpp
/// \brief Example 4: a tour of fused broadcasting — each step prints how many kernels it launched
/// (counted with Kokkos Tools callbacks) and checks its result against a plain host loop.
///
///   ./04_broadcast_tour --n 4000000
#include "common/driver.hpp"

#include <nabla/ad.hpp>

#include <cmath>
#include <functional>

namespace {

/// A user's scalar function, fused into expressions with nabla::map. Generic, so ad can differentiate it.
struct SoftClip {
  template <class T, class L>
  KOKKOS_INLINE_FUNCTION T operator()(const T& x, const L& limit) const {
    using nabla::math::tanh;
    return limit * tanh(x / limit);
  }
};

struct Tour {
  int failures = 0;
  nabla::examples::Summary summary;

  /// Runs `step`, prints its kernel count and wall time, records both, and checks `ok`.
  double step(const std::string& name, const std::function<void()>& body) {
    nabla::tools::KernelCounter kernels;
    Kokkos::Timer timer;
    body();
    Kokkos::fence();
    const double ms = timer.seconds() * 1e3;
    std::printf("  %-44s %2zu kernel(s) %9.3f ms\n", name.c_str(), kernels.count(), ms);
    summary.set(name + ".kernels", double(kernels.count()));
    summary.set(name + ".ms", ms);
    return double(kernels.count());
  }
  void check(const std::string& what, bool ok) {
    std::printf("  check %-38s %s\n", what.c_str(), ok ? "ok" : "FAILED");
    failures += !ok;
  }
};

}  // namespace

int main(int argc, char** argv) {
  nabla::ScopeGuard runtime(argc, argv);
  nabla::examples::BroadcastTourOptions o;
  if (int rc = nabla::examples::parse(o, argc, argv); rc >= 0) return rc;
  const std::size_t n = o.n;
  const std::string& out_dir = o.out;

  using namespace nabla;
  Tour tour;
  std::printf("Broadcast tour, n = %zu, %s with %d thread(s)\n", n, Kokkos::DefaultExecutionSpace::name(),
              Kokkos::DefaultExecutionSpace().concurrency());

  // 1. Inputs from the counter-based RNG (a lazy random leaf fused into the assignment).
  Array<double, 1> x({n}, "x"), w({n}, "w"), y({n}, "y");
  tour.step("1 random inputs (2 fused assigns)", [&] {
    assign(x, random::normal_expr<double>(random::key(1), x.shape()));
    assign(w, random::uniform_expr<double>(random::key(2), w.shape()) - 0.5);
  });

  // 2. One expression of 9 operations: ONE kernel; the same op by op: 9 kernels and 9 temporaries' traffic.
  const double fused_kernels =
      tour.step("2a fused: y = sin(x)*x + exp(-x*x)*w - w/2", [&] { assign(y, sin(x) * x + exp(-x * x) * w - w / 2.0); });
  Array<double, 1> t1({n}), t2({n}), t3({n});
  tour.step("2b unfused, one op at a time", [&] {
    assign(t1, sin(x));
    assign(t1, t1 * x);
    assign(t2, x * x);
    assign(t2, -t2);
    assign(t2, exp(t2));
    assign(t2, t2 * w);
    assign(t3, w / 2.0);
    assign(t1, t1 + t2);
    assign(t1, t1 - t3);
  });
  tour.check("fused step launched one kernel", fused_kernels == 1);
  tour.check("fused == unfused", max(abs(y - t1)) == 0.0);

  // 3. A fused reduction: the expression is never stored.
  double s = 0;
  tour.step("3 sum(y * y): map-reduce, no temporary", [&] { s = sum(y * y); });
  const auto hy = to_host(y);
  double ref = 0;
  for (std::size_t i = 0; i < n; ++i) ref += hy.view()(i) * hy.view()(i);
  tour.check("reduction vs host loop", std::abs(s - ref) <= 1e-10 * ref);

  // 4. Broadcasting, Julia's rule (dimensions align from the first; a vector is a column): a (4, n/4) matrix
  // minus its column means as a (1, n/4) row, plus a vector of length 4.
  const std::size_t cols = n / 4;
  auto m = reshape(x, Shape<2>{4, cols});                   // no copy
  auto row = reshape(mean(m, axis(0)), Shape<2>{1, cols});  // no copy
  Array<double, 1> col({4});
  Array<double, 2> centred({4, cols});
  assign(col, 1.0);
  tour.step("4 centred = m - row + col (broadcast)", [&] { assign(centred, m - row + col); });
  tour.check("column means of centred are 1", max(abs(mean(centred, axis(0)) - 1.0)) < 1e-12);

  // 5. A user functor fused with built-in operations.
  tour.step("5 map(SoftClip, x, 2) * w", [&] { assign(y, map(SoftClip{}, x, 2.0) * w); });
  tour.check("functor vs host formula", std::abs(to_host(y).view()(0) - 2 * std::tanh(to_host(x).view()(0) / 2) *
                                                                            to_host(w).view()(0)) < 1e-14);

  // 6. A gradient through the fused broadcast: forward and backward run as ONE kernel.
  Array<double, 1> g;
  double loss = 0;
  tour.step("6 grad of sum(map(SoftClip,x,2)*w) wrt x", [&] {
    auto [value, grads] = ad::value_and_grad(
        [](auto xv, auto wv) { return ad::sum(ad::map(SoftClip{}, xv, 2.0) * wv); }, x, w);
    loss = value;
    g = std::get<0>(grads);
  });
  const auto hx = to_host(x), hw = to_host(w), hg = to_host(g);
  double worst = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double t = std::tanh(hx.view()(i) / 2);
    worst = std::max(worst, std::abs(hg.view()(i) - (1 - t * t) * hw.view()(i)));
  }
  tour.check("gradient vs analytic (1 - tanh^2) w", worst < 1e-14);
  tour.summary.set("n", double(n));
  tour.summary.set("loss", loss);
  tour.summary.set("gradient_max_error", worst);
  tour.summary.set("failures", double(tour.failures));
  io::make_directories(out_dir);
  tour.summary.write(out_dir + "/summary.json");
  std::printf("%s (summary in %s/summary.json)\n", tour.failures ? "SOME CHECKS FAILED" : "all checks passed",
              out_dir.c_str());
  return tour.failures ? 1 : 0;
}
