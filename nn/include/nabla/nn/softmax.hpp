/// \file softmax.hpp
/// \brief softmax over the features of each column, as a layer (Flux's `softmax` in a Chain). One kernel
/// forward (one thread per column, max-shifted), one backward: dx = y (dy - sum(y dy)).
#pragma once

#include <nabla/ad/tape.hpp>
#include <nabla/core/math.hpp>
#include <nabla/nn/layer.hpp>

namespace nabla {
namespace nn {

namespace impl {
template <class T>
struct SoftmaxForward {
  typename Array<T, 2>::view_type x, y;
  std::size_t c;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t b) const {
    using ::nabla::math::exp;
    T m = x(0, b);
    for (std::size_t i = 1; i < c; ++i) m = x(i, b) > m ? x(i, b) : m;
    T s = T(0);
    for (std::size_t i = 0; i < c; ++i) {
      const T e = exp(x(i, b) - m);
      y(i, b) = e;
      s += e;
    }
    const T inv = T(1) / s;
    for (std::size_t i = 0; i < c; ++i) y(i, b) *= inv;
  }
};
template <class T>
struct SoftmaxBackward {
  typename Array<T, 2>::view_type y, dy, dx;
  std::size_t c;
  bool add;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t b) const {
    T s = T(0);
    for (std::size_t i = 0; i < c; ++i) s += y(i, b) * dy(i, b);
    for (std::size_t i = 0; i < c; ++i) {
      const T v = y(i, b) * (dy(i, b) - s);
      dx(i, b) = add ? dx(i, b) + v : v;
    }
  }
};
}  // namespace impl

/// \brief softmax(x) per column as a tape op.
template <class T>
ad::Var<T, 2> softmax(ad::Tape& tape, const ad::Var<T, 2>& x) {
  using Policy = Kokkos::RangePolicy<Kokkos::DefaultExecutionSpace, Kokkos::IndexType<std::size_t>>;
  auto y = tape.allocate<T, 2>(x.shape(), false);
  const std::size_t c = x.shape()[0];
  if (c == 0) throw ShapeError("nabla::nn::softmax: the input has no rows");
  Kokkos::parallel_for("nabla::nn::softmax::forward", Policy(launch_space(x.size()), 0, x.shape()[1]),
                       impl::SoftmaxForward<T>{x.value().view(), y.view(), c});
  ad::Tape* tp = &tape;
  return tape.record<T, 2>(y, x.requires_grad(), [tp, x, c](const ad::Var<T, 2>& out) {
    bool fresh = false;
    auto dx = tp->adjoint_to_write(x, fresh);
    Kokkos::parallel_for("nabla::nn::softmax::backward", Policy(launch_space(out.size()), 0, out.shape()[1]),
                         impl::SoftmaxBackward<T>{out.value().view(), tp->adjoint(out).view(), dx.view(), c, !fresh});
  }, "nabla::nn::softmax");
}

/// \brief The softmax layer (no parameters). A Trainer with cross-entropy loss stops before it and uses the
/// fused, stable cross-entropy from logits instead (mathematically the same loss).
template <class T>
class Softmax : public Layer<T> {
 public:
  std::string describe() const override { return "softmax"; }
  std::string kind() const override { return "softmax"; }
  std::size_t output_features(std::size_t in) const override { return in; }
  ad::Var<T, 2> forward(ad::Tape& tape, const ad::Var<T, 2>& x, Mode, bool) override { return softmax(tape, x); }
};

// Compiled once in libnabla_nn (nn/src/instantiate.cpp), not in every program that uses them.
extern template class Softmax<float>;
extern template class Softmax<double>;

}  // namespace nn
}  // namespace nabla
