/// \file integrator.hpp
/// \brief Hamiltonian dynamics of one chain inside a kernel: the log-density's gradient (the target's own, or
/// forward-mode duals), the kinetic energy of a diagonal mass matrix, and the leapfrog (velocity Verlet) integrator.
#pragma once

#include <nabla/ad/forward.hpp>
#include <nabla/core/math.hpp>

#include <Kokkos_Core.hpp>

#include <type_traits>
#include <utility>

namespace nabla {
namespace sampling {
namespace hmc {

/// A point, momentum or gradient of a D-dimensional target.
template <int D>
using Vec = Kokkos::Array<double, static_cast<unsigned>(D)>;

namespace impl {
/// An energy error beyond this is a divergence, as Stan counts them.
constexpr double kMaxEnergyError = 1000.0;

template <class F, int D, class = void>
struct has_gradient : std::false_type {};
template <class F, int D>
struct has_gradient<F, D,
                    std::void_t<decltype(std::declval<const F&>().value_and_gradient(std::declval<const Vec<D>&>(),
                                                                                       std::declval<Vec<D>&>()))>>
    : std::true_type {};
}  // namespace impl

/// \brief log p(x), with its gradient in g: the target's `double value_and_gradient(const Vec<D>&, Vec<D>&) const`
/// when it has one, else its generic `template <class T> T operator()(const Kokkos::Array<T, D>&) const` on
/// forward-mode duals (one pass carrying D partials).
template <int D, class F>
KOKKOS_INLINE_FUNCTION double log_density_and_gradient(const F& f, const Vec<D>& x, Vec<D>& g) {
  if constexpr (impl::has_gradient<F, D>::value) {
    return f.value_and_gradient(x, g);
  } else {
    return ad::value_and_gradient<D>(f, x, g);
  }
}

/// \brief log_density_and_gradient compiled once per target: host compilers may vectorise a log-density
/// differently where it is inlined, and glibc's vector math rounds differently from its scalar math, so one point
/// could give two log-densities a bit apart. Every evaluation goes through this copy, so a chain resumed from its
/// last draw continues with the very bits it stopped with.
template <int D, class F>
#if !defined(__CUDACC__) && !defined(__HIPCC__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((noinline))
#endif
KOKKOS_FUNCTION double evaluate(const F& f, const Vec<D>& x, Vec<D>& g) {
  return log_density_and_gradient<D>(f, x, g);
}

/// True for a finite value; written out because Kokkos 3.4 (the fallback) has no isfinite on every backend.
KOKKOS_INLINE_FUNCTION bool finite(double x) { return x - x == 0.0; }

/// One chain's position, momentum, gradient and log-density along a trajectory.
template <int D>
struct Phase {
  Vec<D> q, p, g;
  double logp;
};

/// ½ pᵀ M⁻¹ p for the diagonal inverse mass `inv_mass`.
template <int D>
KOKKOS_INLINE_FUNCTION double kinetic(const Vec<D>& p, const Vec<D>& inv_mass) {
  double k = 0.0;
  for (int i = 0; i < D; ++i) k += p[i] * p[i] * inv_mass[i];
  return 0.5 * k;
}

/// \brief Velocity Verlet's two moves, written once: leapfrog below, NUTS's leaves and the lockstep engine all
/// step with these, so they round alike (eps < 0 steps backward). The half-kick p += ε/2 ∇log p ...
template <int D>
KOKKOS_INLINE_FUNCTION void half_kick(Vec<D>& p, const Vec<D>& g, double eps) {
  for (int i = 0; i < D; ++i) p[i] += 0.5 * eps * g[i];
}
/// ... and the drift q += ε M⁻¹ p.
template <int D>
KOKKOS_INLINE_FUNCTION void drift(Vec<D>& q, const Vec<D>& p, const Vec<D>& inv_mass, double eps) {
  for (int i = 0; i < D; ++i) q[i] += eps * inv_mass[i] * p[i];
}

/// \brief `n` leapfrog steps of size `eps`, one gradient each. Stops early once the log-density is not finite (a
/// divergence: s.logp tells); returns the gradients evaluated.
template <int D, class F>
KOKKOS_INLINE_FUNCTION int leapfrog(const F& f, Phase<D>& s, const Vec<D>& inv_mass, double eps, int n) {
  for (int k = 0; k < n; ++k) {
    half_kick<D>(s.p, s.g, eps);
    drift<D>(s.q, s.p, inv_mass, eps);
    s.logp = evaluate<D>(f, s.q, s.g);
    if (!finite(s.logp)) return k + 1;
    half_kick<D>(s.p, s.g, eps);
  }
  return n;
}

}  // namespace hmc
}  // namespace sampling
}  // namespace nabla
