/// \file sampling.hpp
/// \brief Umbrella header of Nabla's sampling module: BAOAB Langevin ensembles, perturbed ensembles,
/// observables, and emcee-style ensemble MCMC with memory and HDF5 backends.
#pragma once

#include <nabla/ad.hpp>
#include <nabla/config.hpp>
#include <nabla/sampling/autocorr.hpp>
#include <nabla/sampling/backend.hpp>
#include <nabla/sampling/ensemble.hpp>
#include <nabla/sampling/ensemble_sampler.hpp>
#include <nabla/sampling/hdf_backend.hpp>
#include <nabla/sampling/langevin.hpp>
#include <nabla/sampling/moves.hpp>
#include <nabla/sampling/observables.hpp>
#include <nabla/sampling/potentials.hpp>
#include <nabla/sampling/rng.hpp>
