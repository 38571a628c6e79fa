/// \file 07_heat_equation.cpp
/// \brief Example 7: the 2-D heat equation on a grid split over MPI ranks.
///
/// u_t = alpha (u_xx + u_yy) on the unit square with cold walls (u = 0 beyond the edges), two warm bumps at
/// the start. Each step is ONE fused 5-point expression over `dist::shift` leaves; `dist::stencil_step`
/// computes the interior of each rank's block while the halo travels. The update is elementwise arithmetic, so
/// the field is bit-identical for any number of ranks: the printed checksum says so. Checkpoints are one sealed
/// HDF5 file holding the whole field as one dataset, each rank writing its block (`dist::File`: MPI-IO), renamed
/// into place whole; they resume with any rank count. Snapshots are PNGs through gnuplot.
///
///   mpirun -np 4 ./07_heat_equation --n 256 --steps 2000 --kokkos-num-threads=1
#include "common/driver.hpp"
#include "common/plot.hpp"

#include <nabla/dist.hpp>
#include <nabla/dist/hdf5.hpp>

#include <cstdio>
#include <utility>

namespace {
namespace dist = nabla::dist;

/// Example 7: the heat equation on a distributed grid.
struct HeatEquationOptions {
  static constexpr const char* name = "07_heat_equation";
  static constexpr const char* description =
      "2-D heat equation on a grid split over MPI ranks: a fused 5-point stencil per step with its halo exchange "
      "overlapped, cold walls, checkpoints resumable with any rank count, PNG snapshots.";
  std::size_t n = 256;
  std::uint64_t steps = 2000;
  double c = 0.2;
  std::uint64_t checkpoint_every = 500;
  std::uint64_t snapshots = 4;
  bool resume = false, resume_or_start = false, plots = true;
  std::string out = "out/heat_equation";

  void add_to(CLI::App& app) {
    app.add_option("-n,--n", n, "the grid is n x n")->check(CLI::Range(std::size_t(4), std::size_t(1) << 15))
        ->capture_default_str();
    app.add_option("-s,--steps", steps, "time steps in total (a resumed run continues up to this)")->capture_default_str();
    app.add_option("-c,--c", c, "diffusion number alpha dt / dx^2 (stable up to 0.25)")->check(nabla::examples::impl::positive())
        ->capture_default_str();
    app.add_option("--checkpoint-every", checkpoint_every, "steps between checkpoints (and at the end)")
        ->check(nabla::examples::impl::positive())->capture_default_str();
    app.add_option("--snapshots", snapshots, "PNG snapshots over the run (0: none)")->capture_default_str();
    auto* r = app.add_flag("--resume", resume, "continue from <out>/checkpoint.h5 (written with any rank count)");
    app.add_flag("--resume-or-start", resume_or_start, "--resume if <out>/checkpoint.h5 exists, else start afresh")
        ->excludes(r);
    app.add_flag("!--no-plots", plots, "skip the PNG snapshots");
    app.add_option("-o,--out", out, "directory for checkpoint.h5, snapshots and summary.json")->capture_default_str();
  }
  std::string checkpoint_path() const { return out + "/checkpoint.h5"; }
  std::string validate() const {
    if (c > 0.25) return "--c " + std::to_string(c) + " is above 0.25: the explicit scheme is unstable there";
    std::error_code ec;
    if (resume && !std::filesystem::exists(checkpoint_path(), ec))
      return "--resume: no checkpoint to resume at '" + checkpoint_path() + "'";
    return {};
  }
};


using Host = Kokkos::HostSpace;

/// Writes the field (h5py sees u[i, j] = u(i, j)), the step and the diffusion number (a resume with another
/// would mix two runs): every rank its block of one dataset, the file sealed and renamed into place by close(),
/// so a crash leaves the previous checkpoint.
void save(const nabla::mpi::Comm& comm, const std::string& path, const dist::Field<double, 2>& u, std::uint64_t step,
          double c) {
  dist::File f(comm, path, nabla::hdf5::Mode::create_sealed);
  f.write("u", u.array());
  f.set_attribute("/", "format", "nabla heat equation");
  f.set_attribute("/", "step", std::int64_t(step));
  f.set_attribute("/", "c", c);
  f.close();
}

/// The field of a checkpoint written with any rank count, read as partition `part`; errors on every rank.
dist::Array<double, 2> load(const nabla::mpi::Comm& comm, const std::string& path, const dist::Partition<2>& part,
                            double c, std::uint64_t& step) {
  dist::File f(comm, path, nabla::hdf5::Mode::read_sealed);
  std::string format;
  try {
    format = f.attribute_string("/", "format");
  } catch (const nabla::IOError&) {  // collective: every rank lands here alike
  }
  if (format != "nabla heat equation") throw nabla::IOError("'" + path + "' is not a checkpoint of 07_heat_equation");
  const std::size_t n = part.shape()[0];
  const nabla::hdf5::Dims dims = f.dims("u");
  if (dims.size() != 2 || dims[0] != n || dims[1] != n)
    throw nabla::IOError(nabla::impl::cat("'", path, "' holds a field of another shape than --n ", n));
  const std::int64_t s = f.attribute_int("/", "step");
  if (s < 0) throw nabla::IOError(nabla::impl::cat("'", path, "': step ", s));
  double saved = 0;
  try {
    saved = f.attribute_double("/", "c");
  } catch (const nabla::IOError&) {  // collective: every rank lands here alike
    throw nabla::IOError("'" + path + "' records no --c (written before checkpoints did): start a new run");
  }
  if (saved != c)
    throw nabla::ValueError("'" + path + "' was written with --c " + nabla::examples::exact(saved) +
                            "; this run has --c " + nabla::examples::exact(c) + ": resuming would mix two runs");
  step = std::uint64_t(s);
  return f.read<double, 2>("u", part);
}

void snapshot(const std::string& dir, const nabla::Array<double, 2, Host>& u, std::uint64_t step) {
  const std::string name = nabla::impl::cat("u_", step);
  std::string data;
  char buf[32];
  for (std::size_t i = 0; i < u.extent(0); ++i) {
    for (std::size_t j = 0; j < u.extent(1); ++j) {
      std::snprintf(buf, sizeof buf, "%.6g ", u.view()(i, j));
      data += buf;
    }
    data += '\n';
  }
  nabla::io::write_file_atomic(dir + "/" + name + ".dat", data);
  nabla::examples::plot_png(dir, name,
                            nabla::impl::cat("set title 'u after ", step, " steps'\nset size ratio -1\nset autoscale fix\n"
                                             "set xlabel 'j'\nset ylabel 'i'\n"
                                             "set cbrange [0:1]\nset palette defined (0 'black', 0.3 'red', 0.7 "
                                             "'yellow', 1 'white')\nplot '",
                                             name, ".dat' matrix with image notitle"),
                            "640,600");
}
}  // namespace

int main(int argc, char** argv) {
  nabla::mpi::Environment mpi(argc, argv);
  nabla::ScopeGuard runtime(argc, argv);
  nabla::mpi::Comm comm;

  HeatEquationOptions o;
  if (int rc = nabla::examples::parse(o, argc, argv); rc >= 0) return rc;

  return nabla::mpi::run_or_abort(comm, [&] {
    const std::size_t n = o.n;
    const dist::Grid grid(comm, {0, 0});
    const dist::Partition<2> part(grid, {n, n}, {0, 1});
    const dist::HaloOptions halo{1, dist::Stencil::star, dist::Boundary::constant, 0.0};
    dist::Field<double, 2> u(part, halo), v(part, halo);
    if (comm.is_root()) nabla::io::make_directories(o.out);

    std::uint64_t step = 0;
    std::error_code ec;  // rank 0 decides, so ranks whose file systems disagree still act alike
    const bool resume = o.resume || (o.resume_or_start &&
                                     comm.broadcast(int(comm.is_root() && std::filesystem::exists(o.checkpoint_path(), ec))));
    if (resume) {
      u = dist::Field<double, 2>(load(comm, o.checkpoint_path(), part, o.c, step), halo);
      comm.print("resumed at step ", step, " from ", o.checkpoint_path(), " on ", comm.size(), " rank(s)\n");
    } else {
      // Two warm bumps, polynomial (arithmetic only, so every rank count rounds alike).
      const auto x = nabla::linspace<double>(0.0, 1.0, n);
      const auto y = nabla::reshape(nabla::linspace<double>(0.0, 1.0, n), nabla::Shape<2>{1, n});
      auto bump = [&](double cx, double cy, double r2) {
        return nabla::max(1.0 - ((x - cx) * (x - cx) + (y - cy) * (y - cy)) / r2, 0.0);
      };
      dist::assign(u, bump(0.3, 0.35, 0.02) + 0.7 * bump(0.7, 0.65, 0.01));
    }
    comm.print("grid ", n, " x ", n, " on ", grid.to_string(), ", c = ", o.c, ", steps ", step, " -> ", o.steps, "\n");

    const double c = o.c;
    const std::uint64_t every_snap = o.snapshots ? std::max<std::uint64_t>(1, o.steps / o.snapshots) : 0;
    comm.barrier();
    Kokkos::Timer timer;
    const std::uint64_t first = step;
    while (step < o.steps) {
      dist::stencil_step(v, u, u + c * (dist::shift(u, {1, 0}) + dist::shift(u, {-1, 0}) + dist::shift(u, {0, 1}) +
                                        dist::shift(u, {0, -1}) - 4.0 * u));
      std::swap(u, v);
      ++step;
      const bool ckpt = step % o.checkpoint_every == 0 || step == o.steps;
      const bool snap = o.plots && every_snap && (step % every_snap == 0 || step == o.steps);
      if (ckpt) save(comm, o.checkpoint_path(), u, step, c);
      if (snap) {
        const auto whole = nabla::to_host(dist::collect(u.array()));
        if (comm.is_root()) snapshot(o.out, whole, step);
      }
    }
    const double seconds = comm.allreduce(timer.seconds(), nabla::mpi::Op::max);
    const double heat = dist::sum(u), peak = dist::max(u);
    const auto whole = nabla::to_host(dist::collect(u.array()));
    const std::string sum = comm.is_root() ? nabla::examples::bits_checksum(whole) : std::string(16, '0');
    comm.print("step ", step, ": heat ", heat, ", max ", peak, ", checksum ", sum, "\n");
    comm.print("rate: ", double(step - first) * double(n * n) / std::max(seconds, 1e-9), " cell updates/s (",
               seconds, " s)\n");
    if (comm.is_root()) {
      nabla::examples::Summary s;
      s.set("ranks", double(comm.size()));
      s.set("n", double(n));
      s.set("steps", double(step));
      s.set("heat", heat);
      s.set("max", peak);
      s.set("checksum", sum);
      s.set("seconds", seconds);
      s.set("checkpoint", o.checkpoint_path());
      s.write(o.out + "/summary.json");
    }
  });
}
