/// \file math.hpp
/// \brief Scalar math for every element type, and the function objects fused broadcasts apply.
///
/// The functors call math functions unqualified from inside `nabla::math`, so arithmetic types take the
/// overloads below (Kokkos' portable math) and user types (the ad module's Dual) are found by ADL.
#pragma once

#include <nabla/core/compat.hpp>
#include <nabla/core/impl/vector_math.hpp>

#include <type_traits>

namespace nabla {
namespace math {

#define NABLA_IMPL_SCALAR_UNARY(NAME)                                                  \
  template <class T, std::enable_if_t<std::is_arithmetic<T>::value, int> = 0>          \
  KOKKOS_INLINE_FUNCTION auto NAME(T x) {                                              \
    return ::nabla::compat::kmath::NAME(x);                                            \
  }
#define NABLA_IMPL_SCALAR_BINARY(NAME)                                                                     \
  template <class T, class U,                                                                              \
            std::enable_if_t<std::is_arithmetic<T>::value && std::is_arithmetic<U>::value, int> = 0>       \
  KOKKOS_INLINE_FUNCTION auto NAME(T x, U y) {                                                             \
    return ::nabla::compat::kmath::NAME(x, y);                                                             \
  }

NABLA_IMPL_SCALAR_UNARY(sqrt)
NABLA_IMPL_SCALAR_UNARY(cbrt)
NABLA_IMPL_SCALAR_UNARY(exp)
NABLA_IMPL_SCALAR_UNARY(expm1)
NABLA_IMPL_SCALAR_UNARY(log)
NABLA_IMPL_SCALAR_UNARY(log1p)
#ifdef NABLA_HAVE_LIBMVEC_SINCOS  // float and double through libm_sin/libm_cos (see impl/vector_math.hpp)
#define NABLA_IMPL_SCALAR_SINCOS(NAME)                                                                    \
  template <class T, std::enable_if_t<std::is_arithmetic<T>::value, int> = 0>                            \
  inline auto NAME(T x) {                                                                                \
    if constexpr (std::is_same<T, float>::value || std::is_same<T, double>::value)                       \
      return ::nabla::impl::libm_##NAME(x);                                                              \
    else                                                                                                 \
      return ::nabla::compat::kmath::NAME(x);                                                            \
  }
#else
#define NABLA_IMPL_SCALAR_SINCOS(NAME) NABLA_IMPL_SCALAR_UNARY(NAME)
#endif
NABLA_IMPL_SCALAR_SINCOS(sin)
NABLA_IMPL_SCALAR_SINCOS(cos)
NABLA_IMPL_SCALAR_UNARY(tan)
NABLA_IMPL_SCALAR_UNARY(asin)
NABLA_IMPL_SCALAR_UNARY(acos)
NABLA_IMPL_SCALAR_UNARY(atan)
NABLA_IMPL_SCALAR_UNARY(sinh)
NABLA_IMPL_SCALAR_UNARY(cosh)
NABLA_IMPL_SCALAR_UNARY(tanh)
NABLA_IMPL_SCALAR_UNARY(erf)
NABLA_IMPL_SCALAR_UNARY(erfc)
NABLA_IMPL_SCALAR_UNARY(floor)
NABLA_IMPL_SCALAR_UNARY(ceil)
NABLA_IMPL_SCALAR_BINARY(pow)
NABLA_IMPL_SCALAR_BINARY(atan2)
NABLA_IMPL_SCALAR_BINARY(hypot)
#undef NABLA_IMPL_SCALAR_UNARY
#undef NABLA_IMPL_SCALAR_SINCOS
#undef NABLA_IMPL_SCALAR_BINARY

template <class T, std::enable_if_t<std::is_arithmetic<T>::value, int> = 0>
KOKKOS_INLINE_FUNCTION T abs(T x) {
  if constexpr (std::is_floating_point<T>::value) {
    return ::nabla::compat::kmath::fabs(x);
  } else {
    return x < T(0) ? T(-x) : x;
  }
}

/// -1, 0 or +1 in x's type (0 for NaN's sign is not defined: NaN maps to 0).
template <class T, std::enable_if_t<std::is_arithmetic<T>::value, int> = 0>
KOKKOS_INLINE_FUNCTION T sign(T x) {
  return T((T(0) < x) - (x < T(0)));
}

// ------------------------------------------------------------------------------------------ functors
// Each functor is generic in its argument types, so the same expression tree evaluates on doubles, floats
// or dual numbers. `name` appears in error messages.

#define NABLA_IMPL_UNARY_FUNCTOR(TYPE, NAME, EXPR)                      \
  struct TYPE {                                                         \
    static constexpr const char* name = NAME;                           \
    template <class T>                                                  \
    KOKKOS_INLINE_FUNCTION auto operator()(const T& x) const { return EXPR; } \
  };
#define NABLA_IMPL_BINARY_FUNCTOR(TYPE, NAME, EXPR)                                   \
  struct TYPE {                                                                       \
    static constexpr const char* name = NAME;                                         \
    template <class T, class U>                                                       \
    KOKKOS_INLINE_FUNCTION auto operator()(const T& x, const U& y) const { return EXPR; } \
  };

NABLA_IMPL_UNARY_FUNCTOR(Negate, "-", -x)
NABLA_IMPL_UNARY_FUNCTOR(LogicalNot, "!", !x)
NABLA_IMPL_UNARY_FUNCTOR(Abs, "abs", abs(x))
NABLA_IMPL_UNARY_FUNCTOR(Sqrt, "sqrt", sqrt(x))
NABLA_IMPL_UNARY_FUNCTOR(Cbrt, "cbrt", cbrt(x))
NABLA_IMPL_UNARY_FUNCTOR(Exp, "exp", exp(x))
NABLA_IMPL_UNARY_FUNCTOR(Expm1, "expm1", expm1(x))
NABLA_IMPL_UNARY_FUNCTOR(Log, "log", log(x))
NABLA_IMPL_UNARY_FUNCTOR(Log1p, "log1p", log1p(x))
NABLA_IMPL_UNARY_FUNCTOR(Sin, "sin", sin(x))
NABLA_IMPL_UNARY_FUNCTOR(Cos, "cos", cos(x))
NABLA_IMPL_UNARY_FUNCTOR(Tan, "tan", tan(x))
NABLA_IMPL_UNARY_FUNCTOR(Asin, "asin", asin(x))
NABLA_IMPL_UNARY_FUNCTOR(Acos, "acos", acos(x))
NABLA_IMPL_UNARY_FUNCTOR(Atan, "atan", atan(x))
NABLA_IMPL_UNARY_FUNCTOR(Sinh, "sinh", sinh(x))
NABLA_IMPL_UNARY_FUNCTOR(Cosh, "cosh", cosh(x))
NABLA_IMPL_UNARY_FUNCTOR(Tanh, "tanh", tanh(x))
NABLA_IMPL_UNARY_FUNCTOR(Erf, "erf", erf(x))
NABLA_IMPL_UNARY_FUNCTOR(Erfc, "erfc", erfc(x))
NABLA_IMPL_UNARY_FUNCTOR(Floor, "floor", floor(x))
NABLA_IMPL_UNARY_FUNCTOR(Ceil, "ceil", ceil(x))
NABLA_IMPL_UNARY_FUNCTOR(Sign, "sign", sign(x))

NABLA_IMPL_BINARY_FUNCTOR(Plus, "+", x + y)
NABLA_IMPL_BINARY_FUNCTOR(Minus, "-", x - y)
NABLA_IMPL_BINARY_FUNCTOR(Multiplies, "*", x * y)
NABLA_IMPL_BINARY_FUNCTOR(Divides, "/", x / y)
NABLA_IMPL_BINARY_FUNCTOR(Less, "<", x < y)
NABLA_IMPL_BINARY_FUNCTOR(LessEqual, "<=", x <= y)
NABLA_IMPL_BINARY_FUNCTOR(Greater, ">", x > y)
NABLA_IMPL_BINARY_FUNCTOR(GreaterEqual, ">=", x >= y)
NABLA_IMPL_BINARY_FUNCTOR(EqualTo, "==", x == y)
NABLA_IMPL_BINARY_FUNCTOR(NotEqualTo, "!=", x != y)
NABLA_IMPL_BINARY_FUNCTOR(LogicalAnd, "&&", x && y)
NABLA_IMPL_BINARY_FUNCTOR(LogicalOr, "||", x || y)
NABLA_IMPL_BINARY_FUNCTOR(Pow, "pow", pow(x, y))
NABLA_IMPL_BINARY_FUNCTOR(Atan2, "atan2", atan2(x, y))
NABLA_IMPL_BINARY_FUNCTOR(Hypot, "hypot", hypot(x, y))
// min/max pick an operand (NaN in x propagates from min(x, y) only when y is not less): as std::min/max.
NABLA_IMPL_BINARY_FUNCTOR(Min, "min", (y < x ? y : x))
NABLA_IMPL_BINARY_FUNCTOR(Max, "max", (x < y ? y : x))
#undef NABLA_IMPL_UNARY_FUNCTOR
#undef NABLA_IMPL_BINARY_FUNCTOR

struct Clamp {
  static constexpr const char* name = "clamp";
  template <class T, class L, class H>
  KOKKOS_INLINE_FUNCTION auto operator()(const T& x, const L& lo, const H& hi) const {
    return x < lo ? T(lo) : (hi < x ? T(hi) : x);
  }
};

struct Where {
  static constexpr const char* name = "where";
  template <class C, class T, class U>
  KOKKOS_INLINE_FUNCTION std::common_type_t<T, U> operator()(const C& c, const T& a, const U& b) const {
    return c ? std::common_type_t<T, U>(a) : std::common_type_t<T, U>(b);
  }
};

template <class To>
struct Cast {
  static constexpr const char* name = "cast";
  template <class T>
  KOKKOS_INLINE_FUNCTION To operator()(const T& x) const {
    return static_cast<To>(x);
  }
};

}  // namespace math
}  // namespace nabla
