// Atomic files (io.hpp): what a writer killed mid-write leaves is removed by the next write of the same target,
// and a target whose name is at the file-name limit still gets a temporary that fits.
#include <nabla/core/error.hpp>
#include <nabla/core/io.hpp>

#include <gtest/gtest.h>

#include <climits>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace {

struct ScratchDir {
  fs::path path;
  ScratchDir() : path(fs::temp_directory_path() / ("nabla_io_" + std::to_string(::getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

void touch(const fs::path& p) { std::ofstream(p) << "partial"; }

// A child that creates `target`'s temporary, writes part of it and is killed there, as a writer killed
// mid-write; returns the temporary's path (the child's pid no longer runs).
std::string killed_writer(const std::string& target) {
  int fds[2];
  if (::pipe(fds) != 0) return {};
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    const std::string tmp = nabla::io::temporary_path_for(target);
    touch(tmp);
    const auto n = ::write(fds[1], tmp.data(), tmp.size());
    (void)n;
    ::close(fds[1]);
    ::raise(SIGKILL);
  }
  ::close(fds[1]);
  std::string tmp;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) tmp.append(buf, std::size_t(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return tmp;
}

}  // namespace

TEST(AtomicFile, TemporariesOfKilledWritersAreRemovedByTheNextWrite) {
  const ScratchDir dir;
  const std::string target = (dir.path / "metrics.json").string();
  const std::string a = killed_writer(target);
  ASSERT_FALSE(a.empty());
  ASSERT_TRUE(fs::exists(a));
  const std::string b = killed_writer(target);  // the next writer, killed too, has removed the first's
  EXPECT_FALSE(fs::exists(a));
  ASSERT_TRUE(fs::exists(b));
  EXPECT_EQ(fs::path(a).parent_path(), dir.path);  // beside the target: the rename stays within one file system
  // Kept: a temporary of a writer still running (this process's parent), one of another host, one of another
  // target, and a file that only looks alike.
  const std::string mine = nabla::io::temporary_path_for(target);
  const std::string prefix = mine.substr(0, mine.size() - std::to_string(::getpid()).size());
  const fs::path running = prefix + std::to_string(::getppid());
  const fs::path other_host = target + ".tmp.some-other-host.1";
  const std::string a_name = fs::path(a).filename().string();  // metrics.json.tmp.<host>.<dead pid>
  const fs::path other_target = dir.path / ("metrics.json.old" + a_name.substr(std::string("metrics.json").size()));
  const fs::path lookalike = prefix + "12x";
  for (const auto& p : {running, other_host, other_target, lookalike}) touch(p);

  nabla::io::write_file_atomic(target, "{\"ok\": 1}\n");
  EXPECT_EQ(slurp(target), "{\"ok\": 1}\n");
  EXPECT_FALSE(fs::exists(b));
  for (const auto& p : {running, other_host, other_target, lookalike}) EXPECT_TRUE(fs::exists(p)) << p;
  EXPECT_FALSE(fs::exists(mine));
}

TEST(AtomicFile, ANameAtTheFileNameLimitIsWritten) {
  const ScratchDir dir;
  // NAME_MAX (255) bytes, and a second name differing only in its last byte.
  const std::string name(NAME_MAX, 'n'), twin = std::string(NAME_MAX - 1, 'n') + "m";
  const std::string target = (dir.path / name).string(), other = (dir.path / twin).string();
  const std::string tmp = nabla::io::temporary_path_for(target);
  EXPECT_LE(fs::path(tmp).filename().string().size(), std::size_t(NAME_MAX));
  EXPECT_NE(fs::path(tmp).filename(), fs::path(nabla::io::temporary_path_for(other)).filename());
  nabla::io::write_file_atomic(target, "first");
  nabla::io::write_file_atomic(other, "second");
  EXPECT_EQ(slurp(target), "first");
  EXPECT_EQ(slurp(other), "second");
  // A killed writer of the long name is cleaned up like any other.
  const std::string left = killed_writer(target);
  ASSERT_TRUE(fs::exists(left));
  nabla::io::write_file_atomic(target, "third");
  EXPECT_FALSE(fs::exists(left));
  EXPECT_EQ(slurp(target), "third");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()), 2);
}
