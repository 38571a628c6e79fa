/// \file driver.hpp
/// \brief What every example driver shares: MPI + Kokkos lifetime, CLI11 parsing with one-line errors and
/// exit code 2, a JSON summary writer.
#pragma once

#include <nabla/core.hpp>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <map>
#include <sstream>
#include <string>

namespace nabla {
namespace examples {

/// Parses options; returns -1 to go on, or the exit code (0 after --help, 2 on a bad option).
inline int parse(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::printf("%s", app.help().c_str());
    return 0;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "%s: error: %s (see --help)\n", app.get_name().c_str(), e.what());
    return 2;
  }
  return -1;
}

/// A flat JSON object of numbers and strings, written atomically.
class Summary {
 public:
  void set(const std::string& key, double v) {
    std::ostringstream os;
    os.precision(17);
    os << v;
    m_fields[key] = os.str();
  }
  void set(const std::string& key, const std::string& v) { m_fields[key] = "\"" + v + "\""; }
  void write(const std::string& path) const {
    std::string out = "{\n";
    std::size_t i = 0;
    for (const auto& [k, v] : m_fields) out += "  \"" + k + "\": " + v + (++i < m_fields.size() ? ",\n" : "\n");
    io::write_file_atomic(path, out + "}\n");
  }

 private:
  std::map<std::string, std::string> m_fields;
};

}  // namespace examples
}  // namespace nabla
