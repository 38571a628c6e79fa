// Helpers shared by the core tests: host copies, random inputs, NumPy's broadcast rule as a reference.
#pragma once

#include <nabla/core.hpp>

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace nabla_test {

/// Lengths that cover the empty array, one element, a vector remainder, and several threads' chunks.
inline constexpr std::size_t kSizes[] = {0, 1, 13, 1024, 132231};

/// Host copy of any View or Array.
template <class X>
auto host(const X& x) {
  if constexpr (nabla::is_array<X>::value) {
    return Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), x.view());
  } else {
    return Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), x);
  }
}

/// Fills a device View with uniform values in [lo, hi) from std::mt19937 (independent of nabla's RNG).
template <class View>
void fill_random(const View& v, double lo, double hi, unsigned seed) {
  auto h = Kokkos::create_mirror_view(v);
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  using T = typename View::non_const_value_type;
  auto* p = h.data();
  for (std::size_t i = 0; i < h.span(); ++i) p[i] = T(dist(gen));
  Kokkos::deep_copy(v, h);
}

/// NumPy's broadcasting rule written out independently of nabla: the result shape, or false if incompatible.
inline bool numpy_broadcast(const std::vector<std::size_t>& a, const std::vector<std::size_t>& b,
                            std::vector<std::size_t>& out) {
  const std::size_t n = std::max(a.size(), b.size());
  out.assign(n, 0);
  for (std::size_t k = 0; k < n; ++k) {  // k counts from the last dimension
    const std::size_t ea = k < a.size() ? a[a.size() - 1 - k] : 1;
    const std::size_t eb = k < b.size() ? b[b.size() - 1 - k] : 1;
    if (ea != eb && ea != 1 && eb != 1) return false;
    out[n - 1 - k] = std::max(ea, eb);
  }
  return true;
}

/// Relative closeness with an absolute floor, for comparing with host references.
inline ::testing::AssertionResult close(double got, double want, double rtol, double atol = 1e-300) {
  if (std::isnan(got) && std::isnan(want)) return ::testing::AssertionSuccess();
  if (std::abs(got - want) <= atol + rtol * std::abs(want)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "got " << got << ", want " << want << " (rtol " << rtol << ")";
}

}  // namespace nabla_test
