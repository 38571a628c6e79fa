/// \file nuts.hpp
/// \brief One No-U-Turn transition of one chain inside a kernel: the trajectory doubles in a random direction until
/// it turns back on itself, diverges or reaches the depth cap (Hoffman & Gelman 2014), with multinomial sampling
/// and the generalised U-turn criterion on momentum sums (Betancourt 2017). Subtrees are built leaf by leaf
/// (Phan, Pradhan & Jankowiak 2019): the U-turn checks of every aligned sub-subtree ending at a leaf compare
/// against momentum checkpoints, so there is no recursion and a chain needs O(max depth × D) memory.
///
/// Random numbers are counter-based under the transition's key: the direction of doubling j, the choice between
/// the tree and its new subtree at doubling j, and the choice of leaf ℓ within its subtree each have their own
/// counter, so a transition does not depend on where or in which order chains run.
#pragma once

#include <nabla/core/random.hpp>
#include <nabla/sampling/hmc/integrator.hpp>

#include <Kokkos_Core.hpp>

#include <cstdint>

namespace nabla {
namespace sampling {
namespace hmc {

/// Doublings of a NUTS trajectory at most (2^10 − 1 leapfrog steps, Stan's default cap).
constexpr int kMaxTreeDepth = 10;

/// What one NUTS transition reports.
struct NutsInfo {
  double accept_prob = 0.0;  ///< mean of min(1, e^{H0 − H}) over the trajectory's points (what ε adapts on)
  double energy = 0.0;       ///< H of the selected point
  int leapfrog = 0;          ///< gradient evaluations
  int depth = 0;             ///< doublings completed
  bool divergent = false;    ///< an energy error beyond impl::kMaxEnergyError, or a non-finite log-density
};

namespace impl {

constexpr std::uint32_t kDirectionDomain = 0x2d17u, kSubtreeDomain = 0x5b7eu, kLeafDomain = 0x1eafu;

/// Checkpoints leaf n of a subtree is checked against: [lo, hi], hi = set bits of n >> 1, lo = hi − (trailing ones
/// of n) + 1. An even leaf stores its momentum (and the subtree's running sum) at checkpoint hi.
KOKKOS_INLINE_FUNCTION void checkpoint_range(std::uint32_t n, int& lo, int& hi) {
  int ones = 0, trailing = 0;
  for (std::uint32_t m = n >> 1; m != 0; m >>= 1) ones += int(m & 1u);
  for (std::uint32_t m = n; (m & 1u) != 0; m >>= 1) ++trailing;
  hi = ones;
  lo = ones - trailing + 1;
}

/// The generalised U-turn criterion of a trajectory with end momenta r_left, r_right and momentum sum r_sum
/// (ends included): either end's velocity points against the sum of the points strictly between and half the ends.
template <int D>
KOKKOS_INLINE_FUNCTION bool turning(const Vec<D>& inv_mass, const Vec<D>& r_left, const Vec<D>& r_right,
                                    const Vec<D>& r_sum) {
  double left = 0.0, right = 0.0;
  for (int i = 0; i < D; ++i) {
    const double c = r_sum[i] - 0.5 * (r_left[i] + r_right[i]);
    left += inv_mass[i] * r_left[i] * c;
    right += inv_mass[i] * r_right[i] * c;
  }
  return left <= 0.0 || right <= 0.0;
}

/// A sum of the weights e^x of trajectory points (x = H0 − H), kept as e^ref · s. The scale starts at the
/// trajectory's start (ref 0) and moves only when a term would overflow (an energy 600 below the start's), so a
/// leaf costs one exp and no log, where a log-space sum paid log1p(exp(·)) and two more exps (eight schools' NUTS
/// run took 15 % longer).
struct WeightSum {
  static constexpr double kRescaleAbove = 600.0;  // e^600 · 2^kMaxTreeDepth stays finite
  double ref = 0.0, s = 0.0;

  /// Adds e^x; returns its weight on this sum's scale, e^(x − ref).
  KOKKOS_INLINE_FUNCTION double add(double x) {
    if (x - ref > kRescaleAbove) {
      s *= math::exp(ref - x);
      ref = x;
    }
    const double w = math::exp(x - ref);
    s += w;
    return w;
  }
  /// Adds another sum.
  KOKKOS_INLINE_FUNCTION void add(const WeightSum& o) {
    if (o.ref == ref) {
      s += o.s;
    } else if (o.ref > ref) {
      s = s * math::exp(ref - o.ref) + o.s;
      ref = o.ref;
    } else {
      s += o.s * math::exp(o.ref - ref);
    }
  }
  /// This sum over `o` (o non-empty). Scales apart are combined in logs, where neither factor under- or
  /// overflows alone.
  KOKKOS_INLINE_FUNCTION double over(const WeightSum& o) const {
    if (ref == o.ref) return s / o.s;
    return math::exp(ref - o.ref + math::log(s) - math::log(o.s));
  }
};

/// \brief The U-turn checks inside a subtree built leaf by leaf: `add(n, p, sum)` takes leaf n's momentum and the
/// subtree's momentum sum so far, and says whether an aligned sub-subtree of two or more leaves ending at n turned.
template <int D>
struct SubtreeChecks {
  Vec<D> r[kMaxTreeDepth], r_sum[kMaxTreeDepth];  // checkpoints: a leaf's momentum, the running sum there

  KOKKOS_INLINE_FUNCTION bool add(std::uint32_t n, const Vec<D>& inv_mass, const Vec<D>& p, const Vec<D>& sum) {
    int lo = 0, hi = 0;
    checkpoint_range(n, lo, hi);
    if ((n & 1u) == 0) {
      r[hi] = p;
      r_sum[hi] = sum;
      return false;
    }
    for (int j = hi; j >= lo; --j) {
      Vec<D> inner;  // the sub-subtree from checkpoint j's leaf to n
      for (int i = 0; i < D; ++i) inner[i] = sum[i] - r_sum[j][i] + r[j][i];
      if (turning<D>(inv_mass, r[j], p, inner)) return true;
    }
    return false;
  }
};

KOKKOS_INLINE_FUNCTION double uniform(nabla::random::Key k, std::uint64_t counter, std::uint32_t domain) {
  const nabla::random::Block u = nabla::random::bits(k, counter, domain);
  return nabla::random::impl::u01_double(u[0], u[1]);
}

}  // namespace impl

/// \brief One NUTS transition as a machine that stops before each gradient: `begin` from the start (its p the
/// fresh momentum); then, until `done`, `drift` moves `edge` by a half-kick and a drift to where the log-density is
/// needed, the caller sets edge.logp and edge.g there, and `land` completes the leaf and goes on. A chain's own
/// kernel runs that loop itself (nuts() below); the lockstep engine (batched.hpp) evaluates every chain's edge at
/// once between drift and land. Either way the arithmetic is the same, leaf for leaf.
template <int D>
struct NutsMachine {
  Phase<D> left, right, selected, edge, sub_selected;
  Vec<D> r_sum, sub_r_sum;
  impl::SubtreeChecks<D> checks;
  nabla::random::Key key;
  impl::WeightSum w_tree, w_sub;
  double h0 = 0.0, eps = 0.0, accept_sum = 0.0;
  int points = 0, depth = 0, max_depth = 0;
  std::uint32_t n = 0;  // leaf within the current subtree
  std::uint64_t leaf = 0;
  bool go_right = false, done = true;
  NutsInfo info;

  KOKKOS_INLINE_FUNCTION void begin(const Phase<D>& start, const Vec<D>& inv_mass, double step, int max_tree_depth,
                                    nabla::random::Key k) {
    h0 = -start.logp + kinetic<D>(start.p, inv_mass);
    left = right = selected = start;
    r_sum = start.p;
    key = k;
    eps = step;
    w_tree = impl::WeightSum{0.0, 1.0};  // the start, e^0
    accept_sum = 0.0;
    points = depth = 0;
    max_depth = max_tree_depth < kMaxTreeDepth ? max_tree_depth : kMaxTreeDepth;
    leaf = 0;
    info = NutsInfo{};
    done = false;
    start_doubling(inv_mass);
  }

  /// The first half of edge's next leapfrog step: a half-kick and the drift.
  KOKKOS_INLINE_FUNCTION void drift(const Vec<D>& inv_mass) {
    const double e = go_right ? eps : -eps;
    half_kick<D>(edge.p, edge.g, e);
    hmc::drift<D>(edge.q, edge.p, inv_mass, e);
  }

  /// The rest of the leaf, with edge.logp and edge.g evaluated at edge.q.
  KOKKOS_INLINE_FUNCTION void land(const Vec<D>& inv_mass) {
    ++info.leapfrog;
    if (finite(edge.logp)) half_kick<D>(edge.p, edge.g, go_right ? eps : -eps);
    const double dh = -edge.logp + kinetic<D>(edge.p, inv_mass) - h0;
    ++points;
    if (!(dh <= impl::kMaxEnergyError)) {  // NaN and ±inf included; counts as a point of acceptance 0, as Stan's
      info.divergent = true;
      return finish(inv_mass);
    }
    const double w = w_sub.add(-dh);
    accept_sum += dh <= 0.0 ? 1.0 : (w_sub.ref == 0.0 ? w : math::exp(-dh));
    // Multinomial within the subtree: the new leaf replaces the subtree's choice with its share of the weight.
    if (impl::uniform(key, leaf, impl::kLeafDomain) < w / w_sub.s) sub_selected = edge;
    for (int i = 0; i < D; ++i) sub_r_sum[i] += edge.p[i];
    const bool turned = checks.add(n, inv_mass, edge.p, sub_r_sum);
    ++n;
    ++leaf;
    if (turned) return finish(inv_mass);  // a subtree that turned is not a candidate, and the trajectory ends
    if (n < (1u << depth)) return;
    // Biased progressive sampling: the new subtree wins with probability min(1, w_subtree / w_tree).
    if (impl::uniform(key, std::uint64_t(depth), impl::kSubtreeDomain) < w_sub.over(w_tree)) selected = sub_selected;
    w_tree.add(w_sub);
    (go_right ? right : left) = edge;
    for (int i = 0; i < D; ++i) r_sum[i] += sub_r_sum[i];
    info.depth = ++depth;
    if (impl::turning<D>(inv_mass, left.p, right.p, r_sum)) return finish(inv_mass);
    start_doubling(inv_mass);
  }

 private:
  KOKKOS_INLINE_FUNCTION void start_doubling(const Vec<D>& inv_mass) {
    if (depth >= max_depth) return finish(inv_mass);
    go_right = (nabla::random::bits(key, std::uint64_t(depth), impl::kDirectionDomain)[0] & 1u) != 0;
    edge = go_right ? right : left;
    sub_selected = edge;
    for (int i = 0; i < D; ++i) sub_r_sum[i] = 0.0;
    w_sub = impl::WeightSum{};
    n = 0;
  }

  KOKKOS_INLINE_FUNCTION void finish(const Vec<D>& inv_mass) {
    done = true;
    info.accept_prob = points > 0 ? accept_sum / double(points) : 0.0;
    info.energy = -selected.logp + kinetic<D>(selected.p, inv_mass);
  }
};

/// \brief One NUTS transition from s (its p the fresh momentum): s becomes the selected point (q, p, g, log p).
template <int D, class F>
KOKKOS_INLINE_FUNCTION NutsInfo nuts(const F& f, Phase<D>& s, const Vec<D>& inv_mass, double eps, int max_depth,
                                     nabla::random::Key k) {
  NutsMachine<D> m;
  m.begin(s, inv_mass, eps, max_depth, k);
  while (!m.done) {
    m.drift(inv_mass);
    m.edge.logp = evaluate<D>(f, m.edge.q, m.edge.g);
    m.land(inv_mass);
  }
  s = m.selected;
  return m.info;
}

}  // namespace hmc
}  // namespace sampling
}  // namespace nabla
