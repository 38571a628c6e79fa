/// \file forward.hpp
/// \brief Forward-mode derivatives of functions of a few scalars, in the style of the autodiff library:
/// `derivative(f, wrt(x), at(x, y))`, `gradient`, `jacobian`, `hessian` on the host, and `gradient(f, x)`
/// over a Kokkos::Array inside kernels (the sampling module takes forces as -grad E this way).
#pragma once

#include <nabla/ad/dual.hpp>

#include <array>
#include <tuple>

namespace nabla {
namespace ad {

/// The point to differentiate at: references to every argument of f, in order.
template <class... Args>
struct At {
  std::tuple<const Args&...> args;
};
template <class... Args>
At<Args...> at(const Args&... a) {
  return {std::tuple<const Args&...>(a...)};
}

/// The variables to differentiate with respect to, identified by address among at(...)'s arguments.
template <int K>
struct Wrt {
  std::array<const void*, K> vars;
};
template <class... Args>
Wrt<int(sizeof...(Args))> wrt(const Args&... a) {
  return {{{static_cast<const void*>(&a)...}}};
}

namespace impl {
template <class D, int K, class T>
D seed(const T& x, const Wrt<K>& w) {
  for (int k = 0; k < K; ++k)
    if (w.vars[k] == static_cast<const void*>(&x)) return D(typename D::value_type(x), k);
  return D(x);
}
template <class D2, int K, class T>
D2 seed2(const T& x, const Wrt<K>& w) {
  using D1 = typename D2::value_type;
  for (int k = 0; k < K; ++k)
    if (w.vars[k] == static_cast<const void*>(&x)) return D2(D1(x, k), k);
  return D2(D1(x));
}
template <class F, class D, int K, class... Args>
auto call_seeded(F& f, const Wrt<K>& w, const At<Args...>& a) {
  return std::apply([&](const auto&... x) { return f(seed<D>(x, w)...); }, a.args);
}
}  // namespace impl

/// \brief ∂f/∂x_k for each variable in wrt, at the point at(...). f must be generic in its scalar type.
template <class F, int K, class... Args>
auto gradient(F&& f, const Wrt<K>& w, const At<Args...>& a) {
  using T = std::common_type_t<Args...>;
  const auto y = impl::call_seeded<F, Dual<T, K>>(f, w, a);
  std::array<T, K> g{};
  for (int k = 0; k < K; ++k) g[k] = y.grad[k];
  return g;
}

/// \brief df/dx for one variable.
template <class F, class... Args>
auto derivative(F&& f, const Wrt<1>& w, const At<Args...>& a) {
  return gradient(f, w, a)[0];
}

/// \brief The M x K Jacobian of an f returning std::array<scalar, M>.
template <class F, int K, class... Args>
auto jacobian(F&& f, const Wrt<K>& w, const At<Args...>& a) {
  using T = std::common_type_t<Args...>;
  const auto y = impl::call_seeded<F, Dual<T, K>>(f, w, a);
  constexpr std::size_t M = std::tuple_size<std::decay_t<decltype(y)>>::value;
  std::array<std::array<T, K>, M> J{};
  for (std::size_t m = 0; m < M; ++m)
    for (int k = 0; k < K; ++k) J[m][k] = y[m].grad[k];
  return J;
}

/// \brief The K x K Hessian, by nested duals (forward over forward).
template <class F, int K, class... Args>
auto hessian(F&& f, const Wrt<K>& w, const At<Args...>& a) {
  using T = std::common_type_t<Args...>;
  using D2 = Dual<Dual<T, K>, K>;
  const auto y = std::apply([&](const auto&... x) { return f(impl::seed2<D2>(x, w)...); }, a.args);
  std::array<std::array<T, K>, K> H{};
  for (int i = 0; i < K; ++i)
    for (int j = 0; j < K; ++j) H[i][j] = y.grad[i].grad[j];
  return H;
}

/// \brief Value and gradient of f: Kokkos::Array<Dual<T, N>, N> -> Dual<T, N> at x, usable in kernels.
template <int N, class F, class T>
KOKKOS_INLINE_FUNCTION T value_and_gradient(const F& f, const Kokkos::Array<T, static_cast<unsigned>(N)>& x,
                                            Kokkos::Array<T, static_cast<unsigned>(N)>& g) {
  Kokkos::Array<Dual<T, N>, static_cast<unsigned>(N)> d;
  for (int i = 0; i < N; ++i) d[i] = Dual<T, N>(x[i], i);
  const Dual<T, N> y = f(d);
  for (int i = 0; i < N; ++i) g[i] = y.grad[i];
  return y.val;
}

/// \brief Gradient of f at x, usable in kernels.
template <int N, class F, class T>
KOKKOS_INLINE_FUNCTION Kokkos::Array<T, static_cast<unsigned>(N)> gradient(
    const F& f, const Kokkos::Array<T, static_cast<unsigned>(N)>& x) {
  Kokkos::Array<T, static_cast<unsigned>(N)> g;
  value_and_gradient<N>(f, x, g);
  return g;
}

}  // namespace ad
}  // namespace nabla
