/// \file gaussian.hpp
/// \brief Random-walk Metropolis with a fixed Gaussian proposal, as emcee.moves.GaussianMove in its "vector" mode:
/// every walker proposes X + N(0, C) at once (one sub-ensemble: the other walkers play no part). Symmetric: no log
/// factor.
#pragma once

#include <nabla/core/compat.hpp>
#include <nabla/core/error.hpp>
#include <nabla/sampling/mcmc/impl/half_step.hpp>

#include <cmath>
#include <vector>

namespace nabla {
namespace sampling {

/// \brief emcee.moves.GaussianMove(cov): `cov` holds one variance (isotropic), ndim variances (axis-aligned) or an
/// ndim × ndim covariance, row-major (general; symmetric positive definite).
struct GaussianMove {
  std::vector<double> cov{1.0};

  /// The form kernels copy: the proposal's scale (isotropic), standard deviations (axis-aligned) or lower Cholesky
  /// factor, row-major (general), in device memory.
  struct Kernel {
    int kind = 0;  // 0: isotropic, 1: axis-aligned, 2: general
    double scale = 1.0;
    const double* factor = nullptr;

    static constexpr int nsplits = 1;
    static constexpr const char* label = "nabla::sampling::gaussian";
    template <int L>
    using Draws = impl::LogUDraws<L>;
    /// log u alone; the normals come from the walker's MoveStream in apply().
    template <int L, class A>
    KOKKOS_INLINE_FUNCTION void draw(const A& s, std::size_t i0, Draws<L>& r) const {
      impl::draw_log_u<L>(s, i0, r);
    }
    /// The walker's normals z go into its proposal row first; the general case then overwrites it from the last
    /// coordinate down, as coordinate d needs z_0 .. z_d.
    template <int L, class A>
    KOKKOS_INLINE_FUNCTION void apply(const A& s, std::size_t i0, const Draws<L>&, double* out_factor) const {
      const std::size_t ndim = s.x.extent(1), m = impl::group_size<L>(s.n, i0);
      for (std::size_t l = 0; l < m; ++l) {
        const std::size_t i = i0 + l, w = s.walker(i);
        impl::MoveStream rng(s.keys(w), s.step);
        for (std::size_t d = 0; d < ndim; ++d) s.q(i, d) = rng.normal();
        if (kind == 2) {
          for (std::size_t d = ndim; d-- > 0;) {
            double v = 0.0;
            for (std::size_t e = 0; e <= d; ++e) v += factor[d * ndim + e] * s.q(i, e);
            s.q(i, d) = s.x(w, d) + v;
          }
        } else {
          for (std::size_t d = 0; d < ndim; ++d) s.q(i, d) = s.x(w, d) + (kind == 1 ? factor[d] : scale) * s.q(i, d);
        }
        out_factor[l] = 0.0;
      }
    }
  };

  Kernel kernel(impl::MoveSetup& setup) const {
    const std::size_t n = setup.ndim;
    for (double c : cov)
      if (!std::isfinite(c))
        throw ValueError(nabla::impl::cat(setup.who, ": the Gaussian move's covariance has a non-finite entry ", c));
    Kernel k;
    if (cov.size() == 1) {
      if (!(cov[0] > 0.0))
        throw ValueError(nabla::impl::cat(setup.who, ": the Gaussian move needs a variance > 0, got ", cov[0]));
      k.scale = std::sqrt(cov[0]);
    } else if (cov.size() == n) {
      std::vector<double> sd(n);
      for (std::size_t d = 0; d < n; ++d) {
        if (!(cov[d] > 0.0))
          throw ValueError(nabla::impl::cat(setup.who, ": the Gaussian move needs variances > 0, got ", cov[d],
                                            " for parameter ", d));
        sd[d] = std::sqrt(cov[d]);
      }
      k.kind = 1;
      k.factor = setup.upload(sd, "nabla::sampling::GaussianMove::scale");
    } else if (cov.size() == n * n) {
      std::vector<double> chol(n * n, 0.0);  // Cholesky-Banachiewicz, lower, row-major
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j <= i; ++j) {
          if (cov[i * n + j] != cov[j * n + i])
            throw ValueError(nabla::impl::cat(setup.who, ": the Gaussian move's covariance is not symmetric: (", i,
                                              ", ", j, ") = ", cov[i * n + j], " but (", j, ", ", i, ") = ",
                                              cov[j * n + i]));
          double v = cov[i * n + j];
          for (std::size_t e = 0; e < j; ++e) v -= chol[i * n + e] * chol[j * n + e];
          if (i == j) {
            if (!(v > 0.0))
              throw ValueError(nabla::impl::cat(setup.who, ": the Gaussian move's covariance is not positive "
                                                "definite (pivot ", i, " is ", v, ")"));
            chol[i * n + i] = std::sqrt(v);
          } else {
            chol[i * n + j] = v / chol[j * n + j];
          }
        }
      k.kind = 2;
      k.factor = setup.upload(chol, "nabla::sampling::GaussianMove::cholesky");
    } else {
      throw ValueError(nabla::impl::cat(setup.who, ": the Gaussian move's covariance has ", cov.size(),
                                        " entries; give 1 (isotropic), ndim = ", n, " (axis-aligned) or ndim^2 = ",
                                        n * n, " (general)"));
    }
    return k;
  }
};

}  // namespace sampling
}  // namespace nabla
