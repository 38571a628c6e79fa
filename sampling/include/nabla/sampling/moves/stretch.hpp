/// \file stretch.hpp
/// \brief The affine-invariant stretch move (Goodman & Weare 2010) with emcee's red/blue split: the walkers split
/// into two halves (even and odd indices, emcee's `randomize_split=False`), and each half moves in parallel
/// along lines through random walkers of the other half, scaled by z with density ∝ 1/√z on [1/a, a].
#pragma once

namespace nabla {
namespace sampling {

/// \brief emcee.moves.StretchMove: proposal Y = X_c + z (X - X_c), z ~ g(z) on [1/a, a], log factor (ndim-1) log z.
struct StretchMove {
  double a = 2.0;  ///< the stretch scale (> 1)
};

}  // namespace sampling
}  // namespace nabla
