/// \file assign.hpp
/// \brief Materialising a broadcast expression: `assign(dst, expr)` and `eval(expr)`, each ONE kernel.
///
/// On the host, once: the result shape is resolved, every leaf gets one stride per result dimension (0 where
/// it is extruded, so no element branches), and operands that alias the destination under another indexing
/// are copied first. On the device: one `parallel_for`, flat when every operand shares the destination's
/// contiguous layout, otherwise over the destination's linear index in its own memory order.
#pragma once

#include <nabla/core/compat.hpp>
#include <nabla/core/expr.hpp>
#include <nabla/core/impl/exec_traits.hpp>
#include <nabla/core/launch.hpp>

#include <cstdint>
#include <string>

namespace nabla {


// ------------------------------------------------------------------------------------------- kernel forms
// The device-side image of an expression: raw pointers and strides, values, functors. Copied into kernels.

template <class T, int N>
struct LeafKernel {
  const T* ptr;
  Strides<N> stride;
  KOKKOS_INLINE_FUNCTION T at(const Index<N>& i) const {
    std::ptrdiff_t o = 0;
    for (int d = 0; d < N; ++d) o += i[d] * stride[d];
    return ptr[o];
  }
  KOKKOS_INLINE_FUNCTION T flat(std::size_t i) const { return ptr[i]; }
};

template <class T>
struct ScalarKernel {
  T value;
  template <class I>
  KOKKOS_INLINE_FUNCTION T at(const I&) const {
    return value;
  }
  KOKKOS_INLINE_FUNCTION T flat(std::size_t) const { return value; }
};

template <class F, class... K>
struct NodeKernel {
  F f;
  impl::Tuple<K...> args;

  template <class I>
  KOKKOS_INLINE_FUNCTION auto at(const I& i) const {
    return at_impl(i, std::index_sequence_for<K...>{});
  }
  KOKKOS_INLINE_FUNCTION auto flat(std::size_t i) const { return flat_impl(i, std::index_sequence_for<K...>{}); }

 private:
  template <class I, std::size_t... J>
  KOKKOS_INLINE_FUNCTION auto at_impl(const I& i, std::index_sequence<J...>) const {
    return f(impl::get<J>(args).at(i)...);
  }
  template <std::size_t... J>
  KOKKOS_INLINE_FUNCTION auto flat_impl(std::size_t i, std::index_sequence<J...>) const {
    return f(impl::get<J>(args).flat(i)...);
  }
};

namespace impl {
template <int N>
bool strides_equal(const Strides<N>& a, const Strides<N>& b) {
  for (int d = 0; d < N; ++d)
    if (a[d] != b[d]) return false;
  return true;
}

/// Strides of a View seen from a rank-N result of extents `out`: dimensions align from the first (Julia's
/// rule); a trailing dimension the view lacks, or has extent 1 in, or the result has extent 1 in, gets stride 0.
template <int N, class View>
Strides<N> broadcast_strides(const View& v, const Shape<N>& out) {
  constexpr int R = View::rank;
  Strides<N> s{};
  for (int d = 0; d < N; ++d)
    s[d] = (d >= R || out[d] == 1 || v.extent(d) == 1) ? 0 : std::ptrdiff_t(v.stride(d));
  return s;
}
}  // namespace impl

/// Device image of a tree for a result of shape `out` (overloaded per tree element kind).
template <int N, class T, int R, class M>
LeafKernel<T, N> instantiate(const Leaf<T, R, M>& leaf, const Shape<N>& out) {
  return {leaf.m_view.data(), impl::broadcast_strides(leaf.m_view, out)};
}
template <int N, class T>
ScalarKernel<T> instantiate(const Scalar<T>& s, const Shape<N>&) {
  return {s.m_value};
}
template <int N, class F, class... A>
auto instantiate(const Broadcasted<F, A...>& e, const Shape<N>& out) {
  return impl::apply_indexed(e.m_args, [&](const auto&... args) {
    using K = NodeKernel<F, decltype(instantiate(args, out))...>;
    return K{e.m_f, impl::Tuple<decltype(instantiate(args, out))...>(instantiate(args, out)...)};
  });
}

namespace impl {
/// Column-major contiguous strides of `shape`, 0 for extent-1 dimensions (as leaves' are): a kernel form
/// with exactly these may be read by the column-major linear index.
template <int N>
Strides<N> column_major_strides(const Shape<N>& shape) {
  Strides<N> s{};
  std::ptrdiff_t step = 1;
  for (int d = 0; d < N; ++d) {
    s[d] = shape[d] == 1 ? 0 : step;
    step *= std::ptrdiff_t(shape[d]);
  }
  return s;
}
}  // namespace impl

/// Whether the kernel form may be indexed by the destination's flat index (all strides equal `dst`'s).
template <int N, class T>
bool flat_compatible(const LeafKernel<T, N>& k, const Strides<N>& dst) {
  return impl::strides_equal(k.stride, dst);
}
template <int N, class T>
bool flat_compatible(const ScalarKernel<T>&, const Strides<N>&) {
  return true;
}
template <int N, class F, class... K>
bool flat_compatible(const NodeKernel<F, K...>& k, const Strides<N>& dst) {
  return impl::apply_indexed(k.args, [&](const auto&... a) { return (true && ... && flat_compatible(a, dst)); });
}

namespace impl {

/// Unravels a linear index over `ext`, first dimension fastest (Left) or last fastest (Right).
template <bool Left, int N>
KOKKOS_INLINE_FUNCTION Index<N> unravel(std::size_t lin, const Shape<N>& ext) {
  Index<N> idx{};
  if constexpr (N > 0) {
    if constexpr (Left) {
      for (int d = 0; d < N - 1; ++d) {
        idx[d] = std::ptrdiff_t(lin % ext[d]);
        lin /= ext[d];
      }
      idx[N - 1] = std::ptrdiff_t(lin);
    } else {
      for (int d = N - 1; d > 0; --d) {
        idx[d] = std::ptrdiff_t(lin % ext[d]);
        lin /= ext[d];
      }
      idx[0] = std::ptrdiff_t(lin);
    }
  }
  return idx;
}

template <int N>
KOKKOS_INLINE_FUNCTION std::ptrdiff_t offset(const Index<N>& i, const Strides<N>& s) {
  std::ptrdiff_t o = 0;
  for (int d = 0; d < N; ++d) o += i[d] * s[d];
  return o;
}

template <class T, class K>
struct AssignFlat {
  T* dst;
  K k;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t i) const { dst[i] = static_cast<T>(k.flat(i)); }
};

template <class T, class K, int N, bool Left>
struct AssignStrided {
  T* dst;
  Strides<N> dst_stride;
  Shape<N> ext;
  K k;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t lin) const {
    const Index<N> i = unravel<Left, N>(lin, ext);
    dst[offset(i, dst_stride)] = static_cast<T>(k.at(i));
  }
};

// Row forms (host): a kernel tree seen along one row of the fastest dimension, every leaf read with unit
// stride. A leaf with another stride along the row (0 for an extruded operand) is first staged into a small
// block (ExecTraits::row_block elements), so the row loop has no runtime strides and vectorises; GCC versions
// loops for unit strides only, and a stride-0 operand would otherwise keep a row scalar.

/// Staging space of B elements per leaf of a kernel tree; nothing for scalars and other kernel kinds.
template <class K, std::size_t B>
struct RowStage {};
template <class T, int N, std::size_t B>
struct RowStage<LeafKernel<T, N>, B> {
  T block[B];
};
template <class F, class... K, std::size_t B>
struct RowStage<NodeKernel<F, K...>, B> {
  Tuple<RowStage<K, B>...> parts;
};

template <class T>
struct RowLeaf {
  const T* ptr;
  KOKKOS_INLINE_FUNCTION T at(std::size_t j) const { return ptr[j]; }
};

/// Kernel kinds without a row form (iota, random streams) are read element by element, as before.
template <class K, int N>
struct RowAt {
  K k;
  Index<N> i;
  int f;
  std::size_t j0;
  KOKKOS_INLINE_FUNCTION auto at(std::size_t j) const {
    Index<N> ij = i;
    ij[f] = std::ptrdiff_t(j0 + j);
    return k.at(ij);
  }
};

/// The row form of `k` for elements [j0, j0 + m) (m <= B) of the row starting at index `i` (i[f] == 0).
template <class K, std::size_t B, int N>
KOKKOS_INLINE_FUNCTION RowAt<K, N> row_of(const K& k, RowStage<K, B>&, const Index<N>& i, int f, std::size_t j0,
                                          std::size_t) {
  return {k, i, f, j0};
}
template <class T, std::size_t B, int N>
KOKKOS_INLINE_FUNCTION ScalarKernel<T> row_of(const ScalarKernel<T>& k, RowStage<ScalarKernel<T>, B>&,
                                              const Index<N>&, int, std::size_t, std::size_t) {
  return k;
}
/// Elements [j0, j0 + m) of a leaf's row with unit stride: in place, or copied into `block`.
template <class T, int N>
KOKKOS_INLINE_FUNCTION const T* stage_row(const T* ptr, const Strides<N>& stride, T* block, const Index<N>& i,
                                          int f, std::size_t j0, std::size_t m) {
  const std::ptrdiff_t s = stride[f];
  const T* p = ptr + offset(i, stride) + std::ptrdiff_t(j0) * s;
  if (s == 1) return p;
  if (s == 0) {  // extruded along the row: one value, stored with vector stores rather than strided loads
    const T v = *p;
    for (std::size_t j = 0; j < m; ++j) block[j] = v;
    return block;
  }
  for (std::size_t j = 0; j < m; ++j) block[j] = p[std::ptrdiff_t(j) * s];
  return block;
}
template <class T, int N, std::size_t B>
KOKKOS_INLINE_FUNCTION RowLeaf<T> row_of(const LeafKernel<T, N>& k, RowStage<LeafKernel<T, N>, B>& stage,
                                         const Index<N>& i, int f, std::size_t j0, std::size_t m) {
  return {stage_row(k.ptr, k.stride, stage.block, i, f, j0, m)};
}
template <class F, class... K, std::size_t B, int N, std::size_t... J>
KOKKOS_INLINE_FUNCTION auto row_of_node(const NodeKernel<F, K...>& k, RowStage<NodeKernel<F, K...>, B>& stage,
                                        const Index<N>& i, int f, std::size_t j0, std::size_t m,
                                        std::index_sequence<J...>) {
  using R = NodeKernel<F, decltype(row_of(get<J>(k.args), get<J>(stage.parts), i, f, j0, m))...>;
  using Args = decltype(R::args);
  return R{k.f, Args(row_of(get<J>(k.args), get<J>(stage.parts), i, f, j0, m)...)};
}
template <class F, class... K, std::size_t B, int N>
KOKKOS_INLINE_FUNCTION auto row_of(const NodeKernel<F, K...>& k, RowStage<NodeKernel<F, K...>, B>& stage,
                                   const Index<N>& i, int f, std::size_t j0, std::size_t m) {
  return row_of_node(k, stage, i, f, j0, m, std::index_sequence_for<K...>{});
}

/// Whether every leaf of `k` reads along dimension f with unit stride: nothing to stage, so a row runs whole
/// (one vectorised loop per row instead of one per staged block, each with its own alias checks).
template <class K>
bool rows_unit(const K&, int) {
  return true;  // scalars, and kinds read element by element
}
template <class T, int N>
bool rows_unit(const LeafKernel<T, N>& k, int f) {
  return k.stride[f] == 1;
}
template <class F, class... K>
bool rows_unit(const NodeKernel<F, K...>& k, int f);
template <class F, class... K, std::size_t... J>
bool rows_unit_node(const NodeKernel<F, K...>& k, int f, std::index_sequence<J...>) {
  return (true && ... && rows_unit(get<J>(k.args), f));
}
template <class F, class... K>
bool rows_unit(const NodeKernel<F, K...>& k, int f) {
  return rows_unit_node(k, f, std::index_sequence_for<K...>{});
}

/// Host path for broadcast/strided destinations: one iteration per row along the fastest dimension, so the
/// index is unravelled (integer divisions) once per row instead of once per element, and the row runs in
/// blocks of unit-stride row forms. (Devices keep the per-element path: there, neighbouring threads must
/// touch neighbouring elements.)
template <class T, class K, int N, bool Left, std::size_t B>
struct AssignRows {
  T* dst;
  Strides<N> dst_stride;
  Shape<N> rows;  // the destination's extents with the fastest dimension's set to 1
  std::size_t len;
  K k;
  std::size_t block;  // B, or len when rows_unit(k, f): then no leaf is staged
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t row) const {
    constexpr int f = Left ? 0 : N - 1;
    const Index<N> i = unravel<Left, N>(row, rows);
    T* out = dst + offset(i, dst_stride);
    const std::ptrdiff_t s = dst_stride[f];
    RowStage<K, B> stage;
    for (std::size_t j0 = 0; j0 < len; j0 += block) {
      const std::size_t m = len - j0 < block ? len - j0 : block;
      const auto r = row_of(k, stage, i, f, j0, m);
      T* o = out + std::ptrdiff_t(j0) * s;
      if (s == 1) {
        for (std::size_t j = 0; j < m; ++j) o[j] = static_cast<T>(r.at(j));
      } else {
        for (std::size_t j = 0; j < m; ++j) o[std::ptrdiff_t(j) * s] = static_cast<T>(r.at(j));
      }
    }
  }
};

template <class A, class B>
bool spans_overlap(const A* a, std::size_t na, const B* b, std::size_t nb) {
  const auto a0 = reinterpret_cast<std::uintptr_t>(a), b0 = reinterpret_cast<std::uintptr_t>(b);
  return na > 0 && nb > 0 && a0 < b0 + nb * sizeof(B) && b0 < a0 + na * sizeof(A);
}

/// Strides of a destination view, with 0 for extent-1 dimensions (so they compare equal to leaves').
template <class View>
Strides<View::rank> dst_strides(const View& v) {
  Strides<View::rank> s{};
  for (int d = 0; d < int(View::rank); ++d) s[d] = v.extent(d) == 1 ? 0 : std::ptrdiff_t(v.stride(d));
  return s;
}

/// Julia's unalias: a leaf that reads the destination's memory under another indexing is copied first;
/// reading it under the same indexing (x = 2 * x) is safe and free.
template <class DstView, class E>
void unalias(const DstView& dst, E& expr) {
  constexpr int N = DstView::rank;
  const Shape<N> out = shape_of(dst);
  const Strides<N> ds = dst_strides(dst);
  for_each_leaf(expr, [&](auto& leaf) {
    auto& v = leaf.m_view;
    if (!spans_overlap(v.data(), v.span(), dst.data(), dst.span())) return;
    if (static_cast<const void*>(v.data()) == static_cast<const void*>(dst.data()) &&
        strides_equal(broadcast_strides(v, out), ds))
      return;
    using V = std::decay_t<decltype(v)>;
    using Copy = Kokkos::View<typename V::non_const_data_type, Kokkos::LayoutLeft, typename V::memory_space>;
    Copy copy = allocate<Copy>("nabla::core::unalias", shape_of(v), std::make_index_sequence<V::rank>{},
                               Kokkos::WithoutInitializing);
    Kokkos::deep_copy(copy, v);
    v = copy;
  });
}

template <class Exec, class E>
struct accessible_from : std::true_type {};
template <class Exec, class T, int R, class M>
struct accessible_from<Exec, Leaf<T, R, M>>
    : std::integral_constant<bool, Kokkos::SpaceAccessibility<Exec, M>::accessible> {};
template <class Exec, class F, class... A>
struct accessible_from<Exec, Broadcasted<F, A...>>
    : std::integral_constant<bool, (true && ... && accessible_from<Exec, A>::value)> {};

/// Which dimension of the destination is fastest: 1 (the first) or 0 (the last) when its layout says, at
/// compile time, so an expression instantiates one kernel order instead of two (compile time in every backend's
/// build); -1 for a strided layout, decided at run time.
template <class View>
constexpr int static_left_fastest =
    View::rank < 2 || std::is_same<typename View::array_layout, Kokkos::LayoutLeft>::value   ? 1
    : std::is_same<typename View::array_layout, Kokkos::LayoutRight>::value                 ? 0
                                                                                             : -1;

template <class View>
bool is_left_fastest(const View& v) {
  if constexpr (static_left_fastest<View> >= 0) return static_left_fastest<View> == 1;
  else return v.stride(0) <= v.stride(View::rank - 1);
}

/// Calls launch(std::bool_constant<left>) for the destination's fastest dimension.
template <class View, class Launch>
void with_order(const View& v, const Launch& launch) {
  constexpr int order = static_left_fastest<View>;
  if constexpr (order >= 0) launch(std::bool_constant<order == 1>{});
  else if (is_left_fastest(v)) launch(std::true_type{});
  else launch(std::false_type{});
}

}  // namespace impl

/// \brief Evaluates `expr` into `dst` with ONE `parallel_for` on `space` (label `nabla::core::assign`).
///
/// `expr` broadcasts to dst's shape (NumPy rules); a ShapeError names both shapes otherwise. Operands that
/// alias dst under another indexing are copied first (one extra copy kernel for each).
/// \param space [in] execution space instance to run on
/// \param dst [in,out] Array or non-const View
/// \param expr [in] expression, Array, View or scalar
template <class ExecSpace, class Dst, class E,
          std::enable_if_t<Kokkos::is_execution_space<ExecSpace>::value, int> = 0>
void assign(const ExecSpace& space, const Dst& dst, const E& expr) {
  const auto& dv = [&]() -> decltype(auto) {
    if constexpr (is_array<Dst>::value) return dst.view(); else return (dst);
  }();
  using DstView = std::decay_t<decltype(dv)>;
  static_assert(Kokkos::is_view<DstView>::value, "nabla::assign: the destination must be a nabla::Array or a Kokkos::View");
  static_assert(!std::is_const<typename DstView::value_type>::value, "nabla::assign: the destination is const");
  constexpr int N = DstView::rank;
  using T = typename DstView::value_type;
  compat::Region region("nabla::core::assign");

  auto e = [&] {
    if constexpr (is_scalar_type<E>::value) return Scalar<T>{static_cast<T>(expr)};
    else return expr_t<E>(as_expr(expr));
  }();
  using Ex = decltype(e);
  static_assert(impl::accessible_from<ExecSpace, Ex>::value,
                "nabla::assign: an operand lives in memory the execution space cannot access (use nabla::to_device)");
  static_assert(Ex::rank <= N, "nabla::assign: the expression has a higher rank than the destination");
  static_assert(std::is_convertible<typename Ex::value_type, T>::value,
                "nabla::assign: the expression's element type does not convert to the destination's");

  const Shape<N> out = shape_of(dv);
  const auto es = impl::to_dyn(broadcast_shape(e));
  for (int d = 0; d < Ex::rank; ++d) {
    const std::size_t ed = es[d], od = out[d];
    if (ed != od && ed != 1)
      throw ShapeError(impl::cat("nabla::assign: an expression of shape ", impl::to_string(es),
                           " does not broadcast to the destination's shape ", to_string(out), " (dimension ", d,
                           ": ", ed, " vs ", od, "; dimensions align from the first)"));
  }
  const std::size_t n = shape_size(out);
  if (n == 0) return;
  impl::unalias(dv, e);

  const auto k = instantiate(e, out);
  using K = std::decay_t<decltype(k)>;
  const Strides<N> ds = impl::dst_strides(dv);
  using Policy = Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::size_t>>;
  const ExecSpace on = launch_space(n, space);
  static const std::string flat_label("nabla::core::assign"), strided_label("nabla::core::assign::strided");
  using Traits = impl::ExecTraits<ExecSpace>;
  const bool left = impl::is_left_fastest(dv);
  if (dv.span_is_contiguous() && dv.span() == n && flat_compatible(k, ds)) {
    impl::parallel_range(flat_label, on, n, n, impl::AssignFlat<T, K>{dv.data(), k}, 64);
    return;
  }
  if constexpr (Traits::row_kernels && N >= 2) {
    constexpr std::size_t B = Traits::row_block;
    const int f = left ? 0 : N - 1;
    const std::size_t len = out[f];
    if (len >= Traits::row_min_length && n / len >= std::size_t(on.concurrency())) {
      Shape<N> rows = out;
      rows[f] = 1;
      const std::size_t block = impl::rows_unit(k, f) ? len : B;
      impl::with_order(dv, [&](auto is_left) {
        using Rows = impl::AssignRows<T, K, N, decltype(is_left)::value, B>;
        impl::parallel_range(strided_label, on, n / len, n, Rows{dv.data(), ds, rows, len, k, block});
      });
      return;
    }
  }
  impl::with_order(dv, [&](auto is_left) {
    using Strided = impl::AssignStrided<T, K, N, decltype(is_left)::value>;
    Kokkos::parallel_for(strided_label, Policy(on, 0, n), Strided{dv.data(), ds, out, k});
  });
}

/// \brief assign on the destination's default execution space instance.
template <class Dst, class E, std::enable_if_t<!Kokkos::is_execution_space<Dst>::value, int> = 0>
void assign(const Dst& dst, const E& expr) {
  using Space = typename std::decay_t<decltype(as_expr(dst))>::memory_space::execution_space;
  assign(default_instance<Space>(), dst, expr);
}

/// \brief Evaluates an expression into a new column-major Array of its broadcast shape (one kernel).
template <class ExecSpace, class E, std::enable_if_t<Kokkos::is_execution_space<ExecSpace>::value, int> = 0>
auto eval(const ExecSpace& space, const E& expr) {
  const auto e = as_expr(expr);
  using Ex = std::decay_t<decltype(e)>;
  Array<typename Ex::value_type, Ex::rank, typename ExecSpace::memory_space> out(broadcast_shape(e), "nabla::core::eval",
                                                                                 uninitialized);
  assign(space, out, e);
  return out;
}

template <class E, impl::enable_if_operand_t<E> = 0>
auto eval(const E& expr) {
  return eval(default_instance(), expr);
}

}  // namespace nabla
