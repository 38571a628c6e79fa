/// \file tuner.hpp
/// \brief TeamTuner: the choice among the shapes of block launches by timing the blocks themselves.
#pragma once

#include <cstddef>

namespace nabla {
namespace sampling {
namespace impl {

/// \brief Chooses among the shapes of block launches on host backends (one thread, a team of every thread, two
/// pipelined) by timing the blocks themselves. Small ensembles with a cheap log_prob can run faster on one thread,
/// whose cache holds every walker, than on several passing walkers between their caches twice per step; two
/// pipelined threads keep the walkers in one cache and draw the random numbers on the other; expensive log_probs
/// and large ensembles run faster on all. Which wins also depends on what else the machine runs: when another
/// process shares the cores, a team waits at every half-step for a member the scheduler took away, and its blocks
/// run 10-100x slower than one thread's; a short block may still pass inside one scheduler slice and look fast.
///
/// One thread runs first, and the others are tried only once its blocks are known (`window` of them) and a step
/// takes at least `worth` seconds: below that a team's barriers (about a microsecond per half-step on host) cost
/// more than sharing the step saves, and on a machine whose cores another process takes, a team's first block
/// alone costs a scheduler slice.
///
/// Once tried, the choice is revisited at a bounded cost: the fastest runs and each other option gets a turn once
/// every explore_every · r blocks, where r >= 1 is how many times slower it was (so exploring costs at most
/// 1/explore_every of the time per option, however slow an option became), counted only as far as its blocks show
/// it (r <= 2^(k-1) with k of its last `window` blocks): a single slow block (a first launch that woke sleeping
/// threads, a preemption) delays the option's next turn by one period, not by its ratio. Turns are short, and the
/// fastest option's blocks grow from its last one by `grow` at most, so a short block that looked fast buys a
/// block a few times longer, not a whole launch. Each option is judged by the step-weighted lower median of its
/// last `window` blocks (time per step): one preempted block does not move it, and a short lucky block cannot
/// outvote a long one. A turn faster than an option's history replaces it.
///
/// What a tuner learned outlives its sampler: `keep` stores it under a Key (the log_prob's type, the ensemble's
/// size, the shapes) and `recall` starts a new sampler of the same Key from it, so samplers made one after
/// another (a loop over data sets, a benchmark) do not each pay for trying a team on a busy machine, which costs
/// a scheduler slice or more. Chains do not depend on any of it.
class TeamTuner {
 public:
  static constexpr int window = 4, explore_every = 32, max_options = 3;
  static constexpr std::size_t first_steps = 2, probe_steps = 8, grow = 4;
  /// Seconds per step of one thread from which the other options are tried (host teams: see the class comment).
  static constexpr double team_worth = 4e-6;

  /// The kind of launch a tuner's findings apply to.
  struct Key {
    std::size_t log_prob_type = 0;  // typeid(F).hash_code()
    std::size_t nwalkers = 0, ndim = 0, largest_split = 0;
    int team = 0, options = 1;  // the largest team and how many shapes
    bool operator==(const Key& o) const {
      return log_prob_type == o.log_prob_type && nwalkers == o.nwalkers && ndim == o.ndim &&
             largest_split == o.largest_split && team == o.team && options == o.options;
    }
  };
  /// The tuner last kept under `key`, or a new one of key.options options.
  static TeamTuner recall(const Key& key);
  /// Keeps `tuner` as what launches of `key` have taught (the latest of a bounded number of keys).
  static void keep(const Key& key, const TeamTuner& tuner);

  /// `options` launch shapes, option 0 one thread; the others are tried from `worth` seconds per step of option 0.
  explicit TeamTuner(int options = 1, double worth = team_worth);
  int options() const { return m_options; }
  /// Whether `option` has run a block.
  bool tried(int option) const { return m_count[option] > 0; }
  /// The option of the next block.
  int next() const;
  /// Steps of the next block, of `per_launch` at most: option 0's first block first_steps, the others' first
  /// blocks and turns probe_steps, the fastest's block up to `grow` times its previous one.
  std::size_t steps(std::size_t per_launch) const;
  /// Records that a block of `steps` steps launched with `option` took `seconds_per_step` per step.
  void record(int option, double seconds_per_step, std::size_t steps);
  /// The current estimate of an option: the step-weighted lower median of its last `window` blocks, per step.
  double estimate(int option) const;
  /// The option of the lowest estimate, of those tried (0 before any).
  int fastest() const;

 private:
  struct Block {
    double seconds_per_step = 0;
    std::size_t steps = 0;
  };
  int m_options;
  double m_worth;
  std::size_t m_blocks = 0;
  int m_count[max_options] = {};
  std::size_t m_last[max_options] = {};    // the block of each option's latest turn
  std::size_t m_length[max_options] = {};  // the steps of each option's latest block
  Block m_recent[max_options][window] = {};
};

}  // namespace impl
}  // namespace sampling
}  // namespace nabla
