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
///
/// The moves are in moves.hpp (one file each under moves/); the kernels that run them, a half-step or a block of
/// steps per launch, in impl/block.hpp. The sampler keeps the state, the backend, the MPI split and progress.
#pragma once

#include <nabla/config.hpp>
#include <nabla/core/array.hpp>
#include <nabla/core/error.hpp>
#include <nabla/sampling/mcmc/backend.hpp>
#include <nabla/sampling/mcmc/impl/block.hpp>
#include <nabla/sampling/mcmc/impl/tuner.hpp>
#include <nabla/sampling/mcmc/log_prob.hpp>
#include <nabla/sampling/mcmc/moves.hpp>

#if NABLA_ENABLE_MPI
#include <nabla/core/mpi.hpp>
#endif

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <typeinfo>
#include <vector>

namespace nabla {
namespace sampling {

/// \brief Options of an EnsembleSampler.
struct SamplerOptions {
  std::vector<WeightedMove> moves{WeightedMove{}};  ///< default: the stretch move, a = 2
  std::uint64_t seed = 0;                           ///< seed of every random number of the run
  std::shared_ptr<Backend> backend;                 ///< default: a MemoryBackend
  /// What a resumed run must share with the run that started the chain besides the seed: the program's data and
  /// model settings as text (e.g. {"sigma", "0.05"}, {"data", <fingerprint>}). Recorded with a new chain; a
  /// backend's chain recorded with other settings, or with a key more or less, is refused with a ValueError
  /// naming the key and both values. Empty (the default) matches only a chain recorded without settings.
  Settings settings;
  /// Deal the walkers to the sub-ensembles of each step at random (emcee's `randomize_split=True`, its default)
  /// rather than by index (walker w to sub-ensemble w mod S). Both leave the target invariant; the fixed split is
  /// the default here because it is what Nabla's chains have always been, and it costs nothing per step, while a
  /// random split draws a permutation of the walkers for every step on the host.
  bool randomize_split = false;
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
    for (std::size_t d = 0; d < ndim; ++d) h(w, d) = center[d] + scale * random::normal4_at(key, w * ndim + d);
  Kokkos::deep_copy(x.view(), h);
  return x;
}

/// \brief emcee's EnsembleSampler on Kokkos.
class EnsembleSampler {
 public:
  /// \param nwalkers [in] walkers (>= 2·ndim unless options.live_dangerously; some moves need more)
  /// \param ndim [in] parameters per walker (>= 1)
  /// \param log_prob [in] per-walker device functor or batched host callable (see the file comment)
  /// \param options [in] moves, seed, backend
  template <class F>
  EnsembleSampler(std::size_t nwalkers, std::size_t ndim, F log_prob, SamplerOptions options = {})
      : EnsembleSampler(nwalkers, ndim, to_batch(log_prob), std::move(options), 0) {
    if constexpr (!std::is_invocable<F&, const Array<double, 2>&, Array<double, 1>&>::value) {
      m_fused = impl::fused_split(log_prob);
      m_block = impl::fused_block(std::move(log_prob), nwalkers, m_largest_split);
      m_tuner_key = impl::TeamTuner::Key{typeid(F).hash_code(), nwalkers, ndim, m_largest_split, m_block.most,
                                         int(m_block.shapes.size())};
      m_tuner = impl::TeamTuner::recall(m_tuner_key);
    }
  }

  /// \brief Runs `nsteps` steps from `initial` (nwalkers × ndim), appending to the backend.
  void run_mcmc(const Array<double, 2>& initial, std::size_t nsteps, Progress progress = {});
  /// \brief Runs `nsteps` more steps from the last stored sample (resumes a run from its backend, e.g. a file).
  void run_mcmc(std::size_t nsteps, Progress progress = {});
  /// \brief Clears the backend, and records the seed and settings for the new chain.
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

  void evaluate(int slot, int S, int k, std::size_t step);
  impl::StepMove step_move(std::size_t t) const;
  const std::uint32_t* step_order(std::size_t t, std::size_t n);
  std::size_t walker_at(std::size_t j, std::size_t p) const;
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
  impl::FusedSplitLaunch m_fused;  // per-walker functors: one kernel per half-step
  impl::BlockLauncher m_block;  // ... or per block of steps (one rank)
  impl::TeamTuner m_tuner;  // shape of the block launches on host backends
  impl::TeamTuner::Key m_tuner_key;
  Kokkos::View<unsigned char*, DefaultMemorySpace> m_draws;  // of pipelined block launches
  SamplerOptions m_options;
  impl::MoveSetup m_setup;                 // owns what the moves' kernel forms point to
  std::vector<impl::StepMove> m_kernels;   // the kernel form of each of m_options.moves
  std::size_t m_largest_split = 0;         // walkers in the largest sub-ensemble of any move
  std::shared_ptr<Backend> m_backend;
  Array<double, 2> m_x;
  Array<double, 1> m_lp;
  Kokkos::View<std::uint8_t*, DefaultMemorySpace> m_accepted;
  Kokkos::View<const random::Key*, DefaultMemorySpace> m_keys;
  // Scratch per half-step slot(S, k) of the moves' split counts: proposals, their log_prob, factors, log u.
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
  // Random splits: each step's order of the walkers (steps of a block × nwalkers) and its host copy; the fixed
  // split's order (the identity) for the half-step launches, which always take one.
  Kokkos::View<std::uint32_t*, DefaultMemorySpace> m_orders, m_identity;
  decltype(Kokkos::create_mirror_view(m_orders)) m_orders_host;
  decltype(Kokkos::create_mirror_view(m_chain)) m_chain_host;
  decltype(Kokkos::create_mirror_view(m_block_lp)) m_block_lp_host;
  decltype(Kokkos::create_mirror_view(m_block_flags)) m_block_flags_host;
  decltype(Kokkos::create_mirror_view(m_moves)) m_moves_host;
  Kokkos::View<std::size_t*, DefaultMemorySpace> m_nan;
  // The state and proposals of the block path in impl::BlockLayout. The state aliases m_x where that is its layout
  // (GPUs); host backends keep a second copy in rows, because blocks on the API's column-major m_x ran 1.07-1.56x
  // slower (BM_Stretch_Nabla, 64-1024 walkers, 6 alternated runs), and the copy is made only when one side is read
  // after the other changed (coords(), a run after half-step launches).
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
