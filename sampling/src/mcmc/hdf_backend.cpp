/// \file hdf_backend.cpp
/// \brief HDFBackend: emcee's HDF5 chain layout through core's hdf5::File; one flush per step.
#include <nabla/sampling/mcmc/hdf_backend.hpp>

#if NABLA_ENABLE_HDF5

#include <nabla/core/error.hpp>
#include <nabla/core/hdf5.hpp>
#include <nabla/core/io.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>

namespace nabla {
namespace sampling {

namespace {
// Rows per HDF5 chunk: about 128 KiB per chunk, at least one row.
std::size_t chunk_rows(std::size_t row_values) {
  return std::max<std::size_t>(1, (std::size_t(1) << 14) / std::max<std::size_t>(1, row_values));
}

// emcee's group for an empty chain: attributes (with Nabla's seed and sampler state, when known), the accepted
// counts and the growable datasets.
void write_layout(hdf5::File& f, const std::string& g, std::size_t nwalkers, std::size_t ndim,
                  const std::int64_t* seed = nullptr, const std::string* state = nullptr) {
  if (f.exists(g)) f.remove(g);
  f.create_group(g);
  f.set_attribute(g, "version", "3.1.4");
  f.set_attribute(g, "nabla_version", NABLA_VERSION_STRING);
  f.set_attribute(g, "nwalkers", std::int64_t(nwalkers));
  f.set_attribute(g, "ndim", std::int64_t(ndim));
  f.set_attribute_bool(g, "has_blobs", false);
  f.set_attribute(g, "iteration", std::int64_t(0));
  if (seed) f.set_attribute(g, "nabla_seed", *seed);
  if (state) f.set_attribute(g, "nabla_sampler_state", *state);
  f.create_growable<double>(g + "/accepted", {}, std::max<std::size_t>(1, nwalkers));
  f.resize(g + "/accepted", nwalkers);
  f.write_rows(g + "/accepted", 0, std::vector<double>(nwalkers, 0.0), nwalkers);
  f.create_growable<double>(g + "/chain", {nwalkers, ndim}, chunk_rows(nwalkers * ndim));
  f.create_growable<double>(g + "/log_prob", {nwalkers}, chunk_rows(nwalkers));
  f.create_growable<std::uint8_t>(g + "/nabla_accepted_steps", {nwalkers}, chunk_rows(nwalkers));
  f.flush();
}

// Copies every object of `src` under `group` to `dst`, except `skip` (a path below the root, no leading '/').
void copy_all_but(const hdf5::File& src, hdf5::File& dst, const std::string& group, const std::string& skip) {
  for (const std::string& c : src.children(group)) {
    const std::string path = group.empty() ? c : group + "/" + c;
    if (path == skip) continue;
    if (skip.compare(0, path.size() + 1, path + "/") == 0 && src.is_group(path)) {
      dst.create_group(path);
      copy_all_but(src, dst, path, skip);
    } else {
      dst.copy_from(src, path);
    }
  }
}

// Exists while a chain's datasets are being extended, the one write of a run that allocates file space (see
// HDFBackend::extend).
std::string extending_marker(const std::string& path) { return path + ".nabla-extending"; }

// Whether Nabla's per-step acceptance flags `flags` cover the first `steps` steps of `nwalkers` walkers. A file
// emcee extended has fewer flag rows than steps: then emcee's totals are the truth.
bool flags_cover(const hdf5::File& f, const std::string& flags, std::size_t steps, std::size_t nwalkers) {
  if (!f.exists(flags)) return false;
  const hdf5::Dims d = f.dims(flags);
  return d.size() == 2 && d[0] >= steps && d[1] == nwalkers;
}

bool exists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec);
}
}  // namespace

HDFBackend::HDFBackend(std::string path, std::string name, bool read_only)
    : m_path(std::move(path)), m_name(std::move(name)), m_read_only(read_only) {
  if (m_path.empty()) throw ValueError("nabla::sampling::HDFBackend: empty file name");
  if (m_name.empty()) throw ValueError("nabla::sampling::HDFBackend: empty group name");
}

HDFBackend::~HDFBackend() = default;

std::string HDFBackend::describe() const { return nabla::impl::cat("HDF5 file '", m_path, "' group '", m_name, "'"); }

void HDFBackend::close() { forget(); }

// Closes the file and forgets what was read from it.
void HDFBackend::forget() const {
  if (m_file) m_file->close();
  m_file.reset();
  m_writable = false;
  m_checked = false;
  m_accepted_valid = false;
}

// Rows every growable dataset of the chain holds (emcee extends chain and log_prob, not Nabla's flags).
std::size_t HDFBackend::allocated_rows(const hdf5::File& f) const {
  const std::string flags = m_name + "/nabla_accepted_steps";
  const std::size_t rows = f.dims(m_name + "/chain")[0];
  return f.exists(flags) ? std::min(rows, f.dims(flags)[0]) : rows;
}

hdf5::File& HDFBackend::file(bool write) const {
  if (write && m_read_only)
    throw IOError(nabla::impl::cat("nabla::sampling::HDFBackend: ", describe(), " was opened read-only"));
  if (m_file && (m_writable || !write)) return *m_file;
  if (m_file) m_file->close();
  m_file.reset();
  const bool present = exists(m_path);
  if (present && !m_read_only && exists(extending_marker(m_path))) repair();
  if (write) {
    m_file = std::make_unique<hdf5::File>(m_path, present ? hdf5::Mode::readwrite : hdf5::Mode::create);
    m_writable = true;
  } else {
    m_file = std::make_unique<hdf5::File>(m_path, hdf5::Mode::read);
    m_writable = false;
  }
  return *m_file;
}

void HDFBackend::check_schema() const {
  if (m_checked) return;
  hdf5::File& f = file(false);
  const std::string& g = m_name;
  auto fail = [&](const std::string& what) {
    throw IOError(nabla::impl::cat("nabla::sampling::HDFBackend: ", describe(), ": ", what,
                                   " (not an emcee chain, or truncated or corrupted)"));
  };
  for (const char* a : {"nwalkers", "ndim", "iteration"})
    if (!f.has_attribute(g, a)) fail(nabla::impl::cat("attribute '", a, "' is missing"));
  for (const char* d : {"chain", "log_prob", "accepted"})
    if (!f.exists(g + "/" + d)) fail(nabla::impl::cat("dataset '", d, "' is missing"));
  const std::int64_t nw = f.attribute_int(g, "nwalkers"), nd = f.attribute_int(g, "ndim"),
                     it = f.attribute_int(g, "iteration");
  if (nw < 1 || nd < 1 || it < 0)
    fail(nabla::impl::cat("nwalkers = ", nw, ", ndim = ", nd, ", iteration = ", it, " are out of range"));
  const hdf5::Dims c = f.dims(g + "/chain"), l = f.dims(g + "/log_prob"), a = f.dims(g + "/accepted");
  if (c.size() != 3 || c[1] != std::size_t(nw) || c[2] != std::size_t(nd) || c[0] < std::size_t(it))
    fail(nabla::impl::cat("dataset 'chain' has shape (", c.size() > 0 ? c[0] : 0, ", ", c.size() > 1 ? c[1] : 0, ", ",
                          c.size() > 2 ? c[2] : 0, ") but iteration = ", it, ", nwalkers = ", nw, ", ndim = ", nd));
  if (l.size() != 2 || l[1] != std::size_t(nw) || l[0] < std::size_t(it))
    fail(nabla::impl::cat("dataset 'log_prob' does not hold ", it, " steps of ", nw, " walkers"));
  if (a.size() != 1 || a[0] != std::size_t(nw))
    fail(nabla::impl::cat("dataset 'accepted' does not hold ", nw, " walkers"));
  m_nwalkers = std::size_t(nw);
  m_ndim = std::size_t(nd);
  m_iteration = std::size_t(it);
  m_checked = true;
}

bool HDFBackend::initialized() const {
  if (!exists(m_path)) return false;
  if (!file(false).exists(m_name)) return false;
  check_schema();
  return true;
}

std::size_t HDFBackend::iteration() const {
  if (!initialized()) return 0;
  return m_iteration;
}
std::size_t HDFBackend::nwalkers() const {
  if (!initialized()) return 0;
  return m_nwalkers;
}
std::size_t HDFBackend::ndim() const {
  if (!initialized()) return 0;
  return m_ndim;
}

// Every change of a chain file's structure (a new chain, a reset, a repair) writes the whole file under a
// temporary name and renames it over the path, so a kill leaves the old file or the new one, never a mix. Other
// objects in the file are copied unchanged; the chain's group is laid out anew holding its first `keep` steps,
// read from the current file (which must then hold them). Afterwards the file is closed and its state known.
void HDFBackend::rewrite(std::size_t nwalkers, std::size_t ndim, const std::int64_t* seed, std::size_t keep,
                         const std::string* state) const {
  if (m_read_only)
    throw IOError(nabla::impl::cat("nabla::sampling::HDFBackend: ", describe(), " was opened read-only"));
  if (!m_file && exists(m_path)) m_file = std::make_unique<hdf5::File>(m_path, hdf5::Mode::read);
  const std::size_t first = m_name.find_first_not_of('/');
  const std::string group = first == std::string::npos ? std::string() : m_name.substr(first);
  std::vector<double> acc(nwalkers, 0.0);
  io::create_atomically(m_path, [&](const std::string& tmp) {
    hdf5::File f(tmp, hdf5::Mode::create);
    if (m_file) copy_all_but(*m_file, f, "", group);
    write_layout(f, m_name, nwalkers, ndim, seed, state);
    if (keep > 0) {
      const std::string& g = m_name;
      const std::string flags = g + "/nabla_accepted_steps";
      const bool have_flags = flags_cover(*m_file, flags, keep, nwalkers);
      for (const char* d : {"/chain", "/log_prob"}) f.resize(g + d, keep);
      if (have_flags) f.resize(flags, keep);
      const std::size_t block = chunk_rows(nwalkers * ndim) * 16;  // bounded memory for long chains
      for (std::size_t t = 0; t < keep; t += block) {
        const std::size_t n = std::min(block, keep - t);
        f.write_rows(g + "/chain", t, read_chain(t, n), n);
        f.write_rows(g + "/log_prob", t, read_log_prob(t, n), n);
        if (have_flags) f.write_rows(flags, t, m_file->read_rows<std::uint8_t>(flags, t, n), n);
      }
      // emcee's totals; a file emcee extended has no per-step flags for every step, and keeps none.
      acc = read_accepted();
      if (!have_flags) f.remove(flags);
      f.set_attribute(g, "iteration", std::int64_t(keep));
      f.write_rows(g + "/accepted", 0, acc, nwalkers);
    }
    f.close();
  });
  forget();
  m_nwalkers = nwalkers;
  m_ndim = ndim;
  m_iteration = keep;
  m_checked = true;
  m_accepted = std::move(acc);
  m_accepted_valid = true;
}

// A writer stopped while extending the chain (the marker is left): the file's allocation metadata may be torn,
// and writing into it could corrupt committed steps. The committed steps are read back (checked, NaN-free) and
// the file is rewritten whole around them.
void HDFBackend::repair() const {
  try {
    forget();
    m_file = std::make_unique<hdf5::File>(m_path, hdf5::Mode::read);
    check_schema();
    const std::optional<std::uint64_t> s = seed();
    std::int64_t signed_seed = 0;
    if (s) std::memcpy(&signed_seed, &*s, sizeof signed_seed);
    const std::optional<std::string> state = sampler_state();
    rewrite(m_nwalkers, m_ndim, s ? &signed_seed : nullptr, m_iteration, state ? &*state : nullptr);
  } catch (const std::exception& e) {
    m_file.reset();
    throw IOError(nabla::impl::cat("nabla::sampling::HDFBackend: ", describe(),
                                   ": its last writer was stopped while extending it (", extending_marker(m_path),
                                   " exists), and rewriting it with the steps it holds failed: ", e.what()));
  }
  std::remove(extending_marker(m_path).c_str());
}

void HDFBackend::reset(std::size_t nwalkers, std::size_t ndim) {
  if (exists(m_path) && !m_read_only) file(false);  // repairs a torn file first, so its other objects are kept
  rewrite(nwalkers, ndim, nullptr, 0);
  m_fresh = true;
}

// Extending allocates the new rows' chunks (growable datasets allocate when extended): the only write of a run
// that changes the file's allocation metadata, which HDF5 does not write atomically. A marker file exists while
// it is written; a writer that finds one rewrites the file first (repair).
void HDFBackend::extend(hdf5::File& f, std::size_t rows) {
  const std::string marker = extending_marker(m_path);
  std::FILE* m = std::fopen(marker.c_str(), "w");
  if (!m || std::fclose(m) != 0)
    throw IOError(
        nabla::impl::cat("nabla::sampling::HDFBackend: cannot create '", marker, "': ", std::strerror(errno)));
  f.resize(m_name + "/chain", rows);
  f.resize(m_name + "/log_prob", rows);
  // Flags that stop short of the chain mean emcee extended it without them: its totals hold those steps, so the
  // flags (which would read as rejections) are dropped rather than padded with zeros.
  const std::string flags = m_name + "/nabla_accepted_steps";
  if (flags_cover(f, flags, m_iteration, m_nwalkers))
    f.resize(flags, rows);
  else if (f.exists(flags))
    f.remove(flags);
  f.flush();
  std::remove(marker.c_str());
}

void HDFBackend::grow(std::size_t nsteps) {
  if (!initialized())
    throw IOError(nabla::impl::cat("nabla::sampling::HDFBackend::grow: ", describe(), " holds no chain; reset first"));
  if (nsteps == 0) return;
  m_fresh = false;
  hdf5::File& f = file(true);
  if (allocated_rows(f) < m_iteration + nsteps) extend(f, m_iteration + nsteps);
}

void HDFBackend::save_steps(const double* coords, const double* log_prob, const std::uint8_t* accepted,
                            std::size_t nsteps) {
  if (!initialized())
    throw IOError(nabla::impl::cat("nabla::sampling::HDFBackend::save_steps: ", describe(), " holds no chain"));
  const std::size_t W = m_nwalkers, row = W * m_ndim;
  for (std::size_t t = 0; t < nsteps; ++t)
    append(std::vector<double>(coords + t * row, coords + (t + 1) * row),
           std::vector<double>(log_prob + t * W, log_prob + (t + 1) * W),
           std::vector<std::uint8_t>(accepted + t * W, accepted + (t + 1) * W));
}

// One step, flushed: what a kill may interrupt.
void HDFBackend::append(const std::vector<double>& coords, const std::vector<double>& log_prob,
                        const std::vector<std::uint8_t>& accepted) {
  m_fresh = false;
  hdf5::File& f = file(true);
  const std::string& g = m_name;
  if (allocated_rows(f) <= m_iteration) extend(f, m_iteration + 1);
  const std::string flags = g + "/nabla_accepted_steps";
  const bool have_flags = f.exists(flags);
  // Order matters for a kill at any point: the rows of step `iteration` are flushed first, then the attribute
  // that makes them part of the chain and emcee's accepted totals (which a resumed run recomputes from the
  // per-step flags). Neither flush changes the file's structure: rows go into allocated chunks and the
  // attribute is rewritten in place.
  std::vector<double> acc = HDFBackend::accepted();
  f.write_rows(g + "/chain", m_iteration, coords, 1);
  f.write_rows(g + "/log_prob", m_iteration, log_prob, 1);
  if (have_flags) f.write_rows(flags, m_iteration, accepted, 1);
  f.flush();
  f.set_attribute(g, "iteration", std::int64_t(m_iteration + 1));
  for (std::size_t w = 0; w < m_nwalkers; ++w) acc[w] += accepted[w] ? 1.0 : 0.0;
  f.write_rows(g + "/accepted", 0, acc, m_nwalkers);
  f.flush();
  m_accepted = acc;
  m_accepted_valid = true;
  ++m_iteration;
}

std::vector<double> HDFBackend::accepted() const {
  check_schema();
  if (m_accepted_valid) return m_accepted;
  m_accepted = read_accepted();
  m_accepted_valid = true;
  return m_accepted;
}

std::vector<double> HDFBackend::read_accepted() const {
  hdf5::File& f = file(false);
  const std::string flags = m_name + "/nabla_accepted_steps";
  // Nabla's per-step flags are the truth after a kill (emcee's totals may be one step ahead); a file that emcee
  // itself extended has fewer flag rows than steps, and then emcee's totals are used.
  if (flags_cover(f, flags, m_iteration, m_nwalkers)) {
    std::vector<double> acc(m_nwalkers, 0.0);
    if (m_iteration == 0) return acc;
    const std::vector<std::uint8_t> rows = f.read_rows<std::uint8_t>(flags, 0, m_iteration);
    for (std::size_t t = 0; t < m_iteration; ++t)
      for (std::size_t w = 0; w < m_nwalkers; ++w) acc[w] += rows[t * m_nwalkers + w] ? 1.0 : 0.0;
    return acc;
  }
  return f.read<double>(m_name + "/accepted");
}

namespace {
// Stored positions and log-probabilities are never NaN (a NaN log-probability stops the sampler), so a NaN read
// back is a chunk lost to corruption (the fill value of growable datasets is NaN) or written as NaN by another
// program.
std::vector<double> no_nan(std::vector<double> v, const std::string& what, std::size_t first, std::size_t row,
                           const std::string& where) {
  for (std::size_t i = 0; i < v.size(); ++i)
    if (std::isnan(v[i]))
      throw IOError(nabla::impl::cat("nabla::sampling::HDFBackend: ", where, ": dataset '", what, "' holds NaN at step ",
                                     first + i / std::max<std::size_t>(row, 1), " (truncated or corrupted)"));
  return v;
}
}  // namespace

std::vector<double> HDFBackend::read_chain(std::size_t first, std::size_t count) const {
  check_schema();
  return no_nan(file(false).read_rows<double>(m_name + "/chain", first, count), "chain", first, m_nwalkers * m_ndim,
                describe());
}

std::vector<double> HDFBackend::read_log_prob(std::size_t first, std::size_t count) const {
  check_schema();
  return no_nan(file(false).read_rows<double>(m_name + "/log_prob", first, count), "log_prob", first, m_nwalkers,
                describe());
}

std::optional<std::uint64_t> HDFBackend::seed() const {
  if (!initialized()) return std::nullopt;
  hdf5::File& f = file(false);
  if (!f.has_attribute(m_name, "nabla_seed")) return std::nullopt;
  const std::int64_t s = f.attribute_int(m_name, "nabla_seed");
  std::uint64_t u;
  std::memcpy(&u, &s, sizeof u);
  return u;
}

void HDFBackend::set_seed(std::uint64_t seed) {
  std::int64_t s;
  std::memcpy(&s, &seed, sizeof s);
  if (m_fresh) {  // the sampler seeds a chain it has just created: write it whole again, seed included
    const std::optional<std::string> state = sampler_state();
    rewrite(m_nwalkers, m_ndim, &s, 0, state ? &*state : nullptr);
    return;
  }
  hdf5::File& f = file(true);
  f.set_attribute(m_name, "nabla_seed", s);
  f.flush();
}

std::optional<std::string> HDFBackend::sampler_state() const {
  if (!initialized()) return std::nullopt;
  hdf5::File& f = file(false);
  if (!f.has_attribute(m_name, "nabla_sampler_state")) return std::nullopt;
  return f.attribute_string(m_name, "nabla_sampler_state");
}

// Adding an attribute changes the file's structure, which HDF5 does not write atomically: the empty chain is
// written whole with it instead, under a temporary name.
void HDFBackend::set_sampler_state(const std::string& state) {
  if (!initialized())
    throw IOError(nabla::impl::cat("nabla::sampling::HDFBackend::set_sampler_state: ", describe(),
                                   " holds no chain; reset first"));
  if (const std::size_t steps = iteration(); steps > 0)
    throw ValueError(nabla::impl::cat("nabla::sampling::HDFBackend::set_sampler_state: ", describe(), " holds ",
                                      steps, " steps; set the state while the chain is empty"));
  const std::optional<std::uint64_t> s = seed();
  std::int64_t signed_seed = 0;
  if (s) std::memcpy(&signed_seed, &*s, sizeof signed_seed);
  rewrite(m_nwalkers, m_ndim, s ? &signed_seed : nullptr, 0, &state);
  m_fresh = true;
}

}  // namespace sampling
}  // namespace nabla

#endif  // NABLA_ENABLE_HDF5
