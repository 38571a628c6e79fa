// The float and double layers, optimizers, data helpers and trainer, compiled once here; the headers declare them
// extern, so a program using them does not compile their kernels again (about 18 s of CPU for a one-file user
// program, perf/compile/all_modules.cpp).
#include <nabla/nn.hpp>

namespace nabla {
namespace nn {

#define NABLA_NN_INSTANTIATE(T)     \
  template class Layer<T>;          \
  template class Dense<T>;          \
  template class BatchNorm<T>;      \
  template class Softmax<T>;        \
  template class Chain<T>;          \
  template class Optimizer<T>;      \
  template class SGD<T>;            \
  template class Adam<T>;           \
  template class AdamW<T>;          \
  template class Standardizer<T>;   \
  template class DataLoader<T>;     \
  template class Trainer<T>;

NABLA_NN_INSTANTIATE(float)
NABLA_NN_INSTANTIATE(double)

}  // namespace nn
}  // namespace nabla
