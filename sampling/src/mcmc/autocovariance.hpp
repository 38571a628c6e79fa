/// \file autocovariance.hpp
/// \brief The FFT autocovariance autocorr.cpp computes, shared with the convergence diagnostics.
#pragma once

#include <vector>

namespace nabla {
namespace sampling {
namespace impl {

/// Autocovariance of a series at lags 0..n-1, divided by n (Geyer 1992's biased estimate, as Stan's).
std::vector<double> autocovariance(const std::vector<double>& x);

}  // namespace impl
}  // namespace sampling
}  // namespace nabla
