/// \file hdf_backend.hpp
/// \brief Chains in an HDF5 file in emcee's HDFBackend layout, so `emcee.backends.HDFBackend(path).get_chain()`
/// reads them unchanged; every step is flushed, and a sampler given an existing file resumes from it.
///
/// Layout (emcee 3.1): group `name` (default "mcmc") with attributes version, nwalkers, ndim, has_blobs (False),
/// iteration; datasets accepted (nwalkers, float64), chain (iteration × nwalkers × ndim, growable along dim 0)
/// and log_prob (iteration × nwalkers, growable). Nabla adds the attribute `nabla_seed` and the dataset
/// `nabla_accepted_steps` (iteration × nwalkers uint8, each step's acceptances), and the string attributes
/// `nabla_sampler_state` when a sampler sets one and `nabla_settings` (the run settings, one "key=value" a line)
/// when a run records some, which emcee ignores.
///
/// Header values are checked against the file before they are used: nwalkers, ndim and iteration against the
/// datasets' shapes, and the bytes those shapes claim for the committed steps (in each dataset's own element size:
/// emcee's float32 chains are valid, read with conversion) against what the file really stores of each dataset
/// (its allocated chunks; up to deflate's 1032:1 more when compressed). A file that claims more is an IOError
/// naming the file, the attribute or dataset and both numbers, before anything of that size is allocated.
///
/// Crash safety (SIGKILL at any instant; HDF5 without SWMR is not journaled, so Nabla orders its writes):
/// - a step writes its chain, log_prob and acceptance-flag rows into chunks allocated beforehand and flushes,
///   then rewrites the `iteration` attribute in place and emcee's `accepted` totals and flushes: no step changes
///   the file's structure, and a kill leaves `iteration` steps committed;
/// - extending the datasets is the one write that allocates; `<path>.nabla-extending` exists while it is written,
///   and a writer that finds it rewrites the file whole around the committed steps first. A run extends them in
///   bounded increments (extension_bytes(), 64 MiB by default: a run of 10^12 steps does not claim the disk up
///   front), again whenever the allocated rows run out, and checks the free space of the file's file system before
///   each extension (at most 64 MiB where it is unknown): too little is an IOError naming the file and both byte
///   counts, with every step so far committed; an extension that fails after the check leaves the marker, and
///   the next access closes the file and repairs it;
/// - a new chain, a reset and that repair write the whole file under a temporary name and rename it (other
///   objects in the file are copied unchanged);
/// - a resumed run recomputes the acceptance totals from the per-step flags, so they too match an uninterrupted
///   run. What cannot be read back (a corrupted file) is an IOError naming the file, never a wrong chain.
/// Available when NABLA_ENABLE_HDF5 is 1.
#pragma once

#include <nabla/config.hpp>
#include <nabla/sampling/mcmc/backend.hpp>

#if NABLA_ENABLE_HDF5

#include <memory>
#include <string>

namespace nabla {
namespace hdf5 {
class File;
}
namespace sampling {

/// \brief A Backend stored in an HDF5 file (emcee.backends.HDFBackend).
class HDFBackend : public Backend {
 public:
  /// \param path [in] the file (created on reset if missing; an existing chain there is resumed)
  /// \param name [in] the group holding the chain
  /// \param read_only [in] refuse every write
  explicit HDFBackend(std::string path, std::string name = "mcmc", bool read_only = false);
  ~HDFBackend() override;

  void reset(std::size_t nwalkers, std::size_t ndim) override;
  bool initialized() const override;
  std::size_t iteration() const override;
  std::size_t nwalkers() const override;
  std::size_t ndim() const override;
  void grow(std::size_t nsteps) override;
  void save_steps(const double* coords, const double* log_prob, const std::uint8_t* accepted,
                  std::size_t nsteps) override;
  std::vector<double> accepted() const override;
  std::vector<double> read_chain(std::size_t first, std::size_t count) const override;
  std::vector<double> read_log_prob(std::size_t first, std::size_t count) const override;
  std::optional<std::uint64_t> seed() const override;
  void set_seed(std::uint64_t seed) override;
  std::optional<std::string> sampler_state() const override;
  void set_sampler_state(const std::string& state) override;
  Settings settings() const override;
  void set_settings(const Settings& settings) override;
  std::string describe() const override;

  const std::string& path() const { return m_path; }
  /// Closes the file (it reopens on the next call).
  void close();
  /// The most bytes of rows (chain, log_prob and acceptance flags) one extension of the datasets allocates (at
  /// least one step's); default 64 MiB.
  std::size_t extension_bytes() const { return m_extension_bytes; }
  void set_extension_bytes(std::size_t bytes) { m_extension_bytes = bytes; }

 private:
  struct Header;
  hdf5::File& file(bool write) const;
  void check_schema() const;
  Header header() const;
  void rewrite(std::size_t nwalkers, std::size_t ndim, const Header& header, std::size_t keep) const;
  void repair() const;
  void forget() const;
  std::size_t allocated_rows(const hdf5::File& f) const;
  std::size_t row_bytes() const;
  std::size_t extension_end() const;
  void extend(hdf5::File& f, std::size_t rows);
  std::vector<double> read_accepted() const;
  void append(const std::vector<double>& coords, const std::vector<double>& log_prob,
              const std::vector<std::uint8_t>& accepted);
  std::string m_path, m_name;
  bool m_read_only;
  mutable std::unique_ptr<hdf5::File> m_file;
  mutable bool m_writable = false;
  mutable bool m_checked = false;
  mutable bool m_torn = false;  // an extension failed: the open file is closed and repaired on the next access
  bool m_fresh = false;  // the file holds the empty chain this backend created whole, nothing written since
  static constexpr std::size_t kDefaultExtensionBytes = std::size_t(64) << 20;
  std::size_t m_extension_bytes = kDefaultExtensionBytes;
  std::size_t m_target = 0;  // the step the current run ends at (grow), which extensions need not pass
  // Cached from the file (valid once checked; m_rows, the rows every dataset has allocated, once known).
  mutable std::size_t m_nwalkers = 0, m_ndim = 0, m_iteration = 0;
  static constexpr std::size_t kUnknown = std::size_t(-1);
  mutable std::size_t m_rows = kUnknown;
  mutable std::vector<double> m_accepted;  // acceptance totals, cached once read
  mutable bool m_accepted_valid = false;
};

}  // namespace sampling
}  // namespace nabla

#endif  // NABLA_ENABLE_HDF5
