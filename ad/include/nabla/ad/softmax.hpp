/// \file softmax.hpp
/// \brief Softmax and log-softmax along an axis: one kernel forward and one backward, a thread per line along the
/// axis (max-shifted log-sum-exp, so any logits are safe). The one implementation in Nabla: nn's softmax layer is
/// ad::softmax, and nn's cross-entropy from logits takes its log-sum-exp from line_logsumexp.
#pragma once

#include <nabla/ad/tape.hpp>
#include <nabla/core/assign.hpp>
#include <nabla/core/launch.hpp>
#include <nabla/core/math.hpp>

namespace nabla {
namespace ad {
namespace impl {

/// log(sum_j exp(x[j s])) over j < n (n >= 1), the max shifted out first.
template <class T>
KOKKOS_INLINE_FUNCTION T line_logsumexp(const T* x, std::ptrdiff_t s, std::size_t n) {
  using ::nabla::math::exp;
  using ::nabla::math::log;
  T m = x[0];
  for (std::size_t j = 1; j < n; ++j) m = x[std::ptrdiff_t(j) * s] > m ? x[std::ptrdiff_t(j) * s] : m;
  T sum = T(0);
  for (std::size_t j = 0; j < n; ++j) sum += exp(x[std::ptrdiff_t(j) * s] - m);
  return m + log(sum);
}

/// The lines of an array along `axis`: line l starts at the position unravel(l, lines), `lines` being the
/// array's shape with the axis' extent set to 1.
template <int R>
struct Lines {
  Shape<R> lines;
  int axis;
  std::size_t n;  // elements per line
  KOKKOS_INLINE_FUNCTION Index<R> start(std::size_t l) const { return ::nabla::impl::unravel<true, R>(l, lines); }
};

/// Forward: y = x - lse (log-softmax) or exp(x - lse) (softmax) along each line.
template <class T, int R, bool Exp>
struct SoftmaxForward {
  Lines<R> at;
  const T* x;
  T* y;
  Strides<R> xs, ys;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t l) const {
    using ::nabla::math::exp;
    const Index<R> i = at.start(l);
    const T* xl = x + ::nabla::impl::offset(i, xs);
    T* yl = y + ::nabla::impl::offset(i, ys);
    const std::ptrdiff_t sx = xs[at.axis], sy = ys[at.axis];
    const T lse = line_logsumexp(xl, sx, at.n);
    for (std::size_t j = 0; j < at.n; ++j) {
      const T v = xl[std::ptrdiff_t(j) * sx] - lse;
      if constexpr (Exp) yl[std::ptrdiff_t(j) * sy] = exp(v);
      else yl[std::ptrdiff_t(j) * sy] = v;
    }
  }
};

/// Backward: dx = dy - exp(y) sum(dy) (log-softmax) or y (dy - sum(y dy)) (softmax), added to dx or written.
template <class T, int R, bool Exp>
struct SoftmaxBackward {
  Lines<R> at;
  const T* y;
  const T* dy;
  T* dx;
  Strides<R> ys, dys, dxs;
  bool add;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t l) const {
    using ::nabla::math::exp;
    const Index<R> i = at.start(l);
    const T* yl = y + ::nabla::impl::offset(i, ys);
    const T* gl = dy + ::nabla::impl::offset(i, dys);
    T* dl = dx + ::nabla::impl::offset(i, dxs);
    const std::ptrdiff_t sy = ys[at.axis], sg = dys[at.axis], sd = dxs[at.axis];
    T s = T(0);
    for (std::size_t j = 0; j < at.n; ++j) {
      if constexpr (Exp) s += yl[std::ptrdiff_t(j) * sy] * gl[std::ptrdiff_t(j) * sg];
      else s += gl[std::ptrdiff_t(j) * sg];
    }
    for (std::size_t j = 0; j < at.n; ++j) {
      const T yj = yl[std::ptrdiff_t(j) * sy], gj = gl[std::ptrdiff_t(j) * sg];
      T v;
      if constexpr (Exp) v = yj * (gj - s);
      else v = gj - exp(yj) * s;
      T& d = dl[std::ptrdiff_t(j) * sd];
      d = add ? d + v : v;
    }
  }
};

/// Records softmax (Exp) or log-softmax of `x` along `ax` on x's tape.
template <bool Exp, class T, int R>
Var<T, R> softmax_along(const Var<T, R>& x, axis ax) {
  static_assert(R >= 1, "nabla::ad::(log_)softmax needs an array of rank >= 1");
  const char* name = Exp ? "softmax" : "log_softmax";
  Tape* tape = common_tape(name, x);
  if (ax.value < 0 || ax.value >= R)
    throw ValueError(::nabla::impl::cat("nabla::ad::", name, ": axis ", ax.value, " is out of range for rank ", R));
  Lines<R> at{x.shape(), ax.value, x.shape()[ax.value]};
  at.lines[ax.value] = 1;
  const std::size_t nlines = shape_size(at.lines);
  if (at.n == 0 && nlines != 0)
    throw ShapeError(::nabla::impl::cat("nabla::ad::", name, ": axis ", ax.value, " of shape ", to_string(x.shape()),
                                        " is empty"));
  using Policy = Kokkos::RangePolicy<Kokkos::DefaultExecutionSpace, Kokkos::IndexType<std::size_t>>;
  using ::nabla::impl::dst_strides;
  auto y = tape->allocate<T, R>(x.shape(), false);
  static const std::string forward = ::nabla::impl::cat("nabla::ad::", name),
                           backward = ::nabla::impl::cat("nabla::ad::", name, "::backward");
  Kokkos::parallel_for(forward, Policy(launch_space(x.size()), 0, nlines),
                       SoftmaxForward<T, R, Exp>{at, x.value().data(), y.data(), dst_strides(x.value().view()),
                                                 dst_strides(y.view())});
  return tape->record<T, R>(y, x.requires_grad(), [tape, x, at, nlines](const Var<T, R>& out) {
    bool fresh = false;
    auto dx = tape->adjoint_to_write(x, fresh);
    const auto dy = tape->adjoint(out);
    Kokkos::parallel_for(backward, Policy(launch_space(out.size()), 0, nlines),
                         SoftmaxBackward<T, R, Exp>{at, out.value().data(), dy.data(), dx.data(),
                                                    dst_strides(out.value().view()), dst_strides(dy.view()),
                                                    dst_strides(dx.view()), !fresh});
  }, forward.c_str());
}

}  // namespace impl

/// \brief Numerically stable log-softmax along `ax`: y = x - log(sum(exp(x))), the sum along `ax` for every
/// position of the other dimensions. Backward: dx = dy - softmax(x) * sum(dy, ax).
template <class T, int R>
Var<T, R> log_softmax(const Var<T, R>& x, axis ax) {
  return impl::softmax_along<false>(x, ax);
}

/// \brief Log-softmax along dimension 0: per column of a (classes x batch) matrix.
template <class T, int R>
Var<T, R> log_softmax(const Var<T, R>& x) {
  return log_softmax(x, axis(0));
}

/// \brief Softmax along `ax`: exp(log_softmax(x, ax)). Backward: dx = y (dy - sum(y dy, ax)).
template <class T, int R>
Var<T, R> softmax(const Var<T, R>& x, axis ax) {
  return impl::softmax_along<true>(x, ax);
}

/// \brief Softmax along dimension 0 (per column).
template <class T, int R>
Var<T, R> softmax(const Var<T, R>& x) {
  return softmax(x, axis(0));
}

}  // namespace ad
}  // namespace nabla
