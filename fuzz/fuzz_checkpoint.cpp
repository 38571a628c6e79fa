/// \file fuzz_checkpoint.cpp
/// \brief Fuzz target: nn::load_checkpoint on arbitrary file bytes, into a model with BatchNorm and an Adam
/// optimizer (the layout of example 1's classifier), with and without the optimizer state.
#include "common.hpp"

#include <nabla/nn.hpp>

#include <memory>

namespace nn = nabla::nn;

namespace {
struct Setup {
  nn::Chain<float> model = nn::mlp<float>(2, {8}, 3, nn::Activation::tanh, true, true);
  nn::Adam<float> adam{1e-2};
};
Setup* setup = nullptr;  // reachable until exit: libFuzzer never returns, so Kokkos is never finalised
}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  Kokkos::initialize(*argc, *argv);
  setup = new Setup;
  setup->model.init(nabla::random::key(1));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = nabla::fuzz::scratch_file(data, size, ".h5");
  nabla::fuzz::expect_clean_error([&] { nn::load_checkpoint(path, setup->model, &setup->adam); });
  nabla::fuzz::expect_clean_error([&] { nn::load_checkpoint<float>(path, setup->model, nullptr); });
  std::remove(path.c_str());
  return 0;
}
