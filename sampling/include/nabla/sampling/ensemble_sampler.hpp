/// \file ensemble_sampler.hpp
/// \brief An affine-invariant ensemble MCMC sampler in emcee's vocabulary: `EnsembleSampler(nwalkers, ndim,
/// log_prob)`, `run_mcmc(initial_state, nsteps, progress)`, `get_chain(thin, discard)`, `get_log_prob`,
/// acceptance fraction, integrated autocorrelation time, storage backends (memory, HDF5 in emcee's layout).
///
/// The log-probability is either
/// - a per-walker device functor `KOKKOS_INLINE_FUNCTION double operator()(const WalkerPoint& x) const` (x[i],
///   x.size()), evaluated for a whole half-ensemble in one kernel, or
/// - a batched host callable `void(const Array<double, 2>& positions, Array<double, 1>& log_prob)` that fills the
///   log-probabilities of all given walkers (positions: walkers × ndim) at once, e.g. with a fused reduction
///   over a large data set.
/// Returning -inf rejects a proposal; NaN is an error naming the step, the walker and its parameters.
///
/// Random numbers are counter-based: walker w at step t uses Philox block t of the stream
/// fold_in(key(seed), w), so chains do not depend on threads, backends or MPI ranks, and a run resumed from its
/// backend continues exactly as an uninterrupted one.
#pragma once

#include <nabla/config.hpp>
#include <nabla/core/array.hpp>
#include <nabla/core/error.hpp>
#include <nabla/core/impl/host_hints.hpp>
#include <nabla/core/launch.hpp>
#include <nabla/sampling/backend.hpp>
#include <nabla/sampling/moves.hpp>
#include <nabla/sampling/rng.hpp>

#if NABLA_ENABLE_MPI
#include <nabla/core/mpi.hpp>
#endif

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <vector>

namespace nabla {
namespace sampling {

/// \brief One walker's parameters inside a per-walker log_prob functor: x[i] for i < x.size().
struct WalkerPoint {
  const double* p;
  std::size_t stride;
  int n;
  KOKKOS_INLINE_FUNCTION double operator[](int i) const { return p[std::size_t(i) * stride]; }
  KOKKOS_INLINE_FUNCTION int size() const { return n; }
};

/// The batched form of a log-probability: fill log_prob(i) for every row i of positions (walkers × ndim).
using BatchLogProb = std::function<void(const Array<double, 2>& positions, Array<double, 1>& log_prob)>;

/// \brief Options of an EnsembleSampler.
struct SamplerOptions {
  std::vector<WeightedMove> moves{WeightedMove{}};  ///< default: the stretch move, a = 2
  std::uint64_t seed = 0;                           ///< seed of every random number of the run
  std::shared_ptr<Backend> backend;                 ///< default: a MemoryBackend
  bool live_dangerously = false;                    ///< allow nwalkers < 2 ndim (emcee's flag)
  /// Steps per kernel launch for a per-walker log_prob on one rank; 0 chooses (as many as a 1 MiB block of chain
  /// rows holds, at most what the backend takes per save: one for files). Chains do not depend on it.
  std::size_t steps_per_launch = 0;
#if NABLA_ENABLE_MPI
  /// Split the log-probability evaluations over the ranks of this communicator; every rank keeps the whole
  /// ensemble state and gets the same chain as a one-rank run. Every rank stores into its own backend: give
  /// rank 0 the file and the other ranks a MemoryBackend.
  std::optional<mpi::Comm> comm;
#endif
};

/// \brief Progress reporting for run_mcmc: `true` draws a bar on stderr; a callable gets (done, total) after
/// every step (after the step is stored and flushed).
struct Progress {
  bool bar = false;
  std::function<void(std::size_t, std::size_t)> callback;
  Progress() = default;
  Progress(bool b) : bar(b) {}  // NOLINT: implicit on purpose, run_mcmc(x, n, true)
  template <class F, std::enable_if_t<std::is_invocable<F&, std::size_t, std::size_t>::value, int> = 0>
  Progress(F f) : callback(std::move(f)) {}  // NOLINT
};

namespace impl {
template <class F>
struct PerWalkerLogProb {
  F f;
  Array<double, 2>::view_type x;
  Array<double, 1>::view_type out;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t i) const {
    out(i) = f(WalkerPoint{&x(i, 0), x.stride(1), int(x.extent(1))});
  }
};

/// Wraps a per-walker functor into a batched log_prob (one kernel per evaluated batch).
template <class F>
BatchLogProb batch_log_prob(F f) {
  return [f](const Array<double, 2>& x, Array<double, 1>& out) {
    if (x.extent(0) == 0) return;
    Kokkos::parallel_for("nabla::sampling::log_prob", Kokkos::RangePolicy<Kokkos::IndexType<std::size_t>>(0, x.extent(0)),
                         PerWalkerLogProb<F>{f, x.view(), out.view()});
  };
}

/// \brief Everything one half-step (sub-ensemble k of S) of a move needs. Walker w = i·S + k of the sub-ensemble
/// takes the Philox block `step` of its stream fold_in(key(seed), w) (domain 0; the DE jitter uses the normal
/// block `step` of the same stream). Uniforms are (b + ½) / 2³², never 0, so their logs are finite.
/// `Layout` is that of the state x and the proposals q (walker × dim).
template <class Layout>
struct SplitArgsIn {
  using layout = Layout;
  Kokkos::View<double**, Layout, DefaultMemorySpace> x, q;
  Array<double, 1>::view_type lp, lq, factor, logu;
  Kokkos::View<std::uint8_t*, DefaultMemorySpace> accepted;
  Kokkos::View<const random::Key*, DefaultMemorySpace> keys;  // keys(w) = fold_in(key(seed), w), computed once
  std::uint64_t step;
  std::size_t k, nsplits, n;
  int move;            // 0: stretch, 1: DE
  double a;            // stretch scale
  std::size_t ncomp;   // stretch: size of the complementary half
  std::size_t n1, n2;  // DE: sizes of the other two sub-ensembles
  double sigma, g0;    // DE jitter and stretch of the difference vector
};
/// The half-step launches' form: the state as the sampler's Array, proposals as the batched log_prob takes them.
using SplitArgs = SplitArgsIn<Array<double, 2>::layout_type>;

/// The move of one step: the stretch move (2 sub-ensembles, scale a) or differential evolution (3, sigma, g0).
struct StepMove {
  int nsplits = 2;
  double a = 2.0, sigma = 0.0, g0 = 0.0;
};

/// Walkers in sub-ensemble k of S (walkers k, k + S, ...).
KOKKOS_INLINE_FUNCTION std::size_t split_size(std::size_t nwalkers, std::size_t k, std::size_t S) {
  return (nwalkers - k + S - 1) / S;
}

/// `s` (state, scratch and keys) set up for half-step k of `step` under move m.
template <class A>
KOKKOS_INLINE_FUNCTION A split_args(A s, std::size_t nwalkers, std::uint64_t step, int k, const StepMove& m) {
  s.step = step;
  s.k = std::size_t(k);
  s.nsplits = std::size_t(m.nsplits);
  s.n = split_size(nwalkers, s.k, s.nsplits);
  s.move = m.nsplits == 2 ? 0 : 1;
  s.a = m.a;
  s.ncomp = nwalkers - s.n;
  s.n1 = split_size(nwalkers, (s.k + 1) % 3, 3);
  s.n2 = split_size(nwalkers, (s.k + 2) % 3, 3);
  s.sigma = m.sigma;
  s.g0 = m.g0;
  return s;
}

/// Groups of L walkers that n walkers make (the last one may be partial).
template <int L>
KOKKOS_INLINE_FUNCTION std::size_t groups_of(std::size_t n) {
  return (n + L - 1) / L;
}
/// Walkers in the group of L from walker i0 (i0 < n) of n.
template <int L>
KOKKOS_INLINE_FUNCTION std::size_t group_size(std::size_t n, std::size_t i0) {
  return n - i0 < std::size_t(L) ? n - i0 : std::size_t(L);
}

/// \brief The random part of the proposals of L sub-ensemble walkers, a pure function of (seed, walker, step):
/// each one's log factor and log u, u uniform in (0, 1), and the move's numbers (the stretch move's z and partner
/// c1; differential evolution's jitter z = sigma · N(0, 1) and the difference vector's walkers c1, c2).
template <int L>
struct Draws {
  double z[L], factor[L], logu[L];
  std::size_t c1[L], c2[L];
};

/// The draws of sub-ensemble walkers i0 .. i0 + L - 1 (those below n; i0 < n). The stretch move's loops run over
/// the L walkers, which CPUs vectorise; each walker's arithmetic is the same as one at a time.
template <int L, class A>
KOKKOS_INLINE_FUNCTION void draw_lanes(const A& s, std::size_t i0, Draws<L>& r) {
  const std::size_t ndim = s.x.extent(1), m = group_size<L>(s.n, i0);
  std::uint32_t k0[L], k1[L], b[4][L];
  for (int l = 0; l < L; ++l) {
    const random::Key wk = s.keys(s.nsplits * (i0 + (std::size_t(l) < m ? std::size_t(l) : m - 1)) + s.k);
    k0[l] = wk.k0;
    k1[l] = wk.k1;
  }
  random::bits_lanes<L>(k0, k1, s.step, 0u, b);
  constexpr double two32 = 1.0 / 4294967296.0;
  if (s.move == 0) {
    NABLA_SIMD
    for (int l = 0; l < L; ++l) {
      const double u = (s.a - 1.0) * u01(b[0][l]) + 1.0;
      r.z[l] = u * u / s.a;
      r.factor[l] = double(ndim - 1) * random::impl::log_scaled(r.z[l], 0);
      r.logu[l] = random::impl::log_scaled((double(b[2][l]) + 0.5) * two32, 0);
    }
    for (std::size_t l = 0; l < m; ++l) r.c1[l] = 2 * std::size_t(below(b[1][l], s.ncomp)) + (1 - s.k);
  } else {
    for (std::size_t l = 0; l < m; ++l) {
      std::size_t c1 = 3 * std::size_t(below(b[0][l], s.n1)) + (s.k + 1) % 3;
      std::size_t c2 = 3 * std::size_t(below(b[1][l], s.n2)) + (s.k + 2) % 3;
      if (b[2][l] & 1u) {
        const std::size_t t = c1;
        c1 = c2;
        c2 = t;
      }
      double z[2];
      random::NormalDist::block<double>(random::Key{k0[l], k1[l]}, s.step, z);
      r.z[l] = s.sigma * z[0];
      r.c1[l] = c1;
      r.c2[l] = c2;
      r.factor[l] = 0.0;
      r.logu[l] = random::impl::log_scaled((double(b[3][l]) + 0.5) * two32, 0);
    }
  }
}

/// Writes the proposals of sub-ensemble walkers i0 .. i0 + L - 1 (those below n) into their rows of q, from the
/// state and their draws.
template <int L, class A>
KOKKOS_INLINE_FUNCTION void apply_lanes(const A& s, std::size_t i0, const Draws<L>& r) {
  const std::size_t ndim = s.x.extent(1), m = group_size<L>(s.n, i0);
  if (s.move == 0) {
    if (std::is_same<typename A::layout, Kokkos::LayoutRight>::value) {  // rows: loops along them
      for (std::size_t l = 0; l < m; ++l) {
        const double *xc = &s.x(r.c1[l], 0), *xw = &s.x(s.nsplits * (i0 + l) + s.k, 0);
        double* q = &s.q(i0 + l, 0);
        NABLA_SIMD
        for (std::size_t d = 0; d < ndim; ++d) q[d] = xc[d] - (xc[d] - xw[d]) * r.z[l];
      }
    } else {
      for (std::size_t d = 0; d < ndim; ++d) {
        NABLA_SIMD
        for (std::size_t l = 0; l < m; ++l) {
          const std::size_t c = r.c1[l], w = s.nsplits * (i0 + l) + s.k;
          s.q(i0 + l, d) = s.x(c, d) - (s.x(c, d) - s.x(w, d)) * r.z[l];
        }
      }
    }
  } else {
    for (std::size_t l = 0; l < m; ++l) {
      const std::size_t w = s.nsplits * (i0 + l) + s.k, c1 = r.c1[l], c2 = r.c2[l];
      for (std::size_t d = 0; d < ndim; ++d) s.q(i0 + l, d) = s.x(w, d) + (s.x(c2, d) - s.x(c1, d)) * s.g0 + r.z[l];
    }
  }
}

/// The proposal of sub-ensemble walker i alone, into row i of q, with its log factor and log u.
template <class A>
KOKKOS_INLINE_FUNCTION void propose(const A& s, std::size_t i, double& factor, double& logu) {
  Draws<1> r;
  draw_lanes<1>(s, i, r);
  apply_lanes<1>(s, i, r);
  factor = r.factor[0];
  logu = r.logu[0];
}

/// emcee's rule: accept if factor + lq - lp > log u (diff >= 0 accepts whatever log u is, as log u < 0).
KOKKOS_INLINE_FUNCTION bool accepts(double factor, double lq, double lp, double logu) {
  const double diff = factor + lq - lp;
  return (diff >= 0.0) | (diff > logu);  // both evaluated: no branch on random data
}

/// `yes ? a : b` for pointers, through a mask: GCC turns the conditional operator on an accept decision into a
/// branch, and a coin flip mispredicts about every other walker.
template <class T>
KOKKOS_INLINE_FUNCTION T* pick(bool yes, T* a, T* b) {
  const std::uintptr_t m = std::uintptr_t(0) - std::uintptr_t(yes);
  return reinterpret_cast<T*>((reinterpret_cast<std::uintptr_t>(a) & m) | (reinterpret_cast<std::uintptr_t>(b) & ~m));
}

/// Accepts or rejects the proposal of sub-ensemble walker i.
template <class A>
KOKKOS_INLINE_FUNCTION void accept(const A& s, std::size_t i, double lq, double factor, double logu) {
  const std::size_t w = s.nsplits * i + s.k;
  const bool yes = accepts(factor, lq, s.lp(w), logu);
  if (yes) {
    for (std::size_t d = 0; d < s.x.extent(1); ++d) s.x(w, d) = s.q(i, d);
    s.lp(w) = lq;
  }
  s.accepted(w) = yes ? 1 : 0;
}

/// Propose, evaluate and accept a whole sub-ensemble in one kernel (per-walker log_prob, one rank); reduces the
/// index of the first NaN log_prob (n if none).
template <class F, int L>
struct FusedSplit {
  F f;
  SplitArgs s;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t g, std::size_t& bad) const {
    Draws<L> r;
    draw_lanes<L>(s, g * L, r);
    apply_lanes<L>(s, g * L, r);
    for (int l = 0; l < L; ++l) {
      const std::size_t i = g * L + std::size_t(l);
      if (i >= s.n) break;
      const double lq = f(WalkerPoint{&s.q(i, 0), s.q.stride(1), int(s.q.extent(1))});
      s.lq(i) = lq;
      if (lq != lq) {
        if (i < bad) bad = i;
        continue;
      }
      accept(s, i, lq, r.factor[l], r.logu[l]);
    }
  }
};

template <class F>
std::function<std::size_t(const SplitArgs&)> fused_split(F f) {
  return [f](const SplitArgs& s) {
    std::size_t bad = s.n;
    if (s.n == 0) return bad;
    constexpr int L = lanes_for<Kokkos::DefaultExecutionSpace>::value;
    Kokkos::parallel_reduce(s.move == 0 ? "nabla::sampling::stretch::fused" : "nabla::sampling::de::fused",
                            Kokkos::RangePolicy<Kokkos::IndexType<std::size_t>>(0, groups_of<L>(s.n)),
                            FusedSplit<F, L>{f, s}, Kokkos::Min<std::size_t>(bad));
    return bad;
  };
}

/// Layout of the state a block of steps works on: a walker's parameters side by side on CPUs, where a proposal
/// reads a random walker's row (one or two cache lines, not ndim, and few of them owned by another core), and
/// walkers side by side on GPUs, where neighbouring threads read neighbouring walkers.
using BlockLayout = std::conditional_t<std::is_same<DefaultMemorySpace, Kokkos::HostSpace>::value,
                                       Kokkos::LayoutRight, Kokkos::LayoutLeft>;

/// \brief A block of steps in one launch: the state, one proposal buffer for every half-step (rows of the largest
/// sub-ensemble), each step's move, and the block's chain rows, log-probabilities and acceptance flags.
struct BlockArgs {
  SplitArgsIn<BlockLayout> split;  // x, q, lp, accepted, keys; the per-half-step fields come from split_args
  Kokkos::View<const StepMove*, DefaultMemorySpace> moves;                 // moves(j): the move of step step0 + j
  Kokkos::View<double***, Kokkos::LayoutRight, DefaultMemorySpace> chain;  // step × walker × dim
  Kokkos::View<double**, Kokkos::LayoutRight, DefaultMemorySpace> log_prob;
  Kokkos::View<std::uint8_t**, Kokkos::LayoutRight, DefaultMemorySpace> flags;
  Kokkos::View<std::size_t*, DefaultMemorySpace> nan;  // j · nwalkers + w of a half-step's first NaN, by parity
  std::uint64_t step0;
  std::size_t nsteps, nwalkers;
  bool stream = false;  // host rows: the chain is a backend's, not read again soon (non-temporal stores)
  // Host teams of two may pipeline: one member draws the coming half-steps' random numbers into `draws` (see
  // FusedBlock::pipeline) while the other moves the walkers.
  bool pipelined = false;
  Kokkos::View<unsigned char*, DefaultMemorySpace> draws;
};

constexpr std::size_t kNoNaN = ~std::size_t(0);

/// Runs a block of steps as one team: each half-step's groups of L walkers are shared among the members, and a
/// barrier separates half-steps, since the next one reads the walkers this one moved (or, for host teams of two,
/// one member draws the random numbers and the other moves the walkers: see pipeline()). Launch overhead is paid
/// once per block instead of twice per step, which is what small ensembles spend their time on.
template <class F, int L>
struct FusedBlock {
  F f;
  BlockArgs b;

  using Args = SplitArgsIn<BlockLayout>;
  static constexpr bool rows = std::is_same<BlockLayout, Kokkos::LayoutRight>::value;  // unit stride along d
  KOKKOS_INLINE_FUNCTION void walkers(const Args& s, std::size_t g, std::size_t j, int parity) const {
    Draws<L> r;
    draw_lanes<L>(s, g * L, r);
    move(s, g, j, parity, r);
  }

  /// Moves sub-ensemble walkers gL .. gL + L - 1 with their draws r.
  KOKKOS_INLINE_FUNCTION void move(const Args& s, std::size_t g, std::size_t j, int parity, const Draws<L>& r) const {
    const std::size_t i0 = g * L, m = group_size<L>(s.n, i0);
    // Host rows: the first half-step of a step records the previous step's rows of the walkers it is about to move
    // and of those between them (contiguous, and unchanged until the next half-step), so that the chain's stores,
    // bound by memory bandwidth, overlap the moves' arithmetic instead of stalling a pass of their own.
    if (rows && s.k == 0 && j > 0) {
      const std::size_t r1 = s.nsplits * (i0 + L);
      record_rows(j - 1, s.nsplits * i0, r1 < b.nwalkers ? r1 : b.nwalkers);
    }
    double lq[L];
    apply_lanes<L>(s, i0, r);
    NABLA_SIMD
    for (std::size_t l = 0; l < m; ++l) lq[l] = f(WalkerPoint{&s.q(i0 + l, 0), s.q.stride(1), int(s.q.extent(1))});
    for (std::size_t l = 0; l < m; ++l) {
      const std::size_t i = i0 + l, w = s.nsplits * i + s.k;
      if (lq[l] != lq[l]) {
        Kokkos::atomic_fetch_min(&b.nan(parity), j * b.nwalkers + w);
        continue;
      }
      // Accept (and, on GPUs, record) in one pass that picks the new state's row rather than branching on the coin
      // flip (a select inside the row loop is hoisted by GCC into two loops behind a branch). A rejected walker's
      // row is rewritten unchanged, which costs teams of several threads some cache-line transfers, and the
      // tuning of the launch shape weighs that. Host rows are recorded by the next step's first half-step.
      const bool yes = accepts(r.factor[l], lq[l], s.lp(w), r.logu[l]);
      const double* from = pick(yes, &s.q(i, 0), &s.x(w, 0));
      const std::size_t stride = rows ? 1 : yes ? s.q.stride(1) : s.x.stride(1);
      NABLA_SIMD
      for (std::size_t d = 0; d < s.x.extent(1); ++d) {
        const double v = from[d * stride];
        s.x(w, d) = v;
        if (!rows) b.chain(j, w, d) = v;
      }
      const double lp = *pick(yes, &lq[l], &s.lp(w));
      s.lp(w) = lp;
      s.accepted(w) = yes;
      if (!rows) {
        b.log_prob(j, w) = lp;
        b.flags(j, w) = yes;
      }
    }
  }

  /// Host rows: copies rows r0 .. r1 - 1 of the state, their log_prob and flags, into step j's chain rows.
  KOKKOS_INLINE_FUNCTION void record_rows(std::size_t j, std::size_t r0, std::size_t r1) const {
    const std::size_t D = b.split.x.extent(1);
    const double* x = b.split.x.data() + r0 * D;  // a whole allocation of the sampler's: rows of D, contiguous
    double* c = &b.chain(j, r0, 0);
    double* lp = &b.log_prob(j, r0);
    const double* lp_now = b.split.lp.data() + r0;
    if (b.stream) {
      nabla::impl::stream_copy(c, x, (r1 - r0) * D);
      nabla::impl::stream_copy(lp, lp_now, r1 - r0);
    } else {
      NABLA_SIMD
      for (std::size_t i = 0; i < (r1 - r0) * D; ++i) c[i] = x[i];
      NABLA_SIMD
      for (std::size_t i = 0; i < r1 - r0; ++i) lp[i] = lp_now[i];
    }
    std::uint8_t* flags = &b.flags(j, r0);
    const std::uint8_t* accepted = b.split.accepted.data() + r0;
    NABLA_SIMD
    for (std::size_t i = 0; i < r1 - r0; ++i) flags[i] = accepted[i];
  }

  /// Host rows: the last step's chain rows, split among the members (the others are recorded by move()).
  template <class Member>
  KOKKOS_INLINE_FUNCTION void record(const Member& team, std::size_t j) const {
    constexpr std::size_t chunk = 64;  // rows
    const std::size_t W = b.nwalkers;
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, (W + chunk - 1) / chunk), [&](std::size_t g) {
      record_rows(j, g * chunk, g * chunk + chunk < W ? g * chunk + chunk : W);
    });
    if (b.stream) nabla::impl::stream_fence();
  }

  static constexpr std::size_t ring = 4;         // half-steps the drawer may run ahead of the mover
  static constexpr std::size_t header = 3 * 64;  // bytes: half-steps drawn, moved, and a stop flag, a line each
  /// Groups of the largest sub-ensemble of `nwalkers`.
  static std::size_t groups(std::size_t nwalkers) { return groups_of<L>(split_size(nwalkers, 0, 2)); }
  /// Bytes of `draws` a pipelined block over `nwalkers` walkers takes.
  static std::size_t draw_bytes(std::size_t nwalkers) { return header + ring * groups(nwalkers) * sizeof(Draws<L>); }

  /// Host teams of two, pipelined: member 1 draws the random numbers of the coming half-steps (up to `ring` ahead)
  /// while member 0 moves the walkers with those drawn before. The draws are pure functions of (seed, walker,
  /// step), so the chain is the same; the member moving the walkers is their only writer and reader, so no cache
  /// line of the state passes between cores, and the draws (Philox and two logs per walker) leave its path. The
  /// two hand over through counters, not barriers: the mover waits only when the drawer falls behind.
  template <class Member>
  KOKKOS_INLINE_FUNCTION void pipeline(const Member& team) const {
    unsigned char* const base = b.draws.data();
    volatile std::size_t* const drawn = reinterpret_cast<std::size_t*>(base);
    volatile std::size_t* const moved = reinterpret_cast<std::size_t*>(base + 64);
    volatile std::size_t* const stop = reinterpret_cast<std::size_t*>(base + 128);
    Draws<L>* const buffer = reinterpret_cast<Draws<L>*>(base + header);
    const std::size_t slot = groups(b.nwalkers);
    if (team.team_rank() == 0) {
      *drawn = 0;
      *moved = 0;
      *stop = 0;
    }
    team.team_barrier();
    std::size_t h = 0;  // half-steps of the block, in order
    int parity = 0;
    for (std::size_t j = 0; j < b.nsteps; ++j) {
      const StepMove m = b.moves(j);
      for (int k = 0; k < m.nsplits; ++k, ++h, parity ^= 1) {
        const Args s = split_args(b.split, b.nwalkers, b.step0 + j, k, m);
        Draws<L>* const draws = buffer + (h % ring) * slot;
        if (team.team_rank() == 1) {
          for (unsigned round = 0; h >= *moved + ring;) {  // the mover still reads this slot
            if (*stop) return;
            nabla::impl::spin_wait(round);
          }
          Kokkos::memory_fence();
          for (std::size_t g = 0; g < groups_of<L>(s.n); ++g) draw_lanes<L>(s, g * L, draws[g]);
          Kokkos::memory_fence();
          *drawn = h + 1;
        } else {
          for (unsigned round = 0; *drawn <= h;) nabla::impl::spin_wait(round);
          Kokkos::memory_fence();
          for (std::size_t g = 0; g < groups_of<L>(s.n); ++g) move(s, g, j, parity, draws[g]);
          Kokkos::memory_fence();
          *moved = h + 1;
          if (b.nan(parity) != kNoNaN) {
            *stop = 1;
            if (b.stream) nabla::impl::stream_fence();
            return;
          }
        }
      }
    }
    if (team.team_rank() == 0) {
      record_rows(b.nsteps - 1, 0, b.nwalkers);
      if (b.stream) nabla::impl::stream_fence();
    }
  }

  template <class Member>
  KOKKOS_INLINE_FUNCTION void operator()(const Member& team) const {
    if constexpr (rows) {
      if (b.pipelined) return pipeline(team);
    }
    int parity = 0;
    for (std::size_t j = 0; j < b.nsteps; ++j) {
      const StepMove m = b.moves(j);
      for (int k = 0; k < m.nsplits; ++k, parity ^= 1) {
        const Args s = split_args(b.split, b.nwalkers, b.step0 + j, k, m);
        Kokkos::parallel_for(Kokkos::TeamThreadRange(team, groups_of<L>(s.n)),
                             [&](std::size_t g) { walkers(s, g, j, parity); });
        if (rows && b.stream) nabla::impl::stream_fence();
        team.team_barrier();
        // Every member reads this parity's flag before any member can pass the next barrier, and the next
        // half-step writes the other parity's, so all members leave together.
        if (*static_cast<const volatile std::size_t*>(&b.nan(parity)) != kNoNaN) return;
      }
    }
    if constexpr (rows) record(team, b.nsteps - 1);
  }
};

/// How a block is launched: a team of `team` members sharing each half-step's groups, or two pipelined.
struct BlockShape {
  int team = 1;
  bool pipelined = false;
};

/// Launches blocks of steps of one per-walker functor in one of `shapes`.
struct BlockLauncher {
  std::function<void(const BlockArgs&, BlockShape)> launch;
  int most = 0;  // 0: no block launches (the sampler launches per half-step)
  std::vector<BlockShape> shapes;  // host backends: a TeamTuner chooses; GPUs: one
  std::size_t draw_bytes = 0;      // of BlockArgs::draws, for a pipelined shape
};

/// \brief Chooses among the shapes of block launches on host backends (one thread, a team of every thread, two
/// pipelined) by timing the blocks themselves. Small ensembles with a cheap log_prob can run faster on one thread,
/// whose cache holds every walker, than on several passing walkers between their caches twice per step; two
/// pipelined threads keep the walkers in one cache and draw the random numbers on the other; expensive log_probs
/// and large ensembles run faster on all. Which wins also depends on what else the machine runs: when another
/// process shares the cores, a team waits at every half-step for a member the scheduler took away, and its blocks
/// run 10-100x slower than one thread's. So the choice is revisited at a bounded cost: the first blocks try each
/// option once, then the fastest runs and each other option gets a turn once every explore_every · r blocks,
/// where r >= 1 is how many times slower it was (so exploring costs at most 1/explore_every of the time per
/// option, however slow an option became); first blocks and turns are short (steps()). Each option is judged by the
/// lower median of its last `window` blocks (time per step), which one preempted block does not move; a turn
/// faster than an option's history replaces it. Chains do not depend on it.
class TeamTuner {
 public:
  static constexpr int window = 4, explore_every = 32, max_options = 3;
  static constexpr std::size_t first_steps = 2, probe_steps = 8;
  explicit TeamTuner(int options = 1) : m_options(std::max(1, std::min(options, max_options))) {}
  int options() const { return m_options; }
  std::size_t warmup() const { return std::size_t(m_options); }
  /// The option of the next block.
  int next() const {
    if (m_blocks < warmup()) return int(m_blocks);
    const int best = fastest();
    // The option whose turn is most overdue, if any is due.
    int due = best;
    double most = 1.0;
    for (int o = 0; o < m_options; ++o) {
      if (o == best) continue;
      const double r = estimate(best) > 0 ? std::max(1.0, estimate(o) / estimate(best)) : 1.0;
      const double overdue = double(m_blocks - m_last[o]) / (double(explore_every) * r);
      if (overdue >= most) {
        most = overdue;
        due = o;
      }
    }
    return due;
  }
  /// Steps of the next block, of `per_launch` at most: the fastest option runs whole blocks, the others' turns
  /// are probes of probe_steps and each option's first block first_steps, so an option 100x slower (a team
  /// whose members wait for the scheduler at every half-step) costs a run of a few thousand steps little.
  std::size_t steps(std::size_t per_launch) const {
    if (m_options == 1) return per_launch;
    if (m_blocks < warmup()) return std::min(per_launch, first_steps);
    return next() == fastest() ? per_launch : std::min(per_launch, probe_steps);
  }
  /// Records that a block launched with `option` took `seconds_per_step`.
  void record(int option, double seconds_per_step) {
    // A turn that beats the option's history means the machine changed: the history is dropped.
    if (m_blocks >= warmup() && option != fastest() && seconds_per_step < estimate(option)) m_count[option] = 0;
    m_recent[option][m_count[option]++ % window] = seconds_per_step;
    m_last[option] = m_blocks++;
  }
  /// The current estimate of an option: the lower median of its last `window` blocks, per step.
  double estimate(int option) const {
    const int k = std::min(m_count[option], window);
    if (k == 0) return 0.0;
    double v[window];
    for (int i = 0; i < k; ++i) v[i] = m_recent[option][i];
    std::sort(v, v + k);
    return v[(k - 1) / 2];
  }
  /// The option of the lowest estimate.
  int fastest() const {
    int best = 0;
    for (int o = 1; o < m_options; ++o)
      if (estimate(o) < estimate(best)) best = o;
    return best;
  }

 private:
  int m_options;
  std::size_t m_blocks = 0;
  int m_count[max_options] = {};
  std::size_t m_last[max_options] = {};  // the block of each option's latest turn
  double m_recent[max_options][window] = {};
};

/// The block launcher of a per-walker functor for `nwalkers` walkers: on host backends one thread, a team of up to
/// every thread (one per group of L walkers at most) and two pipelined threads; on GPUs one block if it holds the
/// larger half-ensemble, else none.
template <class F>
BlockLauncher fused_block(F f, std::size_t nwalkers) {
  using Exec = Kokkos::DefaultExecutionSpace;
  constexpr int L = lanes_for<Exec>::value;
  using Block = FusedBlock<F, L>;
  const std::size_t groups = Block::groups(nwalkers);
  const Block probe{f, BlockArgs{}};
  const int most = Kokkos::TeamPolicy<Exec>(1, 1).team_size_max(probe, Kokkos::ParallelForTag());
  BlockLauncher b;
  if (std::is_same<Exec::memory_space, Kokkos::HostSpace>::value) {
    b.most = std::max(1, std::min({most, Exec().concurrency(), int(std::min<std::size_t>(groups, 1 << 20))}));
    b.shapes.push_back(BlockShape{1, false});
    if (b.most > 1) b.shapes.push_back(BlockShape{b.most, false});
    if (std::min(most, Exec().concurrency()) >= 2) {
      b.shapes.push_back(BlockShape{2, true});
      b.draw_bytes = Block::draw_bytes(nwalkers);
    }
  } else {
    if (groups > std::size_t(most)) return b;
    b.most = std::min(most, int((groups + 31) / 32 * 32));
    b.shapes.push_back(BlockShape{b.most, false});
  }
  b.launch = [f](BlockArgs a, BlockShape shape) {
    a.pipelined = shape.pipelined;
    // A team of one runs on the calling thread alone: the pool's other threads sleep rather than join.
    const Exec space = shape.team == 1 ? launch_space<Exec>(0) : Exec();
    Kokkos::parallel_for("nabla::sampling::EnsembleSampler::steps", Kokkos::TeamPolicy<Exec>(space, 1, shape.team),
                         Block{f, a});
  };
  return b;
}
}  // namespace impl

/// \brief Initial walkers in a small Gaussian ball, emcee's `center + scale * randn(nwalkers, ndim)`:
/// walker w, parameter d is center[d] + scale · N(0, 1) from the counter-based stream of `seed` (nwalkers × ndim).
inline Array<double, 2> gaussian_ball(const std::vector<double>& center, double scale, std::size_t nwalkers,
                                      std::uint64_t seed = 0) {
  if (center.empty() || nwalkers == 0 || !(scale >= 0.0))
    throw ValueError(nabla::impl::cat("nabla::sampling::gaussian_ball: need ndim >= 1, nwalkers >= 1 and scale >= 0, got ",
                                      center.size(), ", ", nwalkers, ", ", scale));
  const std::size_t ndim = center.size();
  Array<double, 2> x({nwalkers, ndim}, "nabla::sampling::gaussian_ball", uninitialized);
  auto h = Kokkos::create_mirror_view(x.view());
  const random::Key key = random::key(seed);
  for (std::size_t w = 0; w < nwalkers; ++w)
    for (std::size_t d = 0; d < ndim; ++d) h(w, d) = center[d] + scale * normal_at(key, w * ndim + d);
  Kokkos::deep_copy(x.view(), h);
  return x;
}

/// \brief emcee's EnsembleSampler on Kokkos.
class EnsembleSampler {
 public:
  /// \param nwalkers [in] walkers (>= 2·ndim unless options.live_dangerously; >= 3 with the DE move)
  /// \param ndim [in] parameters per walker (>= 1)
  /// \param log_prob [in] per-walker device functor or batched host callable (see the file comment)
  /// \param options [in] moves, seed, backend
  template <class F>
  EnsembleSampler(std::size_t nwalkers, std::size_t ndim, F log_prob, SamplerOptions options = {})
      : EnsembleSampler(nwalkers, ndim, to_batch(log_prob), std::move(options), 0) {
    if constexpr (!std::is_invocable<F&, const Array<double, 2>&, Array<double, 1>&>::value) {
      m_fused = impl::fused_split(log_prob);
      m_block = impl::fused_block(std::move(log_prob), nwalkers);
      m_tuner = impl::TeamTuner(int(m_block.shapes.size()));
    }
  }

  /// \brief Runs `nsteps` steps from `initial` (nwalkers × ndim), appending to the backend.
  void run_mcmc(const Array<double, 2>& initial, std::size_t nsteps, Progress progress = {});
  /// \brief Runs `nsteps` more steps from the last stored sample (resumes a run from its backend, e.g. a file).
  void run_mcmc(std::size_t nsteps, Progress progress = {});
  /// \brief Clears the backend (and its stored seed).
  void reset();

  std::size_t nwalkers() const { return m_nwalkers; }
  std::size_t ndim() const { return m_ndim; }
  std::size_t iteration() const { return m_backend->iteration(); }
  std::uint64_t seed() const { return m_options.seed; }
  Backend& backend() const { return *m_backend; }
  /// The current positions (nwalkers × ndim) and log-probabilities (device arrays).
  const Array<double, 2>& coords() const {
    sync_coords();
    return m_x;
  }
  const Array<double, 1>& log_prob() const { return m_lp; }

  HostArray<double, 3> get_chain(std::size_t thin = 1, std::size_t discard = 0) const {
    return m_backend->get_chain(thin, discard);
  }
  HostArray<double, 2> get_chain(flat_t f, std::size_t thin = 1, std::size_t discard = 0) const {
    return m_backend->get_chain(f, thin, discard);
  }
  HostArray<double, 2> get_log_prob(std::size_t thin = 1, std::size_t discard = 0) const {
    return m_backend->get_log_prob(thin, discard);
  }
  HostArray<double, 1> get_log_prob(flat_t f, std::size_t thin = 1, std::size_t discard = 0) const {
    return m_backend->get_log_prob(f, thin, discard);
  }
  std::vector<double> acceptance_fraction() const { return m_backend->acceptance_fraction(); }
  /// Mean of the acceptance fractions over walkers.
  double mean_acceptance_fraction() const;
  std::vector<double> get_autocorr_time(std::size_t discard = 0, std::size_t thin = 1, double c = 5.0,
                                        double tol = 50.0, bool quiet = false) const {
    return m_backend->get_autocorr_time(discard, thin, c, tol, quiet);
  }

 private:
  template <class F>
  static BatchLogProb to_batch(const F& f) {
    if constexpr (std::is_invocable<F&, const Array<double, 2>&, Array<double, 1>&>::value) {
      return BatchLogProb(f);
    } else {
      static_assert(std::is_invocable_r<double, const F&, const WalkerPoint&>::value,
                    "nabla::sampling::EnsembleSampler: log_prob must be a device functor double(const WalkerPoint&) "
                    "const, or a host callable void(const Array<double, 2>&, Array<double, 1>&)");
      static_assert(std::is_copy_constructible<F>::value,
                    "nabla::sampling::EnsembleSampler: a per-walker log_prob functor must be copyable");
      return impl::batch_log_prob(f);
    }
  }
  EnsembleSampler(std::size_t nwalkers, std::size_t ndim, BatchLogProb f, SamplerOptions options, int);

  void evaluate(int split, std::size_t step);
  impl::StepMove step_move(std::size_t t) const;
  void step(std::size_t t);
  std::size_t steps(std::size_t t, std::size_t n);
  void record();
  void store(std::size_t n);
  void reserve_block(std::size_t n);
  void reserve_rows(std::size_t n);
  void sync_coords() const;
  void set_coords(const Kokkos::View<const double**, Kokkos::LayoutLeft, DefaultMemorySpace>& x);
  std::size_t block_steps(std::size_t nsteps) const;
  [[noreturn]] void nan_error(std::size_t t0) const;
  void run(std::size_t nsteps, const Progress& progress);
  std::size_t split_size(int split, int nsplits) const { return impl::split_size(m_nwalkers, split, nsplits); }

  std::size_t m_nwalkers, m_ndim;
  BatchLogProb m_f;
  std::function<std::size_t(const impl::SplitArgs&)> m_fused;  // per-walker functors: one kernel per half-step
  impl::BlockLauncher m_block;  // ... or per block of steps (one rank)
  impl::TeamTuner m_tuner;  // shape of the block launches on host backends
  Kokkos::View<unsigned char*, DefaultMemorySpace> m_draws;  // of pipelined block launches
  SamplerOptions m_options;
  std::shared_ptr<Backend> m_backend;
  Array<double, 2> m_x;
  Array<double, 1> m_lp;
  Kokkos::View<std::uint8_t*, DefaultMemorySpace> m_accepted;
  Kokkos::View<const random::Key*, DefaultMemorySpace> m_keys;
  // Scratch per split count (2 for stretch, 3 for DE) and split: proposals, their log_prob, factors, log u.
  std::vector<Array<double, 2>> m_q;
  std::vector<Array<double, 1>> m_lq, m_factor, m_logu;
  std::vector<Array<double, 2>> m_q_local;
  std::vector<Array<double, 1>> m_lq_local;
  std::size_t m_local_begin = 0;
  int m_rank = 0, m_ranks = 1;
  // Steps computed but not yet stored (step × walker × dim, step × walker), their host mirrors, each step's move.
  Kokkos::View<double***, Kokkos::LayoutRight, DefaultMemorySpace> m_chain;
  Kokkos::View<double**, Kokkos::LayoutRight, DefaultMemorySpace> m_block_lp;
  Kokkos::View<std::uint8_t**, Kokkos::LayoutRight, DefaultMemorySpace> m_block_flags;
  Kokkos::View<impl::StepMove*, DefaultMemorySpace> m_moves;
  decltype(Kokkos::create_mirror_view(m_chain)) m_chain_host;
  decltype(Kokkos::create_mirror_view(m_block_lp)) m_block_lp_host;
  decltype(Kokkos::create_mirror_view(m_block_flags)) m_block_flags_host;
  decltype(Kokkos::create_mirror_view(m_moves)) m_moves_host;
  Kokkos::View<std::size_t*, DefaultMemorySpace> m_nan;
  // The state and proposals of the block path in impl::BlockLayout (the state aliases m_x where that is its layout).
  Kokkos::View<double**, impl::BlockLayout, DefaultMemorySpace> m_block_x, m_block_q;
  std::size_t m_pending_nan = impl::kNoNaN;
  bool m_direct = false;  // the last launch wrote into the backend's rows()
  // Which copy of the state is behind: m_x after block launches (until coords() or a half-step launch needs it),
  // m_block_x after m_x was set.
  mutable bool m_x_behind = false;
  bool m_block_behind = true;
};

}  // namespace sampling
}  // namespace nabla
