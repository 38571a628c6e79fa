/// \file hdf_backend.cpp
/// \brief HDFBackend: emcee's HDF5 chain layout through core's hdf5::File; one flush per step.
#include <nabla/sampling/hdf_backend.hpp>

#if NABLA_ENABLE_HDF5

#include <nabla/core/error.hpp>
#include <nabla/core/hdf5.hpp>
#include <nabla/core/io.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>

namespace nabla {
namespace sampling {

namespace {
// Rows per HDF5 chunk: about 128 KiB per chunk, at least one row.
std::size_t chunk_rows(std::size_t row_values) {
  return std::max<std::size_t>(1, (std::size_t(1) << 14) / std::max<std::size_t>(1, row_values));
}

// emcee's group for an empty chain: attributes (with Nabla's seed, when known), the accepted counts and the
// growable datasets.
void write_layout(hdf5::File& f, const std::string& g, std::size_t nwalkers, std::size_t ndim,
                  const std::int64_t* seed = nullptr) {
  if (f.exists(g)) f.remove(g);
  f.create_group(g);
  f.set_attribute(g, "version", "3.1.4");
  f.set_attribute(g, "nabla_version", NABLA_VERSION_STRING);
  f.set_attribute(g, "nwalkers", std::int64_t(nwalkers));
  f.set_attribute(g, "ndim", std::int64_t(ndim));
  f.set_attribute_bool(g, "has_blobs", false);
  f.set_attribute(g, "iteration", std::int64_t(0));
  if (seed) f.set_attribute(g, "nabla_seed", *seed);
  f.create_growable<double>(g + "/accepted", {}, std::max<std::size_t>(1, nwalkers));
  f.resize(g + "/accepted", nwalkers);
  f.write_rows(g + "/accepted", 0, std::vector<double>(nwalkers, 0.0), nwalkers);
  f.create_growable<double>(g + "/chain", {nwalkers, ndim}, chunk_rows(nwalkers * ndim));
  f.create_growable<double>(g + "/log_prob", {nwalkers}, chunk_rows(nwalkers));
  f.create_growable<std::uint8_t>(g + "/nabla_accepted_steps", {nwalkers}, chunk_rows(nwalkers));
  f.flush();
}
}  // namespace

HDFBackend::HDFBackend(std::string path, std::string name, bool read_only)
    : m_path(std::move(path)), m_name(std::move(name)), m_read_only(read_only) {
  if (m_path.empty()) throw ValueError("nabla::sampling::HDFBackend: empty file name");
  if (m_name.empty()) throw ValueError("nabla::sampling::HDFBackend: empty group name");
}

HDFBackend::~HDFBackend() = default;

std::string HDFBackend::describe() const { return nabla::impl::cat("HDF5 file '", m_path, "' group '", m_name, "'"); }

void HDFBackend::close() {
  if (m_file) m_file->close();
  m_file.reset();
  m_writable = false;
  m_checked = false;
  m_accepted_valid = false;
}

hdf5::File& HDFBackend::file(bool write) const {
  if (write && m_read_only)
    throw IOError(nabla::impl::cat("nabla::sampling::HDFBackend: ", describe(), " was opened read-only"));
  if (m_file && (m_writable || !write)) return *m_file;
  if (m_file) m_file->close();
  m_file.reset();
  std::error_code ec;
  const bool exists = std::filesystem::exists(m_path, ec);
  if (write) {
    m_file = std::make_unique<hdf5::File>(m_path, exists ? hdf5::Mode::readwrite : hdf5::Mode::create);
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
  std::error_code ec;
  if (!std::filesystem::exists(m_path, ec)) return false;
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

// A new chain file appears whole: its layout is written under a temporary name, then renamed over the path. A
// run killed while creating it leaves no file (or the previous whole one), never a broken one that the resume
// could not open.
void HDFBackend::create_whole(std::size_t nwalkers, std::size_t ndim, const std::int64_t* seed) {
  if (m_file) m_file->close();
  m_file.reset();
  io::create_atomically(m_path, [&](const std::string& tmp) {
    hdf5::File f(tmp, hdf5::Mode::create);
    write_layout(f, m_name, nwalkers, ndim, seed);
  });
  m_fresh = true;
}

void HDFBackend::reset(std::size_t nwalkers, std::size_t ndim) {
  std::error_code ec;
  if (!m_read_only && !m_file && !std::filesystem::exists(m_path, ec)) {
    create_whole(nwalkers, ndim, nullptr);
  } else {
    write_layout(file(true), m_name, nwalkers, ndim);
    m_fresh = false;
  }
  m_nwalkers = nwalkers;
  m_ndim = ndim;
  m_iteration = 0;
  m_checked = true;
  m_accepted.assign(nwalkers, 0.0);
  m_accepted_valid = true;
}

void HDFBackend::grow(std::size_t nsteps) {
  if (!initialized())
    throw IOError(nabla::impl::cat("nabla::sampling::HDFBackend::grow: ", describe(), " holds no chain; reset first"));
  if (nsteps == 0) return;
  m_fresh = false;
  hdf5::File& f = file(true);
  f.resize(m_name + "/chain", m_iteration + nsteps);
  f.resize(m_name + "/log_prob", m_iteration + nsteps);
  if (f.exists(m_name + "/nabla_accepted_steps")) f.resize(m_name + "/nabla_accepted_steps", m_iteration + nsteps);
  f.flush();
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
  const hdf5::Dims c = f.dims(g + "/chain");
  if (c[0] <= m_iteration) {
    f.resize(g + "/chain", m_iteration + 1);
    f.resize(g + "/log_prob", m_iteration + 1);
  }
  // Order matters for a kill at any point: the rows of step `iteration` first, then the attribute that makes them
  // part of the chain, then emcee's accepted totals (which a resumed run recomputes from the per-step flags).
  std::vector<double> acc = HDFBackend::accepted();
  f.write_rows(g + "/chain", m_iteration, coords, 1);
  f.write_rows(g + "/log_prob", m_iteration, log_prob, 1);
  const std::string flags = g + "/nabla_accepted_steps";
  const bool have_flags = f.exists(flags);
  if (have_flags) {
    if (f.dims(flags)[0] <= m_iteration) f.resize(flags, m_iteration + 1);
    f.write_rows(flags, m_iteration, accepted, 1);
  }
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
  if (f.exists(flags) && f.dims(flags).size() == 2 && f.dims(flags)[0] >= m_iteration &&
      f.dims(flags)[1] == m_nwalkers) {
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
// back is a row never written or a chunk lost to corruption (growable datasets are NaN-filled).
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
  if (m_fresh) {  // the sampler seeds a chain it has just created: create it whole again, seed included
    create_whole(m_nwalkers, m_ndim, &s);
    return;
  }
  hdf5::File& f = file(true);
  f.set_attribute(m_name, "nabla_seed", s);
  f.flush();
}

}  // namespace sampling
}  // namespace nabla

#endif  // NABLA_ENABLE_HDF5
