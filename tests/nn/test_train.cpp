// Training end to end: XOR, two moons and Gaussian blobs reach >= 99% validation accuracy; the same seed
// gives bit-identical weights on 1 and 2 threads (a child process with the other thread count); checkpoints
// round-trip, resume bit-identically, are readable by h5py and refuse a model of another shape.
#include "nn_test_util.hpp"

#include <nabla/nn.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
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

TEST(Train, NonFiniteLossNamesEpochAndBatch) {
  auto pts = nn_test::make_blobs(64, 3, 8);
  pts.x[2 * 40] = std::nan("");  // sample 40: in some batch of epoch 1
  auto m = seed_net<double>();
  nn::Adam<double> opt(1e-2);
  nn::Trainer<double> t(m, opt, nn::Loss::cross_entropy, 1);
  nn::FitOptions o;
  o.epochs = 1;
  o.batch_size = 16;
  o.verbose = 0;
  try {
    t.fit(nn_test::dataset<double>(pts), nullptr, o);
    FAIL() << "no error";
  } catch (const nabla::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("the loss is nan at epoch 1, batch "), std::string::npos) << e.what();
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
  const int here = Kokkos::DefaultExecutionSpace::concurrency();
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
