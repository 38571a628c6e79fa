/// \file backend.hpp
/// \brief Storage of ensemble-MCMC chains, in emcee's vocabulary: a Backend records every step's positions,
/// log-probabilities and acceptances; MemoryBackend keeps them in host memory (see hdf_backend.hpp for files).
///
/// Layout as emcee: chain (iteration × walker × dim), log_prob (iteration × walker), accepted (walker).
/// `get_chain(thin, discard)` returns rows discard + thin - 1, discard + 2·thin - 1, ... as emcee does.
///
/// A chain also records the run settings it must be continued with (Settings: the data and model options of the
/// program that samples, e.g. `{"sigma", "0.05"}`); the samplers write them when a chain starts and refuse to
/// resume it with others (check_settings), as they do for the seed.
#pragma once

#include <nabla/core/array.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace nabla {
namespace sampling {

/// Host arrays returned by the chain accessors.
template <class T, int R>
using HostArray = Array<T, R, Kokkos::HostSpace>;

/// Run settings recorded with a chain: what a resumed run must share with the run that started it besides the
/// seed (a data file's fingerprint, model options, ...), each as text. Keys are words of [A-Za-z0-9_.-]; values
/// hold no newline or NUL (ValueError otherwise): the same rules, and the same mismatch message, as a
/// checkpoint's nn::RunSettings.
using Settings = std::map<std::string, std::string>;

/// Tag for the flattened accessors: `get_chain(flat)` merges steps and walkers (emcee's flat=True).
struct flat_t {};
constexpr flat_t flat{};

/// \brief The interface every chain store implements (host side; one call per MCMC step).
class Backend {
 public:
  virtual ~Backend() = default;

  /// Clears everything and prepares for `nwalkers` × `ndim` samples.
  virtual void reset(std::size_t nwalkers, std::size_t ndim) = 0;
  /// True once reset (for files: the file holds a chain group).
  virtual bool initialized() const = 0;
  /// Steps stored so far.
  virtual std::size_t iteration() const = 0;
  virtual std::size_t nwalkers() const = 0;
  virtual std::size_t ndim() const = 0;
  /// Reserves room for `nsteps` more steps.
  virtual void grow(std::size_t nsteps) = 0;
  /// Appends `nsteps` steps: coords row-major (step × walker × dim), log_prob (step × walker), accepted flags
  /// (step × walker).
  virtual void save_steps(const double* coords, const double* log_prob, const std::uint8_t* accepted,
                          std::size_t nsteps) = 0;
  /// The most steps the sampler may compute before handing them to save_steps. Files take one, so that every
  /// step is flushed before the next is computed and a killed run loses at most the step in progress.
  virtual std::size_t steps_per_save() const { return 1; }
  /// Host memory where the next `nsteps` steps may be written in place, laid out as save_steps takes them, for a
  /// backend that keeps its chain in memory (null pointers otherwise), and how the backend wants it written.
  /// `commit_rows(n)` then appends the first n.
  struct Rows {
    double* coords = nullptr;
    double* log_prob = nullptr;
    std::uint8_t* accepted = nullptr;
    /// Not read again soon: writers store around the caches (non-temporal stores), which keep the caches for
    /// the ensemble's state and write each line once instead of reading it first.
    bool write_around_caches = false;
  };
  virtual Rows rows(std::size_t nsteps) {
    (void)nsteps;
    return {};
  }
  virtual void commit_rows(std::size_t nsteps) { (void)nsteps; }
  /// Appends one step from vectors (walker × dim, walker, walker), checking their sizes.
  void save_step(const std::vector<double>& coords, const std::vector<double>& log_prob,
                 const std::vector<std::uint8_t>& accepted);
  /// Accepted proposals per walker (as doubles, like emcee).
  virtual std::vector<double> accepted() const = 0;
  /// Steps [first, first + count) of the chain, row-major (step × walker × dim).
  virtual std::vector<double> read_chain(std::size_t first, std::size_t count) const = 0;
  /// Steps [first, first + count) of the log-probabilities, row-major (step × walker).
  virtual std::vector<double> read_log_prob(std::size_t first, std::size_t count) const = 0;
  /// The sampler's seed recorded with the chain (so a resumed run continues the same random streams).
  virtual std::optional<std::uint64_t> seed() const = 0;
  virtual void set_seed(std::uint64_t seed) = 0;
  /// What a sampler needs besides the chain and the seed to continue it exactly (HamiltonianSampler: its adapted
  /// step size, trajectory length and mass matrix), as one line of text; none until set, and reset clears it.
  /// Set while the chain is empty: files write it whole, atomically, with the empty chain.
  virtual std::optional<std::string> sampler_state() const = 0;
  virtual void set_sampler_state(const std::string& state) = 0;
  /// The run settings recorded with the chain (empty until set; reset clears them). Set while the chain is empty,
  /// as the sampler state (the samplers do it from their options when they start a chain).
  virtual Settings settings() const = 0;
  virtual void set_settings(const Settings& settings) = 0;
  /// A short description for error messages ("memory", "HDF5 file 'x.h5' group 'mcmc'").
  virtual std::string describe() const = 0;

  // ---- emcee's accessors, common to all backends ----
  /// The chain, steps × walkers × dims.
  HostArray<double, 3> get_chain(std::size_t thin = 1, std::size_t discard = 0) const;
  /// The flattened chain, (steps · walkers) × dims, row index step · nwalkers + walker.
  HostArray<double, 2> get_chain(flat_t, std::size_t thin = 1, std::size_t discard = 0) const;
  /// Log-probabilities, steps × walkers.
  HostArray<double, 2> get_log_prob(std::size_t thin = 1, std::size_t discard = 0) const;
  /// Flattened log-probabilities (steps · walkers).
  HostArray<double, 1> get_log_prob(flat_t, std::size_t thin = 1, std::size_t discard = 0) const;
  /// The last positions (walkers × dims) and log-probabilities; throws if nothing is stored.
  HostArray<double, 2> get_last_sample() const;
  HostArray<double, 1> get_last_log_prob() const;
  /// Accepted fraction per walker.
  std::vector<double> acceptance_fraction() const;
  /// emcee's integrated autocorrelation time per parameter (see autocorr.hpp).
  std::vector<double> get_autocorr_time(std::size_t discard = 0, std::size_t thin = 1, double c = 5.0,
                                        double tol = 50.0, bool quiet = false) const;

 protected:
  /// The selected step indices (emcee: discard + thin - 1 : iteration : thin); validates thin.
  std::vector<std::size_t> selected(std::size_t thin, std::size_t discard) const;
  /// Throws ValueError naming `who`, the range and the backend unless steps [first, first + count) lie within the
  /// chain's first `steps` (its committed steps; rows past them were never written).
  void check_steps(const char* who, std::size_t first, std::size_t count, std::size_t steps) const;
};

namespace impl {
/// Memory for a chain's rows, which the sampler fills with stores around the caches: cache-line aligned, so they
/// write whole lines, and from 2 MiB on, on a 2 MiB boundary and advised to huge pages, so that filling it takes
/// a page fault per 2 MiB rather than per 4 KiB (a 32-walker run of 20 000 steps spent most of its time in them).
void* rows_allocate(std::size_t bytes);
/// Frees what rows_allocate(bytes) returned.
void rows_free(void* p, std::size_t bytes) noexcept;
}  // namespace impl

/// \brief Keeps the chain in host memory (emcee.backends.Backend).
class MemoryBackend : public Backend {
 public:
  MemoryBackend() = default;
  void reset(std::size_t nwalkers, std::size_t ndim) override;
  bool initialized() const override { return m_initialized; }
  std::size_t iteration() const override { return m_iteration; }
  std::size_t nwalkers() const override { return m_nwalkers; }
  std::size_t ndim() const override { return m_ndim; }
  void grow(std::size_t nsteps) override;
  void save_steps(const double* coords, const double* log_prob, const std::uint8_t* accepted,
                  std::size_t nsteps) override;
  /// Memory takes any number of steps at once.
  std::size_t steps_per_save() const override { return std::size_t(-1); }
  Rows rows(std::size_t nsteps) override;
  void commit_rows(std::size_t nsteps) override;
  std::vector<double> accepted() const override { return m_accepted; }
  std::vector<double> read_chain(std::size_t first, std::size_t count) const override;
  std::vector<double> read_log_prob(std::size_t first, std::size_t count) const override;
  std::optional<std::uint64_t> seed() const override { return m_seed; }
  void set_seed(std::uint64_t seed) override { m_seed = seed; }
  std::optional<std::string> sampler_state() const override { return m_state; }
  void set_sampler_state(const std::string& state) override;
  Settings settings() const override { return m_settings; }
  void set_settings(const Settings& settings) override;
  std::string describe() const override { return "memory backend"; }

 private:
  bool m_initialized = false;
  std::size_t m_nwalkers = 0, m_ndim = 0, m_iteration = 0;
  // Grown without zero-filling: rows() hands out memory the sampler fills (see impl::rows_allocate).
  template <class T>
  struct Uninitialized : std::allocator<T> {
    template <class U>
    struct rebind {
      using other = Uninitialized<U>;
    };
    T* allocate(std::size_t n) { return static_cast<T*>(impl::rows_allocate(n * sizeof(T))); }
    void deallocate(T* p, std::size_t n) noexcept { impl::rows_free(p, n * sizeof(T)); }
    template <class U>
    void construct(U* p) noexcept {
      ::new (static_cast<void*>(p)) U;
    }
    template <class U, class... Args>
    void construct(U* p, Args&&... args) {
      ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
    }
  };
  std::vector<double, Uninitialized<double>> m_chain, m_log_prob;
  std::vector<std::uint8_t> m_flags;  // rows() of acceptance flags, summed into m_accepted by commit_rows
  std::vector<double> m_accepted;
  std::optional<std::uint64_t> m_seed;
  std::optional<std::string> m_state;
  Settings m_settings;
};

/// \brief Refuses to continue `backend`'s chain under other run settings: every key whose value differs, or that
/// only one side has, is named in one ValueError with the backend and both values ("<who>: the <backend> was
/// written with points (unset), sigma = 0.05; this run has points = 100, sigma = 0.1 (...)").
void check_settings(const Backend& backend, const Settings& run, const std::string& who);

/// Throws ValueError (naming `who` and the key) unless every key and value of `settings` is well-formed (see
/// Settings).
void validate_settings(const Settings& settings, const std::string& who);

/// A 64-bit hash of the settings (keys and values), for checking that MPI ranks agree on them.
std::uint64_t settings_hash(const Settings& settings);

}  // namespace sampling
}  // namespace nabla
