// gemm/gemv/matmul against triple loops on the host, for every transpose combination and both precisions.
#include "test_util.hpp"

#include <nabla/core/timeline.hpp>

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

// Host triple loops: C = alpha op(A) op(B) + beta C0 and y = alpha op(A) x + beta y0 on any host views.
template <class AV, class BV, class C0, class CV>
void expect_gemm(char ta, char tb, double alpha, const AV& a, const BV& b, double beta, const C0& c0, const CV& c,
                 double tol) {
  const bool at = ta == 'T', bt = tb == 'T';
  for (std::size_t i = 0; i < c.extent(0); ++i)
    for (std::size_t j = 0; j < c.extent(1); ++j) {
      double acc = 0;
      for (std::size_t p = 0; p < (at ? a.extent(0) : a.extent(1)); ++p)
        acc += double(at ? a(p, i) : a(i, p)) * double(bt ? b(j, p) : b(p, j));
      ASSERT_TRUE(close(double(c(i, j)), alpha * acc + beta * double(c0(i, j)), tol, tol)) << i << "," << j;
    }
}

template <class AV, class XV, class Y0, class YV>
void expect_gemv(char t, double alpha, const AV& a, const XV& x, double beta, const Y0& y0, const YV& y, double tol) {
  const bool at = t == 'T';
  for (std::size_t i = 0; i < y.extent(0); ++i) {
    double acc = 0;
    for (std::size_t p = 0; p < x.extent(0); ++p) acc += double(at ? a(p, i) : a(i, p)) * double(x(p));
    ASSERT_TRUE(close(double(y(i)), alpha * acc + beta * double(y0(i)), tol, tol)) << i;
  }
}

// LayoutRight matrices go to Kokkos Kernels as LayoutLeft ones do; strided views and mixed layouts take the generic
// kernels. Every route agrees with the loops.
TEST(Blas, GemmAndGemvOnEveryLayout) {
  using Right = nabla::Array<double, 2, nabla::DefaultMemorySpace, Kokkos::LayoutRight>;
  Right a({9, 6}), b({6, 5}), bt({5, 6}), c({9, 5});
  nabla::Array<double, 2> left({6, 5}), big({12, 10});
  nabla::Array<double, 1> x({6}), y({9}), yt({6});
  fill_random(a.view(), -1, 1, 11);
  fill_random(b.view(), -1, 1, 12);
  fill_random(bt.view(), -1, 1, 13);
  fill_random(c.view(), -1, 1, 14);
  fill_random(left.view(), -1, 1, 15);
  fill_random(big.view(), -1, 1, 16);
  fill_random(x.view(), -1, 1, 17);
  fill_random(y.view(), -1, 1, 18);
  fill_random(yt.view(), -1, 1, 19);
  const auto ha = host(a), hb = host(b), hbt = host(bt);
  const auto hl = host(left), hbig = host(big);
  const auto hx = host(x);
  const auto rows = Kokkos::make_pair(2, 11), cols = Kokkos::make_pair(1, 7);
  // A 9 x 6 block of `big` (LayoutLeft with a leading dimension of 12 in Kokkos 4, LayoutStride before), the
  // same rows read with other strides, and a row of `big` (6 elements, stride 12).
  const auto block = Kokkos::subview(big.view(), rows, cols);
  const auto hblock = Kokkos::subview(hbig, rows, cols);
  using Strided = Kokkos::View<double**, Kokkos::LayoutStride, nabla::DefaultMemorySpace, Kokkos::MemoryUnmanaged>;
  using HostStrided = Kokkos::View<double**, Kokkos::LayoutStride, Kokkos::HostSpace, Kokkos::MemoryUnmanaged>;
  const Kokkos::LayoutStride strides(9, 12, 6, 1);
  const Strided strided(big.view().data(), strides);
  const HostStrided hstrided(hbig.data(), strides);
  const auto row = Kokkos::subview(big.view(), 3, cols);
  const auto hrow = Kokkos::subview(hbig, 3, cols);

  auto c0 = host(nabla::copy(c));
  nabla::gemm('N', 'N', 1.5, a, b, 0.5, c);
  expect_gemm('N', 'N', 1.5, ha, hb, 0.5, c0, host(c), 1e-13);
  c0 = host(nabla::copy(c));
  nabla::gemm('N', 'T', 1.0, a, bt, 2.0, c);
  expect_gemm('N', 'T', 1.0, ha, hbt, 2.0, c0, host(c), 1e-13);
  c0 = host(nabla::copy(c));
  nabla::gemm('N', 'N', 2.0, a, left, -1.0, c);  // mixed layouts
  expect_gemm('N', 'N', 2.0, ha, hl, -1.0, c0, host(c), 1e-13);
  c0 = host(nabla::copy(c));
  nabla::gemm('N', 'N', 1.0, block, b, 0.0, c);  // a block of a larger matrix
  expect_gemm('N', 'N', 1.0, hblock, hb, 0.0, c0, host(c), 1e-13);
  nabla::Array<double, 2> c_left({9, 5});
  nabla::assign(c_left, c);
  auto cl = nabla::copy(left);
  const auto cl0 = host(left);
  nabla::gemm('T', 'N', 1.0, block, c_left, 1.0, cl);  // all LayoutLeft in Kokkos 4, A a block
  expect_gemm('T', 'N', 1.0, hblock, host(c_left), 1.0, cl0, host(cl), 1e-13);
  c0 = host(nabla::copy(c));
  nabla::gemm('N', 'N', -1.0, strided, b, 1.0, c);  // strided
  expect_gemm('N', 'N', -1.0, hstrided, hb, 1.0, c0, host(c), 1e-13);

  auto y0 = host(nabla::copy(y));
  nabla::gemv('N', 1.5, a, x, 0.5, y);
  expect_gemv('N', 1.5, ha, hx, 0.5, y0, host(y), 1e-13);
  y0 = host(nabla::copy(y));
  nabla::gemv('N', 1.0, a, row, 1.0, y);  // strided x
  expect_gemv('N', 1.0, ha, hrow, 1.0, y0, host(y), 1e-13);
  auto yt0 = host(nabla::copy(yt));
  nabla::gemv('T', -2.0, a, y, 0.0, yt);
  expect_gemv('T', -2.0, ha, host(y), 0.0, yt0, host(yt), 1e-13);
}

// gemm and gemv on an instance: float and double on a host instance of the default host space's own threads go to
// the host BLAS; other spaces and element types run the generic kernels on the given instance.
template <class Space>
void check_blas_on(const Space& space) {
  using Mat = nabla::Array<double, 2, Kokkos::HostSpace>;
  using Vec = nabla::Array<double, 1, Kokkos::HostSpace>;
  Mat a({8, 5}), b({7, 5}), c({8, 7});
  Vec x({5}), y({8});
  nabla::Array<long, 2, Kokkos::HostSpace> ia({3, 2}), ib({2, 4}), ic({3, 4});
  fill_random(a.view(), -1, 1, 21);
  fill_random(b.view(), -1, 1, 22);
  fill_random(c.view(), -1, 1, 23);
  fill_random(x.view(), -1, 1, 24);
  fill_random(y.view(), -1, 1, 25);
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < 4; ++j) {
      if (j < 2) ia.view()(i, j) = long(i * 2 + j) - 3;
      if (i < 2) ib.view()(i, j) = long(j) + 2 * long(i);
    }
  const auto c0 = host(nabla::copy(c));
  const auto y0 = host(nabla::copy(y));
  nabla::tools::KernelTimeline timeline;
  nabla::gemm(space, 'N', 'T', 1.5, a, b, 0.5, c);
  nabla::gemv(space, 'N', -1.0, a, x, 2.0, y);
  nabla::gemm(space, 'N', 'N', 2L, ia, ib, 0L, ic);
  space.fence();
  expect_gemm('N', 'T', 1.5, a.view(), b.view(), 0.5, c0, c.view(), 1e-13);
  expect_gemv('N', -1.0, a.view(), x.view(), 2.0, y0, y.view(), 1e-13);
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < 4; ++j)
      EXPECT_EQ(ic.view()(i, j), 2 * (ia.view()(i, 0) * ib.view()(0, j) + ia.view()(i, 1) * ib.view()(1, j)));
  std::size_t generic = 0;
  for (const auto& k : timeline.kernels()) {
    if (k.label.rfind("nabla::core::gem", 0) != 0) continue;
    ++generic;
#if KOKKOS_VERSION >= 40000
    EXPECT_EQ(k.device, Kokkos::Tools::Experimental::device_id(space)) << k.label << " ran on another instance";
#endif
  }
  // The long product always, and the double ones where this space has no compiled BLAS.
  const bool blas = std::is_same<Space, Kokkos::DefaultHostExecutionSpace>::value;
  EXPECT_EQ(generic, blas ? 1u : 3u);
}

TEST(Blas, GemmAndGemvRunOnTheGivenInstance) {
  check_blas_on(Kokkos::DefaultHostExecutionSpace());
#if defined(KOKKOS_ENABLE_OPENMP)
  if (nabla::compat::openmp_sized_instances && std::is_same<Kokkos::DefaultHostExecutionSpace, Kokkos::OpenMP>::value)
    check_blas_on(nabla::compat::openmp_instance(1));
#endif
#if defined(KOKKOS_ENABLE_SERIAL)
  check_blas_on(Kokkos::Serial());
#endif
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
