/// \file langevin.hpp
/// \brief The Langevin half of the sampling module: potentials as functors, BAOAB ensembles in one kernel,
/// perturbed ensembles and their spread, observables (headers under nabla/sampling/langevin/).
#pragma once

#include <nabla/sampling/langevin/baoab.hpp>
#include <nabla/sampling/langevin/ensemble.hpp>
#include <nabla/sampling/langevin/observables.hpp>
#include <nabla/sampling/langevin/potentials.hpp>
