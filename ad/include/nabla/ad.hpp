/// \file ad.hpp
/// \brief Umbrella header of the Nabla ad module.
#pragma once

#include <nabla/core.hpp>
