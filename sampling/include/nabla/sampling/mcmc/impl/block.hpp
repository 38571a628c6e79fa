/// \file block.hpp
/// \brief The launch engine of EnsembleSampler's per-walker log-probabilities, generic over the moves of
/// moves.hpp: one kernel per half-step (FusedSplit), or a whole block of steps per launch (FusedBlock: a team of
/// threads, or on host backends two threads pipelined), in the launch shape a TeamTuner picks.
#pragma once

#include <nabla/config.hpp>
#include <nabla/core/impl/exec_traits.hpp>
#include <nabla/core/impl/host_hints.hpp>
#include <nabla/core/launch.hpp>
#include <nabla/core/random.hpp>
#include <nabla/sampling/mcmc/impl/half_step.hpp>
#include <nabla/sampling/mcmc/log_prob.hpp>
#include <nabla/sampling/mcmc/moves.hpp>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <type_traits>
#include <vector>

namespace nabla {
namespace sampling {
namespace impl {

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

/// Accepts or rejects the proposal of sub-ensemble member i.
template <class A>
KOKKOS_INLINE_FUNCTION void accept(const A& s, std::size_t i, double lq, double factor, double logu) {
  const std::size_t w = s.walker(i);
  const bool yes = accepts(factor, lq, s.lp(w), logu);
  if (yes) {
    for (std::size_t d = 0; d < s.x.extent(1); ++d) s.x(w, d) = s.q(i, d);
    s.lp(w) = lq;
  }
  s.accepted(w) = yes ? 1 : 0;
}

/// The proposal of sub-ensemble member i alone, into row i of q, with its log factor and log u.
template <class A>
KOKKOS_INLINE_FUNCTION void propose(const A& s, const StepMove& m, std::size_t i, double& factor, double& logu) {
  visit_move(m, [&](const auto& move) {
    typename std::decay_t<decltype(move)>::template Draws<1> r;
    double f[1];
    move.template draw<1>(s, i, r);
    move.template apply<1>(s, i, r, f);
    factor = f[0];
    logu = r.logu[0];
  });
}

/// Propose, evaluate and accept a whole sub-ensemble in one kernel (per-walker log_prob, one rank); reduces the
/// index of the first NaN log_prob (n if none).
template <class F, class K, int L>
struct FusedSplit {
  F f;
  SplitArgs s;
  K move;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t g, std::size_t& bad) const {
    typename K::template Draws<L> r;
    double factor[L];
    move.template draw<L>(s, g * L, r);
    move.template apply<L>(s, g * L, r, factor);
    for (int l = 0; l < L; ++l) {
      const std::size_t i = g * L + std::size_t(l);
      if (i >= s.n) break;
      const double lq = f(WalkerPoint{&s.q(i, 0), s.q.stride(1), int(s.q.extent(1))});
      s.lq(i) = lq;
      if (lq != lq) {
        if (i < bad) bad = i;
        continue;
      }
      accept(s, i, lq, factor[l], r.logu[l]);
    }
  }
};

/// One half-step of a per-walker functor in one kernel; returns the member of the first NaN (s.n if none).
using FusedSplitLaunch = std::function<std::size_t(const SplitArgs&, const StepMove&)>;
/// Host backends always launch blocks (fused_block), so there it is empty and not compiled.
template <class F>
FusedSplitLaunch fused_split(F f) {
  if constexpr (std::is_same<DefaultMemorySpace, Kokkos::HostSpace>::value) {
    return {};
  } else {
    return [f](const SplitArgs& s, const StepMove& m) {
      std::size_t bad = s.n;
      if (s.n == 0) return bad;
      constexpr int L = ::nabla::impl::ExecTraits<Kokkos::DefaultExecutionSpace>::lanes;
      visit_move_on_host(m, [&](const auto& move) {
        using K = std::decay_t<decltype(move)>;
        Kokkos::parallel_reduce(fused_label<K>(),
                                Kokkos::RangePolicy<Kokkos::IndexType<std::size_t>>(default_instance(), 0,
                                                                                    groups_of<L>(s.n)),
                                FusedSplit<F, K, L>{f, s, move}, Kokkos::Min<std::size_t>(bad));
      });
      return bad;
    };
  }
}

/// Layout of the state a block of steps works on: a walker's parameters side by side on CPUs, where a proposal
/// reads a random walker's row (one or two cache lines, not ndim, and few of them owned by another core), and
/// walkers side by side on GPUs, where neighbouring threads read neighbouring walkers.
using BlockLayout = std::conditional_t<std::is_same<DefaultMemorySpace, Kokkos::HostSpace>::value,
                                       Kokkos::LayoutRight, Kokkos::LayoutLeft>;

/// \brief A block of steps in one launch: the state, one proposal buffer for every half-step (rows of the largest
/// sub-ensemble), each step's move, and the block's chain rows, log-probabilities and acceptance flags.
struct BlockArgs {
  EnsembleViews<BlockLayout> state;  // x, q, lp, accepted, keys
  Kokkos::View<const StepMove*, DefaultMemorySpace> moves;                 // moves(j): the move of step step0 + j
  Kokkos::View<double***, Kokkos::LayoutRight, DefaultMemorySpace> chain;  // step × walker × dim
  Kokkos::View<double**, Kokkos::LayoutRight, DefaultMemorySpace> log_prob;
  Kokkos::View<std::uint8_t**, Kokkos::LayoutRight, DefaultMemorySpace> flags;
  Kokkos::View<std::size_t*, DefaultMemorySpace> nan;  // j · nwalkers + w of a half-step's first NaN, by parity
  const std::uint32_t* orders = nullptr;  // random splits: step j's walker order from orders + j · nwalkers
  std::uint64_t step0;
  std::size_t nsteps, nwalkers;
  bool stream = false;  // host rows: the backend asks for stores around the caches (Backend::Rows)
  // Host teams of two may pipeline: one member draws the coming half-steps' random numbers into `draws` (see
  // FusedBlock::pipeline) while the other moves the walkers.
  bool pipelined = false;
  Kokkos::View<unsigned char*, DefaultMemorySpace> draws;

  /// Half-step k of S of step j of the block.
  template <bool Scattered>
  KOKKOS_INLINE_FUNCTION HalfStep<BlockLayout, Scattered> half(std::size_t j, int k, int S) const {
    return half_step<Scattered>(state, Scattered ? orders + j * nwalkers : nullptr, nwalkers, step0 + j, k, S);
  }
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

  static constexpr bool rows = std::is_same<BlockLayout, Kokkos::LayoutRight>::value;  // unit stride along d
  template <class Args>
  KOKKOS_INLINE_FUNCTION void walkers(const Args& s, const StepMove& m, std::size_t g, std::size_t j, int parity) const {
    visit_move(m, [&](const auto& mv) {
      typename std::decay_t<decltype(mv)>::template Draws<L> r;
      mv.template draw<L>(s, g * L, r);
      move(s, mv, g, j, parity, r);
    });
  }

  /// Moves sub-ensemble members gL .. gL + L - 1 with their draws r: the move's proposals, then finish().
  template <class Args, class K>
  KOKKOS_INLINE_FUNCTION void move(const Args& s, const K& mv, std::size_t g, std::size_t j, int parity,
                                   const typename K::template Draws<L>& r) const {
    double factor[L];
    record_before(s, g, j);
    mv.template apply<L>(s, g * L, r, factor);
    finish(s, g, j, parity, factor, r.logu);
  }

  /// Host rows, fixed split: the first half-step of a step records the previous step's rows of the walkers it is
  /// about to move and of those between them (contiguous, and unchanged until the next half-step), so that the
  /// chain's stores, bound by memory bandwidth, overlap the moves' arithmetic instead of stalling a pass of their
  /// own. A random split scatters a group's walkers: each is recorded when it moves (as on GPUs).
  template <class Args>
  KOKKOS_INLINE_FUNCTION void record_before(const Args& s, std::size_t g, std::size_t j) const {
    if (rows && !Args::scattered && s.k == 0 && j > 0) {
      const std::size_t r1 = s.nsplits * (g * L + L);
      record_rows(j - 1, s.nsplits * g * L, r1 < b.nwalkers ? r1 : b.nwalkers);
    }
  }

  /// Evaluates, accepts and (on GPUs, or with a random split) records the proposals of members gL .. gL + L - 1.
  /// The same for every move, so instantiated once per log_prob.
  template <class Args>
  KOKKOS_INLINE_FUNCTION void finish(const Args& s, std::size_t g, std::size_t j, int parity, const double* factor,
                                     const double* logu) const {
    const std::size_t i0 = g * L, m = group_size<L>(s.n, i0);
    constexpr bool at_move = !rows || Args::scattered;
    double lq[L];
    NABLA_SIMD
    for (std::size_t l = 0; l < m; ++l) lq[l] = f(WalkerPoint{&s.q(i0 + l, 0), s.q.stride(1), int(s.q.extent(1))});
    for (std::size_t l = 0; l < m; ++l) {
      const std::size_t i = i0 + l, w = s.walker(i);
      if (lq[l] != lq[l]) {
        Kokkos::atomic_fetch_min(&b.nan(parity), j * b.nwalkers + w);
        continue;
      }
      // Accept (and, on GPUs, record) in one pass that picks the new state's row rather than branching on the coin
      // flip (a select inside the row loop is hoisted by GCC into two loops behind a branch). A rejected walker's
      // row is rewritten unchanged, which costs teams of several threads some cache-line transfers, and the
      // tuning of the launch shape weighs that.
      const bool yes = accepts(factor[l], lq[l], s.lp(w), logu[l]);
      const double* from = pick(yes, &s.q(i, 0), &s.x(w, 0));
      const std::size_t stride = rows ? 1 : yes ? s.q.stride(1) : s.x.stride(1);
      NABLA_SIMD
      for (std::size_t d = 0; d < s.x.extent(1); ++d) {
        const double v = from[d * stride];
        s.x(w, d) = v;
        if (!rows) b.chain(j, w, d) = v;
      }
      if (rows && at_move) {
        NABLA_SIMD
        for (std::size_t d = 0; d < s.x.extent(1); ++d) b.chain(j, w, d) = s.x(w, d);
      }
      const double lp = *pick(yes, &lq[l], &s.lp(w));
      s.lp(w) = lp;
      s.accepted(w) = yes;
      if (at_move) {
        b.log_prob(j, w) = lp;
        b.flags(j, w) = yes;
      }
    }
  }

  /// Host rows: copies rows r0 .. r1 - 1 of the state, their log_prob and flags, into step j's chain rows.
  KOKKOS_INLINE_FUNCTION void record_rows(std::size_t j, std::size_t r0, std::size_t r1) const {
    const std::size_t D = b.state.x.extent(1);
    const double* x = b.state.x.data() + r0 * D;  // a whole allocation of the sampler's: rows of D, contiguous
    double* c = &b.chain(j, r0, 0);
    double* lp = &b.log_prob(j, r0);
    const double* lp_now = b.state.lp.data() + r0;
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
    const std::uint8_t* accepted = b.state.accepted.data() + r0;
    NABLA_SIMD
    for (std::size_t i = 0; i < r1 - r0; ++i) flags[i] = accepted[i];
  }

  /// Host rows, fixed split: the last step's chain rows, split among the members (the others are recorded by
  /// move()).
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
  static constexpr std::size_t draw_slot = (max_draw_bytes<L>() + 63) / 64 * 64;  // bytes per group's draws
  /// Bytes of `draws` a pipelined block over `nwalkers` walkers takes (groups of the largest sub-ensemble, all
  /// walkers, per half-step).
  static std::size_t draw_bytes(std::size_t nwalkers) { return header + ring * groups_of<L>(nwalkers) * draw_slot; }

  /// Host teams of two, pipelined: member 1 draws the random numbers of the coming half-steps (up to `ring` ahead)
  /// while member 0 moves the walkers with those drawn before. The draws are pure functions of (seed, walker,
  /// step), so the chain is the same; the member moving the walkers is their only writer and reader, so no cache
  /// line of the state passes between cores, and the draws (Philox and two logs per walker) leave its path. The
  /// two hand over through counters, not barriers: the mover waits only when the drawer falls behind.
  template <bool Scattered, class Member>
  KOKKOS_INLINE_FUNCTION void pipeline(const Member& team) const {
    unsigned char* const base = b.draws.data();
    volatile std::size_t* const drawn = reinterpret_cast<std::size_t*>(base);
    volatile std::size_t* const moved = reinterpret_cast<std::size_t*>(base + 64);
    volatile std::size_t* const stop = reinterpret_cast<std::size_t*>(base + 128);
    const std::size_t slot = groups_of<L>(b.nwalkers) * draw_slot;
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
        const auto s = b.template half<Scattered>(j, k, m.nsplits);
        unsigned char* const draws = base + header + (h % ring) * slot;
        if (team.team_rank() == 1) {
          for (unsigned round = 0; h >= *moved + ring;) {  // the mover still reads this slot
            if (*stop) return;
            nabla::impl::spin_wait(round);
          }
          Kokkos::memory_fence();
          visit_move(m, [&](const auto& mv) {
            using D = typename std::decay_t<decltype(mv)>::template Draws<L>;
            for (std::size_t g = 0; g < groups_of<L>(s.n); ++g)
              mv.template draw<L>(s, g * L, *reinterpret_cast<D*>(draws + g * draw_slot));
          });
          Kokkos::memory_fence();
          *drawn = h + 1;
        } else {
          for (unsigned round = 0; *drawn <= h;) nabla::impl::spin_wait(round);
          Kokkos::memory_fence();
          visit_move(m, [&](const auto& mv) {
            using D = typename std::decay_t<decltype(mv)>::template Draws<L>;
            for (std::size_t g = 0; g < groups_of<L>(s.n); ++g)
              move(s, mv, g, j, parity, *reinterpret_cast<const D*>(draws + g * draw_slot));
          });
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
      if (!Scattered) record_rows(b.nsteps - 1, 0, b.nwalkers);
      if (b.stream) nabla::impl::stream_fence();
    }
  }

  template <class Member>
  KOKKOS_INLINE_FUNCTION void operator()(const Member& team) const {
    if (b.orders)
      run<true>(team);
    else
      run<false>(team);
  }

  template <bool Scattered, class Member>
  KOKKOS_INLINE_FUNCTION void run(const Member& team) const {
    if constexpr (rows) {
      if (b.pipelined) return pipeline<Scattered>(team);
    }
    int parity = 0;
    for (std::size_t j = 0; j < b.nsteps; ++j) {
      const StepMove m = b.moves(j);
      for (int k = 0; k < m.nsplits; ++k, parity ^= 1) {
        const auto s = b.template half<Scattered>(j, k, m.nsplits);
        Kokkos::parallel_for(Kokkos::TeamThreadRange(team, groups_of<L>(s.n)),
                             [&](std::size_t g) { walkers(s, m, g, j, parity); });
        if (rows && b.stream) nabla::impl::stream_fence();
        team.team_barrier();
        // Every member reads this parity's flag before any member can pass the next barrier, and the next
        // half-step writes the other parity's, so all members leave together.
        if (*static_cast<const volatile std::size_t*>(&b.nan(parity)) != kNoNaN) return;
      }
    }
    if constexpr (rows && !Scattered) record(team, b.nsteps - 1);
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
  /// The log_prob of every walker (rows of x) into lp, on the threads of `shape`.
  std::function<void(const Array<double, 2>::view_type&, const Array<double, 1>::view_type&, BlockShape)> evaluate;
  int most = 0;  // 0: no block launches (the sampler launches per half-step)
  std::vector<BlockShape> shapes;  // host backends: a TeamTuner chooses; GPUs: one
  std::size_t draw_bytes = 0;      // of BlockArgs::draws, for a pipelined shape
};

/// The block launcher of a per-walker functor for `nwalkers` walkers whose largest sub-ensemble has `largest`: on
/// host backends one thread, a team of up to every thread (one per group of L walkers at most) and two pipelined
/// threads; on GPUs one block if it holds the largest sub-ensemble, else none.
template <class F>
BlockLauncher fused_block(F f, std::size_t nwalkers, std::size_t largest) {
  using Exec = Kokkos::DefaultExecutionSpace;
  constexpr int L = ::nabla::impl::ExecTraits<Exec>::lanes;
  using Block = FusedBlock<F, L>;
  const std::size_t groups = groups_of<L>(largest);
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
  // A team of one runs on the calling thread alone: the pool's other threads sleep rather than join. Inside a task,
  // teams run on the task's instance, and one wider than the task's partition runs as a team of one.
  const auto fit = [](BlockShape shape) {
    return shape.team > default_instance<Exec>().concurrency() ? BlockShape{1, false} : shape;
  };
  const auto space = [](BlockShape shape) {
    return shape.team == 1 ? launch_space<Exec>(0) : default_instance<Exec>();
  };
  b.launch = [f, fit, space](BlockArgs a, BlockShape shape) {
    shape = fit(shape);
    a.pipelined = shape.pipelined;
    Kokkos::parallel_for("nabla::sampling::EnsembleSampler::steps", Kokkos::TeamPolicy<Exec>(space(shape), 1, shape.team),
                         Block{f, a});
  };
  b.evaluate = [f, fit, space](const Array<double, 2>::view_type& x, const Array<double, 1>::view_type& lp,
                               BlockShape shape) { per_walker_log_prob(space(fit(shape)), f, x, lp); };
  return b;
}

}  // namespace impl
}  // namespace sampling
}  // namespace nabla
