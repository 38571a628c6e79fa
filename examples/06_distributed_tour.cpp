/// \file 06_distributed_tour.cpp
/// \brief Example 6: Dagger's DArray notebook on MPI, step by step, each result checked against rank 0's
/// undistributed computation.
///
/// Distribute a matrix in blocks over a 2-D grid of ranks, show which rank owns which block, random blocks,
/// a fused broadcast (one kernel per rank, no messages), a sum (one collective), the `d .- mean(d, 1)`
/// centring, a redistribute round trip and a SUMMA product. The bit-exact results print a checksum that is the
/// same for any rank count.
///
///   mpirun -np 4 ./06_distributed_tour --n 64 --kokkos-num-threads=1
#include "common/driver.hpp"

#include <nabla/dist.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <iomanip>
#include <sstream>

namespace {
using nabla::examples::bits_checksum;

std::string digits(double x, int n = 12) {
  std::ostringstream os;
  os << std::setprecision(n) << x;
  return os.str();
}
}  // namespace

int main(int argc, char** argv) {
  nabla::mpi::Environment mpi(argc, argv);
  nabla::ScopeGuard runtime(argc, argv);
  nabla::mpi::Comm comm;

  nabla::examples::DistributedTourOptions o;
  if (int rc = nabla::examples::parse(o, argc, argv); rc >= 0) return rc;

  return nabla::mpi::run_or_abort(comm, [&] {
    namespace dist = nabla::dist;
    using Host = Kokkos::HostSpace;
    const std::size_t n = o.n;
    const auto key = nabla::random::key(o.seed);
    bool ok = true;
    auto check = [&](const char* what, bool pass) {
      comm.print("  check: ", what, pass ? ": ok\n" : ": FAILED\n");
      ok = ok && pass;
    };

    // 1. A grid of ranks and a matrix in blocks: Dagger's distribute(A, Blocks(...)).
    const dist::Grid grid(comm, {0, 0});
    const dist::Partition<2> blocks(grid, {n, n}, {0, 1});
    comm.print("1. ", comm.size(), " rank(s) on ", grid.to_string(), "; A is n x n = ", n, " x ", n, "\n");
    nabla::Array<double, 2> A0;
    if (comm.is_root()) A0 = nabla::random::normal<double, 2>(nabla::random::fold_in(key, 1), {n, n});
    const auto A = dist::distribute(A0, blocks);  // scattered from rank 0
    comm.print(dist::describe(A));

    // 2. Random blocks, each rank drawing only its own: the same numbers as the undistributed array.
    const auto B = dist::random::uniform<double, 2>(nabla::random::fold_in(key, 2), blocks);

    // 3. A fused broadcast: one kernel per rank, no messages.
    const auto C = dist::eval(A * 2.0 + B * B - 0.5);
    const auto Cw = nabla::to_host(dist::collect(C));
    comm.print("3. C = A .* 2 .+ B .^ 2 .- 0.5: checksum ", comm.is_root() ? bits_checksum(Cw) : "", "\n");

    // 4. A sum: one local fused reduction per rank and one collective.
    const double s = dist::sum(C);
    comm.print("4. sum(C) = ", digits(s), "\n");

    // 5. Centring the columns: d .- mean(d, 1), with the matrix split by columns.
    const dist::Partition<2> by_columns(grid, {n, n}, {dist::replicated, 0});
    const auto D = dist::redistribute(C, by_columns);
    const auto centred = dist::eval(D - dist::insert_axis(dist::mean(D, nabla::axis(0)), 0));
    const double worst = dist::max(abs(dist::mean(centred, nabla::axis(0))));
    comm.print("5. column means after centring: max |mean| = ", worst < 1e-14 ? std::string("< 1e-14") : digits(worst),
               "\n");

    // 6. Redistribute round trip: blocks -> columns -> transposed -> back, bit for bit.
    const auto back = dist::redistribute(dist::transpose(dist::transpose(D)), blocks);
    const double moved = dist::max(abs(back - C));
    comm.print("6. redistribute round trip: max |difference| = ", moved, "\n");

    // 7. SUMMA: C = A B on the 2-D grid, against rank 0's gemm of the whole matrices.
    const auto AB = dist::matmul(A, B);
    const auto ABw = nabla::to_host(dist::collect(AB));
    const auto Bw = nabla::to_host(dist::collect(B));

    if (comm.is_root()) {
      const auto Ah = nabla::to_host(A0);
      const auto Bref = nabla::random::uniform<double, 2, Host>(nabla::random::fold_in(key, 2), {n, n});
      const auto Cref = nabla::eval(Kokkos::DefaultHostExecutionSpace(), Ah * 2.0 + Bref * Bref - 0.5);
      const double sref = nabla::sum(Kokkos::DefaultHostExecutionSpace(), Cref);
      const auto ABref = nabla::to_host(nabla::matmul(A0, nabla::to_device(Bref)));
      double err = 0, scale = 0;
      for (std::size_t i = 0; i < n * n; ++i) {
        err = std::max(err, std::abs(ABw.data()[i] - ABref.data()[i]));
        scale = std::max(scale, std::abs(ABref.data()[i]));
      }
      comm.print("7. SUMMA A B vs one rank's gemm: max |difference| / max |entry| = ", err / scale < 1e-14 ? std::string("< 1e-14") : digits(err / scale), "\n");
      check("random blocks equal the undistributed random matrix", bits_checksum(Bw) == bits_checksum(Bref));
      check("the fused broadcast equals rank 0's, bit for bit", bits_checksum(Cw) == bits_checksum(Cref));
      check("sum within 1e-13 of rank 0's", std::abs(s - sref) <= 1e-13 * std::abs(sref));
      check("SUMMA within 1e-13 of rank 0's gemm", err <= 1e-13 * scale);
      nabla::io::make_directories(o.out);
      nabla::examples::Summary sum;
      sum.set("ranks", double(comm.size()));
      sum.set("n", double(n));
      sum.set("sum", s);
      sum.set("checksum_c", bits_checksum(Cw));
      sum.set("summa_relative_error", err / scale);
      sum.write(o.out + "/summary.json");
    }
    check("columns centred (|mean| < 1e-13)", worst < 1e-13);
    check("redistribute round trip exact", moved == 0.0);
    ok = comm.allreduce(int(ok), nabla::mpi::Op::min) == 1;
    comm.print(ok ? "all checks passed\n" : "some checks FAILED\n");
    if (!ok) throw std::runtime_error("06_distributed_tour: a check failed");
  });
}
