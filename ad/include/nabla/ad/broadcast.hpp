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
#include <nabla/core/impl/exec_traits.hpp>
#include <nabla/core/operators.hpp>
#include <nabla/core/reduce.hpp>

#include <algorithm>
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
using ::nabla::pow;
using ::nabla::sign;
using ::nabla::sin;
using ::nabla::sinh;
using ::nabla::sqrt;
using ::nabla::tan;
using ::nabla::tanh;
using ::nabla::where;
// The elementwise max/min only: the one-argument reductions of a Var expression are ad's own (ops.hpp), taped.
template <class A, class B>
auto max(const A& a, const B& b) -> decltype(::nabla::max(a, b)) {
  return ::nabla::max(a, b);
}
template <class A, class B>
auto min(const A& a, const B& b) -> decltype(::nabla::min(a, b)) {
  return ::nabla::min(a, b);
}

// ------------------------------------------------------------------------------------- dual instantiation
template <class E>
struct var_count : std::integral_constant<int, 0> {};
template <class T, int R>
struct var_count<VarLeaf<T, R>> : std::integral_constant<int, 1> {};
template <class F, class... A>
struct var_count<Broadcasted<F, A...>> : std::integral_constant<int, (0 + ... + var_count<A>::value)> {};

/// A variable leaf as Dual<T, K> seeded in direction `dir` (none for -1: a constant). Leaves of one variable
/// read under the same indexing share a direction, so K counts distinct differentiated inputs, not leaves.
/// The seed is a stored unit vector rather than `i == dir` per element: compilers turn that comparison into
/// branches on `dir`, and the branches keep host lane loops from vectorising.
template <class T, int N, int K>
struct DualLeafKernel {
  const T* ptr;
  Strides<N> stride;
  Kokkos::Array<T, K> seed;
  KOKKOS_INLINE_FUNCTION Dual<T, K> at(const Index<N>& i) const { return make(ptr[::nabla::impl::offset(i, stride)]); }
  KOKKOS_INLINE_FUNCTION Dual<T, K> flat(std::size_t i) const { return make(ptr[i]); }
  KOKKOS_INLINE_FUNCTION Dual<T, K> make(const T& v) const {
    Dual<T, K> d;
    d.val = v;
    d.grad = seed;
    return d;
  }
};

template <class T, int N, int K>
bool flat_compatible(const DualLeafKernel<T, N, K>& k, const Strides<N>& dst) {
  return ::nabla::impl::strides_equal(k.stride, dst);
}

/// Row form of a variable leaf for the host lane kernels: values staged like a plain leaf's (core's row
/// forms), one seed for every lane.
template <class T, int K>
struct RowDualLeaf {
  const T* ptr;
  Kokkos::Array<T, K> seed;
  KOKKOS_INLINE_FUNCTION Dual<T, K> at(std::size_t j) const {
    Dual<T, K> d;
    d.val = ptr[j];
    d.grad = seed;
    return d;
  }
};
}  // namespace ad

namespace impl {
template <class T, int N, int K, std::size_t B>
struct RowStage<ad::DualLeafKernel<T, N, K>, B> {
  T block[B];
};
}  // namespace impl

namespace ad {
template <class T, int N, int K, std::size_t B>
KOKKOS_INLINE_FUNCTION RowDualLeaf<T, K> row_of(const DualLeafKernel<T, N, K>& k,
                                                ::nabla::impl::RowStage<DualLeafKernel<T, N, K>, B>& stage,
                                                const Index<N>& i, int f, std::size_t j0, std::size_t m) {
  return {::nabla::impl::stage_row(k.ptr, k.stride, stage.block, i, f, j0, m), k.seed};
}

namespace impl {
template <int K, int N, class E>
auto instantiate_dual(const E& e, const Shape<N>& out, const int*, int&) {
  return instantiate(e, out);  // no variables below: plain values
}
template <int K, int N, class T, int R>
DualLeafKernel<T, N, K> instantiate_dual(const VarLeaf<T, R>& l, const Shape<N>& out, const int* dirs, int& next) {
  const int dir = dirs[next++];
  Kokkos::Array<T, K> seed;
  for (int d = 0; d < K; ++d) seed[d] = T(d == dir ? 1 : 0);
  return {l.m_view.data(), ::nabla::impl::broadcast_strides(l.m_view, out), seed};
}
template <int K, int N, class F, class... A>
auto instantiate_dual(const Broadcasted<F, A...>& e, const Shape<N>& out, const int* dirs, int& next) {
  return ::nabla::impl::apply_indexed(e.m_args, [&](const auto&... args) {
    // Braced initialisation evaluates left to right, matching for_each_var's numbering.
    using Node = NodeKernel<F, decltype(instantiate_dual<K>(args, out, dirs, next))...>;
    return Node{e.m_f, ::nabla::impl::Tuple<decltype(instantiate_dual<K>(args, out, dirs, next))...>{
                           instantiate_dual<K>(args, out, dirs, next)...}};
  });
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

/// Where each variable's contributions go: into its adjoint (overwriting it when this is the first write
/// to a fresh adjoint, adding otherwise), or, for a variable broadcast along some dimensions, into an
/// output-shaped buffer reduced afterwards.
enum class Mode : int { write = 1, add = 2, buffer = 3 };

template <class T, int N, int K>
struct Targets {
  Kokkos::Array<T*, K> ptr;
  Kokkos::Array<int, K> add;  // 1: add into the target, 0: overwrite it
  Kokkos::Array<Strides<N>, K> stride;
  int count;  // directions in use: the kernel's width K is rounded up to a power of two

  // Branch-free on the element (a select, not a jump), so the compiler may vectorise across elements;
  // buffers are written through column-major output strides like any other target.
  KOKKOS_INLINE_FUNCTION void put(int v, const Index<N>& i, const T& c) const {
    T* p = ptr[v] + ::nabla::impl::offset(i, stride[v]);
    *p = add[v] ? *p + c : c;
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

// Upstream adjoints of the three reverse steps (a broadcast node, a sum, a sum fused with its forward), by
// output element.
template <class T>
struct SeedOne {  // sum(e) as the output of backward(): dy/dy = 1
  KOKKOS_INLINE_FUNCTION T operator()(std::size_t) const { return T(1); }
};
template <class T>
struct SeedScalar {  // sum(e) inside a larger graph: one number, on the device
  const T* p;
  KOKKOS_INLINE_FUNCTION T operator()(std::size_t) const { return p[0]; }
};
template <class T>
struct SeedArray {  // a broadcast node: the output's adjoint, column-major
  const T* p;
  KOKKOS_INLINE_FUNCTION T operator()(std::size_t lin) const { return p[lin]; }
};

/// Device form of the reverse kernels: one output element per thread, adding seed * partial into each
/// target. `run` returns the element's value (what sum_fused folds).
template <class T, int N, int K, class DK, class Seed>
struct ElementBackward {
  DK k;
  Seed seed;
  Shape<N> ext;
  Targets<T, N, K> t;
  KOKKOS_INLINE_FUNCTION T run(std::size_t lin) const {
    const Index<N> i = ::nabla::impl::unravel<true, N>(lin, ext);
    const auto r = k.at(i);
    const T g = seed(lin);
    for (int v = 0; v < K; ++v)
      if (v < t.count) t.put(v, i, g * r.grad[v]);
    return r.val;
  }
};

/// Host form of the reverse kernels. A work item is L (ExecTraits::lanes) consecutive output elements along dimension 0 (the
/// fastest, column-major), evaluated on duals by ONE lane loop that CPUs vectorise (ElementBackward on a
/// CPU runs the dual arithmetic scalar, 3-4x slower than its memory traffic for sum(f8)); then each
/// direction's partials go to their target in a loop of its own, so whether to add or overwrite is decided
/// per item, not per element. Flat: every leaf and target is indexed like the output, so lanes read and
/// write contiguous memory by linear index; otherwise leaves are read through core's row forms and targets
/// through their strides. `run` returns the item's sum of values (what sum_fused folds).
template <class T, int N, int K, int L, bool Flat, class DK, class Seed>
struct LaneBackward {
  DK k;
  Seed seed;
  Shape<N> rows;            // output extents with dimension 0's set to 1 (unused when Flat)
  std::size_t len, blocks;  // elements per row (dimension 0, or all when Flat), work items per row
  Targets<T, N, K> t;

  KOKKOS_INLINE_FUNCTION T run(std::size_t item) const {
    const std::size_t row = item / blocks, j0 = (item % blocks) * L;
    const std::size_t lin0 = row * len + j0;
    const int m = len - j0 < std::size_t(L) ? int(len - j0) : L;
    if constexpr (Flat) {
      return lanes(FlatFrom{&k, lin0}, lin0, Index<N>{}, m);
    } else {
      // Through core's row forms: operands with another stride along dimension 0 (0 for one broadcast
      // there) are staged into unit-stride blocks first, so the lane loop has no runtime strides.
      Index<N> base = ::nabla::impl::unravel<true, N>(row, rows);
      ::nabla::impl::RowStage<DK, L> stage;
      const auto r = row_of(k, stage, base, 0, j0, std::size_t(m));
      base[0] = std::ptrdiff_t(j0);
      return lanes(r, lin0, base, m);
    }
  }

 private:
  struct FlatFrom {
    const DK* k;
    std::size_t lin0;
    KOKKOS_INLINE_FUNCTION auto at(std::size_t j) const { return k->flat(lin0 + j); }
  };

  template <class Row>
  KOKKOS_INLINE_FUNCTION T lanes(const Row& r, std::size_t lin0, const Index<N>& base, int m) const {
    T val[L];
    T g[K][L];
    // Vectorised by GCC's own analysis once the duals' loops are unrolled; an `omp simd` mark here would
    // make each dual a per-lane array in memory and keep the loop scalar.
    for (int j = 0; j < m; ++j) {
      const auto d = r.at(std::size_t(j));
      const T s = seed(lin0 + j);
      val[j] = d.val;
      for (int v = 0; v < K; ++v) g[v][j] = s * d.grad[v];
    }
    for (int v = 0; v < K && v < t.count; ++v) {
      T* p = t.ptr[v] + std::ptrdiff_t(lin0);
      std::ptrdiff_t step = 1;
      if constexpr (!Flat) {
        p = t.ptr[v] + ::nabla::impl::offset(base, t.stride[v]);
        step = t.stride[v][0];
      }
      if (t.add[v]) {
        NABLA_SIMD
        for (int j = 0; j < m; ++j) p[j * step] += g[v][j];
      } else {
        NABLA_SIMD
        for (int j = 0; j < m; ++j) p[j * step] = g[v][j];
      }
    }
    T sum = T(0);
    for (int j = 0; j < m; ++j) sum += val[j];
    return sum;
  }
};
template <class B>
struct RunFor {
  B b;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t item) const { b.run(item); }
};
template <class B, class T>
struct RunReduce {
  B b;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t item, T& acc) const { acc += b.run(item); }
};

/// Builds the host lane kernel for dual form `dk`, flat when every leaf and target allows, and calls
/// go(work items, kernel).
template <class T, int N, int K, class DK, class Seed, class Go>
void with_lane_kernel(const DK& dk, const Targets<T, N, K>& t, const Shape<N>& out, const Seed& seed, Go&& go) {
  constexpr int L = ::nabla::impl::ExecTraits<Kokkos::DefaultExecutionSpace>::lanes;
  const std::size_t n = shape_size(out);
  const Strides<N> cm = ::nabla::impl::column_major_strides(out);
  bool flat = flat_compatible(dk, cm);
  for (int v = 0; v < t.count; ++v) flat = flat && ::nabla::impl::strides_equal(t.stride[v], cm);
  if (flat) {  // rank 0 always is
    const std::size_t blocks = (n + L - 1) / L;
    go(blocks, LaneBackward<T, N, K, L, true, DK, Seed>{dk, seed, out, n, blocks, t});
  } else if constexpr (N > 0) {
    Shape<N> rows = out;
    rows[0] = 1;
    const std::size_t blocks = (out[0] + L - 1) / L;
    go(blocks * (n / out[0]), LaneBackward<T, N, K, L, false, DK, Seed>{dk, seed, rows, out[0], blocks, t});
  }
}

/// Calls go(work items, reverse kernel form) with the form this backend takes.
template <class T, int N, int K, class DK, class Seed, class Go>
void with_backward_kernel(const DK& dk, const Targets<T, N, K>& t, const Shape<N>& out, const Seed& seed, Go&& go) {
  if constexpr (::nabla::impl::ExecTraits<Kokkos::DefaultExecutionSpace>::lanes > 1)
    with_lane_kernel(dk, t, out, seed, go);
  else
    go(shape_size(out), ElementBackward<T, N, K, DK, Seed>{dk, seed, out, t});
}

/// How the variables of `e` are differentiated for an output of shape `out`: a direction per leaf, and per
/// direction where its contributions go; then the buffer reductions to run after the main kernel.
template <class T, int N>
struct Plan {
  std::vector<int> dirs;  // per leaf, in for_each_var order; -1 for constants
  std::vector<T*> ptr;    // per direction
  std::vector<int> mode;
  std::vector<Strides<N>> stride;
  struct Reduce {
    int dir;
    Shape<N> var_shape;  // padded with trailing 1s to rank N: the same column-major order as the adjoint
    T* adj;
  };
  std::vector<Reduce> reduces;
  std::vector<Array<T, N>> buffers;

  template <class E>
  Plan(Tape& tape, const E& e, const Shape<N>& out) {
    std::vector<std::pair<int, Strides<N>>> keys;  // (variable id, indexing) of each direction
    for_each_var(e, [&](const auto& leaf) {
      if (!leaf.var.requires_grad()) {
        dirs.push_back(-1);
        return;
      }
      const Strides<N> st = ::nabla::impl::broadcast_strides(leaf.m_view, out);
      for (std::size_t d = 0; d < keys.size(); ++d)
        if (keys[d].first == leaf.var.id() && ::nabla::impl::strides_equal(keys[d].second, st)) {
          dirs.push_back(int(d));
          return;
        }
      const int dir = int(keys.size());
      keys.emplace_back(leaf.var.id(), st);
      dirs.push_back(dir);
      constexpr int R = std::decay_t<decltype(leaf)>::rank;
      Shape<N> vs{};
      bool extruded = false;
      for (int d = 0; d < N; ++d) {
        vs[d] = d < R ? leaf.m_view.extent(d) : 1;
        extruded |= vs[d] != out[d];
      }
      if (extruded) {
        stride.push_back(::nabla::impl::column_major_strides(out));
        buffers.emplace_back(tape.allocate<T, N>(out, false));
        ptr.push_back(buffers.back().data());
        mode.push_back(int(Mode::buffer));
        reduces.push_back({dir, vs, tape.adjoint(leaf.var).data()});
      } else {
        stride.push_back(st);
        bool fresh = false;
        auto adj = tape.adjoint_to_write(leaf.var, fresh);  // every element is written: no zero-fill needed
        ptr.push_back(adj.data());
        mode.push_back(int(fresh ? Mode::write : Mode::add));
      }
    });
  }

  int directions() const { return int(ptr.size()); }

  /// The targets of directions [first, first + K) that exist.
  template <int K>
  Targets<T, N, K> targets(int first) const {
    Targets<T, N, K> t{};
    t.count = std::min(K, directions() - first);
    for (int d = 0; d < t.count; ++d) {
      t.ptr[d] = ptr[first + d];
      t.add[d] = mode[first + d] == int(Mode::add);
      t.stride[d] = stride[first + d];
    }
    return t;
  }

  /// Each leaf's direction within the chunk [first, first + K), -1 outside it.
  template <int K>
  std::vector<int> chunk_dirs(int first) const {
    std::vector<int> out(dirs.size());
    for (std::size_t l = 0; l < dirs.size(); ++l)
      out[l] = dirs[l] >= first && dirs[l] < first + K ? dirs[l] - first : -1;
    return out;
  }

  void reduce(const Shape<N>& out) const {
    static const std::string label("nabla::ad::broadcast::sum_to_shape");
    using Policy = Kokkos::RangePolicy<Kokkos::DefaultExecutionSpace, Kokkos::IndexType<std::size_t>>;
    for (const auto& r : reduces)
      Kokkos::parallel_for(label, Policy(launch_space(shape_size(out)), 0, shape_size(r.var_shape)),
                           SumToShape<T, N>{ptr[r.dir], r.adj, out, r.var_shape});
  }
};

/// The widest Dual a backward kernel is compiled for. More distinct inputs are differentiated in chunks of
/// this many directions, one kernel per chunk (ForwardDiff's chunk mode): the code per kernel stays bounded
/// however many leaves an expression has.
constexpr int kMaxDualWidth = 8;

constexpr int pow2_at_least(int k) { return k <= 1 ? 1 : 2 * pow2_at_least((k + 1) / 2); }

/// Calls fn(std::integral_constant<int, W>) for the smallest compiled width W >= k, or the widest one: widths
/// are the powers of two up to min(kMaxDualWidth, Kmax rounded up), so an expression of L leaves compiles
/// log2(L) + 1 kernels of each kind rather than L.
template <int Kmax, int W = 1, class Fn>
void with_width(int k, Fn&& fn) {
  constexpr int widest = std::min(kMaxDualWidth, pow2_at_least(Kmax));
  if constexpr (W >= widest) fn(std::integral_constant<int, widest>{});
  else if (k <= W) fn(std::integral_constant<int, W>{});
  else with_width<Kmax, 2 * W>(k, fn);
}

using Policy1 = Kokkos::RangePolicy<Kokkos::DefaultExecutionSpace, Kokkos::IndexType<std::size_t>>;

/// Plans the differentiation of `e` over `out`, then calls launch(dual kernel form, targets (of width K),
/// chunk) for each chunk of K directions (one chunk unless the expression has more than kMaxDualWidth
/// distinct inputs), then runs the buffer reductions: the shape of every reverse step below.
template <class T, class E, int N, class Launch>
void with_dual_kernel(Tape& tape, const E& e, const Shape<N>& out, Launch&& launch) {
  const Plan<T, N> plan(tape, e, out);
  with_width<var_count<E>::value>(plan.directions(), [&](auto kc) {
    constexpr int K = decltype(kc)::value;
    for (int first = 0, chunk = 0; first < std::max(1, plan.directions()); first += K, ++chunk) {
      const std::vector<int> dirs = plan.template chunk_dirs<K>(first);
      int next = 0;
      launch(instantiate_dual<K>(e, out, dirs.data(), next), plan.template targets<K>(first), chunk);
    }
  });
  plan.reduce(out);
}

/// One reverse step of `e` over output shape `out`, upstream adjoint `seed`.
template <class T, class E, int N, class Seed>
void seeded_backward(Tape& tape, const E& e, const Shape<N>& out, const Seed& seed, const std::string& label) {
  if (shape_size(out) == 0) return;
  with_dual_kernel<T>(tape, e, out, [&](const auto& dk, const auto& t, int) {
    with_backward_kernel(dk, t, out, seed, [&](std::size_t items, const auto& bk) {
      Kokkos::parallel_for(label, Policy1(launch_space(shape_size(out)), 0, items), RunFor<std::decay_t<decltype(bk)>>{bk});
    });
  });
}

/// The reverse step of a broadcast node, seeded by the output's adjoint.
template <class E, int N, class T>
void broadcast_backward(Tape& tape, const E& e, const Shape<N>& out, const T* adj_out) {
  static const std::string label("nabla::ad::broadcast::backward");
  seeded_backward<T>(tape, e, out, SeedArray<T>{adj_out}, label);
}

/// The reverse step of sum(e), its upstream adjoint one number on the device.
template <class E, int N, class T>
void sum_backward(Tape& tape, const E& e, const Shape<N>& out, const T* seed) {
  static const std::string label("nabla::ad::sum::backward");
  seeded_backward<T>(tape, e, out, SeedScalar<T>{seed}, label);
}

/// sum(e)'s value into `y` and its backward for seed 1, in one parallel_reduce.
template <class E, int N, class T>
void sum_fused(Tape& tape, const E& e, const Shape<N>& out, const Array<T, 0>& y) {
  using Mem = DefaultMemorySpace;
  const ::nabla::impl::Reducer<::nabla::impl::SumOp, T, Mem> reducer{
      Kokkos::View<T, Mem, Kokkos::MemoryUnmanaged>(y.data()), false};
  with_dual_kernel<T>(tape, e, out, [&](const auto& dk, const auto& t, int chunk) {
    static const std::string label("nabla::ad::sum::forward_backward");
    // The value is in y after the first chunk: later chunks only add their partials.
    const Array<T, 0> discard = chunk == 0 ? Array<T, 0>() : tape.allocate<T, 0>(Shape<0>{}, false);
    const auto into =
        chunk == 0 ? reducer : decltype(reducer){Kokkos::View<T, Mem, Kokkos::MemoryUnmanaged>(discard.data()), false};
    with_backward_kernel(dk, t, out, SeedOne<T>{}, [&](std::size_t items, const auto& bk) {
      Kokkos::parallel_reduce(label, Policy1(launch_space(shape_size(out)), 0, items), RunReduce<std::decay_t<decltype(bk)>, T>{bk}, into);
    });
  });
}

template <class E>
Tape* tape_of(const E& e, bool& requires_grad) {
  Tape* tape = nullptr;
  requires_grad = false;
  for_each_var(e, [&](const auto& leaf) {
    if (!leaf.var.tape())
      throw ValueError("nabla::ad: a default-constructed Var (it belongs to no tape) in an expression; make Vars "
                       "with tape.variable(array) or tape.constant(array)");
    if (!tape) tape = leaf.var.tape();
    else if (tape != leaf.var.tape()) throw ValueError("nabla::ad: an expression mixes variables of two tapes");
    tape->check(leaf.var, "broadcast");
    requires_grad |= leaf.var.requires_grad();
  });
  if (!tape) throw ValueError("nabla::ad::eval: the expression has no variables (use nabla::eval)");
  return tape;
}
}  // namespace impl

/// True when E lifts to an expression holding at least one Var (so ad's overloads never compete with
/// core's for plain expressions, found through argument-dependent lookup on Dual elements).
template <class E, class = void>
struct has_vars_t : std::false_type {};
template <class E>
struct has_vars_t<E, std::void_t<decltype(as_expr(std::declval<const E&>()))>>
    : std::bool_constant<var_count<std::decay_t<decltype(as_expr(std::declval<const E&>()))>>::value >= 1> {};
template <class E>
constexpr bool has_vars = has_vars_t<E>::value;

/// \brief Materialises a fused expression over Vars: ONE forward kernel, ONE tape node.
template <class E, std::enable_if_t<has_vars<E>, int> = 0>
auto eval(const E& expr) {
  const auto e = as_expr(expr);
  using Ex = std::decay_t<decltype(e)>;
  using T = typename Ex::value_type;
  constexpr int N = Ex::rank;
  bool requires_grad = false;
  Tape* tape = impl::tape_of(e, requires_grad);
  Array<T, N> out = tape->allocate<T, N>(broadcast_shape(e), false);
  ::nabla::assign(out, e);
  return tape->record<T, N>(out, requires_grad, [tape, e](const Var<T, N>& y) {
    impl::broadcast_backward(*tape, e, y.shape(), tape->adjoint(y).data());
  }, "broadcast");
}

/// \brief sum(expr) as ONE tape node: one parallel_reduce forward, one fused kernel backward; and when the
/// sum is the output of backward() and nothing read it, forward and backward run as ONE kernel.
template <class E, std::enable_if_t<has_vars<E>, int> = 0>
auto sum(const E& expr) {
  const auto e = as_expr(expr);
  using Ex = std::decay_t<decltype(e)>;
  using T = typename Ex::value_type;
  bool requires_grad = false;
  Tape* tape = impl::tape_of(e, requires_grad);
  Array<T, 0> out = tape->allocate<T, 0>(Shape<0>{}, false);
  const auto shape = broadcast_shape(e);
  if (!requires_grad) {
    ::nabla::sum_into(out, e);
    return tape->record<T, 0>(out, false, [](const Var<T, 0>&) {}, "sum");
  }
  return tape->record_deferred<T>(
      out, true, [e](const Var<T, 0>& y) { ::nabla::sum_into(y.value_unchecked(), e); },
      [tape, e, shape](const Var<T, 0>& y) { impl::sum_backward(*tape, e, shape, tape->adjoint(y).data()); },
      [tape, e, shape](const Var<T, 0>& y) { impl::sum_fused(*tape, e, shape, y.value_unchecked()); }, "sum");
}

/// \brief mean(expr): sum scaled by 1/size, still one forward and one backward kernel.
template <class E, std::enable_if_t<has_vars<E>, int> = 0>
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
