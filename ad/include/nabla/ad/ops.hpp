/// \file ops.hpp
/// \brief Differentiable array operations beyond broadcasts (matmul, axis reductions, reshape, softmax) and
/// the entry points value_and_grad, grad and vjp.
#pragma once

#include <nabla/ad/broadcast.hpp>
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
  auto c = ::nabla::matmul(a.value(), b.value());
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

/// \brief Numerically stable log-softmax over dimension 0 of a (classes x batch) matrix, per column.
/// Backward: dx = dy - softmax(x) * colsum(dy).
template <class T>
Var<T, 2> log_softmax(const Var<T, 2>& x) {
  Tape* tape = impl::common_tape("log_softmax", x);
  const auto& v = x.value();
  const std::size_t b = v.extent(1);
  auto m = reshape(::nabla::max(v, axis(0)), Shape<2>{1, b});
  auto lse = reshape(::nabla::sum(::nabla::exp(v - m), axis(0)), Shape<2>{1, b});
  assign(lse, m + ::nabla::log(lse));
  auto y = ::nabla::eval(v - lse);
  return tape->record<T, 2>(y, x.requires_grad(), [tape, x](const Var<T, 2>& out) {
    const auto dy = tape->adjoint(out);
    auto cs = reshape(::nabla::sum(dy, axis(0)), Shape<2>{1, dy.extent(1)});
    auto dx = tape->adjoint(x);
    assign(dx, dx + dy - ::nabla::exp(out.value()) * cs);
  }, "log_softmax");
}

/// \brief Softmax over dimension 0 per column: exp(log_softmax(x)).
template <class T>
Var<T, 2> softmax(const Var<T, 2>& x) {
  return ad::eval(exp(log_softmax(x)));
}

namespace impl {
template <class T, int R>
struct VarOf {
  using type = Var<T, R>;
};
template <class A>
using var_for = Var<typename A::value_type, A::rank>;

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
