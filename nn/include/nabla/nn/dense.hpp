/// \file dense.hpp
/// \brief Dense(in => out, activation): y = act(W x + b) on (features x batch) columns. The affine map is one
/// gemm (Kokkos Kernels), bias add and activation are one fused kernel; backward is two gemms, one kernel
/// that evaluates the activation on dual numbers (mixed mode) and one deterministic bias reduction.
///
/// (The bias add is not a generic ad broadcast: core's strided broadcast path divides per element to
/// unravel indices, ~50x slower than this column loop for a (256 x 256) batch.)
#pragma once

#include <nabla/ad/dual.hpp>
#include <nabla/ad/tape.hpp>
#include <nabla/core/assign.hpp>
#include <nabla/core/blas.hpp>
#include <nabla/core/operators.hpp>
#include <nabla/core/random.hpp>
#include <nabla/nn/activation.hpp>
#include <nabla/nn/layer.hpp>

#include <type_traits>

namespace nabla {
namespace nn {

/// Weight initialisation: automatic picks He (normal, sqrt(2/in)) for the ReLU family and GELU, Glorot
/// (uniform, sqrt(6/(in+out)), Flux's default) otherwise.
enum class Init { automatic, glorot_uniform, he_normal };

namespace impl {
template <class T>
struct ScaleShift {
  T scale, shift;
  KOKKOS_INLINE_FUNCTION T operator()(const T& u) const { return scale * u + shift; }
};
}  // namespace impl

/// \brief y = W x as a tape op: forward one gemm into a pooled buffer; backward dW = dy x^T, dx = W^T dy.
template <class T>
ad::Var<T, 2> linear(ad::Tape& tape, const ad::Var<T, 2>& w, const ad::Var<T, 2>& x) {
  if (w.shape()[1] != x.shape()[0])
    throw ShapeError(::nabla::impl::cat("nabla::nn::linear: weight ", to_string(w.shape()), " cannot multiply input ",
                                        to_string(x.shape()), " (need weight out x in, input in x batch)"));
  auto out = tape.allocate<T, 2>(Shape<2>{w.shape()[0], x.shape()[1]}, false);
  if (x.shape()[1] > 0) gemm('N', 'N', T(1), w.value(), x.value(), T(0), out);
  ad::Tape* tp = &tape;
  return tape.record<T, 2>(out, w.requires_grad() || x.requires_grad(), [tp, w, x](const ad::Var<T, 2>& y) {
    const auto dy = tp->adjoint(y);
    if (y.shape()[1] == 0) return;
    if (w.requires_grad()) {
      bool fresh = false;
      auto dw = tp->adjoint_to_write(w, fresh);
      gemm('N', 'T', T(1), dy, x.value(), fresh ? T(0) : T(1), dw);
    }
    if (x.requires_grad()) {
      bool fresh = false;
      auto dx = tp->adjoint_to_write(x, fresh);
      gemm('T', 'N', T(1), w.value(), dy, fresh ? T(0) : T(1), dx);
    }
  }, "nabla::nn::linear");
}

namespace impl {
/// y(i, j) = f(z(i, j) + b(i)), one thread per column (contiguous rows: no index division, vectorisable).
template <class T, class F>
struct BiasActForward {
  typename Array<T, 2>::view_type z, b, y;
  F f;
  std::size_t rows;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t j) const {
    for (std::size_t i = 0; i < rows; ++i) y(i, j) = f(z(i, j) + b(i, 0));
  }
};
/// g(i, j) = dy(i, j) f'(z + b) from f on Dual<T, 1> (mixed mode: the derivative comes from the same functor);
/// g goes to `g` and, when `dz` is an existing adjoint, is also added there.
template <class T, class F>
struct BiasActBackward {
  typename Array<T, 2>::view_type z, b, dy, g, dz;
  F f;
  std::size_t rows;
  bool add_dz;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t j) const {
    for (std::size_t i = 0; i < rows; ++i) {
      const ad::Dual<T, 1> u(z(i, j) + b(i, 0), 0);
      const T v = dy(i, j) * f(u).grad[0];
      g(i, j) = v;
      if (add_dz) dz(i, j) += v;
    }
  }
};
/// db(i) (+)= sum over the batch of g(i, :), one thread per row, in column order (deterministic).
template <class T>
struct RowSum {
  typename Array<T, 2>::view_type g, db;
  std::size_t cols;
  bool add;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t i) const {
    T s = T(0);
    for (std::size_t j = 0; j < cols; ++j) s += g(i, j);
    db(i, 0) = add ? db(i, 0) + s : s;
  }
};
}  // namespace impl

/// \brief y = f(z + b) for z (n x batch) and a bias b (n x 1), as ONE tape node: forward one kernel; backward
/// one kernel evaluating f on dual numbers for dz and one deterministic row reduction for db.
template <class T, class F>
ad::Var<T, 2> bias_activation(ad::Tape& tape, const ad::Var<T, 2>& z, const ad::Var<T, 2>& b, F f) {
  if (b.shape()[0] != z.shape()[0] || b.shape()[1] != 1)
    throw ShapeError(::nabla::impl::cat("nabla::nn::bias_activation: bias ", to_string(b.shape()),
                                        " does not fit pre-activations ", to_string(z.shape()), " (need n x 1)"));
  using Policy = Kokkos::RangePolicy<Kokkos::DefaultExecutionSpace, Kokkos::IndexType<std::size_t>>;
  const std::size_t rows = z.shape()[0], cols = z.shape()[1];
  auto y = tape.allocate<T, 2>(z.shape(), false);
  Kokkos::parallel_for("nabla::nn::bias_activation", Policy(launch_space(rows * cols), 0, cols),
                       impl::BiasActForward<T, F>{z.value().view(), b.value().view(), y.view(), f, rows});
  ad::Tape* tp = &tape;
  return tape.record<T, 2>(y, z.requires_grad() || b.requires_grad(), [tp, z, b, f, rows, cols](const ad::Var<T, 2>& out) {
    const auto dy = tp->adjoint(out);
    bool zfresh = false;
    Array<T, 2> dz, g;
    if (z.requires_grad()) dz = tp->adjoint_to_write(z, zfresh);
    g = zfresh ? dz : tp->allocate<T, 2>(z.shape(), false);
    Kokkos::parallel_for("nabla::nn::bias_activation::backward", Policy(launch_space(rows * cols), 0, cols),
                         impl::BiasActBackward<T, F>{z.value().view(), b.value().view(), dy.view(), g.view(),
                                                     dz.view(), f, rows, z.requires_grad() && !zfresh});
    if (b.requires_grad()) {
      bool bfresh = false;
      auto db = tp->adjoint_to_write(b, bfresh);
      Kokkos::parallel_for("nabla::nn::bias_activation::backward::bias", Policy(launch_space(rows * cols), 0, rows),
                           impl::RowSum<T>{g.view(), db.view(), cols, !bfresh});
    }
  }, "nabla::nn::bias_activation");
}

/// \brief Fully connected layer: weight (out x in), bias (out x 1), activation.
template <class T>
class Dense : public Layer<T> {
  static_assert(std::is_floating_point<T>::value, "nabla::nn::Dense: T must be float or double");

 public:
  /// \param in [in] input features, \param out [in] output features (both > 0)
  Dense(std::size_t in, std::size_t out, Activation activation = Activation::identity, Init init = Init::automatic)
      : m_in(in), m_out(out), m_act(activation), m_init(init) {
    if (in == 0 || out == 0)
      throw ValueError(::nabla::impl::cat("nabla::nn::Dense: sizes must be positive, got ", in, " => ", out));
    m_weight = Param<T>{"weight", Array<T, 2>(Shape<2>{out, in}, "nabla::nn::Dense::weight"), true, {}};
    m_bias = Param<T>{"bias", Array<T, 2>(Shape<2>{out, 1}, "nabla::nn::Dense::bias"), true, {}};
    init_params(random::key(0));
  }

  std::string describe() const override {
    return ::nabla::impl::cat("Dense(", m_in, " => ", m_out, m_act == Activation::identity ? "" : ", ",
                              m_act == Activation::identity ? "" : name(m_act), ")");
  }
  std::string kind() const override { return "dense"; }
  Activation activation() const { return m_act; }
  std::size_t in_features() const { return m_in; }
  std::size_t out_features() const { return m_out; }
  Param<T>& weight() { return m_weight; }
  Param<T>& bias() { return m_bias; }

  std::size_t output_features(std::size_t in) const override {
    if (in != m_in) throw ShapeError(::nabla::impl::cat("nabla::nn::", describe(), ": got ", in, " input features"));
    return m_out;
  }

  std::vector<Param<T>*> parameters() override { return {&m_weight, &m_bias}; }

  /// Glorot-uniform or He-normal weights from `key` (column-major element i is stream element i), zero bias.
  void init(const random::Key& key) override { init_params(key); }

  ad::Var<T, 2> forward(ad::Tape& tape, const ad::Var<T, 2>& x, Mode, bool differentiate) override {
    if (x.shape()[0] != m_in)
      throw ShapeError(::nabla::impl::cat("nabla::nn::", describe(), ": input has shape ", to_string(x.shape()),
                                          ", expected ", m_in, " features (rows)"));
    auto w = impl::bind(tape, m_weight, differentiate);
    auto b = impl::bind(tape, m_bias, differentiate);
    auto z = linear(tape, w, x);
    return with_activation(m_act, [&](auto f) { return bias_activation(tape, z, b, f); });
  }

 private:
  void init_params(const random::Key& key) {
    const bool he = m_init == Init::he_normal ||
                    (m_init == Init::automatic && (m_act == Activation::relu || m_act == Activation::leaky_relu ||
                                                   m_act == Activation::gelu));
    if (he) {
      const T sd = T(std::sqrt(2.0 / double(m_in)));
      assign(m_weight.value, map(impl::ScaleShift<T>{sd, T(0)}, random::normal_expr<T>(key, m_weight.value.shape())));
    } else {
      const T a = T(std::sqrt(6.0 / double(m_in + m_out)));
      assign(m_weight.value,
             map(impl::ScaleShift<T>{T(2) * a, -a}, random::uniform_expr<T>(key, m_weight.value.shape())));
    }
    assign(m_bias.value, T(0));
  }

  std::size_t m_in, m_out;
  Activation m_act;
  Init m_init;
  Param<T> m_weight, m_bias;
};

// Compiled once in libnabla_nn (nn/src/instantiate.cpp), not in every program that uses them.
extern template class Dense<float>;
extern template class Dense<double>;

}  // namespace nn
}  // namespace nabla
