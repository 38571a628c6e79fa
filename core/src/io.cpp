#include <nabla/core/error.hpp>
#include <nabla/core/io.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fcntl.h>
#include <unistd.h>

namespace nabla {
namespace io {

std::string temporary_path_for(const std::string& path) {
  return path + ".tmp." + std::to_string(::getpid());
}

void commit_file(const std::string& from, const std::string& to) {
  const int fd = ::open(from.c_str(), O_RDONLY);
  if (fd < 0) throw IOError(impl::cat("nabla::io: cannot open '", from, "': ", std::strerror(errno)));
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw IOError(impl::cat("nabla::io: cannot flush '", from, "': ", std::strerror(errno)));
  if (std::rename(from.c_str(), to.c_str()) != 0) {
    const int err = errno;
    std::remove(from.c_str());
    throw IOError(impl::cat("nabla::io: cannot rename '", from, "' to '", to, "': ", std::strerror(err)));
  }
}

void write_file_atomic(const std::string& path, const std::string& content) {
  create_atomically(path, [&](const std::string& tmp) {
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) throw IOError(impl::cat("nabla::io: cannot write '", path, "': ", std::strerror(errno)));
    const bool ok = std::fwrite(content.data(), 1, content.size(), f) == content.size();
    if (std::fclose(f) != 0 || !ok) throw IOError(impl::cat("nabla::io: short write to '", path, "' (disk full?)"));
  });
}

void make_directories(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) throw IOError(impl::cat("nabla::io: cannot create directory '", path, "': ", ec.message()));
}

}  // namespace io
}  // namespace nabla
