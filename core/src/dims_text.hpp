/// \file dims_text.hpp
/// \brief Private (not installed): a file's dataset shape as h5py prints it, "(3, 4)" or "(5,)", for the error
/// messages of core's, dist's, nn's and sampling's HDF5 readers (which reach core's sources as a private include).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace nabla {
namespace impl {

inline std::string dims_text(const std::vector<std::size_t>& d) {
  std::string s = "(";
  for (std::size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + std::to_string(d[i]);
  return s + (d.size() == 1 ? ",)" : ")");
}

}  // namespace impl
}  // namespace nabla
