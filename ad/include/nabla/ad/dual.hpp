/// \file dual.hpp
/// \brief Forward-mode dual numbers: a value and N partial derivatives, usable in host code, in any Kokkos
/// kernel and as the element type of core's fused broadcasts. Nested duals give second derivatives.
#pragma once

#include <nabla/core/expr.hpp>
#include <nabla/core/math.hpp>

#include <Kokkos_Core.hpp>

#include <ostream>
#include <type_traits>

namespace nabla {
namespace ad {

/// \brief value + N partials, stored as in the autodiff library ({ T val; Kokkos::Array<T, N> grad; }).
template <class T, int N>
struct Dual {
  static_assert(N >= 1, "nabla::ad::Dual: N must be at least 1");
  using value_type = T;
  static constexpr int size = N;

  T val;
  Kokkos::Array<T, static_cast<unsigned>(N)> grad;

  /// Zero value and partials (so Dual accumulators start from 0 like doubles).
  KOKKOS_INLINE_FUNCTION Dual() : val(0) {
    for (int i = 0; i < N; ++i) grad[i] = T(0);
  }
  /// A constant: zero partials.
  template <class U, std::enable_if_t<std::is_convertible<U, T>::value, int> = 0>
  KOKKOS_INLINE_FUNCTION Dual(const U& v) : val(T(v)) {
    for (int i = 0; i < N; ++i) grad[i] = T(0);
  }
  /// A variable: value v, seeded with partial 1 in direction `dir`.
  KOKKOS_INLINE_FUNCTION Dual(const T& v, int dir) : val(v) {
    for (int i = 0; i < N; ++i) grad[i] = T(i == dir ? 1 : 0);
  }

  KOKKOS_INLINE_FUNCTION Dual& operator+=(const Dual& o) {
    val += o.val;
    for (int i = 0; i < N; ++i) grad[i] += o.grad[i];
    return *this;
  }
  KOKKOS_INLINE_FUNCTION Dual& operator-=(const Dual& o) {
    val -= o.val;
    for (int i = 0; i < N; ++i) grad[i] -= o.grad[i];
    return *this;
  }
  KOKKOS_INLINE_FUNCTION Dual& operator*=(const Dual& o) { return *this = *this * o; }
  KOKKOS_INLINE_FUNCTION Dual& operator/=(const Dual& o) { return *this = *this / o; }

  /// Conversion for contexts that need a plain value (conditions, static_cast<double>).
  KOKKOS_INLINE_FUNCTION explicit operator T() const { return val; }

  // ---- arithmetic: friends, so they are found by ADL and accept constants convertible to Dual ----
  KOKKOS_INLINE_FUNCTION friend Dual operator+(const Dual& a) { return a; }
  KOKKOS_INLINE_FUNCTION friend Dual operator-(const Dual& a) {
    Dual r;
    r.val = -a.val;
    for (int i = 0; i < N; ++i) r.grad[i] = -a.grad[i];
    return r;
  }
  KOKKOS_INLINE_FUNCTION friend Dual operator+(const Dual& a, const Dual& b) {
    Dual r = a;
    return r += b;
  }
  KOKKOS_INLINE_FUNCTION friend Dual operator-(const Dual& a, const Dual& b) {
    Dual r = a;
    return r -= b;
  }
  KOKKOS_INLINE_FUNCTION friend Dual operator*(const Dual& a, const Dual& b) {
    Dual r;
    r.val = a.val * b.val;
    for (int i = 0; i < N; ++i) r.grad[i] = a.grad[i] * b.val + a.val * b.grad[i];
    return r;
  }
  KOKKOS_INLINE_FUNCTION friend Dual operator/(const Dual& a, const Dual& b) {
    Dual r;
    const T inv = T(1) / b.val;
    r.val = a.val * inv;
    for (int i = 0; i < N; ++i) r.grad[i] = (a.grad[i] - r.val * b.grad[i]) * inv;
    return r;
  }
  // Mixed with the value type: cheaper than promoting the constant to a Dual.
  KOKKOS_INLINE_FUNCTION friend Dual operator+(const Dual& a, const T& b) {
    Dual r = a;
    r.val += b;
    return r;
  }
  KOKKOS_INLINE_FUNCTION friend Dual operator+(const T& a, const Dual& b) { return b + a; }
  KOKKOS_INLINE_FUNCTION friend Dual operator-(const Dual& a, const T& b) {
    Dual r = a;
    r.val -= b;
    return r;
  }
  KOKKOS_INLINE_FUNCTION friend Dual operator-(const T& a, const Dual& b) { return -b + a; }
  KOKKOS_INLINE_FUNCTION friend Dual operator*(const Dual& a, const T& b) {
    Dual r;
    r.val = a.val * b;
    for (int i = 0; i < N; ++i) r.grad[i] = a.grad[i] * b;
    return r;
  }
  KOKKOS_INLINE_FUNCTION friend Dual operator*(const T& a, const Dual& b) { return b * a; }
  KOKKOS_INLINE_FUNCTION friend Dual operator/(const Dual& a, const T& b) { return a * (T(1) / b); }
  KOKKOS_INLINE_FUNCTION friend Dual operator/(const T& a, const Dual& b) {
    Dual r;
    r.val = a / b.val;
    const T d = -r.val / b.val;
    for (int i = 0; i < N; ++i) r.grad[i] = d * b.grad[i];
    return r;
  }

  // Arithmetic constants of another type (3 * x, or 2.0 * x for nested duals) go through T.
#define NABLA_IMPL_DUAL_ARITH(OP)                                                                    \
  template <class U, std::enable_if_t<std::is_arithmetic<U>::value && !std::is_same<U, T>::value, int> = 0> \
  KOKKOS_INLINE_FUNCTION friend Dual operator OP(const Dual& a, const U& b) { return a OP T(b); }     \
  template <class U, std::enable_if_t<std::is_arithmetic<U>::value && !std::is_same<U, T>::value, int> = 0> \
  KOKKOS_INLINE_FUNCTION friend Dual operator OP(const U& a, const Dual& b) { return T(a) OP b; }
  NABLA_IMPL_DUAL_ARITH(+)
  NABLA_IMPL_DUAL_ARITH(-)
  NABLA_IMPL_DUAL_ARITH(*)
  NABLA_IMPL_DUAL_ARITH(/)
#undef NABLA_IMPL_DUAL_ARITH

  // ---- comparisons act on the value ----
#define NABLA_IMPL_DUAL_COMPARE(OP)                                                                   \
  KOKKOS_INLINE_FUNCTION friend bool operator OP(const Dual& a, const Dual& b) { return a.val OP b.val; } \
  KOKKOS_INLINE_FUNCTION friend bool operator OP(const Dual& a, const T& b) { return a.val OP b; }       \
  KOKKOS_INLINE_FUNCTION friend bool operator OP(const T& a, const Dual& b) { return a OP b.val; }    \
  template <class U, std::enable_if_t<std::is_arithmetic<U>::value && !std::is_same<U, T>::value, int> = 0> \
  KOKKOS_INLINE_FUNCTION friend bool operator OP(const Dual& a, const U& b) { return a.val OP T(b); }   \
  template <class U, std::enable_if_t<std::is_arithmetic<U>::value && !std::is_same<U, T>::value, int> = 0> \
  KOKKOS_INLINE_FUNCTION friend bool operator OP(const U& a, const Dual& b) { return T(a) OP b.val; }
  NABLA_IMPL_DUAL_COMPARE(<)
  NABLA_IMPL_DUAL_COMPARE(<=)
  NABLA_IMPL_DUAL_COMPARE(>)
  NABLA_IMPL_DUAL_COMPARE(>=)
  NABLA_IMPL_DUAL_COMPARE(==)
  NABLA_IMPL_DUAL_COMPARE(!=)
#undef NABLA_IMPL_DUAL_COMPARE
};

template <class T>
struct is_dual : std::false_type {};
template <class T, int N>
struct is_dual<Dual<T, N>> : std::true_type {};

/// The value of a (possibly nested) dual or plain number.
template <class T>
KOKKOS_INLINE_FUNCTION auto value(const T& x) {
  if constexpr (is_dual<T>::value) return value(x.val);
  else return x;
}

// Inside the functions below, the scalar math of the value type is found by these using-declarations
// (plain numbers) or by argument-dependent lookup (nested duals).
#define NABLA_IMPL_USING_MATH                                                                            \
  using ::nabla::math::sqrt; using ::nabla::math::cbrt; using ::nabla::math::exp; using ::nabla::math::expm1; \
  using ::nabla::math::log; using ::nabla::math::log1p; using ::nabla::math::sin; using ::nabla::math::cos;   \
  using ::nabla::math::tan; using ::nabla::math::asin; using ::nabla::math::acos; using ::nabla::math::atan;  \
  using ::nabla::math::sinh; using ::nabla::math::cosh; using ::nabla::math::tanh; using ::nabla::math::erf; \
  using ::nabla::math::erfc; using ::nabla::math::floor; using ::nabla::math::ceil; using ::nabla::math::abs; \
  using ::nabla::math::sign; using ::nabla::math::pow; using ::nabla::math::atan2; using ::nabla::math::hypot;

namespace impl {
/// r = f(x) with partials df * x.grad (the chain rule for one argument).
template <class T, int N>
KOKKOS_INLINE_FUNCTION Dual<T, N> chain(const Dual<T, N>& x, const T& f, const T& df) {
  Dual<T, N> r;
  r.val = f;
  for (int i = 0; i < N; ++i) r.grad[i] = df * x.grad[i];
  return r;
}
}  // namespace impl

// ---- math: each calls the scalar function on the value (a nested Dual recurses through ADL) ----
#define NABLA_IMPL_DUAL_UNARY(NAME, DERIV)                            \
  template <class T, int N>                                           \
  KOKKOS_INLINE_FUNCTION Dual<T, N> NAME(const Dual<T, N>& x) {       \
    NABLA_IMPL_USING_MATH                                             \
    const T& v = x.val;                                               \
    const T f = NAME(v);                                              \
    (void)f;                                                          \
    return impl::chain(x, f, T(DERIV));                               \
  }

// d/dx for each function, in terms of v (the value) and f (the result).
NABLA_IMPL_DUAL_UNARY(sqrt, T(0.5) / f)
NABLA_IMPL_DUAL_UNARY(cbrt, T(1) / (T(3) * f * f))
NABLA_IMPL_DUAL_UNARY(exp, f)
NABLA_IMPL_DUAL_UNARY(expm1, f + T(1))
NABLA_IMPL_DUAL_UNARY(log, T(1) / v)
NABLA_IMPL_DUAL_UNARY(log1p, T(1) / (T(1) + v))
NABLA_IMPL_DUAL_UNARY(sin, cos(v))
NABLA_IMPL_DUAL_UNARY(cos, -sin(v))
NABLA_IMPL_DUAL_UNARY(tan, T(1) + f * f)
NABLA_IMPL_DUAL_UNARY(asin, T(1) / sqrt(T(1) - v * v))
NABLA_IMPL_DUAL_UNARY(acos, T(-1) / sqrt(T(1) - v * v))
NABLA_IMPL_DUAL_UNARY(atan, T(1) / (T(1) + v * v))
NABLA_IMPL_DUAL_UNARY(sinh, cosh(v))
NABLA_IMPL_DUAL_UNARY(cosh, sinh(v))
NABLA_IMPL_DUAL_UNARY(tanh, T(1) - f * f)
NABLA_IMPL_DUAL_UNARY(erf, T(1.1283791670955125738961589031215) * exp(-v * v))
NABLA_IMPL_DUAL_UNARY(erfc, T(-1.1283791670955125738961589031215) * exp(-v * v))
NABLA_IMPL_DUAL_UNARY(floor, T(0))
NABLA_IMPL_DUAL_UNARY(ceil, T(0))
NABLA_IMPL_DUAL_UNARY(abs, sign(v))
NABLA_IMPL_DUAL_UNARY(sign, T(0))
#undef NABLA_IMPL_DUAL_UNARY

template <class T, int N>
KOKKOS_INLINE_FUNCTION Dual<T, N> pow(const Dual<T, N>& x, const Dual<T, N>& y) {
  NABLA_IMPL_USING_MATH
  const T f = pow(x.val, y.val);
  Dual<T, N> r;
  r.val = f;
  const T dx = y.val * pow(x.val, y.val - T(1));
  for (int i = 0; i < N; ++i) {
    // The log term only where y varies, so pow(0, const) keeps finite partials.
    r.grad[i] = dx * x.grad[i] + (y.grad[i] != T(0) ? f * log(x.val) * y.grad[i] : T(0));
  }
  return r;
}
template <class T, int N, class U, std::enable_if_t<std::is_convertible<U, T>::value && !is_dual<U>::value, int> = 0>
KOKKOS_INLINE_FUNCTION Dual<T, N> pow(const Dual<T, N>& x, const U& y) {
  NABLA_IMPL_USING_MATH
  const T e = T(y);
  return impl::chain(x, T(pow(x.val, e)), T(e * pow(x.val, e - T(1))));
}
template <class T, int N, class U, std::enable_if_t<std::is_convertible<U, T>::value && !is_dual<U>::value, int> = 0>
KOKKOS_INLINE_FUNCTION Dual<T, N> pow(const U& x, const Dual<T, N>& y) {
  NABLA_IMPL_USING_MATH
  const T b = T(x), f = pow(b, y.val);
  return impl::chain(y, f, T(f * log(b)));
}

template <class T, int N>
KOKKOS_INLINE_FUNCTION Dual<T, N> atan2(const Dual<T, N>& y, const Dual<T, N>& x) {
  NABLA_IMPL_USING_MATH
  Dual<T, N> r;
  r.val = atan2(y.val, x.val);
  const T inv = T(1) / (x.val * x.val + y.val * y.val);
  for (int i = 0; i < N; ++i) r.grad[i] = (x.val * y.grad[i] - y.val * x.grad[i]) * inv;
  return r;
}
template <class T, int N, class U, std::enable_if_t<std::is_convertible<U, T>::value && !is_dual<U>::value, int> = 0>
KOKKOS_INLINE_FUNCTION Dual<T, N> atan2(const Dual<T, N>& y, const U& x) {
  return atan2(y, Dual<T, N>(x));
}
template <class T, int N, class U, std::enable_if_t<std::is_convertible<U, T>::value && !is_dual<U>::value, int> = 0>
KOKKOS_INLINE_FUNCTION Dual<T, N> atan2(const U& y, const Dual<T, N>& x) {
  return atan2(Dual<T, N>(y), x);
}

template <class T, int N>
KOKKOS_INLINE_FUNCTION Dual<T, N> hypot(const Dual<T, N>& x, const Dual<T, N>& y) {
  NABLA_IMPL_USING_MATH
  Dual<T, N> r;
  r.val = hypot(x.val, y.val);
  const T inv = r.val == T(0) ? T(0) : T(1) / r.val;
  for (int i = 0; i < N; ++i) r.grad[i] = (x.val * x.grad[i] + y.val * y.grad[i]) * inv;
  return r;
}
template <class T, int N, class U, std::enable_if_t<std::is_convertible<U, T>::value && !is_dual<U>::value, int> = 0>
KOKKOS_INLINE_FUNCTION Dual<T, N> hypot(const Dual<T, N>& x, const U& y) {
  return hypot(x, Dual<T, N>(y));
}
template <class T, int N, class U, std::enable_if_t<std::is_convertible<U, T>::value && !is_dual<U>::value, int> = 0>
KOKKOS_INLINE_FUNCTION Dual<T, N> hypot(const U& x, const Dual<T, N>& y) {
  return hypot(Dual<T, N>(x), y);
}

template <class T, int N>
std::ostream& operator<<(std::ostream& os, const Dual<T, N>& d) {
  os << d.val << " [";
  for (int i = 0; i < N; ++i) os << (i ? ", " : "") << d.grad[i];
  return os << "]";
}

}  // namespace ad

// Duals are weak scalars next to expressions, and expose their real type to core's promotion rules.
template <class T, int N>
struct is_scalar_type<ad::Dual<T, N>> : std::true_type {};
template <class T, int N>
struct scalar_type<ad::Dual<T, N>> {
  using type = typename scalar_type<T>::type;
};

}  // namespace nabla

namespace Kokkos {
/// The identities of Kokkos' reductions (and of core's min/max) for duals: the value's, with zero partials,
/// so max, min and log-softmax run on Dual elements under jvp and hvp.
template <class T, int N>
struct reduction_identity<nabla::ad::Dual<T, N>> {
  using D = nabla::ad::Dual<T, N>;
  KOKKOS_FORCEINLINE_FUNCTION static D sum() { return D(reduction_identity<T>::sum()); }
  KOKKOS_FORCEINLINE_FUNCTION static D prod() { return D(reduction_identity<T>::prod()); }
  KOKKOS_FORCEINLINE_FUNCTION static D max() { return D(reduction_identity<T>::max()); }
  KOKKOS_FORCEINLINE_FUNCTION static D min() { return D(reduction_identity<T>::min()); }
};
}  // namespace Kokkos

namespace std {
template <class T, int N, class U>
struct common_type<nabla::ad::Dual<T, N>, U> {
  using type = nabla::ad::Dual<T, N>;
};
template <class T, int N, class U>
struct common_type<U, nabla::ad::Dual<T, N>> {
  using type = nabla::ad::Dual<T, N>;
};
template <class T, int N>
struct common_type<nabla::ad::Dual<T, N>, nabla::ad::Dual<T, N>> {
  using type = nabla::ad::Dual<T, N>;
};
}  // namespace std
