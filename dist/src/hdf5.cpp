// Distributed arrays in one HDF5 file: MPI-IO with parallel HDF5, funnelled through rank 0 with serial HDF5.
#include <nabla/core/error.hpp>
#include <nabla/core/io.hpp>
#include <nabla/dist/hdf5.hpp>

#include <hdf5.h>

#include "hdf5_handles.hpp"
#include "dims_text.hpp"

#include <cstdio>
#include <cstring>
#include <functional>
#include <vector>

namespace nabla {
namespace dist {

#ifdef H5_HAVE_PARALLEL
bool parallel_hdf5() { return true; }
#else
bool parallel_hdf5() { return false; }
#endif

namespace {
using ::nabla::impl::dims_text;
using hdf5::detail::hdf5_reason;
using hdf5::detail::Id;
using hdf5::detail::Quiet;
using nabla::impl::cat;

hid_t native(impl::H5Type t) {
  switch (t) {
    case impl::H5Type::f64: return H5T_NATIVE_DOUBLE;
    case impl::H5Type::f32: return H5T_NATIVE_FLOAT;
    case impl::H5Type::i64: return H5T_NATIVE_INT64;
    case impl::H5Type::i32: return H5T_NATIVE_INT32;
    case impl::H5Type::u64: return H5T_NATIVE_UINT64;
    case impl::H5Type::u8: return H5T_NATIVE_UINT8;
  }
  return H5T_NATIVE_DOUBLE;
}
bool floating(impl::H5Type t) { return t == impl::H5Type::f64 || t == impl::H5Type::f32; }

/// Runs `step` on this rank, then agrees: if it threw on any rank, every rank throws IOError with the message of
/// the lowest failing rank. One MPI_Allreduce (and a broadcast on failure), so no rank is left in a collective.
void collective(const mpi::Comm& comm, const std::function<void()>& step) {
  std::string error;
  try {
    step();
  } catch (const std::exception& e) {
    error = e.what();
  }
  int first = error.empty() ? comm.size() : comm.rank();
  mpi::impl::check(MPI_Allreduce(MPI_IN_PLACE, &first, 1, MPI_INT, MPI_MIN, comm.get()), "MPI_Allreduce");
  if (first == comm.size()) return;
  unsigned long n = error.size();
  mpi::impl::check(MPI_Bcast(&n, 1, MPI_UNSIGNED_LONG, first, comm.get()), "MPI_Bcast");
  error.resize(n);
  mpi::impl::check(MPI_Bcast(error.data(), int(n), MPI_CHAR, first, comm.get()), "MPI_Bcast");
  throw IOError(comm.size() > 1 ? cat(error, " (rank ", first, ")") : error);
}
}  // namespace

struct File::Impl {
  mpi::Comm comm;
  std::string path, tmp;  // tmp: where a created file is written until close()
  Id file;                // on every rank (parallel) or rank 0 (serial)
  bool parallel = parallel_hdf5();
  bool writing = false;
  bool sealed = false;  // created with a seal, written by close()

  bool holds() const { return parallel || comm.rank() == 0; }

  [[noreturn]] void fail(const std::string& what) const {
    const std::string reason = hdf5_reason();
    throw IOError(cat("nabla::dist::File: '", path, "': ", what, reason.empty() ? "" : " (HDF5: " + reason + ")"));
  }

  Id open_dataset(const std::string& name) const {
    Id d(H5Dopen2(file.get(), name.c_str(), H5P_DEFAULT), H5Dclose);
    if (!d.valid()) fail(cat("no dataset '", name, "'"));
    return d;
  }
  hdf5::Dims extent(hid_t dset, const std::string& name) const {
    Id space(H5Dget_space(dset), H5Sclose);
    const int rank = H5Sget_simple_extent_ndims(space.get());
    if (rank < 0) fail(cat("cannot read the shape of '", name, "'"));
    std::vector<hsize_t> d(static_cast<std::size_t>(rank));
    H5Sget_simple_extent_dims(space.get(), d.data(), nullptr);
    return hdf5::Dims(d.begin(), d.end());
  }
  Id open_object(const std::string& name) const {
    Id o(H5Oopen(file.get(), name.empty() ? "/" : name.c_str(), H5P_DEFAULT), H5Oclose);
    if (!o.valid()) fail(cat("no object '", name, "'"));
    return o;
  }
  Id transfer() const {
    Id dxpl(H5Pcreate(H5P_DATASET_XFER), H5Pclose);
#ifdef H5_HAVE_PARALLEL
    if (parallel) H5Pset_dxpl_mpio(dxpl.get(), H5FD_MPIO_COLLECTIVE);
#endif
    return dxpl;
  }
  /// The block [offset, offset + count) of `dset`: a file and a memory selection (none for an empty block).
  std::pair<Id, Id> select(hid_t dset, const hdf5::Dims& offset, const hdf5::Dims& count, bool any) const {
    Id fs(H5Dget_space(dset), H5Sclose);
    std::vector<hsize_t> start(offset.begin(), offset.end()), n(count.begin(), count.end());
    if (!any) {
      H5Sselect_none(fs.get());
      Id ms(H5Screate(H5S_SCALAR), H5Sclose);
      H5Sselect_none(ms.get());
      return {std::move(fs), std::move(ms)};
    }
    if (H5Sselect_hyperslab(fs.get(), H5S_SELECT_SET, start.data(), nullptr, n.data(), nullptr) < 0)
      fail(cat("cannot select the block at ", dims_text(offset), " of extent ", dims_text(count)));
    Id ms(H5Screate_simple(int(n.size()), n.data(), nullptr), H5Sclose);
    return {std::move(fs), std::move(ms)};
  }
  /// MPI-IO: every rank writes (or reads) its block of `dset` in one collective call; a rank without one
  /// (data null) selects nothing but still takes part.
  void collective_block(hid_t dset, const std::string& name, impl::H5Type type, const hdf5::Dims& offset,
                        const hdf5::Dims& count, void* data, bool write) const {
    collective(comm, [&] {
      Quiet quiet;
      auto [fs, ms] = select(dset, offset, count, data != nullptr);
      Id dxpl = transfer();
      char dummy = 0;
      void* buf = data ? data : &dummy;
      const herr_t rc = write ? H5Dwrite(dset, native(type), ms.get(), fs.get(), dxpl.get(), buf)
                              : H5Dread(dset, native(type), ms.get(), fs.get(), dxpl.get(), buf);
      if (rc < 0)
        fail(cat("cannot ", write ? "write" : "read", " rank ", comm.rank(), "'s block of dataset '", name, "'"));
    });
  }
  // Serial HDF5: a rank's block travels to or from rank 0 after a head saying whether it has values, where it
  // starts and its extent.
  void send_head(bool any, const hdf5::Dims& offset, const hdf5::Dims& count) const {
    std::vector<unsigned long> head(2 * offset.size() + 1);
    head[0] = any;
    for (std::size_t i = 0; i < offset.size(); ++i) head[1 + i] = offset[i], head[1 + offset.size() + i] = count[i];
    mpi::impl::check(MPI_Send(head.data(), int(head.size()), MPI_UNSIGNED_LONG, 0, 0, comm.get()), "MPI_Send");
  }
  /// Rank r's head: its offset and count into o and c (sized), its element count; whether it has values.
  bool recv_head(int r, hdf5::Dims& o, hdf5::Dims& c, std::size_t& n) const {
    std::vector<unsigned long> head(2 * o.size() + 1);
    mpi::impl::check(MPI_Recv(head.data(), int(head.size()), MPI_UNSIGNED_LONG, r, 0, comm.get(), MPI_STATUS_IGNORE),
                     "MPI_Recv");
    n = 1;
    for (std::size_t i = 0; i < o.size(); ++i) o[i] = head[1 + i], c[i] = head[1 + o.size() + i], n *= c[i];
    return head[0] != 0;
  }
  /// A scalar attribute, replacing any of the same name.
  Id create_attribute(const std::string& object, const std::string& attr, hid_t type) {
    Id obj = open_object(object);
    if (H5Aexists(obj.get(), attr.c_str()) > 0) H5Adelete(obj.get(), attr.c_str());
    Id space(H5Screate(H5S_SCALAR), H5Sclose);
    Id a(H5Acreate2(obj.get(), attr.c_str(), type, space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    if (!a.valid()) fail(cat("cannot create attribute '", attr, "' on '", object, "'"));
    return a;
  }
  Id open_attribute(const std::string& object, const std::string& attr) const {
    Id obj = open_object(object);
    Id a(H5Aopen(obj.get(), attr.c_str(), H5P_DEFAULT), H5Aclose);
    if (!a.valid()) fail(cat("no attribute '", attr, "' on '", object, "'"));
    return a;
  }
  /// Reads an attribute where the file is open and broadcasts it (serial HDF5) or reads it everywhere.
  template <class T>
  T read_number(const std::string& object, const std::string& attr, hid_t type) const {
    T v{};
    collective(comm, [&] {
      if (!holds()) return;
      Quiet quiet;
      Id a = open_attribute(object, attr);
      if (H5Aread(a.get(), type, &v) < 0) fail(cat("cannot read attribute '", attr, "' on '", object, "' as a number"));
    });
    if (!parallel) mpi::impl::check(MPI_Bcast(&v, int(sizeof v), MPI_BYTE, 0, comm.get()), "MPI_Bcast");
    return v;
  }
  template <class T>
  void write_number(const std::string& object, const std::string& attr, hid_t type, T value) {
    collective(comm, [&] {
      if (!holds()) return;
      Quiet quiet;
      Id a = create_attribute(object, attr, type);
      if (H5Awrite(a.get(), type, &value) < 0) fail(cat("cannot write attribute '", attr, "'"));
    });
  }
};

File::File(const mpi::Comm& comm, const std::string& path, hdf5::Mode mode)
    : m_impl(std::make_unique<Impl>()), m_path(path) {
  Impl& im = *m_impl;
  im.comm = comm;
  im.path = path;
  if (mode == hdf5::Mode::readwrite)
    throw ValueError(cat("nabla::dist::File: '", path, "': a shared file is opened to create or to read"));
  im.writing = mode == hdf5::Mode::create || mode == hdf5::Mode::create_sealed;
  im.sealed = mode == hdf5::Mode::create_sealed;
  if (mode == hdf5::Mode::read_sealed)  // before HDF5 reads a byte of it
    collective(comm, [&] {
      if (comm.rank() == 0) hdf5::detail::verify_seal(path);
    });
  if (im.writing) {  // rank 0's temporary name, the same on every rank
    std::string tmp = comm.rank() == 0 ? io::temporary_path_for(path) : std::string();
    unsigned long n = tmp.size();
    mpi::impl::check(MPI_Bcast(&n, 1, MPI_UNSIGNED_LONG, 0, comm.get()), "MPI_Bcast");
    tmp.resize(n);
    mpi::impl::check(MPI_Bcast(tmp.data(), int(n), MPI_CHAR, 0, comm.get()), "MPI_Bcast");
    im.tmp = tmp;
  }
  collective(comm, [&] {
    if (!im.holds()) return;
    Quiet quiet;
    Id fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
    H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG);
#ifdef H5_HAVE_PARALLEL
    H5Pset_fapl_mpio(fapl.get(), comm.get(), MPI_INFO_NULL);
#endif
    if (im.writing) {
      Id fcpl(H5Pcreate(H5P_FILE_CREATE), H5Pclose);
      if (im.sealed) H5Pset_userblock(fcpl.get(), hdf5::detail::kUserBlock);
      im.file = Id(H5Fcreate(im.tmp.c_str(), H5F_ACC_TRUNC, fcpl.get(), fapl.get()), H5Fclose);
      if (!im.file.valid()) im.fail(cat("cannot create it (at '", im.tmp, "')"));
    } else {
      im.file = Id(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()), H5Fclose);
      if (!im.file.valid()) im.fail("cannot open it for reading (missing, or not an HDF5 file)");
    }
  });
}

File::~File() {
  if (!m_impl) return;
  m_impl->file.reset();  // never committed: a file not closed stays unfinished
  if (m_impl->writing && m_impl->comm.rank() == 0) std::remove(m_impl->tmp.c_str());
}
File::File(File&&) noexcept = default;
File& File::operator=(File&&) noexcept = default;

void File::close() {
  Impl& im = *m_impl;
  collective(im.comm, [&] {
    if (!im.holds() || !im.file.valid()) return;
    Quiet quiet;
    if (H5Fclose(im.file.release()) < 0) im.fail("cannot close it");
  });
  if (!im.writing) return;
  collective(im.comm, [&] {
    if (im.comm.rank() != 0) return;
    if (im.sealed) hdf5::detail::write_seal(im.tmp);
    io::commit_file(im.tmp, im.path);
  });
  im.writing = false;
}

bool File::exists(const std::string& name) const {
  const Impl& im = *m_impl;
  int found = 0;
  collective(im.comm, [&] {
    if (!im.holds()) return;
    Quiet quiet;
    found = H5Lexists(im.file.get(), name.c_str(), H5P_DEFAULT) > 0;
  });
  if (!im.parallel) mpi::impl::check(MPI_Bcast(&found, 1, MPI_INT, 0, im.comm.get()), "MPI_Bcast");
  return found != 0;
}

hdf5::Dims File::dims(const std::string& name) const {
  const Impl& im = *m_impl;
  std::vector<unsigned long> d;
  collective(im.comm, [&] {
    if (!im.holds()) return;
    Quiet quiet;
    Id dset = im.open_dataset(name);
    for (std::size_t e : im.extent(dset.get(), name)) d.push_back(e);
  });
  if (!im.parallel) {
    unsigned long n = d.size();
    mpi::impl::check(MPI_Bcast(&n, 1, MPI_UNSIGNED_LONG, 0, im.comm.get()), "MPI_Bcast");
    d.resize(n);
    mpi::impl::check(MPI_Bcast(d.data(), int(n), MPI_UNSIGNED_LONG, 0, im.comm.get()), "MPI_Bcast");
  }
  return hdf5::Dims(d.begin(), d.end());
}

void File::write_block(const std::string& name, impl::H5Type type, std::size_t size, const hdf5::Dims& dims,
                       const hdf5::Dims& offset, const hdf5::Dims& count, const void* data) {
  Impl& im = *m_impl;
  if (!im.writing) throw ValueError(cat("nabla::dist::File: '", m_path, "' is open for reading"));
  Id dset;
  collective(im.comm, [&] {
    if (!im.holds()) return;
    Quiet quiet;
    std::vector<hsize_t> d(dims.begin(), dims.end());
    Id space(H5Screate_simple(int(d.size()), d.data(), nullptr), H5Sclose);
    Id lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
    H5Pset_create_intermediate_group(lcpl.get(), 1);
    if (H5Lexists(im.file.get(), name.c_str(), H5P_DEFAULT) > 0) H5Ldelete(im.file.get(), name.c_str(), H5P_DEFAULT);
    dset = Id(H5Dcreate2(im.file.get(), name.c_str(), native(type), space.get(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT),
              H5Dclose);
    if (!dset.valid()) im.fail(cat("cannot create dataset '", name, "' of shape ", dims_text(dims)));
  });
  std::size_t elems = 1;
  for (std::size_t c : count) elems *= c;
  if (im.parallel) {
    im.collective_block(dset.get(), name, type, offset, count, const_cast<void*>(data), true);
    return;
  }
  // Serial HDF5: each rank's block (offset, count, values) travels to rank 0, one rank at a time.
  const int root = 0;
  std::vector<char> bytes;
  std::string failed;
  collective(im.comm, [&] {
    for (int r = 0; r < im.comm.size(); ++r) {
      if (im.comm.rank() == r && r != root) {
        im.send_head(data != nullptr, offset, count);
        if (data) mpi::impl::check(MPI_Send(data, int(elems * size), MPI_BYTE, root, 1, im.comm.get()), "MPI_Send");
      }
      if (im.comm.rank() != root) continue;
      hdf5::Dims o = offset, c = count;
      const void* values = data;
      std::size_t n = elems;
      if (r != root) {
        values = nullptr;
        if (im.recv_head(r, o, c, n)) {
          bytes.resize(n * size);
          mpi::impl::check(MPI_Recv(bytes.data(), int(n * size), MPI_BYTE, r, 1, im.comm.get(), MPI_STATUS_IGNORE),
                           "MPI_Recv");
          values = bytes.data();
        }
      }
      if (!values || !failed.empty()) continue;  // after a failure, keep receiving: no rank waits forever
      try {
        Quiet quiet;
        auto [fs, ms] = im.select(dset.get(), o, c, true);
        if (H5Dwrite(dset.get(), native(type), ms.get(), fs.get(), H5P_DEFAULT, values) < 0)
          im.fail(cat("cannot write rank ", r, "'s block of dataset '", name, "'"));
      } catch (const std::exception& e) {
        failed = e.what();
      }
    }
    if (!failed.empty()) throw IOError(failed);
  });
}

void File::read_block(const std::string& name, impl::H5Type type, std::size_t size, const hdf5::Dims& dims,
                      const hdf5::Dims& offset, const hdf5::Dims& count, void* data) const {
  const Impl& im = *m_impl;
  Id dset;
  collective(im.comm, [&] {
    if (!im.holds()) return;
    Quiet quiet;
    dset = im.open_dataset(name);
    const hdf5::Dims have = im.extent(dset.get(), name);
    if (have != dims)
      im.fail(cat("dataset '", name, "' has shape ", dims_text(have), ", not the partition's ", dims_text(dims)));
    Id t(H5Dget_type(dset.get()), H5Tclose);
    const H5T_class_t c = H5Tget_class(t.get());
    if ((c == H5T_FLOAT) != floating(type) || (c != H5T_FLOAT && c != H5T_INTEGER))
      im.fail(cat("dataset '", name, "' holds ", c == H5T_FLOAT ? "floating-point" : "non-floating-point",
                  " data, not the requested element type"));
  });
  std::size_t elems = 1;
  for (std::size_t c : count) elems *= c;
  if (im.parallel) {
    im.collective_block(dset.get(), name, type, offset, count, data, false);
    return;
  }
  // Serial HDF5: rank 0 reads each rank's block and sends it, one rank at a time.
  const int root = 0;
  std::vector<char> bytes;
  std::string failed;
  collective(im.comm, [&] {
    for (int r = 0; r < im.comm.size(); ++r) {
      if (im.comm.rank() == r && r != root) {
        im.send_head(data != nullptr, offset, count);
        if (data)
          mpi::impl::check(MPI_Recv(data, int(elems * size), MPI_BYTE, root, 1, im.comm.get(), MPI_STATUS_IGNORE),
                           "MPI_Recv");
      }
      if (im.comm.rank() != root) continue;
      hdf5::Dims o = offset, c = count;
      void* values = data;
      std::size_t n = elems;
      if (r != root) {
        const bool any = im.recv_head(r, o, c, n);
        bytes.resize(n * size);
        values = any ? bytes.data() : nullptr;
      }
      if (!values) continue;
      if (failed.empty()) {  // after a failure, keep answering (the values are then discarded): no rank waits forever
        try {
          Quiet quiet;
          auto [fs, ms] = im.select(dset.get(), o, c, true);
          if (H5Dread(dset.get(), native(type), ms.get(), fs.get(), H5P_DEFAULT, values) < 0)
            im.fail(cat("cannot read rank ", r, "'s block of dataset '", name, "'"));
        } catch (const std::exception& e) {
          failed = e.what();
        }
      }
      if (r != root)
        mpi::impl::check(MPI_Send(values, int(n * size), MPI_BYTE, r, 1, im.comm.get()), "MPI_Send");
    }
    if (!failed.empty()) throw IOError(failed);
  });
}

void File::set_attribute(const std::string& object, const std::string& attr, std::int64_t value) {
  m_impl->write_number(object, attr, H5T_NATIVE_INT64, value);
}
void File::set_attribute(const std::string& object, const std::string& attr, double value) {
  m_impl->write_number(object, attr, H5T_NATIVE_DOUBLE, value);
}
void File::set_attribute(const std::string& object, const std::string& attr, const std::string& value) {
  Impl& im = *m_impl;
  collective(im.comm, [&] {
    if (!im.holds()) return;
    Quiet quiet;
    Id type(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(type.get(), value.empty() ? 1 : value.size());
    H5Tset_cset(type.get(), H5T_CSET_UTF8);
    Id a = im.create_attribute(object, attr, type.get());
    std::string padded = value.empty() ? std::string(1, '\0') : value;
    if (H5Awrite(a.get(), type.get(), padded.data()) < 0) im.fail(cat("cannot write attribute '", attr, "'"));
  });
}
std::int64_t File::attribute_int(const std::string& object, const std::string& attr) const {
  return m_impl->read_number<std::int64_t>(object, attr, H5T_NATIVE_INT64);
}
double File::attribute_double(const std::string& object, const std::string& attr) const {
  return m_impl->read_number<double>(object, attr, H5T_NATIVE_DOUBLE);
}
std::string File::attribute_string(const std::string& object, const std::string& attr) const {
  const Impl& im = *m_impl;
  std::string s;
  collective(im.comm, [&] {
    if (!im.holds()) return;
    Quiet quiet;
    Id a = im.open_attribute(object, attr);
    Id type(H5Aget_type(a.get()), H5Tclose);
    if (H5Tget_class(type.get()) != H5T_STRING || H5Tis_variable_str(type.get()) > 0)
      im.fail(cat("attribute '", attr, "' on '", object, "' is not a fixed-length string"));
    s.resize(H5Tget_size(type.get()));
    if (H5Aread(a.get(), type.get(), s.data()) < 0) im.fail(cat("cannot read attribute '", attr, "'"));
    s.resize(std::strlen(s.c_str()));
  });
  if (!im.parallel) {
    unsigned long n = s.size();
    mpi::impl::check(MPI_Bcast(&n, 1, MPI_UNSIGNED_LONG, 0, im.comm.get()), "MPI_Bcast");
    s.resize(n);
    mpi::impl::check(MPI_Bcast(s.data(), int(n), MPI_CHAR, 0, im.comm.get()), "MPI_Bcast");
  }
  return s;
}

}  // namespace dist
}  // namespace nabla
