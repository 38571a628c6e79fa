#include <nabla/core.hpp>

#include <gtest/gtest.h>

TEST(Array, AllocatesZeroInitialisedColumnMajor) {
  nabla::Array<double, 2> a({3, 5});
  EXPECT_EQ(a.size(), 15u);
  EXPECT_EQ(a.extent(0), 3u);
  EXPECT_EQ(a.extent(1), 5u);
  EXPECT_EQ(a.view().stride(0), 1u);
  EXPECT_EQ(a.view().stride(1), 3u);
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), a.view());
  for (int j = 0; j < 5; ++j)
    for (int i = 0; i < 3; ++i) EXPECT_EQ(h(i, j), 0.0);
}

TEST(Array, ShapePrinting) {
  EXPECT_EQ(nabla::to_string(nabla::Shape<2>{3, 4}), "(3, 4)");
  EXPECT_EQ(nabla::to_string(nabla::Shape<1>{7}), "(7,)");
  EXPECT_EQ(nabla::to_string(nabla::Shape<0>{}), "()");
}

TEST(Array, AdoptsAViewWithoutCopy) {
  Kokkos::View<float*, Kokkos::LayoutLeft> v("v", 13);
  nabla::Array<float, 1> a(v);
  EXPECT_EQ(a.data(), v.data());
  EXPECT_EQ(a.shape()[0], 13u);
}

// Sizes from user input: a shape whose bytes overflow, or that no memory can hold, is an error naming it.
TEST(Array, ShapesTooLargeAreErrorsNamingTheShape) {
  const std::size_t big = std::size_t(1) << 32;
  try {
    nabla::Array<double, 2> a({big, big});
    FAIL() << "expected a ValueError, got an array of size " << a.size();
  } catch (const nabla::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("(4294967296, 4294967296)"), std::string::npos) << e.what();
  }
  EXPECT_THROW((nabla::Array<double, 3>({std::size_t(1) << 40, 1 << 20, 1 << 20})), nabla::ValueError);
  EXPECT_THROW((nabla::Array<char, 1>({std::size_t(1) << 62})), nabla::ValueError);  // fits 64 bits, not memory
}
