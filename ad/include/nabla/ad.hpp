/// \file ad.hpp
/// \brief Umbrella header of the Nabla ad module: dual numbers, forward-mode derivatives, the reverse-mode
/// tape over arrays and mixed-mode differentiation of fused broadcasts.
#pragma once

#include <nabla/ad/broadcast.hpp>
#include <nabla/ad/dual.hpp>
#include <nabla/ad/forward.hpp>
#include <nabla/ad/ops.hpp>
#include <nabla/ad/softmax.hpp>
#include <nabla/ad/tape.hpp>
#include <nabla/core.hpp>
