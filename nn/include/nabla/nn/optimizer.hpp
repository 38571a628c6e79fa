/// \file optimizer.hpp
/// \brief SGD (momentum, Nesterov), Adam and AdamW with PyTorch's update rules and defaults. Each update is
/// ONE fused kernel per parameter (`nabla::nn::<optimizer>::update`). The state (moment buffers, step count)
/// is part of the model state: checkpoints save and restore it through state().
#pragma once

#include <nabla/core/array.hpp>
#include <nabla/core/compat.hpp>
#include <nabla/core/error.hpp>
#include <nabla/core/math.hpp>
#include <nabla/nn/layer.hpp>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace nabla {
namespace nn {

/// \brief An optimizer over a fixed, ordered list of parameters (Chain::trainable_parameters()).
template <class T>
class Optimizer {
  static_assert(std::is_floating_point<T>::value, "nabla::nn::Optimizer: T must be float or double");

 public:
  virtual ~Optimizer() = default;
  /// "sgd", "adam", "adamw".
  virtual std::string type() const = 0;
  /// Names of the per-parameter state buffers ("momentum"; "m", "v").
  virtual std::vector<std::string> slot_names() const = 0;

  /// \brief One update of every parameter with its gradient (same order and shapes).
  void step(const std::vector<Param<T>*>& params, const std::vector<Array<T, 2>>& grads) {
    if (params.size() != grads.size())
      throw ValueError(::nabla::impl::cat("nabla::nn::", type(), ": ", params.size(), " parameters but ", grads.size(),
                                          " gradients"));
    compat::Region region("nabla::nn::Optimizer::step");
    ensure_state(params);
    ++m_step;
    for (std::size_t k = 0; k < params.size(); ++k) {
      if (params[k]->value.size() != grads[k].size())
        throw ShapeError(::nabla::impl::cat("nabla::nn::", type(), ": parameter ", k, " '", params[k]->name,
                                            "' has shape ", to_string(params[k]->value.shape()), ", its gradient ",
                                            to_string(grads[k].shape())));
      update(k, *params[k], grads[k]);
    }
  }

  /// Allocates zero state for `params` (done by the first step; call it before loading a checkpoint).
  void ensure_state(const std::vector<Param<T>*>& params) {
    const std::size_t ns = slot_names().size();
    if (m_slots.size() == params.size() * ns) return;
    if (!m_slots.empty())
      throw ValueError(::nabla::impl::cat("nabla::nn::", type(), ": the optimizer was used with ", m_slots.size() / ns,
                                          " parameters, now given ", params.size()));
    for (Param<T>* p : params)
      for (std::size_t s = 0; s < ns; ++s)
        m_slots.emplace_back(p->value.shape(), "nabla::nn::optimizer::" + slot_names()[s]);
  }

  /// The state buffer `slot` of parameter k (after ensure_state).
  Array<T, 2>& state(std::size_t k, std::size_t slot) { return m_slots.at(k * slot_names().size() + slot); }
  std::size_t num_state() const { return m_slots.size(); }
  /// Updates taken so far (Adam's bias correction uses it).
  std::int64_t steps() const { return m_step; }
  void set_steps(std::int64_t s) { m_step = s; }
  double learning_rate() const { return m_lr; }
  void set_learning_rate(double lr) {
    if (!(lr > 0) || !std::isfinite(lr))
      throw ValueError(::nabla::impl::cat("nabla::nn::", type(), ": the learning rate must be positive, got ", lr));
    m_lr = lr;
  }

 protected:
  explicit Optimizer(double lr) : m_lr(lr) {
    if (!(lr > 0) || !std::isfinite(lr))
      throw ValueError(::nabla::impl::cat("nabla::nn::Optimizer: the learning rate must be positive, got ", lr));
  }
  virtual void update(std::size_t k, Param<T>& p, const Array<T, 2>& g) = 0;
  std::vector<Array<T, 2>> m_slots;
  std::int64_t m_step = 0;
  double m_lr;
};

namespace impl {
using PolicyU = Kokkos::RangePolicy<Kokkos::DefaultExecutionSpace, Kokkos::IndexType<std::size_t>>;

template <class T>
struct SgdUpdate {
  T* w;
  const T* g;
  T* v;  // momentum buffer (unused without momentum)
  T lr, mu, wd;
  int kind;  // 0 plain, 1 momentum, 2 nesterov
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t i) const {
    T d = g[i] + wd * w[i];
    if (kind > 0) {
      const T vi = mu * v[i] + d;
      v[i] = vi;
      d = kind == 2 ? d + mu * vi : vi;
    }
    w[i] -= lr * d;
  }
};

template <class T>
struct AdamUpdate {
  T* w;
  const T* g;
  T* m;
  T* v;
  T lr, b1, b2, eps, c1, c2, wd;  // c1 = 1/(1-b1^t), c2 = 1/(1-b2^t); wd: AdamW's decoupled decay (lr wd)
  int decoupled;                  // 1: AdamW (w -= lr wd w), 0: Adam with L2 (g += wd w)
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t i) const {
    using ::nabla::math::sqrt;
    T gi = g[i];
    T wi = w[i];
    if (decoupled) wi -= lr * wd * wi;
    else gi += wd * wi;
    const T mi = b1 * m[i] + (T(1) - b1) * gi;
    const T vi = b2 * v[i] + (T(1) - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    w[i] = wi - lr * (mi * c1) / (sqrt(vi * c2) + eps);
  }
};
}  // namespace impl

/// \brief Stochastic gradient descent, PyTorch's rule: v = momentum v + (g + wd w); w -= lr (Nesterov:
/// g + momentum v; else v). Defaults lr 0.01, no momentum, no weight decay.
template <class T>
class SGD : public Optimizer<T> {
 public:
  explicit SGD(double lr = 0.01, double momentum = 0.0, bool nesterov = false, double weight_decay = 0.0)
      : Optimizer<T>(lr), m_mu(momentum), m_nesterov(nesterov), m_wd(weight_decay) {
    if (!(momentum >= 0 && momentum < 1))
      throw ValueError(::nabla::impl::cat("nabla::nn::SGD: momentum must be in [0, 1), got ", momentum));
    if (nesterov && momentum == 0) throw ValueError("nabla::nn::SGD: Nesterov needs a positive momentum");
    if (!(weight_decay >= 0)) throw ValueError(::nabla::impl::cat("nabla::nn::SGD: weight decay must be >= 0, got ", weight_decay));
  }
  std::string type() const override { return "sgd"; }
  std::vector<std::string> slot_names() const override { return {"momentum"}; }
  double momentum() const { return m_mu; }
  bool nesterov() const { return m_nesterov; }

 protected:
  void update(std::size_t k, Param<T>& p, const Array<T, 2>& g) override {
    const int kind = m_mu == 0 ? 0 : (m_nesterov ? 2 : 1);
    Kokkos::parallel_for("nabla::nn::sgd::update", impl::PolicyU(launch_space(p.value.size()), 0, p.value.size()),
                         impl::SgdUpdate<T>{p.value.data(), g.data(), this->state(k, 0).data(), T(this->m_lr), T(m_mu),
                                            T(m_wd), kind});
  }

 private:
  double m_mu;
  bool m_nesterov;
  double m_wd;
};

/// \brief Adam (Kingma & Ba; PyTorch's form): m, v moments, w -= lr m^ / (sqrt(v^) + eps). Defaults lr 1e-3,
/// betas (0.9, 0.999), eps 1e-8, weight decay 0 (L2, added to the gradient).
template <class T>
class Adam : public Optimizer<T> {
 public:
  explicit Adam(double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weight_decay = 0.0)
      : Optimizer<T>(lr), m_b1(beta1), m_b2(beta2), m_eps(eps), m_wd(weight_decay) {
    if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1))
      throw ValueError(::nabla::impl::cat("nabla::nn::", type(), ": betas must be in [0, 1), got (", beta1, ", ",
                                          beta2, ")"));
    if (!(eps > 0)) throw ValueError(::nabla::impl::cat("nabla::nn::", type(), ": eps must be positive, got ", eps));
    if (!(weight_decay >= 0))
      throw ValueError(::nabla::impl::cat("nabla::nn::", type(), ": weight decay must be >= 0, got ", weight_decay));
  }
  std::string type() const override { return "adam"; }
  std::vector<std::string> slot_names() const override { return {"m", "v"}; }

 protected:
  virtual bool decoupled() const { return false; }
  void update(std::size_t k, Param<T>& p, const Array<T, 2>& g) override {
    const double t = double(this->m_step);
    const double c1 = 1.0 / (1.0 - std::pow(m_b1, t)), c2 = 1.0 / (1.0 - std::pow(m_b2, t));
    Kokkos::parallel_for(decoupled() ? "nabla::nn::adamw::update" : "nabla::nn::adam::update",
                         impl::PolicyU(launch_space(p.value.size()), 0, p.value.size()),
                         impl::AdamUpdate<T>{p.value.data(), g.data(), this->state(k, 0).data(),
                                             this->state(k, 1).data(), T(this->m_lr), T(m_b1), T(m_b2), T(m_eps),
                                             T(c1), T(c2), T(m_wd), decoupled() ? 1 : 0});
  }
  double m_b1, m_b2, m_eps, m_wd;
};

/// \brief AdamW (Loshchilov & Hutter): Adam with decoupled weight decay w -= lr wd w. Defaults as PyTorch:
/// lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 0.01.
template <class T>
class AdamW : public Adam<T> {
 public:
  explicit AdamW(double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
                 double weight_decay = 0.01)
      : Adam<T>(lr, beta1, beta2, eps, weight_decay) {}
  std::string type() const override { return "adamw"; }

 protected:
  bool decoupled() const override { return true; }
};

// Compiled once in libnabla_nn (nn/src/instantiate.cpp), not in every program that uses them.
extern template class Optimizer<float>;
extern template class Optimizer<double>;
extern template class SGD<float>;
extern template class SGD<double>;
extern template class Adam<float>;
extern template class Adam<double>;
extern template class AdamW<float>;
extern template class AdamW<double>;

}  // namespace nn
}  // namespace nabla
