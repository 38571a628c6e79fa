/// \file run_settings.hpp
/// \brief Private (not installed): the one set of rules for run settings, the key=value text a resumed run must
/// share with the run that wrote its file (nn's checkpoints: nn::RunSettings; sampling's chains:
/// sampling::Settings). Compiled into nabla_core; nn/src and sampling/src include it from core's sources.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace nabla {
namespace settings_impl {

using Map = std::map<std::string, std::string>;

/// Keys name HDF5 attributes and are listed in indexes (comma- or newline-separated): a word of [A-Za-z0-9_.-].
bool valid_key(const std::string& key);

/// Throws ValueError unless every key is a valid_key and no value holds a newline or NUL (a value is one line of
/// an index, and an HDF5 string attribute ends at NUL): "<who>: <whose> run setting key 'a b' is not a word of
/// [A-Za-z0-9_.-]", "<who>: <whose> run setting 'k' holds a newline or NUL".
void validate(const Map& settings, const std::string& who, const std::string& whose = "the");

/// "k = a, j (unset)": `keys` as `s` sets them, in the order given.
std::string describe(const std::vector<std::string>& keys, const Map& s);

/// Empty when `written` and `run` are equal; else "<who> was written with k = a, j (unset); this run has k = b,
/// j = c (<advice>)", listing every key whose value differs or that one side only sets, in key order.
std::string mismatch(const std::string& who, const Map& written, const Map& run, const std::string& advice);

/// FNV-1a (64 bit) over "key=value\n" for every setting in key order: equal settings hash alike on every rank.
std::uint64_t hash(const Map& settings);

}  // namespace settings_impl
}  // namespace nabla
