// Data-parallel training under mpirun -np 2: every rank trains on its shard of each global batch with
// gradients summed and BatchNorm statistics synchronised; the weights must equal those of one process
// training on the whole batches (computed on every rank in-process as the reference), to rounding.
#include "nn_test_util.hpp"

#include <nabla/nn.hpp>

#include <fstream>

namespace {

namespace nn = nabla::nn;
using nn_test::host;

nn::Chain<double> net() {
  nn::Chain<double> m(nn::Dense<double>(2, 8, nn::Activation::tanh), nn::BatchNorm<double>(8), nn::Dense<double>(8, 3),
                      nn::Softmax<double>());
  m.init(nabla::random::key(42));
  return m;
}

TEST(Distributed, TwoRanksGiveTheWeightsOfOne) {
  auto comm = std::make_shared<nn::MpiCollective>();
  ASSERT_EQ(comm->size(), 2);
  auto ds = nn_test::dataset<double>(nn_test::make_blobs(250, 3, 9));  // last batch partial: 58 = 29 + 29
  nn::FitOptions o;
  o.epochs = 3;
  o.batch_size = 64;
  o.verbose = 0;

  auto dist = net();
  nn::Adam<double> od(1e-2);
  nn::Trainer<double> td(dist, od, nn::Loss::cross_entropy, 7, comm);
  auto hd = td.fit(ds, &ds, o);

  auto ref = net();
  nn::Adam<double> orf(1e-2);
  nn::Trainer<double> tr(ref, orf, nn::Loss::cross_entropy, 7);
  auto hr = tr.fit(ds, &ds, o);

  auto pd = dist.named_parameters(), pr = ref.named_parameters();
  for (std::size_t k = 0; k < pd.size(); ++k) {
    auto a = host(pd[k].second->value), b = host(pr[k].second->value);
    for (std::size_t i = 0; i < a.size(); ++i)
      EXPECT_TRUE(nn_test::close(a.data()[i], b.data()[i], 1e-9, 1e-12)) << pd[k].first << " element " << i;
  }
  EXPECT_TRUE(nn_test::close(hd.back().train_loss, hr.back().train_loss, 1e-9, 0));
  EXPECT_TRUE(nn_test::close(hd.back().train_accuracy, hr.back().train_accuracy, 0, 1e-12));
  EXPECT_EQ(hd.back().val_accuracy, hr.back().val_accuracy);
}

TEST(Distributed, RanksThatDisagreeOnDataOrOptionsGetAnErrorOnEveryRank) {
  auto comm = std::make_shared<nn::MpiCollective>();
  ASSERT_EQ(comm->size(), 2);
  nn::FitOptions o;
  o.epochs = 1;
  o.batch_size = 32;
  o.verbose = 0;
  auto expect_error = [&](const nn::Dataset<double>& ds, const nn::FitOptions& fo, const std::string& what) {
    auto m = net();
    nn::SGD<double> opt(0.1);
    nn::Trainer<double> t(m, opt, nn::Loss::cross_entropy, 1, comm);
    try {
      t.fit(ds, nullptr, fo);
      ADD_FAILURE() << "no error for ranks that disagree on the " << what;
    } catch (const nabla::ValueError& e) {
      EXPECT_NE(std::string(e.what()).find("ranks disagree on the " + what), std::string::npos) << e.what();
    }
  };
  // Rank 1 holds one sample more (a data set split unevenly by the user).
  expect_error(nn_test::dataset<double>(nn_test::make_blobs(100 + std::size_t(comm->rank()), 3, 9)), o,
               "number of training samples");
  nn::FitOptions other = o;
  other.batch_size = 32 + std::size_t(comm->rank());
  expect_error(nn_test::dataset<double>(nn_test::make_blobs(100, 3, 9)), other, "batch size");
}

TEST(Distributed, OnlyRankZeroWritesCheckpoints) {
  auto comm = std::make_shared<nn::MpiCollective>();
  auto m = net();
  nn::SGD<double> opt(0.1);
  nn::Trainer<double> t(m, opt, nn::Loss::cross_entropy, 1, comm);
  // Each rank names its own path: only rank 0's may appear.
  const std::string path = ::testing::TempDir() + "nabla_nn_mpi_ckpt_rank" + std::to_string(comm->rank()) + ".h5";
  std::remove(path.c_str());
  t.save(path);
  const bool exists = std::ifstream(path).good();
  EXPECT_EQ(exists, comm->rank() == 0);
  std::remove(path.c_str());
}

}  // namespace
