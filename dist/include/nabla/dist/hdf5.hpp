/// \file hdf5.hpp
/// \brief Distributed arrays in ONE HDF5 file, each rank writing and reading its own hyperslab of one dataset.
///
/// The dataset is laid out as an undistributed array's (`nabla::hdf5`, h5py: element (i, j) of shape (n0, n1)
/// at i * n1 + j), so h5py reads it and any partition, over any number of ranks, reads it back. Built against
/// parallel HDF5 (Debian's libhdf5-openmpi-dev; `NABLA_HDF5_PARALLEL`), every rank opens the file through
/// MPI-IO and writes its block in one collective H5Dwrite; against serial HDF5, rank 0 opens the file and the
/// blocks travel to and from it one rank at a time (same file, no rank holds more than one block).
///
///     dist::File f(grid.comm(), "u.h5", hdf5::Mode::create);   // collective
///     f.write("u", u);                                         // u: a dist::Array, any partition
///     f.set_attribute("/", "step", std::int64_t(step));
///     f.close();                                               // renames the finished file onto "u.h5"
///
/// Every call is collective (same arguments on every rank); an error on any rank is an IOError on every rank,
/// naming the file, the object and the rank that failed. Files are created at a temporary path and renamed
/// onto `path` by close(): a run killed while writing leaves the old file.
#pragma once

#include <nabla/config.hpp>

#if !NABLA_ENABLE_HDF5
#error "nabla/dist/hdf5.hpp needs Nabla configured with NABLA_ENABLE_HDF5=ON (test NABLA_ENABLE_HDF5 first)"
#endif

#include <nabla/core/hdf5.hpp>
#include <nabla/dist/array.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>

namespace nabla {
namespace dist {

/// Whether this build writes distributed files through MPI-IO (parallel HDF5) or funnels them through rank 0.
bool parallel_hdf5();

namespace impl {
/// Element types of distributed datasets (as nabla::hdf5's).
enum class H5Type { f64, f32, i64, i32, u64, u8 };
template <class T>
constexpr H5Type h5_type() {
  if constexpr (std::is_same<T, double>::value) return H5Type::f64;
  else if constexpr (std::is_same<T, float>::value) return H5Type::f32;
  else if constexpr (std::is_same<T, std::int64_t>::value) return H5Type::i64;
  else if constexpr (std::is_same<T, std::int32_t>::value) return H5Type::i32;
  else if constexpr (std::is_same<T, std::uint64_t>::value) return H5Type::u64;
  else {
    static_assert(std::is_same<T, std::uint8_t>::value,
                  "nabla::dist::File: elements are double, float, int64, int32, uint64 or uint8");
    return H5Type::u8;
  }
}
/// A row-major host buffer of a block's shape (HDF5's order).
template <class T, int R, std::size_t... I>
auto row_major(const Shape<R>& s, std::index_sequence<I...>) {
  static_assert(R >= 1, "nabla::dist::File: arrays of rank 0 are not distributed");
  return Kokkos::View<typename nabla::impl::data_type<T, R>::type, Kokkos::LayoutRight, Kokkos::HostSpace>(
      Kokkos::view_alloc(std::string("nabla::dist::File::block"), Kokkos::WithoutInitializing), s[I]...);
}
template <class T, int R>
auto row_major(const Shape<R>& s) {
  return row_major<T, R>(s, std::make_index_sequence<R>{});
}
}  // namespace impl

/// \brief One HDF5 file shared by the ranks of a communicator (see the file comment).
class File {
 public:
  /// Mode::create (a new file, renamed onto `path` by close()) or Mode::read; create_sealed and read_sealed as
  /// nabla::hdf5's (a hash of the whole file in its user block, checked before HDF5 reads it: checkpoints).
  File(const mpi::Comm& comm, const std::string& path, nabla::hdf5::Mode mode);
  ~File();
  File(File&&) noexcept;
  File& operator=(File&&) noexcept;
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  const std::string& path() const { return m_path; }

  /// Writes `a` as dataset `name` (parents created): each rank its block, the first copy of replicated blocks.
  template <class T, int R, class S>
  void write(const std::string& name, const Array<T, R, S>& a) {
    const Partition<R>& p = a.partition();
    nabla::hdf5::Dims dims(R), offset(R), count(R);
    const Index<R> o = p.offset();
    const Shape<R> e = p.local_shape();
    for (int d = 0; d < R; ++d) dims[d] = p.shape()[d], offset[d] = std::size_t(o[d]), count[d] = e[d];
    const bool mine = p.is_primary() && shape_size(e) > 0;
    const auto block = impl::row_major<T, R>(e);
    Kokkos::deep_copy(block, Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), a.local().view()));
    write_block(name, impl::h5_type<T>(), sizeof(T), dims, offset, count, mine ? block.data() : nullptr);
  }
  /// Reads dataset `name` into a new array of partition `p` (its shape must be the dataset's).
  template <class T, int R, class S = DefaultMemorySpace>
  Array<T, R, S> read(const std::string& name, const Partition<R>& p) const {
    nabla::hdf5::Dims dims(R), offset(R), count(R);
    const Index<R> o = p.offset();
    const Shape<R> e = p.local_shape();
    for (int d = 0; d < R; ++d) dims[d] = p.shape()[d], offset[d] = std::size_t(o[d]), count[d] = e[d];
    Array<T, R, S> out(p, "nabla::dist::File::read", uninitialized);
    const auto block = impl::row_major<T, R>(e);
    read_block(name, impl::h5_type<T>(), sizeof(T), dims, offset, count, shape_size(e) > 0 ? block.data() : nullptr);
    auto host = Kokkos::create_mirror_view(Kokkos::HostSpace(), out.local().view());
    Kokkos::deep_copy(host, block);
    Kokkos::deep_copy(out.local().view(), host);
    return out;
  }
  /// The shape of a dataset (as h5py's `shape`).
  nabla::hdf5::Dims dims(const std::string& name) const;
  bool exists(const std::string& name) const;

  /// Scalar attributes on an object ("/" is the root group); strings are fixed-length UTF-8.
  void set_attribute(const std::string& object, const std::string& attr, std::int64_t value);
  void set_attribute(const std::string& object, const std::string& attr, double value);
  void set_attribute(const std::string& object, const std::string& attr, const std::string& value);
  void set_attribute(const std::string& object, const std::string& attr, const char* value) {
    set_attribute(object, attr, std::string(value));
  }
  std::int64_t attribute_int(const std::string& object, const std::string& attr) const;
  double attribute_double(const std::string& object, const std::string& attr) const;
  std::string attribute_string(const std::string& object, const std::string& attr) const;

  /// Closes the file; a created one is then renamed onto its path. Errors surface here, on every rank.
  void close();

 private:
  void write_block(const std::string& name, impl::H5Type type, std::size_t size, const nabla::hdf5::Dims& dims,
                   const nabla::hdf5::Dims& offset, const nabla::hdf5::Dims& count, const void* data);
  void read_block(const std::string& name, impl::H5Type type, std::size_t size, const nabla::hdf5::Dims& dims,
                  const nabla::hdf5::Dims& offset, const nabla::hdf5::Dims& count, void* data) const;

  struct Impl;
  std::unique_ptr<Impl> m_impl;
  std::string m_path;
};

}  // namespace dist
}  // namespace nabla
