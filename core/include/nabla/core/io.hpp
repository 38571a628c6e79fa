/// \file io.hpp
/// \brief Files that are never half-written: write to a temporary beside the target, flush, then rename.
#pragma once

#include <cstdio>
#include <string>

namespace nabla {
namespace io {

/// \brief Writes `content` to `path` atomically: readers see the old file or the new one, never a mix.
/// Throws IOError naming the path and the system's reason.
void write_file_atomic(const std::string& path, const std::string& content);

/// \brief A temporary path beside `path` (same directory, so rename is atomic), unique to this process.
std::string temporary_path_for(const std::string& path);

/// \brief Renames `from` onto `to` atomically, after flushing `from` to disk; throws IOError on failure.
void commit_file(const std::string& from, const std::string& to);

/// \brief Creates `path` whole or not at all: `write(tmp)` writes (and closes) the complete file at a temporary
/// path beside it, which is then flushed and renamed onto `path`. On any error the temporary is removed and the
/// error rethrown; a process killed meanwhile leaves at most the temporary.
template <class Write>
void create_atomically(const std::string& path, Write&& write) {
  const std::string tmp = temporary_path_for(path);
  try {
    write(tmp);
    commit_file(tmp, path);
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
}

/// \brief Creates a directory and its parents (like mkdir -p); throws IOError on failure.
void make_directories(const std::string& path);

}  // namespace io
}  // namespace nabla
