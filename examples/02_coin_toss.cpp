/// \file 02_coin_toss.cpp
/// \brief Example 2: heads in N fair coin tosses, split over MPI ranks and threads.
///
/// Each rank counts its share of ONE global random stream with a fused reduction — no array of tosses is
/// ever stored: `count(uniform_expr(key, {n_local}, first) < 0.5)` is one parallel_reduce — and the ranks
/// sum their counts with MPI. Because toss i is a pure function of (key, i), the count is the same for any
/// number of ranks and threads.
///
///   mpirun -np 2 ./02_coin_toss --tosses 200000000 --kokkos-num-threads=1
#include "common/driver.hpp"

#include <cmath>

int main(int argc, char** argv) {
  nabla::mpi::Environment mpi(argc, argv);
  nabla::ScopeGuard runtime(argc, argv);
  nabla::mpi::Comm comm;

  nabla::examples::CoinTossOptions o;
  if (int rc = nabla::examples::parse(o, argc, argv); rc >= 0) return rc;
  const std::uint64_t tosses = o.tosses, seed = o.seed;
  const std::string& out_dir = o.out;

  return nabla::mpi::run_or_abort(comm, [&] {
    // This rank's contiguous share of the global stream.
    const std::uint64_t first = tosses * comm.rank() / comm.size();
    const std::uint64_t last = tosses * (comm.rank() + 1) / comm.size();
    const auto key = nabla::random::key(seed);

    comm.barrier();
    Kokkos::Timer timer;
    const std::int64_t local = nabla::count(
        nabla::random::uniform_expr<double>(key, nabla::Shape<1>{std::size_t(last - first)}, first) < 0.5);
    const std::int64_t heads = comm.allreduce(local);
    const double seconds = comm.allreduce(timer.seconds(), nabla::mpi::Op::max);

    const double expected = 0.5 * double(tosses), sigma = 0.5 * std::sqrt(double(tosses));
    const double z = (double(heads) - expected) / sigma;
    comm.print("tosses:   ", tosses, " on ", comm.size(), " rank(s) x ", Kokkos::DefaultExecutionSpace().concurrency(),
               " thread(s) (", Kokkos::DefaultExecutionSpace::name(), ")\n");
    comm.print("heads:    ", heads, "\n");
    comm.print("expected: ", expected, " +- ", sigma, " (binomial sigma); z = ", z, "\n");
    comm.print("rate:     ", double(tosses) / seconds, " tosses/s (", seconds * 1e3, " ms)\n");
    if (comm.is_root()) {
      nabla::io::make_directories(out_dir);
      nabla::examples::Summary s;
      s.set("tosses", double(tosses));
      s.set("heads", double(heads));
      s.set("expected", expected);
      s.set("sigma", sigma);
      s.set("z", z);
      s.set("ranks", double(comm.size()));
      s.set("threads", double(Kokkos::DefaultExecutionSpace().concurrency()));
      s.set("seconds", seconds);
      s.set("tosses_per_second", double(tosses) / seconds);
      s.write(out_dir + "/summary.json");
    }
  });
}
