// Helper for the kill-and-resume test of training: trains a BatchNorm MLP with Adam on Gaussian blobs,
// printing a line and checkpointing after every epoch, resuming from the checkpoint when it exists, then writes every parameter
// and optimizer state bit pattern to <dump> (atomically).
// Usage: nabla_nn_train_helper <checkpoint> <epochs> <dump>
#include "nn_test_util.hpp"

#include <nabla/core/io.hpp>
#include <nabla/core/runtime.hpp>
#include <nabla/nn.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <sstream>

namespace nn = nabla::nn;

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: " << argv[0] << " <checkpoint> <epochs> <dump>\n";
    return 2;
  }
  const std::string ckpt = argv[1], dump = argv[3];
  const std::size_t epochs = std::strtoull(argv[2], nullptr, 10);
  nabla::ScopeGuard runtime(argc, argv);
  try {
    nn::Chain<float> m(nn::Dense<float>(2, 64, nn::Activation::relu), nn::BatchNorm<float>(64),
                       nn::Dense<float>(64, 32, nn::Activation::tanh), nn::Dense<float>(32, 3), nn::Softmax<float>());
    m.init(nabla::random::key(3));
    nn::Adam<float> opt(1e-2);
    nn::Trainer<float> t(m, opt, nn::Loss::cross_entropy, 17);
    if (std::filesystem::exists(ckpt)) t.resume(ckpt);
    nn::FitOptions o;
    o.epochs = epochs;
    o.batch_size = 16;
    o.checkpoint = ckpt;
    o.verbose = 1;  // a flushed line per epoch on stdout: the test times its kills by them
    t.fit(nn_test::dataset<float>(nn_test::make_blobs(3000, 3, 5)), nullptr, o);
    std::ostringstream os;
    os << "epoch " << t.state().epoch << "\n";
    auto bits_line = [&os](const std::string& label, const nabla::Array<float, 2>& a) {
      auto h = nn_test::host(a);
      os << label;
      for (std::size_t i = 0; i < h.size(); ++i) {
        std::uint32_t bits;
        std::memcpy(&bits, h.data() + i, 4);
        os << ' ' << bits;
      }
      os << '\n';
    };
    for (auto& [name, p] : m.named_parameters()) bits_line(name, p->value);
    for (std::size_t k = 0; k < opt.num_state(); ++k) bits_line("state " + std::to_string(k), opt.state(k / 2, k % 2));
    nabla::io::write_file_atomic(dump, os.str());
  } catch (const std::exception& e) {
    std::cerr << "train_helper: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
