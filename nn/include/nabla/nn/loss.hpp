/// \file loss.hpp
/// \brief Losses over (outputs x batch) columns and the accuracy metric. Each loss is the MEAN over the
/// samples of a global batch: `denominator` (default: this batch's columns) lets data-parallel ranks divide
/// their shard's sum by the global batch size, so the gradients summed over ranks are the global gradient.
///
/// Per-sample terms are written by one kernel (a thread per column) and summed in a fixed order, so the
/// value does not depend on the thread count.
#pragma once

#include <nabla/ad/broadcast.hpp>
#include <nabla/ad/softmax.hpp>
#include <nabla/ad/tape.hpp>
#include <nabla/core/math.hpp>

namespace nabla {
namespace nn {

namespace impl {
using Policy1 = Kokkos::RangePolicy<Kokkos::DefaultExecutionSpace, Kokkos::IndexType<std::size_t>>;

template <class T>
struct LogitCEForward {
  typename Array<T, 2>::view_type z, y;
  typename Array<T, 1>::view_type lse, wsum, term;
  std::size_t c;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t b) const {
    const T l = ad::impl::line_logsumexp(&z(0, b), std::ptrdiff_t(z.stride(0)), c);
    T t = T(0), w = T(0);
    for (std::size_t i = 0; i < c; ++i) {
      t += y(i, b) * (l - z(i, b));
      w += y(i, b);
    }
    lse(b) = l;
    wsum(b) = w;
    term(b) = t;
  }
};

/// out() = scale * sum of term, in index order (one thread: the batch is small next to the layers).
template <class T>
struct OrderedSum {
  typename Array<T, 1>::view_type term;
  typename Array<T, 0>::view_type out;
  T scale;
  std::size_t n;
  KOKKOS_INLINE_FUNCTION void operator()(int) const {
    T s = T(0);
    for (std::size_t b = 0; b < n; ++b) s += term(b);
    out() = scale * s;
  }
};

template <class T>
struct LogitCEBackward {
  typename Array<T, 2>::view_type z, y, dz;
  typename Array<T, 1>::view_type lse, wsum;
  typename Array<T, 0>::view_type seed;
  T scale;
  std::size_t c;
  bool add;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t b) const {
    using ::nabla::math::exp;
    const T g = seed() * scale;
    for (std::size_t i = 0; i < c; ++i) {
      const T v = g * (exp(z(i, b) - lse(b)) * wsum(b) - y(i, b));
      dz(i, b) = add ? dz(i, b) + v : v;
    }
  }
};

struct Sq {
  template <class X, class Y>
  KOKKOS_INLINE_FUNCTION X operator()(const X& p, const Y& y) const {
    const X d = p - X(y);
    return d * d;
  }
};
/// -(y log p + (1 - y) log(1 - p)) with p clamped to [eps, 1 - eps] (Flux's binarycrossentropy).
template <class T>
struct Bce {
  T eps;
  template <class X, class Y>
  KOKKOS_INLINE_FUNCTION X operator()(const X& p, const Y& y) const {
    using ::nabla::math::log;
    const X q = p < X(eps) ? X(eps) : (p > X(T(1) - eps) ? X(T(1) - eps) : p);
    return -(X(y) * log(q) + (X(1) - X(y)) * log(X(1) - q));
  }
};
/// softplus(z) - y z: binary cross-entropy of sigmoid(z), stable for any z.
struct BceLogits {
  template <class X, class Y>
  KOKKOS_INLINE_FUNCTION X operator()(const X& z, const Y& y) const {
    using ::nabla::math::exp;
    using ::nabla::math::log1p;
    const X sp = z > X(0) ? z + log1p(exp(-z)) : log1p(exp(z));
    return sp - X(y) * z;
  }
};

template <class T>
T inverse_denominator(std::size_t denominator, std::size_t batch, const char* fn) {
  const std::size_t d = denominator ? denominator : batch;
  if (d == 0) throw ValueError(::nabla::impl::cat("nabla::nn::", fn, ": empty batch"));
  return T(1) / T(d);
}

template <class T>
void check_same(const Shape<2>& a, const Shape<2>& b, const char* fn) {
  if (a[0] != b[0] || a[1] != b[1])
    throw ShapeError(::nabla::impl::cat("nabla::nn::", fn, ": predictions ", to_string(a), " and targets ",
                                        to_string(b), " differ"));
}
}  // namespace impl

/// \brief Cross-entropy of softmax(logits) against target distributions (one-hot columns), fused and
/// stable: forward ad's log-sum-exp per column; backward (softmax(z) sum(y) - y) / N in one kernel.
template <class T>
ad::Var<T, 0> logit_cross_entropy(ad::Tape& tape, const ad::Var<T, 2>& logits, const ad::Var<T, 2>& targets,
                                  std::size_t denominator = 0) {
  impl::check_same<T>(logits.shape(), targets.shape(), "logit_cross_entropy");
  const std::size_t c = logits.shape()[0], nb = logits.shape()[1];
  if (c == 0 && nb > 0) throw ShapeError("nabla::nn::logit_cross_entropy: the logits have no rows (classes)");
  const T scale = impl::inverse_denominator<T>(denominator, nb, "logit_cross_entropy");
  auto lse = tape.allocate<T, 1>(Shape<1>{nb}, false);
  auto wsum = tape.allocate<T, 1>(Shape<1>{nb}, false);
  auto term = tape.allocate<T, 1>(Shape<1>{nb}, false);
  auto out = tape.allocate<T, 0>(Shape<0>{}, false);
  Kokkos::parallel_for("nabla::nn::cross_entropy::forward", impl::Policy1(launch_space(c * nb), 0, nb),
                       impl::LogitCEForward<T>{logits.value().view(), targets.value().view(), lse.view(),
                                               wsum.view(), term.view(), c});
  Kokkos::parallel_for("nabla::nn::cross_entropy::sum", Kokkos::RangePolicy<Kokkos::DefaultExecutionSpace>(launch_space(nb), 0, 1),
                       impl::OrderedSum<T>{term.view(), out.view(), scale, nb});
  ad::Tape* tp = &tape;
  return tape.record<T, 0>(out, logits.requires_grad(), [tp, logits, targets, lse, wsum, scale, c](const ad::Var<T, 0>& y) {
    bool fresh = false;
    auto dz = tp->adjoint_to_write(logits, fresh);
    Kokkos::parallel_for("nabla::nn::cross_entropy::backward", impl::Policy1(launch_space(logits.size()), 0, logits.shape()[1]),
                         impl::LogitCEBackward<T>{logits.value().view(), targets.value().view(), dz.view(), lse.view(),
                                                  wsum.view(), tp->adjoint(y).view(), scale, c, !fresh});
  }, "nabla::nn::cross_entropy");
}

/// \brief Cross-entropy of probabilities (a softmax output): -sum(y log(p + eps)) / N (Flux's crossentropy).
/// Prefer logit_cross_entropy, which is stable and one kernel each way.
template <class T>
ad::Var<T, 0> cross_entropy(const ad::Var<T, 2>& probs, const ad::Var<T, 2>& targets, std::size_t denominator = 0,
                            T eps = T(1e-7)) {
  impl::check_same<T>(probs.shape(), targets.shape(), "cross_entropy");
  const T scale = impl::inverse_denominator<T>(denominator, probs.shape()[1], "cross_entropy");
  return ad::sum(-(targets * log(probs + eps)) * scale);
}

/// \brief Mean squared error: sum((p - y)^2) / N, N the number of samples times outputs (Flux's mse).
template <class T>
ad::Var<T, 0> mse(const ad::Var<T, 2>& pred, const ad::Var<T, 2>& targets, std::size_t denominator = 0) {
  impl::check_same<T>(pred.shape(), targets.shape(), "mse");
  const T scale = impl::inverse_denominator<T>(denominator, pred.shape()[1], "mse") / T(pred.shape()[0]);
  return ad::sum(map(impl::Sq{}, pred, targets.value()) * scale);
}

/// \brief Binary cross-entropy of probabilities p against targets y in [0, 1], mean over the elements.
template <class T>
ad::Var<T, 0> binary_cross_entropy(const ad::Var<T, 2>& probs, const ad::Var<T, 2>& targets,
                                   std::size_t denominator = 0, T eps = T(1e-7)) {
  impl::check_same<T>(probs.shape(), targets.shape(), "binary_cross_entropy");
  const T scale = impl::inverse_denominator<T>(denominator, probs.shape()[1], "binary_cross_entropy") / T(probs.shape()[0]);
  return ad::sum(map(impl::Bce<T>{eps}, probs, targets.value()) * scale);
}

/// \brief Binary cross-entropy of sigmoid(logits) (stable), mean over the elements.
template <class T>
ad::Var<T, 0> binary_cross_entropy_logits(const ad::Var<T, 2>& logits, const ad::Var<T, 2>& targets,
                                          std::size_t denominator = 0) {
  impl::check_same<T>(logits.shape(), targets.shape(), "binary_cross_entropy_logits");
  const T scale =
      impl::inverse_denominator<T>(denominator, logits.shape()[1], "binary_cross_entropy_logits") / T(logits.shape()[0]);
  return ad::sum(map(impl::BceLogits{}, logits, targets.value()) * scale);
}

namespace impl {
template <class T>
struct ArgmaxHits {
  typename Array<T, 2>::view_type p, y;
  std::size_t c;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t b, long& hits) const {
    if (c == 1) {  // one output: a probability against a 0/1 target
      hits += ((p(0, b) > T(0.5)) == (y(0, b) > T(0.5))) ? 1 : 0;
      return;
    }
    std::size_t ip = 0, iy = 0;
    for (std::size_t i = 1; i < c; ++i) {
      if (p(i, b) > p(ip, b)) ip = i;
      if (y(i, b) > y(iy, b)) iy = i;
    }
    hits += ip == iy ? 1 : 0;
  }
};
}  // namespace impl

/// \brief Correctly classified columns: argmax of `scores` (logits or probabilities) equals argmax of the
/// one-hot `targets`; with one row, probability > 0.5 against target > 0.5. Integer count: exact.
template <class T>
long correct(const Array<T, 2>& scores, const Array<T, 2>& targets) {
  impl::check_same<T>(scores.shape(), targets.shape(), "accuracy");
  long hits = 0;
  Kokkos::parallel_reduce("nabla::nn::accuracy", impl::Policy1(launch_space(scores.size()), 0, scores.extent(1)),
                          impl::ArgmaxHits<T>{scores.view(), targets.view(), scores.extent(0)}, hits);
  return hits;
}

/// \brief Fraction of correctly classified columns (see correct()).
template <class T>
double accuracy(const Array<T, 2>& scores, const Array<T, 2>& targets) {
  if (scores.extent(1) == 0) throw ValueError("nabla::nn::accuracy: empty batch");
  return double(correct(scores, targets)) / double(scores.extent(1));
}

}  // namespace nn
}  // namespace nabla
