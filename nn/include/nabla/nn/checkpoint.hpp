/// \file checkpoint.hpp
/// \brief Checkpoints in HDF5, readable by h5py: one dataset per tensor, named by layer —
/// `model/<i>_<kind>/<param>` (e.g. `model/1_dense/weight`, shaped as the matrix reads: out x in),
/// `optimizer/<i>_<kind>/<param>/<slot>` — and root attributes `format`, `version`, `dtype`, `epoch`,
/// `rng_key`; the `optimizer` group carries `type`, `steps`, `learning_rate`. Files are written to a
/// temporary beside the target, sealed (a hash of the whole file in its 512-byte user block, which h5py
/// skips) and renamed over it: never half-written, and any later change (truncation, corruption, an edit) is
/// an IOError on load, detected before HDF5 parses the file. Loading checks every tensor's presence and shape
/// before changing anything, and names the first mismatch.
///
/// The seal is a hash anyone can recompute, so an edited and re-sealed file passes it: loading also range-checks
/// what the seal covers (epoch and step count integers in [0, 2^53), a finite positive learning rate, finite
/// tensors, variances >= 0) and requires every tensor's value checksum (attribute `nabla_checksum`); a failure
/// is an IOError naming the file and the value. Run settings (RunSettings: the data fingerprint, seed, options a
/// resume must share) are string attributes of group `run` (h5py: `dict(f['run'].attrs)`), listed in the root
/// attribute `run_keys`; a resume with other settings is a ValueError naming every key that differs.
#pragma once

#include <nabla/core/array.hpp>
#include <nabla/core/error.hpp>
#include <nabla/core/random.hpp>
#include <nabla/nn/chain.hpp>
#include <nabla/nn/impl/checkpoint_io.hpp>
#include <nabla/nn/optimizer.hpp>

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace nabla {
namespace nn {

/// \brief What a run must share with the run that wrote its checkpoint to resume it: key -> value, e.g.
/// {"data", fingerprint(ds)}, {"seed", "0"}, {"val_fraction", "0.2"}. Keys are letters, digits, '_', '.', '-'.
/// Record whatever changes the data a run sees or what its weights mean (splits, preprocessing, labels);
/// a resume that differs would silently mix two runs.
using RunSettings = std::map<std::string, std::string>;

/// \brief Where a training run is: epochs completed, the key its shuffles derive from, and the settings it runs
/// with (saved with it; Trainer::resume refuses a checkpoint written with others).
struct TrainState {
  std::int64_t epoch = 0;
  random::Key key = random::key(0);
  RunSettings settings;
};

/// \brief A 16-hex-digit hash (FNV-1a, 64 bit) of a dataset's shape and values, for RunSettings: another file,
/// row order or preprocessing gives another fingerprint (one bit of any value changes it).
template <class T>
std::string fingerprint(const Array<T, 2>& x, const Array<T, 2>& y) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  const auto add = [&](const void* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) h = (h ^ static_cast<const unsigned char*>(p)[i]) * 0x100000001b3ull;
  };
  for (const Array<T, 2>* a : {&x, &y}) {
    auto m = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), a->view());
    const std::uint64_t dims[2] = {m.extent(0), m.extent(1)};
    add(dims, sizeof dims);
    for (std::size_t j = 0; j < m.extent(1); ++j)  // the values' order, not the storage layout's
      for (std::size_t i = 0; i < m.extent(0); ++i) add(&m(i, j), sizeof(T));
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

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

/// \brief Saves the model (parameters, BatchNorm statistics), the optimizer state (if given), the epoch, the
/// RNG key and the run settings to `path`, atomically. With MPI, call it on rank 0 only (Trainer does).
/// Refuses (ValueError) what a load would refuse: non-finite values, a negative epoch, a bad settings key.
template <class T>
void save_checkpoint(const std::string& path, Chain<T>& model, Optimizer<T>* opt, const TrainState& state) {
  compat::Region region("nabla::nn::save_checkpoint");
  std::vector<impl::HostTensor<T>> tensors;
  for (auto& [name, a] : impl::checkpoint_arrays(model, opt)) tensors.push_back(impl::to_host_tensor(name, a));
  impl::CheckpointMeta meta;
  meta.epoch = state.epoch;
  meta.key = (std::uint64_t(state.key.k1) << 32) | state.key.k0;
  meta.settings = state.settings;
  if (opt) {
    meta.has_optimizer = true;
    meta.optimizer = opt->type();
    meta.steps = opt->steps();
    meta.learning_rate = opt->learning_rate();
  }
  impl::write_checkpoint(path, tensors, meta);
}

namespace impl {
template <class T>
TrainState load_checkpoint(const std::string& path, Chain<T>& model, Optimizer<T>* opt, const RunSettings* expect) {
  compat::Region region("nabla::nn::load_checkpoint");
  auto arrays = impl::checkpoint_arrays(model, opt);
  std::vector<impl::HostTensor<T>> tensors;
  for (auto& [name, a] : arrays) {
    const std::size_t r = a.extent(0), c = a.extent(1);
    tensors.push_back({name, c == 1 ? std::vector<std::size_t>{r} : std::vector<std::size_t>{r, c}, {}});
  }
  impl::CheckpointMeta meta;
  if (opt) meta.optimizer = opt->type();
  impl::read_checkpoint(path, tensors, meta, opt != nullptr, expect);
  for (std::size_t i = 0; i < arrays.size(); ++i) impl::from_host_tensor(tensors[i], arrays[i].second);
  if (opt) opt->set_steps(meta.steps);
  TrainState st;
  st.epoch = meta.epoch;
  st.key = random::Key{std::uint32_t(meta.key), std::uint32_t(meta.key >> 32)};
  st.settings = std::move(meta.settings);
  return st;
}
}  // namespace impl

/// \brief Loads a checkpoint into `model` (and `opt`, when given): same architecture required; a tensor of
/// another shape or a missing one throws (ShapeError / IOError) naming it, before anything is changed.
/// Returns the saved epoch, RNG key and run settings (not compared: to resume, pass the settings, below).
/// The optimizer's step count is restored, its learning rate is the caller's (it may follow a schedule).
template <class T>
TrainState load_checkpoint(const std::string& path, Chain<T>& model, Optimizer<T>* opt) {
  return impl::load_checkpoint(path, model, opt, nullptr);
}

/// \brief As above, after checking that the file was written with exactly `settings`: a key with another
/// value, or set on one side only, is a ValueError naming the file, the keys and both values ("'ck.h5' was
/// written with seed = 0; this run has seed = 3"), before anything is changed. A file that records no
/// settings (written before they were recorded) matches only empty `settings`.
template <class T>
TrainState load_checkpoint(const std::string& path, Chain<T>& model, Optimizer<T>* opt, const RunSettings& settings) {
  return impl::load_checkpoint(path, model, opt, &settings);
}

}  // namespace nn
}  // namespace nabla
