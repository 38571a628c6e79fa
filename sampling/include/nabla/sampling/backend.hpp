/// \file backend.hpp
/// \brief Storage of ensemble-MCMC chains, in emcee's vocabulary: a Backend records every step's positions,
/// log-probabilities and acceptances; MemoryBackend keeps them in host memory (see hdf_backend.hpp for files).
///
/// Layout as emcee: chain (iteration × walker × dim), log_prob (iteration × walker), accepted (walker).
/// `get_chain(thin, discard)` returns rows discard + thin - 1, discard + 2·thin - 1, ... as emcee does.
#pragma once

#include <nabla/core/array.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace nabla {
namespace sampling {

/// Host arrays returned by the chain accessors.
template <class T, int R>
using HostArray = Array<T, R, Kokkos::HostSpace>;

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
  /// Appends one step: coords row-major (walker × dim), log_prob (walker), accepted flags (walker).
  virtual void save_step(const std::vector<double>& coords, const std::vector<double>& log_prob,
                         const std::vector<std::uint8_t>& accepted) = 0;
  /// Accepted proposals per walker (as doubles, like emcee).
  virtual std::vector<double> accepted() const = 0;
  /// Steps [first, first + count) of the chain, row-major (step × walker × dim).
  virtual std::vector<double> read_chain(std::size_t first, std::size_t count) const = 0;
  /// Steps [first, first + count) of the log-probabilities, row-major (step × walker).
  virtual std::vector<double> read_log_prob(std::size_t first, std::size_t count) const = 0;
  /// The sampler's seed recorded with the chain (so a resumed run continues the same random streams).
  virtual std::optional<std::uint64_t> seed() const = 0;
  virtual void set_seed(std::uint64_t seed) = 0;
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
};

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
  void save_step(const std::vector<double>& coords, const std::vector<double>& log_prob,
                 const std::vector<std::uint8_t>& accepted) override;
  std::vector<double> accepted() const override { return m_accepted; }
  std::vector<double> read_chain(std::size_t first, std::size_t count) const override;
  std::vector<double> read_log_prob(std::size_t first, std::size_t count) const override;
  std::optional<std::uint64_t> seed() const override { return m_seed; }
  void set_seed(std::uint64_t seed) override { m_seed = seed; }
  std::string describe() const override { return "memory backend"; }

 private:
  bool m_initialized = false;
  std::size_t m_nwalkers = 0, m_ndim = 0, m_iteration = 0;
  std::vector<double> m_chain, m_log_prob, m_accepted;
  std::optional<std::uint64_t> m_seed;
};

}  // namespace sampling
}  // namespace nabla
