/// \file fuzz_csv.cpp
/// \brief Fuzz target: nabla::nn::parse_csv (read_csv's parser) with every option combination.
/// The first byte picks the options; the rest is the file's text.
#include "common.hpp"

#include <nabla/nn/csv.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  nabla::nn::CsvOptions options;
  const std::uint8_t pick = data[0];
  options.header = (pick & 1) == 0;
  options.delimiter = (pick & 2) ? ';' : ',';
  options.label_column = (pick & 4) ? "" : options.header ? "label" : "0";
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  nabla::fuzz::expect_clean_error([&] {
    const auto csv = nabla::nn::parse_csv(text, "fuzz.csv", options);
    // What the parser promises about a table it accepts.
    if (csv.rows == 0 || csv.features.size() != csv.rows * csv.num_features()) __builtin_trap();
    for (int label : csv.labels)
      if (label < 0 || std::size_t(label) >= csv.classes.size()) __builtin_trap();
  });
  return 0;
}
