/// \file sampling.hpp
/// \brief Umbrella header of the Nabla sampling module.
#pragma once

#include <nabla/ad.hpp>
