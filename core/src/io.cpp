#include <nabla/core/error.hpp>
#include <nabla/core/io.hpp>

#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fcntl.h>
#include <unistd.h>

namespace nabla {
namespace io {

namespace {
namespace fs = std::filesystem;

/// This host's name as it may appear in a file name (letters, digits, '-', '.'; "host" if none).
std::string host_name() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  std::string s;
  for (const char* c = buf; *c; ++c)
    if (std::isalnum(static_cast<unsigned char>(*c)) || *c == '-' || *c == '.') s += *c;
  return s.empty() ? std::string("host") : s.substr(0, 64);
}

/// "<name>.tmp.<host>.": a temporary's name up to its pid. A name is at most NAME_MAX (255) bytes, so a long
/// target keeps a prefix of its name and a hash of the whole.
std::string temporary_prefix(const std::string& name) {
  constexpr std::size_t kNameMax = 255, kPidDigits = 10;
  const std::string tail = ".tmp." + host_name() + ".";
  const std::size_t room = kNameMax - kPidDigits - tail.size();
  if (name.size() <= room) return name + tail;
  std::uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a
  for (unsigned char c : name) h = (h ^ c) * 0x100000001b3ull;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return name.substr(0, room - 17) + "~" + hex + tail;
}

/// Removes the temporaries of a target that processes of this host left when killed mid-write (their pid no
/// longer runs). Temporaries of running processes and of other hosts stay.
void remove_stale(const fs::path& dir, const std::string& prefix) {
  std::error_code ec;
  for (fs::directory_iterator it(dir.empty() ? fs::path(".") : dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string f = it->path().filename().string();
    if (f.size() <= prefix.size() || f.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string digits = f.substr(prefix.size());
    if (digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    const long pid = std::stol(digits);
    std::error_code ignored;
    if (pid != long(::getpid()) && ::kill(pid_t(pid), 0) == -1 && errno == ESRCH) fs::remove(it->path(), ignored);
  }
}
}  // namespace

std::string temporary_path_for(const std::string& path) {
  const fs::path p(path);
  const std::string prefix = temporary_prefix(p.filename().string());
  remove_stale(p.parent_path(), prefix);
  return (p.parent_path() / (prefix + std::to_string(::getpid()))).string();
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
