/// \file chain.hpp
/// \brief Chain (Flux) / Sequential (PyTorch): layers applied in order, with Flux's parameter summary.
#pragma once

#include <nabla/nn/batchnorm.hpp>
#include <nabla/nn/dense.hpp>
#include <nabla/nn/layer.hpp>
#include <nabla/nn/softmax.hpp>

#include <nabla/core/compat.hpp>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace nabla {
namespace nn {

/// \brief A sequence of layers. `Chain<float> m(Dense<float>(2, 8, Activation::tanh), BatchNorm<float>(8),
/// Dense<float>(8, 3), Softmax<float>())` is the seed's net: 67 trainable and 16 non-trainable parameters.
template <class T>
class Chain {
  static_assert(std::is_floating_point<T>::value, "nabla::nn::Chain: T must be float or double");

 public:
  Chain() = default;
  template <class... L, std::enable_if_t<(sizeof...(L) > 0) && (std::is_base_of<Layer<T>, std::decay_t<L>>::value && ...), int> = 0>
  explicit Chain(L&&... layers) {
    (add(std::forward<L>(layers)), ...);
    init(random::key(0));
  }
  Chain(Chain&&) = default;
  Chain& operator=(Chain&&) = default;

  /// Appends a layer (copied or moved in).
  template <class L>
  Chain& add(L&& layer) {
    m_layers.push_back(std::make_unique<std::decay_t<L>>(std::forward<L>(layer)));
    if (m_comm) m_layers.back()->set_collective(m_comm);
    return *this;
  }
  Chain& add(std::unique_ptr<Layer<T>> layer) {
    m_layers.push_back(std::move(layer));
    if (m_comm) m_layers.back()->set_collective(m_comm);
    return *this;
  }

  std::size_t size() const { return m_layers.size(); }
  Layer<T>& operator[](std::size_t i) { return *m_layers.at(i); }
  const Layer<T>& operator[](std::size_t i) const { return *m_layers.at(i); }

  /// Reinitialises every layer i from split(key, i) (counter-based: the same on any thread count or backend).
  void init(const random::Key& key) {
    for (std::size_t i = 0; i < m_layers.size(); ++i) m_layers[i]->init(random::split(key, i));
  }

  /// Whether the last layer is a softmax (losses from logits stop before it).
  bool ends_with_softmax() const { return !m_layers.empty() && m_layers.back()->kind() == "softmax"; }

  /// \brief Records the forward pass of x (features x batch) on `tape`. `stop_before_softmax` drops a final
  /// softmax layer (the logits for a fused cross-entropy). In Mode::train with `differentiate`, trainable
  /// parameters are variables whose gradients `tape.grad(p->var)` gives after backward.
  ad::Var<T, 2> forward(ad::Tape& tape, const ad::Var<T, 2>& x, Mode mode, bool differentiate = true,
                        bool stop_before_softmax = false) {
    compat::Region region("nabla::nn::Chain::forward");
    ad::Var<T, 2> h = x;
    const std::size_t n = stop_before_softmax && ends_with_softmax() ? m_layers.size() - 1 : m_layers.size();
    for (std::size_t i = 0; i < n; ++i) h = m_layers[i]->forward(tape, h, mode, differentiate);
    return h;
  }

  /// \brief Inference (Mode::test, running statistics) on x; the result lives in `tape`'s pool until the
  /// next tape.clear() (pass a tape reused across calls to allocate nothing after the first).
  Array<T, 2> predict(ad::Tape& tape, const Array<T, 2>& x) {
    tape.clear();
    return forward(tape, tape.constant(x), Mode::test, false).value();
  }
  /// Inference into a freshly owned array.
  Array<T, 2> predict(const Array<T, 2>& x) {
    ad::Tape tape;
    return copy(forward(tape, tape.constant(x), Mode::test, false).value());
  }

  /// Every parameter, named "<index>_<kind>/<name>" (e.g. "1_dense/weight"), trainable and not.
  std::vector<std::pair<std::string, Param<T>*>> named_parameters() {
    std::vector<std::pair<std::string, Param<T>*>> out;
    for (std::size_t i = 0; i < m_layers.size(); ++i)
      for (Param<T>* p : m_layers[i]->parameters())
        out.emplace_back(::nabla::impl::cat(i + 1, "_", m_layers[i]->kind(), "/", p->name), p);
    return out;
  }
  /// The trainable parameters in a fixed order (the optimizer's and the gradient reduction's order).
  std::vector<Param<T>*> trainable_parameters() {
    std::vector<Param<T>*> out;
    for (auto& l : m_layers)
      for (Param<T>* p : l->parameters())
        if (p->trainable) out.push_back(p);
    return out;
  }
  std::size_t num_trainable() const { return count(true); }
  std::size_t num_nontrainable() const { return count(false); }

  /// Input features -> output features through every layer (throws ShapeError naming the misfit).
  std::size_t output_features(std::size_t in) const {
    for (auto& l : m_layers) in = l->output_features(in);
    return in;
  }

  /// Flux's summary: one line per layer with its parameter count, then the totals.
  std::string summary() const {
    std::ostringstream os;
    os << "Chain(\n";
    for (auto& l : m_layers) {
      std::size_t tr = 0, nt = 0;
      for (Param<T>* p : l->parameters()) (p->trainable ? tr : nt) += p->value.size();
      os << "  " << l->describe() << ",";
      if (tr + nt > 0) {
        os << "  # " << tr << " parameters";
        if (nt > 0) os << ", plus " << nt << " non-trainable";
      }
      os << "\n";
    }
    os << ")  # Total: " << num_trainable() << " trainable, " << num_nontrainable() << " non-trainable\n";
    return os.str();
  }

  /// Synchronised statistics over the ranks of `c` (nullptr: none).
  void set_collective(std::shared_ptr<Collective> c) {
    m_comm = c;
    for (auto& l : m_layers) l->set_collective(c);
  }
  const std::shared_ptr<Collective>& collective() const { return m_comm; }

 private:
  std::size_t count(bool trainable) const {
    std::size_t n = 0;
    for (auto& l : m_layers)
      for (Param<T>* p : l->parameters())
        if (p->trainable == trainable) n += p->value.size();
    return n;
  }
  std::vector<std::unique_ptr<Layer<T>>> m_layers;
  std::shared_ptr<Collective> m_comm;
};

/// PyTorch's name for a Chain.
template <class T>
using Sequential = Chain<T>;

/// \brief An MLP: Dense layers in => hidden... => out with `activation` on the hidden layers, optional
/// BatchNorm after each hidden activation, and a final softmax when `softmax_output`.
template <class T>
Chain<T> mlp(std::size_t in, const std::vector<std::size_t>& hidden, std::size_t out, Activation activation,
             bool batchnorm = false, bool softmax_output = true) {
  Chain<T> c;
  std::size_t prev = in;
  for (std::size_t h : hidden) {
    c.add(Dense<T>(prev, h, activation));
    if (batchnorm) c.add(BatchNorm<T>(h));
    prev = h;
  }
  c.add(Dense<T>(prev, out));
  if (softmax_output) c.add(Softmax<T>());
  c.init(random::key(0));
  return c;
}

// Compiled once in libnabla_nn (nn/src/instantiate.cpp), not in every program that uses them.
extern template class Chain<float>;
extern template class Chain<double>;

}  // namespace nn
}  // namespace nabla
