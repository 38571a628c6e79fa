// HDF5 handles shared by Nabla's compiled HDF5 layers (core's files, dist's shared files). Private: HDF5's
// headers never reach Nabla's public ones.
#pragma once

#include <hdf5.h>

#include <cstddef>
#include <string>

namespace nabla {
namespace hdf5 {
namespace detail {

// Turns HDF5's error printing off just before the library closes (at exit or MPI_Finalize), once per process:
// after a corrupted file HDF5 1.10 cannot finish closing and would print "infinite loop closing library".
void silence_library_close();

// Silences HDF5's own error stack printing for the lifetime of one call; our exceptions say what failed.
class Quiet {
 public:
  Quiet() {
    silence_library_close();
    H5Eget_auto2(H5E_DEFAULT, &m_func, &m_data);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~Quiet() { H5Eset_auto2(H5E_DEFAULT, m_func, m_data); }
  Quiet(const Quiet&) = delete;
  Quiet& operator=(const Quiet&) = delete;

 private:
  H5E_auto2_t m_func = nullptr;
  void* m_data = nullptr;
};

// An HDF5 identifier closed by the matching H5?close on scope exit.
class Id {
 public:
  Id() = default;
  Id(hid_t id, herr_t (*close)(hid_t)) : m_id(id), m_close(close) {}
  ~Id() { reset(); }
  Id(Id&& o) noexcept : m_id(o.m_id), m_close(o.m_close) { o.m_id = -1; }
  Id& operator=(Id&& o) noexcept {
    if (this != &o) {
      reset();
      m_id = o.m_id;
      m_close = o.m_close;
      o.m_id = -1;
    }
    return *this;
  }
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  hid_t get() const { return m_id; }
  bool valid() const { return m_id >= 0; }
  /// Gives up ownership (the caller closes it, checking the result).
  hid_t release() {
    const hid_t id = m_id;
    m_id = -1;
    return id;
  }
  void reset() {
    if (m_id >= 0 && m_close) m_close(m_id);
    m_id = -1;
  }

 private:
  hid_t m_id = -1;
  herr_t (*m_close)(hid_t) = nullptr;
};

// The innermost entry of HDF5's error stack (what the library itself found, e.g. "addr overflow" or a write's
// errno), or "" when the last call left none. Reading the stack does not clear it.
inline std::string hdf5_reason() {
  std::string reason;
  auto innermost = [](unsigned, const H5E_error2_t* e, void* data) -> herr_t {
    auto& r = *static_cast<std::string*>(data);
    if (r.empty() && e->desc && *e->desc) r = e->desc;
    return 0;
  };
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost, &reason);
  return reason;
}

// Sealed files (Mode::create_sealed, read_sealed): a user block of kUserBlock bytes reserved at creation holds
// "NABLA-SEALED-HDF5 1\n<hash hex>\n<bytes>\n" of the bytes after it. write_seal seals a closed file;
// verify_seal throws IOError unless the seal matches, before HDF5 reads a byte.
constexpr std::size_t kUserBlock = 512;
void write_seal(const std::string& path);
void verify_seal(const std::string& path);

}  // namespace detail
}  // namespace hdf5
}  // namespace nabla
