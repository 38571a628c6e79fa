/// \file hdf_backend.cpp
/// \brief HDFBackend: emcee's HDF5 chain layout through core's hdf5::File; one flush per step.
#include <nabla/sampling/mcmc/hdf_backend.hpp>

#if NABLA_ENABLE_HDF5

#include <nabla/core/error.hpp>
#include <nabla/core/hdf5.hpp>
#include <nabla/core/io.hpp>

#include <hdf5.h>
#include <sys/statvfs.h>

#include "dims_text.hpp"
#include "empty_chain.hpp"
#include "hdf5_handles.hpp"  // core's private HDF5 handles, as dist uses them
#include "saturate.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>

namespace nabla {
namespace sampling {

// What a sampler writes with the chain besides the rows: its seed, its state and the run settings.
struct HDFBackend::Header {
  std::optional<std::int64_t> seed;
  std::optional<std::string> state;
  Settings settings;
};

namespace {
using nabla::impl::cat;
using nabla::impl::dims_text;
using impl::add_sat;  // sizes from a file's header or a caller: saturated, never wrapped around
using impl::mul_sat;

// Deflate's largest compression ratio: a compressed dataset cannot hold more bytes than this times what it stores.
constexpr std::size_t kMaxDeflate = 1032;

// What the file really stores of datasets: their allocated bytes (H5Dget_storage_size: chunks allocated, or the
// contiguous space) and whether a filter (compression) applies. Opened on its own, read-only and with the close
// degree of core's files, so HDF5 shares the file core has open.
class Storage {
 public:
  explicit Storage(const std::string& path) {
    hdf5::detail::Quiet quiet;
    hdf5::detail::Id fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
    H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG);
    m_file = hdf5::detail::Id(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()), H5Fclose);
  }
  // The bytes stored for `dataset`, or -1 if they cannot be read; `filtered` says whether a filter applies, and
  // `element` is the size of one stored value (emcee's HDFBackend(dtype=np.float32) stores 4-byte floats, which
  // Nabla reads with conversion).
  std::size_t bytes(const std::string& dataset, bool& filtered, std::size_t& element) const {
    hdf5::detail::Quiet quiet;
    filtered = false;
    element = 0;
    if (!m_file.valid()) return std::size_t(-1);
    hdf5::detail::Id d(H5Dopen2(m_file.get(), dataset.c_str(), H5P_DEFAULT), H5Dclose);
    if (!d.valid()) return std::size_t(-1);
    hdf5::detail::Id type(H5Dget_type(d.get()), H5Tclose);
    if (!type.valid()) return std::size_t(-1);
    element = H5Tget_size(type.get());
    if (element == 0) return std::size_t(-1);
    hdf5::detail::Id dcpl(H5Dget_create_plist(d.get()), H5Pclose);
    filtered = dcpl.valid() && H5Pget_nfilters(dcpl.get()) > 0;
    return std::size_t(H5Dget_storage_size(d.get()));
  }

 private:
  hdf5::detail::Id m_file;
};

// Bytes free to an unprivileged writer on the file system that holds the file `path` (which exists when it is
// extended): the file itself is asked, not its directory, so a symbolic link to a file on another file system
// counts that one's space. Empty if the file system does not say.
std::optional<std::size_t> free_bytes(const std::string& path) {
  struct statvfs st;
  if (::statvfs(path.c_str(), &st) != 0) return std::nullopt;
  return mul_sat(std::size_t(st.f_bavail), std::size_t(st.f_frsize));
}

// Settings as the attribute `nabla_settings` holds them: one "key=value" a line (validate_settings keeps '=' out
// of keys and newlines out of both).
std::string settings_text(const Settings& s) {
  std::string t;
  for (const auto& [key, value] : s) t += key + "=" + value + "\n";
  return t;
}
// Rows per HDF5 chunk: about 128 KiB per chunk, at least one row.
std::size_t chunk_rows(std::size_t row_values) {
  return std::max<std::size_t>(1, (std::size_t(1) << 14) / std::max<std::size_t>(1, row_values));
}

// emcee's group for an empty chain: attributes (with Nabla's seed, sampler state and settings, when known), the
// accepted counts and the growable datasets.
template <class Header>
void write_layout(hdf5::File& f, const std::string& g, std::size_t nwalkers, std::size_t ndim, const Header& h) {
  if (f.exists(g)) f.remove(g);
  f.create_group(g);
  f.set_attribute(g, "version", "3.1.4");
  f.set_attribute(g, "nabla_version", NABLA_VERSION_STRING);
  f.set_attribute(g, "nwalkers", std::int64_t(nwalkers));
  f.set_attribute(g, "ndim", std::int64_t(ndim));
  f.set_attribute_bool(g, "has_blobs", false);
  f.set_attribute(g, "iteration", std::int64_t(0));
  if (h.seed) f.set_attribute(g, "nabla_seed", *h.seed);
  if (h.state) f.set_attribute(g, "nabla_sampler_state", *h.state);
  if (!h.settings.empty()) f.set_attribute(g, "nabla_settings", settings_text(h.settings));
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

// Where the file ends as its HDF5 superblock records it (base address + end-of-file address), or 0 if that
// cannot be read. A writer whose extension failed between HDF5's writes (a file-size limit; a full disk) can leave
// the file shorter than that, and HDF5 refuses to open such a file at all ("truncated file").
std::uint64_t recorded_end(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const auto bytes = [&](std::uint64_t at, std::size_t n, unsigned char* out) {
    in.clear();
    in.seekg(std::streamoff(at));
    return bool(in.read(reinterpret_cast<char*>(out), std::streamsize(n)));
  };
  const auto number = [&](std::uint64_t at, std::uint64_t n, std::uint64_t& v) {  // little-endian, n bytes
    unsigned char b[8];
    if (n == 0 || n > 8 || !bytes(at, std::size_t(n), b)) return false;
    v = 0;
    for (std::size_t i = std::size_t(n); i-- > 0;) v = (v << 8) | b[i];
    return true;
  };
  static const unsigned char kSignature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  // The superblock is at 0 or after a user block (512, 1024, 2048, ... bytes).
  for (std::uint64_t at = 0; in && at < (std::uint64_t(1) << 40); at = at == 0 ? 512 : 2 * at) {
    unsigned char sig[8], version = 0;
    if (!bytes(at, 8, sig)) return 0;
    if (std::memcmp(sig, kSignature, 8) != 0) continue;
    if (!bytes(at + 8, 1, &version)) return 0;
    std::uint64_t offsets = 0, fields = 0, base = 0, eof = 0;  // fields: where the base address is
    if (version <= 1) {
      if (!number(at + 13, 1, offsets)) return 0;
      fields = at + (version == 0 ? 24 : 28);
    } else if (version <= 3) {
      if (!number(at + 9, 1, offsets)) return 0;
      fields = at + 12;
    } else {
      return 0;
    }
    if (!number(fields, offsets, base) || !number(fields + 2 * offsets, offsets, eof)) return 0;
    return add_sat(base, eof);
  }
  return 0;
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

std::string HDFBackend::describe() const { return cat("HDF5 file '", m_path, "' group '", m_name, "'"); }

void HDFBackend::close() { forget(); }

// Closes the file and forgets what was read from it.
void HDFBackend::forget() const {
  std::unique_ptr<hdf5::File> f = std::move(m_file);
  m_writable = false;
  m_checked = false;
  m_accepted_valid = false;
  m_rows = kUnknown;
  m_torn = false;
  if (f) f->close();
}

// Rows every growable dataset of the chain holds (emcee extends chain and log_prob, not Nabla's flags).
std::size_t HDFBackend::allocated_rows(const hdf5::File& f) const {
  if (m_rows != kUnknown) return m_rows;
  const std::string flags = m_name + "/nabla_accepted_steps";
  std::size_t rows = std::min(f.dims(m_name + "/chain")[0], f.dims(m_name + "/log_prob")[0]);
  if (f.exists(flags)) rows = std::min(rows, f.dims(flags)[0]);
  return m_rows = rows;
}

hdf5::File& HDFBackend::file(bool write) const {
  if (write && m_read_only)
    throw IOError(cat("nabla::sampling::HDFBackend: ", describe(), " was opened read-only"));
  if (m_torn) {  // an extension failed (see extend): closed now, and repaired below as the marker is left
    try {
      forget();
    } catch (const std::exception&) {  // the close flushes what the failed extension left, and may fail again
    }
  }
  if (m_file && (m_writable || !write)) return *m_file;
  if (m_file) m_file->close();  // reopened for writing: what was read from it still holds
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

// The header's numbers against the datasets' shapes, and the bytes those claim for the committed steps against
// what the file stores: every size read later (rows, totals, flags, a repair's copy) is then backed by the file.
void HDFBackend::check_schema() const {
  if (m_checked) return;
  hdf5::File& f = file(false);
  const std::string& g = m_name;
  auto fail = [&](const std::string& what) {
    throw IOError(cat("nabla::sampling::HDFBackend: ", describe(), ": ", what,
                      " (not an emcee chain, or truncated or corrupted)"));
  };
  for (const char* a : {"nwalkers", "ndim", "iteration"})
    if (!f.has_attribute(g, a)) fail(cat("attribute '", a, "' is missing"));
  for (const char* d : {"chain", "log_prob", "accepted"})
    if (!f.exists(g + "/" + d)) fail(cat("dataset '", d, "' is missing"));
  const std::int64_t nw = f.attribute_int(g, "nwalkers"), nd = f.attribute_int(g, "ndim"),
                     it = f.attribute_int(g, "iteration");
  if (nw < 1) fail(cat("attribute 'nwalkers' = ", nw, " is out of range (at least 1)"));
  if (nd < 1) fail(cat("attribute 'ndim' = ", nd, " is out of range (at least 1)"));
  if (it < 0) fail(cat("attribute 'iteration' = ", it, " is out of range (at least 0)"));
  const std::size_t W = std::size_t(nw), D = std::size_t(nd), T = std::size_t(it);
  const hdf5::Dims c = f.dims(g + "/chain"), l = f.dims(g + "/log_prob"), a = f.dims(g + "/accepted");
  if (c.size() != 3) fail(cat("dataset 'chain' has shape ", dims_text(c), ", not (steps, nwalkers, ndim)"));
  if (c[1] != W) fail(cat("attribute 'nwalkers' = ", nw, " but dataset 'chain' has shape ", dims_text(c)));
  if (c[2] != D) fail(cat("attribute 'ndim' = ", nd, " but dataset 'chain' has shape ", dims_text(c)));
  if (c[0] < T) fail(cat("attribute 'iteration' = ", it, " but dataset 'chain' has shape ", dims_text(c)));
  if (l.size() != 2) fail(cat("dataset 'log_prob' has shape ", dims_text(l), ", not (steps, nwalkers)"));
  if (l[1] != W) fail(cat("attribute 'nwalkers' = ", nw, " but dataset 'log_prob' has shape ", dims_text(l)));
  if (l[0] < T) fail(cat("attribute 'iteration' = ", it, " but dataset 'log_prob' has shape ", dims_text(l)));
  if (a.size() != 1 || a[0] != W)
    fail(cat("attribute 'nwalkers' = ", nw, " but dataset 'accepted' has shape ", dims_text(a)));
  // The shapes may be declared far beyond what was ever written (a growable dataset's chunks are allocated only
  // when extended, or written, by other writers): what the header claims must be stored.
  const Storage storage(m_path);
  // `values` values of dataset `d`, each of the size the dataset stores (4 bytes for float32, 8 for float64).
  const auto stored = [&](const char* d, std::size_t values, const std::string& claim) {
    bool filtered = false;
    std::size_t element = 0;
    const std::size_t have = storage.bytes(g + "/" + d, filtered, element);
    if (have == std::size_t(-1)) fail(cat("cannot read the storage size of dataset '", d, "'"));
    const std::size_t need = mul_sat(values, element);
    if (need > (filtered ? mul_sat(have, kMaxDeflate) : have))
      fail(cat(claim, " need ", need, " bytes of dataset '", d, "', which stores ", have,
               filtered ? " compressed (at most 1032:1)" : ""));
  };
  const std::string steps = cat("attribute 'iteration' = ", it, " steps of 'nwalkers' = ", nw, " walkers");
  stored("chain", mul_sat(T, mul_sat(W, D)), cat(steps, " x 'ndim' = ", nd, " dims"));
  stored("log_prob", mul_sat(T, W), steps);
  stored("accepted", W, cat("attribute 'nwalkers' = ", nw, " walkers"));
  if (flags_cover(f, g + "/nabla_accepted_steps", T, W)) stored("nabla_accepted_steps", mul_sat(T, W), steps);
  m_nwalkers = W;
  m_ndim = D;
  m_iteration = T;
  m_checked = true;
}

bool HDFBackend::initialized() const {
  if (!exists(m_path)) return false;
  hdf5::File& f = file(false);
  if (!f.exists(m_name)) {
    (void)f.children("");  // a root group HDF5 cannot read is an IOError, not "no chain" (and no new chain over it)
    return false;
  }
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

// Seed, sampler state and settings as the file holds them.
HDFBackend::Header HDFBackend::header() const {
  Header h;
  if (const auto s = seed()) {
    std::int64_t signed_seed;
    std::memcpy(&signed_seed, &*s, sizeof signed_seed);
    h.seed = signed_seed;
  }
  h.state = sampler_state();
  h.settings = settings();
  return h;
}

// Every change of a chain file's structure (a new chain, a reset, a repair) writes the whole file under a
// temporary name and renames it over the path, so a kill leaves the old file or the new one, never a mix. Other
// objects in the file are copied unchanged; the chain's group is laid out anew holding its first `keep` steps,
// read from the current file (which must then hold them). Afterwards the file is closed and its state known.
void HDFBackend::rewrite(std::size_t nwalkers, std::size_t ndim, const Header& h, std::size_t keep) const {
  if (m_read_only) throw IOError(cat("nabla::sampling::HDFBackend: ", describe(), " was opened read-only"));
  if (!m_file && exists(m_path)) m_file = std::make_unique<hdf5::File>(m_path, hdf5::Mode::read);
  const std::size_t first = m_name.find_first_not_of('/');
  const std::string group = first == std::string::npos ? std::string() : m_name.substr(first);
  std::vector<double> acc(nwalkers, 0.0);
  io::create_atomically(m_path, [&](const std::string& tmp) {
    hdf5::File f(tmp, hdf5::Mode::create);
    if (m_file) copy_all_but(*m_file, f, "", group);
    write_layout(f, m_name, nwalkers, ndim, h);
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
    // A file shorter than its superblock records: the tail is space the failed extension allocated (after every
    // committed step's rows), restored as zeros (sparse) so that HDF5 opens the file and the committed steps can
    // be read back, checked as ever.
    std::error_code ec;
    const std::uint64_t end = recorded_end(m_path), size = std::filesystem::file_size(m_path, ec);
    if (!ec && end > size && end < (std::uint64_t(1) << 50)) std::filesystem::resize_file(m_path, end, ec);
    m_file = std::make_unique<hdf5::File>(m_path, hdf5::Mode::read);
    check_schema();
    rewrite(m_nwalkers, m_ndim, header(), m_iteration);
  } catch (const std::exception& e) {
    m_file.reset();
    throw IOError(cat("nabla::sampling::HDFBackend: ", describe(), ": its last writer was stopped while extending it (",
                      extending_marker(m_path), " exists), and rewriting it with the steps it holds failed: ",
                      e.what()));
  }
  std::remove(extending_marker(m_path).c_str());
}

void HDFBackend::reset(std::size_t nwalkers, std::size_t ndim) {
  if (exists(m_path) && !m_read_only) file(false);  // repairs a torn file first, so its other objects are kept
  rewrite(nwalkers, ndim, Header{}, 0);
  m_fresh = true;
  m_target = 0;
}

// Bytes one step takes in the datasets: chain, log_prob and acceptance flags.
std::size_t HDFBackend::row_bytes() const {
  return add_sat(mul_sat(mul_sat(m_nwalkers, m_ndim), sizeof(double)), mul_sat(m_nwalkers, sizeof(double) + 1));
}

// Where the next extension ends: the current run's last step (grow), but at most extension_bytes() of rows (and
// at least one) past the committed steps. Without a run (steps saved one by one), the chain doubles up to that.
std::size_t HDFBackend::extension_end() const {
  const std::size_t most = std::max<std::size_t>(1, m_extension_bytes / std::max<std::size_t>(1, row_bytes()));
  const std::size_t left = m_target > m_iteration ? m_target - m_iteration : std::max<std::size_t>(1, m_iteration);
  return add_sat(m_iteration, std::min(left, most));
}

// Extending allocates the new rows' chunks (growable datasets allocate when extended): the only write of a run
// that changes the file's allocation metadata, which HDF5 does not write atomically. A marker file exists while
// it is written; a writer that finds one rewrites the file first (repair). First, the file system must have room
// for the new rows: a run that would fill the disk stops here, with every step before committed. A file system
// that does not say how much room it has gets extensions of at most the default increment (64 MiB of rows).
void HDFBackend::extend(hdf5::File& f, std::size_t rows) {
  const std::size_t have = allocated_rows(f);
  if (rows <= have) return;
  const std::optional<std::size_t> room = free_bytes(m_path);
  if (!room) rows = std::min(rows, add_sat(have, std::max<std::size_t>(1, kDefaultExtensionBytes / row_bytes())));
  // The rows, and a few partly used chunks and index nodes (1 MiB).
  const std::size_t need = add_sat(mul_sat(rows - have, row_bytes()), std::size_t(1) << 20);
  if (room && need > *room)
    throw IOError(cat("nabla::sampling::HDFBackend: ", describe(), ": extending the chain from ", have, " to ", rows,
                      " steps needs ", need, " bytes, but the file system of '", m_path, "' has ", *room,
                      " bytes free; the ", m_iteration, " steps so far are committed (free some space and resume)"));
  const std::string marker = extending_marker(m_path);
  std::FILE* m = std::fopen(marker.c_str(), "w");
  if (!m || std::fclose(m) != 0)
    throw IOError(cat("nabla::sampling::HDFBackend: cannot create '", marker, "': ", std::strerror(errno)));
  m_rows = kUnknown;  // until the extension is flushed
  try {
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
  } catch (...) {
    // The file may now be torn (ENOSPC from another writer filling the disk after the check above, say). The marker
    // is left, and the backend forgets the file: the next access (in this process too) closes it, reopens it and
    // repairs it before writing, instead of writing into it. The close waits for that access: closing flushes,
    // which fails again while the disk is full, and HDF5 1.10 cannot finish closing a file whose close failed.
    m_torn = true;
    m_checked = false;
    m_accepted_valid = false;
    throw;
  }
  std::remove(marker.c_str());
  m_rows = rows;
}

void HDFBackend::grow(std::size_t nsteps) {
  if (!initialized())
    throw IOError(cat("nabla::sampling::HDFBackend::grow: ", describe(), " holds no chain; reset first"));
  if (nsteps == 0) return;
  m_fresh = false;
  m_target = add_sat(m_iteration, nsteps);
  hdf5::File& f = file(true);
  const std::size_t end = extension_end();
  if (allocated_rows(f) < end) extend(f, end);
}

void HDFBackend::save_steps(const double* coords, const double* log_prob, const std::uint8_t* accepted,
                            std::size_t nsteps) {
  if (!initialized())
    throw IOError(cat("nabla::sampling::HDFBackend::save_steps: ", describe(), " holds no chain"));
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
  if (allocated_rows(f) <= m_iteration) extend(f, std::max(extension_end(), m_iteration + 1));
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
  // itself extended has fewer flag rows than steps, and then emcee's totals are used. Read in blocks of at most
  // 16 MiB, so a long chain's resume does not hold all its flags at once.
  if (flags_cover(f, flags, m_iteration, m_nwalkers)) {
    std::vector<double> acc(m_nwalkers, 0.0);
    const std::size_t block = std::max<std::size_t>(1, (std::size_t(16) << 20) / m_nwalkers);
    for (std::size_t t0 = 0; t0 < m_iteration; t0 += block) {
      const std::size_t n = std::min(block, m_iteration - t0);
      const std::vector<std::uint8_t> rows = f.read_rows<std::uint8_t>(flags, t0, n);
      for (std::size_t t = 0; t < n; ++t)
        for (std::size_t w = 0; w < m_nwalkers; ++w) acc[w] += rows[t * m_nwalkers + w] ? 1.0 : 0.0;
    }
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
      throw IOError(cat("nabla::sampling::HDFBackend: ", where, ": dataset '", what, "' holds NaN at step ",
                        first + i / std::max<std::size_t>(row, 1), " (truncated or corrupted)"));
  return v;
}
}  // namespace

std::vector<double> HDFBackend::read_chain(std::size_t first, std::size_t count) const {
  check_schema();
  check_steps("nabla::sampling::HDFBackend::read_chain", first, count, m_iteration);
  return no_nan(file(false).read_rows<double>(m_name + "/chain", first, count), "chain", first, m_nwalkers * m_ndim,
                describe());
}

std::vector<double> HDFBackend::read_log_prob(std::size_t first, std::size_t count) const {
  check_schema();
  check_steps("nabla::sampling::HDFBackend::read_log_prob", first, count, m_iteration);
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
    Header h = header();
    h.seed = s;
    rewrite(m_nwalkers, m_ndim, h, 0);
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
    throw IOError(cat("nabla::sampling::HDFBackend::set_sampler_state: ", describe(), " holds no chain; reset first"));
  impl::require_empty_chain(iteration(), "nabla::sampling::HDFBackend::set_sampler_state", describe(), "state");
  Header h = header();
  h.state = state;
  rewrite(m_nwalkers, m_ndim, h, 0);
  m_fresh = true;
}

Settings HDFBackend::settings() const {
  if (!initialized()) return {};
  hdf5::File& f = file(false);
  if (!f.has_attribute(m_name, "nabla_settings")) return {};
  const std::string text = f.attribute_string(m_name, "nabla_settings");
  Settings s;
  for (std::size_t p = 0; p < text.size();) {
    const std::size_t end = std::min(text.find('\n', p), text.size());
    const std::string line = text.substr(p, end - p);
    const std::size_t eq = line.find('=');
    if (eq == 0 || eq == std::string::npos || !s.emplace(line.substr(0, eq), line.substr(eq + 1)).second)
      throw IOError(cat("nabla::sampling::HDFBackend: ", describe(), ": attribute 'nabla_settings' holds the line '",
                        line, "', not a new key=value (corrupted, or edited)"));
    p = end + 1;
  }
  return s;
}

// Written whole with the empty chain, as the sampler state.
void HDFBackend::set_settings(const Settings& settings) {
  validate_settings(settings, "nabla::sampling::HDFBackend::set_settings");
  if (!initialized())
    throw IOError(cat("nabla::sampling::HDFBackend::set_settings: ", describe(), " holds no chain; reset first"));
  Header h = header();
  if (h.settings == settings) return;
  impl::require_empty_chain(iteration(), "nabla::sampling::HDFBackend::set_settings", describe(), "settings");
  h.settings = settings;
  rewrite(m_nwalkers, m_ndim, h, 0);
  m_fresh = true;
}

}  // namespace sampling
}  // namespace nabla

#endif  // NABLA_ENABLE_HDF5
