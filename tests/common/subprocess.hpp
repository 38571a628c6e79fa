/// \file subprocess.hpp
/// \brief Child processes for the kill-and-resume tests: start a helper with its stdout on a pipe, read its
/// lines, wait for it, SIGKILL it.
#pragma once

#include <csignal>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace nabla_test {

/// A started child: its pid and the read end of its stdout.
struct Child {
  pid_t pid = -1;
  int out = -1;
};

/// posix_spawn of `argv[0]` with `argv`; pid -1 on failure.
inline Child spawn(const std::vector<std::string>& argv) {
  Child c;
  int fds[2];
  if (::pipe(fds) != 0) return c;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const int rc = posix_spawn(&c.pid, argv[0].c_str(), &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    c.pid = -1;
    return c;
  }
  c.out = fds[0];
  return c;
}

/// The next line of the child's stdout (empty at end of file).
inline std::string read_line(int fd) {
  std::string s;
  char ch;
  while (::read(fd, &ch, 1) == 1 && ch != '\n') s += ch;
  return s;
}

/// Reads the child's output to the end and waits; true when it exited with code 0.
inline bool finish(Child c, std::string* output = nullptr) {
  std::string line, all;
  while (!(line = read_line(c.out)).empty()) all += line + "\n";
  ::close(c.out);
  int status = 0;
  ::waitpid(c.pid, &status, 0);
  if (output) *output = all;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/// SIGKILLs the child and reaps it; true when the signal is what ended it (false: it had already exited).
inline bool kill_now(Child c) {
  ::kill(c.pid, SIGKILL);
  int status = 0;
  ::waitpid(c.pid, &status, 0);
  ::close(c.out);
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

}  // namespace nabla_test
