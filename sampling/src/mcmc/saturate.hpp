/// \file saturate.hpp
/// \brief Private: size arithmetic for sizes from a file's header or a caller (steps x walkers x dims x bytes),
/// saturated at the largest size_t, so that a product that overflows compares as too large instead of wrapping
/// around to a small one.
#pragma once

#include <cstddef>

namespace nabla {
namespace sampling {
namespace impl {

constexpr std::size_t kSaturated = std::size_t(-1);

inline std::size_t mul_sat(std::size_t a, std::size_t b) {
  std::size_t r;
  return __builtin_mul_overflow(a, b, &r) ? kSaturated : r;
}
inline std::size_t add_sat(std::size_t a, std::size_t b) {
  std::size_t r;
  return __builtin_add_overflow(a, b, &r) ? kSaturated : r;
}

}  // namespace impl
}  // namespace sampling
}  // namespace nabla
