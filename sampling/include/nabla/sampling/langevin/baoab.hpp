/// \file baoab.hpp
/// \brief Underdamped Langevin dynamics with the BAOAB splitting (Leimkuhler & Matthews), for ensembles of
/// independent walkers: one kernel advances every walker all its steps with the state in registers.
///
/// One step: B: v += F dt/(2m); A: x += v dt/2; O: v = c1 v + c2 R; A: x += v dt/2; B: v += F dt/(2m), with
/// c1 = exp(-γ dt), c2 = sqrt((1 - c1²) kBT / m) and R standard normal. R for walker w, step n, coordinate d is
/// number n·D + d of core's normal4 stream `random::fold_in(random::key(seed), w)`, so a run is bit-identical whatever the
/// thread count, backend, chunking into calls or split of walkers over MPI ranks (give each rank's
/// `first_walker`).
#pragma once

#include <nabla/core/array.hpp>
#include <nabla/core/compat.hpp>
#include <nabla/core/error.hpp>
#include <nabla/core/impl/exec_traits.hpp>
#include <nabla/core/random.hpp>
#include <nabla/sampling/langevin/potentials.hpp>

#include <cmath>
#include <cstdint>

namespace nabla {
namespace sampling {

/// \brief BAOAB parameters (all must be finite and > 0) and the noise seed.
struct BAOABParams {
  double gamma = 1.0;  ///< friction γ
  double kBT = 1.0;    ///< temperature
  double dt = 0.01;    ///< time step
  double mass = 1.0;   ///< particle mass
  std::uint64_t seed = 0;
};

/// \brief The state of an ensemble: positions and velocities (walkers × dims), the global index of the next step,
/// and the global index of walker 0 (non-zero when the walkers are one rank's share of a larger ensemble).
struct LangevinState {
  Array<double, 2> x;
  Array<double, 2> v;
  std::uint64_t step = 0;
  std::uint64_t first_walker = 0;
  std::size_t walkers() const { return x.extent(0); }
};

/// \brief Saved points of a run (walker w, coordinate d, saved point s): positions x(w, d, s), velocities v(w, d, s),
/// potential energy potential(w, s), total energy total(w, s), and time(s). Point 0 is the initial state.
struct Trajectory {
  Array<double, 3> x, v;
  Array<double, 2> potential, total;
  Array<double, 1> time;
  std::size_t saved() const { return time.extent(0); }
};

/// Throws ValueError unless γ, kBT, dt and mass are finite and > 0; `who` names the caller.
inline void validate(const BAOABParams& p, const char* who) {
  auto check = [&](double value, const char* name) {
    if (!(value > 0.0) || !std::isfinite(value))
      throw ValueError(nabla::impl::cat(who, ": ", name, " must be finite and > 0, got ", value));
  };
  check(p.gamma, "gamma");
  check(p.kBT, "kBT");
  check(p.dt, "dt");
  check(p.mass, "mass");
}

namespace impl {

using View2 = Array<double, 2>::view_type;
using View3 = Array<double, 3>::view_type;

/// Step constants derived once on the host.
struct BAOABCoefficients {
  double half_dt, half_dt_over_m, c1, c2, mass;
  explicit BAOABCoefficients(const BAOABParams& p)
      : half_dt(0.5 * p.dt),
        half_dt_over_m(0.5 * p.dt / p.mass),
        c1(std::exp(-p.gamma * p.dt)),
        c2(std::sqrt((1.0 - std::exp(-2.0 * p.gamma * p.dt)) * p.kBT / p.mass)),
        mass(p.mass) {}
};

/// \brief `nsteps` BAOAB steps of one walker from (q, p) with forces f = F(q); the noise comes from `z`.
/// The same function runs in the ensemble kernels and the perturbed-ensemble kernels. `save(n, q, p)` is
/// called after every step n = 1..nsteps.
template <class P, class Save>
KOKKOS_INLINE_FUNCTION void baoab_steps(const P& pot, const BAOABCoefficients& c, random::NormalStream& z, Point<P::dim>& q,
                                        Point<P::dim>& p, std::uint64_t nsteps, Save&& save) {
  constexpr int D = P::dim;
  Point<D> f = force(pot, q);
  for (std::uint64_t n = 1; n <= nsteps; ++n) {
    for (int d = 0; d < D; ++d) p[d] += c.half_dt_over_m * f[d];
    for (int d = 0; d < D; ++d) q[d] += c.half_dt * p[d];
    for (int d = 0; d < D; ++d) p[d] = c.c1 * p[d] + c.c2 * z();
    for (int d = 0; d < D; ++d) q[d] += c.half_dt * p[d];
    f = force(pot, q);
    for (int d = 0; d < D; ++d) p[d] += c.half_dt_over_m * f[d];
    save(n, q, p);
  }
}

struct NoSave {
  template <class Q>
  KOKKOS_INLINE_FUNCTION void operator()(std::uint64_t, const Q&, const Q&) const {}
};

template <class P>
struct SavePoints {
  P pot;
  View3 xs, vs;
  View2 epot, etot;
  std::size_t w;
  std::uint64_t every;
  double mass;
  KOKKOS_INLINE_FUNCTION void store(std::size_t s, const Point<P::dim>& q, const Point<P::dim>& p) const {
    double kin = 0.0;
    for (int d = 0; d < P::dim; ++d) {
      xs(w, d, s) = q[d];
      vs(w, d, s) = p[d];
      kin += p[d] * p[d];
    }
    const double e = pot.energy(q);
    epot(w, s) = e;
    etot(w, s) = e + 0.5 * mass * kin;
  }
  KOKKOS_INLINE_FUNCTION void operator()(std::uint64_t n, const Point<P::dim>& q, const Point<P::dim>& p) const {
    if (n % every == 0) store(std::size_t(n / every), q, p);
  }
};

/// \brief Advances L walkers (work item g: walkers g·L .. g·L + L - 1) `nsteps` BAOAB steps in lockstep; each
/// walker's arithmetic is exactly that of `baoab_steps`, so results do not depend on L.
template <class P, bool Save, int L>
struct BAOABKernel {
  P pot;
  BAOABCoefficients c;
  View2 x, v;
  random::Key key;
  std::uint64_t first_walker, step0, nsteps, every;
  View3 xs, vs;
  View2 epot, etot;

  KOKKOS_INLINE_FUNCTION void operator()(std::size_t g) const {
    constexpr int D = P::dim;
    const std::size_t W = x.extent(0);
    Point<D> q[L], p[L], f[L];
    std::uint32_t k0[L], k1[L];  // the lanes' keys, split so that lane loops read them contiguously
    double z[4][L];
    for (int l = 0; l < L; ++l) {
      const std::size_t w = g * L + l < W ? g * L + l : W - 1;  // lanes past the end repeat the last walker
      for (int d = 0; d < D; ++d) {
        q[l][d] = x(w, d);
        p[l][d] = v(w, d);
      }
      const random::Key k = random::fold_in(key, first_walker + w);
      k0[l] = k.k0;
      k1[l] = k.k1;
      f[l] = force(pot, q[l]);
    }
    std::uint64_t i = step0 * std::uint64_t(D);  // index of the next normal, the same for every lane
    if (i & 3u) random::normal4_lanes<L>(k0, k1, i >> 2, z);
    if constexpr (Save) save(g, 0, q, p);
    for (std::uint64_t n = 1; n <= nsteps; ++n) {
      NABLA_SIMD
      for (int l = 0; l < L; ++l)
        for (int d = 0; d < D; ++d) {
          p[l][d] += c.half_dt_over_m * f[l][d];
          q[l][d] += c.half_dt * p[l][d];
        }
      for (int d = 0; d < D; ++d) {
        if ((i & 3u) == 0) random::normal4_lanes<L>(k0, k1, i >> 2, z);
        const int j = int(i & 3u);
        NABLA_SIMD
        for (int l = 0; l < L; ++l) p[l][d] = c.c1 * p[l][d] + c.c2 * z[j][l];
        ++i;
      }
      NABLA_SIMD
      for (int l = 0; l < L; ++l) {
        for (int d = 0; d < D; ++d) q[l][d] += c.half_dt * p[l][d];
        f[l] = force(pot, q[l]);
        for (int d = 0; d < D; ++d) p[l][d] += c.half_dt_over_m * f[l][d];
      }
      if constexpr (Save) {
        if (n % every == 0) save(g, std::size_t(n / every), q, p);
      }
    }
    for (int l = 0; l < L; ++l) {
      if (g * L + l >= W) break;
      for (int d = 0; d < D; ++d) {
        x(g * L + l, d) = q[l][d];
        v(g * L + l, d) = p[l][d];
      }
    }
  }

  KOKKOS_INLINE_FUNCTION void save(std::size_t g, std::size_t s, const Point<P::dim>* q, const Point<P::dim>* p) const {
    const std::size_t W = x.extent(0);
    for (int l = 0; l < L; ++l) {
      const std::size_t w = g * L + l;
      if (w >= W) break;
      SavePoints<P>{pot, xs, vs, epot, etot, w, every, c.mass}.store(s, q[l], p[l]);
    }
  }
};

/// Launches a BAOAB ensemble kernel on `space` over work items of ExecTraits<Exec>::lanes walkers.
template <class P, bool Save, class Exec = Kokkos::DefaultExecutionSpace>
void launch_baoab(const char* label, const BAOABKernel<P, Save, 1>& k1, const Exec& space = Exec()) {
  constexpr int L = ::nabla::impl::ExecTraits<Exec>::lanes;
  const BAOABKernel<P, Save, L> k{k1.pot, k1.c,  k1.x,  k1.v,  k1.key, k1.first_walker, k1.step0,
                                  k1.nsteps, k1.every, k1.xs, k1.vs, k1.epot, k1.etot};
  const std::size_t W = k1.x.extent(0);
  Kokkos::parallel_for(label, Kokkos::RangePolicy<Exec, Kokkos::IndexType<std::size_t>>(space, 0, (W + L - 1) / L), k);
}

template <class P>
void check_state(const LangevinState& s, const char* who) {
  if (s.x.extent(0) == 0)
    throw ValueError(nabla::impl::cat(who, ": the ensemble has 0 walkers; give at least 1"));
  if (s.x.extent(1) != std::size_t(P::dim) || s.v.shape()[0] != s.x.shape()[0] || s.v.extent(1) != s.x.extent(1))
    throw ShapeError(nabla::impl::cat(who, ": positions ", to_string(s.x.shape()), " and velocities ",
                                      to_string(s.v.shape()), " must both be walkers x ", P::dim,
                                      " (the potential's dim)"));
}

template <class P>
void static_checks() {
  static_assert(P::dim >= 1, "nabla::sampling::baoab: the potential needs `static constexpr int dim` >= 1");
  static_assert(std::is_copy_constructible<P>::value, "nabla::sampling::baoab: the potential must be copyable");
}
}  // namespace impl

/// \brief Advances every walker of `state` by `nsteps` BAOAB steps in one kernel on `space`, saving nothing.
/// \param space [in] the execution space instance to run on (a task's partition, a stream)
/// \param pot [in] the potential (see potentials.hpp)
/// \param params [in] γ, kBT, dt, mass, seed
/// \param state [in,out] positions and velocities are updated in place; state.step grows by nsteps
template <class ExecSpace, class P, std::enable_if_t<Kokkos::is_execution_space<ExecSpace>::value, int> = 0>
void baoab_advance(const ExecSpace& space, const P& pot, const BAOABParams& params, LangevinState& state,
                   std::size_t nsteps) {
  static_assert(Kokkos::SpaceAccessibility<ExecSpace, Kokkos::DefaultExecutionSpace::memory_space>::accessible,
                "nabla::sampling::baoab_advance: the execution space cannot access the state's memory");
  impl::static_checks<P>();
  compat::Region region("nabla::sampling::baoab_advance");
  validate(params, "nabla::sampling::baoab_advance");
  impl::check_state<P>(state, "nabla::sampling::baoab_advance");
  const impl::BAOABKernel<P, false, 1> k{pot,        impl::BAOABCoefficients(params), state.x.view(), state.v.view(),
                                      random::key(params.seed), state.first_walker, state.step, nsteps, 1,
                                      {},         {},           {},           {}};
  impl::launch_baoab("nabla::sampling::baoab", k, space);
  state.step += nsteps;
}

/// \brief baoab_advance on the default execution space instance.
template <class P>
void baoab_advance(const P& pot, const BAOABParams& params, LangevinState& state, std::size_t nsteps) {
  baoab_advance(default_instance(), pot, params, state, nsteps);
}

/// \brief Runs `nsteps` BAOAB steps from `state` (updated in place), saving the initial point and every
/// `save_every`-th step into a preallocated Trajectory, all in one kernel.
template <class P>
Trajectory baoab(const P& pot, const BAOABParams& params, LangevinState& state, std::size_t nsteps,
                 std::size_t save_every = 1) {
  impl::static_checks<P>();
  compat::Region region("nabla::sampling::baoab");
  validate(params, "nabla::sampling::baoab");
  impl::check_state<P>(state, "nabla::sampling::baoab");
  if (save_every == 0) throw ValueError("nabla::sampling::baoab: save_every must be >= 1, got 0");
  if (nsteps / save_every == SIZE_MAX)  // the saved-point count would wrap to 0 (larger ones fail to allocate)
    throw ValueError(::nabla::impl::cat("nabla::sampling::baoab: ", nsteps, " steps saved every ", save_every));
  const std::size_t W = state.walkers(), D = P::dim, S = nsteps / save_every + 1;
  Trajectory t{Array<double, 3>({W, D, S}, "nabla::sampling::Trajectory::x", uninitialized),
               Array<double, 3>({W, D, S}, "nabla::sampling::Trajectory::v", uninitialized),
               Array<double, 2>({W, S}, "nabla::sampling::Trajectory::potential", uninitialized),
               Array<double, 2>({W, S}, "nabla::sampling::Trajectory::total", uninitialized),
               Array<double, 1>({S}, "nabla::sampling::Trajectory::time", uninitialized)};
  auto th = Kokkos::create_mirror_view(t.time.view());
  for (std::size_t s = 0; s < S; ++s) th(s) = double(state.step + s * save_every) * params.dt;
  Kokkos::deep_copy(t.time.view(), th);
  const impl::BAOABKernel<P, true, 1> k{pot,
                                     impl::BAOABCoefficients(params),
                                     state.x.view(),
                                     state.v.view(),
                                     random::key(params.seed),
                                     state.first_walker,
                                     state.step,
                                     nsteps,
                                     save_every,
                                     t.x.view(),
                                     t.v.view(),
                                     t.potential.view(),
                                     t.total.view()};
  impl::launch_baoab("nabla::sampling::baoab::save", k);
  state.step += nsteps;
  return t;
}

/// The library's own potentials run on BAOAB kernels compiled in libnabla_sampling (src/langevin.cpp), so a
/// program using them compiles none: a new potential there is one entry in this list.
#define NABLA_IMPL_BAOAB_POTENTIALS(X) X(DoubleWell) X(Harmonic<1>) X(Harmonic<2>) X(Harmonic<3>)
#define NABLA_IMPL_BAOAB_INSTANCES(PREFIX, P)                                                                        \
  PREFIX template Trajectory baoab<P>(const P&, const BAOABParams&, LangevinState&, std::size_t, std::size_t);      \
  PREFIX template void baoab_advance<Kokkos::DefaultExecutionSpace, P, 0>(                                          \
      const Kokkos::DefaultExecutionSpace&, const P&, const BAOABParams&, LangevinState&, std::size_t);
#define NABLA_IMPL_BAOAB_EXTERN(P) NABLA_IMPL_BAOAB_INSTANCES(extern, P)
NABLA_IMPL_BAOAB_POTENTIALS(NABLA_IMPL_BAOAB_EXTERN)
#undef NABLA_IMPL_BAOAB_EXTERN

/// \brief A state of `walkers` walkers, all at position `x0` with velocity `v0` (every coordinate).
inline LangevinState make_state(std::size_t walkers, std::size_t dims, double x0, double v0 = 0.0) {
  LangevinState s{Array<double, 2>({walkers, dims}, "nabla::sampling::LangevinState::x", uninitialized),
                  Array<double, 2>({walkers, dims}, "nabla::sampling::LangevinState::v", uninitialized)};
  Kokkos::deep_copy(s.x.view(), x0);
  Kokkos::deep_copy(s.v.view(), v0);
  return s;
}

}  // namespace sampling
}  // namespace nabla
