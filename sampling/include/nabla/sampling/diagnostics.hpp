/// \file diagnostics.hpp
/// \brief Convergence diagnostics for any sampler's chains: rank-normalised split R-hat, bulk and tail effective
/// sample sizes and Monte Carlo standard errors (Vehtari, Gelman, Simpson, Carpenter, Bürkner 2021, as Stan computes
/// them), and nested R-hat for many short chains (Margossian et al. 2024).
///
/// One parameter's draws are a (draws × chains) host array: the first two axes of what `get_chain()` returns, so
/// an EnsembleSampler's walkers count as chains. A value that cannot be computed (non-finite or constant draws,
/// fewer than 3 draws per split half for an ESS) is NaN, where Stan says NA; empty input is a ValueError.
#pragma once

#include <nabla/core/array.hpp>

#include <cstddef>
#include <iosfwd>
#include <string>
#include <vector>

namespace nabla {
namespace sampling {

/// Draws of one parameter, draws × chains (each chain contiguous).
using Draws = Array<double, 2, Kokkos::HostSpace>;

/// Rank-normalised split R-hat: the larger of the bulk and the tail (folded) R-hat. Near 1 when chains agree.
double rhat(const Draws& x);
/// Effective sample size of the rank-normalised draws (mean and median).
double ess_bulk(const Draws& x);
/// Effective sample size of the 5% and 95% quantiles, the smaller of the two.
double ess_tail(const Draws& x);
/// Effective sample size of the mean (draws not rank-normalised).
double ess_mean(const Draws& x);
/// Effective sample size of the standard deviation: the smaller of those of x and x².
double ess_sd(const Draws& x);
/// Effective sample size of the quantile `prob`.
double ess_quantile(const Draws& x, double prob);
/// Monte Carlo standard errors of the mean, the standard deviation and the quantile `prob`.
double mcse_mean(const Draws& x);
double mcse_sd(const Draws& x);
double mcse_quantile(const Draws& x, double prob);
/// Quantile of all draws, linear between order statistics (R's and NumPy's default).
double quantile(const Draws& x, double prob);

/// Nested R-hat: chains [k M, (k+1) M) form superchain k (M = chains / superchains), each superchain started from
/// one point. Near 1 when the superchains agree, however short each chain is.
double nested_rhat(const Draws& x, std::size_t superchains);

/// One row of a summary table.
struct Summary {
  double mean, mcse_mean, sd, q05, q50, q95, mcse_sd, rhat, ess_bulk, ess_tail;
};

/// Summary of every parameter of a chain (draws × chains × parameters), as `get_chain()` returns it.
std::vector<Summary> summarize(const Array<double, 3, Kokkos::HostSpace>& chain);

/// Prints `rows` in the layout of Stan's summary; `names` defaults to x[0], x[1], ...
void print_summary(std::ostream& os, const std::vector<Summary>& rows, const std::vector<std::string>& names = {});

}  // namespace sampling
}  // namespace nabla
