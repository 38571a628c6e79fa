/// \file fuzz_chain.cpp
/// \brief Fuzz target: the HDF5 chain reader (sampling::HDFBackend, read-only) on well-formed HDF5 files whose
/// layout the input describes: which attributes and datasets exist, their types, ranks, shapes and values.
///
/// The input is not the file's bytes. Byte-level mutation of an HDF5 file tests HDF5's own parser, and HDF5
/// 1.10 is not safe on corrupted files (it found an out-of-bounds read in HDF5's name handling and mallocs sized
/// from corrupted headers within minutes). What Nabla owns is how it reads an HDF5 file that says something other
/// than an emcee chain, so that is what this target varies. An empty input describes a valid 3-step chain.
///
/// Header values are any 64-bit integers, and a dataset may be declared (through HDF5 itself, as h5py would
/// write it) at any shape up to 2^62 elements with only its first rows stored: the reader must check what a header
/// claims against what the file stores before it allocates anything of that size (a std::bad_alloc escapes and is
/// a finding). The run settings attribute is valid, malformed or absent.
///
/// Oracle: a file the reader accepts must read back exactly the values written (chain and log_prob), in the
/// shape its attributes state; a file it refuses must raise one of the documented errors.
#include "common.hpp"

#include <nabla/core/hdf5.hpp>
#include <nabla/sampling/mcmc/hdf_backend.hpp>

#include <hdf5.h>

#include <cstring>
#include <limits>
#include <vector>

namespace {

namespace h5 = nabla::hdf5;
using nabla::fuzz::Script;

constexpr const char* kGroup = "mcmc";

/// Writes an attribute of the type the script picks (integer by default), or none.
void attribute(h5::File& f, Script& s, const char* name, std::int64_t dflt) {
  const std::int64_t v = s.integer(dflt);
  switch (s.choice(5)) {
    case 0: f.set_attribute(kGroup, name, v); break;
    case 1: f.set_attribute(kGroup, name, double(v) + 0.5); break;
    case 2: f.set_attribute(kGroup, name, std::to_string(v)); break;
    case 3: f.set_attribute_bool(kGroup, name, v != 0); break;
    default: break;  // missing
  }
}

enum Type { f64, f32, i64, u8 };

/// A dataset declared through HDF5 itself, after core's writer has closed the file: chunked, growable, chunks
/// allocated only where its first `rows` rows are written (NaN-filled when floating-point, as Nabla's own).
struct Declared {
  std::string name;
  std::vector<hsize_t> dims;
  Type type;
  hsize_t rows;
};

void declare(const std::string& path, const std::vector<Declared>& all) {
  if (all.empty()) return;
  H5E_auto2_t print;
  void* data;
  H5Eget_auto2(H5E_DEFAULT, &print, &data);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // a shape HDF5 refuses leaves the dataset out, quietly
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  for (const Declared& d : all) {
    if (file < 0) break;
    std::vector<hsize_t> max(d.dims), chunk(d.dims.size());
    max[0] = H5S_UNLIMITED;
    for (std::size_t i = 0; i < d.dims.size(); ++i) chunk[i] = std::max<hsize_t>(1, std::min<hsize_t>(d.dims[i], 16));
    const hid_t type = d.type == f64 ? H5T_IEEE_F64LE : d.type == f32 ? H5T_IEEE_F32LE
                                                       : d.type == i64 ? H5T_STD_I64LE : H5T_STD_U8LE;
    const hid_t space = H5Screate_simple(int(d.dims.size()), d.dims.data(), max.data());
    const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, int(chunk.size()), chunk.data());
    const double nan = std::numeric_limits<double>::quiet_NaN();
    if (d.type == f64 || d.type == f32) H5Pset_fill_value(dcpl, H5T_NATIVE_DOUBLE, &nan);
    const hid_t ds = H5Dcreate2(file, d.name.c_str(), type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (ds >= 0 && d.rows > 0) {
      std::vector<hsize_t> count(d.dims), start(d.dims.size(), 0);
      count[0] = d.rows;
      std::size_t n = 1;
      for (hsize_t c : count) n *= std::size_t(c);
      std::vector<double> v(n);
      for (std::size_t i = 0; i < n; ++i) v[i] = double(i % 97) + (d.type == f64 || d.type == f32 ? 0.25 : 0.0);
      H5Sselect_hyperslab(space, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr);
      const hid_t mem = H5Screate_simple(int(count.size()), count.data(), nullptr);
      H5Dwrite(ds, H5T_NATIVE_DOUBLE, mem, space, H5P_DEFAULT, v.data());
      H5Sclose(mem);
    }
    if (ds >= 0) H5Dclose(ds);
    H5Pclose(dcpl);
    H5Sclose(space);
  }
  if (file >= 0) H5Fclose(file);
  H5Eset_auto2(H5E_DEFAULT, print, data);
}

/// A dataset of the shape and element type the script picks (`dims` and `type` by default); returns the values
/// written, as doubles, when they are of floating-point type (the reader's contract), else an empty vector.
/// Declared datasets are queued in `later`.
std::vector<double> dataset(h5::File& f, Script& s, const std::string& name, h5::Dims dims, std::vector<Declared>& later,
                            Type type = f64) {
  if (s.choice(6) == 5) return {};  // missing
  const int rank = int(s.integer(std::int64_t(dims.size())));
  if (rank < 0 || rank > 4) return {};
  dims.resize(std::size_t(rank), 1);
  std::vector<hsize_t> declared;  // the same integers, clamped to [0, 2^40] and to 2^62 elements in all
  std::size_t n = 1;
  hsize_t elements = 1;
  for (auto& d : dims) {
    const std::int64_t v = std::max<std::int64_t>(s.integer(std::int64_t(d)), 0);
    declared.push_back(hsize_t(std::min<std::int64_t>(v, std::int64_t(1) << 40)));
    if (declared.back() > 0 && elements > (hsize_t(1) << 62) / declared.back()) declared.back() = 1;
    elements *= std::max<hsize_t>(declared.back(), 1);
    d = std::size_t(std::min<std::int64_t>(v, 64));
    n *= d;
  }
  const int mode = rank >= 1 ? s.choice(3) : 0;  // written whole, growable written whole, declared
  if (mode == 2) {
    hsize_t row = 1;
    for (std::size_t i = 1; i < declared.size(); ++i) row *= declared[i];
    const hsize_t fit = row == 0 ? 0 : std::min<hsize_t>(declared[0], (hsize_t(1) << 16) / row);
    const hsize_t rows = hsize_t(std::min<std::int64_t>(std::max<std::int64_t>(s.integer(std::int64_t(fit)), 0),
                                                        std::int64_t(fit)));
    const Type t = Type((type + s.choice(4)) % 4);
    later.push_back({name, declared, t, rows});
    if (t != f64 && t != f32) return {};
    std::vector<double> v(std::size_t(rows * row));
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = double(i % 97) + 0.25;
    return v;
  }
  if (n > (1u << 16)) return {};
  const bool growable = mode == 1;
  auto put = [&](auto zero) {
    using T = decltype(zero);
    std::vector<T> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = T(i % 97) + T(std::is_floating_point<T>::value ? 0.25 : 0);
    if (!growable) {
      f.write(name, v, dims);
    } else {
      const h5::Dims row(dims.begin() + 1, dims.end());
      f.create_growable<T>(name, row, std::size_t(1 + s.choice(4)));
      f.resize(name, dims[0]);
      if (n > 0) f.write_rows(name, 0, v, dims[0]);
    }
    return std::is_floating_point<T>::value ? std::vector<double>(v.begin(), v.end()) : std::vector<double>{};
  };
  switch ((type + s.choice(4)) % 4) {
    case f32: return put(float());
    case i64: return put(std::int64_t());
    case u8: return put(std::uint8_t());
    default: return put(double());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = nabla::fuzz::scratch_file(nullptr, 0, ".h5");
  Script s(data, size);
  const std::size_t W = 4, D = 2, N = 3;
  std::vector<double> chain, log_prob;
  std::vector<Declared> declared;
  bool written = false;
  nabla::fuzz::expect_clean_error([&] {  // the writer may refuse a layout (a rank-0 growable...): nothing to read
    h5::File f(path, h5::Mode::create);
    if (s.choice(4) == 3) {
      f.write<double>(kGroup, {1.0}, {1});  // a dataset where the group should be
    } else {
      f.create_group(kGroup);
      attribute(f, s, "nwalkers", W);
      attribute(f, s, "ndim", D);
      attribute(f, s, "iteration", N);
      attribute(f, s, "nabla_seed", 7);
      chain = dataset(f, s, std::string(kGroup) + "/chain", {N, W, D}, declared);
      log_prob = dataset(f, s, std::string(kGroup) + "/log_prob", {N, W}, declared);
      dataset(f, s, std::string(kGroup) + "/accepted", {W}, declared);
      dataset(f, s, std::string(kGroup) + "/nabla_accepted_steps", {N, W}, declared, u8);
      switch (s.choice(4)) {  // run settings: none, valid, malformed, a duplicate key
        case 1: f.set_attribute(kGroup, "nabla_settings", "points=100\nsigma=0.05\n"); break;
        case 2: f.set_attribute(kGroup, "nabla_settings", "sigma=0.05\nno key\n"); break;
        case 3: f.set_attribute(kGroup, "nabla_settings", "sigma=0.05\nsigma=0.1\n"); break;
        default: break;
      }
    }
    f.close();
    declare(path, declared);
    written = true;
  });
  if (written) nabla::fuzz::expect_clean_error([&] {
    nabla::sampling::HDFBackend b(path, kGroup, true);
    if (!b.initialized()) return;
    const std::size_t n = b.iteration(), w = b.nwalkers(), d = b.ndim();
    const std::vector<double> c = b.read_chain(0, n), l = b.read_log_prob(0, n);
    // Accepted, so the datasets exist with at least n rows of the stated shape, and read back unchanged.
    if (c.size() != n * w * d || l.size() != n * w || chain.size() < c.size() || log_prob.size() < l.size())
      __builtin_trap();
    if (!std::equal(c.begin(), c.end(), chain.begin()) || !std::equal(l.begin(), l.end(), log_prob.begin()))
      __builtin_trap();
    if (b.accepted().size() != w) __builtin_trap();
    (void)b.seed();
    (void)b.settings();
  });
  std::remove(path.c_str());
  return 0;
}
