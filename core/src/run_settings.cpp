/// \file run_settings.cpp
/// \brief Run settings: validation, the mismatch message and the hash (see run_settings.hpp).
#include "run_settings.hpp"

#include <nabla/core/error.hpp>

#include <algorithm>
#include <cctype>

namespace nabla {
namespace settings_impl {

bool valid_key(const std::string& key) {
  return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
}

void validate(const Map& settings, const std::string& who, const std::string& whose) {
  for (const auto& [key, value] : settings) {
    if (!valid_key(key))
      throw ValueError(impl::cat(who, ": ", whose, " run setting key '", key, "' is not a word of [A-Za-z0-9_.-]"));
    if (value.find_first_of(std::string("\n\0", 2)) != std::string::npos)
      throw ValueError(impl::cat(who, ": ", whose, " run setting '", key, "' holds a newline or NUL"));
  }
}

std::string describe(const std::vector<std::string>& keys, const Map& s) {
  std::string out;
  for (const auto& k : keys) {
    const auto it = s.find(k);
    out += (out.empty() ? "" : ", ") + k + (it == s.end() ? " (unset)" : " = " + it->second);
  }
  return out;
}

std::string mismatch(const std::string& who, const Map& written, const Map& run, const std::string& advice) {
  std::vector<std::string> differ;  // the union of both key sets, in key order, where the sides differ
  for (const auto& [k, v] : written) {
    const auto it = run.find(k);
    if (it == run.end() || it->second != v) differ.push_back(k);
  }
  for (const auto& kv : run)
    if (!written.count(kv.first)) differ.push_back(kv.first);
  if (differ.empty()) return {};
  std::sort(differ.begin(), differ.end());
  return impl::cat(who, " was written with ", describe(differ, written), "; this run has ", describe(differ, run),
                   " (", advice, ")");
}

std::uint64_t hash(const Map& settings) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  const auto add = [&](const std::string& s, char end) {
    for (const char c : s) h = (h ^ std::uint8_t(c)) * 0x100000001b3ull;
    h = (h ^ std::uint8_t(end)) * 0x100000001b3ull;
  };
  for (const auto& [key, value] : settings) {
    add(key, '=');
    add(value, '\n');
  }
  return h;
}

}  // namespace settings_impl
}  // namespace nabla
