/// \file batchnorm.hpp
/// \brief BatchNorm(n) over (n x batch) columns (Ioffe & Szegedy 2015; Flux's and PyTorch's semantics):
/// training normalises with the batch mean and biased variance and updates running statistics
/// (running = (1 - momentum) running + momentum batch, the running variance unbiased); inference uses the
/// running statistics. Trainable scale (gamma) and shift (beta); running mean and variance are non-trainable.
///
/// Forward and backward are each one kernel with one thread per feature and a fixed serial order over the
/// batch, so results do not depend on the thread count. With a Collective of more than one rank the batch
/// statistics and the backward sums are reduced over ranks (synchronised batch norm), which splits each
/// kernel in two around the reduction.
#pragma once

#include <nabla/ad/tape.hpp>
#include <nabla/core/assign.hpp>
#include <nabla/core/math.hpp>
#include <nabla/nn/distributed.hpp>
#include <nabla/nn/layer.hpp>

#include <type_traits>

namespace nabla {
namespace nn {

namespace impl {
template <class T>
using Mat = typename Array<T, 2>::view_type;
template <class T>
using Vec = typename Array<T, 1>::view_type;

/// Phase of the training forward kernel: all (one process), or the three steps around the reductions.
enum BnPhase : int { bn_all = 0, bn_sum = 1, bn_centered = 2, bn_apply = 3 };

/// Training forward, one thread per feature i. `stats` holds (sum, centered sum of squares) per feature:
/// local in the first two phases, global (reduced) when read by the next.
template <class T>
struct BnTrainForward {
  Mat<T> x, y, gamma, beta, rmean, rvar;
  Vec<T> mean, invstd, stats;  // stats: 2n
  T eps, momentum, count;      // count: samples over all ranks
  std::size_t n, batch;
  int phase;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t i) const {
    using ::nabla::math::sqrt;
    if (phase == bn_sum) {
      T s = T(0);
      for (std::size_t b = 0; b < batch; ++b) s += x(i, b);
      stats(i) = s;
      return;
    }
    T mu;
    if (phase == bn_all) {
      T s = T(0);
      for (std::size_t b = 0; b < batch; ++b) s += x(i, b);
      mu = s / count;
    } else if (phase == bn_centered) {
      mu = stats(i) / count;
      mean(i) = mu;  // the next reduction sums stats again: keep the mean aside
    } else {
      mu = mean(i);
    }
    T var;
    if (phase == bn_all || phase == bn_centered) {
      T v = T(0);
      for (std::size_t b = 0; b < batch; ++b) {
        const T d = x(i, b) - mu;
        v += d * d;
      }
      if (phase == bn_centered) {
        stats(n + i) = v;
        return;
      }
      var = v / count;
    } else {
      var = stats(n + i) / count;
    }
    const T is = T(1) / sqrt(var + eps);
    mean(i) = mu;
    invstd(i) = is;
    rmean(i, 0) = (T(1) - momentum) * rmean(i, 0) + momentum * mu;
    const T unbiased = count > T(1) ? var * count / (count - T(1)) : var;
    rvar(i, 0) = (T(1) - momentum) * rvar(i, 0) + momentum * unbiased;
    const T g = gamma(i, 0), sh = beta(i, 0);
    for (std::size_t b = 0; b < batch; ++b) y(i, b) = g * (x(i, b) - mu) * is + sh;
  }
};

/// Inference forward: y = gamma (x - running_mean) / sqrt(running_var + eps) + beta, one thread per column.
template <class T>
struct BnTestForward {
  Mat<T> x, y, gamma, beta, rmean, rvar;
  T eps;
  std::size_t n;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t b) const {
    using ::nabla::math::sqrt;
    for (std::size_t i = 0; i < n; ++i)
      y(i, b) = gamma(i, 0) * (x(i, b) - rmean(i, 0)) / sqrt(rvar(i, 0) + eps) + beta(i, 0);
  }
};

/// Training backward, one thread per feature: dbeta = sum dy, dgamma = sum dy xhat (local to this rank: the
/// trainer sums parameter gradients over ranks), dx = gamma invstd / M (M dy - sum dy - xhat sum dy xhat)
/// with the sums over all ranks' samples (M of them).
template <class T>
struct BnTrainBackward {
  Mat<T> x, dy, dx, gamma, dgamma, dbeta;
  Vec<T> mean, invstd, sums;  // sums: 2n (sum dy, sum dy xhat), reduced between phases
  T count;
  std::size_t n, batch;
  int phase;  // bn_all, bn_sum (local sums only), bn_apply (dx from reduced sums)
  int dx_mode, dg_mode;  // 0: none, 1: write, 2: add
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t i) const {
    const T mu = mean(i), is = invstd(i);
    T sdy, sdyx;
    if (phase != bn_apply) {
      sdy = T(0);
      sdyx = T(0);
      for (std::size_t b = 0; b < batch; ++b) {
        const T g = dy(i, b);
        sdy += g;
        sdyx += g * (x(i, b) - mu) * is;
      }
      if (dg_mode == 1) {
        dgamma(i, 0) = sdyx;
        dbeta(i, 0) = sdy;
      } else if (dg_mode == 2) {
        dgamma(i, 0) += sdyx;
        dbeta(i, 0) += sdy;
      }
      if (phase == bn_sum) {
        sums(i) = sdy;
        sums(n + i) = sdyx;
        return;
      }
    } else {
      sdy = sums(i);
      sdyx = sums(n + i);
    }
    if (dx_mode == 0) return;
    const T c = gamma(i, 0) * is / count;
    for (std::size_t b = 0; b < batch; ++b) {
      const T xhat = (x(i, b) - mu) * is;
      const T v = c * (count * dy(i, b) - sdy - xhat * sdyx);
      dx(i, b) = dx_mode == 1 ? v : dx(i, b) + v;
    }
  }
};

/// Inference backward, one thread per feature.
template <class T>
struct BnTestBackward {
  Mat<T> x, dy, dx, gamma, dgamma, dbeta, rmean, rvar;
  T eps;
  std::size_t batch;
  int dx_mode, dg_mode;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t i) const {
    using ::nabla::math::sqrt;
    const T is = T(1) / sqrt(rvar(i, 0) + eps), mu = rmean(i, 0), g = gamma(i, 0);
    T sdy = T(0), sdyx = T(0);
    for (std::size_t b = 0; b < batch; ++b) {
      const T d = dy(i, b);
      sdy += d;
      sdyx += d * (x(i, b) - mu) * is;
      if (dx_mode == 1) dx(i, b) = d * g * is;
      else if (dx_mode == 2) dx(i, b) += d * g * is;
    }
    if (dg_mode == 1) {
      dgamma(i, 0) = sdyx;
      dbeta(i, 0) = sdy;
    } else if (dg_mode == 2) {
      dgamma(i, 0) += sdyx;
      dbeta(i, 0) += sdy;
    }
  }
};
}  // namespace impl

/// \brief Batch normalisation over the rows (features) of (n x batch) inputs.
template <class T>
class BatchNorm : public Layer<T> {
  static_assert(std::is_floating_point<T>::value, "nabla::nn::BatchNorm: T must be float or double");

 public:
  /// \param n [in] features; \param momentum [in] weight of the batch in the running statistics (Flux and
  /// PyTorch: 0.1); \param eps [in] added to the variance (1e-5)
  explicit BatchNorm(std::size_t n, T momentum = T(0.1), T eps = T(1e-5)) : m_n(n), m_momentum(momentum), m_eps(eps) {
    if (n == 0) throw ValueError("nabla::nn::BatchNorm: the number of features must be positive");
    if (!(momentum >= T(0) && momentum <= T(1)))
      throw ValueError(::nabla::impl::cat("nabla::nn::BatchNorm: momentum must be in [0, 1], got ", momentum));
    if (!(eps > T(0))) throw ValueError(::nabla::impl::cat("nabla::nn::BatchNorm: eps must be positive, got ", eps));
    m_scale = Param<T>{"scale", Array<T, 2>(Shape<2>{n, 1}, "nabla::nn::BatchNorm::scale"), true, {}};
    m_shift = Param<T>{"bias", Array<T, 2>(Shape<2>{n, 1}, "nabla::nn::BatchNorm::bias"), true, {}};
    m_rmean = Param<T>{"running_mean", Array<T, 2>(Shape<2>{n, 1}, "nabla::nn::BatchNorm::running_mean"), false, {}};
    m_rvar = Param<T>{"running_var", Array<T, 2>(Shape<2>{n, 1}, "nabla::nn::BatchNorm::running_var"), false, {}};
    m_mean = Array<T, 1>(Shape<1>{n}, "nabla::nn::BatchNorm::batch_mean");
    m_invstd = Array<T, 1>(Shape<1>{n}, "nabla::nn::BatchNorm::batch_invstd");
    m_stats = Array<T, 1>(Shape<1>{2 * n}, "nabla::nn::BatchNorm::stats");
    m_sums = Array<T, 1>(Shape<1>{2 * n}, "nabla::nn::BatchNorm::sums");
    init(random::key(0));
  }

  std::string describe() const override { return ::nabla::impl::cat("BatchNorm(", m_n, ")"); }
  std::string kind() const override { return "batchnorm"; }
  std::size_t output_features(std::size_t in) const override {
    if (in != m_n) throw ShapeError(::nabla::impl::cat("nabla::nn::", describe(), ": got ", in, " input features"));
    return m_n;
  }
  std::vector<Param<T>*> parameters() override { return {&m_scale, &m_shift, &m_rmean, &m_rvar}; }
  /// scale 1, shift 0, running mean 0, running variance 1.
  void init(const random::Key&) override {
    assign(m_scale.value, T(1));
    assign(m_shift.value, T(0));
    assign(m_rmean.value, T(0));
    assign(m_rvar.value, T(1));
  }
  void set_collective(std::shared_ptr<Collective> c) override { m_comm = std::move(c); }

  Param<T>& scale() { return m_scale; }
  Param<T>& shift() { return m_shift; }
  Param<T>& running_mean() { return m_rmean; }
  Param<T>& running_var() { return m_rvar; }
  T momentum() const { return m_momentum; }
  T eps() const { return m_eps; }

  ad::Var<T, 2> forward(ad::Tape& tape, const ad::Var<T, 2>& x, Mode mode, bool differentiate) override {
    if (x.shape()[0] != m_n)
      throw ShapeError(::nabla::impl::cat("nabla::nn::", describe(), ": input has shape ", to_string(x.shape()),
                                          ", expected ", m_n, " features (rows)"));
    auto g = impl::bind(tape, m_scale, differentiate);
    auto sh = impl::bind(tape, m_shift, differentiate);
    const std::size_t batch = x.shape()[1];
    auto y = tape.allocate<T, 2>(x.shape(), false);
    using Policy = Kokkos::RangePolicy<Kokkos::DefaultExecutionSpace, Kokkos::IndexType<std::size_t>>;
    const auto& xv = x.value().view();
    if (mode == Mode::train) {
      const bool dist = m_comm && m_comm->size() > 1;
      T count = T(batch);
      if (dist) {
        double c = double(batch);
        m_comm->allreduce_sum(&c, 1);
        count = T(c);
      }
      if (!(count > T(0))) throw ValueError("nabla::nn::BatchNorm: training needs a non-empty batch");
      impl::BnTrainForward<T> k{xv, y.view(), m_scale.value.view(), m_shift.value.view(), m_rmean.value.view(),
                                m_rvar.value.view(), m_mean.view(), m_invstd.view(), m_stats.view(),
                                m_eps, m_momentum, count, m_n, batch, impl::bn_all};
      if (!dist) {
        Kokkos::parallel_for("nabla::nn::batchnorm::forward", Policy(launch_space(m_n * batch), 0, m_n), k);
      } else {
        k.phase = impl::bn_sum;
        Kokkos::parallel_for("nabla::nn::batchnorm::forward::sum", Policy(launch_space(m_n * batch), 0, m_n), k);
        m_comm->allreduce_sum(m_stats);
        k.phase = impl::bn_centered;
        Kokkos::parallel_for("nabla::nn::batchnorm::forward::centered", Policy(launch_space(m_n * batch), 0, m_n), k);
        m_comm->allreduce_sum(m_stats);
        k.phase = impl::bn_apply;
        Kokkos::parallel_for("nabla::nn::batchnorm::forward::apply", Policy(launch_space(m_n * batch), 0, m_n), k);
      }
      ad::Tape* tp = &tape;
      auto comm = dist ? m_comm : nullptr;
      auto mean = m_mean, invstd = m_invstd, sums = m_sums;
      const std::size_t n = m_n;
      return tape.record<T, 2>(y, x.requires_grad() || g.requires_grad() || sh.requires_grad(),
                               [tp, x, g, sh, mean, invstd, sums, count, n, comm](const ad::Var<T, 2>& out) {
        const auto dy = tp->adjoint(out);
        const std::size_t bsz = out.shape()[1];
        bool xf = false, gf = false, bf = false;
        impl::Mat<T> dx, dg, db;
        int dx_mode = 0, dg_mode = 0;
        if (x.requires_grad()) {
          dx = tp->adjoint_to_write(x, xf).view();
          dx_mode = xf ? 1 : 2;
        }
        if (g.requires_grad()) {  // scale and shift are differentiated together
          dg = tp->adjoint_to_write(g, gf).view();
          db = tp->adjoint_to_write(sh, bf).view();
          if (gf != bf) {  // one of them already has contributions: make both additive
            if (gf) assign(Array<T, 2>(dg), T(0));
            if (bf) assign(Array<T, 2>(db), T(0));
          }
          dg_mode = (gf && bf) ? 1 : 2;
        }
        impl::BnTrainBackward<T> k{x.value().view(), dy.view(), dx, g.value().view(), dg, db, mean.view(),
                                   invstd.view(), sums.view(), count, n, bsz, impl::bn_all, dx_mode, dg_mode};
        if (!comm) {
          Kokkos::parallel_for("nabla::nn::batchnorm::backward", Policy(launch_space(n * bsz), 0, n), k);
        } else {
          k.phase = impl::bn_sum;
          Kokkos::parallel_for("nabla::nn::batchnorm::backward::sum", Policy(launch_space(n * bsz), 0, n), k);
          comm->allreduce_sum(sums);
          k.phase = impl::bn_apply;
          k.dg_mode = 0;
          Kokkos::parallel_for("nabla::nn::batchnorm::backward::apply", Policy(launch_space(n * bsz), 0, n), k);
        }
      }, "nabla::nn::batchnorm");
    }
    Kokkos::parallel_for("nabla::nn::batchnorm::forward::test", Policy(launch_space(m_n * batch), 0, batch),
                         impl::BnTestForward<T>{xv, y.view(), m_scale.value.view(), m_shift.value.view(),
                                                m_rmean.value.view(), m_rvar.value.view(), m_eps, m_n});
    ad::Tape* tp = &tape;
    auto rmean = m_rmean.value, rvar = m_rvar.value;
    const T eps = m_eps;
    return tape.record<T, 2>(y, x.requires_grad() || g.requires_grad() || sh.requires_grad(),
                             [tp, x, g, sh, rmean, rvar, eps](const ad::Var<T, 2>& out) {
      const auto dy = tp->adjoint(out);
      bool xf = false, gf = false, bf = false;
      impl::Mat<T> dx, dg, db;
      int dx_mode = 0, dg_mode = 0;
      if (x.requires_grad()) {
        dx = tp->adjoint_to_write(x, xf).view();
        dx_mode = xf ? 1 : 2;
      }
      if (g.requires_grad()) {
        dg = tp->adjoint_to_write(g, gf).view();
        db = tp->adjoint_to_write(sh, bf).view();
        if (gf != bf) {
          if (gf) assign(Array<T, 2>(dg), T(0));
          if (bf) assign(Array<T, 2>(db), T(0));
        }
        dg_mode = (gf && bf) ? 1 : 2;
      }
      Kokkos::parallel_for("nabla::nn::batchnorm::backward::test", Policy(launch_space(out.size()), 0, out.shape()[0]),
                           impl::BnTestBackward<T>{x.value().view(), dy.view(), dx, g.value().view(), dg, db,
                                                   rmean.view(), rvar.view(), eps, out.shape()[1], dx_mode, dg_mode});
    }, "nabla::nn::batchnorm::test");
  }

 private:
  std::size_t m_n;
  T m_momentum, m_eps;
  Param<T> m_scale, m_shift, m_rmean, m_rvar;
  Array<T, 1> m_mean, m_invstd, m_stats, m_sums;
  std::shared_ptr<Collective> m_comm;
};

// Compiled once in libnabla_nn (nn/src/instantiate.cpp), not in every program that uses them.
extern template class BatchNorm<float>;
extern template class BatchNorm<double>;

}  // namespace nn
}  // namespace nabla
