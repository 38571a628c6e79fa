#include <nabla/core/timeline.hpp>
#include <nabla/core/tools.hpp>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace nabla {
namespace tools {

namespace {
// The active counter or timeline, and everything they record: callbacks come from every thread that launches (a
// task group's partitions), and may still run while another thread ends the recording.
std::mutex g_mutex;
KernelCounter* g_active = nullptr;
KernelTimeline* g_timeline = nullptr;
std::chrono::steady_clock::time_point g_start;

// Under g_mutex.
void claim_slots(const char* who) {
  if (g_active || g_timeline)
    throw std::logic_error(std::string("nabla::tools::") + who +
                           ": a KernelCounter or KernelTimeline is already active (Kokkos has one callback slot)");
}

using Begin = void (*)(const char*, std::uint32_t, std::uint64_t*);
using End = void (*)(std::uint64_t);

// Kokkos' callbacks at the start of a parallel_for, reduce and scan, and at the end of any (nullptr: none).
void set_callbacks(Begin on_for, Begin on_reduce, Begin on_scan, End on_end) {
  namespace KTE = Kokkos::Tools::Experimental;
  KTE::set_begin_parallel_for_callback(on_for);
  KTE::set_begin_parallel_reduce_callback(on_reduce);
  KTE::set_begin_parallel_scan_callback(on_scan);
  KTE::set_end_parallel_for_callback(on_end);
  KTE::set_end_parallel_reduce_callback(on_end);
  KTE::set_end_parallel_scan_callback(on_end);
}
}  // namespace

struct KernelCounterAccess {
  static void record(const char* name, std::size_t KernelCounter::*which) {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (!g_active) return;
    g_active->m_labels.emplace_back(name);
    ++(g_active->*which);
  }
  static void on_for(const char* name, std::uint32_t, std::uint64_t*) { record(name, &KernelCounter::m_fors); }
  static void on_reduce(const char* name, std::uint32_t, std::uint64_t*) { record(name, &KernelCounter::m_reduces); }
  static void on_scan(const char* name, std::uint32_t, std::uint64_t*) { record(name, &KernelCounter::m_scans); }
};

KernelCounter::KernelCounter() {
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    claim_slots("KernelCounter");
    g_active = this;
  }
  set_callbacks(&KernelCounterAccess::on_for, &KernelCounterAccess::on_reduce, &KernelCounterAccess::on_scan, nullptr);
}

KernelCounter::~KernelCounter() {
  set_callbacks(nullptr, nullptr, nullptr, nullptr);
  std::lock_guard<std::mutex> lock(g_mutex);
  g_active = nullptr;
}

void KernelCounter::reset() {
  std::lock_guard<std::mutex> lock(g_mutex);
  m_labels.clear();
  m_fors = m_reduces = m_scans = 0;
}

struct KernelTimelineAccess {
  static double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now() - g_start).count(); }
  static void begin(const char* name, std::uint32_t device, std::uint64_t* id) {
    const std::thread::id self = std::this_thread::get_id();
    std::lock_guard<std::mutex> lock(g_mutex);
    if (!g_timeline) return;
    auto& threads = g_timeline->m_threads;
    const std::size_t thread = std::size_t(std::find(threads.begin(), threads.end(), self) - threads.begin());
    if (thread == threads.size()) threads.push_back(self);
    *id = g_timeline->m_kernels.size();
    g_timeline->m_kernels.push_back({name, device, thread, now(), 0.0});
  }
  static void end(std::uint64_t id) {
    const double t = now();
    std::lock_guard<std::mutex> lock(g_mutex);
    if (g_timeline && id < g_timeline->m_kernels.size()) g_timeline->m_kernels[id].end = t;
  }
};

KernelTimeline::KernelTimeline() {
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    claim_slots("KernelTimeline");
    g_timeline = this;
    g_start = std::chrono::steady_clock::now();
  }
  const Begin begin = &KernelTimelineAccess::begin;
  set_callbacks(begin, begin, begin, &KernelTimelineAccess::end);
}

KernelTimeline::~KernelTimeline() {
  set_callbacks(nullptr, nullptr, nullptr, nullptr);
  std::lock_guard<std::mutex> lock(g_mutex);
  g_timeline = nullptr;
}

std::vector<KernelTimeline::Kernel> KernelTimeline::kernels() const {
  std::vector<Kernel> done;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    for (const Kernel& k : m_kernels)
      if (k.end > 0.0) done.push_back(k);
  }
  std::stable_sort(done.begin(), done.end(), [](const Kernel& a, const Kernel& b) { return a.begin < b.begin; });
  return done;
}

}  // namespace tools
}  // namespace nabla
