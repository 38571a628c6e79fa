/// \file error.hpp
/// \brief Exceptions Nabla throws for bad input; every message names the operation and the offending values.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace nabla {

/// Arrays whose shapes do not fit the operation (broadcast, matmul, assignment...).
class ShapeError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// A value outside the domain of an operation (negative step, zero batch size, NaN in data...).
class ValueError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// A file that is missing, truncated, corrupted or of the wrong schema.
class IOError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace impl {
/// Streams all arguments into one string: `throw ShapeError(cat("assign: ", a, " vs ", b))`.
template <class... Args>
std::string cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
}  // namespace impl

}  // namespace nabla
