/// \file ad.hpp
/// \brief Gradients through distributed arrays: each rank records its part of the graph on its own tape.
///
/// A `dist::Var` is a partition and this rank's block as an ad::Var. Every rank records the same ops in the
/// same order (SPMD), so the reverse sweeps meet in the same collectives:
/// - a fused broadcast over dist::Vars is ONE local mixed-mode node per rank (ad::eval on the block);
/// - `sum`/`mean` reduce the block on the tape, then fold the partial sums in rank order (one MPI_Allgather);
///   the result is replicated, so the adjoint of the fold is the loss's own adjoint on every rank: free;
/// - `shift` exchanges the halo; its adjoint sends the ghosts' adjoints back to their owners and adds them
///   (the exchange's transpose, axis by axis), and folds those beyond the edge by the boundary condition;
/// - `redistribute`'s adjoint is the inverse redistribute.
///
///     ad::Tape tape;
///     auto u = dist::variable(tape, u0);
///     auto loss = dist::sum(pow(dist::shift(u, {1, 0}) - u, 2) + pow(u - data, 2));
///     tape.backward(loss);
///     dist::Array<double, 2> g = dist::grad(tape, u);  // partitioned like u0
#pragma once

#include <nabla/ad/broadcast.hpp>
#include <nabla/ad/ops.hpp>
#include <nabla/dist/halo.hpp>
#include <nabla/dist/redistribute.hpp>
#include <nabla/dist/reduce.hpp>

#include <tuple>
#include <utility>

namespace nabla {
namespace dist {

/// \brief A differentiable distributed array: its partition and this rank's block, a variable on this rank's
/// tape. Made by dist::variable or dist::constant; the value is computed eagerly.
template <class T, int R>
class Var {
 public:
  using value_type = T;
  static constexpr int rank = R;

  Var() = default;
  Var(const Partition<R>& p, const nabla::ad::Var<T, R>& local) : m_part(p), m_local(local) {}

  const Partition<R>& partition() const { return m_part; }
  const Shape<R>& shape() const { return m_part.shape(); }
  /// This rank's block on the tape.
  const nabla::ad::Var<T, R>& local() const { return m_local; }
  nabla::ad::Tape* tape() const { return m_local.tape(); }
  bool requires_grad() const { return m_local.requires_grad(); }
  /// The value (the block shares the variable's memory).
  Array<T, R> value() const { return Array<T, R>(m_part, m_local.value()); }

 private:
  Partition<R> m_part;
  nabla::ad::Var<T, R> m_local;
};

namespace impl {
/// A partition with copies (axes replicated over some grid dimension) holds an element on several ranks;
/// which copy a gradient belongs to is ambiguous, so such arrays are not differentiated.
template <int R>
void check_unreplicated(const Partition<R>& p, const char* op) {
  for (int r = 0; r < p.grid().size(); ++r)
    if (!p.is_primary(r))
      throw PartitionError(cat("nabla::dist::", op, ": ", p.to_string(), " keeps copies of its blocks on several ",
                               "ranks (rank ", r, " holds one); differentiate an array split over every grid ",
                               "dimension (dist::redistribute it first)"));
}

/// A dist::Var inside an expression: the global shape for Julia's shape rules, the block for evaluation.
template <class T, int R>
struct VarLeaf {
  using value_type = T;
  using memory_space = DefaultMemorySpace;
  static constexpr int rank = R;
  Partition<R> part;
  nabla::ad::Var<T, R> var;
  Shape<R> shape() const { return part.shape(); }
};
template <class T, int R>
Shape<R> broadcast_shape(const VarLeaf<T, R>& l) {
  return l.part.shape();
}
template <class T, int R, class Fn>
void for_each_leaf(VarLeaf<T, R>&, Fn&&) {}
template <int N, class T, int R>
LeafKernel<T, N> instantiate(const VarLeaf<T, R>&, const Shape<N>&) {
  static_assert(sizeof(T) == 0,
                "nabla: an expression over dist::Vars is recorded by nabla::dist::eval/sum/mean, not by core's "
                "functions");
  return {};
}
/// The block of the variable: evaluation is always over a whole block, so the box is the block itself (or its
/// one element along axes the variable is extruded in).
template <class T, int R, int N>
nabla::ad::VarLeaf<T, R> localize(const VarLeaf<T, R>& l, const Block<N>& b, const char* op) {
  check_compatible(l.part, b.part, op);
  return {l.var.value().view(), l.var};
}
template <int N, class T, int R>
void find_partition(const VarLeaf<T, R>& l, const Shape<N>& shape, std::optional<Partition<N>>& out) {
  offer_partition(l.part, shape, out);
}

template <class T, int R>
struct has_dist<Var<T, R>> : std::true_type {};
template <class T, int R>
struct has_dist<VarLeaf<T, R>> : std::true_type {};
template <class T, int R>
struct has_dist_var<Var<T, R>> : std::true_type {};
template <class T, int R>
struct has_dist_var<VarLeaf<T, R>> : std::true_type {};

/// The sum of every rank's partial sum, folded in rank order (one MPI_Allgather): a replicated scalar whose
/// adjoint goes unchanged to each rank's partial sum.
template <class T>
nabla::ad::Var<T, 0> fold_sum(const mpi::Comm& comm, const nabla::ad::Var<T, 0>& partial) {
  nabla::ad::Tape* tape = partial.tape();
  auto out = tape->allocate<T, 0>(Shape<0>{}, false);
  const T total = combine<nabla::impl::SumOp>(comm, nabla::ad::impl::read_scalar(partial.value()));
  Kokkos::deep_copy(out.view(), total);
  return tape->record<T, 0>(out, partial.requires_grad(), [tape, partial](const nabla::ad::Var<T, 0>& total_var) {
    auto a = tape->adjoint(partial);
    nabla::assign(a, a + tape->adjoint(total_var));
  }, "nabla::dist::sum");
}

/// Adds the adjoints of the ghost cells of a padded block `p` (width w) into the cells whose values they held:
/// the transpose of the halo exchange and the boundary fill. Axis by axis (the fill is separable): ghosts along
/// axis d, over the block's cells along the axes before d (already folded) and the padded extent of those after
/// it, go to the neighbours along d (one message each way, MPI_Isend/Irecv on the grid dimension's
/// communicator) or, beyond a global edge, to the cells the boundary condition read.
template <class T, int R>
void fold_ghosts(const nabla::Array<T, R>& p, const Partition<R>& part, std::size_t w, Boundary bc) {
  compat::Region region("nabla::dist::halo::fold");
  using Exec = Kokkos::DefaultExecutionSpace;
  const Shape<R> len = part.local_shape();
  const auto v = p.view();
  const std::ptrdiff_t W = std::ptrdiff_t(w);
  Strides<R> stride{};
  for (int d = 0; d < R; ++d) stride[d] = std::ptrdiff_t(v.stride(d));
  const Grid& g = part.grid();
  const impl::ElementType<T> type;
  for (int d = 0; d < R; ++d) {
    const std::ptrdiff_t n = std::ptrdiff_t(len[d]);
    Index<R> lo{};
    Shape<R> ext{};
    for (int e = 0; e < R; ++e) {
      lo[e] = e < d ? W : 0;
      ext[e] = e < d ? len[e] : len[e] + 2 * w;
    }
    ext[d] = w;
    const int gd = part.split(d);
    const int nd = gd == replicated ? 1 : g.dim(gd);
    const int at = gd == replicated ? 0 : g.coord(gd);
    // Side s (0 low, 1 high): its ghost slab, the strip of cells next to it, and who holds what the ghosts read.
    auto ghost_lo = [&](int s) { Index<R> l = lo; l[d] = s == 0 ? 0 : W + n; return l; };
    auto strip_lo = [&](int s) { Index<R> l = lo; l[d] = s == 0 ? W : n; return l; };
    auto peer = [&](int s) {
      const int next = at + (s == 0 ? -1 : 1);
      if (next >= 0 && next < nd) return next;
      return bc == Boundary::periodic ? (next + nd) % nd : -1;
    };
    const bool remote = nd > 1;
    if (remote) {
      const mpi::Comm& comm = g.along(gd);
      const std::size_t size = shape_size(ext);
      nabla::Array<T, 1, Kokkos::HostSpace> send[2], recv[2];
      std::vector<MPI_Request> req;
      for (int s = 0; s < 2; ++s) {
        if (peer(s) < 0) continue;
        recv[s] = nabla::Array<T, 1, Kokkos::HostSpace>({size}, "nabla::dist::halo::fold", uninitialized);
        // What the peer on side s sent towards this rank: its ghosts on the other side (tag = their side).
        mpi::impl::check(MPI_Irecv(recv[s].data(), count(size, "shift"), type.get(), peer(s), 1 - s, comm.get(),
                                   &req.emplace_back()),
                         "MPI_Irecv");
      }
      for (int s = 0; s < 2; ++s) {
        if (peer(s) < 0) continue;
        send[s] = nabla::Array<T, 1, Kokkos::HostSpace>({size}, "nabla::dist::halo::fold", uninitialized);
        Kokkos::deep_copy(host_block<T, R>(send[s].data(), ext),
                          Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), box(v, ghost_lo(s), ext)));
        mpi::impl::check(MPI_Isend(send[s].data(), count(size, "shift"), type.get(), peer(s), s, comm.get(),
                                   &req.emplace_back()),
                         "MPI_Isend");
      }
      mpi::impl::check(MPI_Waitall(int(req.size()), req.data(), MPI_STATUSES_IGNORE), "MPI_Waitall");
      for (int s = 0; s < 2; ++s) {
        if (peer(s) < 0) continue;
        nabla::Array<T, R> in(ext, "nabla::dist::halo::fold", uninitialized);
        Kokkos::deep_copy(in.view(), host_block<T, R>(recv[s].data(), ext));
        const auto strip = box(v, strip_lo(s), ext);
        nabla::assign(strip, wrap(strip) + in);
      }
    }
    for (int s = 0; s < 2; ++s) {
      if (remote && peer(s) >= 0) continue;
      if (peer(s) >= 0) {  // periodic, one rank along d: the ghosts wrap onto this block's far strip
        const auto strip = box(v, strip_lo(1 - s), ext);
        nabla::assign(strip, wrap(strip) + wrap(box(v, ghost_lo(s), ext)));
        continue;
      }
      if (bc == Boundary::constant) continue;  // the ghosts held a constant: nothing to give back
      Shape<R> rows = ext;
      rows[d] = 1;
      const Index<R> base = ghost_lo(s);
      const std::ptrdiff_t edge = s == 0 ? W : W + n - 1, dir = s == 0 ? -1 : 1;
      const bool clamp = bc == Boundary::clamp;
      T* data = v.data();
      const int axis = d;
      Kokkos::parallel_for(
          "nabla::dist::halo::fold_boundary",
          Kokkos::RangePolicy<Exec, Kokkos::IndexType<std::size_t>>(nabla::launch_space<Exec>(shape_size(rows)), 0,
                                                                    shape_size(rows)),
          KOKKOS_LAMBDA(std::size_t lin) {
            Index<R> i = nabla::impl::unravel<true, R>(lin, rows);
            for (int e = 0; e < R; ++e) i[e] += base[e];
            // Each row along the axis is one thread's: the ghosts at distance k go where the fill read them.
            for (std::ptrdiff_t k = 1; k <= W; ++k) {
              i[axis] = edge + dir * k;
              const T a = data[nabla::impl::offset(i, stride)];
              i[axis] = clamp ? edge : edge - dir * k;
              data[nabla::impl::offset(i, stride)] += a;
            }
          });
    }
  }
}
}  // namespace impl

template <class T, int R>
impl::VarLeaf<T, R> as_expr(const Var<T, R>& v) {
  return {v.partition(), v.local()};
}

/// \brief `a` as a variable to differentiate with respect to (its block shares a's memory).
template <class T, int R>
Var<T, R> variable(nabla::ad::Tape& tape, const Array<T, R>& a) {
  impl::check_unreplicated(a.partition(), "variable");
  return {a.partition(), tape.variable(a.local())};
}
/// \brief `a` on the tape, not differentiated.
template <class T, int R>
Var<T, R> constant(nabla::ad::Tape& tape, const Array<T, R>& a) {
  return {a.partition(), tape.constant(a.local())};
}
/// \brief The gradient with respect to `x` after tape.backward(): partitioned like x.
template <class T, int R>
Array<T, R> grad(nabla::ad::Tape& tape, const Var<T, R>& x) {
  return Array<T, R>(x.partition(), tape.grad(x.local()));
}

/// \brief A fused expression over dist::Vars (and dist::Arrays, replicated arrays, scalars): ONE kernel and ONE
/// tape node per rank, partitioned as its first operand of the full shape.
template <class E, impl::enable_if_dist_var_t<E> = 0>
auto eval(const E& expr) {
  const auto e = as_expr(expr);
  using Ex = std::decay_t<decltype(e)>;
  const auto part = impl::partition_of(e, "eval");
  impl::check_unreplicated(part, "eval");
  return Var<typename Ex::value_type, Ex::rank>(part, nabla::ad::eval(impl::localize(e, impl::Block<Ex::rank>(part), "eval")));
}

/// \brief sum(expr) on the tape: the block's fused sum (one node per rank) and the rank-order fold of the
/// partial sums (one collective). The result is the same on every rank.
template <class E, impl::enable_if_dist_var_t<E> = 0>
auto sum(const E& expr) {
  const auto e = as_expr(expr);
  using Ex = std::decay_t<decltype(e)>;
  const auto part = impl::partition_of(e, "sum");
  impl::check_unreplicated(part, "sum");
  const auto partial = nabla::ad::sum(impl::localize(e, impl::Block<Ex::rank>(part), "sum"));
  return impl::fold_sum(part.grid().comm(), partial);
}
/// \brief mean(expr) on the tape.
template <class E, impl::enable_if_dist_var_t<E> = 0>
auto mean(const E& expr) {
  const auto e = as_expr(expr);
  using T = typename std::decay_t<decltype(e)>::value_type;
  const std::size_t n = shape_size(broadcast_shape(e));
  if (n == 0) throw ValueError("nabla::dist::mean: the expression is empty");
  return dist::sum(e * (T(1) / T(n)));
}

/// \brief x shifted by `offset` (element i is x(i + offset), beyond the global edges the boundary condition's
/// value) as a new variable: one halo exchange of width max|offset| (box when the offset is diagonal).
/// Backward: the exchange's transpose.
template <class T, int R>
Var<T, R> shift(const Var<T, R>& x, const Index<R>& offset, Boundary bc = Boundary::periodic, double value = 0) {
  nabla::ad::Tape* tape = nabla::ad::impl::common_tape("dist::shift", x.local());
  std::size_t w = 0;
  int moved = 0;
  for (int d = 0; d < R; ++d) {
    const std::size_t s = std::size_t(offset[d] < 0 ? -offset[d] : offset[d]);
    w = s > w ? s : w;
    moved += s != 0;
  }
  if (w == 0) return x;
  const Partition<R>& part = x.partition();
  impl::check_unreplicated(part, "shift");
  Field<T, R> f(part, {w, moved > 1 ? Stencil::box : Stencil::star, bc, value});
  nabla::assign(f.interior(), x.local().value());
  f.exchange();
  const Shape<R> len = part.local_shape();
  Index<R> at{};
  for (int d = 0; d < R; ++d) at[d] = std::ptrdiff_t(w) + offset[d];  // in the adjoint's padding of width w
  auto out = tape->allocate<T, R>(len, false);
  Index<R> from{};
  for (int d = 0; d < R; ++d) from[d] = f.origin()[d] + offset[d];
  nabla::assign(out, wrap(impl::box(f.storage().view(), from, len)));
  auto y = tape->record<T, R>(out, x.requires_grad(), [tape, x, part, at, w, bc](const nabla::ad::Var<T, R>& out_var) {
    const Shape<R> len = part.local_shape();
    Shape<R> padded = len;
    for (int d = 0; d < R; ++d) padded[d] += 2 * w;
    nabla::Array<T, R> p(padded, "nabla::dist::shift::adjoint");
    nabla::assign(impl::box(p.view(), at, len), tape->adjoint(out_var));
    impl::fold_ghosts(p, part, w, bc);
    Index<R> inner{};
    for (int d = 0; d < R; ++d) inner[d] = std::ptrdiff_t(w);
    auto a = tape->adjoint(x.local());
    nabla::assign(a, a + wrap(impl::box(p.view(), inner, len)));
  }, "nabla::dist::shift");
  return {part, y};
}

/// \brief x on partition `to` (one MPI_Alltoallv); backward moves the adjoint back the same way.
template <class T, int R>
Var<T, R> redistribute(const Var<T, R>& x, const Partition<R>& to) {
  nabla::ad::Tape* tape = nabla::ad::impl::common_tape("dist::redistribute", x.local());
  impl::check_unreplicated(to, "redistribute");
  const Partition<R> from = x.partition();
  const auto moved = dist::redistribute(x.value(), to);
  auto y = tape->record<T, R>(moved.local(), x.requires_grad(), [tape, x, from, to](const nabla::ad::Var<T, R>& out_var) {
    const auto back = dist::redistribute(Array<T, R>(to, tape->adjoint(out_var)), from);
    auto a = tape->adjoint(x.local());
    nabla::assign(a, a + back.local());
  }, "nabla::dist::redistribute");
  return {to, y};
}

/// \brief Value of f(xs...) (a replicated scalar Var) and its gradients with respect to each distributed
/// argument, partitioned like it. Collective: every rank calls it with its blocks.
template <class F, class... Xs>
auto value_and_grad(F&& f, const Xs&... xs) {
  nabla::ad::Tape tape;
  auto vars = std::make_tuple(dist::variable(tape, xs)...);
  auto y = std::apply(f, vars);
  static_assert(decltype(y)::rank == 0, "nabla::dist::value_and_grad: f must return a scalar (rank-0) Var");
  tape.backward(y);
  auto grads = std::apply([&](const auto&... v) { return std::make_tuple(dist::grad(tape, v)...); }, vars);
  return std::make_pair(nabla::ad::impl::read_scalar(y.value()), grads);
}

}  // namespace dist

template <class T, int R>
struct is_expression<dist::impl::VarLeaf<T, R>> : std::true_type {};
template <class T, int R>
struct is_operand_type<dist::Var<T, R>> : std::true_type {};

}  // namespace nabla
