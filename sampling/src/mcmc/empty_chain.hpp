/// \file empty_chain.hpp
/// \brief Private: the rule both backends keep for what describes a chain from its first step.
#pragma once

#include <nabla/core/error.hpp>

#include <cstddef>
#include <string>

namespace nabla {
namespace sampling {
namespace impl {

/// Run settings and the sampler's state describe a chain from its first step, so a backend takes new ones only
/// while its chain is empty: throws ValueError naming the call (`who`), the chain and its steps otherwise.
inline void require_empty_chain(std::size_t steps, const char* who, const std::string& chain, const char* what) {
  if (steps > 0)
    throw ValueError(nabla::impl::cat(who, ": ", chain, " holds ", steps, " steps; set the ", what,
                                      " while the chain is empty"));
}

}  // namespace impl
}  // namespace sampling
}  // namespace nabla
