/// \file sampling.hpp
/// \brief Umbrella header of Nabla's sampling module: BAOAB Langevin ensembles, perturbed ensembles,
/// observables (nabla/sampling/langevin.hpp), emcee-style ensemble MCMC with memory and HDF5 backends
/// (nabla/sampling/mcmc.hpp), Hamiltonian Monte Carlo over many chains (nabla/sampling/hmc.hpp) and Stan's
/// convergence diagnostics (nabla/sampling/diagnostics.hpp).
#pragma once

#include <nabla/ad.hpp>
#include <nabla/config.hpp>
#include <nabla/sampling/diagnostics.hpp>
#include <nabla/sampling/hmc.hpp>
#include <nabla/sampling/langevin.hpp>
#include <nabla/sampling/mcmc.hpp>
