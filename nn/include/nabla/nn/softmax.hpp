/// \file softmax.hpp
/// \brief softmax over the features of each column, as a layer (Flux's `softmax` in a Chain): ad::softmax along
/// dimension 0, one kernel forward and one backward.
#pragma once

#include <nabla/ad/softmax.hpp>
#include <nabla/nn/layer.hpp>

namespace nabla {
namespace nn {

/// \brief The softmax layer (no parameters). A Trainer with cross-entropy loss stops before it and uses the
/// fused, stable cross-entropy from logits instead (mathematically the same loss).
template <class T>
class Softmax : public Layer<T> {
 public:
  std::string describe() const override { return "softmax"; }
  std::string kind() const override { return "softmax"; }
  std::size_t output_features(std::size_t in) const override { return in; }
  ad::Var<T, 2> forward(ad::Tape&, const ad::Var<T, 2>& x, Mode, bool) override { return ad::softmax(x, axis(0)); }
};

// Compiled once in libnabla_nn (nn/src/instantiate.cpp), not in every program that uses them.
extern template class Softmax<float>;
extern template class Softmax<double>;

}  // namespace nn
}  // namespace nabla
