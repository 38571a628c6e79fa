#include <nabla/core/tools.hpp>

#include <Kokkos_Core.hpp>

#include <cstdint>
#include <stdexcept>

namespace nabla {
namespace tools {

namespace {
KernelCounter* g_active = nullptr;
}

struct KernelCounterAccess {
  static void record(const char* name, std::size_t KernelCounter::*which) {
    if (!g_active) return;
    g_active->m_labels.emplace_back(name);
    ++(g_active->*which);
  }
  static void on_for(const char* name, std::uint32_t, std::uint64_t*) { record(name, &KernelCounter::m_fors); }
  static void on_reduce(const char* name, std::uint32_t, std::uint64_t*) { record(name, &KernelCounter::m_reduces); }
  static void on_scan(const char* name, std::uint32_t, std::uint64_t*) { record(name, &KernelCounter::m_scans); }
};

KernelCounter::KernelCounter() {
  if (g_active) throw std::logic_error("nabla::tools::KernelCounter: another counter is already active");
  g_active = this;
  namespace KTE = Kokkos::Tools::Experimental;
  KTE::set_begin_parallel_for_callback(&KernelCounterAccess::on_for);
  KTE::set_begin_parallel_reduce_callback(&KernelCounterAccess::on_reduce);
  KTE::set_begin_parallel_scan_callback(&KernelCounterAccess::on_scan);
}

KernelCounter::~KernelCounter() {
  namespace KTE = Kokkos::Tools::Experimental;
  KTE::set_begin_parallel_for_callback(nullptr);
  KTE::set_begin_parallel_reduce_callback(nullptr);
  KTE::set_begin_parallel_scan_callback(nullptr);
  g_active = nullptr;
}

void KernelCounter::reset() {
  m_labels.clear();
  m_fors = m_reduces = m_scans = 0;
}

}  // namespace tools
}  // namespace nabla
