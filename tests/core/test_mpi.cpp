// MPI helpers under mpirun -np 2: reductions against values every rank can compute alone.
#include "test_util.hpp"

#include <nabla/core/mpi.hpp>

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
