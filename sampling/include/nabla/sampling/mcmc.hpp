/// \file mcmc.hpp
/// \brief The MCMC half of the sampling module: emcee's EnsembleSampler, its moves, memory and HDF5 backends and
/// autocorrelation times (headers under nabla/sampling/mcmc/; the launch engine in mcmc/impl/).
#pragma once

#include <nabla/config.hpp>
#include <nabla/sampling/mcmc/autocorr.hpp>
#include <nabla/sampling/mcmc/backend.hpp>
#include <nabla/sampling/mcmc/ensemble_sampler.hpp>
#include <nabla/sampling/mcmc/hdf_backend.hpp>
#include <nabla/sampling/mcmc/moves.hpp>
