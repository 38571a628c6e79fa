/// \file io.hpp
/// \brief Files that are never half-written: write to a temporary beside the target, flush, then rename.
#pragma once

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

/// \brief Creates a directory and its parents (like mkdir -p); throws IOError on failure.
void make_directories(const std::string& path);

}  // namespace io
}  // namespace nabla
