/// \file potentials.hpp
/// \brief Potentials for Langevin dynamics: functors templated on the scalar type, and the force -∇E.
///
/// A potential is a copyable struct with `static constexpr int dim` and a member template
/// `template <class T> T energy(const Kokkos::Array<T, dim>& x) const` marked KOKKOS_INLINE_FUNCTION. The force
/// is -∇E computed with `ad::Dual` unless the struct also has
/// `Kokkos::Array<double, dim> force(const Kokkos::Array<double, dim>& x) const` (then that is used).
#pragma once

#include <nabla/ad/forward.hpp>
#include <nabla/core/math.hpp>

#include <Kokkos_Core.hpp>

#include <type_traits>

namespace nabla {
namespace sampling {

/// A point of a `D`-dimensional configuration space.
template <int D>
using Point = Kokkos::Array<double, static_cast<unsigned>(D)>;

/// \brief The seed's double well E(x) = ¼ k (x-a)²(x+a)², F = -k x (x-a)(x+a) (defaults a = 2, k = 1).
struct DoubleWell {
  static constexpr int dim = 1;
  double a = 2.0;
  double k = 1.0;
  template <class T>
  KOKKOS_INLINE_FUNCTION T energy(const Kokkos::Array<T, 1>& x) const {
    const T d = x[0] * x[0] - a * a;
    return 0.25 * k * d * d;
  }
  KOKKOS_INLINE_FUNCTION Point<1> force(const Point<1>& x) const {
    Point<1> f;
    f[0] = -k * x[0] * (x[0] - a) * (x[0] + a);
    return f;
  }
};

/// \brief Isotropic harmonic well E(x) = ½ k |x - center|² in D dimensions (variance kBT / k per coordinate).
template <int D>
struct Harmonic {
  static constexpr int dim = D;
  double k = 1.0;
  double center = 0.0;
  template <class T>
  KOKKOS_INLINE_FUNCTION T energy(const Kokkos::Array<T, static_cast<unsigned>(D)>& x) const {
    T e = T(0);
    for (int d = 0; d < D; ++d) {
      const T y = x[d] - center;
      e += y * y;
    }
    return 0.5 * k * e;
  }
  KOKKOS_INLINE_FUNCTION Point<D> force(const Point<D>& x) const {
    Point<D> f;
    for (int d = 0; d < D; ++d) f[d] = -k * (x[d] - center);
    return f;
  }
};

namespace impl {
template <class P, class = void>
struct has_force : std::false_type {};
template <class P>
struct has_force<P, std::void_t<decltype(std::declval<const P&>().force(std::declval<const Point<P::dim>&>()))>>
    : std::true_type {};

/// Adapts `p.energy` to the callable `ad::value_and_gradient` differentiates.
template <class P>
struct EnergyOf {
  P p;
  template <class X>
  KOKKOS_INLINE_FUNCTION auto operator()(const X& x) const {
    return p.energy(x);
  }
};
}  // namespace impl

/// True when the potential provides its own `force`.
template <class P>
constexpr bool has_analytic_force = impl::has_force<P>::value;

/// \brief The force -∇E at x: the potential's `force` if it has one, else forward-mode AD through `energy`.
template <class P>
KOKKOS_INLINE_FUNCTION Point<P::dim> force(const P& p, const Point<P::dim>& x) {
  if constexpr (impl::has_force<P>::value) {
    return p.force(x);
  } else {
    Point<P::dim> g;
    ad::value_and_gradient<P::dim>(impl::EnergyOf<P>{p}, x, g);
    for (int d = 0; d < P::dim; ++d) g[d] = -g[d];
    return g;
  }
}

/// \brief The force from AD even when the potential has an analytic one (to test one against the other).
template <class P>
KOKKOS_INLINE_FUNCTION Point<P::dim> ad_force(const P& p, const Point<P::dim>& x) {
  Point<P::dim> g;
  ad::value_and_gradient<P::dim>(impl::EnergyOf<P>{p}, x, g);
  for (int d = 0; d < P::dim; ++d) g[d] = -g[d];
  return g;
}

/// \brief The potential energy at x.
template <class P>
KOKKOS_INLINE_FUNCTION double energy(const P& p, const Point<P::dim>& x) {
  return p.energy(x);
}

}  // namespace sampling
}  // namespace nabla
