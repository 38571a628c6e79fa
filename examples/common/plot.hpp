/// \file plot.hpp
/// \brief PNG plots from the examples through gnuplot (Debian's gnuplot-nox, installed by the bootstrap).
///
/// Each plot is a gnuplot script written beside its data, so a user can edit and re-run it. Plotting is a
/// convenience: when gnuplot is missing or fails, the example prints a warning and still finishes.
#pragma once

#include <nabla/core/io.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace nabla {
namespace examples {

/// Writes columns of numbers (one row per line, whitespace-separated, '#' header) for gnuplot and friends.
inline void write_columns(const std::string& path, const std::string& header,
                          const std::vector<const std::vector<double>*>& columns) {
  std::string out = "# " + header + "\n";
  const std::size_t n = columns.empty() ? 0 : columns.front()->size();
  char buf[32];
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t c = 0; c < columns.size(); ++c) {
      std::snprintf(buf, sizeof buf, "%.9g", (*columns[c])[i]);
      out += (c ? " " : "") + std::string(buf);
    }
    out += '\n';
  }
  io::write_file_atomic(path, out);
}

/// Renders `<dir>/<name>.png` from the gnuplot commands `body` (run in `dir`); writes `<dir>/<name>.gp`.
/// Returns false (after a warning on stderr) if gnuplot is unavailable or fails.
inline bool plot_png(const std::string& dir, const std::string& name, const std::string& body,
                     const std::string& size = "800,600") {
  const std::string script = "set terminal pngcairo size " + size + " enhanced font 'DejaVu Sans,11'\n" +
                             "set output '" + name + ".png'\n" + body + "\nunset output\n";
  io::write_file_atomic(dir + "/" + name + ".gp", script);
  static const bool have_gnuplot = std::system("command -v gnuplot >/dev/null 2>&1") == 0;
  if (!have_gnuplot) {
    std::fprintf(stderr, "warning: gnuplot not found; skipped %s/%s.png (script kept: %s.gp)\n", dir.c_str(),
                 name.c_str(), name.c_str());
    return false;
  }
  const std::string cmd = "cd '" + dir + "' && gnuplot '" + name + ".gp' 2>" + name + ".gp.log";
  if (std::system(cmd.c_str()) != 0) {
    std::fprintf(stderr, "warning: gnuplot failed on %s/%s.gp (see %s.gp.log)\n", dir.c_str(), name.c_str(),
                 name.c_str());
    return false;
  }
  return true;
}

}  // namespace examples
}  // namespace nabla
