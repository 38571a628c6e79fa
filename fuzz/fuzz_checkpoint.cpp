/// \file fuzz_checkpoint.cpp
/// \brief Fuzz target: nn::load_checkpoint into a model with BatchNorm and an Adam optimizer (the layout of
/// example 1's classifier), with and without the optimizer state, and with the run settings checked. Each input
/// is used twice:
///  - as the file's bytes (the seal, a hash of the whole file, must refuse every corruption before HDF5 parses);
///  - as a script of edits to a valid checkpoint, sealed again afterwards: what someone who edits a checkpoint
///    and recomputes its seal can produce (header values of any type and range, tensors without or with stale
///    checksums, non-finite or negative values, other run settings). An empty script is the valid checkpoint.
///
/// Oracle for the scripted files: a load that succeeds saw only values the format allows (epoch and steps
/// integers in [0, 2^53) equal to those written, a finite positive learning rate, every tensor it read
/// checksummed and finite, variances >= 0, run settings equal when checked); the unedited file always loads.
#include "common.hpp"

#include <nabla/core/hdf5.hpp>
#include <nabla/nn.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>

namespace nn = nabla::nn;
namespace h5 = nabla::hdf5;

namespace {
using nabla::fuzz::Script;

struct Setup {
  nn::Chain<float> model = nn::mlp<float>(2, {8}, 3, nn::Activation::tanh, true, true);
  nn::Adam<float> adam{1e-2};
  std::vector<nn::impl::HostTensor<float>> tensors;  // the valid checkpoint's, as first initialised
};
Setup* setup = nullptr;  // reachable until exit: libFuzzer never returns, so Kokkos is never finalised

constexpr double kMaxCount = 9007199254740992.0;  // 2^53

/// Writes a count attribute of the type the script picks; returns the number a reader may accept it as
/// (nothing for a string or a missing attribute).
std::optional<double> count_attribute(h5::File& f, Script& s, const char* object, const char* name, std::int64_t dflt) {
  const std::int64_t v = s.integer(dflt);
  switch (s.choice(6)) {
    case 0: f.set_attribute(object, name, v); return double(v);
    case 1: f.set_attribute(object, name, double(v) + 0.5); return double(v) + 0.5;
    case 2: f.set_attribute(object, name, std::to_string(v)); return std::nullopt;
    case 3: f.set_attribute_bool(object, name, v != 0); return v != 0 ? 1.0 : 0.0;
    case 4: return std::nullopt;
    default: {
      const double special[] = {NAN, INFINITY, -INFINITY, 1e300, -0.0};
      const double d = special[std::uint64_t(v) % 5];
      f.set_attribute(object, name, d);
      return d;
    }
  }
}
bool valid_count(const std::optional<double>& w) { return w && *w == std::floor(*w) && *w >= 0 && *w < kMaxCount; }

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

/// Loads `run` and traps if it succeeds while `must_fail`; returns whether it succeeded.
template <class F>
bool load(F&& run, bool must_fail) {
  bool ok = false;
  nabla::fuzz::expect_clean_error([&] {
    run();
    ok = true;
  });
  if (ok && must_fail) __builtin_trap();
  return ok;
}

void scripted(const std::uint8_t* data, std::size_t size) {
  const std::string path = nabla::fuzz::scratch_file(nullptr, 0, ".forged.h5");
  Script s(data, size);
  const nn::RunSettings expect = {{"data", "abc"}, {"seed", "0"}};
  bool bad_all = false, bad_opt = false, bad_run = false;  // refusals due: every load, with Adam, when checked
  std::optional<double> epoch, steps;
  bool written = false;
  nabla::fuzz::expect_clean_error([&] {
    h5::File f(path, h5::Mode::create_sealed);
    const int format = s.choice(4);  // 0 right, 1 another name, 2 a number, 3 missing
    if (format == 0) f.set_attribute("/", "format", "nabla.nn.checkpoint");
    if (format == 1) f.set_attribute("/", "format", "nabla.nn.checkpointX");
    if (format == 2) f.set_attribute("/", "format", std::int64_t(1));
    bad_all |= format != 0;
    const std::int64_t version = s.integer(2);
    f.set_attribute("/", "version", version);
    bad_all |= version != 2;
    const bool f64 = s.choice(2) == 1;
    f.set_attribute("/", "dtype", f64 ? "float64" : "float32");
    bad_all |= f64;
    epoch = count_attribute(f, s, "/", "epoch", 3);
    bad_all |= !valid_count(epoch);
    f.set_attribute("/", "rng_key", s.integer(12345));
    const int opt = s.choice(3);  // 0 adam, 1 no optimizer group, 2 another optimizer
    if (opt != 1) {
      f.create_group("optimizer");
      f.set_attribute("optimizer", "type", opt == 0 ? "adam" : "sgd");
      steps = count_attribute(f, s, "optimizer", "steps", 30);
      const double lrs[] = {1e-2, 0.0, -1.0, NAN, INFINITY, 1e-300};
      const int lr = s.choice(8);
      if (lr < 6) f.set_attribute("optimizer", "learning_rate", lrs[lr]);
      if (lr == 6) f.set_attribute("optimizer", "learning_rate", std::int64_t(1));
      bad_all |= !valid_count(steps) || lr == 7 || (lr >= 1 && lr <= 4);
    }
    bad_opt |= opt != 0;
    const int run = s.choice(6);  // 0 as expected, 1 no record, 2 another seed, 3 an extra key, 4-5 a bad index
    if (run != 1) {
      f.create_group("run");
      f.set_attribute("run", "data", "abc");
      f.set_attribute("run", "seed", run == 2 ? "3" : "0");
      if (run == 3) f.set_attribute("run", "label", "y");
      const char* keys[] = {"data,seed", "", "data,seed", "data,label,seed", "data,seed,x", "data,,seed"};
      f.set_attribute("/", "run_keys", keys[run]);
    }
    bad_run |= run != 0;
    bad_all |= run >= 4;
    for (const auto& t0 : setup->tensors) {
      auto t = t0;
      const int mode = s.choice(8);  // 0 as saved, 1 no checksum, 2 stale checksum, 3 NaN, 4 inf, 5 negative,
                                     // 6 missing, 7 stored as float64 (allowed: read with conversion, checksummed)
      const std::size_t i = std::size_t(s.integer(0)) % t.data.size();
      if (mode == 3) t.data[i] = NAN;
      if (mode == 4) t.data[i] = -INFINITY;
      if (mode == 5) t.data[i] = -std::abs(t.data[i]) - 0.5f;
      const bool variance = ends_with(t.name, "/running_var") || ends_with(t.name, "/v");
      const bool bad = (mode >= 1 && mode <= 4) || mode == 6 || (mode == 5 && variance);
      if (t.name.rfind("model/", 0) == 0) bad_all |= bad;
      else bad_opt |= bad;
      if (mode == 6) continue;
      if (mode == 1) {
        f.create_growable<float>(t.name, h5::Dims(t.dims.begin() + 1, t.dims.end()));
        f.resize(t.name, t.dims[0]);
        f.write_rows(t.name, 0, t.data, t.dims[0]);
      } else if (mode == 7) {
        f.write(t.name, std::vector<double>(t.data.begin(), t.data.end()), t.dims);
      } else {
        f.write(t.name, t.data, t.dims);
        if (mode == 2) f.set_attribute(t.name, "nabla_checksum", std::int64_t(12345));
      }
    }
    f.close();
    written = true;
  });
  if (!written) {  // the writer refused the script (it should not): nothing to load
    std::remove(path.c_str());
    return;
  }
  auto& m = setup->model;
  auto& adam = setup->adam;
  bool all_ok = load(
      [&] {
        const auto st = nn::load_checkpoint(path, m, &adam);
        if (!epoch || !steps || double(st.epoch) != *epoch || double(adam.steps()) != *steps) __builtin_trap();
      },
      bad_all || bad_opt);
  all_ok &= load([&] { nn::load_checkpoint<float>(path, m, nullptr); }, bad_all);
  all_ok &= load([&] { nn::load_checkpoint(path, m, &adam, expect); }, bad_all || bad_opt || bad_run);
  if (!(bad_all || bad_opt || bad_run) && !all_ok) __builtin_trap();  // a valid checkpoint loads every way
  std::remove(path.c_str());
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  Kokkos::initialize(*argc, *argv);
  setup = new Setup;
  setup->model.init(nabla::random::key(1));
  for (auto& [name, a] : nn::impl::checkpoint_arrays(setup->model, &setup->adam))
    setup->tensors.push_back(nn::impl::to_host_tensor(name, a));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = nabla::fuzz::scratch_file(data, size, ".h5");
  nabla::fuzz::expect_clean_error([&] { nn::load_checkpoint(path, setup->model, &setup->adam); });
  nabla::fuzz::expect_clean_error([&] { nn::load_checkpoint<float>(path, setup->model, nullptr); });
  std::remove(path.c_str());
  scripted(data, size);
  return 0;
}
