/// \file vector_math.hpp
/// \brief Lets GCC vectorise host loops that call libm, through glibc's vector math library (libmvec).
///
/// glibc declares the SIMD variants of its math functions only under -ffast-math, so a loop over elements
/// that calls exp or tanh stays scalar: one libm call per element, which bounds every transcendental
/// broadcast and every backward kernel of one on CPUs. These declarations are glibc's own (the same
/// attribute glibc's bits/math-vector.h gives them under -ffast-math), so GCC calls libmvec's AVX2/AVX-512
/// variants (`_ZGVeN16v_expf`...) where it vectorises; libm.so's linker script links libmvec as needed.
/// libmvec's functions are within 4 ulp, like libm's, but not always equal to them in the last bit: where a
/// loop's remainder runs scalar, the last bits of an element can depend on where a range was split between
/// threads. Nabla's random numbers and samplers' acceptance tests call none of these functions, so they stay
/// bit-identical across thread counts and backends. GCC on x86-64 glibc >= 2.35 hosts only (device passes
/// and clang, which lacks the attribute, keep their own math); -DNABLA_NO_LIBMVEC turns it off.
#pragma once

#include <cmath>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__) && !defined(__FAST_MATH__) && \
    !defined(__CUDACC__) && !defined(__HIPCC__) && !defined(NABLA_NO_LIBMVEC)
#if __GLIBC_PREREQ(2, 35)
#define NABLA_IMPL_LIBMVEC(NAME) \
  extern "C" double NAME(double) noexcept __attribute__((__simd__("notinbranch")));  \
  extern "C" float NAME##f(float) noexcept __attribute__((__simd__("notinbranch")));
#define NABLA_IMPL_LIBMVEC2(NAME)                                                           \
  extern "C" double NAME(double, double) noexcept __attribute__((__simd__("notinbranch"))); \
  extern "C" float NAME##f(float, float) noexcept __attribute__((__simd__("notinbranch")));
NABLA_IMPL_LIBMVEC(exp)
NABLA_IMPL_LIBMVEC(expm1)
NABLA_IMPL_LIBMVEC(log)
NABLA_IMPL_LIBMVEC(log1p)
NABLA_IMPL_LIBMVEC(sin)
NABLA_IMPL_LIBMVEC(cos)
NABLA_IMPL_LIBMVEC(tan)
NABLA_IMPL_LIBMVEC(asin)
NABLA_IMPL_LIBMVEC(acos)
NABLA_IMPL_LIBMVEC(atan)
NABLA_IMPL_LIBMVEC(sinh)
NABLA_IMPL_LIBMVEC(cosh)
NABLA_IMPL_LIBMVEC(tanh)
NABLA_IMPL_LIBMVEC(cbrt)
NABLA_IMPL_LIBMVEC(erf)
NABLA_IMPL_LIBMVEC(erfc)
NABLA_IMPL_LIBMVEC2(pow)
NABLA_IMPL_LIBMVEC2(atan2)
NABLA_IMPL_LIBMVEC2(hypot)
#undef NABLA_IMPL_LIBMVEC
#undef NABLA_IMPL_LIBMVEC2

// sin and cos of one argument (every dual's sin and cos needs both) are merged by GCC into one scalar sincos
// call before its vectoriser runs, which then leaves the loop scalar. The same libm functions under other
// names are not merged, and vectorise like the rest.
#define NABLA_HAVE_LIBMVEC_SINCOS 1
namespace nabla {
namespace impl {
double libm_sin(double) noexcept __asm__("sin") __attribute__((__simd__("notinbranch"), __const__));
double libm_cos(double) noexcept __asm__("cos") __attribute__((__simd__("notinbranch"), __const__));
float libm_sin(float) noexcept __asm__("sinf") __attribute__((__simd__("notinbranch"), __const__));
float libm_cos(float) noexcept __asm__("cosf") __attribute__((__simd__("notinbranch"), __const__));
}  // namespace impl
}  // namespace nabla
#endif
#endif
