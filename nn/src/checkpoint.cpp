/// \file checkpoint.cpp
/// \brief HDF5 side of the checkpoints (see checkpoint.hpp), through core's nabla::hdf5::File.
#include <nabla/config.hpp>
#include <nabla/core/io.hpp>
#include <nabla/core/error.hpp>
#include <nabla/nn/impl/checkpoint_io.hpp>

#include "run_settings.hpp"  // core's private run-settings rules, shared with sampling's chains
#include "dims_text.hpp"

#if NABLA_ENABLE_HDF5
#include <nabla/core/hdf5.hpp>
#endif

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <type_traits>

namespace nabla {
namespace nn {
namespace impl {

namespace {
using ::nabla::impl::dims_text;
constexpr const char* kFormat = "nabla.nn.checkpoint";
// 2: sealed (a hash of the whole file in its user block), every tensor with a value checksum (both came in the
// same change, so every loadable file has them: version 1 files are unsealed and refused before this reader).
// Run settings (group `run`, indexed by root attribute `run_keys`) are optional within version 2: a file
// without them is what every writer before them produced, and load_checkpoint decides what that means.
constexpr std::int64_t kVersion = 2;
constexpr const char* kChecksumAttr = "nabla_checksum";  // core's hdf5::File::write sets it on every dataset
constexpr std::int64_t kMaxCount = std::int64_t(1) << 53;  // epochs, steps: exact in a double, far beyond use

template <class T>
const char* dtype_name() {
  return std::is_same<T, float>::value ? "float32" : "float64";
}

#if NABLA_ENABLE_HDF5
// Keys name HDF5 attributes and are listed comma-separated in `run_keys`: a plain alphabet keeps both exact. The
// rules (and the mismatch message) are core's, shared with sampling's chains.
using settings_impl::valid_key;

template <class Error, class T>
void check_finite(const std::string& fn, const HostTensor<T>& t, const char* then) {
  for (std::size_t i = 0; i < t.data.size(); ++i)
    if (!std::isfinite(t.data[i]))
      throw Error(::nabla::impl::cat(fn, ": tensor '", t.name, "' holds ", t.data[i], " at index ", i, then));
}

// A count the writer stores as int64 in [0, 2^53). Behind a valid seal anything else is an edited file, and
// must not reach the trainer (epoch = -5 trains nothing; steps < 0 breaks Adam's bias correction). Reading it
// both ways catches a float (3.5, NaN) that attribute_int alone would truncate.
std::int64_t read_count(const hdf5::File& f, const std::string& fn, const char* object, const char* attr) {
  const std::string name = std::string(object) == "/" ? attr : std::string(object) + "/" + attr;
  const std::int64_t v = f.attribute_int(object, attr);
  const double d = f.attribute_double(object, attr);
  if (!std::isfinite(d) || d != std::floor(d))
    throw IOError(::nabla::impl::cat(fn, ": attribute ", name, " = ", d, " is not an integer (the file was edited)"));
  if (d != double(v) || v < 0 || v >= kMaxCount) {  // d != v: beyond int64, where attribute_int saturates
    const std::string shown = d == double(v) ? std::to_string(v) : ::nabla::impl::cat(d);
    throw IOError(::nabla::impl::cat(fn, ": attribute ", name, " = ", shown, " is outside [0, 2^53) (the file was edited)"));
  }
  return v;
}

// Settings of the file: false when it records none (written before they were recorded).
bool read_settings(const hdf5::File& f, const std::string& fn, std::map<std::string, std::string>& out) {
  if (!f.has_attribute("/", "run_keys")) {
    if (f.exists("run")) throw IOError(fn + ": has a group 'run' but no root attribute run_keys (the file was edited)");
    return false;
  }
  const std::string keys = f.attribute_string("/", "run_keys");
  std::size_t pos = 0;
  while (!keys.empty() && pos <= keys.size()) {
    const std::size_t end = std::min(keys.find(',', pos), keys.size());
    const std::string k = keys.substr(pos, end - pos);
    pos = end + 1;
    if (!valid_key(k) || out.count(k) || !f.has_attribute("run", k))
      throw IOError(::nabla::impl::cat(fn, ": run setting '", k, "' listed in run_keys = '", keys,
                                       "' is ", valid_key(k) ? (out.count(k) ? "listed twice" : "missing from group 'run'")
                                                             : "not a valid key",
                                       " (the file was edited)"));
    out[k] = f.attribute_string("run", k);
  }
  return true;
}

#endif
}  // namespace

template <class T>
void write_checkpoint(const std::string& path, const std::vector<HostTensor<T>>& tensors, const CheckpointMeta& meta) {
#if NABLA_ENABLE_HDF5
  // What load_checkpoint would refuse is not written: a file that cannot be resumed is worse than none.
  const std::string fn = "nabla::nn::save_checkpoint: '" + path + "'";
  if (meta.epoch < 0 || meta.epoch >= kMaxCount)
    throw ValueError(::nabla::impl::cat(fn, ": epoch ", meta.epoch, " is outside [0, 2^53)"));
  if (meta.has_optimizer && (meta.steps < 0 || meta.steps >= kMaxCount))
    throw ValueError(::nabla::impl::cat(fn, ": the optimizer's step count ", meta.steps, " is outside [0, 2^53)"));
  settings_impl::validate(meta.settings, fn);
  for (const auto& t : tensors) check_finite<ValueError>(fn, t, "; not saved (training diverged? lower the learning rate)");
  io::create_atomically(path, [&](const std::string& tmp) {
    hdf5::File f(tmp, hdf5::Mode::create_sealed);
    for (const auto& t : tensors) f.write(t.name, t.data, t.dims);
    f.set_attribute("/", "format", kFormat);
    f.set_attribute("/", "version", kVersion);
    f.set_attribute("/", "dtype", dtype_name<T>());
    f.set_attribute("/", "epoch", meta.epoch);
    f.set_attribute("/", "rng_key", std::int64_t(meta.key));
    if (meta.has_optimizer) {
      f.create_group("optimizer");
      f.set_attribute("optimizer", "type", meta.optimizer);
      f.set_attribute("optimizer", "steps", meta.steps);
      f.set_attribute("optimizer", "learning_rate", meta.learning_rate);
    }
    // h5py: dict(f['run'].attrs). HDF5 cannot list attributes through core's File, hence the index.
    std::string keys;
    f.create_group("run");
    for (const auto& [k, v] : meta.settings) {
      f.set_attribute("run", k, v);
      keys += (keys.empty() ? "" : ",") + k;
    }
    f.set_attribute("/", "run_keys", keys);
    f.close();
  });
#else
  (void)tensors;
  (void)meta;
  throw IOError(::nabla::impl::cat("nabla::nn::save_checkpoint: '", path, "': Nabla was built without HDF5"));
#endif
}

template <class T>
void read_checkpoint(const std::string& path, std::vector<HostTensor<T>>& tensors, CheckpointMeta& meta,
                     bool want_optimizer, const std::map<std::string, std::string>* expect) {
#if NABLA_ENABLE_HDF5
  const std::string fn = "nabla::nn::load_checkpoint: '" + path + "'";
  if (expect) settings_impl::validate(*expect, fn, "this run's");
  hdf5::File f(path, hdf5::Mode::read_sealed);
  if (!f.has_attribute("/", "format") || f.attribute_string("/", "format") != kFormat)
    throw IOError(fn + ": not a Nabla nn checkpoint (no root attribute format = '" + kFormat + "')");
  if (f.attribute_int("/", "version") != kVersion)
    throw IOError(::nabla::impl::cat(fn, ": checkpoint version ", f.attribute_int("/", "version"), ", this reader knows ",
                                     kVersion));
  if (f.attribute_string("/", "dtype") != dtype_name<T>())
    throw IOError(::nabla::impl::cat(fn, ": holds ", f.attribute_string("/", "dtype"), " tensors, the model is ",
                                     dtype_name<T>()));
  if (want_optimizer) {
    if (!f.exists("optimizer") || !f.has_attribute("optimizer", "type"))
      throw IOError(fn + ": has no optimizer state");
    const std::string type = f.attribute_string("optimizer", "type");
    if (type != meta.optimizer)
      throw ValueError(::nabla::impl::cat(fn, ": optimizer state is for '", type, "', the optimizer is '", meta.optimizer,
                                          "'"));
  }
  // The run settings before the tensors: "written with seed = 0" says more than a shape that differs with them.
  std::map<std::string, std::string> settings;
  const bool has_settings = read_settings(f, fn, settings);
  if (expect) {
    // A file that records nothing cannot show that it was written with this run's data and settings: resuming
    // it could mix two runs silently, which is what recording settings prevents, so a caller that gave some is
    // refused (starting a new checkpoint costs a rerun, not a wrong result). No settings on either side match.
    std::vector<std::string> mine;
    for (const auto& kv : *expect) mine.push_back(kv.first);
    if (!has_settings && !expect->empty())
      throw ValueError(::nabla::impl::cat(fn, " records no run settings (written before they were recorded); this run has ",
                                          settings_impl::describe(mine, *expect),
                                          ": resuming could mix two runs; start a new checkpoint"));
    const std::string differ = settings_impl::mismatch(
        fn, settings, *expect, "resuming would mix two runs: use the same settings or a new checkpoint");
    if (!differ.empty()) throw ValueError(differ);
  }
  // Check everything first: a failed load leaves the model untouched.
  for (const auto& t : tensors) {
    if (!f.exists(t.name))
      throw IOError(::nabla::impl::cat(fn, ": tensor '", t.name, "' is missing (the model expects shape ",
                                       dims_text(t.dims), ")"));
    const auto d = f.dims(t.name);
    if (std::vector<std::size_t>(d.begin(), d.end()) != t.dims)
      throw ShapeError(::nabla::impl::cat(fn, ": tensor '", t.name, "' has shape ", dims_text({d.begin(), d.end()}),
                                          " in the file but ", dims_text(t.dims), " in the model"));
    // core verifies a checksum only where there is one (h5py's files have none); here one is required, else
    // deleting it would let an edited tensor load.
    if (!f.has_attribute(t.name, kChecksumAttr))
      throw IOError(::nabla::impl::cat(fn, ": tensor '", t.name, "' has no checksum (attribute ", kChecksumAttr,
                                       "; every tensor of a version ", kVersion, " checkpoint has one: the file was edited)"));
  }
  // Values behind the seal: the seal is a hash anyone can recompute, so an edited, re-sealed file passes it.
  const std::int64_t epoch = read_count(f, fn, "/", "epoch");
  const std::uint64_t key = std::uint64_t(f.attribute_int("/", "rng_key"));  // any 64 bits are a key
  std::int64_t steps = 0;
  double lr = 0;
  if (f.exists("optimizer")) {  // checked even when not loaded: a file holding impossible values is refused whole
    steps = read_count(f, fn, "optimizer", "steps");
    lr = f.attribute_double("optimizer", "learning_rate");
    if (!(lr > 0) || !std::isfinite(lr))
      throw IOError(::nabla::impl::cat(fn, ": attribute optimizer/learning_rate = ", lr,
                                       " is not a finite positive number (the file was edited)"));
  }
  for (auto& t : tensors) {
    t.data = f.read<T>(t.name);
    check_finite<IOError>(fn, t, " (the file was edited: a checkpoint is written from finite values only)");
    // Variances: BatchNorm's running variance and Adam's second moment (slot "v") divide under a square root.
    const auto ends = [&](const std::string& s) {
      return t.name.size() >= s.size() && t.name.compare(t.name.size() - s.size(), s.size(), s) == 0;
    };
    if (ends("/running_var") || (t.name.rfind("optimizer/", 0) == 0 && ends("/v")))
      for (std::size_t i = 0; i < t.data.size(); ++i)
        if (t.data[i] < 0)
          throw IOError(::nabla::impl::cat(fn, ": tensor '", t.name, "' holds ", t.data[i], " at index ", i,
                                           ", a variance must be >= 0 (the file was edited)"));
  }
  meta.epoch = epoch;
  meta.key = key;
  meta.has_settings = has_settings;
  meta.settings = std::move(settings);
  if (want_optimizer) {
    meta.has_optimizer = true;
    meta.steps = steps;
    meta.learning_rate = lr;
  }
#else
  (void)tensors;
  (void)meta;
  (void)want_optimizer;
  (void)expect;
  throw IOError(::nabla::impl::cat("nabla::nn::load_checkpoint: '", path, "': Nabla was built without HDF5"));
#endif
}

template void write_checkpoint<float>(const std::string&, const std::vector<HostTensor<float>>&, const CheckpointMeta&);
template void write_checkpoint<double>(const std::string&, const std::vector<HostTensor<double>>&, const CheckpointMeta&);
template void read_checkpoint<float>(const std::string&, std::vector<HostTensor<float>>&, CheckpointMeta&, bool,
                                     const std::map<std::string, std::string>*);
template void read_checkpoint<double>(const std::string&, std::vector<HostTensor<double>>&, CheckpointMeta&, bool,
                                      const std::map<std::string, std::string>*);

}  // namespace impl
}  // namespace nn
}  // namespace nabla
