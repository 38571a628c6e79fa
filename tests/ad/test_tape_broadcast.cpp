// Broadcast nodes of the tape: every extrusion pattern, host lane blocks and the HM-LSTM cell, each gradient
// against central differences and float against double.
#include "gradient_check.hpp"

using namespace nabla_test;

namespace {

TEST(Tape, FusedEightOpExpressionGradient) {
  auto f = [](auto a, auto b, auto c, auto d) { return ad::sum((a + b) * (c - d) + (a * c - b * d) * a); };
  check_gradients(f, 1e-7, 1e-9, rvec(13, 1), rvec(13, 2), rvec(13, 3), rvec(13, 4));
}

// Every way a rank-2 operand can broadcast against a (5, 4) result, plus lower-rank operands.
TEST(Tape, BroadcastAdjointsSumOverEveryExtrusionPattern) {
  auto m = rmat(5, 4, 7);
  auto f_row = [](auto a, auto b) { return ad::sum(ad::eval(a * b + ad::sin(b)) * a); };
  check_gradients(f_row, 1e-7, 1e-9, m, rmat(1, 4, 8));
  check_gradients(f_row, 1e-7, 1e-9, m, rmat(5, 1, 9));
  check_gradients(f_row, 1e-7, 1e-9, m, rmat(1, 1, 10));
  check_gradients(f_row, 1e-7, 1e-9, m, rvec(5, 11));  // a vector is a column
  check_gradients(f_row, 1e-7, 1e-9, rmat(1, 4, 12), rmat(5, 1, 13));  // both extruded, result (5, 4)
  auto f_sum = [](auto a, auto b) { return ad::sum(a * ad::exp(b)); };  // extrusion inside a fused sum
  check_gradients(f_sum, 1e-7, 1e-9, m, rmat(1, 4, 14));
  check_gradients(f_sum, 1e-7, 1e-9, m, rvec(5, 15));
}

// Host reverse kernels take 16 elements of dimension 0 per lane loop: full blocks and tails, flat and
// through strides (a row operand makes the result non-flat), writing and adding into adjoints.
TEST(Tape, LaneBlocksAndTails) {
  auto f_rows = [](auto a, auto b) { return ad::sum(ad::eval(a * b - ad::cos(b)) * a); };
  check_gradients(f_rows, 1e-7, 1e-9, rmat(37, 3, 51), rmat(1, 3, 52));
  check_gradients(f_rows, 1e-7, 1e-9, rmat(37, 3, 53), rmat(37, 1, 54));
  auto f_flat = [](auto a, auto b) {
    auto y = ad::eval(a * b + a);
    // Means keep |f| near 1, so the differences' round-off (~1e-10 |f|) stays under the bound.
    return ad::sum(ad::mean(y * y * b + a) + ad::mean(ad::eval(y * a)));  // the outer sum has rank 0
  };
  check_gradients(f_flat, 1e-7, 1e-9, rvec(50, 55), rvec(50, 56));
  check_gradients(f_flat, 1e-7, 1e-9, rmat(16, 2, 57), rmat(16, 2, 58));
}

// The HM-LSTM cell of perf/ad: fused into one node (data-dependent branches, z and zb broadcast along
// dimension 0) and as one node per operation; each against differences, and the two against each other.
TEST(Tape, HmLstmCellFusedAndUnfused) {
  nabla::Array<double, 2> z({1, 5}), zb({1, 5});  // rows
  {
    auto hz = Kokkos::create_mirror_view(z.view()), hzb = Kokkos::create_mirror_view(zb.view());
    const double zs[5] = {1, 0, 0, 1, 0}, zbs[5] = {0, 1, 0, 1, 1};  // every (z, zb) pair
    for (int j = 0; j < 5; ++j) hz(0, j) = zs[j], hzb(0, j) = zbs[j];
    Kokkos::deep_copy(z.view(), hz);
    Kokkos::deep_copy(zb.view(), hzb);
  }
  auto sig = [](const auto& x) { return 1.0 / (1.0 + ad::exp(-x)); };
  auto fused = [=](auto c, auto f, auto i, auto g) {
    auto h = ad::eval(ad::where(like(c, z) == 1.0, sig(i) * ad::tanh(g),
                                ad::where(like(c, zb) == 0.0, c, sig(f) * c + sig(i) * ad::tanh(g))));
    return ad::sum(h * h);
  };
  auto unfused = [=](auto c, auto f, auto i, auto g) {
    auto si = ad::eval(sig(i));
    auto tg = ad::eval(ad::tanh(g));
    auto a = ad::eval(si * tg);
    auto b = ad::eval(ad::eval(sig(f)) * c);
    auto s = ad::eval(b + a);
    auto inner = ad::eval(ad::where(like(c, zb) == 0.0, c, s));
    auto h = ad::eval(ad::where(like(c, z) == 1.0, a, inner));
    return ad::sum(h * h);
  };
  const auto c = rmat(6, 5, 70), f = rmat(6, 5, 71), i = rmat(6, 5, 72), g = rmat(6, 5, 73);
  check_gradients(fused, 1e-7, 1e-9, c, f, i, g);
  check_gradients(unfused, 1e-7, 1e-9, c, f, i, g);
  const auto gf = ad::value_and_grad(fused, c, f, i, g).second;
  const auto gu = ad::value_and_grad(unfused, c, f, i, g).second;
  compare_gradients(gf, gu, 1e-14, std::index_sequence_for<int, int, int, int>{});
}

}  // namespace
