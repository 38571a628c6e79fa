// Helpers shared by the nn tests: host copies, synthetic data sets (std::mt19937, independent of nabla's RNG).
#pragma once

#include <nabla/nn/data.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace nn_test {

/// Host copy of any View or Array: always a copy, so a snapshot taken before training stays what it was.
template <class X>
auto host(const X& x) {
  const auto& v = [&]() -> decltype(auto) {
    if constexpr (nabla::is_array<X>::value) return x.view(); else return (x);
  }();
  auto h = Kokkos::create_mirror(Kokkos::HostSpace(), v);
  Kokkos::deep_copy(h, v);
  return h;
}

/// A (rows x cols) device array from row-major-by-column host values (column j is values[j*rows ...]).
template <class T>
nabla::Array<T, 2> device(const std::vector<double>& colmajor, std::size_t rows, std::size_t cols) {
  Kokkos::View<T**, Kokkos::LayoutLeft, Kokkos::HostSpace> h("h", rows, cols);
  for (std::size_t j = 0; j < cols; ++j)
    for (std::size_t i = 0; i < rows; ++i) h(i, j) = T(colmajor[j * rows + i]);
  nabla::Array<T, 2> a(nabla::Shape<2>{rows, cols});
  Kokkos::deep_copy(a.view(), h);
  return a;
}

inline std::vector<double> uniform(std::size_t n, double lo, double hi, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> d(lo, hi);
  std::vector<double> v(n);
  for (auto& x : v) x = d(gen);
  return v;
}

/// Features (2 x n) and integer labels.
struct Points {
  std::vector<double> x;  // column-major 2 x n
  std::vector<int> labels;
  std::size_t classes;
};

/// XOR: points near the four corners of the unit square (noise 0.1), label = x0 > 0.5 xor x1 > 0.5.
inline Points make_xor(std::size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> corner(0, 3);
  std::normal_distribution<double> noise(0.0, 0.1);
  Points p{{}, {}, 2};
  for (std::size_t j = 0; j < n; ++j) {
    const int c = corner(gen), a = c & 1, b = c >> 1;
    p.x.push_back(a + noise(gen));
    p.x.push_back(b + noise(gen));
    p.labels.push_back(a ^ b);
  }
  return p;
}

/// scikit-learn's make_moons (noise 0.1).
inline Points make_moons(std::size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> t(0.0, M_PI);
  std::normal_distribution<double> noise(0.0, 0.1);
  Points p{{}, {}, 2};
  for (std::size_t j = 0; j < n; ++j) {
    const int c = int(j % 2);
    const double s = t(gen);
    const double x0 = c == 0 ? std::cos(s) : 1.0 - std::cos(s);
    const double x1 = c == 0 ? std::sin(s) : 0.5 - std::sin(s);
    p.x.push_back(x0 + noise(gen));
    p.x.push_back(x1 + noise(gen));
    p.labels.push_back(c);
  }
  return p;
}

/// Gaussian blobs: `classes` centres on a circle of radius 4, unit spread.
inline Points make_blobs(std::size_t n, std::size_t classes, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> noise(0.0, 0.6);
  Points p{{}, {}, classes};
  for (std::size_t j = 0; j < n; ++j) {
    const int c = int(j % classes);
    const double a = 2 * M_PI * double(c) / double(classes);
    p.x.push_back(4 * std::cos(a) + noise(gen));
    p.x.push_back(4 * std::sin(a) + noise(gen));
    p.labels.push_back(c);
  }
  return p;
}

template <class T>
nabla::nn::Dataset<T> dataset(const Points& p) {
  const std::size_t n = p.labels.size();
  return {device<T>(p.x, 2, n), nabla::nn::one_hot<T>(p.labels, p.classes)};
}

inline ::testing::AssertionResult close(double got, double want, double rtol, double atol) {
  if (std::abs(got - want) <= atol + rtol * std::abs(want)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "got " << got << ", want " << want << " (rtol " << rtol << ", atol " << atol
                                       << ")";
}

}  // namespace nn_test
