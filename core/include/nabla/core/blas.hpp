/// \file blas.hpp
/// \brief Dense linear algebra: gemm, gemv, matmul on any execution space instance, with shape checks that name
/// both operands.
///
/// float and double matrices that are all LayoutLeft or all LayoutRight, in the memory of one of the build's
/// default execution spaces, go to Kokkos Kernels (and its host BLAS) compiled once in libnabla_core
/// (core/src/blas.cpp): a program that multiplies does not parse or instantiate Kokkos Kernels. Other element
/// types (dual numbers), strided views and other spaces take a generic kernel `nabla::core::gemm::generic`.
#pragma once

#include <nabla/core/array.hpp>
#include <nabla/core/compat.hpp>
#include <nabla/core/error.hpp>
#include <nabla/core/launch.hpp>

#include <Kokkos_Core.hpp>

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

/// Kokkos Kernels' gemm and gemv on unmanaged views, compiled in libnabla_core for T float and double, Layout
/// LayoutLeft and LayoutRight, and Exec the default execution space and the default host space.
template <class Exec, class T, class Layout>
struct CompiledBlas {
  using device = Kokkos::Device<Exec, typename Exec::memory_space>;
  template <class D>
  using view = Kokkos::View<D, Layout, device, Kokkos::MemoryUnmanaged>;
  static void gemm(const Exec& space, char ta, char tb, T alpha, const view<const T**>& a, const view<const T**>& b,
                   T beta, const view<T**>& c);
  static void gemv(const Exec& space, char t, T alpha, const view<const T**>& a, const view<const T*>& x, T beta,
                   const view<T*>& y);
};

template <class Layout>
struct blas_layout : std::integral_constant<bool, std::is_same<Layout, Kokkos::LayoutLeft>::value ||
                                                      std::is_same<Layout, Kokkos::LayoutRight>::value> {};

/// Whether CompiledBlas<Exec, T, M's layout> takes the view M and the other operands' views V (rank-1 LayoutLeft
/// and LayoutRight views are the same contiguous vector).
template <class Exec, class M, class... V>
struct uses_compiled_blas {
  using T = typename M::non_const_value_type;
  using memory = typename Exec::memory_space;
  static constexpr bool value =
      blas_native<T>::value && blas_layout<typename M::array_layout>::value &&
      (std::is_same<Exec, Kokkos::DefaultExecutionSpace>::value ||
       std::is_same<Exec, Kokkos::DefaultHostExecutionSpace>::value) &&
      std::is_same<typename M::memory_space, memory>::value &&
      (... && (blas_layout<typename V::array_layout>::value && std::is_same<typename V::memory_space, memory>::value &&
               std::is_same<typename V::non_const_value_type, T>::value));
};

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

/// y = alpha op(A) x + beta y for any element type: one thread per element of y.
template <class AV, class XV, class YV, class S>
struct GenericGemv {
  AV a;
  XV x;
  YV y;
  S alpha, beta;
  bool t;
  std::size_t k;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t i) const {
    using T = typename YV::non_const_value_type;
    T acc = T(0);
    for (std::size_t p = 0; p < k; ++p) acc += (t ? a(p, i) : a(i, p)) * x(p);
    y(i) = beta == S(0) ? T(alpha * acc) : T(alpha * acc + beta * y(i));
  }
};

template <class Exec, class... V>
struct accessible_views
    : std::integral_constant<bool, (... && Kokkos::SpaceAccessibility<Exec, typename V::memory_space>::accessible)> {};

/// A contiguous vector view as the same vector in `Layout`.
template <class Layout, class View>
using blas_view_t = Kokkos::View<typename View::data_type, Layout, typename View::device_type, Kokkos::MemoryUnmanaged>;
}  // namespace impl

/// \brief C = alpha op(A) op(B) + beta C on `space`, op = 'N' (as is) or 'T' (transposed).
///
/// Rank-2 Arrays or Views of one element type. Throws ShapeError when the shapes do not fit.
template <class ExecSpace, class A, class B, class C, impl::enable_if_space_t<ExecSpace> = 0>
void gemm(const ExecSpace& space, char trans_a, char trans_b,
          typename std::decay_t<decltype(impl::view_of(std::declval<C>()))>::const_value_type alpha, const A& a,
          const B& b, typename std::decay_t<decltype(impl::view_of(std::declval<C>()))>::const_value_type beta,
          const C& c) {
  const auto& av = impl::view_of(a);
  const auto& bv = impl::view_of(b);
  const auto& cv = impl::view_of(c);
  using AV = std::decay_t<decltype(av)>;
  using BV = std::decay_t<decltype(bv)>;
  using CV = std::decay_t<decltype(cv)>;
  static_assert(AV::rank == 2 && BV::rank == 2 && CV::rank == 2, "nabla::gemm: A, B and C must be rank-2");
  static_assert(impl::accessible_views<ExecSpace, AV, BV, CV>::value,
                "nabla::gemm: an operand lives in memory the execution space cannot access (use nabla::to_device)");
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
  using L = typename CV::array_layout;
  constexpr bool one_layout =
      std::is_same<typename AV::array_layout, L>::value && std::is_same<typename BV::array_layout, L>::value;
  if constexpr (one_layout && impl::uses_compiled_blas<ExecSpace, CV, AV, BV>::value) {
    using Blas = impl::CompiledBlas<ExecSpace, T, L>;
    Blas::gemm(space, ta ? 'T' : 'N', tb ? 'T' : 'N', alpha, av, bv, beta, cv);
  } else {
    using Policy = Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>, Kokkos::IndexType<std::size_t>>;
    if (m == 0 || n == 0) return;
    Kokkos::parallel_for("nabla::core::gemm::generic", Policy(launch_space(m * n * k, space), {0, 0}, {m, n}),
                         impl::GenericGemm<AV, BV, CV, T>{av, bv, cv, T(alpha), T(beta), ta, tb, k});
  }
}

/// \brief gemm on the default_instance() of C's execution space.
template <class A, class B, class C>
void gemm(char trans_a, char trans_b,
          typename std::decay_t<decltype(impl::view_of(std::declval<C>()))>::const_value_type alpha, const A& a,
          const B& b, typename std::decay_t<decltype(impl::view_of(std::declval<C>()))>::const_value_type beta,
          const C& c) {
  gemm(default_instance<typename std::decay_t<decltype(impl::view_of(c))>::execution_space>(), trans_a, trans_b, alpha,
       a, b, beta, c);
}

/// \brief y = alpha op(A) x + beta y on `space`.
template <class ExecSpace, class A, class X, class Y, impl::enable_if_space_t<ExecSpace> = 0>
void gemv(const ExecSpace& space, char trans,
          typename std::decay_t<decltype(impl::view_of(std::declval<Y>()))>::const_value_type alpha, const A& a,
          const X& x, typename std::decay_t<decltype(impl::view_of(std::declval<Y>()))>::const_value_type beta,
          const Y& y) {
  const auto& av = impl::view_of(a);
  const auto& xv = impl::view_of(x);
  const auto& yv = impl::view_of(y);
  using AV = std::decay_t<decltype(av)>;
  using XV = std::decay_t<decltype(xv)>;
  using YV = std::decay_t<decltype(yv)>;
  static_assert(AV::rank == 2 && XV::rank == 1 && YV::rank == 1, "nabla::gemv: A must be rank-2, x and y rank-1");
  static_assert(impl::accessible_views<ExecSpace, AV, XV, YV>::value,
                "nabla::gemv: an operand lives in memory the execution space cannot access (use nabla::to_device)");
  impl::check_trans(trans, "nabla::gemv", "trans");
  const bool t = impl::transposed(trans);
  const std::size_t m = t ? av.extent(1) : av.extent(0), k = t ? av.extent(0) : av.extent(1);
  if (xv.extent(0) != k || yv.extent(0) != m)
    throw ShapeError(impl::cat("nabla::gemv: op(A) is ", m, "x", k, " (A ", to_string(shape_of(av)), ", '", trans,
                         "'), x is ", to_string(shape_of(xv)), ", y is ", to_string(shape_of(yv))));
  compat::Region region("nabla::core::gemv");
  using T = typename YV::non_const_value_type;
  using L = typename AV::array_layout;
  if constexpr (impl::uses_compiled_blas<ExecSpace, AV, XV, YV>::value) {
    using Blas = impl::CompiledBlas<ExecSpace, T, L>;
    Blas::gemv(space, t ? 'T' : 'N', alpha, av, impl::blas_view_t<L, XV>(xv), beta, impl::blas_view_t<L, YV>(yv));
  } else {
    using Policy = Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::size_t>>;
    if (m == 0) return;
    Kokkos::parallel_for("nabla::core::gemv::generic", Policy(launch_space(m * k, space), 0, m),
                         impl::GenericGemv<AV, XV, YV, T>{av, xv, yv, T(alpha), T(beta), t, k});
  }
}

/// \brief gemv on the default instance of y's execution space.
template <class A, class X, class Y>
void gemv(char trans, typename std::decay_t<decltype(impl::view_of(std::declval<Y>()))>::const_value_type alpha,
          const A& a, const X& x,
          typename std::decay_t<decltype(impl::view_of(std::declval<Y>()))>::const_value_type beta, const Y& y) {
  gemv(default_instance<typename std::decay_t<decltype(impl::view_of(y))>::execution_space>(), trans, alpha, a, x, beta,
       y);
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

}  // namespace nabla
