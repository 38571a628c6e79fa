/// \file csv.hpp
/// \brief A strict CSV reader for training data: a header, one label column, every other column numeric.
/// Bad input is an error naming the file, line and column: ragged rows, empty or non-numeric fields,
/// NaN/Inf, an empty file, a missing label column.
#pragma once

#include <nabla/core/error.hpp>
#include <nabla/nn/data.hpp>

#include <string>
#include <vector>

namespace nabla {
namespace nn {

/// How to read a CSV file.
struct CsvOptions {
  /// The label column: its header name, or (without a header) its 0-based index as text. Empty: no label
  /// column (every column is a feature).
  std::string label_column = "label";
  char delimiter = ',';
  bool header = true;
};

/// \brief A parsed CSV table: numeric features (row-major) and the labels as class indices.
struct CsvData {
  std::string path;
  std::vector<std::string> feature_names;  ///< header names (or "c<i>") of the feature columns
  std::string label_name;
  std::size_t rows = 0;
  std::vector<double> features;  ///< rows x feature_names.size(), row-major
  std::vector<std::string> classes;  ///< distinct labels, numeric order when all are numbers, else text order
  std::vector<int> labels;           ///< index into classes, per row
  std::size_t num_features() const { return feature_names.size(); }
};

/// \brief Reads and validates `path`; throws IOError (unreadable) or ValueError (bad content) naming the
/// file, the line (1-based, the header is line 1) and the column (1-based, with its name).
CsvData read_csv(const std::string& path, const CsvOptions& options = {});

/// \brief Parses CSV `text` as if read from a file called `name` (same checks as read_csv).
CsvData parse_csv(const std::string& text, const std::string& name, const CsvOptions& options = {});

/// \brief The table as a Dataset: features (num_features x rows), one-hot targets (classes x rows).
template <class T>
Dataset<T> to_dataset(const CsvData& csv) {
  const std::size_t f = csv.num_features(), n = csv.rows;
  Kokkos::View<T**, Kokkos::LayoutLeft, Kokkos::HostSpace> h("nabla::nn::csv::x", f, n);
  for (std::size_t j = 0; j < n; ++j)
    for (std::size_t i = 0; i < f; ++i) h(i, j) = T(csv.features[j * f + i]);
  Dataset<T> ds{Array<T, 2>(Shape<2>{f, n}, "nabla::nn::csv::x"), one_hot<T>(csv.labels, csv.classes.size())};
  Kokkos::deep_copy(ds.x.view(), h);
  return ds;
}

}  // namespace nn
}  // namespace nabla
