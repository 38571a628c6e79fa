// Data: the CSV reader (good input and every error case, each naming file, line and column), one-hot,
// standardisation, seeded splits and the DataLoader's batches, partial batches and MPI shards.
#include "nn_test_util.hpp"

#include <nabla/nn/csv.hpp>
#include <nabla/nn/data.hpp>

#include <fstream>
#include <set>

namespace {

namespace nn = nabla::nn;
using nn_test::host;

std::string error_of(const std::string& text, const nn::CsvOptions& o = {}) {
  try {
    nn::parse_csv(text, "data.csv", o);
  } catch (const nabla::ValueError& e) {
    return e.what();
  }
  return "no error";
}

TEST(Csv, ReadsHeaderLabelAndNumericColumns) {
  const std::string text = "x1,label,x2\r\n1.5, b ,2\n-3e-1,a,4\n\n7,b,8.25\n";
  auto t = nn::parse_csv(text, "data.csv");
  EXPECT_EQ(t.rows, 3u);
  ASSERT_EQ(t.feature_names, (std::vector<std::string>{"x1", "x2"}));
  EXPECT_EQ(t.label_name, "label");
  EXPECT_EQ(t.features, (std::vector<double>{1.5, 2, -0.3, 4, 7, 8.25}));
  EXPECT_EQ(t.classes, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(t.labels, (std::vector<int>{1, 0, 1}));
  auto ds = nn::to_dataset<double>(t);
  auto x = host(ds.x), y = host(ds.y);
  EXPECT_EQ(x(0, 1), -0.3);
  EXPECT_EQ(x(1, 2), 8.25);
  EXPECT_EQ(y(1, 0), 1.0);
  EXPECT_EQ(y(0, 1), 1.0);
  // numeric labels sort numerically; no header: label by index
  nn::CsvOptions o;
  o.header = false;
  o.label_column = "0";
  auto u = nn::parse_csv("10,1\n2,2\n10,3\n", "n.csv", o);
  EXPECT_EQ(u.classes, (std::vector<std::string>{"2", "10"}));
  EXPECT_EQ(u.labels, (std::vector<int>{1, 0, 1}));
}

TEST(Csv, ErrorsNameFileLineAndColumn) {
  EXPECT_EQ(error_of(""), "data.csv: the file is empty");
  EXPECT_EQ(error_of("\n  \n"), "data.csv: the file is empty");
  EXPECT_EQ(error_of("a,label\n"), "data.csv: no data rows after the header");
  EXPECT_EQ(error_of("a,b,label\n1,2,x\n3,4\n"), "data.csv, line 3: 2 fields, expected 3 (as in the header)");
  EXPECT_EQ(error_of("a,b,label\n1,2,x\n3,4,y,5\n"), "data.csv, line 3: 4 fields, expected 3 (as in the header)");
  EXPECT_EQ(error_of("a,b,label\n1,2,x\n3,abc,y\n"), "data.csv, line 3, column 2 ('b'): 'abc' is not a number");
  EXPECT_EQ(error_of("a,b,label\n1,2x,x\n"), "data.csv, line 2, column 2 ('b'): '2x' is not a number");
  EXPECT_EQ(error_of("a,b,label\nnan,2,x\n"), "data.csv, line 2, column 1 ('a'): non-finite value 'nan'");
  EXPECT_EQ(error_of("a,b,label\n1,-Inf,x\n"), "data.csv, line 2, column 2 ('b'): non-finite value '-Inf'");
  EXPECT_EQ(error_of("a,b,label\n1,1e999,x\n"), "data.csv, line 2, column 2 ('b'): non-finite value '1e999'");
  EXPECT_EQ(error_of("a,b,label\n1,,x\n"), "data.csv, line 2, column 2 ('b'): empty field");
  EXPECT_EQ(error_of("a,b,label\n1,2,\n"), "data.csv, line 2, column 3 ('label'): empty label");
  EXPECT_EQ(error_of("a,b,c\n1,2,3\n"), "data.csv, line 1: no label column named 'label' (columns: a, b, c)");
  EXPECT_EQ(error_of("label\nx\n"), "data.csv: no feature columns besides the label");
  EXPECT_THROW(nn::read_csv("/nonexistent/dir/data.csv"), nabla::IOError);
  try {
    nn::read_csv("/nonexistent/dir/data.csv");
  } catch (const nabla::IOError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/data.csv"), std::string::npos);
  }
}

TEST(Csv, ReadsAFile) {
  const std::string path = ::testing::TempDir() + "nabla_nn_test.csv";
  std::ofstream(path) << "f,label\n1,0\n2,1\n";
  auto t = nn::read_csv(path);
  EXPECT_EQ(t.rows, 2u);
  EXPECT_EQ(t.path, path);
  std::remove(path.c_str());
}

TEST(Data, OneHotStandardizeAndSplit) {
  auto y = host(nn::one_hot<float>({2, 0, 1}, 3));
  EXPECT_EQ(y(2, 0), 1.0f);
  EXPECT_EQ(y(0, 0), 0.0f);
  EXPECT_EQ(y(0, 1), 1.0f);
  EXPECT_THROW(nn::one_hot<float>({3}, 3), nabla::ValueError);

  const std::size_t n = 101;
  std::vector<double> xs(2 * n);
  std::vector<int> labels(n);
  for (std::size_t j = 0; j < n; ++j) {
    xs[2 * j] = double(j);
    xs[2 * j + 1] = 5.0;  // constant feature: std stays 1
    labels[j] = int(j % 2);
  }
  nn::Dataset<double> ds{nn_test::device<double>(xs, 2, n), nn::one_hot<double>(labels, 2)};
  nn::Standardizer<double> st(ds.x);
  EXPECT_DOUBLE_EQ(st.mean()[0], 50.0);
  EXPECT_EQ(st.stddev()[1], 1.0);
  auto [tr, va] = nn::train_val_split(ds, 0.2, nabla::random::key(3));
  EXPECT_EQ(va.size(), 20u);
  EXPECT_EQ(tr.size(), 81u);
  auto htr = host(tr.x), hva = host(va.x), hy = host(tr.y);
  std::set<double> seen;
  for (std::size_t j = 0; j < tr.size(); ++j) {
    seen.insert(htr(0, j));
    EXPECT_EQ(hy(std::size_t(htr(0, j)) % 2, j), 1.0) << "targets travel with their features";
  }
  for (std::size_t j = 0; j < va.size(); ++j) seen.insert(hva(0, j));
  EXPECT_EQ(seen.size(), n) << "train and validation are disjoint and cover everything";
  st.apply(tr.x);
  auto sx = host(tr.x);
  EXPECT_EQ(sx(1, 0), 0.0);
  EXPECT_THROW(nn::train_val_split(ds, 1.0, nabla::random::key(3)), nabla::ValueError);
}

TEST(DataLoader, ShufflesBySeedKeepsOrDropsTheLastBatchAndShards) {
  const std::size_t n = 10;
  std::vector<double> xs(n);
  std::vector<int> labels(n, 0);
  for (std::size_t j = 0; j < n; ++j) xs[j] = double(j);
  nn::Dataset<double> ds{nn_test::device<double>(xs, 1, n), nn::one_hot<double>(labels, 1)};
  auto order = [&](nn::DataLoader<double>& l, std::size_t epoch) {
    l.start_epoch(epoch);
    std::vector<double> out;
    for (std::size_t b = 0; b < l.num_batches(); ++b) {
      auto hb = host(l.batch(b).first);
      for (std::size_t j = 0; j < hb.extent(1); ++j) out.push_back(hb(0, j));
    }
    return out;
  };
  nn::DataLoader<double> keep(ds, 4, true, nabla::random::key(9));
  EXPECT_EQ(keep.num_batches(), 3u);
  EXPECT_EQ(keep.global_batch_size(2), 2u);
  auto e0 = order(keep, 0), e1 = order(keep, 1);
  EXPECT_EQ(std::set<double>(e0.begin(), e0.end()).size(), n);
  EXPECT_NE(e0, e1) << "a new order each epoch";
  nn::DataLoader<double> again(ds, 4, true, nabla::random::key(9));
  EXPECT_EQ(order(again, 1), e1) << "the same key gives the same order";
  nn::DataLoader<double> drop(ds, 4, true, nabla::random::key(9), true);
  EXPECT_EQ(drop.num_batches(), 2u);
  EXPECT_EQ(order(drop, 0).size(), 8u);
  nn::DataLoader<double> plain(ds, 3, false);
  EXPECT_EQ(order(plain, 0), xs);
  // two ranks: the union of the shards of each batch is the batch, in order
  nn::DataLoader<double> r0(ds, 4, true, nabla::random::key(9), false, 0, 2),
      r1(ds, 4, true, nabla::random::key(9), false, 1, 2);
  auto a = order(r0, 1), b = order(r1, 1);
  std::vector<double> merged;
  for (std::size_t k = 0; k < 3; ++k) {  // shards 2+2, 2+2, 1+1
    const std::size_t s = k < 2 ? 2 : 1;
    merged.insert(merged.end(), a.begin() + std::ptrdiff_t(2 * k), a.begin() + std::ptrdiff_t(2 * k + s));
    merged.insert(merged.end(), b.begin() + std::ptrdiff_t(2 * k), b.begin() + std::ptrdiff_t(2 * k + s));
  }
  EXPECT_EQ(merged, e1);
  EXPECT_THROW(nn::DataLoader<double>(ds, 0), nabla::ValueError);
  EXPECT_THROW(nn::DataLoader<double>(ds, 11, true, nabla::random::key(0), true), nabla::ValueError);
}

}  // namespace
