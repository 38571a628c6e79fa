/// \file broadcast.hpp
/// \brief Mixed mode: a fused broadcast over tape variables is ONE tape node. Its forward is core's one
/// kernel; its backward re-evaluates the scalar function on Dual<T, K> (K = variables in the expression)
/// and adds adjoint_out * partial into each variable's adjoint in one kernel. Variables broadcast along
/// some dimensions get their contributions summed over those dimensions by one deterministic reduction
/// each (no atomics: results do not depend on thread count or timing).
#pragma once

#include <nabla/ad/dual.hpp>
#include <nabla/ad/tape.hpp>
#include <nabla/core/assign.hpp>
#include <nabla/core/operators.hpp>
#include <nabla/core/reduce.hpp>

#include <array>
#include <vector>

namespace nabla {
namespace ad {

/// A Var inside an expression: reads its value like any array leaf, and is numbered for differentiation.
template <class T, int R>
struct VarLeaf {
  using value_type = T;
  using memory_space = DefaultMemorySpace;
  static constexpr int rank = R;
  using view_type = typename Leaf<T, R, DefaultMemorySpace>::view_type;
  view_type m_view;
  Var<T, R> var;
  Shape<R> shape() const { return shape_of(m_view); }
};

template <class T, int R>
VarLeaf<T, R> as_expr(const Var<T, R>& v) {
  return {v.value().view(), v};
}

// Core's tree walks, for VarLeaf.
template <class T, int R>
Shape<R> broadcast_shape(const VarLeaf<T, R>& l) {
  return l.shape();
}
template <int N, class T, int R>
LeafKernel<T, N> instantiate(const VarLeaf<T, R>& l, const Shape<N>& out) {
  return {l.m_view.data(), ::nabla::impl::broadcast_strides(l.m_view, out)};
}
template <class T, int R, class Fn>
void for_each_leaf(VarLeaf<T, R>& l, Fn&& fn) {
  fn(l);
}

// Core's operators and math functions, visible to argument-dependent lookup on Vars.
using ::nabla::operator+;
using ::nabla::operator-;
using ::nabla::operator*;
using ::nabla::operator/;
using ::nabla::operator<;
using ::nabla::operator<=;
using ::nabla::operator>;
using ::nabla::operator>=;
using ::nabla::operator==;
using ::nabla::operator!=;
using ::nabla::operator&&;
using ::nabla::operator||;
using ::nabla::operator!;
using ::nabla::abs;
using ::nabla::acos;
using ::nabla::asin;
using ::nabla::atan;
using ::nabla::atan2;
using ::nabla::cbrt;
using ::nabla::ceil;
using ::nabla::clamp;
using ::nabla::cos;
using ::nabla::cosh;
using ::nabla::erf;
using ::nabla::erfc;
using ::nabla::exp;
using ::nabla::expm1;
using ::nabla::floor;
using ::nabla::hypot;
using ::nabla::log;
using ::nabla::log1p;
using ::nabla::map;
using ::nabla::max;
using ::nabla::min;
using ::nabla::pow;
using ::nabla::sign;
using ::nabla::sin;
using ::nabla::sinh;
using ::nabla::sqrt;
using ::nabla::tan;
using ::nabla::tanh;
using ::nabla::where;

// ------------------------------------------------------------------------------------- dual instantiation
template <class E>
struct var_count : std::integral_constant<int, 0> {};
template <class T, int R>
struct var_count<VarLeaf<T, R>> : std::integral_constant<int, 1> {};
template <class F, class... A>
struct var_count<Broadcasted<F, A...>> : std::integral_constant<int, (0 + ... + var_count<A>::value)> {};

/// Leaf k of K: its value as Dual<T, K> seeded in direction k.
template <class T, int N, int K, int k>
struct DualLeafKernel {
  const T* ptr;
  Strides<N> stride;
  KOKKOS_INLINE_FUNCTION Dual<T, K> at(const Index<N>& i) const {
    return Dual<T, K>(ptr[::nabla::impl::offset(i, stride)], k);
  }
};

namespace impl {
template <class... A>
constexpr std::array<int, sizeof...(A) + 1> var_offsets() {
  std::array<int, sizeof...(A) + 1> o{};
  const int counts[] = {0, var_count<A>::value...};
  for (std::size_t j = 1; j <= sizeof...(A); ++j) o[j] = o[j - 1] + counts[j];
  return o;
}

template <int K, int Off, int N, class E>
auto instantiate_dual(const E& e, const Shape<N>& out) {
  return instantiate(e, out);  // no variables below: plain values
}
template <int K, int Off, int N, class T, int R>
DualLeafKernel<T, N, K, Off> instantiate_dual(const VarLeaf<T, R>& l, const Shape<N>& out) {
  return {l.m_view.data(), ::nabla::impl::broadcast_strides(l.m_view, out)};
}
template <int K, int Off, int N, class F, class... A>
auto instantiate_dual(const Broadcasted<F, A...>& e, const Shape<N>& out);

template <int K, int Off, int N, class F, class... A, std::size_t... J>
auto instantiate_dual_node(const Broadcasted<F, A...>& e, const Shape<N>& out, std::index_sequence<J...>) {
  constexpr auto offs = var_offsets<A...>();
  using Node = NodeKernel<F, decltype(instantiate_dual<K, Off + offs[J]>(::nabla::impl::get<J>(e.m_args), out))...>;
  return Node{e.m_f, ::nabla::impl::Tuple<decltype(instantiate_dual<K, Off + offs[J]>(
                         ::nabla::impl::get<J>(e.m_args), out))...>(
                         instantiate_dual<K, Off + offs[J]>(::nabla::impl::get<J>(e.m_args), out)...)};
}
template <int K, int Off, int N, class F, class... A>
auto instantiate_dual(const Broadcasted<F, A...>& e, const Shape<N>& out) {
  return instantiate_dual_node<K, Off>(e, out, std::index_sequence_for<A...>{});
}

/// The Vars of a tree in the order instantiate_dual numbers them (depth first, left to right).
template <class E, class Fn>
void for_each_var(const E&, Fn&&) {}
template <class T, int R, class Fn>
void for_each_var(const VarLeaf<T, R>& l, Fn&& fn) {
  fn(l);
}
template <class F, class... A, class Fn>
void for_each_var(const Broadcasted<F, A...>& e, Fn&& fn) {
  ::nabla::impl::apply_indexed(e.m_args, [&](const auto&... a) { (for_each_var(a, fn), ...); });
}

/// Where each variable's contributions go: straight into its adjoint (`adj`, when no element of it is
/// shared by several outputs) or into an output-shaped buffer (`buf`) reduced afterwards.
template <class T, int N, int K>
struct Targets {
  Kokkos::Array<T*, K> adj;
  Kokkos::Array<T*, K> buf;
  Kokkos::Array<Strides<N>, K> stride;
};

/// adjoint_out * d out / d var_k for every output element, in one kernel.
template <class T, int N, int K, class DK, bool ScalarSeed>
struct MixedBackward {
  DK k;
  const T* adj_out;  // output-shaped, column-major; or one value (ScalarSeed: the output was a sum)
  Shape<N> ext;
  Targets<T, N, K> t;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t lin) const {
    const Index<N> i = ::nabla::impl::unravel<true, N>(lin, ext);
    const auto r = k.at(i);
    const T g = ScalarSeed ? adj_out[0] : adj_out[lin];
    for (int v = 0; v < K; ++v) {
      const T c = g * r.grad[v];
      if (t.buf[v]) t.buf[v][lin] = c;
      else if (t.adj[v]) t.adj[v][::nabla::impl::offset(i, t.stride[v])] += c;
    }
  }
};

/// adj[j] += sum of buf over the output elements that read variable element j (its broadcast dimensions),
/// one thread per variable element, in a fixed order.
template <class T, int N>
struct SumToShape {
  const T* buf;  // output-shaped, column-major
  T* adj;        // variable-shaped, column-major, rank N with size-1 broadcast dimensions
  Shape<N> out, var;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t j) const {
    Index<N> base = ::nabla::impl::unravel<true, N>(j, var);
    std::size_t count = 1;
    for (int d = 0; d < N; ++d)
      if (var[d] == 1) count *= out[d];
    T acc = T(0);
    for (std::size_t c = 0; c < count; ++c) {
      std::size_t rem = c, off = 0, stride = 1;
      for (int d = 0; d < N; ++d) {
        std::size_t id = std::size_t(base[d]);
        if (var[d] == 1) {
          id = rem % out[d];
          rem /= out[d];
        }
        off += id * stride;
        stride *= out[d];
      }
      acc += buf[off];
    }
    adj[j] += acc;
  }
};

/// The reverse step of a broadcast node over output shape `out`, seeded by `adj_out`.
template <bool ScalarSeed, class E, int N, class T>
void broadcast_backward(Tape& tape, const E& e, const Shape<N>& out, const T* adj_out) {
  constexpr int K = var_count<E>::value;
  using Exec = Kokkos::DefaultExecutionSpace;
  const std::size_t n = shape_size(out);
  if (n == 0) return;
  Targets<T, N, K> t{};
  std::vector<Array<T, N>> bufs;
  struct Pending {
    int v;
    Shape<N> var_shape;  // padded with leading 1s to rank N: the same column-major order as the adjoint
    T* adj;
  };
  std::vector<Pending> pending;
  int v = 0;
  for_each_var(e, [&](const auto& leaf) {
    const int idx = v++;
    t.adj[idx] = nullptr;
    t.buf[idx] = nullptr;
    if (!leaf.var.requires_grad()) return;
    auto adj = tape.adjoint(leaf.var);
    constexpr int R = std::decay_t<decltype(leaf)>::rank;
    Shape<N> vs{};
    bool extruded = false;
    for (int d = 0; d < N; ++d) {
      const int ld = d - (N - R);
      vs[d] = ld < 0 ? 1 : leaf.m_view.extent(ld);
      extruded |= vs[d] != out[d];
    }
    if (extruded || ScalarSeed) {
      if (ScalarSeed && !extruded) {
        // A sum's seed is one number: every element's contribution is distinct, add directly.
        t.adj[idx] = adj.data();
        t.stride[idx] = ::nabla::impl::broadcast_strides(leaf.m_view, out);
        return;
      }
      bufs.emplace_back(out, "nabla::ad::broadcast::contributions", uninitialized);
      t.buf[idx] = bufs.back().data();
      pending.push_back({idx, vs, adj.data()});
    } else {
      t.adj[idx] = adj.data();
      t.stride[idx] = ::nabla::impl::broadcast_strides(leaf.m_view, out);
    }
  });
  const auto dk = instantiate_dual<K, 0>(e, out);
  static const std::string label("nabla::ad::broadcast::backward"), sum_label("nabla::ad::broadcast::sum_to_shape");
  using Policy = Kokkos::RangePolicy<Exec, Kokkos::IndexType<std::size_t>>;
  Kokkos::parallel_for(label, Policy(0, n), MixedBackward<T, N, K, std::decay_t<decltype(dk)>, ScalarSeed>{dk, adj_out, out, t});
  for (const auto& p : pending)
    Kokkos::parallel_for(sum_label, Policy(0, shape_size(p.var_shape)),
                         SumToShape<T, N>{t.buf[p.v], p.adj, out, p.var_shape});
}

template <class E>
Tape* tape_of(const E& e, bool& requires_grad) {
  Tape* tape = nullptr;
  requires_grad = false;
  for_each_var(e, [&](const auto& leaf) {
    if (!tape) tape = leaf.var.tape();
    else if (tape != leaf.var.tape()) throw ValueError("nabla::ad: an expression mixes variables of two tapes");
    tape->check(leaf.var, "broadcast");
    requires_grad |= leaf.var.requires_grad();
  });
  if (!tape) throw ValueError("nabla::ad::eval: the expression has no variables (use nabla::eval)");
  return tape;
}
}  // namespace impl

/// \brief Materialises a fused expression over Vars: ONE forward kernel, ONE tape node.
template <class E>
auto eval(const E& expr) {
  const auto e = as_expr(expr);
  using Ex = std::decay_t<decltype(e)>;
  using T = typename Ex::value_type;
  constexpr int N = Ex::rank;
  bool requires_grad = false;
  Tape* tape = impl::tape_of(e, requires_grad);
  Array<T, N> out = ::nabla::eval(e);
  return tape->record<T, N>(out, requires_grad, [tape, e](const Var<T, N>& y) {
    impl::broadcast_backward<false>(*tape, e, y.shape(), tape->adjoint(y).data());
  }, "broadcast");
}

/// \brief sum(expr) as ONE tape node: forward is one parallel_reduce, backward one fused kernel.
template <class E, std::enable_if_t<var_count<std::decay_t<decltype(as_expr(std::declval<const E&>()))>>::value >= 1, int> = 0>
auto sum(const E& expr) {
  const auto e = as_expr(expr);
  using Ex = std::decay_t<decltype(e)>;
  using T = typename Ex::value_type;
  bool requires_grad = false;
  Tape* tape = impl::tape_of(e, requires_grad);
  Array<T, 0> out(Shape<0>{}, "nabla::ad::sum", uninitialized);
  ::nabla::sum_into(out, e);
  const auto shape = broadcast_shape(e);
  return tape->record<T, 0>(out, requires_grad, [tape, e, shape](const Var<T, 0>& y) {
    impl::broadcast_backward<true>(*tape, e, shape, tape->adjoint(y).data());
  }, "sum");
}

/// \brief mean(expr): sum scaled by 1/size, still one forward and one backward kernel.
template <class E, std::enable_if_t<var_count<std::decay_t<decltype(as_expr(std::declval<const E&>()))>>::value >= 1, int> = 0>
auto mean(const E& expr) {
  const auto e = as_expr(expr);
  using T = typename std::decay_t<decltype(e)>::value_type;
  const auto n = shape_size(broadcast_shape(e));
  if (n == 0) throw ValueError("nabla::ad::mean: the expression is empty");
  return ad::sum(e * (T(1) / T(n)));
}

}  // namespace ad

template <class T, int R>
struct is_expression<ad::VarLeaf<T, R>> : std::true_type {};
template <class T, int R>
struct is_operand_type<ad::Var<T, R>> : std::true_type {};

}  // namespace nabla
