/// \file core.hpp
/// \brief Umbrella header of Nabla's core: arrays, fused broadcast expressions, reductions, RNG, BLAS.
#pragma once

#include <nabla/config.hpp>
#include <nabla/core/array.hpp>
#include <nabla/core/assign.hpp>
#include <nabla/core/blas.hpp>
#include <nabla/core/compat.hpp>
#include <nabla/core/create.hpp>
#include <nabla/core/error.hpp>
#include <nabla/core/expr.hpp>
#include <nabla/core/io.hpp>
#include <nabla/core/launch.hpp>
#include <nabla/core/mpi.hpp>
#include <nabla/core/operators.hpp>
#include <nabla/core/progress.hpp>
#include <nabla/core/random.hpp>
#include <nabla/core/reduce.hpp>
#include <nabla/core/runtime.hpp>
#include <nabla/core/shape.hpp>
#include <nabla/core/tools.hpp>
