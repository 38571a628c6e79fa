/// \file nn.hpp
/// \brief Umbrella header of the nn module: layers, losses, optimizers, data, CSV, training, checkpoints.
#pragma once

#include <nabla/ad.hpp>
#include <nabla/nn/activation.hpp>
#include <nabla/nn/batchnorm.hpp>
#include <nabla/nn/chain.hpp>
#include <nabla/nn/checkpoint.hpp>
#include <nabla/nn/csv.hpp>
#include <nabla/nn/data.hpp>
#include <nabla/nn/dense.hpp>
#include <nabla/nn/distributed.hpp>
#include <nabla/nn/layer.hpp>
#include <nabla/nn/loss.hpp>
#include <nabla/nn/optimizer.hpp>
#include <nabla/nn/softmax.hpp>
#include <nabla/nn/trainer.hpp>
