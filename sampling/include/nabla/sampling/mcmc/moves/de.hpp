/// \file de.hpp
/// \brief The differential-evolution move (ter Braak 2006; Nelson et al. 2013) as emcee 2's DEMove: three
/// sub-ensembles; each walker moves by γ0 (X_b - X_a) + σ N(0, 1) with X_a, X_b drawn from the two other
/// sub-ensembles in random order.
#pragma once

#include <nabla/core/error.hpp>
#include <nabla/sampling/mcmc/impl/half_step.hpp>

#include <cmath>

namespace nabla {
namespace sampling {

/// \brief emcee.moves.DEMove (three sub-ensembles, an additive jitter).
struct DEMove {
  double sigma = 1.0e-5;  ///< standard deviation of the scalar jitter added to every coordinate
  double gamma0 = 0.0;    ///< mean stretch of the difference vector; 0 means emcee's default 2.38 / √(2 ndim)

  static constexpr int nsplits = 3;
  static constexpr const char* label = "nabla::sampling::de";
  using Kernel = DEMove;
  /// Checks the parameters; the kernel form has gamma0 resolved.
  Kernel kernel(impl::MoveSetup& setup) const {
    if (setup.nwalkers < 3)
      throw ValueError(nabla::impl::cat(setup.who, ": the DE move needs >= 3 walkers, got ", setup.nwalkers));
    if (!(sigma >= 0.0) || !(gamma0 >= 0.0) || !std::isfinite(sigma) || !std::isfinite(gamma0))
      throw ValueError(nabla::impl::cat(setup.who, ": the DE move needs finite sigma, gamma0 >= 0, got ", sigma, ", ",
                                        gamma0));
    return DEMove{sigma, gamma0 > 0.0 ? gamma0 : 2.38 / std::sqrt(2.0 * double(setup.ndim))};
  }

  template <int L>
  struct Draws {
    double z[L], logu[L];
    std::size_t c1[L], c2[L];
  };
  /// Philox block `step`: words 0 and 1 pick X_a and X_b, word 2 their order, word 3 log u; the jitter is the
  /// first normal of core's NormalDist block `step`.
  template <int L, class A>
  KOKKOS_INLINE_FUNCTION void draw(const A& s, std::size_t i0, Draws<L>& r) const {
    const std::size_t m = impl::group_size<L>(s.n, i0), j1 = (s.k + 1) % 3, j2 = (s.k + 2) % 3;
    std::uint32_t k0[L], k1[L], b[4][L];
    impl::lane_keys<L>(s, i0, k0, k1);
    random::bits_lanes<L>(k0, k1, s.step, 0u, b);
    const std::size_t n1 = s.size(j1), n2 = s.size(j2);
    for (std::size_t l = 0; l < m; ++l) {
      std::size_t c1 = s.member(j1, std::size_t(random::impl::below(b[0][l], n1)));
      std::size_t c2 = s.member(j2, std::size_t(random::impl::below(b[1][l], n2)));
      if (b[2][l] & 1u) {
        const std::size_t t = c1;
        c1 = c2;
        c2 = t;
      }
      double z[2];
      random::NormalDist::block<double>(random::Key{k0[l], k1[l]}, s.step, z);
      r.z[l] = sigma * z[0];
      r.c1[l] = c1;
      r.c2[l] = c2;
      r.logu[l] = impl::log_u(b[3][l]);
    }
  }
  template <int L, class A>
  KOKKOS_INLINE_FUNCTION void apply(const A& s, std::size_t i0, const Draws<L>& r, double* factor) const {
    const std::size_t ndim = s.x.extent(1), m = impl::group_size<L>(s.n, i0);
    for (std::size_t l = 0; l < m; ++l) {
      const std::size_t w = s.walker(i0 + l), c1 = r.c1[l], c2 = r.c2[l];
      for (std::size_t d = 0; d < ndim; ++d) s.q(i0 + l, d) = s.x(w, d) + (s.x(c2, d) - s.x(c1, d)) * gamma0 + r.z[l];
      factor[l] = 0.0;
    }
  }
};

}  // namespace sampling
}  // namespace nabla
