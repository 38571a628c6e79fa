// MPI helpers under mpirun -np 2: reductions and gathers against values every rank can compute alone.
#include "test_util.hpp"

#include <nabla/core/mpi.hpp>

#include <string>
#include <vector>

using nabla_test::host;

namespace {

TEST(Mpi, ScalarCollectives) {
  nabla::mpi::Comm comm;
  const int p = comm.size(), r = comm.rank();
  EXPECT_EQ(comm.allreduce(r + 1), p * (p + 1) / 2);
  EXPECT_EQ(comm.allreduce(double(r), nabla::mpi::Op::max), double(p - 1));
  EXPECT_EQ(comm.allreduce(double(r), nabla::mpi::Op::min), 0.0);
  EXPECT_EQ(comm.broadcast(r == 0 ? 42 : -1), 42);
  auto g = comm.gather(r * 10);
  if (r == 0) {
    ASSERT_EQ(int(g.size()), p);
    for (int i = 0; i < p; ++i) EXPECT_EQ(g[i], i * 10);
  } else {
    EXPECT_TRUE(g.empty());
  }
}

TEST(Mpi, ArrayAllreduceAndBroadcast) {
  nabla::mpi::Comm comm;
  const int p = comm.size(), r = comm.rank();
  auto a = nabla::eval(nabla::linspace<double>(0, 1, 101) * double(r + 1));
  comm.allreduce(a);
  auto h = host(a);
  const double factor = p * (p + 1) / 2.0;
  for (int i = 0; i <= 100; ++i) EXPECT_DOUBLE_EQ(h(i), i / 100.0 * factor);
  auto b = nabla::full<double, 1>({7}, double(r));
  comm.broadcast(b, p - 1);
  EXPECT_EQ(nabla::sum(b), 7.0 * (p - 1));
}

// Every rank's part of a buffer (rank r: r * 3 elements of a struct, rank 0 none), at its displacement, on every
// rank and on the last rank alone; a part past MPI's int count is an error naming the caller.
TEST(Mpi, GathervPlacesEveryRanksPart) {
  struct Pair {
    int rank;
    double value;
  };
  nabla::mpi::Comm comm;
  const int p = comm.size(), r = comm.rank();
  const auto l = nabla::mpi::impl::layout(p, "test", [](int q) { return std::size_t(q) * 3; });
  ASSERT_EQ(l.total, std::size_t(3 * p * (p - 1) / 2));
  std::vector<Pair> mine;
  for (int k = 0; k < 3 * r; ++k) mine.push_back({r, r + 0.25 * k});
  for (const int root : {-1, p - 1}) {
    std::vector<Pair> all(l.total, Pair{-1, -1.0});
    comm.gatherv(mine.data(), l, all.data(), root);
    if (root >= 0 && r != root) {
      for (const Pair& x : all) EXPECT_EQ(x.rank, -1) << "rank " << r << " is not the root but received";
      continue;
    }
    std::size_t at = 0;
    for (int q = 0; q < p; ++q)
      for (int k = 0; k < 3 * q; ++k, ++at) {
        EXPECT_EQ(all[at].rank, q) << "element " << at;
        EXPECT_EQ(all[at].value, q + 0.25 * k) << "element " << at;
      }
  }
  try {
    nabla::mpi::impl::layout(2, "nabla::test::gather", [](int) { return std::size_t(1) << 31; });
    ADD_FAILURE() << "no error for 2^31 elements";
  } catch (const nabla::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("nabla::test::gather: 2147483648 elements"), std::string::npos) << e.what();
  }
}

TEST(Mpi, RanksThatDisagreeOnSizesGetAnError) {
  nabla::mpi::Comm comm;
  if (comm.size() < 2) GTEST_SKIP() << "needs 2 ranks";
  nabla::Array<double, 1> a({std::size_t(10 + comm.rank())});
  try {
    comm.allreduce(a);
    ADD_FAILURE() << "no error for ranks that disagree on the size";
  } catch (const nabla::ValueError& e) {
    const std::string want = nabla::impl::cat("nabla::mpi::allreduce: ranks disagree on the array size (rank ",
                                              comm.rank(), " of ", comm.size(), " has ", 10 + comm.rank(),
                                              "; values range from 10 to ", 10 + comm.size() - 1, ")");
    EXPECT_EQ(e.what(), want);
  }
  // Ranks that agree pass, also on values past 32 bits.
  EXPECT_NO_THROW(comm.check_same(std::size_t(1) << 40, "test", "value"));
}

}  // namespace
