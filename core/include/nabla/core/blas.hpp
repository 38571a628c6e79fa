/// \file blas.hpp
/// \brief Dense linear algebra through Kokkos Kernels: gemm, gemv, matmul, with shape checks that name both
/// operands. Element types Kokkos Kernels does not handle (dual numbers) take a generic device kernel.
#pragma once

#include <nabla/core/array.hpp>
#include <nabla/core/compat.hpp>
#include <nabla/core/error.hpp>
#include <nabla/core/launch.hpp>

#include <KokkosBlas2_gemv.hpp>
#include <KokkosBlas3_gemm.hpp>

#include <type_traits>

namespace nabla {

namespace impl {
template <class X>
decltype(auto) view_of(const X& x) {
  if constexpr (is_array<X>::value) return x.view();
  else return (x);
}

inline void check_trans(char t, const char* fn, const char* which) {
  if (t != 'N' && t != 'T' && t != 'n' && t != 't')
    throw ValueError(impl::cat(fn, ": ", which, " must be 'N' or 'T', got '", t, "'"));
}
inline bool transposed(char t) { return t == 'T' || t == 't'; }

template <class T>
struct blas_native : std::integral_constant<bool, std::is_same<T, double>::value || std::is_same<T, float>::value> {};

/// C = alpha op(A) op(B) + beta C for any element type: one thread per element of C.
template <class AV, class BV, class CV, class S>
struct GenericGemm {
  AV a;
  BV b;
  CV c;
  S alpha, beta;
  bool ta, tb;
  std::size_t k;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t i, std::size_t j) const {
    using T = typename CV::non_const_value_type;
    T acc = T(0);
    for (std::size_t p = 0; p < k; ++p) acc += (ta ? a(p, i) : a(i, p)) * (tb ? b(j, p) : b(p, j));
    c(i, j) = beta == S(0) ? T(alpha * acc) : T(alpha * acc + beta * c(i, j));
  }
};
}  // namespace impl

/// \brief C = alpha op(A) op(B) + beta C, op = 'N' (as is) or 'T' (transposed).
///
/// Rank-2 Arrays or Views of one element type; float and double go to Kokkos Kernels (and its host BLAS),
/// others to a generic kernel `nabla::core::gemm::generic`. Throws ShapeError when the shapes do not fit.
template <class A, class B, class C>
void gemm(char trans_a, char trans_b, typename std::decay_t<decltype(impl::view_of(std::declval<C>()))>::const_value_type alpha,
          const A& a, const B& b,
          typename std::decay_t<decltype(impl::view_of(std::declval<C>()))>::const_value_type beta, const C& c) {
  const auto& av = impl::view_of(a);
  const auto& bv = impl::view_of(b);
  const auto& cv = impl::view_of(c);
  using CV = std::decay_t<decltype(cv)>;
  static_assert(std::decay_t<decltype(av)>::rank == 2 && std::decay_t<decltype(bv)>::rank == 2 && CV::rank == 2,
                "nabla::gemm: A, B and C must be rank-2");
  impl::check_trans(trans_a, "nabla::gemm", "trans_a");
  impl::check_trans(trans_b, "nabla::gemm", "trans_b");
  const bool ta = impl::transposed(trans_a), tb = impl::transposed(trans_b);
  const std::size_t m = ta ? av.extent(1) : av.extent(0), k = ta ? av.extent(0) : av.extent(1);
  const std::size_t kb = tb ? bv.extent(1) : bv.extent(0), n = tb ? bv.extent(0) : bv.extent(1);
  if (k != kb || cv.extent(0) != m || cv.extent(1) != n)
    throw ShapeError(impl::cat("nabla::gemm: op(A) is ", m, "x", k, " (A ", to_string(shape_of(av)), ", '", trans_a,
                         "'), op(B) is ", kb, "x", n, " (B ", to_string(shape_of(bv)), ", '", trans_b, "'), C is ",
                         to_string(shape_of(cv)), "; need op(A) m x k, op(B) k x n, C m x n"));
  compat::Region region("nabla::core::gemm");
  using T = typename CV::non_const_value_type;
  if constexpr (impl::blas_native<T>::value) {
    const char tas[2] = {ta ? 'T' : 'N', 0}, tbs[2] = {tb ? 'T' : 'N', 0};
    const impl::OneThreadBlas one(m * n * k);
    KokkosBlas::gemm(tas, tbs, alpha, av, bv, beta, cv);
  } else {
    using Exec = typename CV::execution_space;
    using Policy = Kokkos::MDRangePolicy<Exec, Kokkos::Rank<2>, Kokkos::IndexType<std::size_t>>;
    if (m == 0 || n == 0) return;
    Kokkos::parallel_for("nabla::core::gemm::generic", Policy(launch_space<Exec>(m * n * k), {0, 0}, {m, n}),
                         impl::GenericGemm<std::decay_t<decltype(av)>, std::decay_t<decltype(bv)>, CV, T>{
                             av, bv, cv, T(alpha), T(beta), ta, tb, k});
  }
}

/// \brief y = alpha op(A) x + beta y through Kokkos Kernels.
template <class A, class X, class Y>
void gemv(char trans, typename std::decay_t<decltype(impl::view_of(std::declval<Y>()))>::const_value_type alpha,
          const A& a, const X& x,
          typename std::decay_t<decltype(impl::view_of(std::declval<Y>()))>::const_value_type beta, const Y& y) {
  const auto& av = impl::view_of(a);
  const auto& xv = impl::view_of(x);
  const auto& yv = impl::view_of(y);
  static_assert(std::decay_t<decltype(av)>::rank == 2 && std::decay_t<decltype(xv)>::rank == 1 &&
                    std::decay_t<decltype(yv)>::rank == 1,
                "nabla::gemv: A must be rank-2, x and y rank-1");
  impl::check_trans(trans, "nabla::gemv", "trans");
  const bool t = impl::transposed(trans);
  const std::size_t m = t ? av.extent(1) : av.extent(0), k = t ? av.extent(0) : av.extent(1);
  if (xv.extent(0) != k || yv.extent(0) != m)
    throw ShapeError(impl::cat("nabla::gemv: op(A) is ", m, "x", k, " (A ", to_string(shape_of(av)), ", '", trans,
                         "'), x is ", to_string(shape_of(xv)), ", y is ", to_string(shape_of(yv))));
  compat::Region region("nabla::core::gemv");
  const char ts[2] = {t ? 'T' : 'N', 0};
  const impl::OneThreadBlas one(m * k);
  KokkosBlas::gemv(ts, alpha, av, xv, beta, yv);
}

/// \brief A new Array op(A) op(B).
template <class T, class S, class LA, class LB>
Array<T, 2, S> matmul(const Array<T, 2, S, LA>& a, const Array<T, 2, S, LB>& b, char trans_a = 'N',
                      char trans_b = 'N') {
  impl::check_trans(trans_a, "nabla::matmul", "trans_a");
  impl::check_trans(trans_b, "nabla::matmul", "trans_b");
  const std::size_t m = impl::transposed(trans_a) ? a.extent(1) : a.extent(0);
  const std::size_t n = impl::transposed(trans_b) ? b.extent(0) : b.extent(1);
  Array<T, 2, S> c({m, n}, "nabla::matmul", uninitialized);
  gemm(trans_a, trans_b, T(1), a, b, T(0), c);
  return c;
}

// Compiled once in libnabla_core (core/src/blas.cpp) for the arrays most programs multiply: a program calling
// them does not instantiate Kokkos Kernels' dispatch again.
extern template void gemm(char, char, float, const Array<float, 2>&, const Array<float, 2>&, float,
                          const Array<float, 2>&);
extern template void gemm(char, char, double, const Array<double, 2>&, const Array<double, 2>&, double,
                          const Array<double, 2>&);
extern template void gemv(char, float, const Array<float, 2>&, const Array<float, 1>&, float, const Array<float, 1>&);
extern template void gemv(char, double, const Array<double, 2>&, const Array<double, 1>&, double,
                          const Array<double, 1>&);

}  // namespace nabla
