/// \file expr.hpp
/// \brief Fused broadcast over distributed arrays: ONE local kernel per rank, no communication.
///
/// A dist::Array is an operand of core's lazy expressions (`2 * a + b`, `exp(a - c)`), shape-checked with the
/// global shapes. `assign` then rewrites the tree for this rank's block of the destination ("localizes" it):
/// distributed operands become their local blocks, replicated operands (core Arrays, Views) the matching box,
/// lazy random and index leaves their block of the global stream; core's assign runs the result as one kernel.
#pragma once

#include <nabla/core/assign.hpp>
#include <nabla/core/create.hpp>
#include <nabla/core/operators.hpp>
#include <nabla/core/random.hpp>
#include <nabla/dist/array.hpp>
#include <nabla/dist/impl/blocks.hpp>

#include <optional>

namespace nabla {
namespace dist {
template <class T, int R, class M>
struct Leaf;
namespace impl {
template <class Dist, class T, int R>
struct RandomBlock;
struct IotaBlock;
}  // namespace impl
}  // namespace dist

template <class T, int R, class M>
struct is_expression<dist::Leaf<T, R, M>> : std::true_type {};
template <class Dist, class T, int R>
struct is_expression<dist::impl::RandomBlock<Dist, T, R>> : std::true_type {};
template <>
struct is_expression<dist::impl::IotaBlock> : std::true_type {};
template <class T, int R, class S>
struct is_operand_type<dist::Array<T, R, S>> : std::true_type {};

namespace dist {

/// A distributed operand inside an expression: its partition (global shape) and its local block, stored in
/// `local` from index `origin` on (0, or the ghost width of a Field's padded storage), read at `shift` from each
/// element (a Field's `shift`; 0 otherwise).
template <class T, int R, class M>
struct Leaf {
  using value_type = T;
  using memory_space = M;
  static constexpr int rank = R;
  Partition<R> part;
  typename nabla::Leaf<T, R, M>::view_type local;
  Index<R> origin{}, shift{};
  Shape<R> shape() const { return part.shape(); }
};

using ::nabla::as_expr;
template <class T, int R, class S>
Leaf<T, R, typename Array<T, R, S>::memory_space> as_expr(const Array<T, R, S>& a) {
  return {a.partition(), a.local().view()};
}

template <class T, int R, class M>
Shape<R> broadcast_shape(const Leaf<T, R, M>& l) {
  return l.part.shape();
}
template <class T, int R, class M, class Fn>
void for_each_leaf(Leaf<T, R, M>&, Fn&&) {}
template <int N, class T, int R, class M>
LeafKernel<T, N> instantiate(const Leaf<T, R, M>&, const Shape<N>&) {
  static_assert(sizeof(T) == 0,
                "nabla: an expression over dist::Arrays is evaluated by nabla::dist::assign/eval and reduced by "
                "nabla::dist::sum/min/..., not by core's functions");
  return {};
}

// Core's operators and math functions, visible to argument-dependent lookup on dist::Arrays. The one-argument
// min and max are reductions here (reduce.hpp); the two-argument ones are elementwise.
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

namespace impl {

/// The box of a result being computed on this rank (global indices): its whole block, or a part of it (the
/// interior or a boundary strip of a stencil step), and the partition the operands must agree with.
template <int N>
struct Block {
  Partition<N> part;
  Index<N> lo;
  Shape<N> ext;
  explicit Block(const Partition<N>& p) : part(p), lo(p.offset()), ext(p.local_shape()) {}
  Block(const Partition<N>& p, const Index<N>& l, const Shape<N>& e) : part(p), lo(l), ext(e) {}
};

/// Whether an operand of extent `e` along axis d is extruded there (extent 1 against a longer result).
template <int N>
bool extruded(std::size_t e, const Block<N>& b, int d) {
  return e == 1 && b.part.shape()[d] != 1;
}

/// The box (global indices) of an operand of global extents `extents` (rank R <= N) that meets box `b` of the
/// result: b itself, except along axes the operand extrudes, where it is the operand's one element.
template <int R, int N, class Extents>
void operand_box(const Extents& extents, const Block<N>& b, Index<R>& lo, Shape<R>& ext) {
  for (int d = 0; d < R; ++d) {
    const bool whole = extruded(extents[d], b, d);
    lo[d] = whole ? 0 : b.lo[d];
    ext[d] = whole ? 1 : b.ext[d];
  }
}

/// The same box of an operand of partition `p`, in its local indices.
template <int R, int N>
void local_box(const Partition<R>& p, const Block<N>& b, Index<R>& lo, Shape<R>& ext) {
  operand_box<R>(p.shape(), b, lo, ext);
  const Index<R> o = p.offset();
  for (int d = 0; d < R; ++d)
    if (!extruded(p.shape()[d], b, d)) lo[d] -= o[d];
}

/// A lazy random leaf's share of its global stream: element i of the block is the stream's value at the
/// global column-major index of (lo + i), bit for bit what the undistributed array holds there.
template <class Dist, class T, int R>
struct RandomBlock {
  using value_type = T;
  using memory_space = void;
  static constexpr int rank = R;
  random::Key key;
  Shape<R> global, local;
  Index<R> lo;
  std::uint64_t offset;
  Shape<R> shape() const { return local; }
};
template <class Dist, class T, int R>
Shape<R> broadcast_shape(const RandomBlock<Dist, T, R>& l) {
  return l.local;
}
template <int N, class Dist, class T, int R>
RandomKernel<Dist, T, N> instantiate(const RandomBlock<Dist, T, R>& l, const Shape<N>& out) {
  Strides<N> s{};
  std::ptrdiff_t lin = 1;
  std::uint64_t start = l.offset;
  for (int d = 0; d < R; ++d) {
    const std::size_t e = l.global[d];
    s[d] = (e == 1 || out[d] == 1) ? 0 : lin;
    if (e != 1) start += std::uint64_t(l.lo[d]) * std::uint64_t(lin);
    lin *= std::ptrdiff_t(e);
  }
  return {l.key, s, start};
}
template <class Dist, class T, int R, class Fn>
void for_each_leaf(RandomBlock<Dist, T, R>&, Fn&&) {}

/// The index leaf's share: lo + i.
struct IotaBlock {
  using value_type = std::size_t;
  using memory_space = void;
  static constexpr int rank = 1;
  std::size_t n, lo;
  Shape<1> shape() const { return {n}; }
};
struct IotaBlockKernel {
  std::size_t lo;
  template <class I>
  KOKKOS_INLINE_FUNCTION std::size_t at(const I& i) const {
    return lo + std::size_t(i[0]);
  }
  KOKKOS_INLINE_FUNCTION std::size_t flat(std::size_t i) const { return lo + i; }
};
inline Shape<1> broadcast_shape(const IotaBlock& l) { return l.shape(); }
template <int N>
IotaBlockKernel instantiate(const IotaBlock& l, const Shape<N>&) {
  static_assert(N == 1, "nabla: an index leaf only broadcasts as rank 1");
  return {l.lo};
}
inline bool flat_compatible(const IotaBlockKernel&, const Strides<1>& s) { return s[0] == 1 || s[0] == 0; }
template <class Fn>
void for_each_leaf(IotaBlock&, Fn&&) {}

/// Throws PartitionError unless a distributed operand's block on this rank is the box of the result's block
/// it broadcasts against: same grid, and along each axis either the same split or extent 1 and unsplit.
template <int R, int N>
void check_compatible(const Partition<R>& p, const Partition<N>& out, const char* op) {
  auto fail = [&](const std::string& why) {
    throw PartitionError(cat("nabla::dist::", op, ": an operand partitioned as ", p.to_string(),
                             " does not match the result's partition ", out.to_string(), ": ", why,
                             " (use dist::redistribute to move it explicitly)"));
  };
  if (p.grid() != out.grid()) fail("they live on different grids");
  for (int d = 0; d < R; ++d) {
    if (p.shape()[d] == 1 && out.shape()[d] != 1) {
      if (p.split(d) != replicated) fail(cat("axis ", d, " has extent 1 and is split"));
    } else if (p.split(d) != out.split(d)) {
      fail(cat("axis ", d, " is split differently"));
    }
  }
}

template <class T, int R, class M, int N>
auto localize(const nabla::Leaf<T, R, M>& l, const Block<N>& b, const char*) {
  if constexpr (R == 0) {
    return l;
  } else {
    // A replicated operand: the box of this rank's block along the dimensions it is not extruded in.
    Index<R> lo{};
    Shape<R> ext{};
    operand_box<R>(shape_of(l.m_view), b, lo, ext);
    return nabla::Leaf<T, R, M>{box(l.m_view, lo, ext)};
  }
}
template <class T, int N>
Scalar<T> localize(const Scalar<T>& s, const Block<N>&, const char*) {
  return s;
}
template <class T, int R, class M, int N>
nabla::Leaf<T, R, M> localize(const Leaf<T, R, M>& l, const Block<N>& b, const char* op) {
  check_compatible(l.part, b.part, op);
  if constexpr (R == 0) {
    return {l.local};
  } else {
    Index<R> lo{};
    Shape<R> ext{};
    local_box(l.part, b, lo, ext);
    for (int d = 0; d < R; ++d) lo[d] += l.origin[d] + (extruded(l.part.shape()[d], b, d) ? 0 : l.shift[d]);
    return {box(l.local, lo, ext)};
  }
}
template <class Dist, class T, int R, int N>
RandomBlock<Dist, T, R> localize(const RandomLeaf<Dist, T, R>& l, const Block<N>& b, const char*) {
  RandomBlock<Dist, T, R> out{l.key, l.extents, l.extents, {}, l.offset};
  operand_box<R>(l.extents, b, out.lo, out.local);
  return out;
}
template <int N>
IotaBlock localize(const IotaLeaf& l, const Block<N>& b, const char*) {
  Index<1> lo{};
  Shape<1> ext{};
  operand_box<1>(l.shape(), b, lo, ext);
  return {ext[0], std::size_t(lo[0])};
}
template <class F, class... A, int N>
auto localize(const Broadcasted<F, A...>& e, const Block<N>& b, const char* op) {
  return nabla::impl::apply_indexed(e.m_args, [&](const auto&... args) {
    using Out = Broadcasted<F, decltype(localize(args, b, op))...>;
    return Out{e.m_f, nabla::impl::Tuple<decltype(localize(args, b, op))...>(localize(args, b, op)...)};
  });
}

/// The partition of the first distributed operand whose rank and global shape are the expression's (the
/// partition its result takes); nothing if there is none.
template <int N, int R>
void offer_partition(const Partition<R>& p, const Shape<N>& shape, std::optional<Partition<N>>& out) {
  if constexpr (R == N) {
    if (out) return;
    for (int d = 0; d < N; ++d)
      if (p.shape()[d] != shape[d]) return;
    out = p;
  }
}
template <int N, class T, int R, class M>
void find_partition(const Leaf<T, R, M>& l, const Shape<N>& shape, std::optional<Partition<N>>& out) {
  offer_partition(l.part, shape, out);
}
template <int N, class E>
void find_partition(const E&, const Shape<N>&, std::optional<Partition<N>>&) {}
template <int N, class F, class... A>
void find_partition(const Broadcasted<F, A...>& e, const Shape<N>& shape, std::optional<Partition<N>>& out) {
  nabla::impl::apply_indexed(e.m_args, [&](const auto&... args) { (find_partition(args, shape, out), ...); });
}

template <class E>
Partition<std::decay_t<decltype(as_expr(std::declval<const E&>()))>::rank> partition_of(const E& expr, const char* op) {
  const auto e = as_expr(expr);
  constexpr int N = std::decay_t<decltype(e)>::rank;
  const Shape<N> shape = broadcast_shape(e);
  std::optional<Partition<N>> p;
  find_partition(e, shape, p);
  if (!p)
    throw PartitionError(cat("nabla::dist::", op, ": no distributed operand has the expression's shape ",
                             nabla::to_string(shape), ", so the result has no partition (assign into a dist::Array)"));
  return *p;
}

/// Whether an expression holds a distributed operand (what selects the dist overloads).
template <class E>
struct has_dist : std::false_type {};
template <class T, int R, class M>
struct has_dist<Leaf<T, R, M>> : std::true_type {};
template <class T, int R, class S>
struct has_dist<Array<T, R, S>> : std::true_type {};
template <class F, class... A>
struct has_dist<Broadcasted<F, A...>> : std::bool_constant<(false || ... || has_dist<A>::value)> {};
/// Whether it holds a distributed tape variable (ad.hpp): such expressions are recorded on a tape instead.
template <class E>
struct has_dist_var : std::false_type {};
template <class F, class... A>
struct has_dist_var<Broadcasted<F, A...>> : std::bool_constant<(false || ... || has_dist_var<A>::value)> {};
template <class E>
using enable_if_dist_t = std::enable_if_t<has_dist<E>::value && !has_dist_var<E>::value, int>;
template <class E>
using enable_if_dist_var_t = std::enable_if_t<has_dist_var<E>::value, int>;


/// Evaluates `expr` into box `b` of a destination whose local block is the view `dst` (any layout): the
/// global shapes are checked, the tree localised to the box, and core's assign runs it as one kernel.
template <class ExecSpace, class View, int N, class E>
void assign_box(const ExecSpace& space, const View& dst, const Block<N>& b, const E& expr) {
  using T = typename View::non_const_value_type;
  auto e = [&] {
    if constexpr (is_scalar_type<E>::value) return Scalar<T>{static_cast<T>(expr)};
    else return expr_t<E>(as_expr(expr));
  }();
  using Ex = decltype(e);
  static_assert(Ex::rank <= N, "nabla::dist::assign: the expression has a higher rank than the destination");
  const auto es = nabla::impl::to_dyn(broadcast_shape(e));
  for (int d = 0; d < Ex::rank; ++d)
    if (es[d] != b.part.shape()[d] && es[d] != 1)
      throw ShapeError(cat("nabla::dist::assign: an expression of shape ", nabla::impl::to_string(es),
                           " does not broadcast to the destination's shape ", nabla::to_string(b.part.shape()),
                           " (dimension ", d, ")"));
  Index<N> lo{};
  Shape<N> ext{};
  local_box(b.part, b, lo, ext);
  nabla::assign(space, box(dst, lo, ext), localize(e, b, "assign"));
}
}  // namespace impl

/// \brief Evaluates `expr` into this rank's block of `dst`: ONE kernel per rank and no communication.
///
/// Shapes are checked with the global shapes (Julia's rules); distributed operands must share dst's partition
/// (or be extent 1 and unsplit along an axis), else PartitionError names both partitions.
template <class ExecSpace, class T, int N, class S, class E,
          std::enable_if_t<Kokkos::is_execution_space<ExecSpace>::value, int> = 0>
void assign(const ExecSpace& space, const Array<T, N, S>& dst, const E& expr) {
  impl::assign_box(space, dst.local().view(), impl::Block<N>(dst.partition()), expr);
}
template <class T, int N, class S, class E>
void assign(const Array<T, N, S>& dst, const E& expr) {
  dist::assign(typename Array<T, N, S>::execution_space(), dst, expr);
}

/// \brief A new distributed array holding `expr`, partitioned as its first operand of the full shape.
template <class ExecSpace, class E, impl::enable_if_dist_t<E> = 0,
          std::enable_if_t<Kokkos::is_execution_space<ExecSpace>::value, int> = 0>
auto eval(const ExecSpace& space, const E& expr) {
  const auto e = as_expr(expr);
  using Ex = std::decay_t<decltype(e)>;
  Array<typename Ex::value_type, Ex::rank, typename ExecSpace::memory_space> out(impl::partition_of(e, "eval"),
                                                                                   "nabla::dist::eval", uninitialized);
  dist::assign(space, out, e);
  return out;
}
template <class E, impl::enable_if_dist_t<E> = 0>
auto eval(const E& expr) {
  return dist::eval(nabla::default_instance(), expr);
}

}  // namespace dist
}  // namespace nabla
