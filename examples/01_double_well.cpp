/// \file 01_double_well.cpp
/// \brief Example 1 (the README's demo): particles in a double well, end to end.
///
/// The workflow of the seed talk, in one program:
///   1. a long underdamped Langevin (BAOAB) trajectory in E(x) = ¼ k (x-a)²(x+a)²  — one kernel;
///   2. at every st-th saved point, n copies perturbed by Normal(0, σ) in x and v run `len` more steps —
///      all copies of all points in ONE launch; the spread (max - min of their end positions) says how
///      predictable the point is;
///   3. the points are labelled into 3 classes by spread: 0 = regular (the copies stay together),
///      1 = intermediate, 2 = chaotic (they split, typically near the barrier top or the separatrix);
///   4. the 2-8-3 classifier of the seed, Chain(Dense(2=>8, tanh), BatchNorm(8), Dense(8=>3), softmax),
///      learns (x, v) -> class with Adam, and is scored on held-out points.
/// Writes to --out: trajectory and labels (HDF5 when built with it, CSV always), the model checkpoint,
/// metrics.json, and PNG plots through gnuplot (skipped with a warning if gnuplot is missing).
///
///   ./01_double_well                     # defaults: about 10 s on 2 cores
///   ./01_double_well --steps 2000000 --epochs 1000 --kokkos-num-threads=2
#include "common/driver.hpp"
#include "common/plot.hpp"

#include <nabla/nn.hpp>
#include <nabla/sampling.hpp>
#if NABLA_ENABLE_HDF5
#include <nabla/core/hdf5.hpp>
#endif

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <vector>

namespace ns = nabla::sampling;
namespace nn = nabla::nn;

namespace {

template <class T, int R>
std::vector<T> host_vector(const nabla::Array<T, R>& a) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), a.view());
  std::vector<T> out(a.size());
  if constexpr (R == 1) {
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = h(i);
  } else if constexpr (R == 2) {
    for (std::size_t i = 0; i < h.extent(0); ++i)
      for (std::size_t j = 0; j < h.extent(1); ++j) out[i * h.extent(1) + j] = h(i, j);  // row-major
  } else {
    for (std::size_t i = 0; i < h.extent(0); ++i)
      for (std::size_t j = 0; j < h.extent(1); ++j)
        for (std::size_t l = 0; l < h.extent(2); ++l) out[(i * h.extent(1) + j) * h.extent(2) + l] = h(i, j, l);
  }
  return out;
}

double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = q * double(v.size() - 1);
  const std::size_t i = std::size_t(pos);
  return i + 1 < v.size() ? v[i] + (pos - double(i)) * (v[i + 1] - v[i]) : v.back();
}

// Features (x, v) as a 2 x n float array, the classifier's layout (features x batch).
nabla::Array<float, 2> features(const std::vector<double>& x, const std::vector<double>& v) {
  nabla::Array<float, 2> f({2, x.size()}, "features");
  auto h = Kokkos::create_mirror_view(f.view());
  for (std::size_t j = 0; j < x.size(); ++j) {
    h(0, j) = float(x[j]);
    h(1, j) = float(v[j]);
  }
  Kokkos::deep_copy(f.view(), h);
  return f;
}

std::vector<int> argmax_columns(const nabla::Array<float, 2>& p) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), p.view());
  std::vector<int> out(h.extent(1));
  for (std::size_t j = 0; j < h.extent(1); ++j) {
    int best = 0;
    for (std::size_t c = 1; c < h.extent(0); ++c)
      if (h(c, j) > h(best, j)) best = int(c);
    out[j] = best;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  nabla::ScopeGuard runtime(argc, argv);

  nabla::examples::DoubleWellOptions o;
  if (int rc = nabla::examples::parse(o, argc, argv); rc >= 0) return rc;

  try {
    nabla::io::make_directories(o.out);
    Kokkos::Timer total;
    const ns::DoubleWell well{o.a, o.k};
    ns::BAOABParams params;
    params.gamma = o.gamma;
    params.kBT = o.kbt;
    params.dt = o.dt;
    params.seed = o.seed;

    // 1. The long trajectory: one walker, one kernel, state in registers; every k-th step saved.
    std::printf("1. BAOAB trajectory: %zu steps, dt %g, gamma %g, kBT %g, saved every %zu\n", o.steps, o.dt, o.gamma,
                o.kbt, o.save_every);
    Kokkos::Timer t;
    ns::LangevinState state = ns::make_state(1, 1, -o.a);
    const ns::Trajectory traj = ns::baoab(well, params, state, o.steps, o.save_every);
    Kokkos::fence();
    const double t_traj = t.seconds();
    const auto transitions = host_vector(ns::count_transitions(traj.x, -0.5 * o.a, 0.5 * o.a))[0];
    const double ekin = ns::mean_kinetic_energy(traj.v);
    const ns::Histogram hist = ns::histogram(traj.x, -2.0 * o.a, 2.0 * o.a, 80);
    // Boltzmann density exp(-E/kBT)/Z on the same bins (Z by the midpoint rule over a wide range).
    double z = 0;
    const double lo = -3.0 * o.a, hi = 3.0 * o.a, h = (hi - lo) / 20000;
    auto energy = [&](double x) { return 0.25 * o.k * (x * x - o.a * o.a) * (x * x - o.a * o.a); };
    for (int i = 0; i < 20000; ++i) z += std::exp(-energy(lo + (i + 0.5) * h) / o.kbt) * h;
    double l1 = 0;  // ∫|p_hist - p_boltzmann| dx, 0 for a perfect sampler
    for (std::size_t i = 0; i < hist.bins(); ++i)
      l1 += std::abs(hist.density(i) - std::exp(-energy(hist.center(i)) / o.kbt) / z) * hist.width();
    std::printf("   %.3f s (%.3g steps/s); %lld well-to-well transitions; <v^2>/2 = %.4f (kBT/2 = %.4f); "
                "L1 distance of the x histogram to Boltzmann: %.3f\n",
                t_traj, double(o.steps) / t_traj, static_cast<long long>(transitions), ekin, 0.5 * o.kbt, l1);

    // 2. Perturbed ensembles at every st-th saved point: all copies of all points in one launch.
    ns::PerturbationOptions popt;
    popt.len = o.len;
    popt.copies = o.copies;
    popt.stride = o.stride;
    popt.sigma = o.sigma;
    popt.seed = o.seed + 1;
    t.reset();
    const ns::PerturbedEnsembles ens = ns::perturbed_ensembles(well, params, traj, popt);
    Kokkos::fence();
    const std::size_t np = ens.points();
    std::printf("2. perturbed ensembles: %zu points x %zu copies x %zu steps in %.3f s (%.3g walker-steps/s)\n", np,
                o.copies, o.len, t.seconds(), double(np * o.copies * o.len) / t.seconds());

    // 3. Labels by spread. Terciles by default: three equally populated classes, so accuracy is not
    //    flattered by a dominant class (chance level is 1/3).
    const std::vector<double> spread = host_vector(ens.spread);
    std::vector<double> thresholds = o.thresholds;
    if (thresholds.empty()) thresholds = {quantile(spread, 1.0 / 3.0), quantile(spread, 2.0 / 3.0)};
    if (!(thresholds[0] < thresholds[1]))
      throw nabla::ValueError(nabla::impl::cat("the spreads are degenerate (terciles ", thresholds[0], " and ",
                                               thresholds[1], "); raise --len or --sigma"));
    const std::vector<int> labels = host_vector(ns::classify(ens.spread, thresholds));
    std::size_t counts[3] = {0, 0, 0};
    for (int l : labels) ++counts[l];
    std::printf("3. labels by spread (thresholds %.4g, %.4g): regular %zu, intermediate %zu, chaotic %zu\n",
                thresholds[0], thresholds[1], counts[0], counts[1], counts[2]);

    // 4. The seed's classifier on (x, v) -> class.
    const std::vector<double> px = host_vector(ens.seed_x), pv = host_vector(ens.seed_v);
    nn::Dataset<float> all{features(px, pv), nn::one_hot<float>(labels, 3)};
    auto [train, val] = nn::train_val_split(all, o.val_fraction, nabla::random::key(o.seed + 2));
    const nn::Standardizer<float> standardize(train.x);
    standardize.apply(train.x);
    standardize.apply(val.x);
    nn::Chain<float> model(nn::Dense<float>(2, 8, nn::Activation::tanh), nn::BatchNorm<float>(8),
                           nn::Dense<float>(8, 3), nn::Softmax<float>());
    model.init(nabla::random::key(o.seed + 3));
    std::printf("4. %s   %zu trainable, %zu non-trainable parameters; Adam(%g), batch %zu, %zu epochs, "
                "%zu train / %zu held-out points\n",
                model.summary().c_str(), model.num_trainable(), model.num_nontrainable(), o.lr, o.batch, o.epochs,
                train.size(), val.size());
    nn::Adam<float> adam(o.lr);
    nn::Trainer<float> trainer(model, adam, nn::Loss::cross_entropy, o.seed + 4);
    nn::FitOptions fit;
    fit.batch_size = o.batch;
    fit.verbose = 0;
    std::vector<nn::EpochMetrics> history;
    t.reset();
    const std::size_t report = std::max<std::size_t>(1, o.epochs / 10);
    for (std::size_t e = report; ; e = std::min(o.epochs, e + report)) {  // fit() continues to `epochs`
      fit.epochs = e;
      for (const auto& m : trainer.fit(train, &val, fit)) history.push_back(m);
      const auto& m = history.back();
      std::printf("   epoch %4zu/%zu  loss %.4f  acc %.3f  val_loss %.4f  val_acc %.3f  %.0f samples/s\n", m.epoch,
                  o.epochs, m.train_loss, m.train_accuracy, m.val_loss, m.val_accuracy, m.samples_per_second);
      if (e == o.epochs) break;
    }
    const double t_train = t.seconds();
    const auto [val_loss, val_acc] = trainer.evaluate(val);
    std::printf("   held-out accuracy %.3f (chance 0.333), loss %.4f; trained in %.2f s\n", val_acc, val_loss, t_train);

    // 5. Files.
    const std::string d = o.out;
#if NABLA_ENABLE_HDF5
    trainer.save(d + "/model.h5");
#endif
    {
      std::vector<double> tt = host_vector(traj.time), xt = host_vector(traj.x), vt = host_vector(traj.v),
                          et = host_vector(traj.potential);
      std::vector<double> lab(labels.begin(), labels.end());
      nabla::examples::write_columns(d + "/points.dat", "x v spread label", {&px, &pv, &spread, &lab});
#if NABLA_ENABLE_HDF5
      const std::string tmp = nabla::io::temporary_path_for(d + "/trajectory.h5");
      {
        nabla::hdf5::File f(tmp, nabla::hdf5::Mode::create);
        f.write("trajectory/time", tt, {tt.size()});
        f.write("trajectory/x", xt, {xt.size()});
        f.write("trajectory/v", vt, {vt.size()});
        f.write("trajectory/potential", et, {et.size()});
        f.write("points/x", px, {np});
        f.write("points/v", pv, {np});
        f.write("points/spread", spread, {np});
        f.write("points/label", std::vector<std::int32_t>(labels.begin(), labels.end()), {np});
        f.set_attribute("", "a", o.a);
        f.set_attribute("", "k", o.k);
        f.set_attribute("", "gamma", o.gamma);
        f.set_attribute("", "kBT", o.kbt);
        f.set_attribute("", "dt", o.dt);
        f.set_attribute("points", "threshold_low", thresholds[0]);
        f.set_attribute("points", "threshold_high", thresholds[1]);
        f.close();
      }
      nabla::io::commit_file(tmp, d + "/trajectory.h5");
#endif
      // CSV for everyone (comma-separated version of the columns above).
      std::string csv = "t,x,v,potential\n";
      char line[128];
      for (std::size_t i = 0; i < tt.size(); ++i) {
        std::snprintf(line, sizeof line, "%.9g,%.9g,%.9g,%.9g\n", tt[i], xt[i], vt[i], et[i]);
        csv += line;
      }
      nabla::io::write_file_atomic(d + "/trajectory.csv", csv);
    }
    std::vector<double> ep, tl, vl, ta, va;
    for (const auto& m : history) {
      ep.push_back(double(m.epoch));
      tl.push_back(m.train_loss);
      vl.push_back(m.val_loss);
      ta.push_back(m.train_accuracy);
      va.push_back(m.val_accuracy);
    }
    nabla::examples::write_columns(d + "/loss.dat", "epoch train_loss val_loss train_acc val_acc",
                                   {&ep, &tl, &vl, &ta, &va});
    {
      std::vector<double> hx, hd, hb;
      for (std::size_t i = 0; i < hist.bins(); ++i) {
        hx.push_back(hist.center(i));
        hd.push_back(hist.density(i));
        hb.push_back(std::exp(-energy(hist.center(i)) / o.kbt) / z);
      }
      nabla::examples::write_columns(d + "/histogram.dat", "x density boltzmann", {&hx, &hd, &hb});
    }
    // Predicted class over a grid of phase space (standardised like the training data).
    const std::size_t G = 121;
    const double xmax = 1.8 * o.a, vmax = 3.0 * std::sqrt(o.kbt);
    std::vector<double> gx(G * G), gv(G * G);
    for (std::size_t i = 0; i < G; ++i)
      for (std::size_t j = 0; j < G; ++j) {
        gx[i * G + j] = -xmax + 2 * xmax * double(j) / double(G - 1);
        gv[i * G + j] = -vmax + 2 * vmax * double(i) / double(G - 1);
      }
    auto grid = features(gx, gv);
    standardize.apply(grid);
    const std::vector<int> pred = argmax_columns(model.predict(grid));
    std::vector<double> gp(pred.begin(), pred.end());
    nabla::examples::write_columns(d + "/predicted.dat", "x v predicted_class", {&gx, &gv, &gp});

    nabla::examples::Summary s;
    s.set("steps", double(o.steps));
    s.set("transitions", double(transitions));
    s.set("mean_kinetic_energy", ekin);
    s.set("histogram_l1_to_boltzmann", l1);
    s.set("points", double(np));
    s.set("threshold_low", thresholds[0]);
    s.set("threshold_high", thresholds[1]);
    for (int c = 0; c < 3; ++c) s.set("class" + std::to_string(c), double(counts[c]));
    s.set("trainable_parameters", double(model.num_trainable()));
    s.set("nontrainable_parameters", double(model.num_nontrainable()));
    s.set("final_train_loss", history.back().train_loss);
    s.set("val_loss", val_loss);
    s.set("val_accuracy", val_acc);
    s.set("train_seconds", t_train);
    s.set("trajectory_seconds", t_traj);
    s.write(d + "/metrics.json");

    // 6. Plots.
    int plotted = 0;
    if (o.plots) {
      using nabla::examples::plot_png;
      char pot[512];  // E(x), its axis up to 3 barrier heights so the wells stay visible
      std::snprintf(pot, sizeof pot, "E(x) = 0.25*%g*(x*x-%g)**2\nset yrange [0:%g]", o.k, o.a * o.a,
                    3 * energy(0.0));
      plotted += plot_png(d, "potential",
                          std::string("set title 'Double well and the trajectory''s position histogram'\n"
                                      "set xlabel 'x'; set ylabel 'E(x)'; set y2label 'density'; set ytics nomirror; "
                                      "set y2tics\n") +
                              pot + "\nplot E(x) axes x1y1 lw 2 title 'E(x)', "
                                    "'histogram.dat' u 1:2 axes x1y2 w boxes fs solid 0.3 title 'BAOAB histogram', "
                                    "'' u 1:3 axes x1y2 w l lw 2 dt 2 title 'Boltzmann density'");
      plotted += plot_png(d, "phase_space",
                          "set title 'Phase space, coloured by ensemble spread class'\nset xlabel 'x'; set ylabel 'v'\n"
                          "set palette defined (0 '#1f77b4', 1 '#ff7f0e', 2 '#d62728'); set cbrange [0:2]; "
                          "set cbtics ('regular' 0, 'intermediate' 1, 'chaotic' 2); set rmargin 16\n"
                          "plot 'points.dat' u 1:2:4 w p pt 7 ps 0.4 lc palette notitle");
      plotted += plot_png(d, "predicted",
                          "set title 'Class predicted by the 2-8-3 network'\nset xlabel 'x'; set ylabel 'v'\n"
                          "set palette defined (0 '#1f77b4', 1 '#ff7f0e', 2 '#d62728'); set cbrange [0:2]; "
                          "set cbtics ('regular' 0, 'intermediate' 1, 'chaotic' 2); set rmargin 16\n"
                          "plot 'predicted.dat' u 1:2:3 w image notitle, 'points.dat' u 1:2 every 4 w p pt 7 ps 0.2 "
                          "lc 'black' title 'trajectory points'");
      plotted += plot_png(d, "loss",
                          "set title 'Training'\nset xlabel 'epoch'; set ylabel 'cross-entropy'; set y2label "
                          "'accuracy'; set ytics nomirror; set y2tics\n"
                          "plot 'loss.dat' u 1:2 w l lw 2 title 'train loss', '' u 1:3 w l lw 2 title 'validation loss', "
                          "'' u 1:5 axes x1y2 w l dt 2 title 'validation accuracy'");
    }
    std::printf("5. wrote %s: %s, points.dat, metrics.json, %d PNG plot(s); total %.2f s\n", d.c_str(),
                NABLA_ENABLE_HDF5 ? "trajectory.h5 + trajectory.csv, model.h5" : "trajectory.csv (no HDF5: no checkpoint)",
                plotted, total.seconds());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "01_double_well: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
