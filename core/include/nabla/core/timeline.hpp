/// \file timeline.hpp
/// \brief When each kernel ran, through Kokkos Tools callbacks: did two kernels overlap, and on which instances.
#pragma once

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace nabla {
namespace tools {

/// \brief While alive, records the start and end of every parallel_for/reduce/scan, from any thread.
///
/// It takes Kokkos' callback slots, as a KernelCounter does: only one of the two may be alive at a time. On host
/// backends a kernel's start and end are when it ran; on devices, where launches return at once, when the host
/// launched it and when the launch returned (a device profiler, nsys or rocprof, times the kernels there).
class KernelTimeline {
 public:
  struct Kernel {
    std::string label;
    std::uint32_t device = 0;  ///< Kokkos' device id: the backend, and on devices the instance it ran on
    std::size_t thread = 0;    ///< the host thread that launched it, numbered in order of first launch
    double begin = 0.0;        ///< seconds since the timeline started
    double end = 0.0;
  };

  KernelTimeline();
  ~KernelTimeline();
  KernelTimeline(const KernelTimeline&) = delete;
  KernelTimeline& operator=(const KernelTimeline&) = delete;

  /// The kernels that have ended, in the order they began.
  std::vector<Kernel> kernels() const;

 private:
  friend struct KernelTimelineAccess;
  std::vector<Kernel> m_kernels;  // by kernel id; `end` stays 0 until the kernel ends
  std::vector<std::thread::id> m_threads;  // the launching threads, by number
};

/// Seconds during which both kernels ran.
inline double overlap(const KernelTimeline::Kernel& a, const KernelTimeline::Kernel& b) {
  const double lo = a.begin > b.begin ? a.begin : b.begin, hi = a.end < b.end ? a.end : b.end;
  return hi > lo ? hi - lo : 0.0;
}

}  // namespace tools
}  // namespace nabla
