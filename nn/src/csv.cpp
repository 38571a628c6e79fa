/// \file csv.cpp
/// \brief The CSV reader (see csv.hpp).
#include <nabla/nn/csv.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

namespace nabla {
namespace nn {

namespace {

std::string trim(const std::string& s) {
  std::size_t a = 0, b = s.size();
  while (a < b && (s[a] == ' ' || s[a] == '\t')) ++a;
  while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t')) --b;
  std::string t = s.substr(a, b - a);
  if (t.size() >= 2 && t.front() == '"' && t.back() == '"') t = t.substr(1, t.size() - 2);
  return t;
}

std::vector<std::string> split(const std::string& line, char delim) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : line) {
    if (c == delim) {
      out.push_back(trim(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(trim(cur));
  return out;
}

bool blank(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t'; });
}

/// Parses a whole field as a double; false if any character is left over.
bool parse_number(const std::string& s, double& v) {
  if (s.empty()) return false;
  errno = 0;
  char* end = nullptr;
  v = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

std::string column_ref(std::size_t col, const std::string& name) {
  return ::nabla::impl::cat("column ", col + 1, " ('", name, "')");
}

}  // namespace

CsvData parse_csv(const std::string& text, const std::string& name, const CsvOptions& options) {
  CsvData out;
  out.path = name;
  std::istringstream in(text);
  std::string line;
  std::size_t lineno = 0;
  std::vector<std::string> header;
  std::size_t ncols = 0, label_col = std::size_t(-1);
  bool have_shape = false;
  std::vector<std::string> label_text;
  auto shape_from = [&](const std::vector<std::string>& first, bool is_header) {
    ncols = first.size();
    if (is_header) {
      header = first;
      for (std::size_t c = 0; c < ncols; ++c)
        if (header[c].empty()) throw ValueError(::nabla::impl::cat(name, ", line ", lineno, ", column ", c + 1, ": empty column name"));
    } else {
      for (std::size_t c = 0; c < ncols; ++c) header.push_back(::nabla::impl::cat("c", c));
    }
    if (!options.label_column.empty()) {
      if (options.header) {
        auto it = std::find(header.begin(), header.end(), options.label_column);
        if (it == header.end()) {
          std::string cols;
          for (std::size_t c = 0; c < ncols; ++c) cols += (c ? ", " : "") + header[c];
          throw ValueError(::nabla::impl::cat(name, ", line 1: no label column named '", options.label_column,
                                     "' (columns: ", cols, ")"));
        }
        label_col = std::size_t(it - header.begin());
      } else {
        double v = 0;
        if (!parse_number(options.label_column, v) || v < 0 || v != std::floor(v) || v >= double(ncols))
          throw ValueError(::nabla::impl::cat(name, ": without a header the label column must be an index in 0..", ncols - 1,
                                     ", got '", options.label_column, "'"));
        label_col = std::size_t(v);
      }
      out.label_name = header[label_col];
    }
    if (ncols - (label_col == std::size_t(-1) ? 0 : 1) == 0)
      throw ValueError(::nabla::impl::cat(name, ": no feature columns besides the label"));
    for (std::size_t c = 0; c < ncols; ++c)
      if (c != label_col) out.feature_names.push_back(header[c]);
    have_shape = true;
  };

  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (lineno == 1 && line.size() >= 3 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line = line.substr(3);
    if (blank(line)) continue;
    auto fields = split(line, options.delimiter);
    if (!have_shape) {
      shape_from(fields, options.header);
      if (options.header) continue;
    }
    if (fields.size() != ncols)
      throw ValueError(::nabla::impl::cat(name, ", line ", lineno, ": ", fields.size(), " field", fields.size() == 1 ? "" : "s",
                                 ", expected ", ncols, options.header ? " (as in the header)" : " (as in line 1)"));
    for (std::size_t c = 0; c < ncols; ++c) {
      const std::string& f = fields[c];
      if (c == label_col) {
        if (f.empty())
          throw ValueError(::nabla::impl::cat(name, ", line ", lineno, ", ", column_ref(c, header[c]), ": empty label"));
        label_text.push_back(f);
        continue;
      }
      double v = 0;
      if (f.empty())
        throw ValueError(::nabla::impl::cat(name, ", line ", lineno, ", ", column_ref(c, header[c]), ": empty field"));
      if (!parse_number(f, v))
        throw ValueError(::nabla::impl::cat(name, ", line ", lineno, ", ", column_ref(c, header[c]), ": '", f,
                                   "' is not a number"));
      if (!std::isfinite(v))
        throw ValueError(::nabla::impl::cat(name, ", line ", lineno, ", ", column_ref(c, header[c]), ": non-finite value '", f,
                                   "'"));
      out.features.push_back(v);
    }
    ++out.rows;
  }
  if (!have_shape) throw ValueError(::nabla::impl::cat(name, ": the file is empty"));
  if (out.rows == 0) throw ValueError(::nabla::impl::cat(name, ": no data rows after the header"));

  if (label_col != std::size_t(-1)) {
    // Classes: numeric order when every label is a number, text order otherwise.
    std::vector<std::string> distinct = label_text;
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    bool numeric = true;
    double v = 0;
    for (const auto& s : distinct) numeric = numeric && parse_number(s, v) && std::isfinite(v);
    if (numeric)
      std::stable_sort(distinct.begin(), distinct.end(), [](const std::string& a, const std::string& b) {
        return std::strtod(a.c_str(), nullptr) < std::strtod(b.c_str(), nullptr);
      });
    out.classes = distinct;
    std::map<std::string, int> index;
    for (std::size_t k = 0; k < distinct.size(); ++k) index[distinct[k]] = int(k);
    out.labels.reserve(label_text.size());
    for (const auto& s : label_text) out.labels.push_back(index.at(s));
  }
  return out;
}

CsvData read_csv(const std::string& path, const CsvOptions& options) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw IOError(::nabla::impl::cat("nabla::nn::read_csv: cannot open '", path, "'"));
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) throw IOError(::nabla::impl::cat("nabla::nn::read_csv: error reading '", path, "'"));
  return parse_csv(ss.str(), path, options);
}

}  // namespace nn
}  // namespace nabla
