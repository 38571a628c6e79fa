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

/// Chain c's position, gradient and log-density from the chains' rows, and back.
template <int D, class Mem>
KOKKOS_INLINE_FUNCTION void load_phase(const typename Views<Mem>::Rows& q, const typename Views<Mem>::Rows& g,
                                       const typename Views<Mem>::Column& logp, std::size_t c, Phase<D>& s) {
  for (int i = 0; i < D; ++i) {
    s.q[i] = q(c, i);
    s.g[i] = g(c, i);
  }
  s.logp = logp(c);
}
template <int D, class Mem>
KOKKOS_INLINE_FUNCTION void store_phase(const Phase<D>& s, std::size_t c, const typename Views<Mem>::Rows& q,
                                        const typename Views<Mem>::Rows& g, const typename Views<Mem>::Column& logp) {
  for (int i = 0; i < D; ++i) {
    q(c, i) = s.q[i];
    g(c, i) = s.g[i];
  }
  logp(c) = s.logp;
}

/// What a launch of transitions shares: the adaptation, the random key and which transitions of which chains.
template <int D>
struct Params {
  Vec<D> inv_mass;
  double eps, length;  // step size; trajectory length T (transition t runs ⌈u T / eps⌉ steps, u ~ U[0, 1))
  int max_leapfrog;
  nabla::random::Key key;
  std::size_t first_chain;  // global index of this rank's chain 0
  std::uint64_t first;      // index of the launch's first transition
  int steps;
  int tree_depth = 0;  // > 0: NUTS with this many doublings at most; 0: the jittered static trajectory

  /// The key of chain c's (local index) transition t of the launch.
  KOKKOS_INLINE_FUNCTION nabla::random::Key transition_key(std::size_t c, int t) const {
    return nabla::random::fold_in(nabla::random::fold_in(key, first_chain + c), first + std::uint64_t(t));
  }
};

/// A static transition's random numbers: the momentum ~ N(0, M) (the key's normal stream), the acceptance
/// uniform and the jittered length u T with its ⌈u T / ε⌉ leapfrog steps (the uniform stream's first block).
struct StaticPlan {
  double u_accept, length;
  int steps;
};
template <int D>
KOKKOS_INLINE_FUNCTION void draw_momentum(const nabla::random::Key& k, const Vec<D>& inv_mass, Vec<D>& p) {
  nabla::random::NormalStream z(k, 0);
  for (int i = 0; i < D; ++i) p[i] = z() / math::sqrt(inv_mass[i]);
}
/// Transition t of chain c (local index) begins at the chain's state (from its rows) with a momentum drawn from
/// the transition's key, which it returns.
template <int D, class Mem>
KOKKOS_INLINE_FUNCTION nabla::random::Key begin_transition(const typename Views<Mem>::Rows& q,
                                                          const typename Views<Mem>::Rows& g,
                                                          const typename Views<Mem>::Column& logp, const Params<D>& a,
                                                          std::size_t c, int t, Phase<D>& s) {
  const nabla::random::Key key = a.transition_key(c, t);
  load_phase<D, Mem>(q, g, logp, c, s);
  draw_momentum<D>(key, a.inv_mass, s.p);
  return key;
}
template <int D>
KOKKOS_INLINE_FUNCTION StaticPlan static_plan(const nabla::random::Key& k, const Params<D>& a) {
  const nabla::random::Block u = nabla::random::bits(k, 0, kUniformDomain);
  StaticPlan plan{nabla::random::impl::u01_double(u[0], u[1]), a.length * nabla::random::impl::u01_double(u[2], u[3]),
                  0};
  const int wanted = int(math::ceil(plan.length / a.eps));
  plan.steps = wanted < 1 ? 1 : (wanted > a.max_leapfrog ? a.max_leapfrog : wanted);
  return plan;
}

/// How one transition went.
struct Outcome {
  double accept_prob = 0.0, energy = 0.0, length = 0.0;
  bool divergent = false, accept = false;
  int evaluations = 0, depth = 0;
};

/// The Metropolis correction of a static trajectory from `start` to `end` (momenta included).
template <int D>
KOKKOS_INLINE_FUNCTION Outcome metropolis(const Phase<D>& start, const Phase<D>& end, const Vec<D>& inv_mass,
                                          const StaticPlan& plan, int evaluations) {
  Outcome o;
  const double h0 = -start.logp + kinetic<D>(start.p, inv_mass), h1 = -end.logp + kinetic<D>(end.p, inv_mass);
  const double dh = h1 - h0;
  o.divergent = !(dh <= kMaxEnergyError);  // NaN and ±inf included
  o.accept_prob = o.divergent ? 0.0 : (dh <= 0.0 ? 1.0 : math::exp(-dh));
  o.accept = plan.u_accept < o.accept_prob;
  o.energy = o.accept ? h1 : h0;
  o.length = plan.length;
  o.evaluations = evaluations;
  return o;
}

/// How a NUTS transition from `start` to the point it selected went (accepted: the chain moved).
template <int D>
KOKKOS_INLINE_FUNCTION Outcome nuts_outcome(const NutsInfo& info, const Phase<D>& start, const Phase<D>& selected) {
  Outcome o;
  for (int i = 0; i < D; ++i) o.accept = o.accept || selected.q[i] != start.q[i];
  o.accept_prob = info.accept_prob;
  o.energy = info.energy;
  o.divergent = info.divergent;
  o.evaluations = info.leapfrog;
  o.depth = info.depth;
  return o;
}

/// Where transitions leave their rows: draws, log_probs and accepted are empty in warm-up, warm outside it.
template <class Mem>
struct Records {
  typename Views<Mem>::Blocks draws;                                // steps × chains × D
  Kokkos::View<double**, Kokkos::LayoutRight, Mem> log_probs;       // steps × chains
  Kokkos::View<std::uint8_t**, Kokkos::LayoutRight, Mem> accepted;  // steps × chains
  typename Views<Mem>::Blocks stats;                                // steps × chains × kStats
  WarmupRecord<Mem> warm;

  /// Transition t of chain c went from `start` to `proposal` and kept the proposal if o.accept.
  template <int D>
  KOKKOS_INLINE_FUNCTION void write(int t, std::size_t c, const Phase<D>& start, const Phase<D>& proposal,
                                    const Outcome& o, const Vec<D>& inv_mass) const {
    const Phase<D>& kept = o.accept ? proposal : start;
    if (warm.start.extent(0) > 0) {  // a divergent proposal (weight a = 0) is recorded as staying put
      for (int i = 0; i < D; ++i) {
        warm.start(c, i) = start.q[i];
        warm.proposal(c, i) = o.divergent ? start.q[i] : proposal.q[i];
        warm.velocity(c, i) = o.divergent ? 0.0 : inv_mass[i] * proposal.p[i];
      }
      warm.length(c) = o.length;
    }
    if (draws.extent(0) > 0) {
      for (int i = 0; i < D; ++i) draws(t, c, i) = kept.q[i];
      log_probs(t, c) = kept.logp;
      accepted(t, c) = o.accept ? 1 : 0;
    }
    stats(t, c, kAcceptProb) = o.accept_prob;
    stats(t, c, kEnergy) = o.energy;
    stats(t, c, kDivergent) = o.divergent ? 1.0 : 0.0;
    stats(t, c, kLeapfrog) = double(o.evaluations);
    stats(t, c, kTreeDepth) = double(o.depth);
  }
};

/// `steps` transitions of every chain (one thread per chain).
template <int D, class F, class Mem>
struct Transitions {
  F f;
  typename Views<Mem>::Rows q, g;  // state, in and out
  typename Views<Mem>::Column logp;
  Params<D> a;
  Records<Mem> out;
  bool evaluate_first = false;  // evaluate log p and its gradient at q (a start, or a resumed chain)

  KOKKOS_INLINE_FUNCTION void operator()(std::size_t c) const {
    Phase<D> s;
    load_phase<D, Mem>(q, g, logp, c, s);
    if (evaluate_first) s.logp = evaluate<D>(f, s.q, s.g);
    for (int t = 0; t < a.steps; ++t) {
      const nabla::random::Key k = a.transition_key(c, t);
      Phase<D> x = s;
      draw_momentum<D>(k, a.inv_mass, x.p);
      Outcome o;
      if (a.tree_depth > 0) {  // x becomes the point NUTS selects: the start itself, or one that moved
        o = nuts_outcome<D>(nuts<D>(f, x, a.inv_mass, a.eps, a.tree_depth, k), s, x);
      } else {
        const StaticPlan plan = static_plan<D>(k, a);
        s.p = x.p;
        const int evaluations = leapfrog<D>(f, x, a.inv_mass, a.eps, plan.steps);
        o = metropolis<D>(s, x, a.inv_mass, plan, evaluations);
      }
      out.write(t, c, s, x, o, a.inv_mass);
      if (o.accept) s = x;
    }
    store_phase<D, Mem>(s, c, q, g, logp);
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

/// First warm-up reduction, partial b: Σ start, Σ proposal (0 without a ChEES record), Σ q, Σ q² (D each), then
/// Σ accept probability, Σ gradients and Σ divergences.
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
    const bool chees = warm.start.extent(0) > 0;
    for (std::size_t c = b * kChainsPerPartial; c < end; ++c) {
      for (int i = 0; i < D; ++i) {
        if (chees) {
          s[i] += warm.start(c, i);
          s[D + i] += warm.proposal(c, i);
        }
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
