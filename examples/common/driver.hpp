/// \file driver.hpp
/// \brief What every example driver shares: option parsing with one-line errors and exit code 2, a JSON
/// summary writer.
#pragma once

#include <nabla/core.hpp>

#include "common/options.hpp"

#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace nabla {
namespace examples {

/// Parses the command line into `o`: -1 to go on, or the exit code (0 after --help, 2 after a one-line error).
template <class Options>
int parse(Options& o, int argc, char** argv) {
  const Parsed r = parse_options(o, std::vector<std::string>(argv + 1, argv + argc));
  if (r.status == Parsed::help) {
    std::printf("%s\n%s\n", r.text.c_str(), kokkos_help_hint);
    return 0;
  }
  if (r.status == Parsed::error) {
    std::fprintf(stderr, "%s: error: %s (see --help)\n", Options::name, r.text.c_str());
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
