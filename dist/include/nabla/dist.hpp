/// \file dist.hpp
/// \brief Umbrella header of Nabla's dist module (arrays distributed over MPI ranks), with core's.
#pragma once

#include <nabla/config.hpp>
#include <nabla/core.hpp>
#include <nabla/dist/ad.hpp>
#include <nabla/dist/array.hpp>
#include <nabla/dist/create.hpp>
#include <nabla/dist/expr.hpp>
#include <nabla/dist/grid.hpp>
#include <nabla/dist/halo.hpp>
#include <nabla/dist/matmul.hpp>
#include <nabla/dist/redistribute.hpp>
#include <nabla/dist/reduce.hpp>
