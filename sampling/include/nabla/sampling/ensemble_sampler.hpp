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
#include <nabla/sampling/backend.hpp>
#include <nabla/sampling/moves.hpp>
#include <nabla/sampling/rng.hpp>

#if NABLA_ENABLE_MPI
#include <nabla/core/mpi.hpp>
#endif

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
struct SplitArgs {
  Array<double, 2>::view_type x, q;
  Array<double, 1>::view_type lp, lq, factor, u;
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

/// Writes the proposals of sub-ensemble walkers i0 .. i0 + L - 1 (those below n; i0 < n) into their rows of q,
/// with each one's log factor and uniform u in (0, 1). The random numbers and log z of all L come from lane
/// loops, which CPUs vectorise; the L walkers' arithmetic is the same as one at a time.
template <int L>
KOKKOS_INLINE_FUNCTION void propose_lanes(const SplitArgs& s, std::size_t i0, double* factor, double* u) {
  const std::size_t ndim = s.x.extent(1), m = s.n - i0 < std::size_t(L) ? s.n - i0 : std::size_t(L);
  std::uint32_t k0[L], k1[L], b[4][L];
  for (int l = 0; l < L; ++l) {
    const random::Key wk = s.keys(s.nsplits * (i0 + (std::size_t(l) < m ? std::size_t(l) : m - 1)) + s.k);
    k0[l] = wk.k0;
    k1[l] = wk.k1;
  }
  random::bits_lanes<L>(k0, k1, s.step, 0u, b);
  constexpr double two32 = 1.0 / 4294967296.0;
  if (s.move == 0) {
    double z[L];
    NABLA_SIMD
    for (int l = 0; l < L; ++l) {
      const double r = (s.a - 1.0) * u01(b[0][l]) + 1.0;
      z[l] = r * r / s.a;
      factor[l] = double(ndim - 1) * random::impl::log_scaled(z[l], 0);
      u[l] = (double(b[2][l]) + 0.5) * two32;  // accept() takes its log only when it matters
    }
    for (std::size_t l = 0; l < m; ++l) {
      const std::size_t i = i0 + l, w = s.nsplits * i + s.k;
      const std::size_t c = 2 * std::size_t(below(b[1][l], s.ncomp)) + (1 - s.k);
      for (std::size_t d = 0; d < ndim; ++d) s.q(i, d) = s.x(c, d) - (s.x(c, d) - s.x(w, d)) * z[l];
    }
  } else {
    for (std::size_t l = 0; l < m; ++l) {
      const std::size_t i = i0 + l, w = s.nsplits * i + s.k;
      std::size_t c1 = 3 * std::size_t(below(b[0][l], s.n1)) + (s.k + 1) % 3;
      std::size_t c2 = 3 * std::size_t(below(b[1][l], s.n2)) + (s.k + 2) % 3;
      if (b[2][l] & 1u) {
        const std::size_t t = c1;
        c1 = c2;
        c2 = t;
      }
      double z[2];
      random::NormalDist::block<double>(random::Key{k0[l], k1[l]}, s.step, z);
      const double f = s.sigma * z[0];
      for (std::size_t d = 0; d < ndim; ++d) s.q(i, d) = s.x(w, d) + (s.x(c2, d) - s.x(c1, d)) * s.g0 + f;
      factor[l] = 0.0;
      u[l] = (double(b[3][l]) + 0.5) * two32;
    }
  }
}

/// The proposal of sub-ensemble walker i alone (see propose_lanes).
KOKKOS_INLINE_FUNCTION void propose(const SplitArgs& s, std::size_t i, double& factor, double& u) {
  propose_lanes<1>(s, i, &factor, &u);
}

/// Accepts or rejects the proposal of sub-ensemble walker i (emcee: accept if factor + lq - lp > log u; log u < 0,
/// so diff >= 0 accepts without the logarithm).
KOKKOS_INLINE_FUNCTION void accept(const SplitArgs& s, std::size_t i, double lq, double factor, double u) {
  const std::size_t w = s.nsplits * i + s.k;
  const double diff = factor + lq - s.lp(w);
  const bool yes = diff >= 0.0 || diff > random::impl::log_scaled(u, 0);
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
    double factor[L], u[L];
    propose_lanes<L>(s, g * L, factor, u);
    for (int l = 0; l < L; ++l) {
      const std::size_t i = g * L + std::size_t(l);
      if (i >= s.n) break;
      const double lq = f(WalkerPoint{&s.q(i, 0), s.q.stride(1), int(s.q.extent(1))});
      s.lq(i) = lq;
      if (lq != lq) {
        if (i < bad) bad = i;
        continue;
      }
      accept(s, i, lq, factor[l], u[l]);
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
                            Kokkos::RangePolicy<Kokkos::IndexType<std::size_t>>(0, (s.n + L - 1) / L),
                            FusedSplit<F, L>{f, s}, Kokkos::Min<std::size_t>(bad));
    return bad;
  };
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
    if constexpr (!std::is_invocable<F&, const Array<double, 2>&, Array<double, 1>&>::value)
      m_fused = impl::fused_split(std::move(log_prob));
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
  const Array<double, 2>& coords() const { return m_x; }
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
  void step(std::size_t t);
  void save();
  void run(std::size_t nsteps, const Progress& progress);
  std::size_t split_size(int split, int nsplits) const { return (m_nwalkers - split + nsplits - 1) / nsplits; }

  std::size_t m_nwalkers, m_ndim;
  BatchLogProb m_f;
  std::function<std::size_t(const impl::SplitArgs&)> m_fused;  // per-walker functors: one kernel per half-step
  SamplerOptions m_options;
  std::shared_ptr<Backend> m_backend;
  Array<double, 2> m_x;
  Array<double, 1> m_lp;
  Kokkos::View<std::uint8_t*, DefaultMemorySpace> m_accepted;
  Kokkos::View<const random::Key*, DefaultMemorySpace> m_keys;
  // Scratch per split count (2 for stretch, 3 for DE) and split: proposals, their log_prob, factors, uniforms.
  std::vector<Array<double, 2>> m_q;
  std::vector<Array<double, 1>> m_lq, m_factor, m_u;
  std::vector<Array<double, 2>> m_q_local;
  std::vector<Array<double, 1>> m_lq_local;
  std::size_t m_local_begin = 0;
  int m_rank = 0, m_ranks = 1;
  // Host staging for the backend.
  std::vector<double> m_coords_host, m_lp_host;
  std::vector<std::uint8_t> m_acc_host;
};

}  // namespace sampling
}  // namespace nabla
