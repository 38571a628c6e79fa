/// \file common.hpp
/// \brief Shared by the fuzz targets: the exceptions a reader may throw for bad input (anything else, or a crash,
/// is a finding), and a per-process scratch file for readers that take a path.
#pragma once

#include <nabla/core/error.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
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

/// Decisions read from the input one byte at a time (the targets that build valid files and vary what they
/// say); once it is used up, every decision takes its default.
class Script {
 public:
  Script(const std::uint8_t* data, std::size_t size) : m_p(data), m_end(data + size) {}

  /// An integer field that usually keeps `dflt`, else becomes a neighbour, a small value or any 64-bit value.
  std::int64_t integer(std::int64_t dflt) {
    if (m_p == m_end) return dflt;
    const std::uint8_t b = *m_p++;
    switch (b % 8) {
      case 4: return b / 8;
      case 5: return dflt + 1;
      case 6: return dflt - 1;
      case 7: {
        std::uint64_t u = 0;
        for (int i = 0; i < 8 && m_p != m_end; ++i) u = u << 8 | *m_p++;
        std::int64_t s;
        std::memcpy(&s, &u, sizeof s);
        return s;
      }
      default: return dflt;
    }
  }
  /// One of `n` choices; 0 (the default) most of the time.
  int choice(int n) {
    if (m_p == m_end) return 0;
    const int b = *m_p++;
    return b < 128 ? 0 : b % n;
  }

 private:
  const std::uint8_t* m_p;
  const std::uint8_t* m_end;
};

}  // namespace fuzz
}  // namespace nabla
