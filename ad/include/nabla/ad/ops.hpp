/// \file ops.hpp
/// \brief Differentiable array operations beyond broadcasts (matmul, axis reductions, reshape, softmax) and
/// the entry points value_and_grad, grad and vjp.
#pragma once

#include <nabla/ad/broadcast.hpp>
#include <nabla/ad/softmax.hpp>
#include <nabla/core/blas.hpp>
#include <nabla/core/create.hpp>
#include <nabla/core/reduce.hpp>

#include <tuple>

namespace nabla {
namespace ad {

/// \brief C = A B (op(A) op(B) with 'T'); forward one gemm, backward one gemm per differentiated input.
template <class T>
Var<T, 2> matmul(const Var<T, 2>& a, const Var<T, 2>& b) {
  Tape* tape = impl::common_tape("matmul", a, b);
  // The product goes into the tape's pool: a loop that records the same graph allocates it once.
  auto c = tape->allocate<T, 2>(Shape<2>{a.shape()[0], b.shape()[1]}, false);
  gemm('N', 'N', T(1), a.value(), b.value(), T(0), c);
  return tape->record<T, 2>(c, a.requires_grad() || b.requires_grad(), [tape, a, b](const Var<T, 2>& y) {
    const auto dy = tape->adjoint(y);
    if (a.requires_grad()) gemm('N', 'T', T(1), dy, b.value(), T(1), tape->adjoint(a));
    if (b.requires_grad()) gemm('T', 'N', T(1), a.value(), dy, T(1), tape->adjoint(b));
  }, "matmul");
}

namespace impl {
/// `s` with a size-1 dimension inserted at `axis` (to broadcast a reduced adjoint back).
template <int R>
Shape<R + 1> insert_axis(const Shape<R>& s, int axis) {
  Shape<R + 1> out{};
  for (int d = 0, o = 0; d < R + 1; ++d) out[d] = d == axis ? 1 : s[o++];
  return out;
}
}  // namespace impl

/// \brief Sum along one axis; backward broadcasts the adjoint back along it (one kernel).
template <class T, int R>
Var<T, R - 1> sum(const Var<T, R>& x, axis ax) {
  Tape* tape = impl::common_tape("sum", x);
  auto s = ::nabla::sum(x.value(), ax);
  return tape->record<T, R - 1>(s, x.requires_grad(), [tape, x, ax](const Var<T, R - 1>& y) {
    auto dx = tape->adjoint(x);
    assign(dx, dx + reshape(tape->adjoint(y), impl::insert_axis(y.shape(), ax.value)));
  }, "sum_axis");
}

/// \brief Mean along one axis.
template <class T, int R>
Var<T, R - 1> mean(const Var<T, R>& x, axis ax) {
  Tape* tape = impl::common_tape("mean", x);
  if (ax.value < 0 || ax.value >= R) throw ValueError(::nabla::impl::cat("nabla::ad::mean: axis ", ax.value, " out of range"));
  const T inv = T(1) / T(x.shape()[ax.value]);
  auto s = ::nabla::sum(x.value(), ax);
  assign(s, s * inv);
  return tape->record<T, R - 1>(s, x.requires_grad(), [tape, x, ax, inv](const Var<T, R - 1>& y) {
    auto dx = tape->adjoint(x);
    assign(dx, dx + reshape(tape->adjoint(y), impl::insert_axis(y.shape(), ax.value)) * inv);
  }, "mean_axis");
}

/// \brief The same elements in another shape (no copy forward; the adjoint is reshaped back).
template <int R2, class T, int R>
Var<T, R2> reshape(const Var<T, R>& x, const Shape<R2>& shape) {
  Tape* tape = impl::common_tape("reshape", x);
  auto r = ::nabla::reshape(x.value(), shape);
  return tape->record<T, R2>(r, x.requires_grad(), [tape, x](const Var<T, R2>& y) {
    auto dx = tape->adjoint(x);
    assign(dx, dx + ::nabla::reshape(tape->adjoint(y), x.shape()));
  }, "reshape");
}

/// \brief Matrix times vector: (m x k) by (k,) gives (m,), through matmul on the vector as a (k x 1) column.
template <class T>
Var<T, 1> matmul(const Var<T, 2>& a, const Var<T, 1>& x) {
  return reshape(matmul(a, reshape(x, Shape<2>{x.shape()[0], 1})), Shape<1>{a.shape()[0]});
}

namespace impl {
template <class>
constexpr bool dependent_false = false;
}  // namespace impl

/// Anything else: a readable error instead of a page of template candidates.
template <class A, class B>
void matmul(const A&, const B&) {
  static_assert(impl::dependent_false<A>,
                "nabla::ad::matmul takes Vars of the same element type: (m x k) times (k x n), or (m x k) times "
                "(k,); wrap arrays with tape.variable / tape.constant, and use ad::reshape for other ranks");
}

namespace impl {
template <class T>
T read_scalar(const Array<T, 0>& a) {
  T h;
  Kokkos::deep_copy(h, a.view());
  return h;
}
}  // namespace impl

/// \brief Value of f(xs...) and its gradient with respect to each array argument.
///
/// f takes one Var per argument and returns a rank-0 Var; the result is (value, tuple of gradients), the
/// gradients shaped like the arguments.
template <class F, class... Xs>
auto value_and_grad(F&& f, const Xs&... xs) {
  Tape tape;
  auto vars = std::make_tuple(tape.variable(xs)...);
  auto y = std::apply(f, vars);
  static_assert(decltype(y)::rank == 0, "nabla::ad::value_and_grad: f must return a scalar (rank-0) Var");
  tape.backward(y);
  auto grads = std::apply([&](const auto&... v) { return std::make_tuple(tape.grad(v)...); }, vars);
  return std::make_pair(impl::read_scalar(y.value()), grads);
}

/// \brief The gradient of scalar f with respect to its single array argument.
template <class F, class X>
auto grad(F&& f, const X& x) {
  return std::get<0>(value_and_grad(f, x).second);
}

/// \brief Vector-Jacobian product: v^T J_f(x), for f of any output shape, as an array shaped like x.
template <class F, class X, class V>
auto vjp(F&& f, const X& x, const V& v) {
  Tape tape;
  auto xv = tape.variable(x);
  auto y = f(xv);
  if (to_string(y.shape()) != to_string(v.shape()))
    throw ShapeError(::nabla::impl::cat("nabla::ad::vjp: the cotangent has shape ", to_string(v.shape()),
                                        " but f's output has shape ", to_string(y.shape())));
  tape.seed(y, v);
  return tape.grad(xv);
}

}  // namespace ad
}  // namespace nabla

namespace nabla {
namespace ad {

namespace impl {
/// The sub-view of `v` covering [lo[d], hi[d]) in every dimension.
template <class View, int R, std::size_t... I>
auto box(const View& v, const Shape<R>& lo, const Shape<R>& hi, std::index_sequence<I...>) {
  return Kokkos::subview(v, Kokkos::make_pair(lo[I], hi[I])...);
}
template <class View, int R>
auto box(const View& v, const Shape<R>& lo, const Shape<R>& hi) {
  return box(v, lo, hi, std::make_index_sequence<R>{});
}

template <class T>
struct MakeDual {
  KOKKOS_INLINE_FUNCTION Dual<T, 1> operator()(const T& x, const T& dx) const {
    Dual<T, 1> d(x);
    d.grad[0] = dx;
    return d;
  }
};
struct ValuePart {
  template <class T>
  KOKKOS_INLINE_FUNCTION T operator()(const Dual<T, 1>& d) const {
    return d.val;
  }
};
struct TangentPart {
  template <class T>
  KOKKOS_INLINE_FUNCTION T operator()(const Dual<T, 1>& d) const {
    return d.grad[0];
  }
};
}  // namespace impl

/// \brief The box [lo, hi) of x (a copy forward; backward adds the adjoint into that box of x's adjoint).
template <class T, int R>
Var<T, R> slice(const Var<T, R>& x, const Shape<R>& lo, const Shape<R>& hi) {
  Tape* tape = impl::common_tape("slice", x);
  Shape<R> ext{};
  for (int d = 0; d < R; ++d) {
    if (lo[d] > hi[d] || hi[d] > x.shape()[d])
      throw ShapeError(::nabla::impl::cat("nabla::ad::slice: [", to_string(lo), ", ", to_string(hi),
                                          ") is not inside shape ", to_string(x.shape())));
    ext[d] = hi[d] - lo[d];
  }
  auto out = tape->allocate<T, R>(ext, false);
  assign(out, wrap(impl::box(x.value().view(), lo, hi)));
  return tape->record<T, R>(out, x.requires_grad(), [tape, x, lo, hi](const Var<T, R>& y) {
    auto dx = impl::box(tape->adjoint(x).view(), lo, hi);
    assign(dx, wrap(dx) + tape->adjoint(y));
  }, "slice");
}

/// \brief a and b joined along `ax` (all other extents equal).
template <class T, int R>
Var<T, R> concat(const Var<T, R>& a, const Var<T, R>& b, axis ax) {
  Tape* tape = impl::common_tape("concat", a, b);
  const int k = ax.value;
  if (k < 0 || k >= R) throw ValueError(::nabla::impl::cat("nabla::ad::concat: axis ", k, " out of range for rank ", R));
  Shape<R> ext = a.shape(), zero{}, split = a.shape(), end{};
  for (int d = 0; d < R; ++d)
    if (d != k && a.shape()[d] != b.shape()[d])
      throw ShapeError(::nabla::impl::cat("nabla::ad::concat: shapes ", to_string(a.shape()), " and ",
                                          to_string(b.shape()), " differ in dimension ", d));
  ext[k] += b.shape()[k];
  for (int d = 0; d < R; ++d) {
    split[d] = d == k ? a.shape()[k] : 0;
    end[d] = ext[d];
  }
  Shape<R> a_hi = ext;
  a_hi[k] = a.shape()[k];
  auto out = tape->allocate<T, R>(ext, false);
  assign(impl::box(out.view(), zero, a_hi), a.value());
  assign(impl::box(out.view(), split, end), b.value());
  return tape->record<T, R>(out, a.requires_grad() || b.requires_grad(),
                            [tape, a, b, zero, a_hi, split, end](const Var<T, R>& y) {
    const auto dy = tape->adjoint(y);
    if (a.requires_grad()) {
      auto da = tape->adjoint(a);
      assign(da, da + wrap(impl::box(dy.view(), zero, a_hi)));
    }
    if (b.requires_grad()) {
      auto db = tape->adjoint(b);
      assign(db, db + wrap(impl::box(dy.view(), split, end)));
    }
  }, "concat");
}

namespace impl {
template <class Op, class T, int R>
Var<T, 0> extremum(const Var<T, R>& x, const char* name) {
  Tape* tape = common_tape(name, x);
  auto out = tape->allocate<T, 0>(Shape<0>{}, false);
  if (x.size() == 0) throw ValueError(::nabla::impl::cat("nabla::ad::", name, ": the variable is empty"));
  ::nabla::impl::reduce_into<Op>(::nabla::default_instance(), x.value(),
                                 Kokkos::View<T, DefaultMemorySpace, Kokkos::MemoryUnmanaged>(out.data()), false);
  return tape->record<T, 0>(out, x.requires_grad(), [tape, x](const Var<T, 0>& y) {
    // The adjoint goes to the elements equal to the extremum, shared evenly between ties.
    const auto hit = x.value() == y.value();
    const T ties = T(::nabla::count(hit));
    auto dx = tape->adjoint(x);
    assign(dx, dx + where(hit, tape->adjoint(y) / ties, T(0)));
  }, name);
}
}  // namespace impl

/// \brief Largest element; its adjoint goes to the maximal elements (split evenly between ties).
template <class T, int R>
Var<T, 0> max(const Var<T, R>& x) {
  return impl::extremum<::nabla::impl::MaxOp>(x, "max");
}
/// \brief Smallest element.
template <class T, int R>
Var<T, 0> min(const Var<T, R>& x) {
  return impl::extremum<::nabla::impl::MinOp>(x, "min");
}

namespace impl {
template <class Op, class T, int R>
Var<T, R - 1> extremum_axis(const Var<T, R>& x, axis ax, const char* name) {
  Tape* tape = common_tape(name, x);
  auto m = ::nabla::impl::reduce_axis<Op>(::nabla::default_instance(), x.value(), ax);
  return tape->record<T, R - 1>(m, x.requires_grad(), [tape, x, ax](const Var<T, R - 1>& y) {
    const auto keep = insert_axis(y.shape(), ax.value);
    const auto hit = x.value() == reshape(y.value(), keep);
    auto ties = reshape(::nabla::sum(::nabla::cast<T>(hit), ax), keep);
    auto dx = tape->adjoint(x);
    assign(dx, dx + where(hit, reshape(tape->adjoint(y), keep) / ties, T(0)));
  }, name);
}
}  // namespace impl

/// \brief Largest element along an axis (adjoint to the maximal elements, ties share it).
template <class T, int R>
Var<T, R - 1> max(const Var<T, R>& x, axis ax) {
  return impl::extremum_axis<::nabla::impl::MaxOp>(x, ax, "max_axis");
}
/// \brief Smallest element along an axis.
template <class T, int R>
Var<T, R - 1> min(const Var<T, R>& x, axis ax) {
  return impl::extremum_axis<::nabla::impl::MinOp>(x, ax, "min_axis");
}

namespace impl {
template <class E>
struct is_var : std::false_type {};
template <class T, int R>
struct is_var<Var<T, R>> : std::true_type {};
/// A fused expression over Vars that is not itself a Var: the ops below materialise it as one broadcast node.
template <class E>
using enable_if_var_expr_t = std::enable_if_t<has_vars<E> && !is_var<E>::value, int>;
}  // namespace impl

/// \brief The axis reductions, max/min and (log-)softmax of a fused expression over Vars (one broadcast node,
/// then the op), as `ad::sum(expr)` takes one.
template <class E, impl::enable_if_var_expr_t<E> = 0>
auto sum(const E& e, axis ax) {
  return sum(ad::eval(e), ax);
}
template <class E, impl::enable_if_var_expr_t<E> = 0>
auto mean(const E& e, axis ax) {
  return mean(ad::eval(e), ax);
}
template <class E, impl::enable_if_var_expr_t<E> = 0>
auto max(const E& e) {
  return max(ad::eval(e));
}
template <class E, impl::enable_if_var_expr_t<E> = 0>
auto min(const E& e) {
  return min(ad::eval(e));
}
template <class E, impl::enable_if_var_expr_t<E> = 0>
auto max(const E& e, axis ax) {
  return max(ad::eval(e), ax);
}
template <class E, impl::enable_if_var_expr_t<E> = 0>
auto min(const E& e, axis ax) {
  return min(ad::eval(e), ax);
}
template <class E, impl::enable_if_var_expr_t<E> = 0>
auto log_softmax(const E& e, axis ax = axis(0)) {
  return log_softmax(ad::eval(e), ax);
}
template <class E, impl::enable_if_var_expr_t<E> = 0>
auto softmax(const E& e, axis ax = axis(0)) {
  return softmax(ad::eval(e), ax);
}

/// \brief Jacobian-vector product J_f(x) u by forward mode: f runs once on Dual<T, 1> elements (value
/// x, tangent u). Returns (f(x), J u).
template <class F, class T, int R>
auto jvp(F&& f, const Array<T, R>& x, const Array<T, R>& u) {
  if (to_string(x.shape()) != to_string(u.shape()))
    throw ShapeError(::nabla::impl::cat("nabla::ad::jvp: the tangent has shape ", to_string(u.shape()),
                                        " but x has shape ", to_string(x.shape())));
  Tape tape;
  auto xd = ::nabla::eval(::nabla::map(impl::MakeDual<T>{}, x, u));
  auto y = f(tape.constant(xd));
  return std::make_pair(::nabla::eval(::nabla::map(impl::ValuePart{}, y.value())),
                        ::nabla::eval(::nabla::map(impl::TangentPart{}, y.value())));
}

/// \brief Hessian-vector product H_f(x) v of a scalar f, forward over reverse: the reverse sweep runs on
/// Dual<T, 1> elements seeded with v, and the tangent of the gradient is H v.
template <class F, class T, int R>
Array<T, R> hvp(F&& f, const Array<T, R>& x, const Array<T, R>& v) {
  if (to_string(x.shape()) != to_string(v.shape()))
    throw ShapeError(::nabla::impl::cat("nabla::ad::hvp: v has shape ", to_string(v.shape()), " but x has shape ",
                                        to_string(x.shape())));
  auto xd = ::nabla::eval(::nabla::map(impl::MakeDual<T>{}, x, v));
  auto g = grad(f, xd);
  return ::nabla::eval(::nabla::map(impl::TangentPart{}, g));
}

}  // namespace ad
}  // namespace nabla
