/// \file fuzz_chain.cpp
/// \brief Fuzz target: the HDF5 chain reader (sampling::HDFBackend, read-only) on well-formed HDF5 files whose
/// layout the input describes: which attributes and datasets exist, their types, ranks, shapes and values.
///
/// The input is not the file's bytes. Byte-level mutation of an HDF5 file tests HDF5's own parser, and HDF5
/// 1.10 is not safe on corrupted files (it found an out-of-bounds read in HDF5's name handling and mallocs sized
/// from corrupted headers within minutes). What Nabla owns is how it reads an HDF5 file that says something other
/// than an emcee chain, so that is what this target varies. An empty input describes a valid 3-step chain.
///
/// Oracle: a file the reader accepts must read back exactly the values written (chain and log_prob), in the
/// shape its attributes state; a file it refuses must raise one of the documented errors.
#include "common.hpp"

#include <nabla/core/hdf5.hpp>
#include <nabla/sampling/mcmc/hdf_backend.hpp>

#include <cstring>
#include <vector>

namespace {

namespace h5 = nabla::hdf5;

/// Decisions read from the input one byte at a time; once it is used up, every decision takes its default.
class Script {
 public:
  Script(const std::uint8_t* data, std::size_t size) : m_p(data), m_end(data + size) {}

  /// An integer field that usually keeps `dflt`, else becomes a neighbour, a small value or any 64-bit value.
  std::int64_t integer(std::int64_t dflt) {
    if (m_p == m_end) return dflt;
    const std::uint8_t b = *m_p++;
    switch (b % 8) {
      case 4: return b / 8;
      case 5: return dflt + 1;
      case 6: return dflt - 1;
      case 7: {
        std::uint64_t u = 0;
        for (int i = 0; i < 8 && m_p != m_end; ++i) u = u << 8 | *m_p++;
        std::int64_t s;
        std::memcpy(&s, &u, sizeof s);
        return s;
      }
      default: return dflt;
    }
  }
  /// One of `n` choices; 0 (the default) most of the time.
  int choice(int n) {
    if (m_p == m_end) return 0;
    const int b = *m_p++;
    return b < 128 ? 0 : b % n;
  }

 private:
  const std::uint8_t* m_p;
  const std::uint8_t* m_end;
};

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

/// A dataset of the shape and element type the script picks (`dims` and `type` by default); returns the values
/// written, as doubles, when they are of floating-point type (the reader's contract), else an empty vector.
std::vector<double> dataset(h5::File& f, Script& s, const std::string& name, h5::Dims dims, Type type = f64) {
  if (s.choice(6) == 5) return {};  // missing
  const int rank = int(s.integer(std::int64_t(dims.size())));
  if (rank < 0 || rank > 4) return {};
  dims.resize(std::size_t(rank), 1);
  std::size_t n = 1;
  for (auto& d : dims) {
    d = std::size_t(std::min<std::int64_t>(std::max<std::int64_t>(s.integer(std::int64_t(d)), 0), 64));
    n *= d;
  }
  if (n > (1u << 16)) return {};
  const bool growable = rank >= 1 && s.choice(2) == 1;
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
      chain = dataset(f, s, std::string(kGroup) + "/chain", {N, W, D});
      log_prob = dataset(f, s, std::string(kGroup) + "/log_prob", {N, W});
      dataset(f, s, std::string(kGroup) + "/accepted", {W});
      dataset(f, s, std::string(kGroup) + "/nabla_accepted_steps", {N, W}, u8);
    }
    f.close();
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
  });
  std::remove(path.c_str());
  return 0;
}
