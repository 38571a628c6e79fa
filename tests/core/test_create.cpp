// Creation, copies, host/device moves, reshape and slices.
#include "test_util.hpp"

#include <cmath>
#include <cstdint>
#include <limits>

using nabla_test::host;

namespace {

TEST(Create, FilledArrays) {
  auto z = host(nabla::zeros<double, 2>({3, 4}));
  auto o = host(nabla::ones<float, 1>({5}));
  auto f = host(nabla::full<int, 3>({2, 2, 2}, 7));
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) EXPECT_EQ(z(i, j), 0.0);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(o(i), 1.0f);
  EXPECT_EQ(nabla::sum(nabla::full<int, 3>({2, 2, 2}, 7)), 56);
  EXPECT_EQ(f(1, 1, 1), 7);
}

TEST(Create, LinspaceAndArangeMatchNumPy) {
  auto l = host(nabla::linspace<double>(-1.0, 2.0, 7));
  for (int i = 0; i < 7; ++i) EXPECT_DOUBLE_EQ(l(i), -1.0 + 0.5 * i);
  EXPECT_THROW(nabla::linspace<double>(0, 1, 0), nabla::ValueError);
  auto a = host(nabla::arange<double>(0.0, 1.0, 0.25));
  ASSERT_EQ(a.extent(0), 4u);
  EXPECT_EQ(a(3), 0.75);
  EXPECT_EQ(nabla::arange<int>(5, 0).size(), 0u);
  EXPECT_EQ(nabla::arange<int>(5, 0, -2).size(), 3u);
  EXPECT_THROW(nabla::arange<int>(0, 5, 0), nabla::ValueError);
  // Bounds that are not finite, and counts that fit no memory: errors, not an abort, a crash or an empty array.
  const double inf = std::numeric_limits<double>::infinity(), nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(nabla::arange<double>(0, inf, 1), nabla::ValueError);
  EXPECT_THROW(nabla::arange<double>(nan, 1, 1), nabla::ValueError);
  EXPECT_THROW(nabla::arange<double>(0, 1, nan), nabla::ValueError);
  EXPECT_THROW(nabla::arange<double>(0, std::ldexp(1.0, 61)), nabla::ValueError);
  EXPECT_THROW(nabla::arange<std::int64_t>(0, std::int64_t(1) << 61), nabla::ValueError);
  EXPECT_THROW(nabla::linspace<double>(0, nan, 3), nabla::ValueError);
}

TEST(Create, CopyIsDeepSimilarIsFresh) {
  auto a = nabla::linspace<double>(0, 1, 11);
  auto c = nabla::copy(a);
  EXPECT_NE(c.data(), a.data());
  nabla::assign(a, 0.0);
  EXPECT_DOUBLE_EQ(nabla::sum(c), 5.5);
  auto s = nabla::similar(c);
  EXPECT_EQ(s.shape()[0], 11u);
  EXPECT_EQ(nabla::sum(s), 0.0);
}

TEST(Create, HostAndDeviceMovesCopyOnlyWhenNeeded) {
  auto a = nabla::linspace<double>(0, 1, 5);
  auto h = nabla::to_host(a);
  auto d = nabla::to_device(h);
  if (std::is_same<nabla::DefaultMemorySpace, Kokkos::HostSpace>::value) {
    EXPECT_EQ(h.data(), a.data());
    EXPECT_EQ(d.data(), a.data());
  } else {
    EXPECT_NE(h.data(), a.data());
  }
  EXPECT_DOUBLE_EQ(h.view()(4), 1.0);
}

TEST(Create, ReshapeSharesMemoryAndKeepsItAlive) {
  nabla::Array<double, 2> r;
  double* p = nullptr;
  {
    auto a = nabla::arange<double>(0, 12);
    p = a.data();
    r = nabla::reshape(a, nabla::Shape<2>{3, 4});
  }  // `a` is gone; r must still own the memory
  EXPECT_EQ(r.data(), p);
  auto h = host(r);
  EXPECT_EQ(h(2, 3), 11.0);  // column-major: (2, 3) is element 2 + 3*3
  EXPECT_EQ(h(1, 0), 1.0);
  EXPECT_THROW(nabla::reshape(r, nabla::Shape<1>{13}), nabla::ShapeError);
}

TEST(Create, SlicesAreViews) {
  auto a = nabla::reshape(nabla::arange<double>(0, 12), nabla::Shape<2>{3, 4});
  auto col = nabla::slice(a, Kokkos::ALL, 2);
  auto row = nabla::slice(a, 1, Kokkos::ALL);
  static_assert(decltype(col)::rank == 1, "");
  EXPECT_EQ(nabla::sum(col), 6.0 + 7 + 8);
  EXPECT_EQ(nabla::sum(row), 1.0 + 4 + 7 + 10);
  nabla::assign(row, -1.0);
  EXPECT_EQ(host(a)(1, 3), -1.0);
}

}  // namespace
