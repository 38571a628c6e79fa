#include <nabla/dist.hpp>
#include <nabla/dist/hdf5.hpp>
namespace dist = nabla::dist;

int main(int argc, char** argv) {
  nabla::mpi::Environment mpi(argc, argv);                              // mpirun -np 4 ./program
  nabla::ScopeGuard runtime(argc, argv);
  nabla::mpi::Comm comm;
  dist::Grid grid(comm, {0, 0});                                        // a 2-D grid of all ranks (2 x 2 on 4)
  dist::Partition<2> blocks(grid, {1000, 800}, {0, 1});                 // rows over grid dim 0, columns over 1
  auto key = nabla::random::key(7);
  auto A = dist::random::normal<double, 2>(key, blocks);                // each rank draws its block only
  auto B = dist::full<double, 2>(blocks, 0.5);
  auto C = dist::eval(2.0 * A + B * B - 1.0);                           // ONE local kernel per rank, no message
  double s = dist::sum(A * B);                                          // local fused sum + ONE collective
  auto centred = dist::eval(A - dist::insert_axis(dist::mean(A, nabla::axis(0)), 0));  // d .- mean(d, 1)
  auto byrows = dist::redistribute(A, dist::Partition<2>(grid, {1000, 800}, {0, dist::replicated}));
  auto W = dist::random::uniform<double, 2>(key, dist::Partition<2>(grid, {800, 300}, {0, 1}));
  auto P = dist::matmul(A, W);                                          // SUMMA on the grid: (1000 x 300)
  dist::Field<double, 2> u(A, {1, dist::Stencil::star, dist::Boundary::periodic}), v(blocks, u.options());
  dist::stencil_step(v, u, u + 0.1 * (dist::shift(u, {1, 0}) + dist::shift(u, {-1, 0}) + dist::shift(u, {0, 1}) +
                                      dist::shift(u, {0, -1}) - 4.0 * u));  // halo in flight during the interior
  comm.print(dist::describe(A));                                        // who owns which block
  auto whole = dist::collect(A);                                        // rank 0: the (1000 x 800) core Array
  nabla::ad::Tape tape;                                                 // gradients: each rank tapes its part
  auto x = dist::variable(tape, A);
  auto loss = dist::sum(pow(dist::shift(x, {1, 0}) - x, 2) + pow(x - B, 2));   // one node per rank + a fold
  tape.backward(loss);                                                  // shift's adjoint: the halo sent back
  auto g = dist::grad(tape, x);                                         // partitioned like A
  dist::File file(comm, "A.h5", nabla::hdf5::Mode::create);             // ONE dataset, each rank its hyperslab
  file.write("A", A);
  file.close();                                                         // renamed into place: whole or nothing
  auto again = dist::File(comm, "A.h5", nabla::hdf5::Mode::read).read<double, 2>("A", byrows.partition());
  // [checks] Against the undistributed computation on rank 0; run by CTest under mpirun (readme.dist).
  int failures = 0;
  auto A0 = nabla::random::normal<double, 2>(key, {1000, 800});
  failures += std::abs(s - nabla::sum(A0 * 0.5)) > 1e-12 * std::abs(s) + 1e-12;
  const double col = dist::max(abs(dist::mean(centred, nabla::axis(0))));
  failures += col > 1e-13;
  failures += dist::max(abs(dist::redistribute(byrows, blocks) - A)) != 0.0;
  auto P0 = nabla::matmul(A0, nabla::random::uniform<double, 2>(key, {800, 300}));
  failures += dist::max(abs(C - (2.0 * A + 0.25 - 1.0))) != 0.0;
  auto Pw = dist::collect(P);
  auto gw = dist::collect(g);
  failures += dist::max(abs(again - byrows)) != 0.0;
  auto vw = dist::collect(v.array());
  if (comm.is_root()) {
    auto hv = nabla::to_host(vw), hu = nabla::to_host(A0);
    auto at = [&](long i, long j) { return hu.view()((i + 1000) % 1000, (j + 800) % 800); };
    for (long i = 0; i < 1000; ++i)
      for (long j = 0; j < 800; ++j)
        failures += hv.view()(i, j) != at(i, j) + 0.1 * (at(i + 1, j) + at(i - 1, j) + at(i, j + 1) + at(i, j - 1) - 4.0 * at(i, j));
    auto hg = nabla::to_host(gw);  // d/du(i,j): 2 (u(i,j) - u(i-1,j)) - 2 (u(i+1,j) - u(i,j)) + 2 (u(i,j) - 0.5)
    for (long i = 0; i < 1000; ++i)
      for (long j = 0; j < 800; ++j)
        failures += std::abs(hg.view()(i, j) - (2 * (at(i, j) - at(i - 1, j)) - 2 * (at(i + 1, j) - at(i, j)) +
                                                2 * (at(i, j) - 0.5))) > 1e-12;
    std::remove("A.h5");
    auto h = nabla::to_host(Pw), h0 = nabla::to_host(P0), hw = nabla::to_host(whole), ha = nabla::to_host(A0);
    double err = 0, scale = 0;
    for (std::size_t i = 0; i < h.size(); ++i)
      err = std::max(err, std::abs(h.data()[i] - h0.data()[i])), scale = std::max(scale, std::abs(h0.data()[i]));
    failures += err > 1e-13 * scale;
    for (std::size_t i = 0; i < ha.size(); ++i) failures += hw.data()[i] != ha.data()[i];
  }
  failures = comm.allreduce(failures, nabla::mpi::Op::max);
  comm.print("dist: sum ", s, ", centred columns ", col, ", ", comm.size(), " ranks: ", failures ? "FAILED" : "ok", "\n");
  return failures ? 1 : 0;
  // [/checks]
}
