// nabla::hdf5::File: round trips, growable datasets, attributes, h5py interoperability, and the errors for
// missing, truncated, corrupted and wrong-schema files.
#include <nabla/core/error.hpp>
#include <nabla/core/hdf5.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

namespace {

using nabla::hdf5::Dims;
using nabla::hdf5::File;
using nabla::hdf5::Mode;

std::string scratch(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("nabla_hdf5_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const nabla::IOError& e) {
    return e.what();
  }
  return "(no error)";
}

bool have_h5py() { return std::system("/usr/bin/python3 -c 'import h5py' >/dev/null 2>&1") == 0; }

TEST(Hdf5, DatasetsRoundTripEveryElementType) {
  const std::string path = scratch("roundtrip.h5");
  std::vector<double> d(6);
  std::vector<float> f(5);
  std::vector<std::int64_t> i64(4);
  std::vector<std::int32_t> i32(3);
  std::vector<std::uint64_t> u64(2);
  std::vector<std::uint8_t> u8(7);
  for (std::size_t i = 0; i < d.size(); ++i) d[i] = 0.1 * double(i) - 1e300 * double(i % 2);
  for (std::size_t i = 0; i < f.size(); ++i) f[i] = 1.5f * float(i);
  for (std::size_t i = 0; i < i64.size(); ++i) i64[i] = -(std::int64_t(1) << 60) + std::int64_t(i);
  for (std::size_t i = 0; i < i32.size(); ++i) i32[i] = -7 * std::int32_t(i);
  for (std::size_t i = 0; i < u64.size(); ++i) u64[i] = ~std::uint64_t(0) - i;
  for (std::size_t i = 0; i < u8.size(); ++i) u8[i] = std::uint8_t(250 + i);
  {
    File file(path, Mode::create);
    file.write("a/b/d", d, {2, 3});
    file.write("f", f, {5});
    file.write("g/i64", i64, {4});
    file.write("g/i32", i32, {3});
    file.write("g/u64", u64, {2});
    file.write("u8", u8, {7});
    file.write("empty", std::vector<double>{}, {0, 3});
    file.write("a/b/d", d, {3, 2});  // replacing keeps one dataset of the new shape
    file.close();
  }
  File file(path, Mode::read);
  Dims dims;
  EXPECT_EQ(file.read<double>("a/b/d", &dims), d);
  EXPECT_EQ(dims, (Dims{3, 2}));
  EXPECT_EQ(file.read<float>("f"), f);
  EXPECT_EQ(file.read<std::int64_t>("g/i64"), i64);
  EXPECT_EQ(file.read<std::int32_t>("g/i32"), i32);
  EXPECT_EQ(file.read<std::uint64_t>("g/u64"), u64);
  EXPECT_EQ(file.read<std::uint8_t>("u8"), u8);
  EXPECT_TRUE(file.read<double>("empty", &dims).empty());
  EXPECT_EQ(dims, (Dims{0, 3}));
  EXPECT_TRUE(file.exists("a/b"));
  EXPECT_FALSE(file.exists("a/c/d"));  // missing parent: false, not an error
  EXPECT_FALSE(file.exists("nothing"));
}

TEST(Hdf5, GrowableDatasetsAppendRows) {
  const std::string path = scratch("grow.h5");
  const std::size_t nw = 3, nd = 2, steps = 70;  // more rows than one chunk
  {
    File file(path, Mode::create);
    file.create_group("mcmc");
    file.create_growable<double>("mcmc/chain", {nw, nd}, 16);
    for (std::size_t s = 0; s < steps; ++s) {
      file.resize("mcmc/chain", s + 1);
      std::vector<double> row(nw * nd);
      for (std::size_t k = 0; k < row.size(); ++k) row[k] = double(s * 100 + k);
      file.write_rows("mcmc/chain", s, row, 1);
      file.flush();
    }
  }
  File file(path, Mode::readwrite);
  EXPECT_EQ(file.dims("mcmc/chain"), (Dims{steps, nw, nd}));
  const auto rows = file.read_rows<double>("mcmc/chain", 10, 3);
  ASSERT_EQ(rows.size(), 3 * nw * nd);
  for (std::size_t r = 0; r < 3; ++r)
    for (std::size_t k = 0; k < nw * nd; ++k) EXPECT_EQ(rows[r * nw * nd + k], double((10 + r) * 100 + k));
  // Shrinking drops the tail (what a resume does with a step in progress).
  file.resize("mcmc/chain", 5);
  EXPECT_EQ(file.dims("mcmc/chain")[0], 5u);
  const std::string e = error_of([&] { file.write_rows("mcmc/chain", 5, std::vector<double>(nw * nd), 1); });
  EXPECT_NE(e.find("outside dataset 'mcmc/chain'"), std::string::npos) << e;
  EXPECT_NE(error_of([&] { file.write_rows("mcmc/chain", 0, std::vector<double>(5), 1); }).find("5 values"),
            std::string::npos);
}

TEST(Hdf5, AttributesOfEveryKind) {
  const std::string path = scratch("attrs.h5");
  {
    File file(path, Mode::create);
    file.create_group("g");
    file.set_attribute("g", "pi", 3.141592653589793);
    file.set_attribute("g", "n", std::int64_t(-42));
    file.set_attribute("g", "version", "3.1.4");
    file.set_attribute_bool("g", "flag", true);
    file.set_attribute("", "root", std::int64_t(7));
    file.set_attribute("g", "n", std::int64_t(43));  // overwrite
  }
  File file(path, Mode::read);
  EXPECT_EQ(file.attribute_double("g", "pi"), 3.141592653589793);
  EXPECT_EQ(file.attribute_int("g", "n"), 43);
  EXPECT_EQ(file.attribute_double("g", "n"), 43.0);
  EXPECT_EQ(file.attribute_string("g", "version"), "3.1.4");
  EXPECT_TRUE(file.attribute_bool("g", "flag"));
  EXPECT_EQ(file.attribute_int("/", "root"), 7);
  EXPECT_TRUE(file.has_attribute("g", "pi"));
  EXPECT_FALSE(file.has_attribute("g", "nope"));
  EXPECT_FALSE(file.has_attribute("missing/group", "pi"));
  EXPECT_NE(error_of([&] { file.attribute_string("g", "pi"); }).find("is not a string"), std::string::npos);
  EXPECT_NE(error_of([&] { file.attribute_int("g", "version"); }).find("not a number"), std::string::npos);
  EXPECT_NE(error_of([&] { file.attribute_int("g", "nope"); }).find("no attribute 'nope' on 'g'"), std::string::npos);
}

TEST(Hdf5, ErrorsNameTheFileAndTheProblem) {
  const std::string missing = scratch("missing.h5");
  std::string e = error_of([&] { File f(missing, Mode::read); });
  EXPECT_NE(e.find(missing), std::string::npos) << e;
  EXPECT_NE(e.find("no such file"), std::string::npos) << e;

  const std::string text = scratch("text.h5");
  std::ofstream(text) << "chain,log_prob\n1,2\n";
  e = error_of([&] { File f(text, Mode::read); });
  EXPECT_NE(e.find("not an HDF5 file"), std::string::npos) << e;

  // A file cut in half (a crash of a writer without atomic rename) is rejected, not misread.
  const std::string good = scratch("good.h5"), cut = scratch("cut.h5");
  {
    File f(good, Mode::create);
    f.write("x", std::vector<double>(4096, 1.0), {4096});
  }
  std::filesystem::copy_file(good, cut, std::filesystem::copy_options::overwrite_existing);
  std::filesystem::resize_file(cut, std::filesystem::file_size(good) / 2);
  e = error_of([&] {
    File f(cut, Mode::read);
    f.read<double>("x");
  });
  EXPECT_NE(e.find(cut), std::string::npos) << e;
  EXPECT_NE(e.find("truncated or corrupted"), std::string::npos) << e;

  File f(good, Mode::read);
  e = error_of([&] { f.read<std::int64_t>("x"); });
  EXPECT_NE(e.find("holds floating-point data, expected integer"), std::string::npos) << e;
  e = error_of([&] { f.read<double>("y"); });
  EXPECT_NE(e.find("no dataset 'y'"), std::string::npos) << e;
  e = error_of([&] { File w(scratch("no/such/dir/x.h5"), Mode::create); });
  EXPECT_NE(e.find("cannot create the file"), std::string::npos) << e;
}

// h5py is the reader users (and emcee) have: what Nabla writes it must read, and the other way round.
TEST(Hdf5, InteroperatesWithH5py) {
  if (!have_h5py()) GTEST_SKIP() << "/usr/bin/python3 has no h5py";
  const std::string path = scratch("interop.h5");
  {
    File file(path, Mode::create);
    file.create_group("mcmc");
    file.set_attribute("mcmc", "version", "3.1.4");
    file.set_attribute_bool("mcmc", "has_blobs", false);
    file.set_attribute("mcmc", "nwalkers", std::int64_t(4));
    file.create_growable<double>("mcmc/chain", {4, 2});
    file.resize("mcmc/chain", 2);
    std::vector<double> rows(16);
    for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = double(i);
    file.write_rows("mcmc/chain", 0, rows, 2);
  }
  const std::string check = "/usr/bin/python3 -c \"import h5py, numpy as np, sys\n"
                            "f = h5py.File(sys.argv[1], 'r'); g = f['mcmc']\n"
                            "assert g.attrs['version'] == '3.1.4', g.attrs['version']\n"
                            "assert g.attrs['has_blobs'] == False and g.attrs['has_blobs'].dtype == np.bool_\n"
                            "assert g.attrs['nwalkers'] == 4\n"
                            "c = g['chain']; assert c.shape == (2, 4, 2) and c.maxshape == (None, 4, 2)\n"
                            "assert (c[...].ravel() == np.arange(16)).all()\n"
                            "f.close(); f = h5py.File(sys.argv[1], 'a')\n"
                            "f['mcmc'].attrs['iteration'] = 9; f['mcmc'].attrs['flag'] = True\n"
                            "f.create_dataset('py/x', data=np.arange(6.0).reshape(2, 3))\n\" " +
                            path;
  ASSERT_EQ(std::system(check.c_str()), 0) << check;
  File file(path, Mode::read);
  EXPECT_EQ(file.attribute_int("mcmc", "iteration"), 9);
  EXPECT_TRUE(file.attribute_bool("mcmc", "flag"));
  Dims dims;
  EXPECT_EQ(file.read<double>("py/x", &dims), (std::vector<double>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(dims, (Dims{2, 3}));
}

}  // namespace
