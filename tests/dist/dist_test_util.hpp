// Helpers shared by the dist tests (run under mpirun at 1-4 ranks).
#pragma once

#include <nabla/dist.hpp>

namespace nabla_test {
inline nabla::mpi::Comm world() { return nabla::mpi::Comm(); }

using nabla::dist::Boundary;
inline constexpr Boundary kBoundaries[] = {Boundary::periodic, Boundary::constant, Boundary::reflect, Boundary::clamp};

/// Axis a split along grid dimension a for the first `ndims` axes, the others replicated.
template <int R>
nabla::SmallArray<int, R> leading_split(int ndims) {
  nabla::SmallArray<int, R> s{};
  for (int a = 0; a < R; ++a) s[a] = a < ndims ? a : nabla::dist::replicated;
  return s;
}
}  // namespace nabla_test
