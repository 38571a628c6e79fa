#include <nabla/core/compat.hpp>
#include <nabla/core/launch.hpp>
#include <nabla/core/runtime.hpp>

#include "partition.hpp"

#include <Kokkos_Core.hpp>

#if defined(KOKKOS_ENABLE_OPENMP)
#include <omp.h>
#endif

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace nabla {

namespace {
bool is_help(const char* a) { return std::strcmp(a, "--help") == 0 || std::strcmp(a, "-h") == 0; }

// Kokkos' OpenMP backend keeps per-thread data for at most 512 threads (3.4 through 4.6) and crashes beyond;
// a malformed count throws from inside Kokkos::initialize. Both end the program here with one line instead.
constexpr unsigned long long max_threads = 512;

// A whole number in decimal, all of `text`: no sign, nothing after it, within unsigned long long.
bool parse_whole(const char* text, unsigned long long& n) {
  errno = 0;
  char* end = nullptr;
  n = std::strtoull(text, &end, 10);
  return *text != '\0' && *text != '-' && *end == '\0' && errno == 0;
}

void check_thread_count(const char* prog, const std::string& what, const char* value) {
  unsigned long long n = 0;
  if (parse_whole(value, n) && n >= 1 && n <= max_threads) return;
  std::fprintf(stderr, "%s: error: %s%s: the number of threads must be a whole number from 1 to %llu\n", prog,
               what.c_str(), value, max_threads);
  std::exit(2);
}

void check_thread_counts(int argc, char** argv) {
  const char* prog = argc > 0 && argv[0] ? argv[0] : "nabla";
  if (const char* slash = std::strrchr(prog, '/')) prog = slash + 1;
  for (const std::string flag : {"--kokkos-num-threads=", "--kokkos-threads="})
    for (int i = 1; i < argc; ++i)
      if (std::strncmp(argv[i], flag.c_str(), flag.size()) == 0) check_thread_count(prog, flag, argv[i] + flag.size());
  if (const char* env = std::getenv("KOKKOS_NUM_THREADS")) check_thread_count(prog, "KOKKOS_NUM_THREADS=", env);
}
}  // namespace

ScopeGuard::ScopeGuard(int& argc, char** argv) {
  check_thread_counts(argc, argv);
  compat::translate_kokkos_args(argc, argv);
  // Kokkos prints its help for --help as well as --kokkos-help: it sees every argument but the program's help.
  std::vector<char*> kokkos_args;
  for (int i = 0; i < argc; ++i)
    if (i == 0 || !is_help(argv[i])) kokkos_args.push_back(argv[i]);
  int kokkos_argc = int(kokkos_args.size());
  kokkos_args.push_back(nullptr);
  // Unset means unbound to the OpenMP runtime (read when it loaded); saying so keeps Kokkos from warning.
  if (!std::getenv("OMP_PROC_BIND")) setenv("OMP_PROC_BIND", "false", 0);
#if KOKKOS_VERSION >= 40000
  // Without a tool library, Kokkos fences every instance around each kernel once a callback is set. Nabla's
  // KernelCounter and KernelTimeline need no fence, and the fence would serialise the concurrent kernels of a
  // task group that the timeline is there to observe; a tool library loaded by the user still decides for itself.
  Kokkos::Tools::Experimental::set_request_tool_settings_callback(
      [](std::uint32_t, Kokkos::Tools::Experimental::ToolSettings* s) { s->requires_global_fencing = false; });
#endif
  Kokkos::initialize(kokkos_argc, kokkos_args.data());
#if KOKKOS_VERSION >= 40000
  Kokkos::Tools::Experimental::set_request_tool_settings_callback(nullptr);
#endif
  // What Kokkos left is the program's, in the original order, with the help flags it did not see.
  const std::set<char*> left(kokkos_args.begin() + 1, kokkos_args.begin() + kokkos_argc);
  int kept = 1;
  for (int i = 1; i < argc; ++i)
    if (is_help(argv[i]) || left.count(argv[i])) argv[kept++] = argv[i];
  for (int i = kept; i < argc; ++i) argv[i] = nullptr;
  argc = kept;
}

ScopeGuard::~ScopeGuard() {
  if (Kokkos::is_initialized()) Kokkos::finalize();
}

namespace impl {
namespace {
thread_local const Kokkos::DefaultExecutionSpace* t_task_instance = nullptr;
thread_local bool t_on_partition = false;
}  // namespace

const Kokkos::DefaultExecutionSpace* task_instance() { return t_task_instance; }

bool on_partition() { return t_on_partition; }

TaskInstance::TaskInstance(const Kokkos::DefaultExecutionSpace& space, bool partition)
    : m_space(t_task_instance), m_partition(t_on_partition) {
  t_task_instance = &space;
  t_on_partition = partition;
}

TaskInstance::TaskInstance(const Kokkos::DefaultExecutionSpace& space) : TaskInstance(space, t_on_partition) {}

TaskInstance::~TaskInstance() {
  t_task_instance = m_space;
  t_on_partition = m_partition;
}
}  // namespace impl

#if defined(KOKKOS_ENABLE_OPENMP)
namespace impl {

namespace {
std::size_t one_thread_below() {
  const char* env = std::getenv("NABLA_ONE_THREAD_BELOW");
  if (!env) return LaunchTraits<Kokkos::OpenMP>::one_thread_below;
  unsigned long long n = 0;
  if (!parse_whole(env, n)) {
    std::fprintf(stderr, "nabla: error: NABLA_ONE_THREAD_BELOW=%s: must be a whole number of elements (0: never)\n",
                 env);
    std::exit(2);
  }
  return std::size_t(n);
}

// Made at the first small launch of each Kokkos session (the pool must exist), released when Kokkos finalizes;
// none when the pool has one thread already.
std::optional<Kokkos::OpenMP> one_thread;
bool decided = false;

}  // namespace

const Kokkos::OpenMP* one_thread_openmp(std::size_t work) {
  static const std::size_t below = one_thread_below();
  if (work >= below || t_on_partition) return nullptr;
  if (!decided) {
    decided = true;
    if (compat::openmp_sized_instances && Kokkos::OpenMP().concurrency() > 1)
      one_thread.emplace(compat::openmp_instance(1));
    Kokkos::push_finalize_hook([] {
      one_thread.reset();
      decided = false;
    });
  }
  return one_thread ? &*one_thread : nullptr;
}

bool openmp_unbound() {
  static const bool unbound = omp_get_proc_bind() == omp_proc_bind_false;
  return unbound;
}

HostBlasThreads::HostBlasThreads(std::size_t work, int threads) {
  if (work < LaunchTraits<Kokkos::OpenMP>::blas_one_thread_below && one_thread_openmp(0)) threads = 1;
  const int had = omp_get_max_threads();
  if (threads < 1 || threads >= had) return;
  omp_set_num_threads(threads);
  m_restore = had;
}

HostBlasThreads::~HostBlasThreads() {
  if (m_restore) omp_set_num_threads(m_restore);
}

}  // namespace impl
#endif

}  // namespace nabla
