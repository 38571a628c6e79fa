/// \file autocorr.hpp
/// \brief Integrated autocorrelation time, emcee's algorithm (`emcee.autocorr`): the walker-averaged
/// normalised autocorrelation function by FFT, Sokal's automatic window (c = 5), and the "chain too short" check
/// (the chain must be longer than tol = 50 times τ).
#pragma once

#include <nabla/core/array.hpp>

#include <stdexcept>
#include <string>
#include <vector>

namespace nabla {
namespace sampling {

/// \brief Thrown when the chain is shorter than tol·τ (emcee's AutocorrError); `tau` holds the estimate anyway.
class AutocorrError : public std::runtime_error {
 public:
  AutocorrError(std::vector<double> tau, const std::string& what) : std::runtime_error(what), tau(std::move(tau)) {}
  std::vector<double> tau;
};

/// \brief Normalised autocorrelation function of a series (emcee.autocorr.function_1d).
std::vector<double> autocorr_function(const std::vector<double>& x);

/// \brief Integrated autocorrelation time of each parameter of a chain (steps × walkers × dims), as
/// emcee.autocorr.integrated_time. Throws AutocorrError if the chain is too short, unless `quiet` (then it
/// prints emcee's warning to stderr and returns the estimate).
std::vector<double> integrated_time(const Array<double, 3, Kokkos::HostSpace>& chain, double c = 5.0,
                                    double tol = 50.0, bool quiet = false);

}  // namespace sampling
}  // namespace nabla
