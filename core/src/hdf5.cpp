#include <nabla/core/error.hpp>
#include <nabla/core/hdf5.hpp>

#include <hdf5.h>
#if NABLA_ENABLE_MPI
#include <mpi.h>
#endif

#include "hdf5_handles.hpp"
#include "dims_text.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <numeric>

namespace nabla {
namespace hdf5 {

namespace detail {
namespace {
// HDF5 1.10 leaks a free-list block when an object header fails its checksum (the prefix decoded before the check
// is not freed), so after reading a corrupted file the library cannot finish closing: at exit, or inside
// MPI_Finalize, it gives up after 100 rounds and, where its error printing is on, prints "HDF5: infinite loop
// closing library" and its interfaces. No id is left open. Nabla reports every HDF5 error as an exception, so the
// printing goes off just before the library closes, and only then: a user's own HDF5 calls still print.
void silence(void) { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }
#if NABLA_ENABLE_MPI
int silence_attribute(MPI_Comm, int, void*, void*) {
  silence();
  return MPI_SUCCESS;
}
#endif
}  // namespace

void silence_library_close() {
  static const bool once = [] {
    // Registered after HDF5's own hooks, so they run before them: exit handlers and MPI_COMM_SELF's attributes
    // (deleted first by MPI_Finalize, in reverse order) both run last-registered first.
    H5open();
    std::atexit(silence);
#if NABLA_ENABLE_MPI
    int initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    if (initialized && !finalized) {
      int key = MPI_KEYVAL_INVALID;
      if (MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, silence_attribute, &key, nullptr) == MPI_SUCCESS)
        MPI_Comm_set_attr(MPI_COMM_SELF, key, nullptr);
    }
#endif
    return true;
  }();
  (void)once;
}
}  // namespace detail

namespace {
using ::nabla::impl::dims_text;
using detail::Id;
using detail::kUserBlock;
using detail::Quiet;
using detail::hdf5_reason;

template <class T>
hid_t native_type();
template <>
hid_t native_type<double>() { return H5T_NATIVE_DOUBLE; }
template <>
hid_t native_type<float>() { return H5T_NATIVE_FLOAT; }
template <>
hid_t native_type<std::int64_t>() { return H5T_NATIVE_INT64; }
template <>
hid_t native_type<std::int32_t>() { return H5T_NATIVE_INT32; }
template <>
hid_t native_type<std::uint64_t>() { return H5T_NATIVE_UINT64; }
template <>
hid_t native_type<std::uint8_t>() { return H5T_NATIVE_UINT8; }

template <class T>
H5T_class_t native_class() {
  return std::is_floating_point<T>::value ? H5T_FLOAT : H5T_INTEGER;
}

const char* class_name(H5T_class_t c) {
  switch (c) {
    case H5T_INTEGER: return "integer";
    case H5T_FLOAT: return "floating-point";
    case H5T_STRING: return "string";
    case H5T_ENUM: return "enum";
    default: return "compound or other";
  }
}

std::size_t product(const Dims& d) {
  return std::accumulate(d.begin(), d.end(), std::size_t(1), std::multiplies<std::size_t>());
}

// Closing a file closes every object still open in it, so an error path can never leave HDF5 ids behind.
Id file_access() {
  Id fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG);
  return fapl;
}

std::string object_path(const std::string& name) { return name.empty() ? std::string("/") : name; }

// Datasets written whole carry this attribute: a 64-bit hash of their values, checked on every read. It catches
// what the file format does not checksum: raw data, and chunk indexes that, corrupted, read as fill values.
constexpr const char* kChecksum = "nabla_checksum";

// FNV-1a over 64-bit words, then the tail bytes: corruption detection, not cryptography. Streamable: feed
// blocks whose sizes are multiples of 8, then any tail.
class Hasher {
 public:
  void add(const unsigned char* p, std::size_t bytes) {
    std::size_t i = 0;
    for (; i + 8 <= bytes; i += 8) {
      std::uint64_t w;
      std::memcpy(&w, p + i, 8);
      m_h = (m_h ^ w) * 0x100000001b3ull;
      m_h ^= m_h >> 29;
    }
    for (; i < bytes; ++i) m_h = (m_h ^ p[i]) * 0x100000001b3ull;
    m_bytes += bytes;
  }
  std::uint64_t value() const { return m_h ^ m_bytes; }

 private:
  std::uint64_t m_h = 0xcbf29ce484222325ull;
  std::uint64_t m_bytes = 0;
};

std::uint64_t checksum(const void* data, std::size_t bytes) {
  Hasher h;
  h.add(static_cast<const unsigned char*>(data), bytes);
  return h.value();
}

// Sealed files: a 512-byte user block holding "NABLA-SEALED-HDF5 1\n<hash hex>\n<bytes>\n" for the bytes after it.
constexpr const char* kSealMagic = "NABLA-SEALED-HDF5 1\n";

// Hash and size of the file's bytes after the user block.
std::pair<std::uint64_t, std::uint64_t> hash_after_user_block(std::FILE* f) {
  Hasher h;
  std::vector<unsigned char> buf(std::size_t(1) << 20);
  std::fseek(f, long(kUserBlock), SEEK_SET);
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) h.add(buf.data(), n);
  std::uint64_t bytes = 0;
  std::fseek(f, 0, SEEK_END);
  const long end = std::ftell(f);
  if (end > long(kUserBlock)) bytes = std::uint64_t(end) - kUserBlock;
  return {h.value(), bytes};
}

// Growable datasets: chunks of whole rows up to about 1 MiB, with NaN as fill value when floating-point, so rows
// whose chunk is lost (a corrupted chunk index) read as NaN, not as zeros. No per-chunk checksum: a chunk is
// rewritten in place as rows are added, and a write torn by a kill would make its committed rows unreadable.
// Chunks are allocated when the extent grows, not when first written: writing rows then changes no file metadata,
// so a writer killed between two extents cannot leave the chunk index and the file's allocation out of step. The
// allocation writes nothing (rows are written before they are read; a chunk missing from the index still reads
// as the fill value), so extending by a million steps costs no I/O up front.
Id growable_layout(const std::vector<hsize_t>& chunk_dims_in, std::size_t elem_size) {
  std::vector<hsize_t> chunk = chunk_dims_in;
  std::size_t row = elem_size;
  for (std::size_t i = 1; i < chunk.size(); ++i) row *= std::size_t(chunk[i]);
  chunk[0] = std::max<hsize_t>(1, std::min<hsize_t>(chunk[0], hsize_t((std::size_t(1) << 20) / std::max<std::size_t>(row, 1))));
  Id dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  H5Pset_chunk(dcpl.get(), int(chunk.size()), chunk.data());
  H5Pset_alloc_time(dcpl.get(), H5D_ALLOC_TIME_EARLY);
  H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER);
  return dcpl;
}

}  // namespace

namespace detail {
void write_seal(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "r+b");
  if (!f) throw IOError(impl::cat("nabla::hdf5: '", path, "': cannot reopen to seal"));
  const auto [hash, bytes] = hash_after_user_block(f);
  char seal[kUserBlock] = {};
  std::snprintf(seal, sizeof seal, "%s%016llx\n%llu\n", kSealMagic, static_cast<unsigned long long>(hash),
                static_cast<unsigned long long>(bytes));
  std::fseek(f, 0, SEEK_SET);
  const bool ok = std::fwrite(seal, 1, sizeof seal, f) == sizeof seal;
  if (std::fclose(f) != 0 || !ok) throw IOError(impl::cat("nabla::hdf5: '", path, "': cannot write the seal"));
}

void verify_seal(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw IOError(impl::cat("nabla::hdf5: '", path, "': cannot open for reading"));
  char seal[kUserBlock + 1] = {};
  const std::size_t got = std::fread(seal, 1, kUserBlock, f);
  unsigned long long want_hash = 0, want_bytes = 0;
  const std::size_t magic = std::strlen(kSealMagic);
  const bool parsed = got == kUserBlock && std::memcmp(seal, kSealMagic, magic) == 0 &&
                      std::sscanf(seal + magic, "%16llx\n%llu\n", &want_hash, &want_bytes) == 2;
  std::pair<std::uint64_t, std::uint64_t> have{0, 0};
  if (parsed) have = hash_after_user_block(f);
  std::fclose(f);
  if (!parsed)
    throw IOError(impl::cat("nabla::hdf5: '", path, "': not a sealed Nabla file (truncated, modified, or ",
                            "written by another program)"));
  if (have.second != want_bytes)
    throw IOError(impl::cat("nabla::hdf5: '", path, "': ", have.second + kUserBlock, " bytes, the seal says ",
                            want_bytes + kUserBlock, " (truncated or extended after writing)"));
  if (have.first != want_hash)
    throw IOError(impl::cat("nabla::hdf5: '", path, "': the content does not match its seal (corrupted)"));
}

}  // namespace detail
using detail::verify_seal;
using detail::write_seal;

struct File::Impl {
  Id file;
  std::string path;

  [[noreturn]] void fail(const std::string& what) const {
    const std::string reason = hdf5_reason();
    throw IOError(impl::cat("nabla::hdf5: '", path, "': ", what, reason.empty() ? "" : " (HDF5: " + reason + ")"));
  }

  Id lcpl() const {  // link creation with intermediate groups, as h5py's f.create_dataset("a/b/c")
    Id p(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
    H5Pset_create_intermediate_group(p.get(), 1);
    return p;
  }

  Id open_dataset(const std::string& name) const {
    Id d(H5Dopen2(file.get(), name.c_str(), H5P_DEFAULT), H5Dclose);
    if (!d.valid()) fail(impl::cat("no dataset '", name, "'"));
    return d;
  }

  Id open_object(const std::string& name) const {
    Id o(H5Oopen(file.get(), object_path(name).c_str(), H5P_DEFAULT), H5Oclose);
    if (!o.valid()) fail(impl::cat("no object '", object_path(name), "'"));
    return o;
  }

  Dims extent(hid_t dset, const std::string& name) const {
    Id space(H5Dget_space(dset), H5Sclose);
    const int rank = H5Sget_simple_extent_ndims(space.get());
    if (rank < 0) fail(impl::cat("cannot read the shape of '", name, "'"));
    std::vector<hsize_t> d(rank);
    H5Sget_simple_extent_dims(space.get(), d.data(), nullptr);
    return Dims(d.begin(), d.end());
  }

  template <class T>
  void check_class(hid_t dset, const std::string& name) const {
    Id type(H5Dget_type(dset), H5Tclose);
    const H5T_class_t c = H5Tget_class(type.get());
    if (c != native_class<T>())
      fail(impl::cat("dataset '", name, "' holds ", class_name(c), " data, expected ", class_name(native_class<T>())));
  }

  // Checks the kChecksum attribute of `dset` (if it has one). The hash is of the values as stored, so a read
  // with conversion (a float64 dataset read as float32) hashes a second read in the stored type: skipping it
  // would let an edited dataset of another element size pass unchecked.
  void verify_checksum(hid_t dset, const std::string& name, const void* data, std::size_t bytes,
                       std::size_t elem_size) const {
    if (H5Aexists(dset, kChecksum) <= 0) return;
    Id a(H5Aopen(dset, kChecksum, H5P_DEFAULT), H5Aclose);
    std::uint64_t stored = 0;
    if (!a.valid() || H5Aread(a.get(), H5T_NATIVE_UINT64, &stored) < 0)
      fail(impl::cat("cannot read the checksum of dataset '", name, "' (corrupted?)"));
    Id type(H5Dget_type(dset), H5Tclose);
    std::uint64_t sum = 0;
    if (H5Tget_size(type.get()) == elem_size) {
      sum = checksum(data, bytes);
    } else {
      Id native(H5Tget_native_type(type.get(), H5T_DIR_ASCEND), H5Tclose);
      std::vector<unsigned char> raw(bytes / elem_size * H5Tget_size(native.get()));
      if (!raw.empty() && H5Dread(dset, native.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data()) < 0)
        fail(impl::cat("cannot read dataset '", name, "' (truncated or corrupted?)"));
      sum = checksum(raw.data(), raw.size());
    }
    if (stored != sum) fail(impl::cat("dataset '", name, "' does not match its checksum (the file is corrupted)"));
  }

  // An existing scalar attribute of the same type is rewritten in place (one object header chunk, no
  // allocation), so a per-step counter such as a chain's `iteration` can be updated without restructuring the
  // header; any other is replaced.
  Id create_attribute(const std::string& object, const std::string& attr, hid_t type) {
    Id obj = open_object(object);
    if (H5Aexists(obj.get(), attr.c_str()) > 0) {
      Id old(H5Aopen(obj.get(), attr.c_str(), H5P_DEFAULT), H5Aclose);
      if (old.valid()) {
        Id old_type(H5Aget_type(old.get()), H5Tclose);
        Id old_space(H5Aget_space(old.get()), H5Sclose);
        if (H5Tequal(old_type.get(), type) > 0 && H5Sget_simple_extent_type(old_space.get()) == H5S_SCALAR) return old;
      }
      old.reset();
      H5Adelete(obj.get(), attr.c_str());
    }
    Id space(H5Screate(H5S_SCALAR), H5Sclose);
    Id a(H5Acreate2(obj.get(), attr.c_str(), type, space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    if (!a.valid()) fail(impl::cat("cannot create attribute '", attr, "' on '", object_path(object), "'"));
    return a;
  }

  Id open_attribute(const std::string& object, const std::string& attr) const {
    Id obj = open_object(object);
    Id a(H5Aopen(obj.get(), attr.c_str(), H5P_DEFAULT), H5Aclose);
    if (!a.valid()) fail(impl::cat("no attribute '", attr, "' on '", object_path(object), "'"));
    return a;
  }

  template <class T>
  T read_numeric_attribute(const std::string& object, const std::string& attr) const {
    Id a = open_attribute(object, attr);
    Id type(H5Aget_type(a.get()), H5Tclose);
    const H5T_class_t c = H5Tget_class(type.get());
    if (c != H5T_INTEGER && c != H5T_FLOAT && c != H5T_ENUM)
      fail(impl::cat("attribute '", attr, "' on '", object_path(object), "' is ", class_name(c), ", not a number"));
    Id space(H5Aget_space(a.get()), H5Sclose);
    if (H5Sget_simple_extent_npoints(space.get()) != 1)
      fail(impl::cat("attribute '", attr, "' on '", object_path(object), "' is not a scalar"));
    T v{};
    herr_t rc;
    if (c == H5T_ENUM) {  // h5py's bool: an enum over a small signed integer; read its raw value
      Id native(H5Tget_native_type(type.get(), H5T_DIR_ASCEND), H5Tclose);
      const std::size_t size = H5Tget_size(native.get());
      std::int64_t raw = 0;
      unsigned char buf[8] = {};
      rc = size <= 8 ? H5Aread(a.get(), native.get(), buf) : herr_t(-1);
      if (size == 1) { std::int8_t x; std::memcpy(&x, buf, 1); raw = x; }
      if (size == 2) { std::int16_t x; std::memcpy(&x, buf, 2); raw = x; }
      if (size == 4) { std::int32_t x; std::memcpy(&x, buf, 4); raw = x; }
      if (size == 8) { std::int64_t x; std::memcpy(&x, buf, 8); raw = x; }
      v = T(raw);
    } else {
      rc = H5Aread(a.get(), std::is_floating_point<T>::value ? H5T_NATIVE_DOUBLE : H5T_NATIVE_INT64, &v);
    }
    if (rc < 0) fail(impl::cat("cannot read attribute '", attr, "' on '", object_path(object), "'"));
    return v;
  }
};

File::File(const std::string& path, Mode mode) : m_impl(std::make_unique<Impl>()), m_path(path) {
  Quiet quiet;
  m_impl->path = path;
  if (mode == Mode::create || mode == Mode::create_sealed) {
    // The 1.8 file format: the superblock, object headers and heaps carry checksums, so most corruption is an
    // error on open instead of a wrong value (datasets written whole also carry kChecksum, see below).
    // Not the 1.10 format: its superblock marks a file open for writing, and a file whose writer was killed
    // could then not be opened again (by Nabla, h5py or emcee) without h5clear.
    Id fapl = file_access();
    H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V18, H5F_LIBVER_V18);
    Id fcpl(H5Pcreate(H5P_FILE_CREATE), H5Pclose);
    if (mode == Mode::create_sealed) H5Pset_userblock(fcpl.get(), kUserBlock);
    m_seal_on_close = mode == Mode::create_sealed;
    m_impl->file = Id(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, fcpl.get(), fapl.get()), H5Fclose);
    if (!m_impl->file.valid()) m_impl->fail("cannot create the file (directory missing or not writable?)");
    return;
  }
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) m_impl->fail("no such file");
  if (mode == Mode::read_sealed) verify_seal(path);
  const bool read_only = mode != Mode::readwrite;
  if (H5Fis_hdf5(path.c_str()) <= 0) m_impl->fail("not an HDF5 file (truncated or corrupted?)");
  m_impl->file = Id(H5Fopen(path.c_str(), read_only ? H5F_ACC_RDONLY : H5F_ACC_RDWR, file_access().get()), H5Fclose);
  if (!m_impl->file.valid())
    m_impl->fail(read_only ? "cannot open for reading (truncated or corrupted?)"
                                    : "cannot open for writing (read-only, locked by another process, or corrupted?)");
}

File::~File() {
  if (m_impl) {
    Quiet quiet;
    m_impl->file.reset();
  }
}
File::File(File&&) noexcept = default;
File& File::operator=(File&&) noexcept = default;

void File::close() {
  Quiet quiet;
  if (m_impl && m_impl->file.valid()) {
    const herr_t rc = H5Fclose(m_impl->file.release());
    if (rc < 0) m_impl->fail("error while closing");
    if (m_seal_on_close) write_seal(m_impl->path);
    m_seal_on_close = false;
  }
}

void File::flush() {
  Quiet quiet;
  if (H5Fflush(m_impl->file.get(), H5F_SCOPE_GLOBAL) < 0) m_impl->fail("cannot flush");
}

bool File::exists(const std::string& name) const {
  Quiet quiet;
  if (name.empty() || name == "/") return true;
  // H5Lexists fails (rather than answering false) when a parent is missing, so walk the path.
  std::size_t pos = 0;
  while (true) {
    const std::size_t next = name.find('/', pos + 1);
    const std::string prefix = name.substr(0, next);
    if (!prefix.empty() && prefix != "/" && H5Lexists(m_impl->file.get(), prefix.c_str(), H5P_DEFAULT) <= 0)
      return false;
    if (next == std::string::npos) return true;
    pos = next;
  }
}

void File::create_group(const std::string& name) {
  Quiet quiet;
  if (exists(name)) return;
  Id lcpl = m_impl->lcpl();
  Id g(H5Gcreate2(m_impl->file.get(), name.c_str(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
  if (!g.valid()) m_impl->fail(impl::cat("cannot create group '", name, "'"));
}

bool File::is_group(const std::string& name) const {
  Quiet quiet;
  if (!exists(name)) return false;
  Id o = m_impl->open_object(name);
  return H5Iget_type(o.get()) == H5I_GROUP;
}

std::vector<std::string> File::children(const std::string& name) const {
  Quiet quiet;
  Id g(H5Gopen2(m_impl->file.get(), object_path(name).c_str(), H5P_DEFAULT), H5Gclose);
  if (!g.valid()) m_impl->fail(impl::cat("no group '", object_path(name), "'"));
  std::vector<std::string> out;
  auto add = [](hid_t, const char* link, const auto*, void* data) -> herr_t {  // H5L_info_t or H5L_info2_t
    static_cast<std::vector<std::string>*>(data)->emplace_back(link);
    return 0;
  };
  if (H5Literate(g.get(), H5_INDEX_NAME, H5_ITER_INC, nullptr, add, &out) < 0)
    m_impl->fail(impl::cat("cannot list group '", object_path(name), "'"));
  return out;
}

void File::copy_from(const File& src, const std::string& name) {
  Quiet quiet;
  if (H5Ocopy(src.m_impl->file.get(), name.c_str(), m_impl->file.get(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT) < 0)
    m_impl->fail(impl::cat("cannot copy '", name, "' from '", src.m_impl->path, "'"));
}

void File::remove(const std::string& name) {
  Quiet quiet;
  if (H5Ldelete(m_impl->file.get(), name.c_str(), H5P_DEFAULT) < 0)
    m_impl->fail(impl::cat("cannot remove '", name, "'"));
}

Dims File::dims(const std::string& name) const {
  Quiet quiet;
  Id d = m_impl->open_dataset(name);
  return m_impl->extent(d.get(), name);
}

template <class T>
void File::write(const std::string& name, const std::vector<T>& data, const Dims& dims) {
  Quiet quiet;
  if (data.size() != product(dims))
    m_impl->fail(impl::cat("dataset '", name, "': ", data.size(), " values do not fill shape ", dims_text(dims)));
  if (exists(name)) remove(name);
  std::vector<hsize_t> d(dims.begin(), dims.end());
  Id space(dims.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(int(d.size()), d.data(), nullptr), H5Sclose);
  Id lcpl = m_impl->lcpl();
  Id dset(H5Dcreate2(m_impl->file.get(), name.c_str(), native_type<T>(), space.get(), lcpl.get(), H5P_DEFAULT,
                     H5P_DEFAULT),
          H5Dclose);
  if (!dset.valid()) m_impl->fail(impl::cat("cannot create dataset '", name, "'"));
  if (!data.empty() && H5Dwrite(dset.get(), native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()) < 0)
    m_impl->fail(impl::cat("cannot write dataset '", name, "'"));
  const std::uint64_t sum = checksum(data.data(), data.size() * sizeof(T));
  Id aspace(H5Screate(H5S_SCALAR), H5Sclose);
  Id attr(H5Acreate2(dset.get(), kChecksum, H5T_NATIVE_UINT64, aspace.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  if (!attr.valid() || H5Awrite(attr.get(), H5T_NATIVE_UINT64, &sum) < 0)
    m_impl->fail(impl::cat("cannot write the checksum of dataset '", name, "'"));
}

template <class T>
std::vector<T> File::read(const std::string& name, Dims* dims) const {
  Quiet quiet;
  Id dset = m_impl->open_dataset(name);
  m_impl->check_class<T>(dset.get(), name);
  const Dims d = m_impl->extent(dset.get(), name);
  std::vector<T> out(product(d));
  if (!out.empty() && H5Dread(dset.get(), native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0)
    m_impl->fail(impl::cat("cannot read dataset '", name, "' (truncated or corrupted?)"));
  m_impl->verify_checksum(dset.get(), name, out.data(), out.size() * sizeof(T), sizeof(T));
  if (dims) *dims = d;
  return out;
}

template <class T>
void File::create_growable(const std::string& name, const Dims& row_dims, std::size_t chunk_rows) {
  Quiet quiet;
  if (exists(name)) remove(name);
  std::vector<hsize_t> cur{0}, max{H5S_UNLIMITED}, chunk{hsize_t(chunk_rows > 0 ? chunk_rows : 1)};
  for (std::size_t r : row_dims) {
    cur.push_back(r);
    max.push_back(r);
    chunk.push_back(r > 0 ? r : 1);
  }
  Id space(H5Screate_simple(int(cur.size()), cur.data(), max.data()), H5Sclose);
  Id dcpl = growable_layout(chunk, sizeof(T));
  if (std::is_floating_point<T>::value) {
    const T nan = std::numeric_limits<T>::quiet_NaN();
    H5Pset_fill_value(dcpl.get(), native_type<T>(), &nan);
  }
  Id lcpl = m_impl->lcpl();
  Id dset(H5Dcreate2(m_impl->file.get(), name.c_str(), native_type<T>(), space.get(), lcpl.get(), dcpl.get(),
                     H5P_DEFAULT),
          H5Dclose);
  if (!dset.valid()) m_impl->fail(impl::cat("cannot create growable dataset '", name, "'"));
}

void File::resize(const std::string& name, std::size_t rows) {
  Quiet quiet;
  Id dset = m_impl->open_dataset(name);
  Dims d = m_impl->extent(dset.get(), name);
  if (d.empty()) m_impl->fail(impl::cat("cannot resize scalar dataset '", name, "'"));
  d[0] = rows;
  std::vector<hsize_t> hd(d.begin(), d.end());
  if (H5Dset_extent(dset.get(), hd.data()) < 0)
    m_impl->fail(impl::cat("cannot resize '", name, "' to ", rows, " rows (not growable?)"));
}

namespace {
// Selects rows [row0, row0 + nrows) of `file_space` and returns the matching memory space.
Id select_rows(hid_t file_space, const Dims& d, std::size_t row0, std::size_t nrows) {
  std::vector<hsize_t> start(d.size(), 0), count(d.begin(), d.end());
  start[0] = row0;
  count[0] = nrows;
  H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr);
  return Id(H5Screate_simple(int(count.size()), count.data(), nullptr), H5Sclose);
}
}  // namespace

template <class T>
void File::write_rows(const std::string& name, std::size_t row0, const std::vector<T>& data, std::size_t nrows) {
  Quiet quiet;
  Id dset = m_impl->open_dataset(name);
  const Dims d = m_impl->extent(dset.get(), name);
  if (d.empty()) m_impl->fail(impl::cat("dataset '", name, "' is a scalar"));
  if (row0 + nrows > d[0])
    m_impl->fail(impl::cat("rows [", row0, ", ", row0 + nrows, ") outside dataset '", name, "' of shape ",
                           dims_text(d), " (resize first)"));
  const std::size_t per_row = d[0] ? product(d) / d[0] : product(Dims(d.begin() + 1, d.end()));
  if (data.size() != nrows * per_row)
    m_impl->fail(impl::cat("dataset '", name, "': ", data.size(), " values for ", nrows, " rows of ", per_row));
  if (nrows == 0) return;
  Id space(H5Dget_space(dset.get()), H5Sclose);
  Id mem = select_rows(space.get(), d, row0, nrows);
  if (H5Dwrite(dset.get(), native_type<T>(), mem.get(), space.get(), H5P_DEFAULT, data.data()) < 0)
    m_impl->fail(impl::cat("cannot write rows of '", name, "'"));
}

template <class T>
std::vector<T> File::read_rows(const std::string& name, std::size_t row0, std::size_t nrows) const {
  Quiet quiet;
  Id dset = m_impl->open_dataset(name);
  m_impl->check_class<T>(dset.get(), name);
  const Dims d = m_impl->extent(dset.get(), name);
  if (d.empty() || row0 + nrows > d[0])
    m_impl->fail(impl::cat("rows [", row0, ", ", row0 + nrows, ") outside dataset '", name, "' of shape ",
                           dims_text(d)));
  std::vector<T> out(nrows * product(Dims(d.begin() + 1, d.end())));
  if (out.empty()) return out;
  Id space(H5Dget_space(dset.get()), H5Sclose);
  Id mem = select_rows(space.get(), d, row0, nrows);
  if (H5Dread(dset.get(), native_type<T>(), mem.get(), space.get(), H5P_DEFAULT, out.data()) < 0)
    m_impl->fail(impl::cat("cannot read rows of '", name, "' (truncated or corrupted?)"));
  return out;
}

void File::set_attribute(const std::string& object, const std::string& attr, double value) {
  Quiet quiet;
  Id a = m_impl->create_attribute(object, attr, H5T_NATIVE_DOUBLE);
  if (H5Awrite(a.get(), H5T_NATIVE_DOUBLE, &value) < 0) m_impl->fail(impl::cat("cannot write attribute '", attr, "'"));
}

void File::set_attribute(const std::string& object, const std::string& attr, std::int64_t value) {
  Quiet quiet;
  Id a = m_impl->create_attribute(object, attr, H5T_NATIVE_INT64);
  if (H5Awrite(a.get(), H5T_NATIVE_INT64, &value) < 0) m_impl->fail(impl::cat("cannot write attribute '", attr, "'"));
}

void File::set_attribute(const std::string& object, const std::string& attr, const std::string& value) {
  Quiet quiet;
  Id type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), H5T_VARIABLE);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  Id a = m_impl->create_attribute(object, attr, type.get());
  const char* p = value.c_str();
  if (H5Awrite(a.get(), type.get(), &p) < 0) m_impl->fail(impl::cat("cannot write attribute '", attr, "'"));
}

void File::set_attribute_bool(const std::string& object, const std::string& attr, bool value) {
  Quiet quiet;
  Id type(H5Tenum_create(H5T_NATIVE_INT8), H5Tclose);
  const std::int8_t f = 0, t = 1;
  H5Tenum_insert(type.get(), "FALSE", &f);
  H5Tenum_insert(type.get(), "TRUE", &t);
  Id a = m_impl->create_attribute(object, attr, type.get());
  const std::int8_t v = value ? 1 : 0;
  if (H5Awrite(a.get(), type.get(), &v) < 0) m_impl->fail(impl::cat("cannot write attribute '", attr, "'"));
}

bool File::has_attribute(const std::string& object, const std::string& attr) const {
  Quiet quiet;
  if (!exists(object)) return false;
  Id obj = m_impl->open_object(object);
  return H5Aexists(obj.get(), attr.c_str()) > 0;
}

double File::attribute_double(const std::string& object, const std::string& attr) const {
  Quiet quiet;
  return m_impl->read_numeric_attribute<double>(object, attr);
}

std::int64_t File::attribute_int(const std::string& object, const std::string& attr) const {
  Quiet quiet;
  return m_impl->read_numeric_attribute<std::int64_t>(object, attr);
}

bool File::attribute_bool(const std::string& object, const std::string& attr) const {
  Quiet quiet;
  return m_impl->read_numeric_attribute<std::int64_t>(object, attr) != 0;
}

std::string File::attribute_string(const std::string& object, const std::string& attr) const {
  Quiet quiet;
  Id a = m_impl->open_attribute(object, attr);
  Id type(H5Aget_type(a.get()), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_STRING)
    m_impl->fail(impl::cat("attribute '", attr, "' on '", object_path(object), "' is not a string"));
  if (H5Tis_variable_str(type.get()) > 0) {
    Id mem(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mem.get(), H5T_VARIABLE);
    H5Tset_cset(mem.get(), H5Tget_cset(type.get()));
    char* p = nullptr;
    if (H5Aread(a.get(), mem.get(), &p) < 0) m_impl->fail(impl::cat("cannot read attribute '", attr, "'"));
    std::string s = p ? p : "";
    H5free_memory(p);
    return s;
  }
  std::string s(H5Tget_size(type.get()), '\0');
  if (H5Aread(a.get(), type.get(), s.data()) < 0) m_impl->fail(impl::cat("cannot read attribute '", attr, "'"));
  s.resize(s.find('\0') == std::string::npos ? s.size() : s.find('\0'));
  return s;
}

#define NABLA_HDF5_INSTANTIATE(T)                                                                      \
  template void File::write<T>(const std::string&, const std::vector<T>&, const Dims&);               \
  template std::vector<T> File::read<T>(const std::string&, Dims*) const;                             \
  template void File::create_growable<T>(const std::string&, const Dims&, std::size_t);               \
  template void File::write_rows<T>(const std::string&, std::size_t, const std::vector<T>&, std::size_t); \
  template std::vector<T> File::read_rows<T>(const std::string&, std::size_t, std::size_t) const;
NABLA_HDF5_INSTANTIATE(double)
NABLA_HDF5_INSTANTIATE(float)
NABLA_HDF5_INSTANTIATE(std::int64_t)
NABLA_HDF5_INSTANTIATE(std::int32_t)
NABLA_HDF5_INSTANTIATE(std::uint64_t)
NABLA_HDF5_INSTANTIATE(std::uint8_t)
#undef NABLA_HDF5_INSTANTIATE

}  // namespace hdf5
}  // namespace nabla
