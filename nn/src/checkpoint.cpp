/// \file checkpoint.cpp
/// \brief HDF5 side of the checkpoints (see checkpoint.hpp), through core's nabla::hdf5::File.
#include <nabla/config.hpp>
#include <nabla/core/io.hpp>
#include <nabla/core/error.hpp>
#include <nabla/nn/impl/checkpoint_io.hpp>

#if NABLA_ENABLE_HDF5
#include <nabla/core/hdf5.hpp>
#endif

#include <cstdio>
#include <type_traits>

namespace nabla {
namespace nn {
namespace impl {

namespace {
constexpr const char* kFormat = "nabla.nn.checkpoint";
constexpr std::int64_t kVersion = 2;  // 2: sealed (a hash of the whole file in its user block)

std::string dims_str(const std::vector<std::size_t>& d) {
  std::string s = "(";
  for (std::size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + std::to_string(d[i]);
  return s + (d.size() == 1 ? ",)" : ")");
}
template <class T>
const char* dtype_name() {
  return std::is_same<T, float>::value ? "float32" : "float64";
}
}  // namespace

template <class T>
void write_checkpoint(const std::string& path, const std::vector<HostTensor<T>>& tensors, const CheckpointMeta& meta) {
#if NABLA_ENABLE_HDF5
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
                     bool want_optimizer) {
#if NABLA_ENABLE_HDF5
  const std::string fn = "nabla::nn::load_checkpoint: '" + path + "'";
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
  // Check everything first: a failed load leaves the model untouched.
  for (const auto& t : tensors) {
    if (!f.exists(t.name))
      throw IOError(::nabla::impl::cat(fn, ": tensor '", t.name, "' is missing (the model expects shape ",
                                       dims_str(t.dims), ")"));
    const auto d = f.dims(t.name);
    if (std::vector<std::size_t>(d.begin(), d.end()) != t.dims)
      throw ShapeError(::nabla::impl::cat(fn, ": tensor '", t.name, "' has shape ", dims_str({d.begin(), d.end()}),
                                          " in the file but ", dims_str(t.dims), " in the model"));
  }
  for (auto& t : tensors) t.data = f.read<T>(t.name);
  meta.epoch = f.attribute_int("/", "epoch");
  meta.key = std::uint64_t(f.attribute_int("/", "rng_key"));
  if (want_optimizer) {
    meta.has_optimizer = true;
    meta.steps = f.attribute_int("optimizer", "steps");
    meta.learning_rate = f.attribute_double("optimizer", "learning_rate");
  }
#else
  (void)tensors;
  (void)meta;
  (void)want_optimizer;
  throw IOError(::nabla::impl::cat("nabla::nn::load_checkpoint: '", path, "': Nabla was built without HDF5"));
#endif
}

template void write_checkpoint<float>(const std::string&, const std::vector<HostTensor<float>>&, const CheckpointMeta&);
template void write_checkpoint<double>(const std::string&, const std::vector<HostTensor<double>>&, const CheckpointMeta&);
template void read_checkpoint<float>(const std::string&, std::vector<HostTensor<float>>&, CheckpointMeta&, bool);
template void read_checkpoint<double>(const std::string&, std::vector<HostTensor<double>>&, CheckpointMeta&, bool);

}  // namespace impl
}  // namespace nn
}  // namespace nabla
