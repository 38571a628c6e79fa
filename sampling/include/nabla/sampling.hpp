/// \file sampling.hpp
/// \brief Umbrella header of Nabla's sampling module: BAOAB Langevin ensembles, perturbed ensembles,
/// observables (nabla/sampling/langevin.hpp), and emcee-style ensemble MCMC with memory and HDF5 backends
/// (nabla/sampling/mcmc.hpp).
#pragma once

#include <nabla/ad.hpp>
#include <nabla/config.hpp>
#include <nabla/sampling/langevin.hpp>
#include <nabla/sampling/mcmc.hpp>
