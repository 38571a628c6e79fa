/// \file checkpoint.hpp
/// \brief Checkpoints in HDF5, readable by h5py: one dataset per tensor, named by layer —
/// `model/<i>_<kind>/<param>` (e.g. `model/1_dense/weight`, shaped as the matrix reads: out x in),
/// `optimizer/<i>_<kind>/<param>/<slot>` — and root attributes `format`, `version`, `dtype`, `epoch`,
/// `rng_key`; the `optimizer` group carries `type`, `steps`, `learning_rate`. Files are written to a
/// temporary beside the target, sealed (a hash of the whole file in its 512-byte user block, which h5py
/// skips) and renamed over it: never half-written, and any later change (truncation, corruption, an edit) is
/// an IOError on load, detected before HDF5 parses the file. Loading checks every tensor's presence and shape
/// before changing anything, and names the first mismatch.
#pragma once

#include <nabla/core/array.hpp>
#include <nabla/core/error.hpp>
#include <nabla/core/random.hpp>
#include <nabla/nn/chain.hpp>
#include <nabla/nn/impl/checkpoint_io.hpp>
#include <nabla/nn/optimizer.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace nabla {
namespace nn {

/// \brief Where a training run is: epochs completed and the key its shuffles derive from.
struct TrainState {
  std::int64_t epoch = 0;
  random::Key key = random::key(0);
};

namespace impl {
/// (rows x cols) column-major -> h5py dims ({rows} for a column vector) and row-major data.
template <class T>
HostTensor<T> to_host_tensor(const std::string& name, const Array<T, 2>& a) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), a.view());
  const std::size_t r = h.extent(0), c = h.extent(1);
  HostTensor<T> t{name, c == 1 ? std::vector<std::size_t>{r} : std::vector<std::size_t>{r, c}, {}};
  t.data.resize(r * c);
  for (std::size_t i = 0; i < r; ++i)
    for (std::size_t j = 0; j < c; ++j) t.data[i * c + j] = h(i, j);
  return t;
}
template <class T>
void from_host_tensor(const HostTensor<T>& t, const Array<T, 2>& a) {
  auto h = Kokkos::create_mirror_view(Kokkos::HostSpace(), a.view());
  const std::size_t r = h.extent(0), c = h.extent(1);
  for (std::size_t i = 0; i < r; ++i)
    for (std::size_t j = 0; j < c; ++j) h(i, j) = t.data[i * c + j];
  Kokkos::deep_copy(a.view(), h);
}

template <class T>
std::vector<std::pair<std::string, Array<T, 2>>> checkpoint_arrays(Chain<T>& model, Optimizer<T>* opt) {
  std::vector<std::pair<std::string, Array<T, 2>>> out;
  auto named = model.named_parameters();
  for (auto& [name, p] : named) out.emplace_back("model/" + name, p->value);
  if (opt) {
    auto params = model.trainable_parameters();
    opt->ensure_state(params);
    const auto slots = opt->slot_names();
    std::size_t k = 0;
    for (auto& [name, p] : named) {
      if (!p->trainable) continue;
      for (std::size_t s = 0; s < slots.size(); ++s) out.emplace_back("optimizer/" + name + "/" + slots[s], opt->state(k, s));
      ++k;
    }
  }
  return out;
}
}  // namespace impl

/// \brief Saves the model (parameters, BatchNorm statistics), the optimizer state (if given), the epoch and
/// the RNG key to `path`, atomically. With MPI, call it on rank 0 only (Trainer does).
template <class T>
void save_checkpoint(const std::string& path, Chain<T>& model, Optimizer<T>* opt, const TrainState& state) {
  compat::Region region("nabla::nn::save_checkpoint");
  std::vector<impl::HostTensor<T>> tensors;
  for (auto& [name, a] : impl::checkpoint_arrays(model, opt)) tensors.push_back(impl::to_host_tensor(name, a));
  impl::CheckpointMeta meta;
  meta.epoch = state.epoch;
  meta.key = (std::uint64_t(state.key.k1) << 32) | state.key.k0;
  if (opt) {
    meta.has_optimizer = true;
    meta.optimizer = opt->type();
    meta.steps = opt->steps();
    meta.learning_rate = opt->learning_rate();
  }
  impl::write_checkpoint(path, tensors, meta);
}

/// \brief Loads a checkpoint into `model` (and `opt`, when given): same architecture required; a tensor of
/// another shape or a missing one throws (ShapeError / IOError) naming it, before anything is changed.
/// Returns the saved epoch and RNG key.
template <class T>
TrainState load_checkpoint(const std::string& path, Chain<T>& model, Optimizer<T>* opt) {
  compat::Region region("nabla::nn::load_checkpoint");
  auto arrays = impl::checkpoint_arrays(model, opt);
  std::vector<impl::HostTensor<T>> tensors;
  for (auto& [name, a] : arrays) {
    const std::size_t r = a.extent(0), c = a.extent(1);
    tensors.push_back({name, c == 1 ? std::vector<std::size_t>{r} : std::vector<std::size_t>{r, c}, {}});
  }
  impl::CheckpointMeta meta;
  if (opt) meta.optimizer = opt->type();
  impl::read_checkpoint(path, tensors, meta, opt != nullptr);
  for (std::size_t i = 0; i < arrays.size(); ++i) impl::from_host_tensor(tensors[i], arrays[i].second);
  if (opt) opt->set_steps(meta.steps);
  TrainState st;
  st.epoch = meta.epoch;
  st.key = random::Key{std::uint32_t(meta.key), std::uint32_t(meta.key >> 32)};
  return st;
}

}  // namespace nn
}  // namespace nabla
