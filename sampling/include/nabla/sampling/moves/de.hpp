/// \file de.hpp
/// \brief The differential-evolution move (ter Braak 2006; Nelson et al. 2013) as emcee.moves.DEMove: three
/// sub-ensembles (walker index mod 3); each walker moves by γ0 (X_b - X_a) + σ N(0, 1) with X_a, X_b drawn from
/// the two other sub-ensembles in random order.
#pragma once

namespace nabla {
namespace sampling {

/// \brief emcee.moves.DEMove.
struct DEMove {
  double sigma = 1.0e-5;  ///< standard deviation of the scalar jitter added to every coordinate
  double gamma0 = 0.0;    ///< mean stretch of the difference vector; 0 means emcee's default 2.38 / √(2 ndim)
};

}  // namespace sampling
}  // namespace nabla
