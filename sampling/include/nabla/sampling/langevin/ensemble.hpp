/// \file ensemble.hpp
/// \brief Perturbed ensembles (the seed's `baoab_ensemble`): from each seed point (x, v), `copies` short BAOAB
/// trajectories of `len` steps start from x + σ N(0,1), v + σ N(0,1); the spread (max - min) of their end
/// positions tells how chaotic the point is, and `classify` turns spreads into labels by thresholds.
///
/// All copies of all seed points run in ONE kernel launch (one thread per copy); a second small kernel reduces
/// the spreads. Copy c of point p is walker p·copies + c of its own counter-based streams, so results do not
/// depend on threads, backends or on how points are split over MPI ranks (give each rank's `first_point`).
#pragma once

#include <nabla/sampling/langevin/baoab.hpp>

#include <vector>

namespace nabla {
namespace sampling {

/// \brief Parameters of the perturbed ensembles.
struct PerturbationOptions {
  std::size_t len = 10;      ///< BAOAB steps of each perturbed trajectory
  std::size_t copies = 10;   ///< perturbed copies per seed point (the seed's n)
  std::size_t stride = 10;   ///< every stride-th saved point of a trajectory is a seed point (the seed's st)
  double sigma = 0.01;       ///< standard deviation of the Gaussian perturbation of x and v
  std::uint64_t seed = 1;    ///< seed of the perturbations and of the trajectories' noise
  std::size_t first_point = 0;  ///< global index of seed point 0 (a rank's share of the points)
};

/// \brief Result of `perturbed_ensembles` for P seed points, C copies, D dimensions.
struct PerturbedEnsembles {
  Array<double, 2> seed_x, seed_v;  ///< the seed points (P × D)
  Array<double, 3> end_x;           ///< end positions (P × C × D)
  Array<double, 2> spread;          ///< max - min over copies of the end positions (P × D)
  std::size_t points() const { return seed_x.extent(0); }
};

namespace impl {
template <class P>
struct PerturbKernel {
  P pot;
  BAOABCoefficients c;
  View2 sx, sv;
  View3 end;
  random::Key key_perturb, key_noise;
  std::uint64_t first_walker, copies, len;
  double sigma;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t i) const {
    constexpr int D = P::dim;
    const std::size_t pt = i / copies, cp = i % copies;
    const std::uint64_t g = first_walker + i;
    random::NormalStream e(random::fold_in(key_perturb, g), 0);
    Point<D> q, p;
    for (int d = 0; d < D; ++d) q[d] = sx(pt, d) + sigma * e();
    for (int d = 0; d < D; ++d) p[d] = sv(pt, d) + sigma * e();
    random::NormalStream z(random::fold_in(key_noise, g), 0);
    baoab_steps(pot, c, z, q, p, len, NoSave{});
    for (int d = 0; d < D; ++d) end(pt, cp, d) = q[d];
  }
};

struct SpreadKernel {
  View3 end;
  View2 spread;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t pt) const {
    for (std::size_t d = 0; d < end.extent(2); ++d) {
      double lo = end(pt, 0, d), hi = lo;
      for (std::size_t c = 1; c < end.extent(1); ++c) {
        const double y = end(pt, c, d);
        lo = y < lo ? y : lo;
        hi = y > hi ? y : hi;
      }
      spread(pt, d) = hi - lo;
    }
  }
};

struct GatherSeeds {
  View3 xs, vs;
  View2 sx, sv;
  std::size_t walker, stride;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t p) const {
    for (std::size_t d = 0; d < xs.extent(1); ++d) {
      sx(p, d) = xs(walker, d, p * stride);
      sv(p, d) = vs(walker, d, p * stride);
    }
  }
};

struct ClassifyKernel {
  View2 spread;
  Kokkos::View<const double*, DefaultMemorySpace> thresholds;
  Kokkos::View<int*, Kokkos::LayoutLeft, DefaultMemorySpace> labels;
  int dim;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t p) const {
    int l = 0;
    for (std::size_t t = 0; t < thresholds.extent(0); ++t)
      if (spread(p, dim) >= thresholds(t)) ++l;
    labels(p) = l;
  }
};
}  // namespace impl

/// \brief Perturbed ensembles from explicit seed points (P × D positions and velocities).
/// \param pot [in] the potential
/// \param params [in] γ, kBT, dt, mass of the short trajectories (params.seed is not used: opts.seed is)
/// \param seed_x [in] seed positions, P × D
/// \param seed_v [in] seed velocities, P × D
/// \param opts [in] len, copies, sigma, seed, first_point (opts.stride is not used here)
template <class P>
PerturbedEnsembles perturbed_ensembles(const P& pot, const BAOABParams& params, const Array<double, 2>& seed_x,
                                       const Array<double, 2>& seed_v, const PerturbationOptions& opts) {
  impl::static_checks<P>();
  compat::Region region("nabla::sampling::perturbed_ensembles");
  const char* who = "nabla::sampling::perturbed_ensembles";
  validate(params, who);
  if (opts.copies < 2) throw ValueError(nabla::impl::cat(who, ": copies must be >= 2 for a spread, got ", opts.copies));
  if (opts.len == 0) throw ValueError(nabla::impl::cat(who, ": len must be >= 1, got 0"));
  if (!(opts.sigma >= 0.0) || !std::isfinite(opts.sigma))
    throw ValueError(nabla::impl::cat(who, ": sigma must be finite and >= 0, got ", opts.sigma));
  if (seed_x.extent(1) != std::size_t(P::dim) || seed_v.shape()[0] != seed_x.shape()[0] ||
      seed_v.extent(1) != seed_x.extent(1))
    throw ShapeError(nabla::impl::cat(who, ": seed positions ", to_string(seed_x.shape()), " and velocities ",
                                      to_string(seed_v.shape()), " must both be points x ", P::dim));
  const std::size_t np = seed_x.extent(0), C = opts.copies, D = P::dim;
  PerturbedEnsembles r{seed_x, seed_v, Array<double, 3>({np, C, D}, "nabla::sampling::PerturbedEnsembles::end_x"),
                       Array<double, 2>({np, D}, "nabla::sampling::PerturbedEnsembles::spread")};
  if (np == 0) return r;
  const random::Key base = random::key(opts.seed);
  const impl::PerturbKernel<P> k{pot,
                                 impl::BAOABCoefficients(params),
                                 seed_x.view(),
                                 seed_v.view(),
                                 r.end_x.view(),
                                 random::fold_in(base, 0x9e7u),
                                 random::fold_in(base, 0xd1au),
                                 std::uint64_t(opts.first_point) * C,
                                 C,
                                 opts.len,
                                 opts.sigma};
  Kokkos::parallel_for("nabla::sampling::perturbed_ensembles",
                       Kokkos::RangePolicy<Kokkos::IndexType<std::size_t>>(default_instance(), 0, np * C), k);
  Kokkos::parallel_for("nabla::sampling::perturbed_ensembles::spread",
                       Kokkos::RangePolicy<Kokkos::IndexType<std::size_t>>(default_instance(), 0, np),
                       impl::SpreadKernel{r.end_x.view(), r.spread.view()});
  return r;
}

/// \brief Perturbed ensembles at every `opts.stride`-th saved point (0, stride, 2·stride, ...) of walker `walker`
/// of a trajectory.
template <class P>
PerturbedEnsembles perturbed_ensembles(const P& pot, const BAOABParams& params, const Trajectory& traj,
                                       const PerturbationOptions& opts, std::size_t walker = 0) {
  const char* who = "nabla::sampling::perturbed_ensembles";
  if (opts.stride == 0) throw ValueError(nabla::impl::cat(who, ": stride must be >= 1, got 0"));
  if (walker >= traj.x.extent(0))
    throw ValueError(nabla::impl::cat(who, ": walker ", walker, " is out of range (the trajectory has ",
                                      traj.x.extent(0), " walkers)"));
  const std::size_t S = traj.saved(), np = (S + opts.stride - 1) / opts.stride, D = traj.x.extent(1);
  Array<double, 2> sx({np, D}, "nabla::sampling::PerturbedEnsembles::seed_x", uninitialized);
  Array<double, 2> sv({np, D}, "nabla::sampling::PerturbedEnsembles::seed_v", uninitialized);
  Kokkos::parallel_for("nabla::sampling::perturbed_ensembles::gather",
                       Kokkos::RangePolicy<Kokkos::IndexType<std::size_t>>(default_instance(), 0, np),
                       impl::GatherSeeds{traj.x.view(), traj.v.view(), sx.view(), sv.view(), walker, opts.stride});
  return perturbed_ensembles(pot, params, sx, sv, opts);
}

/// \brief Labels from spreads: label = number of thresholds t (ascending) with spread(p, dim) >= t, so two
/// thresholds give three classes 0 (regular), 1, 2 (chaotic).
inline Array<int, 1> classify(const Array<double, 2>& spread, const std::vector<double>& thresholds, int dim = 0) {
  const char* who = "nabla::sampling::classify";
  if (dim < 0 || std::size_t(dim) >= spread.extent(1))
    throw ValueError(nabla::impl::cat(who, ": dim ", dim, " is out of range for spreads ", to_string(spread.shape())));
  for (std::size_t i = 0; i < thresholds.size(); ++i) {
    if (!std::isfinite(thresholds[i]))
      throw ValueError(nabla::impl::cat(who, ": threshold ", i, " is not finite (", thresholds[i], ")"));
    if (i > 0 && !(thresholds[i] > thresholds[i - 1]))
      throw ValueError(nabla::impl::cat(who, ": thresholds must increase, got ", thresholds[i - 1], " then ",
                                        thresholds[i]));
  }
  Kokkos::View<double*, DefaultMemorySpace> t("nabla::sampling::classify::thresholds", thresholds.size());
  auto th = Kokkos::create_mirror_view(t);
  for (std::size_t i = 0; i < thresholds.size(); ++i) th(i) = thresholds[i];
  Kokkos::deep_copy(t, th);
  Array<int, 1> labels({spread.extent(0)}, "nabla::sampling::classify::labels", uninitialized);
  Kokkos::parallel_for("nabla::sampling::classify",
                       Kokkos::RangePolicy<Kokkos::IndexType<std::size_t>>(default_instance(), 0, spread.extent(0)),
                       impl::ClassifyKernel{spread.view(), t, labels.view(), dim});
  return labels;
}

}  // namespace sampling
}  // namespace nabla
