/// \file hdf5.hpp
/// \brief A small host-side HDF5 layer shared by nn checkpoints and sampling chains: files, groups, datasets
/// (fixed and growable along their first dimension), scalar attributes. Every error names the file and object.
///
/// Available when `NABLA_ENABLE_HDF5` (from `nabla/config.hpp`) is 1. HDF5 itself stays a private
/// dependency of the compiled library: no HDF5 header is included here. Paths of objects are HDF5 paths
/// ("group/dataset"); parents are created as needed. Data is row-major as HDF5 and h5py see it: a dataset of
/// dims {a, b} holds element (i, j) at i * b + j.
#pragma once

#include <nabla/config.hpp>

#if !NABLA_ENABLE_HDF5
#error "nabla/core/hdf5.hpp needs Nabla configured with NABLA_ENABLE_HDF5=ON (test NABLA_ENABLE_HDF5 first)"
#endif

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace nabla {
namespace hdf5 {

using Dims = std::vector<std::size_t>;

/// How a file is opened.
enum class Mode {
  read,       ///< existing file, read only
  readwrite,  ///< existing file, read and write
  create,     ///< new file, truncating any old one
  /// New file for writing once (checkpoints): close() seals it with a hash of its bytes in a 512-byte user
  /// block (HDF5 and h5py skip it), so any later change to the file is detected before HDF5 parses it.
  create_sealed,
  /// Existing sealed file, read only: refused with IOError, before HDF5 reads a byte of it, unless the seal
  /// matches (HDF5 itself can crash on corrupted metadata it does not checksum, such as string heaps).
  read_sealed,
};

/// \brief An open HDF5 file (movable, closes on destruction).
///
/// Element types: double, float, std::int64_t, std::int32_t, std::uint64_t, std::uint8_t. Reading checks that the
/// stored type converts without loss of kind (integer to integer, float to float) and that sizes match.
class File {
 public:
  File(const std::string& path, Mode mode);
  ~File();
  File(File&&) noexcept;
  File& operator=(File&&) noexcept;
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  const std::string& path() const { return m_path; }

  /// True if an object (group or dataset) exists at `name` (all parents checked, no error when absent).
  bool exists(const std::string& name) const;
  /// Creates a group and its parents; no-op if it exists.
  void create_group(const std::string& name);
  /// True if `name` is a group.
  bool is_group(const std::string& name) const;
  /// The names of the links in group `name` ("" or "/" for the root), in name order.
  std::vector<std::string> children(const std::string& name) const;
  /// Copies object `name` of `src` (a dataset, or a group with everything below it, attributes included) to
  /// the same path here; its parent must exist.
  void copy_from(const File& src, const std::string& name);
  /// Removes a link (the space is reclaimed only by h5repack; fine for small metadata).
  void remove(const std::string& name);

  /// Writes a dataset of shape `dims` (replacing one of the same name); data.size() must equal prod(dims).
  /// It carries a hash of its values (attribute `nabla_checksum`) that read() verifies: a corrupted file is an
  /// IOError, never wrong values.
  template <class T>
  void write(const std::string& name, const std::vector<T>& data, const Dims& dims);
  /// Reads a whole dataset; `dims`, if given, receives its shape.
  template <class T>
  std::vector<T> read(const std::string& name, Dims* dims = nullptr) const;
  /// The shape of a dataset.
  Dims dims(const std::string& name) const;

  /// Creates a dataset of shape {0, row_dims...} growable along dim 0 (chunked by `chunk_rows` rows), as
  /// h5py's `maxshape=(None, ...)`. Its chunks are allocated by resize() and written by nothing else, so
  /// writing rows changes no metadata; rows allocated but not yet written hold whatever the disk held (write
  /// rows before reading them). The fill value of floating-point data is NaN, so rows whose chunk is lost from
  /// a corrupted index read as NaN. No checksum: chunks are rewritten in place, and a torn write must not make
  /// the rows already committed unreadable.
  template <class T>
  void create_growable(const std::string& name, const Dims& row_dims, std::size_t chunk_rows = 64);
  /// Sets dim 0 of a growable dataset to `rows`, allocating (not writing) the chunks of new rows.
  void resize(const std::string& name, std::size_t rows);
  /// Writes `nrows` rows starting at row `row0` (must be inside the current extent); data.size() = nrows *
  /// prod(row dims).
  template <class T>
  void write_rows(const std::string& name, std::size_t row0, const std::vector<T>& data, std::size_t nrows);
  /// Reads rows [row0, row0 + nrows).
  template <class T>
  std::vector<T> read_rows(const std::string& name, std::size_t row0, std::size_t nrows) const;

  /// Scalar attributes on an object ("" or "/" is the root group). Strings are variable-length UTF-8 as h5py
  /// writes them; bools are h5py's enum of int8 (FALSE = 0, TRUE = 1).
  void set_attribute(const std::string& object, const std::string& attr, double value);
  void set_attribute(const std::string& object, const std::string& attr, std::int64_t value);
  void set_attribute(const std::string& object, const std::string& attr, const std::string& value);
  void set_attribute(const std::string& object, const std::string& attr, const char* value) {
    set_attribute(object, attr, std::string(value));
  }
  void set_attribute_bool(const std::string& object, const std::string& attr, bool value);
  bool has_attribute(const std::string& object, const std::string& attr) const;
  double attribute_double(const std::string& object, const std::string& attr) const;
  std::int64_t attribute_int(const std::string& object, const std::string& attr) const;
  std::string attribute_string(const std::string& object, const std::string& attr) const;
  bool attribute_bool(const std::string& object, const std::string& attr) const;

  /// Pushes everything written so far to the file on disk (H5Fflush; the OS may still buffer).
  void flush();
  /// Closes the file now (the destructor does it otherwise); errors surface here instead of being lost.
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
  std::string m_path;
  bool m_seal_on_close = false;
};

}  // namespace hdf5
}  // namespace nabla
