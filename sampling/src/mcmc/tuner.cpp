#include <nabla/sampling/mcmc/impl/tuner.hpp>

#include <algorithm>
#include <deque>
#include <mutex>
#include <utility>

namespace nabla {
namespace sampling {
namespace impl {

namespace {

// A few keys suffice: one per kind of sampler a program makes over and over.
constexpr std::size_t kKeptKeys = 64;

struct Kept {
  std::mutex mutex;
  std::deque<std::pair<TeamTuner::Key, TeamTuner>> tuners;  // oldest first
};

Kept& kept() {
  static Kept k;
  return k;
}

}  // namespace

TeamTuner TeamTuner::recall(const Key& key) {
  Kept& k = kept();
  const std::lock_guard<std::mutex> lock(k.mutex);
  for (const auto& [kk, tuner] : k.tuners)
    if (kk == key) return tuner;
  return TeamTuner(key.options);
}

void TeamTuner::keep(const Key& key, const TeamTuner& tuner) {
  Kept& k = kept();
  const std::lock_guard<std::mutex> lock(k.mutex);
  const auto same = std::find_if(k.tuners.begin(), k.tuners.end(), [&](const auto& p) { return p.first == key; });
  if (same != k.tuners.end()) k.tuners.erase(same);
  if (k.tuners.size() >= kKeptKeys) k.tuners.pop_front();
  k.tuners.emplace_back(key, tuner);
}

TeamTuner::TeamTuner(int options, double worth)
    : m_options(std::max(1, std::min(options, max_options))), m_worth(worth) {}

int TeamTuner::next() const {
  bool opened = false;
  for (int o = 1; o < m_options; ++o) opened |= tried(o);
  if (!opened && (m_blocks < std::size_t(window) || estimate(0) < m_worth)) return 0;
  for (int o = 1; o < m_options; ++o)
    if (!tried(o)) return o;
  const int best = fastest();
  // The option whose turn is most overdue, if any is due.
  int due = best;
  double most = 1.0;
  for (int o = 0; o < m_options; ++o) {
    if (o == best) continue;
    const int shown = 1 << (std::min(m_count[o], window) - 1);
    const double r = std::min(double(shown), std::max(1.0, estimate(o) / estimate(best)));
    const double overdue = double(m_blocks - m_last[o]) / (double(explore_every) * r);
    if (overdue >= most) {
      most = overdue;
      due = o;
    }
  }
  return due;
}

std::size_t TeamTuner::steps(std::size_t per_launch) const {
  if (m_options == 1) return per_launch;
  const int o = next();
  if (!tried(o)) return std::min(per_launch, o == 0 ? first_steps : probe_steps);
  if (o != fastest()) return std::min(per_launch, probe_steps);
  return std::min(per_launch, std::max(probe_steps, grow * m_length[o]));
}

void TeamTuner::record(int option, double seconds_per_step, std::size_t steps) {
  // A turn that beats the option's history means the machine changed: the history is dropped.
  if (tried(option) && option != fastest() && seconds_per_step < estimate(option)) m_count[option] = 0;
  m_recent[option][m_count[option]++ % window] = Block{seconds_per_step, steps};
  m_length[option] = steps;
  m_last[option] = m_blocks++;
}

double TeamTuner::estimate(int option) const {
  const int k = std::min(m_count[option], window);
  if (k == 0) return 0.0;
  Block b[window];
  std::size_t total = 0;
  for (int i = 0; i < k; ++i) {
    b[i] = m_recent[option][i];
    b[i].steps = std::max<std::size_t>(b[i].steps, 1);
    total += b[i].steps;
  }
  std::sort(b, b + k, [](const Block& x, const Block& y) { return x.seconds_per_step < y.seconds_per_step; });
  // The first block at or past half of the steps: with equal blocks, the lower median.
  std::size_t below = 0;
  for (int i = 0; i < k; ++i)
    if (2 * (below += b[i].steps) >= total) return b[i].seconds_per_step;
  return b[k - 1].seconds_per_step;
}

int TeamTuner::fastest() const {
  int best = 0;
  for (int o = 1; o < m_options; ++o)
    if (tried(o) && (!tried(best) || estimate(o) < estimate(best))) best = o;
  return best;
}

}  // namespace impl
}  // namespace sampling
}  // namespace nabla
