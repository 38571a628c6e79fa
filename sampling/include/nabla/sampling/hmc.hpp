/// \file hmc.hpp
/// \brief Hamiltonian Monte Carlo over thousands of chains in lockstep, in emcee's vocabulary:
/// `HamiltonianSampler<D, F>(chains, log_density, options)`, `run(initial, steps, warmup)`, `get_chain(thin,
/// discard)`, the same memory and HDF5 backends as EnsembleSampler (the chain in emcee's layout).
///
/// The log-density is a per-chain device functor of a D-dimensional point, generic in its scalar
/// (`template <class T> KOKKOS_INLINE_FUNCTION T operator()(const Kokkos::Array<T, D>& x) const`: the gradient
/// comes from forward-mode duals), or one that also has `double value_and_gradient(const hmc::Vec<D>& x,
/// hmc::Vec<D>& g) const` (used instead), or a batched target: array code on the tape taking every chain's position
/// (`ad::Var<double, 1> operator()(const ad::Var<double, 2>&) const`, hmc/batched.hpp), its gradients from one
/// reverse sweep, its trajectories (ChEES or NUTS) in lockstep. Non-finite values along a trajectory are divergences:
/// the proposal is rejected and counted, never an error.
///
/// Trajectories are either static and jittered (transition t runs ⌈u T / ε⌉ leapfrog steps, u ~ U[0, 1), the
/// length T adapted by ChEES) or NUTS's (`HmcTrajectory::nuts`: doubled until they turn, hmc/nuts.hpp). Warm-up
/// adapts, across all chains: the step size (dual averaging toward `target_accept`), T (ChEES only) and a diagonal
/// mass matrix (the cross-chain variance). Each warm-up transition is three launches (the transitions and two fixed-order
/// reductions); sampling runs a whole block of transitions of every chain in ONE launch.
///
/// The adaptation goes into the backend with the chain (`sampler_state`), so a sampler given a backend that holds
/// a chain of its own (an HDF5 file after a kill) continues it with `run(steps)`, bit for bit as if uninterrupted.
#pragma once

#include <nabla/config.hpp>
#include <nabla/core/array.hpp>
#include <nabla/core/error.hpp>
#include <nabla/sampling/hmc/adapt.hpp>
#include <nabla/sampling/hmc/batched.hpp>
#include <nabla/sampling/hmc/transition.hpp>
#include <nabla/sampling/mcmc/backend.hpp>
#include <nabla/sampling/mcmc/impl/together.hpp>
#if NABLA_ENABLE_MPI
#include <nabla/core/mpi.hpp>
#include <optional>
#endif

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

namespace nabla {
namespace sampling {

/// \brief How long a transition's trajectory runs.
enum class HmcTrajectory {
  chees,  ///< a jittered fixed length T, adapted across chains by ChEES: every chain does about the same work
  nuts    ///< No-U-Turn: each chain doubles its trajectory until it turns (at most 2^max_tree_depth − 1 steps)
};

/// \brief Options of a HamiltonianSampler.
struct HmcOptions {
  std::uint64_t seed = 0;            ///< seed of every random number of the run
  double step_size = 0.1;            ///< initial leapfrog step ε; warm-up adapts it
  double trajectory_length = 1.0;    ///< initial trajectory length T; warm-up adapts it (ChEES)
  double target_accept = 0.75;       ///< mean acceptance probability warm-up adapts ε to
  int max_leapfrog = 1000;           ///< leapfrog steps per transition at most (ChEES)
  HmcTrajectory trajectory = HmcTrajectory::chees;
  int max_tree_depth = 10;           ///< doublings of a NUTS trajectory at most, 1 to hmc::kMaxTreeDepth
  bool adapt_mass = true;            ///< diagonal inverse mass = cross-chain variance, during warm-up
  std::size_t steps_per_launch = 0;  ///< transitions per launch when sampling; 0 chooses. Chains do not depend on it
  std::shared_ptr<Backend> backend;  ///< default: a MemoryBackend
  /// The run's data and model settings, recorded with a new chain and checked on resume (SamplerOptions::settings)
  Settings settings;
#if NABLA_ENABLE_MPI
  /// Split the chains over the ranks of this communicator, in blocks of 64 so that the warm-up's cross-chain sums
  /// add in the one-rank order: each rank advances its share, and every rank gets the whole chain of a one-rank
  /// run, bit for bit. Every rank stores into its own backend: give rank 0 the file, the others a MemoryBackend.
  /// Resuming needs the chain in every rank's backend (ranks that disagree on it are refused on every rank).
  std::optional<mpi::Comm> comm;
#endif
};

/// \brief HMC statistics of the stored transitions, steps × chains each (tree_depth: NUTS's doublings, else 0).
struct HmcStats {
  HostArray<double, 2> accept_prob, energy, divergent, leapfrog, tree_depth;
};

template <int D, class F>
class HamiltonianSampler {
  static_assert(D >= 1, "nabla::sampling::HamiltonianSampler: D must be at least 1");
  using Mem = DefaultMemorySpace;
  using Exec = Kokkos::DefaultExecutionSpace;
  using Views = hmc::impl::Views<Mem>;
  using Policy = Kokkos::RangePolicy<Exec, Kokkos::IndexType<std::size_t>>;
  static constexpr bool kBatched = hmc::is_batched<F>::value;
  struct PerChain {  // the one-thread-per-chain kernel needs no host-side engine
    explicit PerChain(std::size_t) {}
  };
  using Engine = std::conditional_t<kBatched, hmc::impl::Batched<D, F, Mem>, PerChain>;

 public:
  HamiltonianSampler(std::size_t chains, F log_density, HmcOptions opt = {})
      : m_f(log_density), m_opt(std::move(opt)), m_chains(chains) {
    const auto bad = [](const char* what, double v, const char* must) {
      return ValueError(nabla::impl::cat("nabla::sampling::HamiltonianSampler: ", what, " must be ", must, ", got ", v));
    };
    if (chains == 0) throw bad("the number of chains", 0.0, "at least 1");
    if (!(m_opt.step_size > 0.0) || !std::isfinite(m_opt.step_size)) throw bad("step_size", m_opt.step_size, "> 0");
    if (!(m_opt.trajectory_length > 0.0) || !std::isfinite(m_opt.trajectory_length))
      throw bad("trajectory_length", m_opt.trajectory_length, "> 0");
    if (!(m_opt.target_accept > 0.0 && m_opt.target_accept < 1.0))
      throw bad("target_accept", m_opt.target_accept, "in (0, 1)");
    if (m_opt.max_leapfrog < 1) throw bad("max_leapfrog", m_opt.max_leapfrog, "at least 1");
    if (m_opt.max_tree_depth < 1 || m_opt.max_tree_depth > hmc::kMaxTreeDepth)
      throw bad("max_tree_depth", m_opt.max_tree_depth, "in 1 .. 10");
    if (!m_opt.backend) m_opt.backend = std::make_shared<MemoryBackend>();
    validate_settings(m_opt.settings, "nabla::sampling::HamiltonianSampler");
    share_chains();
    m_engine = std::make_unique<Engine>(m_local);
    m_q = typename Views::Rows("nabla::sampling::hmc::q", m_local, D);
    m_g = typename Views::Rows("nabla::sampling::hmc::g", m_local, D);
    m_logp = typename Views::Column("nabla::sampling::hmc::logp", m_local);
    reset();
    if (m_opt.backend->initialized() && m_opt.backend->iteration() > 0) resume();
  }

  /// Starts every chain at its row of `initial` (chains × D), runs `warmup` adapting transitions (not stored),
  /// then stores `steps` transitions. Starts afresh, as a new sampler with the same options would: stored
  /// transitions, counters and adaptation are discarded.
  void run(const Array<double, 2>& initial, std::size_t steps, std::size_t warmup = 0) {
    if (initial.extent(0) != m_chains || initial.extent(1) != std::size_t(D))
      throw ShapeError(nabla::impl::cat("nabla::sampling::HamiltonianSampler::run: the initial state is ",
                                        to_string(initial.shape()), ", the sampler has ", m_chains, " chains of ",
                                        D, " dimensions"));
    reset();
    Kokkos::parallel_for("nabla::sampling::hmc::load", Policy(default_instance(), 0, m_local),
                         hmc::impl::Load<D, Mem>{initial.view(), m_q, m_first});
    evaluate();
    check_initial();
    m_gradients = m_chains;
    m_opt.backend->reset(m_chains, D);
    m_opt.backend->set_seed(m_opt.seed);
    m_opt.backend->set_settings(m_opt.settings);
    m_started = true;
    warm_up(warmup);
    m_warmup = warmup;
    m_opt.backend->set_sampler_state(state());
    sample(steps);
  }

  /// Stores `steps` more transitions from where the last run ended, or where the backend's chain ends.
  void run(std::size_t steps) {
    if (!m_started)
      throw ValueError("nabla::sampling::HamiltonianSampler::run: nothing to continue; give an initial state");
    sample(steps);
  }

  // ---- emcee's accessors ----
  HostArray<double, 3> get_chain(std::size_t thin = 1, std::size_t discard = 0) const {
    return m_opt.backend->get_chain(thin, discard);
  }
  HostArray<double, 2> get_chain(flat_t f, std::size_t thin = 1, std::size_t discard = 0) const {
    return m_opt.backend->get_chain(f, thin, discard);
  }
  HostArray<double, 2> get_log_prob(std::size_t thin = 1, std::size_t discard = 0) const {
    return m_opt.backend->get_log_prob(thin, discard);
  }
  HostArray<double, 1> get_log_prob(flat_t f, std::size_t thin = 1, std::size_t discard = 0) const {
    return m_opt.backend->get_log_prob(f, thin, discard);
  }
  std::size_t iteration() const { return m_opt.backend->iteration(); }
  std::vector<double> acceptance_fraction() const { return m_opt.backend->acceptance_fraction(); }
  Backend& backend() const { return *m_opt.backend; }

  // ---- HMC's own ----
  /// Acceptance probability, energy H of the kept state, divergence (0/1), leapfrog steps and NUTS tree depth of
  /// every stored
  /// transition (steps × chains) this sampler ran: after resuming a backend's chain, those since. So are the
  /// counters below.
  HmcStats stats() const {
    const std::size_t n = m_stats.size() / (m_chains * hmc::impl::kStats);
    HmcStats s{HostArray<double, 2>({n, m_chains}), HostArray<double, 2>({n, m_chains}),
               HostArray<double, 2>({n, m_chains}), HostArray<double, 2>({n, m_chains}),
               HostArray<double, 2>({n, m_chains})};
    for (std::size_t t = 0; t < n; ++t)
      for (std::size_t c = 0; c < m_chains; ++c) {
        const double* r = &m_stats[(t * m_chains + c) * hmc::impl::kStats];
        s.accept_prob.view()(t, c) = r[hmc::impl::kAcceptProb];
        s.energy.view()(t, c) = r[hmc::impl::kEnergy];
        s.divergent.view()(t, c) = r[hmc::impl::kDivergent];
        s.leapfrog.view()(t, c) = r[hmc::impl::kLeapfrog];
        s.tree_depth.view()(t, c) = r[hmc::impl::kTreeDepth];
      }
    return s;
  }
  /// Divergent transitions among the stored ones, and during warm-up (where step sizes too large are tried).
  std::size_t divergences() const { return m_divergences; }
  std::size_t warmup_divergences() const { return m_warmup_divergences; }
  /// Log-density gradients evaluated so far, warm-up included (the cost measure of gradient-based samplers).
  std::size_t gradient_evaluations() const { return m_gradients; }
  /// E-BFMI of each chain's stored transitions: Σ (E_t − E_{t−1})² / Σ (E_t − Ē)²; below 0.3 is a warning sign.
  std::vector<double> ebfmi() const {
    const std::size_t n = m_stats.size() / (m_chains * hmc::impl::kStats);
    const auto e = [&](std::size_t t, std::size_t c) {
      return m_stats[(t * m_chains + c) * hmc::impl::kStats + hmc::impl::kEnergy];
    };
    std::vector<double> out(m_chains, std::nan(""));
    for (std::size_t c = 0; c < m_chains && n > 1; ++c) {
      double mean = 0.0;
      for (std::size_t t = 0; t < n; ++t) mean += e(t, c) / double(n);
      double num = 0.0, den = 0.0;
      for (std::size_t t = 0; t < n; ++t) {
        den += (e(t, c) - mean) * (e(t, c) - mean);
        if (t > 0) num += (e(t, c) - e(t - 1, c)) * (e(t, c) - e(t - 1, c));
      }
      out[c] = num / den;
    }
    return out;
  }
  double step_size() const { return m_eps; }
  double trajectory_length() const { return m_length; }
  std::vector<double> inverse_mass() const { return std::vector<double>(m_inv_mass.data(), m_inv_mass.data() + D); }
  std::size_t chains() const { return m_chains; }

 private:
  void reset() {
    m_eps = m_opt.step_size;
    m_length = m_opt.trajectory_length;
    for (int i = 0; i < D; ++i) m_inv_mass[i] = 1.0;
    m_transitions = m_warmup = 0;
    m_gradients = m_divergences = m_warmup_divergences = 0;
    m_stats.clear();
    m_started = false;
  }

  // The adaptation as one line: integers in decimal, doubles in hexadecimal (exact both ways).
  std::string state() const {
    std::ostringstream os;
    const auto hex = [&](double v) {
      char buf[40];
      std::snprintf(buf, sizeof buf, " %a", v);
      os << buf;
    };
    os << "nabla::sampling::HamiltonianSampler 1 dim " << D << " warmup " << m_warmup << " step_size";
    hex(m_eps);
    os << " trajectory_length";
    hex(m_length);
    os << " inverse_mass";
    for (int i = 0; i < D; ++i) hex(m_inv_mass[i]);
    os << " trajectory " << trajectory_name();
    return os.str();
  }

  // Continues the backend's chain: its last row is every chain's state, the adaptation its sampler_state. Each
  // rank checks and reads its own backend; a failure on one rank fails on every rank (before check_initial's
  // collectives).
  void resume() {
    HostArray<double, 2> last;
    impl::on_every_rank(m_opt, [&] { last = read_resume(); });
    Array<double, 2> q({m_chains, std::size_t(D)}, "nabla::sampling::hmc::resume");
    Kokkos::deep_copy(q.view(), last.view());
    Kokkos::parallel_for("nabla::sampling::hmc::load", Policy(default_instance(), 0, m_local),
                         hmc::impl::Load<D, Mem>{q.view(), m_q, m_first});
    evaluate();
    check_initial();
    m_gradients = m_chains;
    m_transitions = m_warmup + m_opt.backend->iteration();
    m_started = true;
  }

  // resume()'s checks of the backend's chain (shape, seed, settings, the HDF5 adaptation) and its last row; sets
  // the adaptation. No collective.
  HostArray<double, 2> read_resume() {
    Backend& b = *m_opt.backend;
    const auto who = [&] { return nabla::impl::cat("nabla::sampling::HamiltonianSampler: the ", b.describe()); };
    if (b.nwalkers() != m_chains || b.ndim() != std::size_t(D))
      throw ValueError(nabla::impl::cat(who(), " holds a chain of ", b.nwalkers(), " chains x ", b.ndim(),
                                        " dims, not ", m_chains, " x ", D));
    const auto seed = b.seed();
    if (seed && *seed != m_opt.seed)
      throw ValueError(nabla::impl::cat(who(), " was written with seed ", *seed, " but the sampler has seed ",
                                        m_opt.seed, "; use the same seed to resume (or reset the backend)"));
    check_settings(b, m_opt.settings, "nabla::sampling::HamiltonianSampler");
    const auto text = b.sampler_state();
    if (!text)
      throw ValueError(nabla::impl::cat(who(), " holds ", b.iteration(),
                                        " steps but no HMC adaptation (another sampler wrote them?); reset it, or "
                                        "start with run(initial, steps, warmup)"));
    std::istringstream is(*text);
    std::string tag, key;
    int version = 0, dim = 0;
    std::size_t warmup = 0;
    const auto number = [&](const char* name) {
      std::string word;
      is >> word;
      char* end = nullptr;
      const double v = std::strtod(word.c_str(), &end);
      if (word.empty() || *end != '\0' || !(v > 0.0) || !std::isfinite(v))
        throw ValueError(nabla::impl::cat(who(), ": its HMC state has ", name, " '", word, "', not a number > 0"));
      return v;
    };
    is >> tag >> version >> key >> dim;
    if (tag != "nabla::sampling::HamiltonianSampler" || version != 1 || key != "dim" || dim != D)
      throw ValueError(nabla::impl::cat(who(), " holds a sampler state this HamiltonianSampler<", D,
                                        "> cannot read: '", *text, "'"));
    is >> key >> warmup >> key;
    m_eps = number("step_size");
    is >> key;
    m_length = number("trajectory_length");
    is >> key;
    for (int i = 0; i < D; ++i) m_inv_mass[i] = number("inverse_mass");
    std::string kind;
    is >> key >> kind;
    if (key != "trajectory" || kind != trajectory_name())
      throw ValueError(nabla::impl::cat(who(), " holds a chain of ", kind.empty() ? "unknown" : kind.c_str(),
                                        " trajectories; this sampler runs ", trajectory_name(), " ones"));
    m_warmup = warmup;
    return b.get_last_sample();
  }

  bool nuts() const { return m_opt.trajectory == HmcTrajectory::nuts; }
  const char* trajectory_name() const { return nuts() ? "nuts" : "chees"; }

  // Log-density and gradient at every chain's position (a start, or a resumed chain's last draw).
  void evaluate() {
    if constexpr (kBatched) {
      m_engine->evaluate(m_f, m_q, m_g, m_logp);
    } else {
      hmc::impl::Transitions<D, F, Mem> t{m_f, m_q, m_g, m_logp, params(0), {}, true};
      Kokkos::parallel_for("nabla::sampling::hmc::evaluate", Policy(default_instance(), 0, m_local), t);
    }
  }

  // `steps` transitions of every chain, recorded into `out`.
  void advance(std::size_t steps, const hmc::impl::Records<Mem>& out) {
    if constexpr (kBatched) {
      m_engine->run(m_f, m_q, m_g, m_logp, params(steps), out);
    } else {
      Kokkos::parallel_for("nabla::sampling::hmc::transitions", Policy(default_instance(), 0, m_local),
                           hmc::impl::Transitions<D, F, Mem>{m_f, m_q, m_g, m_logp, params(steps), out, false});
    }
  }

  // Every rank throws alike (naming the first such chain of all), so no rank waits in a collective.
  void check_initial() const {
    const auto logp = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), m_logp);
    std::size_t bad = m_chains;
    for (std::size_t c = 0; c < m_local && bad == m_chains; ++c)
      if (!std::isfinite(logp(c))) bad = m_first + c;
#if NABLA_ENABLE_MPI
    if (m_opt.comm) bad = m_opt.comm->allreduce(bad, mpi::Op::min);
#endif
    if (bad == m_chains) return;
    double value = bad >= m_first && bad < m_first + m_local ? logp(bad - m_first) : 0.0;
#if NABLA_ENABLE_MPI
    if (m_opt.comm) value = m_opt.comm->allreduce(value, mpi::Op::sum);  // + 0.0 from the other ranks
#endif
    throw ValueError(nabla::impl::cat("nabla::sampling::HamiltonianSampler::run: chain ", bad,
                                      " starts where the log-density is ", value, "; start where it is finite"));
  }

  // This rank's chains [m_first, m_first + m_local): whole blocks of kChainsPerPartial, as evenly as blocks go.
  void share_chains() {
    using hmc::impl::kChainsPerPartial;
    std::size_t rank = 0, ranks = 1;
#if NABLA_ENABLE_MPI
    if (m_opt.comm) {
      const mpi::Comm& c = *m_opt.comm;
      const char* who = "nabla::sampling::HamiltonianSampler";
      c.check_same(m_chains, who, "number of chains");
      c.check_same(std::size_t(D), who, "number of dimensions");
      c.check_same(std::size_t(m_opt.seed), who, "seed");
      c.check_same(std::size_t(settings_hash(m_opt.settings)), who, "run settings");
      // Resuming is collective: a rank whose backend lacks the chain would leave the others waiting (and one
      // whose file cannot be read fails on every rank).
      const Backend& b = *m_opt.backend;
      std::size_t stored = 0;
      impl::on_every_rank(m_opt, [&] { stored = b.initialized() ? b.iteration() : 0; });
      c.check_same(stored, who, "number of stored steps (resuming needs the chain on every rank)");
      rank = std::size_t(c.rank());
      ranks = std::size_t(c.size());
    }
#endif
    m_firsts.resize(ranks + 1);
    for (std::size_t r = 0; r <= ranks; ++r)
      m_firsts[r] = std::min(m_chains, blocks(m_chains) * r / ranks * kChainsPerPartial);
    m_first = m_firsts[rank];
    m_local = m_firsts[rank + 1] - m_first;
  }

  // Rows of every rank's chains (n steps × its chains × width each, in `mine`), as n × chains × width on every
  // rank: `mine` itself on one rank, else gathered into `all`.
  template <class T>
  const T* gather_rows(const T* mine, std::size_t n, std::size_t width, std::vector<T>& all) {
#if NABLA_ENABLE_MPI
    if (m_opt.comm && m_opt.comm->size() > 1) {
      const auto l = mpi::impl::layout(m_opt.comm->size(), "nabla::sampling::HamiltonianSampler", [&](int r) {
        return n * (m_firsts[std::size_t(r) + 1] - m_firsts[std::size_t(r)]) * width;
      });
      std::vector<T>& by_rank = std::get<std::vector<T>>(m_gathered);
      by_rank.resize(l.total);
      m_opt.comm->gatherv(mine, l, by_rank.data());
      all.resize(l.total);
      for (int r = 0; r < m_opt.comm->size(); ++r) {  // rank r's n × its chains × width, into place
        const std::size_t first = m_firsts[std::size_t(r)], m = m_firsts[std::size_t(r) + 1] - first;
        for (std::size_t t = 0; t < n; ++t)
          std::copy_n(by_rank.data() + l.displ_of(r) + t * m * width, m * width,
                      all.data() + (t * m_chains + first) * width);
      }
      return all.data();
    }
#endif
    (void)n, (void)width, (void)all;
    return mine;
  }

  hmc::impl::Params<D> params(std::size_t steps) const {
    return {m_inv_mass,     m_eps, m_length, m_opt.max_leapfrog, nabla::random::key(m_opt.seed), m_first,
            m_transitions, int(steps), nuts() ? m_opt.max_tree_depth : 0};
  }

  // Host sums of a kernel's per-block partials, every rank's, added in block order.
  template <class Partials>
  std::vector<double> reduce(const char* label, const Partials& p, std::size_t width) {
    Kokkos::parallel_for(label, Policy(default_instance(), 0, p.partials.extent(0)), p);
    const auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), p.partials);
    const double* partials = h.data();
#if NABLA_ENABLE_MPI
    std::vector<double> all;
    if (m_opt.comm && m_opt.comm->size() > 1) {  // every rank's blocks, in block order
      const auto l = mpi::impl::layout(m_opt.comm->size(), label, [&](int r) {
        return blocks(m_firsts[std::size_t(r) + 1] - m_firsts[std::size_t(r)]) * width;
      });
      all.resize(l.total);
      m_opt.comm->gatherv(h.data(), l, all.data());
      partials = all.data();
    }
#endif
    std::vector<double> sum(width, 0.0);
    for (std::size_t b = 0; b < blocks(m_chains); ++b)
      for (std::size_t k = 0; k < width; ++k) sum[k] += partials[b * width + k];
    return sum;
  }
  static std::size_t blocks(std::size_t chains) {
    return (chains + hmc::impl::kChainsPerPartial - 1) / hmc::impl::kChainsPerPartial;
  }

  void warm_up(std::size_t warmup) {
    if (warmup == 0) return;
    using namespace hmc::impl;
    const std::size_t C = m_chains, L = m_local;
    // NUTS adapts no trajectory length: its transitions leave no ChEES record (an empty one).
    WarmupRecord<Mem> rec;
    if (!nuts())
      rec = WarmupRecord<Mem>{typename Views::Rows("nabla::sampling::hmc::start", L, D),
                              typename Views::Rows("nabla::sampling::hmc::proposal", L, D),
                              typename Views::Rows("nabla::sampling::hmc::velocity", L, D),
                              typename Views::Column("nabla::sampling::hmc::length", L)};
    typename Views::Blocks stats("nabla::sampling::hmc::warmup_stats", 1, L, kStats);
    Kokkos::View<double**, Kokkos::LayoutRight, Mem> moments("nabla::sampling::hmc::moments", blocks(L),
                                                             MomentPartials<D, Mem>::K);
    Kokkos::View<double**, Kokkos::LayoutRight, Mem> chees("nabla::sampling::hmc::chees", blocks(L), 2);
    hmc::DualAveraging step(m_opt.target_accept, m_eps);
    hmc::TrajectoryAdam length(m_length);
    // The mass matrix follows the chains at a few points of warm-up (each restarts the step size search); the
    // last tenth adapts ε and T to the final mass.
    std::vector<std::size_t> mass_updates;
    if (m_opt.adapt_mass && C >= 2)
      for (double f : {0.15, 0.3, 0.5, 0.75, 0.9}) mass_updates.push_back(std::size_t(f * double(warmup)));

    for (std::size_t s = 0; s < warmup; ++s) {
      hmc::impl::Records<Mem> out;
      out.stats = stats;
      out.warm = rec;
      advance(1, out);
      const auto m = reduce("nabla::sampling::hmc::moments", MomentPartials<D, Mem>{rec, m_q, stats, moments, L},
                            MomentPartials<D, Mem>::K);
      ++m_transitions;
      m_gradients += std::size_t(m[4 * D + 1]);
      m_warmup_divergences += std::size_t(m[4 * D + 2]);
      m_eps = step.update(m[4 * D] / double(C));
      if (!nuts()) {
        hmc::Vec<D> start_mean, proposal_mean;
        for (int i = 0; i < D; ++i) {
          start_mean[i] = m[i] / double(C);
          proposal_mean[i] = m[D + i] / double(C);
        }
        const auto g = reduce("nabla::sampling::hmc::chees",
                              CheesPartials<D, Mem>{rec, stats, start_mean, proposal_mean, chees, L}, 2);
        if (g[1] > 0.0) length.update(g[0] / g[1]);
        m_length = length.clamp(m_eps, m_eps * double(m_opt.max_leapfrog));
      }
      if (std::find(mass_updates.begin(), mass_updates.end(), s + 1) != mass_updates.end()) {
        // Stan's regularisation of a variance estimate from n points: shrink toward 1e-3 with weight 5 / (n + 5).
        const double n = double(C);
        for (int i = 0; i < D; ++i) {
          const double mean = m[2 * D + i] / n, var = (m[3 * D + i] / n - mean * mean) * n / (n - 1.0);
          m_inv_mass[i] = n / (n + 5.0) * std::max(var, 0.0) + 1e-3 * 5.0 / (n + 5.0);
        }
        step.restart(m_eps);
      }
    }
    m_eps = step.averaged();
    if (!nuts()) m_length = length.clamp(m_eps, m_eps * double(m_opt.max_leapfrog));
  }

  void sample(std::size_t steps) {
    if (steps == 0) return;
    using namespace hmc::impl;
    const std::size_t C = m_chains, L = m_local;
    // Transitions per launch: as many as 16 MiB of rows hold, at most what the backend takes per save.
    const std::size_t row_bytes = C * (D + 1 + kStats) * sizeof(double) + C;
    std::size_t block = m_opt.steps_per_launch ? m_opt.steps_per_launch
                                               : std::max<std::size_t>(1, (std::size_t(16) << 20) / row_bytes);
    block = std::min({block, steps, m_opt.backend->steps_per_save()});
    typename Views::Blocks draws("nabla::sampling::hmc::draws", block, L, D);
    Kokkos::View<double**, Kokkos::LayoutRight, Mem> log_probs("nabla::sampling::hmc::log_probs", block, L);
    Kokkos::View<std::uint8_t**, Kokkos::LayoutRight, Mem> accepted("nabla::sampling::hmc::accepted", block, L);
    typename Views::Blocks stats("nabla::sampling::hmc::stats", block, L, kStats);
    std::vector<double> all_draws, all_log_probs, all_stats;
    std::vector<std::uint8_t> all_accepted;
    auto h_draws = Kokkos::create_mirror_view(Kokkos::HostSpace(), draws);
    auto h_log_probs = Kokkos::create_mirror_view(Kokkos::HostSpace(), log_probs);
    auto h_accepted = Kokkos::create_mirror_view(Kokkos::HostSpace(), accepted);
    auto h_stats = Kokkos::create_mirror_view(Kokkos::HostSpace(), stats);
    m_opt.backend->grow(steps);
    m_stats.reserve(m_stats.size() + steps * C * kStats);
    for (std::size_t done = 0; done < steps;) {
      const std::size_t n = std::min(block, steps - done);
      advance(n, hmc::impl::Records<Mem>{draws, log_probs, accepted, stats, {}});
      Kokkos::deep_copy(h_draws, draws);
      Kokkos::deep_copy(h_log_probs, log_probs);
      Kokkos::deep_copy(h_accepted, accepted);
      Kokkos::deep_copy(h_stats, stats);
      m_opt.backend->save_steps(gather_rows(h_draws.data(), n, D, all_draws),
                                gather_rows(h_log_probs.data(), n, 1, all_log_probs),
                                gather_rows(h_accepted.data(), n, 1, all_accepted), n);
      const double* st = gather_rows(h_stats.data(), n, kStats, all_stats);
      for (std::size_t k = 0; k < n * C; ++k) {
        m_gradients += std::size_t(st[k * kStats + kLeapfrog]);
        m_divergences += std::size_t(st[k * kStats + kDivergent]);
      }
      m_stats.insert(m_stats.end(), st, st + n * C * kStats);
      m_transitions += n;
      done += n;
    }
  }

  F m_f;
  HmcOptions m_opt;
  std::unique_ptr<Engine> m_engine;
  std::size_t m_chains;
  std::size_t m_first = 0, m_local = 0;  // this rank's chains
  std::vector<std::size_t> m_firsts;     // every rank's first chain, then the number of chains
  std::tuple<std::vector<double>, std::vector<std::uint8_t>> m_gathered;  // gather_rows' receive buffers, by type
  typename Views::Rows m_q, m_g;
  typename Views::Column m_logp;
  hmc::Vec<D> m_inv_mass;
  double m_eps, m_length;
  std::uint64_t m_transitions = 0, m_warmup = 0;
  std::size_t m_gradients = 0, m_divergences = 0, m_warmup_divergences = 0;
  std::vector<double> m_stats;  // steps × chains × kStats
  bool m_started = false;
};

}  // namespace sampling
}  // namespace nabla
