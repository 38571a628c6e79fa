/// \file nn.hpp
/// \brief Umbrella header of the Nabla nn module.
#pragma once

#include <nabla/ad.hpp>
