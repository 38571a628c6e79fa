/// \file transition.hpp
/// \brief The kernels of Hamiltonian Monte Carlo over many chains: a launch advances every chain by a block of
/// transitions (fresh momentum, a jittered number of leapfrog steps, a Metropolis correction), each chain in its
/// own thread with its state in registers; warm-up launches also record what the adaptation reduces over chains,
/// and a second kernel reduces it in a fixed order.
///
/// Random numbers are counter-based: chain c's transition t draws from fold_in(fold_in(key(seed), c), t), so
/// chains do not depend on threads, backends, block sizes or ranks.
#pragma once

#include <nabla/core/random.hpp>
#include <nabla/sampling/hmc/integrator.hpp>
#include <nabla/sampling/hmc/nuts.hpp>

#include <Kokkos_Core.hpp>

#include <cstdint>

namespace nabla {
namespace sampling {
namespace hmc {
namespace impl {

/// Per-transition statistics, in this order along the last axis of the stats view.
enum Stat : int { kAcceptProb = 0, kEnergy, kDivergent, kLeapfrog, kTreeDepth, kStats };

/// Philox domain of the (accept, jitter) uniforms; the momenta take the normal stream of the same key.
constexpr std::uint32_t kUniformDomain = 0x4acc1u;

template <class Mem>
struct Views {
  using Rows = Kokkos::View<double**, Kokkos::LayoutRight, Mem>;     // chains × D
  using Blocks = Kokkos::View<double***, Kokkos::LayoutRight, Mem>;  // transitions × chains × (D or kStats)
  using Column = Kokkos::View<double*, Mem>;                         // chains
};

/// What a warm-up transition leaves for the adaptation: the start, the proposal, its velocity M⁻¹p and the
/// jittered trajectory length of each chain.
template <class Mem>
struct WarmupRecord {
  typename Views<Mem>::Rows start, proposal, velocity;
  typename Views<Mem>::Column length;
};

/// `steps` transitions of every chain (one thread per chain).
template <int D, class F, class Mem>
struct Transitions {
  F f;
  typename Views<Mem>::Rows q, g;  // state, in and out
  typename Views<Mem>::Column logp;
  Vec<D> inv_mass;
  double eps, length;  // step size; trajectory length T (transition t runs ⌈u T / eps⌉ steps, u ~ U[0, 1))
  int max_leapfrog;
  nabla::random::Key key;
  std::size_t first_chain;  // global index of this rank's chain 0
  std::uint64_t first;      // index of the launch's first transition
  int steps;
  // Rows of the launch's transitions; draws, log_probs and accepted are empty in warm-up.
  typename Views<Mem>::Blocks draws;                                      // steps × chains × D
  Kokkos::View<double**, Kokkos::LayoutRight, Mem> log_probs;             // steps × chains
  Kokkos::View<std::uint8_t**, Kokkos::LayoutRight, Mem> accepted;        // steps × chains
  typename Views<Mem>::Blocks stats;                                      // steps × chains × kStats
  WarmupRecord<Mem> warm;             // empty views outside warm-up
  bool evaluate_first = false;  // evaluate log p and its gradient at q (a start, or a resumed chain)
  int tree_depth = 0;           // > 0: NUTS with this many doublings at most; 0: the jittered static trajectory

  KOKKOS_INLINE_FUNCTION void operator()(std::size_t c) const {
    Phase<D> s;
    for (int i = 0; i < D; ++i) {
      s.q[i] = q(c, i);
      s.g[i] = g(c, i);
    }
    s.logp = evaluate_first ? evaluate<D>(f, s.q, s.g) : logp(c);
    const nabla::random::Key chain_key = nabla::random::fold_in(key, first_chain + c);
    for (int t = 0; t < steps; ++t) {
      const nabla::random::Key k = nabla::random::fold_in(chain_key, first + std::uint64_t(t));
      nabla::random::NormalStream z(k, 0);
      Phase<D> x = s;
      for (int i = 0; i < D; ++i) x.p[i] = z() / math::sqrt(inv_mass[i]);
      double a = 0.0, energy = 0.0, t_len = 0.0;
      bool divergent = false, accept = false;
      int evaluations = 0, depth = 0;
      if (tree_depth > 0) {  // x becomes the point NUTS selects: the start itself, or one that moved
        const NutsInfo info = nuts<D>(f, x, inv_mass, eps, tree_depth, k);
        for (int i = 0; i < D; ++i) accept = accept || x.q[i] != s.q[i];
        a = info.accept_prob;
        energy = info.energy;
        divergent = info.divergent;
        evaluations = info.leapfrog;
        depth = info.depth;
      } else {
        const nabla::random::Block u = nabla::random::bits(k, 0, kUniformDomain);
        const double u_accept = nabla::random::impl::u01_double(u[0], u[1]);
        const double u_jitter = nabla::random::impl::u01_double(u[2], u[3]);
        t_len = length * u_jitter;
        const int wanted = int(math::ceil(t_len / eps));
        const int n = wanted < 1 ? 1 : (wanted > max_leapfrog ? max_leapfrog : wanted);
        const double h0 = -s.logp + kinetic<D>(x.p, inv_mass);
        evaluations = leapfrog<D>(f, x, inv_mass, eps, n);
        const double h1 = -x.logp + kinetic<D>(x.p, inv_mass);
        const double dh = h1 - h0;
        divergent = !(dh <= kMaxEnergyError);  // NaN and ±inf included
        a = divergent ? 0.0 : (dh <= 0.0 ? 1.0 : math::exp(-dh));
        accept = u_accept < a;
        energy = accept ? h1 : h0;
      }
      if (warm.start.extent(0) > 0) {  // a divergent proposal (weight a = 0) is recorded as staying put
        for (int i = 0; i < D; ++i) {
          warm.start(c, i) = s.q[i];
          warm.proposal(c, i) = divergent ? s.q[i] : x.q[i];
          warm.velocity(c, i) = divergent ? 0.0 : inv_mass[i] * x.p[i];
        }
        warm.length(c) = t_len;
      }
      if (accept) s = x;
      if (draws.extent(0) > 0) {
        for (int i = 0; i < D; ++i) draws(t, c, i) = s.q[i];
        log_probs(t, c) = s.logp;
        accepted(t, c) = accept ? 1 : 0;
      }
      stats(t, c, kAcceptProb) = a;
      stats(t, c, kEnergy) = energy;
      stats(t, c, kDivergent) = divergent ? 1.0 : 0.0;
      stats(t, c, kLeapfrog) = double(evaluations);
      stats(t, c, kTreeDepth) = double(depth);
    }
    for (int i = 0; i < D; ++i) {
      q(c, i) = s.q[i];
      g(c, i) = s.g[i];
    }
    logp(c) = s.logp;
  }
};

/// Copies rows first.. of the initial state (chains × D, an Array's layout) into the chains' rows.
template <int D, class Mem>
struct Load {
  Kokkos::View<const double**, Kokkos::LayoutLeft, Mem> in;
  typename Views<Mem>::Rows q;
  std::size_t first;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t c) const {
    for (int i = 0; i < D; ++i) q(c, i) = in(first + c, i);
  }
};

/// Chains per partial sum: each thread sums its chains in order and the host adds the partials in order, so the
/// adaptation, and with it every chain, is the same at any thread count. Ranks own whole blocks of this many
/// chains, so their partials are the one-rank partials, added in the same order.
constexpr std::size_t kChainsPerPartial = 64;

/// First warm-up reduction, partial b: Σ start, Σ proposal, Σ q, Σ q² (D each), then Σ accept probability,
/// Σ gradients and Σ divergences.
template <int D, class Mem>
struct MomentPartials {
  static constexpr int K = 4 * D + 3;
  WarmupRecord<Mem> warm;
  typename Views<Mem>::Rows q;
  typename Views<Mem>::Blocks stats;
  Kokkos::View<double**, Kokkos::LayoutRight, Mem> partials;  // blocks × K
  std::size_t chains;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t b) const {
    double s[K];
    for (int k = 0; k < K; ++k) s[k] = 0.0;
    const std::size_t end = chains < (b + 1) * kChainsPerPartial ? chains : (b + 1) * kChainsPerPartial;
    for (std::size_t c = b * kChainsPerPartial; c < end; ++c) {
      for (int i = 0; i < D; ++i) {
        s[i] += warm.start(c, i);
        s[D + i] += warm.proposal(c, i);
        s[2 * D + i] += q(c, i);
        s[3 * D + i] += q(c, i) * q(c, i);
      }
      s[4 * D] += stats(0, c, kAcceptProb);
      s[4 * D + 1] += stats(0, c, kLeapfrog);
      s[4 * D + 2] += stats(0, c, kDivergent);
    }
    for (int k = 0; k < K; ++k) partials(b, k) = s[k];
  }
};

/// Second warm-up reduction, partial b: Σ a t ΔN (x' − m')·v' and Σ a, the acceptance-weighted ChEES gradient with
/// respect to log T (Hoffman, Radul, Sountsov 2021), ΔN = ‖x' − m'‖² − ‖x − m‖².
template <int D, class Mem>
struct CheesPartials {
  WarmupRecord<Mem> warm;
  typename Views<Mem>::Blocks stats;
  Vec<D> start_mean, proposal_mean;
  Kokkos::View<double**, Kokkos::LayoutRight, Mem> partials;  // blocks × 2
  std::size_t chains;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t b) const {
    double num = 0.0, den = 0.0;
    const std::size_t end = chains < (b + 1) * kChainsPerPartial ? chains : (b + 1) * kChainsPerPartial;
    for (std::size_t c = b * kChainsPerPartial; c < end; ++c) {
      double n0 = 0.0, n1 = 0.0, dot = 0.0;
      for (int i = 0; i < D; ++i) {
        const double x0 = warm.start(c, i) - start_mean[i], x1 = warm.proposal(c, i) - proposal_mean[i];
        n0 += x0 * x0;
        n1 += x1 * x1;
        dot += x1 * warm.velocity(c, i);
      }
      const double a = stats(0, c, kAcceptProb);
      num += a * warm.length(c) * (n1 - n0) * dot;
      den += a;
    }
    partials(b, 0) = num;
    partials(b, 1) = den;
  }
};

}  // namespace impl
}  // namespace hmc
}  // namespace sampling
}  // namespace nabla
