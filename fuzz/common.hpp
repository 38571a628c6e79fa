/// \file common.hpp
/// \brief Shared by the fuzz targets: the exceptions a reader may throw for bad input (anything else, or a crash,
/// is a finding), and a per-process scratch file for readers that take a path.
#pragma once

#include <nabla/core/error.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <unistd.h>

namespace nabla {
namespace fuzz {

/// Runs `read`; the documented errors for bad input are expected, every other exception escapes (and aborts).
template <class F>
void expect_clean_error(F&& read) {
  try {
    read();
  } catch (const ShapeError&) {
  } catch (const ValueError&) {
  } catch (const IOError&) {
  }
}

/// Writes the input to a scratch file named after the process (the readers under test take paths).
inline std::string scratch_file(const std::uint8_t* data, std::size_t size, const char* suffix) {
  const char* dir = std::getenv("TMPDIR");
  const std::string path = std::string(dir && *dir ? dir : "/tmp") + "/nabla-fuzz-" + std::to_string(getpid()) + suffix;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) throw std::runtime_error("cannot write the scratch file " + path);
  if (size > 0 && std::fwrite(data, 1, size, f) != size) throw std::runtime_error("short write to " + path);
  std::fclose(f);
  return path;
}

}  // namespace fuzz
}  // namespace nabla
