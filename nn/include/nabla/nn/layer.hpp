/// \file layer.hpp
/// \brief What every layer shares: training/inference mode, named parameters, and the Layer interface a
/// Chain calls. Layers hold their parameters; `forward` records on an ad::Tape what `backward` needs.
#pragma once

#include <nabla/ad/tape.hpp>
#include <nabla/core/array.hpp>
#include <nabla/core/random.hpp>

#include <memory>
#include <string>
#include <vector>

namespace nabla {
namespace nn {

class Collective;

/// Training (batch statistics, running statistics updated) or inference (running statistics).
enum class Mode { train, test };

/// \brief A named parameter tensor. Every parameter is a column-major matrix: a weight is (out x in), a
/// bias or a per-feature vector is (n x 1) so it broadcasts over the batch (the trailing dimension).
template <class T>
struct Param {
  std::string name;       ///< "weight", "bias", "scale", "running_mean", ...
  Array<T, 2> value;      ///< the values, updated in place
  bool trainable = true;  ///< false for running statistics (Flux's non-trainable parameters)
  ad::Var<T, 2> var;      ///< its variable on the tape of the current step (set by forward)
};

/// \brief A layer: maps a (features x batch) Var to another, recording its backward on the tape.
template <class T>
class Layer {
 public:
  virtual ~Layer() = default;
  /// Flux-style description, e.g. "Dense(2 => 8, tanh)".
  virtual std::string describe() const = 0;
  /// Short kind used in checkpoint names ("dense", "batchnorm", "softmax").
  virtual std::string kind() const = 0;
  /// Records the layer on `tape`; trainable parameters become variables in Mode::train (when
  /// `differentiate` is true) and constants otherwise.
  virtual ad::Var<T, 2> forward(ad::Tape& tape, const ad::Var<T, 2>& x, Mode mode, bool differentiate) = 0;
  /// The layer's parameters (trainable first, then non-trainable), owned by the layer.
  virtual std::vector<Param<T>*> parameters() { return {}; }
  /// (Re)initialises the parameters from a counter-based key.
  virtual void init(const random::Key&) {}
  /// Output features for a given number of input features (throws ShapeError if the layer does not fit).
  virtual std::size_t output_features(std::size_t in) const = 0;
  /// The collective used for synchronised statistics (BatchNorm); nullptr for a single process.
  virtual void set_collective(std::shared_ptr<Collective>) {}
};

namespace impl {
/// The tape variable (or constant) for a parameter, stored in the parameter for the optimizer step.
template <class T>
ad::Var<T, 2> bind(ad::Tape& tape, Param<T>& p, bool differentiate) {
  p.var = differentiate && p.trainable ? tape.variable(p.value) : tape.constant(p.value);
  return p.var;
}
}  // namespace impl

// Compiled once in libnabla_nn (nn/src/instantiate.cpp), not in every program that uses them.
extern template class Layer<float>;
extern template class Layer<double>;

}  // namespace nn
}  // namespace nabla
