/// \file tuner.hpp
/// \brief TeamTuner: the choice among the shapes of block launches by timing the blocks themselves.
#pragma once

#include <algorithm>
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

}  // namespace impl
}  // namespace sampling
}  // namespace nabla
