// gemm/gemv/matmul against triple loops on the host, for every transpose combination and both precisions.
#include "test_util.hpp"

using nabla_test::close;
using nabla_test::fill_random;
using nabla_test::host;

namespace {

template <class T>
void check_gemm(std::size_t m, std::size_t n, std::size_t k, char ta, char tb, double tol) {
  SCOPED_TRACE(std::string("m n k = ") + std::to_string(m) + " " + std::to_string(n) + " " + std::to_string(k) +
               " " + ta + tb);
  const bool at = ta == 'T', bt = tb == 'T';
  nabla::Array<T, 2> a({at ? k : m, at ? m : k}), b({bt ? n : k, bt ? k : n}), c({m, n});
  fill_random(a.view(), -1, 1, 1);
  fill_random(b.view(), -1, 1, 2);
  fill_random(c.view(), -1, 1, 3);
  const auto ha = host(a), hb = host(b), hc = host(nabla::copy(c));
  nabla::gemm(ta, tb, T(1.5), a, b, T(0.5), c);
  const auto r = host(c);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      double acc = 0;
      for (std::size_t p = 0; p < k; ++p) acc += double(at ? ha(p, i) : ha(i, p)) * double(bt ? hb(j, p) : hb(p, j));
      ASSERT_TRUE(close(r(i, j), 1.5 * acc + 0.5 * double(hc(i, j)), tol, tol)) << i << "," << j;
    }
}

TEST(Blas, GemmEveryTransposeDouble) {
  for (char ta : {'N', 'T'})
    for (char tb : {'N', 'T'}) {
      check_gemm<double>(13, 7, 5, ta, tb, 1e-13);
      check_gemm<double>(64, 33, 70, ta, tb, 1e-12);
      check_gemm<double>(1, 1, 1, ta, tb, 1e-14);
    }
}

TEST(Blas, GemmEveryTransposeFloat) {
  for (char ta : {'N', 'T'})
    for (char tb : {'N', 'T'}) check_gemm<float>(31, 17, 40, ta, tb, 1e-4);
}

TEST(Blas, GenericGemmForOtherElementTypes) {
  nabla::Array<long, 2> a({3, 2}), b({2, 4}), c({3, 4});
  nabla::assign(a, nabla::cast<long>(nabla::reshape(nabla::arange<double>(0, 6), nabla::Shape<2>{3, 2})));
  nabla::assign(b, 2L);
  nabla::gemm('N', 'N', 1L, a, b, 0L, c);
  const auto ha = host(a), hc = host(c);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) EXPECT_EQ(hc(i, j), 2 * (ha(i, 0) + ha(i, 1)));
}

TEST(Blas, GemvAndMatmul) {
  nabla::Array<double, 2> a({6, 4});
  nabla::Array<double, 1> x({4}), y({6}), xt({6}), yt({4});
  fill_random(a.view(), -1, 1, 5);
  fill_random(x.view(), -1, 1, 6);
  fill_random(xt.view(), -1, 1, 7);
  nabla::gemv('N', 1.0, a, x, 0.0, y);
  nabla::gemv('T', 2.0, a, xt, 0.0, yt);
  const auto ha = host(a);
  const auto hx = host(x), hy = host(y), hxt = host(xt), hyt = host(yt);
  for (int i = 0; i < 6; ++i) {
    double acc = 0;
    for (int j = 0; j < 4; ++j) acc += ha(i, j) * hx(j);
    EXPECT_TRUE(close(hy(i), acc, 1e-14, 1e-14));
  }
  for (int j = 0; j < 4; ++j) {
    double acc = 0;
    for (int i = 0; i < 6; ++i) acc += ha(i, j) * hxt(i);
    EXPECT_TRUE(close(hyt(j), 2 * acc, 1e-14, 1e-14));
  }
  auto p = host(nabla::matmul(a, a, 'T', 'N'));  // 4 x 4 Gram matrix
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) {
      double acc = 0;
      for (int r = 0; r < 6; ++r) acc += ha(r, i) * ha(r, j);
      EXPECT_TRUE(close(p(i, j), acc, 1e-13, 1e-13));
    }
}

TEST(Blas, ShapeMismatchesAreErrorsNamingTheShapes) {
  nabla::Array<double, 2> a({3, 4}), b({5, 2}), c({3, 2});
  try {
    nabla::gemm('N', 'N', 1.0, a, b, 0.0, c);
    FAIL() << "expected a ShapeError";
  } catch (const nabla::ShapeError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("(3, 4)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("(5, 2)"), std::string::npos) << msg;
  }
  EXPECT_THROW(nabla::gemm('X', 'N', 1.0, a, b, 0.0, c), nabla::ValueError);
  nabla::Array<double, 1> x({3}), y({3});
  EXPECT_THROW(nabla::gemv('N', 1.0, a, x, 0.0, y), nabla::ShapeError);
  EXPECT_THROW(nabla::matmul(a, b), nabla::ShapeError);
}

}  // namespace
