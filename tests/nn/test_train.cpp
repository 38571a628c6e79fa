// Training end to end: XOR, two moons and Gaussian blobs reach >= 99% validation accuracy; the same seed
// gives bit-identical weights on 1 and 2 threads (a child process with the other thread count); checkpoints
// round-trip, resume bit-identically, are readable by h5py and refuse a model of another shape.
#include "common/subprocess.hpp"
#include "nn_test_util.hpp"

#include <nabla/nn.hpp>
#if NABLA_ENABLE_HDF5
#include <nabla/core/hdf5.hpp>
#endif

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <random>
#include <sstream>
#include <unistd.h>

namespace {

namespace nn = nabla::nn;
using nn_test::host;

template <class T>
nn::Chain<T> seed_net(std::size_t classes = 3) {
  return nn::Chain<T>(nn::Dense<T>(2, 8, nn::Activation::tanh), nn::BatchNorm<T>(8), nn::Dense<T>(8, classes),
                      nn::Softmax<T>());
}

template <class T>
double train_and_validate(nn::Chain<T>& model, const nn_test::Points& pts, std::size_t epochs, double lr,
                          std::size_t batch) {
  auto [train, val] = nn::train_val_split(nn_test::dataset<T>(pts), 0.2, nabla::random::key(1));
  nn::Adam<T> opt(lr);
  nn::Trainer<T> trainer(model, opt, nn::Loss::cross_entropy, 7);
  nn::FitOptions o;
  o.epochs = epochs;
  o.batch_size = batch;
  o.verbose = 0;
  auto h = trainer.fit(train, &val, o);
  EXPECT_EQ(h.size(), epochs);
  EXPECT_LT(h.back().train_loss, h.front().train_loss);
  return h.back().val_accuracy;
}

TEST(Train, XorReaches99PercentValidationAccuracy) {
  nn::Chain<float> m(nn::Dense<float>(2, 8, nn::Activation::tanh), nn::Dense<float>(8, 2), nn::Softmax<float>());
  m.init(nabla::random::key(2));
  EXPECT_GE(train_and_validate(m, nn_test::make_xor(500, 1), 60, 1e-2, 32), 0.99);
}

TEST(Train, TwoMoonsReach99PercentValidationAccuracy) {
  nn::Chain<float> m(nn::Dense<float>(2, 32, nn::Activation::relu), nn::Dense<float>(32, 32, nn::Activation::relu),
                     nn::Dense<float>(32, 2), nn::Softmax<float>());
  m.init(nabla::random::key(3));
  EXPECT_GE(train_and_validate(m, nn_test::make_moons(1000, 2), 60, 1e-2, 32), 0.99);
}

TEST(Train, SeedNetOnGaussianBlobsReaches99PercentValidationAccuracy) {
  auto m = seed_net<float>();
  m.init(nabla::random::key(4));
  EXPECT_GE(train_and_validate(m, nn_test::make_blobs(1000, 3, 3), 30, 1e-2, 128), 0.99);
}

TEST(Train, ProgressBarAndEpochLines) {
  auto m = seed_net<double>();
  nn::SGD<double> opt(0.1, 0.9, true);
  nn::Trainer<double> t(m, opt, nn::Loss::cross_entropy, 1);
  auto ds = nn_test::dataset<double>(nn_test::make_blobs(200, 3, 5));
  std::ostringstream os;
  nn::FitOptions o;
  o.epochs = 2;
  o.batch_size = 16;
  o.verbose = 2;
  o.out = &os;
  t.fit(ds, &ds, o);
  const std::string s = os.str();
  EXPECT_NE(s.find("epoch 1/2 ["), std::string::npos) << s;
  EXPECT_NE(s.find("samples/s"), std::string::npos) << s;
  EXPECT_NE(s.find("val_acc"), std::string::npos) << s;
  EXPECT_EQ(t.state().epoch, 2);
  nn::FitOptions bad = o;
  bad.batch_size = 0;
  EXPECT_THROW(t.fit(ds, nullptr, bad), nabla::ValueError);
  auto wrong = nn_test::dataset<double>(nn_test::make_blobs(20, 4, 5));  // 4 classes for a 3-output model
  EXPECT_THROW(t.fit(wrong, nullptr, o), nabla::ShapeError);
}

TEST(Train, NonFiniteTrainingDataIsRefusedNamingTheSample) {
  auto pts = nn_test::make_blobs(64, 3, 8);
  pts.x[2 * 40 + 1] = std::numeric_limits<double>::infinity();  // feature 1 of sample 40
  auto m = seed_net<double>();
  auto before = host(m.named_parameters()[0].second->value);
  nn::Adam<double> opt(1e-2);
  nn::Trainer<double> t(m, opt, nn::Loss::cross_entropy, 1);
  nn::FitOptions o;
  o.epochs = 1;
  o.verbose = 0;
  try {
    t.fit(nn_test::dataset<double>(pts), nullptr, o);
    FAIL() << "no error";
  } catch (const nabla::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("the training data hold inf at feature 1 of sample 40"), std::string::npos)
        << e.what();
  }
  auto clean = nn_test::make_blobs(64, 3, 8), bad_val = clean;
  bad_val.x[7] = std::nan("");  // feature 1 of sample 3
  const auto val = nn_test::dataset<double>(bad_val);
  try {
    t.fit(nn_test::dataset<double>(clean), &val, o);
    FAIL() << "no error";
  } catch (const nabla::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("the validation data hold nan at feature 1 of sample 3"), std::string::npos)
        << e.what();
  }
  auto after = host(m.named_parameters()[0].second->value);
  for (std::size_t i = 0; i < before.size(); ++i) EXPECT_EQ(before.data()[i], after.data()[i]) << "trained anyway";
}

TEST(Train, BadBatchSizeAndTargetShapeAreClearErrors) {
  auto m = seed_net<double>();
  nn::Adam<double> opt(1e-2);
  nn::Trainer<double> t(m, opt, nn::Loss::cross_entropy, 1);
  nn::FitOptions o;
  o.verbose = 0;
  o.batch_size = 0;
  const auto ds = nn_test::dataset<double>(nn_test::make_blobs(32, 3, 8));
  EXPECT_THROW(t.fit(ds, nullptr, o), nabla::ValueError);
  o.batch_size = 8;
  try {
    t.fit(nn_test::dataset<double>(nn_test::make_blobs(32, 4, 8)), nullptr, o);  // 4 classes, 3 outputs
    FAIL() << "no error";
  } catch (const nabla::ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("outputs but the targets have 4 rows"), std::string::npos) << e.what();
  }
}

TEST(Train, NonFiniteLossNamesEpochAndBatch) {
  // Clean data, a learning rate that makes the weights overflow within the first epoch.
  auto m = seed_net<double>();
  nn::SGD<double> opt(1e300);
  nn::Trainer<double> t(m, opt, nn::Loss::cross_entropy, 1);
  nn::FitOptions o;
  o.epochs = 1;
  o.batch_size = 16;
  o.verbose = 0;
  try {
    t.fit(nn_test::dataset<double>(nn_test::make_blobs(64, 3, 8)), nullptr, o);
    FAIL() << "no error";
  } catch (const nabla::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find(" at epoch 1, batch "), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("the loss is "), std::string::npos) << e.what();
  }
}

// ---------------------------------------------------------------------------------------- determinism

// A wider net than the seed's, so gemm and BatchNorm have work to split between threads.
std::string trained_weights_hex() {
  nn::Chain<float> m(nn::Dense<float>(2, 48, nn::Activation::relu), nn::BatchNorm<float>(48),
                     nn::Dense<float>(48, 40, nn::Activation::tanh), nn::Dense<float>(40, 3), nn::Softmax<float>());
  m.init(nabla::random::key(11));
  nn::Adam<float> opt(1e-2);
  nn::Trainer<float> t(m, opt, nn::Loss::cross_entropy, 5);
  nn::FitOptions o;
  o.epochs = 3;
  o.batch_size = 50;
  o.verbose = 0;
  t.fit(nn_test::dataset<float>(nn_test::make_blobs(600, 3, 6)), nullptr, o);
  std::ostringstream os;
  for (auto& [name, p] : m.named_parameters()) {
    auto h = host(p->value);
    os << name;
    for (std::size_t i = 0; i < h.size(); ++i) {
      std::uint32_t bits;
      std::memcpy(&bits, h.data() + i, 4);
      os << ' ' << std::hex << bits << std::dec;
    }
    os << '\n';
  }
  return os.str();
}

// Run by Determinism.SameWeightsOnOneAndTwoThreads in a child process (skipped when run directly).
TEST(Determinism, Child) {
  const char* out = std::getenv("NABLA_NN_DETERMINISM_OUT");
  if (!out) GTEST_SKIP() << "helper of Determinism.SameWeightsOnOneAndTwoThreads";
  std::ofstream(out) << trained_weights_hex();
}

TEST(Determinism, SameWeightsOnOneAndTwoThreads) {
  const int here = Kokkos::DefaultExecutionSpace().concurrency();
  const int other = here == 1 ? 2 : 1;
  char exe[4096] = {};
  ASSERT_GT(readlink("/proc/self/exe", exe, sizeof exe - 1), 0);
  const std::string out = ::testing::TempDir() + "nabla_nn_determinism_" + std::to_string(getpid()) + ".txt";
  const std::string cmd = "OMP_NUM_THREADS=" + std::to_string(other) + " OMP_PROC_BIND=false NABLA_NN_DETERMINISM_OUT=" +
                          out + " " + exe + " --gtest_filter=Determinism.Child > /dev/null 2>&1";
  const std::string mine = trained_weights_hex();
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::ifstream f(out);
  std::stringstream theirs;
  theirs << f.rdbuf();
  std::remove(out.c_str());
  EXPECT_EQ(mine, trained_weights_hex()) << "two runs in one process";
  EXPECT_EQ(theirs.str(), mine) << "weights differ between " << here << " and " << other << " threads";
}

// ---------------------------------------------------------------------------------------- checkpoints

std::vector<std::vector<double>> state_of(nn::Chain<double>& m, nn::Optimizer<double>& opt) {
  std::vector<std::vector<double>> out;
  for (auto& [name, p] : m.named_parameters()) {
    auto h = host(p->value);
    out.emplace_back(h.data(), h.data() + h.size());
  }
  for (std::size_t k = 0; k < opt.num_state(); ++k) {
    auto h = host(opt.state(k / 2, k % 2));
    out.emplace_back(h.data(), h.data() + h.size());
  }
  return out;
}

#if NABLA_ENABLE_HDF5
TEST(Checkpoint, ResumeContinuesBitIdenticallyAndTheFileIsReadableByH5py) {
  const std::string dir = ::testing::TempDir();
  const std::string path = dir + "nabla_nn_ckpt_" + std::to_string(getpid()) + ".h5";
  auto ds = nn_test::dataset<double>(nn_test::make_blobs(300, 3, 7));
  nn::FitOptions o;
  o.batch_size = 32;
  o.verbose = 0;

  // Uninterrupted: 4 epochs, checkpoint after epoch 2.
  auto a = seed_net<double>();
  a.init(nabla::random::key(8));
  nn::Adam<double> oa(1e-2);
  nn::Trainer<double> ta(a, oa, nn::Loss::cross_entropy, 99);
  o.epochs = 2;
  o.checkpoint = path;
  ta.fit(ds, nullptr, o);
  o.checkpoint.clear();
  o.epochs = 4;
  ta.fit(ds, nullptr, o);

  // Resumed: another initialisation and seed, then the checkpoint.
  auto b = seed_net<double>();
  b.init(nabla::random::key(123));
  nn::Adam<double> ob(1e-2);
  nn::Trainer<double> tb(b, ob, nn::Loss::cross_entropy, 5);
  tb.resume(path);
  EXPECT_EQ(tb.state().epoch, 2);
  EXPECT_EQ(ob.steps(), 2 * 10);
  auto h = tb.fit(ds, nullptr, o);
  EXPECT_EQ(h.size(), 2u);
  EXPECT_EQ(state_of(b, ob), state_of(a, oa)) << "resumed run differs from the uninterrupted one";

  // h5py sees one dataset per parameter, named by layer, shaped as the matrix (out x in).
  auto w = host(b.named_parameters()[0].second->value);  // not the checkpoint's (epoch 4): compare shapes + a reload
  (void)w;
  const std::string py = "/usr/bin/python3";
  if (access(py.c_str(), X_OK) == 0 && std::system((py + " -c 'import h5py' 2>/dev/null").c_str()) == 0) {
    auto c = seed_net<double>();
    nn::load_checkpoint<double>(path, c, nullptr);
    auto cw = host(c.named_parameters()[0].second->value);
    const std::string out = dir + "nabla_nn_ckpt_" + std::to_string(getpid()) + ".txt";
    const std::string cmd = py + " -c \"import h5py; f = h5py.File('" + path +
                            "', 'r'); w = f['model/1_dense/weight']; assert w.shape == (8, 2), w.shape; "
                            "assert f['model/2_batchnorm/running_var'].shape == (8,); "
                            "assert f['optimizer/3_dense/bias/v'].shape == (3,); "
                            "assert f.attrs['epoch'] == 2 and f['optimizer'].attrs['type'] == 'adam'; "
                            "print(' '.join(repr(float(v)) for v in w[()].ravel()))\" > " + out;
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    std::ifstream f(out);
    for (std::size_t i = 0; i < 8; ++i)
      for (std::size_t j = 0; j < 2; ++j) {
        double v;
        f >> v;
        EXPECT_EQ(v, cw(i, j)) << "row-major (out x in) in the file";
      }
    std::remove(out.c_str());
  }

  // No temporary left beside the checkpoint.
  const std::string count = dir + "nabla_nn_count_" + std::to_string(getpid()) + ".txt";
  const std::string ls = "ls " + dir + " | grep -c 'nabla_nn_ckpt_" + std::to_string(getpid()) + "' > " + count;
  std::system(ls.c_str());
  std::ifstream n(count);
  int files = 0;
  n >> files;
  EXPECT_EQ(files, 1) << "a temporary file was left beside the checkpoint";
  std::remove(count.c_str());
  std::remove(path.c_str());
}

TEST(Checkpoint, AWrongModelOrFileIsAClearErrorAndChangesNothing) {
  const std::string path = ::testing::TempDir() + "nabla_nn_ckpt_bad_" + std::to_string(getpid()) + ".h5";
  auto a = seed_net<double>();
  nn::SGD<double> opt(0.1, 0.9);
  nn::save_checkpoint<double>(path, a, &opt, nn::TrainState{});
  // The first mismatch: the second layer has 9 features instead of 8 -> 1_dense/weight (9, 2)
  nn::Chain<double> wider(nn::Dense<double>(2, 9, nn::Activation::tanh), nn::BatchNorm<double>(9),
                          nn::Dense<double>(9, 3), nn::Softmax<double>());
  auto before = host(wider.named_parameters()[0].second->value);
  try {
    nn::load_checkpoint<double>(path, wider, nullptr);
    FAIL() << "no error";
  } catch (const nabla::ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("'model/1_dense/weight' has shape (8, 2) in the file but (9, 2) in the model"),
              std::string::npos)
        << e.what();
  }
  auto after = host(wider.named_parameters()[0].second->value);
  for (std::size_t i = 0; i < before.size(); ++i) EXPECT_EQ(before.data()[i], after.data()[i]);
  // A deeper model: the missing tensor is named.
  nn::Chain<double> deeper(nn::Dense<double>(2, 8, nn::Activation::tanh), nn::BatchNorm<double>(8),
                           nn::Dense<double>(8, 3), nn::Dense<double>(3, 3));
  try {
    nn::load_checkpoint<double>(path, deeper, nullptr);
    FAIL() << "no error";
  } catch (const nabla::IOError& e) {
    EXPECT_NE(std::string(e.what()).find("'model/4_dense/weight' is missing"), std::string::npos) << e.what();
  }
  // Another optimizer, another element type, a missing file.
  nn::Adam<double> adam;
  EXPECT_THROW(nn::load_checkpoint<double>(path, a, &adam), nabla::ValueError);
  auto f = seed_net<float>();
  EXPECT_THROW(nn::load_checkpoint<float>(path, f, nullptr), nabla::IOError);
  EXPECT_THROW(nn::load_checkpoint<double>(path + ".missing", a, nullptr), nabla::IOError);
  std::remove(path.c_str());
}
TEST(Checkpoint, TruncatedCorruptedForeignAndWrongRankFilesAreErrorsNamingTheFile) {
  namespace fs = std::filesystem;
  const std::string base = ::testing::TempDir() + "nabla_nn_ckpt_" + std::to_string(getpid());
  const std::string good = base + "_good.h5";
  auto m = seed_net<double>();
  nn::Adam<double> opt(1e-2);
  nn::save_checkpoint<double>(good, m, &opt, nn::TrainState{});
  auto loaded = seed_net<double>();
  loaded.init(nabla::random::key(99));
  nn::Adam<double> loaded_opt(1e-2);
  loaded_opt.ensure_state(loaded.trainable_parameters());
  auto expect_error = [&](const std::string& path, const std::string& needle) {
    const auto before = state_of(loaded, loaded_opt);
    try {
      nn::load_checkpoint<double>(path, loaded, &loaded_opt);
      ADD_FAILURE() << "no error for " << path;
    } catch (const std::invalid_argument& e) {  // ShapeError, ValueError
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    } catch (const nabla::IOError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
    EXPECT_EQ(state_of(loaded, loaded_opt), before) << "a failed load changed the model: " << path;
  };
  // Truncated: every cut of the file (a kill during a non-atomic copy) is refused.
  const auto size = fs::file_size(good);
  for (std::uintmax_t cut : {std::uintmax_t(0), std::uintmax_t(7), size / 4, size / 2, size - 1}) {
    const std::string path = base + "_cut" + std::to_string(cut) + ".h5";
    fs::copy_file(good, path, fs::copy_options::overwrite_existing);
    fs::resize_file(path, cut);
    expect_error(path, "");
    std::remove(path.c_str());
  }
  // Corrupted: one flipped byte anywhere (metadata or tensor values) is caught by HDF5's checksums. Flip a
  // byte every 61 bytes through the whole file, one copy per position.
  std::ifstream in(good, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  int flips = 0;
  for (std::size_t pos = 0; pos < bytes.size(); pos += 61) {
    std::string bad = bytes;
    bad[pos] = char(bad[pos] ^ 0x5a);
    const std::string path = base + "_flip.h5";
    std::ofstream(path, std::ios::binary) << bad;
    try {
      nn::load_checkpoint<double>(path, loaded, &loaded_opt);
      // A flip in unused space (free space, padding) changes nothing that is read: then the load must be exact.
      auto fresh = seed_net<double>();
      nn::Adam<double> fresh_opt(1e-2);
      nn::load_checkpoint<double>(good, fresh, &fresh_opt);
      EXPECT_EQ(state_of(loaded, loaded_opt), state_of(fresh, fresh_opt)) << "a flip at byte " << pos << " loaded wrong values";
      nn::load_checkpoint<double>(good, loaded, &loaded_opt);
    } catch (const std::exception& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
      ++flips;
    }
    std::remove(path.c_str());
  }
  EXPECT_GT(flips, 0);
  // Foreign: an HDF5 file from elsewhere (unsealed); a sealed one that is not a checkpoint; a sealed checkpoint
  // whose first tensor has the wrong rank.
  const std::string foreign = base + "_foreign.h5";
  {
    nabla::hdf5::File f(foreign, nabla::hdf5::Mode::create);
    f.write<double>("data", {1, 2, 3}, {3});
  }
  expect_error(foreign, "not a sealed Nabla file");
  {
    nabla::hdf5::File f(foreign, nabla::hdf5::Mode::create_sealed);
    f.write<double>("data", {1, 2, 3}, {3});
    f.close();
  }
  expect_error(foreign, "not a Nabla nn checkpoint");
  const std::string rank = base + "_rank.h5";
  {
    nabla::hdf5::File in(good, nabla::hdf5::Mode::read_sealed), f(rank, nabla::hdf5::Mode::create_sealed);
    for (const char* a : {"format", "dtype"}) f.set_attribute("/", a, in.attribute_string("/", a));
    for (const char* a : {"version", "epoch", "rng_key"}) f.set_attribute("/", a, in.attribute_int("/", a));
    f.create_group("optimizer");
    f.set_attribute("optimizer", "type", in.attribute_string("optimizer", "type"));
    f.write<double>("model/1_dense/weight", std::vector<double>(16, 0.5), {16});
    f.close();
  }
  expect_error(rank, "'model/1_dense/weight' has shape (16,) in the file but (8, 2) in the model");
  for (const auto& p : {good, foreign, rank}) std::remove(p.c_str());
}
// Someone who edits a checkpoint and recomputes its seal (the hash is no secret): copies every group and root
// attribute of `from` into a new sealed file, applying `edit` before it is sealed. Without `run`, the copy is
// what a writer before run settings produced.
void forge(const std::string& from, const std::string& to, const std::function<void(nabla::hdf5::File&)>& edit,
           bool with_run = true) {
  nabla::hdf5::File in(from, nabla::hdf5::Mode::read_sealed), f(to, nabla::hdf5::Mode::create_sealed);
  for (const auto& name : in.children("/"))
    if (with_run || name != "run") f.copy_from(in, name);
  for (const char* a : {"format", "dtype"}) f.set_attribute("/", a, in.attribute_string("/", a));
  for (const char* a : {"version", "epoch", "rng_key"}) f.set_attribute("/", a, in.attribute_int("/", a));
  if (with_run) f.set_attribute("/", "run_keys", in.attribute_string("/", "run_keys"));
  edit(f);
  f.close();
}

// Loads `path` into a trained-looking model and Adam; expects an error of type E naming the file and `needle`,
// and the model, optimizer state and step count unchanged.
template <class E>
void expect_refused(const std::string& path, const std::string& needle, bool with_optimizer = true,
                    const nn::RunSettings* settings = nullptr) {
  auto m = seed_net<double>();
  m.init(nabla::random::key(5));
  nn::Adam<double> opt(1e-2);
  opt.ensure_state(m.trainable_parameters());
  opt.set_steps(7);
  const auto before = state_of(m, opt);
  try {
    if (settings) nn::load_checkpoint<double>(path, m, with_optimizer ? &opt : nullptr, *settings);
    else nn::load_checkpoint<double>(path, m, with_optimizer ? &opt : nullptr);
    ADD_FAILURE() << "no error for '" << needle << "'";
  } catch (const E& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  EXPECT_EQ(state_of(m, opt), before) << "a refused load changed the model: " << needle;
  EXPECT_EQ(opt.steps(), 7) << needle;
}

// The seal proves only that nobody changed the file without re-sealing it. What it covers is range-checked.
TEST(Checkpoint, ResealedOutOfRangeHeaderAndTensorValuesAreErrorsAndChangeNothing) {
  const std::string base = ::testing::TempDir() + "nabla_nn_ckpt_range_" + std::to_string(getpid());
  const std::string good = base + "_good.h5", bad = base + "_bad.h5";
  auto m = seed_net<double>();
  m.init(nabla::random::key(6));
  nn::Adam<double> opt(1e-2);
  opt.ensure_state(m.trainable_parameters());
  opt.set_steps(40);
  nn::TrainState st;
  st.epoch = 4;
  nn::save_checkpoint<double>(good, m, &opt, st);
  // The forged copy itself loads: every refusal below is the edit's.
  forge(good, bad, [](nabla::hdf5::File&) {});
  {
    auto c = seed_net<double>();
    nn::Adam<double> co(1e-2);
    EXPECT_EQ(nn::load_checkpoint<double>(bad, c, &co).epoch, 4);
    EXPECT_EQ(co.steps(), 40);
    EXPECT_EQ(state_of(c, co), state_of(m, opt));
  }
  using F = nabla::hdf5::File;
  const std::vector<std::pair<std::function<void(F&)>, std::string>> cases = {
      {[](F& f) { f.set_attribute("/", "epoch", std::int64_t(-5)); }, "attribute epoch = -5 is outside [0, 2^53)"},
      {[](F& f) { f.set_attribute("/", "epoch", std::int64_t(1) << 60); }, "attribute epoch = 1152921504606846976 is outside"},
      {[](F& f) { f.set_attribute("/", "epoch", 3.5); }, "attribute epoch = 3.5 is not an integer"},
      {[](F& f) { f.set_attribute("/", "epoch", std::nan("")); }, "attribute epoch = nan is not an integer"},
      {[](F& f) { f.set_attribute("/", "epoch", 1e300); }, "attribute epoch = 1e+300 is outside"},
      {[](F& f) { f.set_attribute("optimizer", "steps", std::int64_t(-1)); }, "attribute optimizer/steps = -1 is outside"},
      {[](F& f) { f.set_attribute("optimizer", "learning_rate", std::nan("")); },
       "attribute optimizer/learning_rate = nan is not a finite positive number"},
      {[](F& f) { f.set_attribute("optimizer", "learning_rate", HUGE_VAL); }, "optimizer/learning_rate = inf is not"},
      {[](F& f) { f.set_attribute("optimizer", "learning_rate", 0.0); }, "optimizer/learning_rate = 0 is not"},
      {[](F& f) { f.set_attribute("optimizer", "learning_rate", -0.1); }, "optimizer/learning_rate = -0.1 is not"},
      {[](F& f) { f.write<double>("model/1_dense/bias", {0, 0, 0, std::nan(""), 0, 0, 0, 0}, {8}); },
       "tensor 'model/1_dense/bias' holds nan at index 3"},
      {[](F& f) { f.write<double>("model/2_batchnorm/running_var", {1, 1, -0.5, 1, 1, 1, 1, 1}, {8}); },
       "tensor 'model/2_batchnorm/running_var' holds -0.5 at index 2, a variance must be >= 0"},
      {[](F& f) { f.write<double>("optimizer/3_dense/bias/v", {0, -1e-3, 0}, {3}); },
       "tensor 'optimizer/3_dense/bias/v' holds -0.001 at index 1, a variance must be >= 0"},
  };
  for (const auto& [edit, needle] : cases) {
    forge(good, bad, edit);
    expect_refused<nabla::IOError>(bad, needle);
  }
  // Loading the model alone still refuses a file whose optimizer values are impossible.
  forge(good, bad, [](F& f) { f.set_attribute("optimizer", "steps", std::int64_t(-3)); });
  expect_refused<nabla::IOError>(bad, "attribute optimizer/steps = -3 is outside", false);
  // The writer refuses what the reader would: a NaN weight (a diverged run) is not saved, no file is left.
  auto nan_net = seed_net<double>();
  Kokkos::deep_copy(nan_net.named_parameters()[0].second->value.view(), std::nan(""));
  const std::string none = base + "_nan.h5";
  try {
    nn::save_checkpoint<double>(none, nan_net, nullptr, nn::TrainState{});
    ADD_FAILURE() << "a NaN weight was saved";
  } catch (const nabla::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("tensor 'model/1_dense/weight' holds nan at index 0"), std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(none));
  st.epoch = -1;
  EXPECT_THROW(nn::save_checkpoint<double>(none, m, &opt, st), nabla::ValueError);
  EXPECT_FALSE(std::filesystem::exists(none));
  for (const auto& p : {good, bad}) std::remove(p.c_str());
}

// Every tensor of a version-2 checkpoint carries a value checksum; deleting it must not let an edited value in.
TEST(Checkpoint, AMissingOrStaleTensorChecksumIsAnError) {
  const std::string base = ::testing::TempDir() + "nabla_nn_ckpt_sum_" + std::to_string(getpid());
  const std::string good = base + "_good.h5", bad = base + "_bad.h5";
  auto m = seed_net<double>();
  m.init(nabla::random::key(6));
  nn::Adam<double> opt(1e-2);
  nn::save_checkpoint<double>(good, m, &opt, nn::TrainState{});
  const std::vector<double> edited(16, 0.25);
  // Control: an edited weight written with its checksum loads (so the refusals below are the checksum's).
  forge(good, bad, [&](nabla::hdf5::File& f) { f.write<double>("model/1_dense/weight", edited, {8, 2}); });
  {
    auto c = seed_net<double>();
    nn::load_checkpoint<double>(bad, c, nullptr);
    EXPECT_EQ(host(c.named_parameters()[0].second->value)(3, 1), 0.25);
  }
  // The same values in a dataset without the checksum attribute (a growable one has none).
  for (const char* name : {"model/1_dense/weight", "optimizer/3_dense/bias/m"}) {
    forge(good, bad, [&](nabla::hdf5::File& f) {
      const bool weight = std::string(name) == "model/1_dense/weight";
      f.create_growable<double>(name, weight ? nabla::hdf5::Dims{2} : nabla::hdf5::Dims{});
      f.resize(name, weight ? 8 : 3);
      f.write_rows<double>(name, 0, weight ? edited : std::vector<double>{1, 2, 3}, weight ? 8 : 3);
    });
    expect_refused<nabla::IOError>(bad, "tensor '" + std::string(name) + "' has no checksum (attribute nabla_checksum");
  }
  // A tensor stored as float32 in a float64 checkpoint is read with conversion; its checksum still applies.
  forge(good, bad, [&](nabla::hdf5::File& f) {
    f.write<float>("model/1_dense/weight", std::vector<float>(16, 0.25f), {8, 2});
    f.set_attribute("model/1_dense/weight", "nabla_checksum", std::int64_t(12345));
  });
  expect_refused<nabla::IOError>(bad, "dataset 'model/1_dense/weight' does not match its checksum");
  for (const auto& p : {good, bad}) std::remove(p.c_str());
}

// A resume with other data or settings (05_train_csv with another --seed re-split the data, so validation
// overlapped training) is refused, naming what differs, before anything changes.
TEST(Checkpoint, ResumeRefusesOtherRunSettingsAndContinuesWithTheSame) {
  const std::string base = ::testing::TempDir() + "nabla_nn_ckpt_run_" + std::to_string(getpid());
  const std::string path = base + ".h5", old = base + "_old.h5";
  auto ds = nn_test::dataset<double>(nn_test::make_blobs(120, 3, 9));
  const nn::RunSettings run = {{"data", nn::fingerprint(ds.x, ds.y)}, {"seed", "0"}, {"val_fraction", "0.2"}};
  nn::FitOptions o;
  o.batch_size = 40;
  o.verbose = 0;
  o.epochs = 1;
  o.checkpoint = path;
  auto a = seed_net<double>();
  a.init(nabla::random::key(3));
  nn::Adam<double> oa(1e-2);
  nn::Trainer<double> ta(a, oa, nn::Loss::cross_entropy, 1);
  ta.set_settings(run);
  ta.fit(ds, nullptr, o);
  {  // readable as plain attributes of group run
    nabla::hdf5::File f(path, nabla::hdf5::Mode::read_sealed);
    EXPECT_EQ(f.attribute_string("run", "seed"), "0");
    EXPECT_EQ(f.attribute_string("/", "run_keys"), "data,seed,val_fraction");
  }
  auto refused = [&](const nn::RunSettings& mine, const std::string& needle) {
    auto b = seed_net<double>();
    b.init(nabla::random::key(4));
    nn::Adam<double> ob(1e-2);
    nn::Trainer<double> tb(b, ob, nn::Loss::cross_entropy, 1);
    tb.set_settings(mine);
    ob.ensure_state(b.trainable_parameters());  // a load allocates the (zero) state first; compare values
    const auto before = state_of(b, ob);
    try {
      tb.resume(path);
      ADD_FAILURE() << "no error for " << needle;
    } catch (const nabla::ValueError& e) {
      EXPECT_NE(std::string(e.what()).find("'" + path + "' was written with " + needle), std::string::npos) << e.what();
    }
    EXPECT_EQ(state_of(b, ob), before);
    EXPECT_EQ(tb.state().epoch, 0);
    EXPECT_EQ(tb.state().settings, mine);
  };
  auto other = run;
  other["seed"] = "3";
  refused(other, "seed = 0; this run has seed = 3 (resuming would mix two runs");
  auto fewer = run;
  fewer.erase("val_fraction");
  refused(fewer, "val_fraction = 0.2; this run has val_fraction (unset)");
  auto more = run;
  more["label"] = "y";
  more["seed"] = "1";
  refused(more, "label (unset), seed = 0; this run has label = y, seed = 1");
  refused({}, "data = " + run.at("data") + ", seed = 0, val_fraction = 0.2; this run has data (unset)");
  auto data = run;
  data["data"] = nn::fingerprint(ds.x, ds.x);  // other data: another fingerprint
  EXPECT_NE(data["data"], run.at("data"));
  refused(data, "data = " + run.at("data") + "; this run has data = " + data["data"]);
  // A key that cannot be stored is refused on save.
  nn::TrainState bad_key;
  bad_key.settings = {{"a b", "1"}};
  EXPECT_THROW(nn::save_checkpoint<double>(base + "_key.h5", a, &oa, bad_key), nabla::ValueError);
  EXPECT_FALSE(std::filesystem::exists(base + "_key.h5"));
  // A file written before settings were recorded: refused when this run has some, loaded when it has none.
  forge(path, old, [](nabla::hdf5::File&) {}, false);
  expect_refused<nabla::ValueError>(old, "records no run settings (written before they were recorded); this run has data = ",
                                    true, &run);
  {
    auto c = seed_net<double>();
    nn::Adam<double> oc(1e-2);
    nn::Trainer<double> tc(c, oc, nn::Loss::cross_entropy, 1);
    tc.resume(old);
    EXPECT_EQ(tc.state().epoch, 1);
  }
  // The same settings resume, continue, and are written again; the plain load returns them unchecked.
  auto b = seed_net<double>();
  b.init(nabla::random::key(4));
  nn::Adam<double> ob(1e-2);
  nn::Trainer<double> tb(b, ob, nn::Loss::cross_entropy, 1);
  tb.set_settings(run);
  tb.resume(path);
  EXPECT_EQ(tb.state().epoch, 1);
  EXPECT_EQ(state_of(b, ob), state_of(a, oa));
  o.epochs = 2;
  EXPECT_EQ(tb.fit(ds, nullptr, o).size(), 1u);
  auto c = seed_net<double>();
  const auto st = nn::load_checkpoint<double>(path, c, nullptr);
  EXPECT_EQ(st.epoch, 2);
  EXPECT_EQ(st.settings, run);
  for (const auto& p : {path, old}) std::remove(p.c_str());
}

// SIGKILL at random points (mid-batch, mid-checkpoint-write, between epochs), resuming from the last checkpoint
// after each kill: the final weights and optimizer state equal those of an uninterrupted run, bit for bit.
// Each kill waits for 1-3 epoch lines of the child, then a random fraction of the epoch time it measured, so
// the kill lands anywhere in the next epoch or its checkpoint write however loaded the machine is.
TEST(Checkpoint, KillAtRandomPointsAndResumeIsBitIdentical) {
  const std::string base = ::testing::TempDir() + "nabla_nn_kill_" + std::to_string(getpid());
  const std::string exe = NABLA_NN_TRAIN_HELPER, epochs = "12";
  const std::string ref_ckpt = base + "_ref.h5", ref_dump = base + "_ref.txt";
  const std::string ckpt = base + "_resumed.h5", dump = base + "_resumed.txt";
  for (const auto& p : {ref_ckpt, ref_dump, ckpt, dump}) std::remove(p.c_str());
  std::string out;
  ASSERT_TRUE(nabla_test::finish(nabla_test::spawn({exe, ref_ckpt, epochs, ref_dump}), &out)) << out;
  const unsigned seed = std::random_device{}();
  std::mt19937 rng(seed);
  int killed = 0;
  for (int k = 0; k < 4; ++k) {
    const auto child = nabla_test::spawn({exe, ckpt, epochs, dump});
    ASSERT_GT(child.pid, 0);
    const int lines = std::uniform_int_distribution<int>(1, 3)(rng);
    Kokkos::Timer timer;
    double epoch_seconds = 0;
    std::string line;
    for (int l = 0; l < lines && !(line = nabla_test::read_line(child.out)).empty(); ++l) {
      epoch_seconds = timer.seconds();
      timer.reset();
    }
    const double delay = std::uniform_real_distribution<double>(0, 1.2 * epoch_seconds)(rng);
    ::usleep(useconds_t(delay * 1e6));
    killed += nabla_test::kill_now(child);
    std::int64_t epoch = -1;
    if (std::filesystem::exists(ckpt)) epoch = nabla::hdf5::File(ckpt, nabla::hdf5::Mode::read).attribute_int("/", "epoch");
    std::cout << "[ killed ] " << delay << " s after '" << line << "' (epochs take " << epoch_seconds
              << " s; seeded " << seed << "): checkpoint at epoch " << epoch << "\n";
  }
  EXPECT_GT(killed, 0) << "every run finished before its kill";
  ASSERT_TRUE(nabla_test::finish(nabla_test::spawn({exe, ckpt, epochs, dump}), &out)) << out;
  std::ifstream a(ref_dump), b(dump);
  std::stringstream sa, sb;
  sa << a.rdbuf();
  sb << b.rdbuf();
  EXPECT_NE(sa.str().find("epoch 12\n"), std::string::npos);
  EXPECT_TRUE(sa.str() == sb.str()) << "weights or optimizer state differ after resuming (seeded " << seed << ")";
  for (const auto& p : {ref_ckpt, ref_dump, ckpt, dump}) std::remove(p.c_str());
}
#else
TEST(Checkpoint, WithoutHdf5SavingIsAClearError) {
  auto m = seed_net<float>();
  const std::string path = ::testing::TempDir() + "nabla_no_hdf5.h5";
  try {
    nn::save_checkpoint<float>(path, m, nullptr, nn::TrainState{});
    ADD_FAILURE() << "no error";
  } catch (const nabla::IOError& e) {
    EXPECT_NE(std::string(e.what()).find("built without HDF5"), std::string::npos) << e.what();
  }
  std::ifstream f(path);
  EXPECT_FALSE(f.good()) << "a file was left behind";
}
#endif

}  // namespace
