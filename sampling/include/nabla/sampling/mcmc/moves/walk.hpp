/// \file walk.hpp
/// \brief The walk move (Goodman & Weare 2010) as emcee.moves.WalkMove: two halves; each walker of one half
/// proposes X + N(0, C), C the sample covariance of `s` walkers of the other half chosen at random (all of them by
/// default). Symmetric: no log factor.
#pragma once

#include <nabla/core/compat.hpp>
#include <nabla/core/error.hpp>
#include <nabla/sampling/mcmc/impl/half_step.hpp>

namespace nabla {
namespace sampling {

/// \brief emcee.moves.WalkMove.
struct WalkMove {
  std::size_t s = 0;  ///< helper walkers per proposal (>= 2); 0: the whole other half (emcee's s=None)

  static constexpr int nsplits = 2;
  static constexpr const char* label = "nabla::sampling::walk";
  using Kernel = WalkMove;
  Kernel kernel(impl::MoveSetup& setup) const {
    const std::size_t smallest = impl::split_size(setup.nwalkers, 1, 2);
    if (s == 1 || s > smallest || smallest < 2)
      throw ValueError(nabla::impl::cat(setup.who, ": the walk move needs 2 <= s <= ", smallest,
                                        " (the smaller half of ", setup.nwalkers, " walkers), or s = 0 for all; got ",
                                        s));
    return *this;
  }

  template <int L>
  using Draws = impl::LogUDraws<L>;
  /// log u alone; the normals and the helpers come from the walker's MoveStream in apply().
  template <int L, class A>
  KOKKOS_INLINE_FUNCTION void draw(const A& st, std::size_t i0, Draws<L>& r) const {
    impl::draw_log_u<L>(st, i0, r);
  }
  /// X + Σ_j z_j (c_j - c̄) / √(s - 1) over the chosen helpers c_j, z_j ~ N(0, 1): a draw from N(X, C). Computed
  /// relative to X (Σ z_j (c_j - X) - Z (c̄ - X), Z = Σ z_j), which keeps far-off ensembles' digits; the helpers are
  /// chosen by selection sampling (Knuth's algorithm S), in two passes over the same uniforms.
  template <int L, class A>
  KOKKOS_INLINE_FUNCTION void apply(const A& st, std::size_t i0, const Draws<L>&, double* factor) const {
    const std::size_t ndim = st.x.extent(1), m = impl::group_size<L>(st.n, i0), other = 1 - st.k;
    const std::size_t nc = st.size(other), want = s ? s : nc;
    for (std::size_t l = 0; l < m; ++l) {
      const std::size_t i = i0 + l, w = st.walker(i);
      impl::MoveStream rng(st.keys(w), st.step);
      for (std::size_t d = 0; d < ndim; ++d) st.q(i, d) = 0.0;
      double zsum = 0.0;
      for (std::size_t j = 0, chosen = 0; chosen < want; ++j) {
        if (want < nc && rng.uniform() * double(nc - j) >= double(want - chosen)) continue;
        ++chosen;
        const std::size_t c = st.member(other, j);
        const double z = rng.normal();
        zsum += z;
        for (std::size_t d = 0; d < ndim; ++d) st.q(i, d) += z * (st.x(c, d) - st.x(w, d));
      }
      rng.rewind_uniforms();
      const double mean_weight = zsum / double(want);
      for (std::size_t j = 0, chosen = 0; chosen < want; ++j) {
        if (want < nc && rng.uniform() * double(nc - j) >= double(want - chosen)) continue;
        ++chosen;
        const std::size_t c = st.member(other, j);
        for (std::size_t d = 0; d < ndim; ++d) st.q(i, d) -= mean_weight * (st.x(c, d) - st.x(w, d));
      }
      const double scale = 1.0 / compat::kmath::sqrt(double(want - 1));
      for (std::size_t d = 0; d < ndim; ++d) st.q(i, d) = st.x(w, d) + st.q(i, d) * scale;
      factor[l] = 0.0;
    }
  }
};

}  // namespace sampling
}  // namespace nabla
