// dist benchmarks, run under `mpirun -np 2` with one thread per rank (perf/check.py --mpi-exe):
// - BM_DistFused8/P: the fused 8-op broadcast of fusion_benchmark.cpp on P = 1 or 2 ranks, each rank holding
//   the same local size (weak scaling; the local arrays fit each core's L2, so the ranks do not share memory
//   bandwidth). No message may be sent: time(1 rank) / time(2 ranks) stays near 1.
// - BM_DistFusedSum vs BM_LocalFusedSum: sum of that expression over 2 ranks (one collective) vs each rank's
//   local fused reduction of the same size, both ranks busy in both.
// - BM_Summa vs BM_Gemm: SUMMA on 2 ranks vs rank 0's Kokkos Kernels gemm of the whole product.
// - BM_Mpi4pyFusedSum: BM_DistFusedSum written with mpi4py + NumPy (fused_mpi4py.py, Debian's python3-mpi4py),
//   launched by rank 0 while rank 1 sleeps.
// - BM_Stencil/1 vs /0: a 5-point heat step with its halo exchange overlapped (stencil_step) vs the same
//   kernels without exchange, 2048^2 per rank; vs BM_DistTriad (bandwidth), BM_StencilHandwritten (MPI + Kokkos
//   by hand) and BM_Mpi4pyStencil (mpi4py + NumPy slicing, stencil_mpi4py.py).
// Every rank runs every benchmark with fixed iterations and reports the slowest rank's time, so Google
// Benchmark takes the same decisions on every rank; only rank 0 reports.
#include <nabla/core.hpp>
#include <nabla/dist.hpp>

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

namespace d = nabla::dist;
#define NABLA_FUSED8(a, b, c, d) ((a + b) * (c - d) + (a * c - b * d) * a)
constexpr std::size_t kCacheLocal = std::size_t(1) << 15;  // 5 arrays x 256 KiB: within a core's L2
constexpr std::size_t kMemoryLocal = std::size_t(1) << 20;  // 4 inputs x 8 MiB: from memory

nabla::mpi::Comm world() { return nabla::mpi::Comm(); }

/// Times `body` on every rank; the iteration's time is the slowest rank's.
template <class Body>
void time_ranks(benchmark::State& state, Body&& body) {
  const auto comm = world();
  body();
  Kokkos::fence();
  for (auto _ : state) {
    comm.barrier();
    Kokkos::Timer timer;
    body();
    Kokkos::fence();
    state.SetIterationTime(comm.allreduce(timer.seconds(), nabla::mpi::Op::max));
  }
}

/// A grid over the first `ranks` ranks of the world (an empty grid on the others).
d::Grid first_ranks(int ranks) {
  const auto comm = world();
  MPI_Comm sub = MPI_COMM_NULL;
  MPI_Comm_split(comm.get(), comm.rank() < ranks ? 0 : MPI_UNDEFINED, comm.rank(), &sub);
  if (sub == MPI_COMM_NULL) return {};
  d::Grid g(nabla::mpi::Comm(sub), {0});
  MPI_Comm_free(&sub);  // the grid holds its own communicators
  return g;
}

struct DistInputs {
  d::Array<double, 1> a, b, c, e, out;
  explicit DistInputs(const d::Grid& g, std::size_t local) {
    const d::Partition<1> p(g, {local * std::size_t(g.size())}, {0});
    a = d::random::uniform<double, 1>(nabla::random::key(1), p);
    b = d::random::uniform<double, 1>(nabla::random::key(2), p);
    c = d::random::uniform<double, 1>(nabla::random::key(3), p);
    e = d::random::uniform<double, 1>(nabla::random::key(4), p);
    out = d::Array<double, 1>(p);
  }
};

void BM_DistFused8(benchmark::State& state) {
  const int ranks = int(state.range(0));
  const d::Grid g = first_ranks(ranks);
  constexpr int kCalls = 20;  // per iteration: rank skew at the barrier stays small beside the work
  std::unique_ptr<DistInputs> in;
  if (g.valid()) in = std::make_unique<DistInputs>(g, kCacheLocal);
  time_ranks(state, [&] {
    if (!in) return;
    for (int i = 0; i < kCalls; ++i) d::assign(in->out, NABLA_FUSED8(in->a, in->b, in->c, in->e));
  });
  state.SetBytesProcessed(state.iterations() * kCalls * std::int64_t(5 * kCacheLocal * sizeof(double)));
}

double fused_sum_sink = 0;

void BM_DistFusedSum(benchmark::State& state) {
  const DistInputs in(d::Grid(world()), kMemoryLocal);
  time_ranks(state, [&] { fused_sum_sink += d::sum(NABLA_FUSED8(in.a, in.b, in.c, in.e)); });
  state.SetBytesProcessed(state.iterations() * std::int64_t(4 * kMemoryLocal * sizeof(double)));
}

void BM_LocalFusedSum(benchmark::State& state) {
  const DistInputs in(d::Grid(world()), kMemoryLocal);
  const auto &a = in.a.local(), &b = in.b.local(), &c = in.c.local(), &e = in.e.local();
  time_ranks(state, [&] { fused_sum_sink += nabla::sum(NABLA_FUSED8(a, b, c, e)); });
  state.SetBytesProcessed(state.iterations() * std::int64_t(4 * kMemoryLocal * sizeof(double)));
}

constexpr std::size_t kGemmN = 384;

void BM_Summa(benchmark::State& state) {
  const d::Grid g(world(), {0, 0});
  const d::Partition<2> p(g, {kGemmN, kGemmN}, {0, 1});
  const auto a = d::random::uniform<double, 2>(nabla::random::key(1), p);
  const auto b = d::random::uniform<double, 2>(nabla::random::key(2), p);
  time_ranks(state, [&] { benchmark::DoNotOptimize(d::matmul(a, b).local().data()); });
  state.SetItemsProcessed(state.iterations() * std::int64_t(2 * kGemmN * kGemmN * kGemmN));
}

void BM_Gemm(benchmark::State& state) {
  const bool mine = world().rank() == 0;
  const std::size_t n = mine ? kGemmN : 0;
  const auto a = nabla::random::uniform<double, 2>(nabla::random::key(1), {n, n});
  const auto b = nabla::random::uniform<double, 2>(nabla::random::key(2), {n, n});
  nabla::Array<double, 2> c({n, n});
  time_ranks(state, [&] {
    if (mine) nabla::gemm('N', 'N', 1.0, a, b, 0.0, c);
  });
  state.SetItemsProcessed(state.iterations() * std::int64_t(2 * kGemmN * kGemmN * kGemmN));
}

/// Rank 0 runs `mpirun -np <ranks> python3 <script> <size> <calls>` (without this job's MPI environment, so it is a
/// job of its own) while the other ranks sleep; every rank returns its seconds per call, or < 0.
double run_peer(const std::string& script, int ranks, std::size_t size, int calls, std::string& why) {
  const auto comm = world();
  double seconds = -1;
  MPI_Request req;
  if (comm.rank() == 0) {
    std::string cmd = "env";
    for (char** e = environ; *e; ++e) {
      const std::string var(*e, std::strcspn(*e, "="));
      for (const char* prefix : {"OMPI_", "PMIX_", "OPAL_", "ORTE_", "HWLOC_"})
        if (var.rfind(prefix, 0) == 0 && var.rfind("OMPI_ALLOW_RUN_AS_ROOT", 0) != 0) cmd += " -u " + var;
    }
    cmd += std::string(" ") + NABLA_MPIEXEC + " -np " + std::to_string(ranks) + " --oversubscribe /usr/bin/python3 " +
           NABLA_DIST_PEERS "/" + script + " " + std::to_string(size) + " " + std::to_string(calls) + " 2>&1";
    std::string out;
    if (FILE* p = popen(cmd.c_str(), "r")) {
      char buf[512];
      while (std::fgets(buf, sizeof buf, p)) out += buf;
      const int rc = pclose(p);
      char* end = nullptr;
      const double t = std::strtod(out.c_str(), &end);
      if (rc == 0 && end != out.c_str()) seconds = t;
      else why = "mpi4py peer unavailable: " + out.substr(0, 300);
    } else {
      why = "cannot start " NABLA_MPIEXEC;
    }
    MPI_Ibarrier(comm.get(), &req);
    MPI_Wait(&req, MPI_STATUS_IGNORE);
  } else {
    MPI_Ibarrier(comm.get(), &req);  // sleep, not spin: the peer's ranks need these cores
    for (int done = 0; !done;) {
      MPI_Test(&req, &done, MPI_STATUS_IGNORE);
      if (!done) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  return comm.broadcast(seconds);
}

/// A peer's seconds per call as the iteration time, `bytes` per call; skipped with its error when it cannot run.
void time_peer(benchmark::State& state, const char* script, std::size_t size, int calls, std::int64_t bytes) {
  for (auto _ : state) {
    std::string why;
    const double t = run_peer(script, world().size(), size, calls, why);
    if (t < 0) {
      state.SkipWithError(why.empty() ? "mpi4py peer failed" : why.c_str());
      return;
    }
    state.SetIterationTime(t);
  }
  state.SetBytesProcessed(state.iterations() * bytes);
}

void BM_Mpi4pyFusedSum(benchmark::State& state) {
  time_peer(state, "fused_mpi4py.py", kMemoryLocal, 20, std::int64_t(4 * kMemoryLocal * sizeof(double)));
}

// ----------------------------------------------------------------------------------------------- stencils
// A 5-point heat step on a periodic (N, N x P) grid split by columns, N x N per rank (from memory).
constexpr std::size_t kStencilN = 2048;
constexpr double kHeat = 0.1;

struct Heat {
  d::Grid grid{world()};
  d::Partition<2> part{grid, {kStencilN, kStencilN * std::size_t(grid.size())}, {d::replicated, 0}};
  d::HaloOptions opt{1, d::Stencil::star, d::Boundary::periodic, 0};
  d::Field<double, 2> u{d::random::uniform<double, 2>(nabla::random::key(1), part), opt}, v{part, opt};
};
#define NABLA_HEAT(u) \
  (u + kHeat * (d::shift(u, {1, 0}) + d::shift(u, {-1, 0}) + d::shift(u, {0, 1}) + d::shift(u, {0, -1}) - 4.0 * u))

// range(0) = 1: stencil_step (halo exchange overlapped with the interior); 0: the same kernels, no exchange.
void BM_Stencil(benchmark::State& state) {
  Heat h;
  const bool exchange = state.range(0) == 1;
  time_ranks(state, [&] {
    if (exchange) d::stencil_step(h.v, h.u, NABLA_HEAT(h.u));
    else d::assign(h.v, NABLA_HEAT(h.u));
    std::swap(h.u, h.v);
  });
  state.SetBytesProcessed(state.iterations() * std::int64_t(2 * kStencilN * kStencilN * sizeof(double)));
}

// STREAM triad over arrays of the stencil's local size, both ranks at once: the bandwidth reference.
void BM_DistTriad(benchmark::State& state) {
  const std::size_t n = kStencilN * kStencilN;
  nabla::Array<double, 1> a({n}), b({n}), c({n});
  nabla::assign(b, 1.0);
  nabla::assign(c, 2.0);
  time_ranks(state, [&] { nabla::assign(a, b + 3.0 * c); });
  state.SetBytesProcessed(state.iterations() * std::int64_t(3 * n * sizeof(double)));
}

// The same step written by hand: padded Kokkos Views, ghost columns by MPI_Sendrecv straight from the View
// (columns are contiguous), ghost rows by a copy kernel, then one 5-point kernel over the block.
struct HandStep {
  using View = Kokkos::View<double**, Kokkos::LayoutLeft>;
  View u, v;
  double c;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t j0) const {
    const std::size_t j = j0 + 1, n = u.extent(0) - 2;
    for (std::size_t i = 1; i <= n; ++i)
      v(i, j) = u(i, j) + c * (u(i + 1, j) + u(i - 1, j) + u(i, j + 1) + u(i, j - 1) - 4.0 * u(i, j));
  }
};
struct HandRows {
  Kokkos::View<double**, Kokkos::LayoutLeft> u;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t j) const {
    const std::size_t n = u.extent(0) - 2;
    u(0, j) = u(n, j);
    u(n + 1, j) = u(1, j);
  }
};

void BM_StencilHandwritten(benchmark::State& state) {
  const auto comm = world();
  const int left = (comm.rank() + comm.size() - 1) % comm.size(), right = (comm.rank() + 1) % comm.size();
  const std::size_t n = kStencilN;
  HandStep::View u("nabla::perf::hand_u", n + 2, n + 2), v("nabla::perf::hand_v", n + 2, n + 2);
  Kokkos::deep_copy(u, 0.5);
  using Policy = Kokkos::RangePolicy<Kokkos::DefaultExecutionSpace, Kokkos::IndexType<std::size_t>>;
  const std::size_t m = n + 2;
  time_ranks(state, [&] {
    auto hu = Kokkos::create_mirror_view(Kokkos::HostSpace(), u);  // the same View on host backends
    MPI_Sendrecv(&hu(0, n), int(m), MPI_DOUBLE, right, 0, &hu(0, 0), int(m), MPI_DOUBLE, left, 0, comm.get(),
                 MPI_STATUS_IGNORE);
    MPI_Sendrecv(&hu(0, 1), int(m), MPI_DOUBLE, left, 1, &hu(0, n + 1), int(m), MPI_DOUBLE, right, 1, comm.get(),
                 MPI_STATUS_IGNORE);
    Kokkos::parallel_for("nabla::perf::hand_rows", Policy(0, m), HandRows{u});
    Kokkos::parallel_for("nabla::perf::hand_step", Policy(0, n), HandStep{u, v, kHeat});
    std::swap(u, v);
  });
  state.SetBytesProcessed(state.iterations() * std::int64_t(2 * n * n * sizeof(double)));
}

void BM_Mpi4pyStencil(benchmark::State& state) {
  time_peer(state, "stencil_mpi4py.py", kStencilN, 10, std::int64_t(2 * kStencilN * kStencilN * sizeof(double)));
}

}  // namespace

BENCHMARK(BM_DistFused8)->Arg(1)->Arg(2)->Iterations(100)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DistFusedSum)->Iterations(30)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_LocalFusedSum)->Iterations(30)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Summa)->Iterations(10)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Gemm)->Iterations(10)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Mpi4pyFusedSum)->Iterations(1)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Stencil)->Arg(1)->Arg(0)->Iterations(20)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DistTriad)->Iterations(20)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_StencilHandwritten)->Iterations(20)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Mpi4pyStencil)->Iterations(1)->UseManualTime()->Unit(benchmark::kMicrosecond);

namespace {
class NullReporter : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>&) override {}
};
}  // namespace

int main(int argc, char** argv) {
  nabla::mpi::Environment mpi(argc, argv);
  {
    nabla::ScopeGuard runtime(argc, argv);
    const auto comm = world();
    // Every rank must run the same benchmarks in the same order (they meet in collectives): no random
    // interleaving (each rank would shuffle its own way), and only rank 0 writes files.
    std::vector<char*> args;
    for (int i = 0; i < argc; ++i) {
      const std::string a = argv[i];
      if (a.rfind("--benchmark_enable_random_interleaving", 0) == 0) continue;
      if (comm.rank() != 0 && a.rfind("--benchmark_out", 0) == 0) continue;
      args.push_back(argv[i]);
    }
    int n = int(args.size());
    benchmark::Initialize(&n, args.data());
    if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 1;
    benchmark::AddCustomContext("mpi_ranks", std::to_string(comm.size()));
    if (comm.rank() == 0) {
      benchmark::RunSpecifiedBenchmarks();
    } else {
      NullReporter quiet;
      benchmark::RunSpecifiedBenchmarks(&quiet);
    }
    benchmark::Shutdown();
  }
  return 0;
}
