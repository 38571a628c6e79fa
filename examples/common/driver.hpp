/// \file driver.hpp
/// \brief What every example driver shares: option parsing with one-line errors and exit code 2, a JSON
/// summary writer.
#pragma once

#include <nabla/core.hpp>

#include "common/options.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace nabla {
namespace examples {

/// Under MPI (when initialised, more than one rank): every rank gets the same verdict, the strictest of all
/// ranks' (an error anywhere ends every rank with 2, before any other collective can hang), and ranks given a
/// command line other than rank 0's end with 2, each such rank naming both lines.
inline int agree_across_ranks(const char* name, const std::vector<std::string>& args, int rc) {
#if NABLA_ENABLE_MPI
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (!initialized || finalized) return rc;
  mpi::Comm comm;
  if (comm.size() == 1) return rc;
  std::string line;
  for (const auto& a : args) line += (line.empty() ? "" : " ") + a;
  unsigned long long length = comm.broadcast((unsigned long long)line.size());
  std::string root(length, '\0');
  if (comm.is_root()) root = line;
  MPI_Bcast(root.data(), int(length), MPI_CHAR, 0, comm.get());
  const int differs = root != line;
  if (differs)
    std::fprintf(stderr, "%s: error: rank %d was given other options than rank 0 ('%s', rank 0: '%s'); every rank "
                 "needs the same command line\n", name, comm.rank(), line.c_str(), root.c_str());
  if (comm.allreduce(differs, mpi::Op::max)) return 2;
  return comm.allreduce(rc, mpi::Op::max);  // -1 go on < 0 help < 2 error
#else
  (void)name, (void)args;
  return rc;
#endif
}

/// "rank R of S; " under MPI with more than one rank, else empty: which rank's file system or options failed.
inline std::string rank_prefix() {
#if NABLA_ENABLE_MPI
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) {
    const mpi::Comm comm;
    if (comm.size() > 1) return "rank " + std::to_string(comm.rank()) + " of " + std::to_string(comm.size()) + "; ";
  }
#endif
  return {};
}

/// Parses the command line into `o`: -1 to go on, or the exit code (0 after --help, 2 after a one-line error).
template <class Options>
int parse(Options& o, int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  const Parsed r = parse_options(o, args);
  int rc = -1;
  if (r.status == Parsed::help) {
    std::printf("%s\n%s\n", r.text.c_str(), kokkos_help_hint);
    rc = 0;
  } else if (r.status == Parsed::error) {
    std::fprintf(stderr, "%s: error: %s (%ssee --help)\n", Options::name, r.text.c_str(), rank_prefix().c_str());
    rc = 2;
  }
  return agree_across_ranks(Options::name, args, rc);
}

/// The shortest decimal text that reads back as `v` (15 to 17 digits): the same double, the same text, as run
/// settings compared on resume need.
inline std::string exact(double v) {
  char b[32];
  for (int digits = 15; digits <= 17; ++digits)
    if (std::snprintf(b, sizeof b, "%.*g", digits, v); std::strtod(b, nullptr) == v) break;
  return b;
}

/// FNV-1a over the bytes of a host array, as 16 hex digits: equal checksums, equal bits (how the distributed
/// examples show that their results do not depend on the rank count).
template <class A>
std::string bits_checksum(const A& a) {
  std::uint64_t h = 1469598103934665603ull;
  const auto* p = reinterpret_cast<const unsigned char*>(a.data());
  for (std::size_t i = 0; i < a.size() * sizeof(*a.data()); ++i) h = (h ^ p[i]) * 1099511628211ull;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

/// A flat JSON object of numbers and strings, written atomically by nlohmann/json: strings escaped, and NaN or
/// infinite numbers written as null (JSON has neither), so every file parses with any JSON reader.
class Summary {
 public:
  void set(const std::string& key, double v) {
    if (std::isfinite(v) && v == std::floor(v) && std::abs(v) < 9007199254740992.0)
      m_json[key] = std::int64_t(v);  // counts read as integers
    else
      m_json[key] = v;
  }
  void set(const std::string& key, const std::string& v) { m_json[key] = v; }
  void write(const std::string& path) const { io::write_file_atomic(path, m_json.dump(2) + "\n"); }

 private:
  nlohmann::json m_json = nlohmann::json::object();
};

}  // namespace examples
}  // namespace nabla
