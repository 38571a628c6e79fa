/// \file tools.hpp
/// \brief Kernel accounting through Kokkos Tools callbacks: how many kernels did a call launch, and which.
///
/// Used by the tests (every fused assign is ONE kernel) and by the broadcast tour example.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace nabla {
namespace tools {

/// \brief While alive, records the label of every parallel_for/reduce/scan Kokkos launches.
///
/// Only one counter may be active at a time (Kokkos has one callback slot per event); a second throws.
class KernelCounter {
 public:
  KernelCounter();
  ~KernelCounter();
  KernelCounter(const KernelCounter&) = delete;
  KernelCounter& operator=(const KernelCounter&) = delete;

  std::size_t count() const { return m_labels.size(); }
  std::size_t fors() const { return m_fors; }
  std::size_t reduces() const { return m_reduces; }
  std::size_t scans() const { return m_scans; }
  const std::vector<std::string>& labels() const { return m_labels; }
  void reset();

 private:
  friend struct KernelCounterAccess;
  std::vector<std::string> m_labels;
  std::size_t m_fors = 0, m_reduces = 0, m_scans = 0;
};

}  // namespace tools
}  // namespace nabla
