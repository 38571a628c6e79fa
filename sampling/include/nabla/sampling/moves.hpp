/// \file moves.hpp
/// \brief The moves an EnsembleSampler can mix, each with a weight (emcee's `moves=[(move, weight), ...]`); the
/// move of each step is drawn from the weights with the counter-based RNG (seed, step).
#pragma once

#include <nabla/sampling/moves/de.hpp>
#include <nabla/sampling/moves/stretch.hpp>

#include <variant>

namespace nabla {
namespace sampling {

/// One of the moves.
using Move = std::variant<StretchMove, DEMove>;

/// A move and its (positive) weight.
struct WeightedMove {
  Move move = StretchMove{};
  double weight = 1.0;
};

}  // namespace sampling
}  // namespace nabla
