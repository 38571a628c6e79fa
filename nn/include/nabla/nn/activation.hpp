/// \file activation.hpp
/// \brief Elementwise activation functions as generic functors: the same functor runs on plain values in the
/// forward kernel and on `ad::Dual` values in the mixed-mode backward kernel, so a Dense layer's bias add and
/// activation are one fused broadcast forward and one dual kernel backward.
#pragma once

#include <nabla/core/error.hpp>
#include <nabla/core/math.hpp>

#include <string>

namespace nabla {
namespace nn {

/// The activations a Dense layer can apply after its affine map.
enum class Activation { identity, relu, leaky_relu, tanh, sigmoid, softplus, gelu };

namespace act {

// Each call operator is generic (T = float, double or a Dual), uses no std:: math (device-safe), and takes
// math functions unqualified after `using nabla::math::f` so Duals find theirs by argument-dependent lookup.

struct Identity {
  template <class X>
  KOKKOS_INLINE_FUNCTION X operator()(const X& x) const {
    return x;
  }
};
struct Relu {
  template <class X>
  KOKKOS_INLINE_FUNCTION X operator()(const X& x) const {
    return x > X(0) ? x : X(0);
  }
};
/// max(x, 0.01 x), the slope of Flux's and PyTorch's default.
struct LeakyRelu {
  template <class X>
  KOKKOS_INLINE_FUNCTION X operator()(const X& x) const {
    return x > X(0) ? x : X(0.01) * x;
  }
};
struct Tanh {
  template <class X>
  KOKKOS_INLINE_FUNCTION X operator()(const X& x) const {
    using ::nabla::math::tanh;
    return tanh(x);
  }
};
/// 1 / (1 + e^-x), evaluated without overflow on either side.
struct Sigmoid {
  template <class X>
  KOKKOS_INLINE_FUNCTION X operator()(const X& x) const {
    using ::nabla::math::exp;
    if (x >= X(0)) return X(1) / (X(1) + exp(-x));
    const X e = exp(x);
    return e / (X(1) + e);
  }
};
/// log(1 + e^x) = max(x, 0) + log1p(e^-|x|) (no overflow).
struct Softplus {
  template <class X>
  KOKKOS_INLINE_FUNCTION X operator()(const X& x) const {
    using ::nabla::math::exp;
    using ::nabla::math::log1p;
    if (x > X(0)) return x + log1p(exp(-x));
    return log1p(exp(x));
  }
};
/// The exact GELU, x Phi(x) = x/2 (1 + erf(x / sqrt 2)) (PyTorch's default, Flux's gelu_erf).
struct Gelu {
  template <class X>
  KOKKOS_INLINE_FUNCTION X operator()(const X& x) const {
    using ::nabla::math::erf;
    return X(0.5) * x * (X(1) + erf(x * X(0.70710678118654752440)));
  }
};

}  // namespace act

/// \brief Calls `fn(functor)` with the functor of `a` (one template instantiation per activation).
template <class Fn>
decltype(auto) with_activation(Activation a, Fn&& fn) {
  switch (a) {
    case Activation::identity: return fn(act::Identity{});
    case Activation::relu: return fn(act::Relu{});
    case Activation::leaky_relu: return fn(act::LeakyRelu{});
    case Activation::tanh: return fn(act::Tanh{});
    case Activation::sigmoid: return fn(act::Sigmoid{});
    case Activation::softplus: return fn(act::Softplus{});
    case Activation::gelu: return fn(act::Gelu{});
  }
  throw ValueError("nabla::nn::with_activation: unknown activation");
}

/// The name Flux prints ("identity", "relu", "leakyrelu", ...).
inline const char* name(Activation a) {
  switch (a) {
    case Activation::identity: return "identity";
    case Activation::relu: return "relu";
    case Activation::leaky_relu: return "leaky_relu";
    case Activation::tanh: return "tanh";
    case Activation::sigmoid: return "sigmoid";
    case Activation::softplus: return "softplus";
    case Activation::gelu: return "gelu";
  }
  return "?";
}

/// \brief The activation named `s` (as name() prints it); throws ValueError listing the valid names.
inline Activation activation_from_string(const std::string& s) {
  for (Activation a : {Activation::identity, Activation::relu, Activation::leaky_relu, Activation::tanh,
                       Activation::sigmoid, Activation::softplus, Activation::gelu})
    if (s == name(a)) return a;
  throw ValueError(::nabla::impl::cat("nabla::nn: unknown activation '", s,
                             "' (valid: identity, relu, leaky_relu, tanh, sigmoid, softplus, gelu)"));
}

}  // namespace nn
}  // namespace nabla
