// Shared HDF5 files of distributed arrays: written by every rank's hyperslab, laid out as the undistributed
// array's file (read back by core's serial reader, as h5py reads it), read back under any partition and any
// number of ranks bit for bit; errors on every rank; files appear whole or not at all.
#include <nabla/config.hpp>

#if NABLA_ENABLE_HDF5
#include <nabla/core.hpp>
#include <nabla/core/hdf5.hpp>
#include <nabla/dist.hpp>
#include <nabla/dist/hdf5.hpp>

#include "dist_test_util.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <unistd.h>
#include <vector>

namespace d = nabla::dist;
using nabla::Shape;
using Host = Kokkos::HostSpace;

namespace {

using nabla_test::leading_split;
using nabla_test::world;

/// A directory every rank agrees on (rank 0's pid), removed at the end.
struct SharedDir {
  std::string path;
  SharedDir() {
    long pid = long(::getpid());
    MPI_Bcast(&pid, 1, MPI_LONG, 0, MPI_COMM_WORLD);
    path = (std::filesystem::temp_directory_path() / ("nabla_dist_h5_" + std::to_string(pid))).string();
    if (world().rank() == 0) std::filesystem::create_directories(path);
    world().barrier();
  }
  ~SharedDir() {
    world().barrier();
    if (world().rank() == 0) std::filesystem::remove_all(path);
  }
};

std::size_t mismatches(const nabla::Array<double, 2, Host>& a, const nabla::Array<double, 2, Host>& b) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < a.extent(0); ++i)
    for (std::size_t j = 0; j < a.extent(1); ++j) n += std::memcmp(&a.view()(i, j), &b.view()(i, j), sizeof(double)) != 0;
  return n;
}

TEST(DistHdf5, OneDatasetReadBackUnderAnyPartitionAndRankCountBitForBit) {
  SharedDir dir;
  const std::string path = dir.path + "/u.h5";
  const Shape<2> shape{11, 6};
  const auto whole = nabla::to_host(nabla::random::normal<double, 2>(nabla::random::key(5), shape));
  const d::Grid g2(world(), {0, 0}), g1(world(), {0});
  {
    d::File f(world(), path, nabla::hdf5::Mode::create);
    f.write("fields/u", d::distribute(whole, d::Partition<2>(g2, shape, leading_split<2>(2)), d::every_rank));
    // Copies of replicated blocks are written once.
    f.write("v", d::distribute(whole, d::Partition<2>(g2, shape, {0, d::replicated}), d::every_rank));
    f.set_attribute("/", "step", std::int64_t(42));
    f.set_attribute("/", "dt", 0.125);
    f.set_attribute("fields/u", "format", "nabla test");
    f.close();
  }
  d::File f(world(), path, nabla::hdf5::Mode::read);
  EXPECT_EQ(f.dims("fields/u"), (nabla::hdf5::Dims{11, 6}));
  EXPECT_TRUE(f.exists("v"));
  EXPECT_FALSE(f.exists("w"));
  EXPECT_EQ(f.attribute_int("/", "step"), 42);
  EXPECT_EQ(f.attribute_double("/", "dt"), 0.125);
  EXPECT_EQ(f.attribute_string("fields/u", "format"), "nabla test");
  const std::vector<d::Partition<2>> readers = {
      d::Partition<2>(g1, shape, {0, d::replicated}), d::Partition<2>(g1, shape, {d::replicated, 0}),
      d::Partition<2>(g2, shape, {1, 0}), d::Partition<2>(g1, shape, {d::replicated, d::replicated})};
  for (const auto& p : readers)
    for (const char* name : {"fields/u", "v"})
      EXPECT_EQ(mismatches(nabla::to_host(d::allgather(f.read<double, 2>(name, p))), whole), 0u)
          << name << " read as " << p.to_string() << " on rank " << world().rank();
  f.close();

  // Another rank count: each rank alone reads the whole file; and core's serial reader sees h5py's layout.
  const nabla::mpi::Comm self(MPI_COMM_SELF);
  const d::Grid alone(self, {1});
  d::File mine(self, path, nabla::hdf5::Mode::read);
  EXPECT_EQ(mismatches(nabla::to_host(mine.read<double, 2>("v", d::Partition<2>(alone, shape, {0, d::replicated})).local()),
                       whole), 0u);
  mine.close();
  if (world().rank() == 0) {
    nabla::hdf5::File serial(path, nabla::hdf5::Mode::read);
    const auto rows = serial.read<double>("fields/u");
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < shape[0]; ++i)
      for (std::size_t j = 0; j < shape[1]; ++j) wrong += rows[i * shape[1] + j] != whole.view()(i, j);
    EXPECT_EQ(wrong, 0u);
  }
}

TEST(DistHdf5, ErrorsAreRaisedOnEveryRankAndAnUnclosedFileLeavesTheOldOne) {
  SharedDir dir;
  const std::string path = dir.path + "/c.h5";
  const d::Grid g(world(), {0});
  const d::Partition<1> p(g, {9}, {0});
  {
    d::File f(world(), path, nabla::hdf5::Mode::create);
    f.write("x", d::arange<double>(p, 0.0));
    f.close();
  }
  {  // a second write, never closed (an exception, a kill): the first file stays, the temporary goes
    d::File f(world(), path, nabla::hdf5::Mode::create);
    f.write("x", d::full<double>(p, -1.0));
  }
  world().barrier();
  std::size_t entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path)) entries += e.path().filename() != "c.h5" ? 1 : 0;
  EXPECT_EQ(entries, 0u) << "a temporary file was left behind";
  d::File f(world(), path, nabla::hdf5::Mode::read);
  const auto x = nabla::to_host(d::allgather(f.read<double, 1>("x", p)));
  for (std::size_t i = 0; i < 9; ++i) EXPECT_EQ(x.view()(i), double(i));

  auto message_of = [](auto&& call) -> std::string {
    try {
      call();
    } catch (const nabla::IOError& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_NE(message_of([&] { (void)f.read<double, 1>("missing", p); }).find("no dataset 'missing'"), std::string::npos);
  EXPECT_NE(message_of([&] { (void)f.read<double, 1>("x", d::Partition<1>(g, {10}, {0})); }).find("has shape (9,)"),
            std::string::npos);
  EXPECT_NE(message_of([&] { (void)f.read<std::int64_t, 1>("x", p); }).find("floating-point"), std::string::npos);
  EXPECT_NE(message_of([&] { d::File(world(), dir.path + "/none.h5", nabla::hdf5::Mode::read); }).find("none.h5"),
            std::string::npos);
}

TEST(DistHdf5, ASealedFileIsCheckedBeforeHdf5ReadsItOnEveryRank) {
  SharedDir dir;
  const std::string path = dir.path + "/s.h5";
  const d::Grid g(world(), {0});
  const d::Partition<1> p(g, {20}, {0});
  {
    d::File f(world(), path, nabla::hdf5::Mode::create_sealed);
    f.write("x", d::arange<double>(p, 1.0));
    f.close();
  }
  {  // intact: reads back; core's reader accepts the same seal
    d::File f(world(), path, nabla::hdf5::Mode::read_sealed);
    const auto x = nabla::to_host(d::allgather(f.read<double, 1>("x", p)));
    EXPECT_EQ(x.view()(19), 20.0);
    if (world().rank() == 0) EXPECT_NO_THROW(nabla::hdf5::File(path, nabla::hdf5::Mode::read_sealed));
  }
  world().barrier();
  if (world().rank() == 0) {  // one byte of the data changed
    std::FILE* f = std::fopen(path.c_str(), "r+b");
    std::fseek(f, 0, SEEK_END);
    const long size = std::ftell(f);
    std::fseek(f, size / 2, SEEK_SET);
    const int c = std::fgetc(f);
    std::fseek(f, size / 2, SEEK_SET);
    std::fputc(c ^ 0x10, f);
    std::fclose(f);
  }
  world().barrier();
  std::string message = "no error";
  try {
    d::File f(world(), path, nabla::hdf5::Mode::read_sealed);
  } catch (const nabla::IOError& e) {
    message = e.what();
  }
  EXPECT_NE(message.find("does not match its seal"), std::string::npos) << "rank " << world().rank() << ": " << message;
}

}  // namespace
#endif
