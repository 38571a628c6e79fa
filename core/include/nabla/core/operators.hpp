/// \file operators.hpp
/// \brief Lazy operators and math functions over Arrays, Views and expressions (nothing runs until assign/eval).
#pragma once

#include <nabla/core/expr.hpp>

#include <type_traits>

namespace nabla {

namespace impl {
/// Operand pairs a binary operator accepts: two operands, or an operand and a weak scalar (either side).
template <class A, class B>
struct binary_ok
    : std::integral_constant<bool, (is_operand<A>::value && (is_operand<B>::value || is_scalar_type<B>::value)) ||
                                       (is_scalar_type<A>::value && is_operand<B>::value)> {};

/// Lifts one side of a binary operation: operands become expressions, a scalar takes the weak type of the
/// other side's elements.
template <class Other, class X>
auto lift(const X& x) {
  if constexpr (is_operand<X>::value) {
    return as_expr(x);
  } else {
    using E = typename expr_t<Other>::value_type;
    using W = typename weak_scalar<E, X>::type;
    return Scalar<W>{static_cast<W>(x)};
  }
}

template <class F, class A, class B>
auto binary(const A& a, const B& b) {
  auto ea = lift<B>(a);
  auto eb = lift<A>(b);
  return Broadcasted<F, decltype(ea), decltype(eb)>{F{}, impl::Tuple<decltype(ea), decltype(eb)>(ea, eb)};
}
}  // namespace impl

#define NABLA_IMPL_BINARY_OPERATOR(OP, FUNCTOR)                                                              \
  template <class A, class B, std::enable_if_t<impl::binary_ok<A, B>::value, int> = 0>                      \
  auto OP(const A& a, const B& b) {                                                                          \
    return impl::binary<math::FUNCTOR>(a, b);                                                                \
  }
NABLA_IMPL_BINARY_OPERATOR(operator+, Plus)
NABLA_IMPL_BINARY_OPERATOR(operator-, Minus)
NABLA_IMPL_BINARY_OPERATOR(operator*, Multiplies)
NABLA_IMPL_BINARY_OPERATOR(operator/, Divides)
NABLA_IMPL_BINARY_OPERATOR(operator<, Less)
NABLA_IMPL_BINARY_OPERATOR(operator<=, LessEqual)
NABLA_IMPL_BINARY_OPERATOR(operator>, Greater)
NABLA_IMPL_BINARY_OPERATOR(operator>=, GreaterEqual)
NABLA_IMPL_BINARY_OPERATOR(operator==, EqualTo)
NABLA_IMPL_BINARY_OPERATOR(operator!=, NotEqualTo)
NABLA_IMPL_BINARY_OPERATOR(operator&&, LogicalAnd)
NABLA_IMPL_BINARY_OPERATOR(operator||, LogicalOr)
NABLA_IMPL_BINARY_OPERATOR(pow, Pow)
NABLA_IMPL_BINARY_OPERATOR(atan2, Atan2)
NABLA_IMPL_BINARY_OPERATOR(hypot, Hypot)
/// Elementwise minimum/maximum of two operands (the one-argument forms are reductions, reduce.hpp).
NABLA_IMPL_BINARY_OPERATOR(min, Min)
NABLA_IMPL_BINARY_OPERATOR(max, Max)
#undef NABLA_IMPL_BINARY_OPERATOR

#define NABLA_IMPL_UNARY_FUNCTION(NAME, FUNCTOR)                       \
  template <class A, impl::enable_if_operand_t<A> = 0>                  \
  auto NAME(const A& a) {                                               \
    return make_broadcasted(math::FUNCTOR{}, a);                        \
  }
NABLA_IMPL_UNARY_FUNCTION(operator-, Negate)
NABLA_IMPL_UNARY_FUNCTION(operator!, LogicalNot)
NABLA_IMPL_UNARY_FUNCTION(abs, Abs)
NABLA_IMPL_UNARY_FUNCTION(sqrt, Sqrt)
NABLA_IMPL_UNARY_FUNCTION(cbrt, Cbrt)
NABLA_IMPL_UNARY_FUNCTION(exp, Exp)
NABLA_IMPL_UNARY_FUNCTION(expm1, Expm1)
NABLA_IMPL_UNARY_FUNCTION(log, Log)
NABLA_IMPL_UNARY_FUNCTION(log1p, Log1p)
NABLA_IMPL_UNARY_FUNCTION(sin, Sin)
NABLA_IMPL_UNARY_FUNCTION(cos, Cos)
NABLA_IMPL_UNARY_FUNCTION(tan, Tan)
NABLA_IMPL_UNARY_FUNCTION(asin, Asin)
NABLA_IMPL_UNARY_FUNCTION(acos, Acos)
NABLA_IMPL_UNARY_FUNCTION(atan, Atan)
NABLA_IMPL_UNARY_FUNCTION(sinh, Sinh)
NABLA_IMPL_UNARY_FUNCTION(cosh, Cosh)
NABLA_IMPL_UNARY_FUNCTION(tanh, Tanh)
NABLA_IMPL_UNARY_FUNCTION(erf, Erf)
NABLA_IMPL_UNARY_FUNCTION(erfc, Erfc)
NABLA_IMPL_UNARY_FUNCTION(floor, Floor)
NABLA_IMPL_UNARY_FUNCTION(ceil, Ceil)
NABLA_IMPL_UNARY_FUNCTION(sign, Sign)
#undef NABLA_IMPL_UNARY_FUNCTION

namespace impl {
/// Lifts an operand or a scalar kept in its own type (for where/clamp/map, where no side is "the" array).
template <class X>
auto lift_any(const X& x) {
  if constexpr (is_operand<X>::value) return as_expr(x);
  else return Scalar<X>{x};
}
template <class... X>
constexpr bool any_operand = (false || ... || is_operand<X>::value);

template <class F, class... X>
auto nary(F f, const X&... x) {
  return Broadcasted<F, decltype(lift_any(x))...>{f, Tuple<decltype(lift_any(x))...>(lift_any(x)...)};
}
}  // namespace impl

/// Elementwise `c ? a : b`; both branches are evaluated (cheap, branch-free), only one is kept.
template <class C, class A, class B, std::enable_if_t<impl::any_operand<C, A, B>, int> = 0>
auto where(const C& c, const A& a, const B& b) {
  return impl::nary(math::Where{}, c, a, b);
}

/// Elementwise clamp of x into [lo, hi].
template <class X, class L, class H, std::enable_if_t<impl::any_operand<X, L, H>, int> = 0>
auto clamp(const X& x, const L& lo, const H& hi) {
  return impl::nary(math::Clamp{}, x, lo, hi);
}

/// Elementwise conversion to `To`.
template <class To, class A, impl::enable_if_operand_t<A> = 0>
auto cast(const A& a) {
  return make_broadcasted(math::Cast<To>{}, a);
}

/// \brief Fuses a user functor into the expression: `map(f, x, y)` applies `f(x_i, y_i)` elementwise.
///
/// `f` must be copyable to the device and callable there (KOKKOS_INLINE_FUNCTION / KOKKOS_LAMBDA). A generic
/// call operator (template or auto parameters) also lets the ad module differentiate it.
template <class F, class... X, std::enable_if_t<impl::any_operand<X...>, int> = 0>
auto map(F f, const X&... x) {
  return impl::nary(f, x...);
}

}  // namespace nabla
