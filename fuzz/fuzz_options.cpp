/// \file fuzz_options.cpp
/// \brief Fuzz target: the example drivers' command lines (the same parse_options the drivers call).
/// The first byte picks the driver; the rest, split at NUL bytes, is argv without the program name.
#include <common/options.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace ex = nabla::examples;

template <class Options>
ex::Parsed parse(Options& o, const std::vector<std::string>& args) {
  const ex::Parsed r = ex::parse_options(o, args);
  if (r.status == ex::Parsed::error && r.text.empty()) __builtin_trap();  // every error says what is wrong
  return r;
}

template <class Options>
void parse(const std::vector<std::string>& args) {
  Options o;
  parse(o, args);
}

// An accepted --tosses is the decimal reading of its last occurrence (no octal, hex, exponent or clamping).
void check_tosses(const std::vector<std::string>& args) {
  ex::CoinTossOptions o;
  if (parse(o, args).status != ex::Parsed::run) return;
  for (std::size_t i = args.size(); i-- > 1;) {
    if (args[i - 1] != "--tosses" && args[i - 1] != "-n") continue;
    const std::string& v = args[i];
    const bool decimal = !v.empty() && v.find_first_not_of("0123456789") == std::string::npos && v[0] != '0';
    const bool other_base = v.find_first_of("xXeE") != std::string::npos || (v.size() > 1 && v[0] == '0');
    if (decimal ? std::to_string(o.tosses) != v : other_base) __builtin_trap();
    return;
  }
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  std::vector<std::string> args(1);
  for (std::size_t i = 1; i < size; ++i) {
    if (data[i] == 0)
      args.emplace_back();
    else
      args.back() += char(data[i]);
  }
  switch (data[0] % 5) {
    case 0: parse<ex::DoubleWellOptions>(args); break;
    case 1: check_tosses(args); break;
    case 2: parse<ex::McmcFitOptions>(args); break;
    case 3: parse<ex::BroadcastTourOptions>(args); break;
    default: parse<ex::TrainCsvOptions>(args); break;
  }
  return 0;
}
