/// \file reduce.hpp
/// \brief Reductions of distributed expressions: one fused local reduction per rank, then ONE collective.
///
/// Whole-expression reductions gather every rank's partial result (MPI_Allgather of one value) and fold them in
/// rank order on every rank: the same bits on every rank and every run with the same rank count. Along an axis,
/// the result keeps the other axes' splits; where the reduced axis was split, the ranks along that grid
/// dimension gather and fold their partial rows (one MPI_Allgather on that sub-communicator) and the result is
/// replicated over them.
#pragma once

#include <nabla/core/reduce.hpp>
#include <nabla/dist/expr.hpp>
#include <nabla/dist/impl/blocks.hpp>

#include <vector>

namespace nabla {
namespace dist {
namespace impl {

/// Folds every rank's partial value in rank order (one MPI_Allgather).
template <class Op, class A>
A combine(const mpi::Comm& comm, const A& partial) {
  std::vector<A> all(std::size_t(comm.size()));
  const ElementType<A> type;
  mpi::impl::check(MPI_Allgather(&partial, 1, type.get(), all.data(), 1, type.get(), comm.get()), "MPI_Allgather");
  A acc = Op::template identity<A>();
  for (const A& x : all) Op::join(acc, x);
  return acc;
}

template <class Op, class ExecSpace, class E>
auto reduce_all(const ExecSpace& space, const E& expr, const char* op) {
  const auto e = as_expr(expr);
  using Ex = std::decay_t<decltype(e)>;
  using A = typename Op::template acc_t<typename Ex::value_type>;
  const auto part = partition_of(e, op);
  if (nabla::impl::picks_element<Op> && shape_size(part.shape()) == 0)
    throw ValueError(cat("nabla::dist::", op, ": the expression is empty"));
  A partial = Op::template identity<A>();
  if (part.is_primary()) partial = nabla::impl::reduce_all<Op>(space, localize(e, Block<Ex::rank>(part), op));
  return combine<Op>(part.grid().comm(), partial);
}

template <class Op, class ExecSpace, class E>
auto reduce_axis(const ExecSpace& space, const E& expr, axis ax, const char* op) {
  const auto e = as_expr(expr);
  using Ex = std::decay_t<decltype(e)>;
  constexpr int N = Ex::rank;
  static_assert(N >= 1, "nabla::dist axis reductions need an expression of rank >= 1");
  using A = typename Op::template acc_t<typename Ex::value_type>;
  using Mem = typename ExecSpace::memory_space;
  if (ax.value < 0 || ax.value >= N)
    throw ValueError(cat("nabla::dist::", op, ": axis ", ax.value, " is out of range for rank ", N));
  const auto part = partition_of(e, op);
  Shape<N - 1> oshape{};
  SmallArray<int, N - 1> osplit{};
  for (int d = 0, o = 0; d < N; ++d)
    if (d != ax.value) oshape[o] = part.shape()[d], osplit[o++] = part.split(d);
  if (nabla::impl::picks_element<Op> && part.shape()[ax.value] == 0 && shape_size(oshape) > 0)
    throw ValueError(cat("nabla::dist::", op, ": axis ", ax.value, " of shape ", nabla::to_string(part.shape()),
                         " is empty"));
  const Partition<N - 1> opart(part.grid(), oshape, osplit);

  const Block<N> block(part);
  nabla::Array<A, N - 1, Mem> local;
  if (block.ext[ax.value] == 0) {  // nothing of the axis here: this rank's partial rows are the identity
    local = nabla::Array<A, N - 1, Mem>(opart.local_shape(), op, uninitialized);
    nabla::assign(space, local, Scalar<A>{Op::template identity<A>()});
  } else {
    local = nabla::impl::reduce_axis<Op>(space, localize(e, block, op), ax);
  }
  const int g = part.split(ax.value);
  if (g != replicated) {
    const mpi::Comm& along = part.grid().along(g);
    auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), local.view());
    const std::size_t n = h.size();
    std::vector<A> all(n * std::size_t(along.size()));
    const ElementType<A> type;
    const int cnt = count(n, op);
    mpi::impl::check(MPI_Allgather(h.data(), cnt, type.get(), all.data(), cnt, type.get(), along.get()),
                     "MPI_Allgather");
    A* out = h.data();
    for (std::size_t i = 0; i < n; ++i) {
      A acc = Op::template identity<A>();
      for (int r = 0; r < along.size(); ++r) Op::join(acc, all[std::size_t(r) * n + i]);
      out[i] = acc;
    }
    Kokkos::deep_copy(local.view(), h);
  }
  return Array<A, N - 1, Mem>(opart, local);
}

}  // namespace impl

#define NABLA_DIST_REDUCTION(NAME, OP)                                                                    \
  template <class E, impl::enable_if_dist_t<E> = 0>                                                      \
  auto NAME(const E& e) {                                                                                \
    return impl::reduce_all<nabla::impl::OP>(nabla::default_instance(), e, #NAME);                 \
  }                                                                                                      \
  template <class E, impl::enable_if_dist_t<E> = 0>                                                      \
  auto NAME(const E& e, axis ax) {                                                                       \
    return impl::reduce_axis<nabla::impl::OP>(nabla::default_instance(), e, ax, #NAME);            \
  }

/// \brief Sum of every element (one local reduction + one collective); `sum(e, axis(d))` along axis d.
NABLA_DIST_REDUCTION(sum, SumOp)
/// \brief Product of every element.
NABLA_DIST_REDUCTION(prod, ProdOp)
/// \brief Number of non-zero (true) elements.
NABLA_DIST_REDUCTION(count, CountOp)
/// \brief Smallest element (NaN propagates); ValueError on an empty expression.
NABLA_DIST_REDUCTION(min, MinOp)
/// \brief Largest element (NaN propagates); ValueError on an empty expression.
NABLA_DIST_REDUCTION(max, MaxOp)
#undef NABLA_DIST_REDUCTION

/// Elementwise minimum and maximum of two operands (lazy, as core's).
template <class A, class B, std::enable_if_t<nabla::impl::binary_ok<A, B>::value, int> = 0>
auto min(const A& a, const B& b) {
  return ::nabla::min(a, b);
}
template <class A, class B, std::enable_if_t<nabla::impl::binary_ok<A, B>::value, int> = 0>
auto max(const A& a, const B& b) {
  return ::nabla::max(a, b);
}

/// \brief Arithmetic mean of every element; NaN for an empty expression.
template <class E, impl::enable_if_dist_t<E> = 0>
auto mean(const E& e) {
  const std::size_t n = shape_size(broadcast_shape(as_expr(e)));
  using R = std::common_type_t<decltype(dist::sum(e)), double>;
  const R s = R(dist::sum(e));
  return n == 0 ? std::numeric_limits<R>::quiet_NaN() : s / R(n);
}
/// \brief Mean along an axis (partitioned as `sum(e, ax)`).
template <class E, impl::enable_if_dist_t<E> = 0>
auto mean(const E& e, axis ax) {
  auto s = dist::sum(e, ax);
  using T = typename decltype(s)::value_type;
  const T n = T(broadcast_shape(as_expr(e))[ax.value]);
  nabla::assign(s.local(), s.local() / n);
  return s;
}

/// \brief Whether any / every element is non-zero (one collective).
template <class E, impl::enable_if_dist_t<E> = 0>
bool any(const E& e) {
  return dist::count(e) > 0;
}
template <class E, impl::enable_if_dist_t<E> = 0>
bool all(const E& e) {
  return dist::count(e) == std::int64_t(shape_size(broadcast_shape(as_expr(e))));
}

/// \brief sum(a * b), fused: one local kernel and one collective.
template <class A, class B, std::enable_if_t<impl::has_dist<A>::value || impl::has_dist<B>::value, int> = 0>
auto dot(const A& a, const B& b) {
  return dist::sum(make_broadcasted(math::Multiplies{}, a, b));
}

/// \brief Euclidean norm of every element: one local kernel and one collective.
template <class E, impl::enable_if_dist_t<E> = 0>
auto norm(const E& e) {
  using math::sqrt;
  return sqrt(impl::reduce_all<nabla::impl::SumSquaresOp>(nabla::default_instance(), e, "norm"));
}

}  // namespace dist
}  // namespace nabla
