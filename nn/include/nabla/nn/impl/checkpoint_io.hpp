/// \file checkpoint_io.hpp
/// \brief The compiled HDF5 half of nn checkpoints: host tensors in, file out (no Kokkos, no ad).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace nabla {
namespace nn {
namespace impl {
/// A tensor in h5py's row-major view.
template <class T>
struct HostTensor {
  std::string name;
  std::vector<std::size_t> dims;
  std::vector<T> data;
};
struct CheckpointMeta {
  std::int64_t epoch = 0;
  std::uint64_t key = 0;
  bool has_optimizer = false;
  std::string optimizer;
  std::int64_t steps = 0;
  double learning_rate = 0;
  bool has_settings = false;                     ///< read: the file records run settings (older files do not)
  std::map<std::string, std::string> settings;  ///< the run settings (see RunSettings in checkpoint.hpp)
};
/// Writes atomically (compiled; throws IOError when Nabla has no HDF5). Refuses (ValueError) non-finite tensor
/// values and run-setting keys outside [A-Za-z0-9_.-].
template <class T>
void write_checkpoint(const std::string& path, const std::vector<HostTensor<T>>& tensors, const CheckpointMeta& meta);
/// Reads the tensors named in `tensors` (their dims give the expected shapes) after checking all of them: header
/// values in range, run settings equal to `*expect` (when given), presence, shape, checksum, finite values.
template <class T>
void read_checkpoint(const std::string& path, std::vector<HostTensor<T>>& tensors, CheckpointMeta& meta,
                     bool want_optimizer, const std::map<std::string, std::string>* expect = nullptr);

}  // namespace impl
}  // namespace nn
}  // namespace nabla
