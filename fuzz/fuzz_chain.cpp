/// \file fuzz_chain.cpp
/// \brief Fuzz target: the HDF5 chain reader (sampling::HDFBackend, read-only) on arbitrary file bytes, reading
/// everything a resumed sampler reads.
#include "common.hpp"

#include <nabla/sampling/hdf_backend.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = nabla::fuzz::scratch_file(data, size, ".h5");
  nabla::fuzz::expect_clean_error([&] {
    nabla::sampling::HDFBackend b(path, "mcmc", true);
    if (!b.initialized()) return;
    const std::size_t n = b.iteration(), w = b.nwalkers(), d = b.ndim();
    if (b.read_chain(0, n).size() != n * w * d || b.read_log_prob(0, n).size() != n * w) __builtin_trap();
    if (b.accepted().size() != w) __builtin_trap();
    (void)b.seed();
  });
  std::remove(path.c_str());
  return 0;
}
