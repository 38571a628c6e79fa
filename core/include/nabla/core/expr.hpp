/// \file expr.hpp
/// \brief Lazy broadcast expressions: leaves (views, scalars) and `Broadcasted<F, Args...>` nodes.
///
/// Building an expression allocates nothing and launches nothing; `assign`/`eval` (assign.hpp) resolve the
/// shapes once on the host and run the whole tree as one kernel. The node types are public so other modules
/// (the ad module's mixed mode) can walk a tree and evaluate it on other scalar types.
#pragma once

#include <nabla/core/array.hpp>
#include <nabla/core/error.hpp>
#include <nabla/core/impl/tuple.hpp>
#include <nabla/core/launch.hpp>
#include <nabla/core/math.hpp>
#include <nabla/core/shape.hpp>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <type_traits>
#include <utility>
#include <vector>
#include <string>

namespace nabla {

/// Element types that may stand as weak scalars next to an expression. Other modules specialise it
/// (the ad module for its Dual numbers).
template <class T>
struct is_scalar_type : std::is_arithmetic<T> {};

/// The real type underneath a composite element type (Dual<float, N> -> float); void when unknown.
template <class T, class = void>
struct scalar_type {
  using type = void;
};
template <class T>
struct scalar_type<T, std::enable_if_t<std::is_arithmetic<T>::value>> {
  using type = T;
};

namespace impl {
/// The type a weak scalar S takes next to elements of type E (JAX / NumPy 2 rules): a scalar never widens
/// a floating array (2.0 * float_array stays float), but a floating scalar does turn an integer array
/// floating, and a scalar next to bool arrays keeps its own type.
template <class E, class S, class = void>
struct weak_scalar {
  using type = S;
};
template <class E, class S>
struct weak_scalar<E, S, std::enable_if_t<std::is_arithmetic<E>::value && std::is_arithmetic<S>::value>> {
  using type = std::conditional_t<
      std::is_same<E, bool>::value, S,
      std::conditional_t<std::is_floating_point<E>::value || std::is_integral<S>::value, E, S>>;
};
template <class E, class S>
struct weak_scalar<E, S,
                   std::enable_if_t<!std::is_arithmetic<E>::value &&
                                    !std::is_void<typename scalar_type<E>::type>::value>>
    : weak_scalar<typename scalar_type<E>::type, S> {};
}  // namespace impl

// -------------------------------------------------------------------------------------------------- leaves

/// A read-only array operand. Every View is held as a LayoutStride View, so one leaf type serves all
/// layouts and strided subviews, and the reference keeps the memory alive while the expression exists.
template <class T, int R, class MemSpace>
struct Leaf {
  using value_type = T;
  using memory_space = MemSpace;
  static constexpr int rank = R;
  using view_type = Kokkos::View<typename impl::data_type<const T, R>::type, Kokkos::LayoutStride, MemSpace>;
  view_type m_view;

  Shape<R> shape() const { return shape_of(m_view); }
};

/// A scalar operand (rank 0, broadcast to every element).
template <class T>
struct Scalar {
  using value_type = T;
  using memory_space = void;
  static constexpr int rank = 0;
  T m_value;

  Shape<0> shape() const { return {}; }
};

/// \brief A lazy elementwise application of `F` to `Args` (leaves or nodes), broadcast NumPy-style.
template <class F, class... Args>
struct Broadcasted {
  using value_type = std::decay_t<std::invoke_result_t<const F&, const typename Args::value_type&...>>;
  static constexpr int rank = std::max({0, Args::rank...});
  F m_f;
  impl::Tuple<Args...> m_args;
};

template <class T>
struct is_expression : std::false_type {};
template <class T, int R, class M>
struct is_expression<Leaf<T, R, M>> : std::true_type {};
template <class T>
struct is_expression<Scalar<T>> : std::true_type {};
template <class F, class... A>
struct is_expression<Broadcasted<F, A...>> : std::true_type {};

namespace impl {
template <class T>
struct is_kokkos_view : Kokkos::is_view<T> {};

}  // namespace impl

/// Further operand types other modules lift into expressions (with an `as_expr` found by ADL): the ad
/// module's Var.
template <class T>
struct is_operand_type : std::false_type {};

namespace impl {
/// Operands: expressions, Arrays, Kokkos Views and registered operand types.
template <class T>
struct is_operand : std::integral_constant<bool, is_expression<T>::value || is_array<T>::value ||
                                                     is_kokkos_view<T>::value || is_operand_type<T>::value> {};

template <class T>
using enable_if_operand_t = std::enable_if_t<is_operand<std::decay_t<T>>::value, int>;
}  // namespace impl

// ------------------------------------------------------------------------------------------------ lifting

/// Lifts any Kokkos View (any layout, strided subviews included) into an expression without a copy.
template <class View, std::enable_if_t<Kokkos::is_view<View>::value, int> = 0>
Leaf<typename View::non_const_value_type, int(View::rank), typename View::memory_space> wrap(const View& v) {
  return {v};
}

template <class E, std::enable_if_t<is_expression<E>::value, int> = 0>
const E& as_expr(const E& e) {
  return e;
}
template <class T, int R, class S, class L>
auto as_expr(const Array<T, R, S, L>& a) {
  return wrap(a.view());
}
template <class View, std::enable_if_t<Kokkos::is_view<View>::value, int> = 0>
auto as_expr(const View& v) {
  return wrap(v);
}

template <class T>
using expr_t = std::decay_t<decltype(as_expr(std::declval<const T&>()))>;

/// Builds a node from operands (Arrays, Views, expressions) without evaluating anything.
template <class F, class... Args>
Broadcasted<F, expr_t<Args>...> make_broadcasted(F f, const Args&... args) {
  return {f, impl::Tuple<expr_t<Args>...>(as_expr(args)...)};
}

// --------------------------------------------------------------------------------------------- tree walks
// Each operation below is one overload per kind of tree element; other modules add overloads for their own
// leaf kinds in their namespaces (found by argument-dependent lookup).

/// Calls fn(leaf) on every array Leaf of a tree (mutable: assign uses it to unalias).
template <class T, int R, class M, class Fn>
void for_each_leaf(Leaf<T, R, M>& leaf, Fn&& fn) {
  fn(leaf);
}
template <class T, class Fn>
void for_each_leaf(Scalar<T>&, Fn&&) {}
template <class F, class... A, class Fn>
void for_each_leaf(Broadcasted<F, A...>& e, Fn&& fn) {
  impl::apply_indexed(e.m_args, [&](auto&... args) { (for_each_leaf(args, fn), ...); });
}

namespace impl {
template <class F, class = void>
struct op_name {
  static constexpr const char* value = "map";
};
template <class F>
struct op_name<F, std::void_t<decltype(F::name)>> {
  static constexpr const char* value = F::name;
};

/// A shape whose rank is known only at run time (ranks never exceed 8); no heap allocation, so building and
/// checking expressions in a loop allocates nothing.
struct DynShape {
  std::size_t dims[8] = {};
  std::size_t rank = 0;
  std::size_t size() const { return rank; }
  std::size_t operator[](std::size_t d) const { return dims[d]; }
  std::size_t& operator[](std::size_t d) { return dims[d]; }
};

template <int R>
DynShape to_dyn(const Shape<R>& s) {
  static_assert(R <= 8, "nabla: rank above 8");
  DynShape out;
  out.rank = R;
  for (int d = 0; d < R; ++d) out.dims[d] = s[d];
  return out;
}

inline std::string to_string(const DynShape& s) {
  std::string out = "(";
  for (std::size_t d = 0; d < s.size(); ++d) out += (d ? ", " : "") + std::to_string(s[d]);
  return out + (s.size() == 1 ? ",)" : ")");
}

/// Julia's rule for two column-major shapes: dimension d of one operand meets dimension d of the other (a
/// vector is a column), missing trailing dimensions and extent 1 extrude, anything else must match. It is
/// NumPy's rule on the reversed shapes, i.e. on the same memory read row-major.
inline DynShape broadcast_shapes(const DynShape& a, const DynShape& b, const char* op) {
  const std::size_t n = std::max(a.size(), b.size());
  DynShape out;
  out.rank = n;
  for (std::size_t d = 0; d < n; ++d) {
    const std::size_t ea = d < a.size() ? a[d] : 1, eb = d < b.size() ? b[d] : 1;
    if (ea != eb && ea != 1 && eb != 1) {
      throw ShapeError(impl::cat("nabla: cannot broadcast shapes ", to_string(a), " and ", to_string(b), " in `", op,
                           "`: dimension ", d, " of both has extents ", ea, " and ", eb,
                           " (dimensions align from the first, as in Julia; only extent 1 or a missing trailing"
                           " dimension broadcasts)"));
    }
    out[d] = ea == 1 ? eb : ea;
  }
  return out;
}
}  // namespace impl

/// The broadcast shape of a tree, checked once on the host; throws ShapeError naming both shapes.
template <class T, int R, class M>
Shape<R> broadcast_shape(const Leaf<T, R, M>& leaf) {
  return leaf.shape();
}
template <class T>
Shape<0> broadcast_shape(const Scalar<T>&) {
  return {};
}
template <class F, class... A>
Shape<Broadcasted<F, A...>::rank> broadcast_shape(const Broadcasted<F, A...>& e) {
  constexpr int N = Broadcasted<F, A...>::rank;
  impl::DynShape acc;
  bool first = true;
  impl::apply_indexed(e.m_args, [&](const auto&... args) {
    auto step = [&](const impl::DynShape& s) {
      acc = first ? s : impl::broadcast_shapes(acc, s, impl::op_name<F>::value);
      first = false;
    };
    (step(impl::to_dyn(broadcast_shape(args))), ...);
  });
  Shape<N> out{};
  for (int d = 0; d < N; ++d) out[d] = acc[d];  // acc has rank N: the largest operand rank
  return out;
}

}  // namespace nabla
