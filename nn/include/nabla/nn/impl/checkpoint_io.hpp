/// \file checkpoint_io.hpp
/// \brief The compiled HDF5 half of nn checkpoints: host tensors in, file out (no Kokkos, no ad).
#pragma once

#include <cstdint>
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
};
/// Writes atomically (compiled; throws IOError when Nabla has no HDF5).
template <class T>
void write_checkpoint(const std::string& path, const std::vector<HostTensor<T>>& tensors, const CheckpointMeta& meta);
/// Reads the tensors named in `tensors` (their dims give the expected shapes) after checking all of them.
template <class T>
void read_checkpoint(const std::string& path, std::vector<HostTensor<T>>& tensors, CheckpointMeta& meta,
                     bool want_optimizer);

}  // namespace impl
}  // namespace nn
}  // namespace nabla
