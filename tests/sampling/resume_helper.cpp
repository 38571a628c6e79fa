// Helper for the kill-and-resume test: samples the 5-D Gaussian into an emcee-layout HDF5 file, resuming if the
// file holds a chain. Usage: nabla_sampling_resume_helper <path> <total steps> <pause at iteration (0: never)>
// [<bytes per extension of the file>]. At the pause iteration (after the step is stored and flushed) it prints "paused <iteration>" and waits to be
// killed.
#include "targets.hpp"

#include <nabla/core/runtime.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) {
    std::cerr << "usage: " << argv[0] << " <path> <total steps> <pause at> [<extension bytes>]\n";
    return 2;
  }
  const std::string path = argv[1];
  const std::size_t total = std::strtoull(argv[2], nullptr, 10), pause_at = std::strtoull(argv[3], nullptr, 10);
  nabla::ScopeGuard runtime(argc, argv);
  try {
    namespace ns = nabla::sampling;
    ns::SamplerOptions opt;
    opt.seed = 2718;
    auto backend = std::make_shared<ns::HDFBackend>(path);
    if (argc == 5) backend->set_extension_bytes(std::strtoull(argv[4], nullptr, 10));
    opt.backend = backend;
    ns::EnsembleSampler s(16, 5, nabla_test::Gaussian5{}, opt);
    const std::size_t start = s.iteration();
    auto progress = [&](std::size_t done, std::size_t) {
      if (pause_at != 0 && start + done == pause_at) {
        std::printf("paused %zu\n", start + done);
        std::fflush(stdout);
        for (;;) pause();
      }
    };
    if (start == 0)
      s.run_mcmc(nabla_test::initial_state(16, 5, 1), total, ns::Progress(progress));
    else if (start < total)
      s.run_mcmc(total - start, ns::Progress(progress));
    std::printf("done %zu\n", s.iteration());
  } catch (const std::exception& e) {
    std::cerr << "resume_helper: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
