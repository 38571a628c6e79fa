/// \file stretch.hpp
/// \brief The affine-invariant stretch move (Goodman & Weare 2010) with emcee's red/blue split: the walkers split
/// into two halves, and each half moves in parallel along lines through random walkers of the other half, scaled
/// by z with density ∝ 1/√z on [1/a, a].
///
/// Every move is one such file: parameters, `kernel()` (checks them and returns the form kernels copy),
/// `nsplits`, `label`, and per group of L walkers `draw<L>()` (the random numbers, a pure function of seed,
/// walker and step) and `apply<L>()` (the proposals and their log factors). moves.hpp lists the moves.
#pragma once

#include <nabla/core/error.hpp>
#include <nabla/sampling/mcmc/impl/half_step.hpp>

#include <cmath>
#include <type_traits>

namespace nabla {
namespace sampling {

/// \brief emcee.moves.StretchMove: proposal Y = X_c + z (X - X_c), z ~ g(z) on [1/a, a], log factor (ndim-1) log z.
struct StretchMove {
  double a = 2.0;  ///< the stretch scale (> 1)

  static constexpr int nsplits = 2;
  static constexpr const char* label = "nabla::sampling::stretch";
  using Kernel = StretchMove;
  Kernel kernel(impl::MoveSetup& setup) const {
    if (!(a > 1.0) || !std::isfinite(a))
      throw ValueError(nabla::impl::cat(setup.who, ": the stretch move needs a > 1, got ", a));
    return *this;
  }

  template <int L>
  struct Draws {
    double z[L], factor[L], logu[L];
    std::size_t c[L];  // the partner in the other half
  };
  /// Philox block `step` of each walker's stream: word 0 gives z, word 1 the partner, word 2 log u. The lane loop
  /// vectorises on CPUs.
  template <int L, class A>
  KOKKOS_INLINE_FUNCTION void draw(const A& s, std::size_t i0, Draws<L>& r) const {
    const std::size_t ndim = s.x.extent(1), m = impl::group_size<L>(s.n, i0), other = 1 - s.k;
    std::uint32_t k0[L], k1[L], b[4][L];
    impl::lane_keys<L>(s, i0, k0, k1);
    random::bits_lanes<L>(k0, k1, s.step, 0u, b);
    NABLA_SIMD
    for (int l = 0; l < L; ++l) {
      const double u = (a - 1.0) * random::impl::u01_word(b[0][l]) + 1.0;
      r.z[l] = u * u / a;
      r.factor[l] = double(ndim - 1) * random::impl::log_scaled(r.z[l], 0);
      r.logu[l] = impl::log_u(b[2][l]);
    }
    const std::size_t nc = s.size(other);
    for (std::size_t l = 0; l < m; ++l) r.c[l] = s.member(other, std::size_t(random::impl::below(b[1][l], nc)));
  }
  template <int L, class A>
  KOKKOS_INLINE_FUNCTION void apply(const A& s, std::size_t i0, const Draws<L>& r, double* factor) const {
    const std::size_t ndim = s.x.extent(1), m = impl::group_size<L>(s.n, i0);
    if (std::is_same<typename A::layout, Kokkos::LayoutRight>::value) {  // rows: loops along them
      for (std::size_t l = 0; l < m; ++l) {
        const double *xc = &s.x(r.c[l], 0), *xw = &s.x(s.walker(i0 + l), 0);
        double* q = &s.q(i0 + l, 0);
        NABLA_SIMD
        for (std::size_t d = 0; d < ndim; ++d) q[d] = xc[d] - (xc[d] - xw[d]) * r.z[l];
      }
    } else {
      for (std::size_t d = 0; d < ndim; ++d) {
        NABLA_SIMD
        for (std::size_t l = 0; l < m; ++l) {
          const std::size_t c = r.c[l], w = s.walker(i0 + l);
          s.q(i0 + l, d) = s.x(c, d) - (s.x(c, d) - s.x(w, d)) * r.z[l];
        }
      }
    }
    for (std::size_t l = 0; l < m; ++l) factor[l] = r.factor[l];
  }
};

}  // namespace sampling
}  // namespace nabla
