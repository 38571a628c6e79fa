/// \file python.hpp
/// \brief Debian's /usr/bin/python3 (which has NumPy, emcee, h5py) as an independent reference in tests.
#pragma once

#include <cstdio>
#include <fstream>
#include <string>
#include <sys/wait.h>
#include <vector>

namespace nabla_test {

/// Writes `script` to `file`, runs it with /usr/bin/python3 and `args`; returns the exit code, the combined
/// stdout and stderr in `out`.
inline int python(const std::string& script, const std::string& file, const std::vector<std::string>& args,
                  std::string& out) {
  std::ofstream(file) << script;
  std::string cmd = "/usr/bin/python3 " + file;
  for (const auto& a : args) cmd += " '" + a + "'";
  cmd += " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  out.clear();
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  const int rc = ::pclose(p);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

}  // namespace nabla_test
