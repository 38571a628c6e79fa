/// \file reduce.hpp
/// \brief Fused reductions: map-reduce over a whole expression in ONE `parallel_reduce`, or along one axis.
#pragma once

#include <nabla/core/assign.hpp>
#include <nabla/core/compat.hpp>

#include <limits>

namespace nabla {

/// Tag for axis reductions: `sum(x, axis(1))` (a plain integer would read as an elementwise operand).
struct axis {
  explicit axis(int a) : value(a) {}
  int value;
};

namespace impl {

/// Accumulator type of sums: bools count as integers, everything else accumulates in its own type.
template <class T>
using sum_t = std::conditional_t<std::is_same<T, bool>::value, std::int64_t, T>;

/// Kokkos reducer for each reduction kind. Each one maps an element before folding it.
struct SumOp {
  static constexpr const char* label = "nabla::core::sum";
  template <class T> using acc_t = sum_t<T>;
  template <class T> KOKKOS_INLINE_FUNCTION static acc_t<T> map(const T& x) { return acc_t<T>(x); }
  template <class A> KOKKOS_INLINE_FUNCTION static void join(A& a, const A& b) { a += b; }
  template <class A> KOKKOS_INLINE_FUNCTION static A identity() { return A(0); }
};
struct ProdOp {
  static constexpr const char* label = "nabla::core::prod";
  template <class T> using acc_t = sum_t<T>;
  template <class T> KOKKOS_INLINE_FUNCTION static acc_t<T> map(const T& x) { return acc_t<T>(x); }
  template <class A> KOKKOS_INLINE_FUNCTION static void join(A& a, const A& b) { a *= b; }
  template <class A> KOKKOS_INLINE_FUNCTION static A identity() { return A(1); }
};
struct MinOp {
  static constexpr const char* label = "nabla::core::min";
  template <class T> using acc_t = T;
  template <class T> KOKKOS_INLINE_FUNCTION static T map(const T& x) { return x; }
  // NaN propagates, as in NumPy and Julia: once a NaN is taken no comparison replaces it.
  template <class A> KOKKOS_INLINE_FUNCTION static void join(A& a, const A& b) { if (b < a || b != b) a = b; }
  template <class A> KOKKOS_INLINE_FUNCTION static A identity() { return Kokkos::reduction_identity<A>::min(); }
};
struct MaxOp {
  static constexpr const char* label = "nabla::core::max";
  template <class T> using acc_t = T;
  template <class T> KOKKOS_INLINE_FUNCTION static T map(const T& x) { return x; }
  template <class A> KOKKOS_INLINE_FUNCTION static void join(A& a, const A& b) { if (a < b || b != b) a = b; }
  template <class A> KOKKOS_INLINE_FUNCTION static A identity() { return Kokkos::reduction_identity<A>::max(); }
};
struct CountOp {
  static constexpr const char* label = "nabla::core::count";
  template <class T> using acc_t = std::int64_t;
  template <class T> KOKKOS_INLINE_FUNCTION static std::int64_t map(const T& x) { return x != T(0) ? 1 : 0; }
  template <class A> KOKKOS_INLINE_FUNCTION static void join(A& a, const A& b) { a += b; }
  template <class A> KOKKOS_INLINE_FUNCTION static A identity() { return A(0); }
};
struct SumSquaresOp {
  static constexpr const char* label = "nabla::core::norm";
  template <class T> using acc_t = T;
  template <class T> KOKKOS_INLINE_FUNCTION static T map(const T& x) { return x * x; }
  template <class A> KOKKOS_INLINE_FUNCTION static void join(A& a, const A& b) { a += b; }
  template <class A> KOKKOS_INLINE_FUNCTION static A identity() { return A(0); }
};

/// min and max pick an element: an empty expression, or an empty axis, has no answer (the others' identity is one).
template <class Op>
constexpr bool picks_element = std::is_same<Op, MinOp>::value || std::is_same<Op, MaxOp>::value;

/// A Kokkos custom reducer wrapping Op, so one functor serves every reduction kind. The result lives in
/// `Mem`: a host scalar, or a rank-0 View in device memory (no host round trip).
template <class Op, class A, class Mem>
struct Reducer {
  using reducer = Reducer;
  using value_type = A;
  using result_view_type = Kokkos::View<A, Mem, Kokkos::MemoryUnmanaged>;
  result_view_type m_result;
  bool m_scalar;
  KOKKOS_INLINE_FUNCTION void join(value_type& dst, const value_type& src) const { Op::join(dst, src); }
  // Kokkos 3.x joins through volatile references; element types like Dual have no volatile members.
  KOKKOS_INLINE_FUNCTION void join(volatile value_type& dst, const volatile value_type& src) const {
    Op::join(const_cast<value_type&>(dst), const_cast<const value_type&>(src));
  }
  KOKKOS_INLINE_FUNCTION void init(value_type& v) const { v = Op::template identity<A>(); }
  KOKKOS_INLINE_FUNCTION value_type& reference() const { return *m_result.data(); }
  result_view_type view() const { return m_result; }
  KOKKOS_INLINE_FUNCTION bool references_scalar() const { return m_scalar; }
};

/// Flat map-reduce. On host backends each iteration takes a chunk of U elements into 4 independent partial
/// results, so the fold is not one serial chain of dependent adds (the order stays fixed: results do not
/// depend on timing). Device backends take one element per thread (U = 1) to keep loads coalesced.
template <class Op, class K, class A, int U>
struct ReduceFlat {
  K k;
  std::size_t n;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t c, A& acc) const {
    if constexpr (U == 1) {
      Op::join(acc, Op::map(k.flat(c)));
    } else {
      const std::size_t i0 = c * U;
      if (i0 + U <= n) {
        A part[4] = {Op::template identity<A>(), Op::template identity<A>(), Op::template identity<A>(),
                     Op::template identity<A>()};
        for (int j = 0; j < U; ++j) Op::join(part[j % 4], Op::map(k.flat(i0 + j)));
        Op::join(part[0], part[1]);
        Op::join(part[2], part[3]);
        Op::join(part[0], part[2]);
        Op::join(acc, part[0]);
      } else {
        for (std::size_t i = i0; i < n; ++i) Op::join(acc, Op::map(k.flat(i)));
      }
    }
  }
};

template <class Op, class K, class A, int N>
struct ReduceStrided {
  Shape<N> ext;
  K k;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t lin, A& acc) const {
    Op::join(acc, Op::map(k.at(unravel<true, N>(lin, ext))));
  }
};

/// Whole-expression map-reduce into `result` (a host scalar or a device rank-0 View): ONE parallel_reduce.
template <class Op, class ExecSpace, class E, class Mem>
void reduce_into(const ExecSpace& space, const E& expr,
                 const Kokkos::View<typename Op::template acc_t<typename expr_t<E>::value_type>, Mem,
                                    Kokkos::MemoryUnmanaged>& result,
                 bool scalar) {
  const auto e = as_expr(expr);
  using Ex = std::decay_t<decltype(e)>;
  constexpr int N = Ex::rank;
  using A = typename Op::template acc_t<typename Ex::value_type>;
  static_assert(accessible_from<ExecSpace, Ex>::value,
                "nabla reductions: an operand lives in memory the execution space cannot access");
  compat::Region region(Op::label);
  const Shape<N> shape = broadcast_shape(e);
  const std::size_t n = shape_size(shape);
  const auto k = instantiate(e, shape);
  using K = std::decay_t<decltype(k)>;
  using Policy = Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::size_t>>;
  static const std::string label(Op::label);
  const Reducer<Op, A, Mem> reducer{result, scalar};
  const ExecSpace on = launch_space(n, space);
  if (flat_compatible(k, column_major_strides(shape))) {
    constexpr int U = ExecTraits<ExecSpace>::reduce_unroll;
    Kokkos::parallel_reduce(label, Policy(on, 0, (n + U - 1) / U), ReduceFlat<Op, K, A, U>{k, n}, reducer);
  } else {
    Kokkos::parallel_reduce(label, Policy(on, 0, n), ReduceStrided<Op, K, A, N>{shape, k}, reducer);
  }
}

/// Whole-expression map-reduce to a host value.
template <class Op, class ExecSpace, class E>
auto reduce_all(const ExecSpace& space, const E& expr) {
  using A = typename Op::template acc_t<typename expr_t<E>::value_type>;
  A result = Op::template identity<A>();
  if (shape_size(broadcast_shape(as_expr(expr))) == 0) return result;
  reduce_into<Op>(space, expr, Kokkos::View<A, Kokkos::HostSpace, Kokkos::MemoryUnmanaged>(&result), true);
  return result;
}

/// A whole reduction as users call it: reduce_all's identity for an empty expression is no answer for min and
/// max (dist relies on it for empty local blocks).
template <class Op, class ExecSpace, class E>
auto reduce_whole(const ExecSpace& space, const E& expr) {
  if (picks_element<Op> && shape_size(broadcast_shape(as_expr(expr))) == 0)
    throw ValueError(impl::cat(Op::label, ": the expression is empty"));
  return reduce_all<Op>(space, expr);
}

/// Along one axis: output element j folds the expression over the axis, one parallel_for over outputs.
template <class Op, class K, class A, int N>
struct ReduceAxis {
  Shape<N> ext;  // of the expression
  int ax;
  K k;
  A* out;
  Strides<N - 1> out_stride;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t j) const {
    // j enumerates the output column-major; rebuild the expression index with a hole at `ax`.
    Shape<N - 1> oext{};
    for (int d = 0, o = 0; d < N; ++d)
      if (d != ax) oext[o++] = ext[d];
    const Index<N - 1> oi = unravel<true, N - 1>(j, oext);
    Index<N> i{};
    for (int d = 0, o = 0; d < N; ++d) i[d] = d == ax ? 0 : oi[o++];
    A acc = Op::template identity<A>();
    for (std::size_t t = 0; t < ext[ax]; ++t) {
      i[ax] = std::ptrdiff_t(t);
      Op::join(acc, Op::map(k.at(i)));
    }
    out[offset(oi, out_stride)] = acc;
  }
};

template <class Op, class ExecSpace, class E>
auto reduce_axis(const ExecSpace& space, const E& expr, axis ax) {
  const auto e = as_expr(expr);
  using Ex = std::decay_t<decltype(e)>;
  constexpr int N = Ex::rank;
  static_assert(N >= 1, "nabla axis reductions need an expression of rank >= 1");
  using A = typename Op::template acc_t<typename Ex::value_type>;
  if (ax.value < 0 || ax.value >= N)
    throw ValueError(impl::cat(Op::label, ": axis ", ax.value, " is out of range for rank ", N));
  compat::Region region(Op::label);
  const Shape<N> shape = broadcast_shape(e);
  Shape<N - 1> oshape{};
  for (int d = 0, o = 0; d < N; ++d)
    if (d != ax.value) oshape[o++] = shape[d];
  Array<A, N - 1, typename ExecSpace::memory_space> out(oshape, Op::label, uninitialized);
  const std::size_t n = shape_size(oshape);
  if (picks_element<Op>) {
    if (shape[ax.value] == 0 && n > 0)  // no element to pick for any position (sum's 0 is an answer)
      throw ValueError(impl::cat(Op::label, ": axis ", ax.value, " of shape ", to_string(shape), " is empty"));
  }
  if (n == 0) return out;
  const auto k = instantiate(e, shape);
  using K = std::decay_t<decltype(k)>;
  Strides<N - 1> os{};
  for (int d = 0; d < N - 1; ++d) os[d] = std::ptrdiff_t(out.view().stride(d));
  Kokkos::parallel_for(Op::label, Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::size_t>>(launch_space(shape_size(shape), space), 0, n),
                       ReduceAxis<Op, K, A, N>{shape, ax.value, k, out.data(), os});
  return out;
}

}  // namespace impl

// Every reduction runs on an execution space instance when one is given first (`sum(space, e)`), and on the
// default instance otherwise.
#define NABLA_IMPL_REDUCTION(NAME, OP)                                                                     \
  template <class ExecSpace, class E, impl::enable_if_space_t<ExecSpace> = 0>                              \
  auto NAME(const ExecSpace& space, const E& e) {                                                          \
    return impl::reduce_whole<impl::OP>(space, e);                                                         \
  }                                                                                                        \
  template <class ExecSpace, class E, impl::enable_if_space_t<ExecSpace> = 0>                              \
  auto NAME(const ExecSpace& space, const E& e, axis ax) {                                                 \
    return impl::reduce_axis<impl::OP>(space, e, ax);                                                      \
  }                                                                                                        \
  template <class E, impl::enable_if_operand_t<E> = 0>                                                     \
  auto NAME(const E& e) {                                                                                  \
    return NAME(default_instance(), e);                                                       \
  }                                                                                                        \
  template <class E, impl::enable_if_operand_t<E> = 0>                                                     \
  auto NAME(const E& e, axis ax) {                                                                         \
    return NAME(default_instance(), e, ax);                                                   \
  }

/// \brief Sum of all elements (bools count as 1); `sum(e, axis(d))` sums along dimension d.
NABLA_IMPL_REDUCTION(sum, SumOp)
/// \brief Product of all elements.
NABLA_IMPL_REDUCTION(prod, ProdOp)
/// \brief Number of non-zero (true) elements.
NABLA_IMPL_REDUCTION(count, CountOp)
/// \brief Smallest element; throws ValueError on an empty expression. `min(a, b)` is the elementwise form.
NABLA_IMPL_REDUCTION(min, MinOp)
/// \brief Largest element; throws ValueError on an empty expression. `max(a, b)` is the elementwise form.
NABLA_IMPL_REDUCTION(max, MaxOp)
#undef NABLA_IMPL_REDUCTION

/// \brief Sum of an expression into a rank-0 Array (on the expression's device: no host round trip).
template <class ExecSpace, class T, class S, class E, impl::enable_if_space_t<ExecSpace> = 0,
          impl::enable_if_operand_t<E> = 0>
void sum_into(const ExecSpace& space, const Array<T, 0, S>& dst, const E& e) {
  impl::reduce_into<impl::SumOp>(space, e, Kokkos::View<T, S, Kokkos::MemoryUnmanaged>(dst.data()), false);
}
template <class T, class S, class E, impl::enable_if_operand_t<E> = 0>
void sum_into(const Array<T, 0, S>& dst, const E& e) {
  sum_into(typename Array<T, 0, S>::execution_space(), dst, e);
}

/// \brief Arithmetic mean; NaN for an empty expression (as NumPy).
template <class ExecSpace, class E, impl::enable_if_space_t<ExecSpace> = 0>
auto mean(const ExecSpace& space, const E& e) {
  const auto n = shape_size(broadcast_shape(as_expr(e)));
  using R = std::common_type_t<decltype(sum(space, e)), double>;
  return n == 0 ? std::numeric_limits<R>::quiet_NaN() : R(sum(space, e)) / R(n);
}
template <class ExecSpace, class E, impl::enable_if_space_t<ExecSpace> = 0>
auto mean(const ExecSpace& space, const E& e, axis ax) {
  auto s = sum(space, e, ax);  // validates the axis
  using T = typename decltype(s)::value_type;
  assign(space, s, s / T(broadcast_shape(as_expr(e))[ax.value]));
  return s;
}
template <class E, impl::enable_if_operand_t<E> = 0>
auto mean(const E& e) {
  return mean(default_instance(), e);
}
template <class E, impl::enable_if_operand_t<E> = 0>
auto mean(const E& e, axis ax) {
  return mean(default_instance(), e, ax);
}

/// \brief Whether any / every element is non-zero.
template <class ExecSpace, class E, impl::enable_if_space_t<ExecSpace> = 0>
bool any(const ExecSpace& space, const E& e) {
  return count(space, e) > 0;
}
template <class ExecSpace, class E, impl::enable_if_space_t<ExecSpace> = 0>
bool all(const ExecSpace& space, const E& e) {
  return count(space, e) == std::int64_t(shape_size(broadcast_shape(as_expr(e))));
}
template <class E, impl::enable_if_operand_t<E> = 0>
bool any(const E& e) {
  return any(default_instance(), e);
}
template <class E, impl::enable_if_operand_t<E> = 0>
bool all(const E& e) {
  return all(default_instance(), e);
}

/// \brief Fused dot product: sum(a * b) in one kernel, no temporary.
template <class ExecSpace, class A, class B, impl::enable_if_space_t<ExecSpace> = 0>
auto dot(const ExecSpace& space, const A& a, const B& b) {
  return impl::reduce_all<impl::SumOp>(space, make_broadcasted(math::Multiplies{}, a, b));
}
template <class A, class B, std::enable_if_t<impl::is_operand<A>::value && impl::is_operand<B>::value, int> = 0>
auto dot(const A& a, const B& b) {
  return dot(default_instance(), a, b);
}

/// \brief Euclidean norm of all elements, in one kernel.
template <class ExecSpace, class E, impl::enable_if_space_t<ExecSpace> = 0>
auto norm(const ExecSpace& space, const E& e) {
  using math::sqrt;
  return sqrt(impl::reduce_all<impl::SumSquaresOp>(space, e));
}
template <class E, impl::enable_if_operand_t<E> = 0>
auto norm(const E& e) {
  return norm(default_instance(), e);
}

}  // namespace nabla
