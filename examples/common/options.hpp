/// \file options.hpp
/// \brief The command-line options of every example driver, apart from the drivers so that the fuzz target
/// `nabla_fuzz_options` parses exactly what the drivers parse. Each options struct holds its defaults, declares
/// itself to CLI11 (`add_to`) and checks what CLI11 cannot (`validate`: empty when fine, else the message).
#pragma once

#include <CLI/CLI.hpp>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace nabla {
namespace examples {

namespace impl {
/// Every integer option: decimal digits only (CLI11 alone reads 010 as octal, 0x10 as hex and 1e12 as an
/// integer) and within 64 bits (CLI11 alone clamps 10^20 to 2^64 - 1); narrower ranges are each option's check.
inline CLI::Validator decimal_integer(bool is_signed) {
  return CLI::Validator(
      [is_signed](std::string& s) -> std::string {
        std::size_t i = is_signed && !s.empty() && s[0] == '-' ? 1 : 0;
        const bool digits = i < s.size() && s.find_first_not_of("0123456789", i) == std::string::npos;
        if (!digits) return "'" + s + "' is not a whole number in decimal digits";
        if (s.size() > i + 1 && s[i] == '0') return "'" + s + "': write integers without leading zeros";
        try {
          if (is_signed) (void)std::stoll(s);
          else (void)std::stoull(s);
        } catch (const std::out_of_range&) {
          return "'" + s + "' is out of range";
        }
        return {};
      },
      "DECIMAL");
}
/// Every floating-point option: a finite number (NaN passed CLI11's PositiveNumber).
inline CLI::Validator finite_number() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(s.c_str(), &end);
        if (end == s.c_str() || *end != '\0' || !std::isfinite(v)) return "'" + s + "' is not a finite number";
        return {};
      },
      "FINITE");
}
/// Positive and non-negative numbers, with messages that do not print DBL_MAX's 309 digits as CLI11's do.
inline CLI::Validator sign_check(bool allow_zero) {
  return CLI::Validator(
      [allow_zero](std::string& s) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(s.c_str(), &end);
        if (end == s.c_str() || *end != '\0') return "'" + s + "' is not a number";
        if (!std::isfinite(v)) return "'" + s + "' is not a finite number";
        if (allow_zero ? v < 0 : !(v > 0)) return "'" + s + "' must be " + (allow_zero ? ">= 0" : "> 0");
        return {};
      },
      allow_zero ? "NONNEGATIVE" : "POSITIVE");
}
inline CLI::Validator positive() { return sign_check(false); }
inline CLI::Validator non_negative() { return sign_check(true); }
}  // namespace impl

/// Example 1: the double well.
struct DoubleWellOptions {
  static constexpr const char* name = "01_double_well";
  static constexpr const char* description =
      "Double well end to end: BAOAB trajectory, perturbed ensembles, spread labels, a 2-8-3 classifier.";
  double a = 2.0, k = 1.0;                       // the well
  double gamma = 1.0, kbt = 1.0, dt = 0.01;      // BAOAB
  std::size_t steps = 2000000, save_every = 10;  // the long trajectory
  std::size_t len = 100, copies = 100, stride = 10;
  double sigma = 0.01;
  std::vector<double> thresholds;  // empty: terciles of the spreads
  std::size_t epochs = 200, batch = 128;
  double lr = 1e-2, val_fraction = 0.2;
  std::uint64_t seed = 1;
  std::string out = "out/double_well";
  bool plots = true;

  void add_to(CLI::App& app) {
    app.add_option("--a", a, "well position a (minima at +-a)")->check(impl::positive())->capture_default_str();
    app.add_option("--k", k, "well stiffness k")->check(impl::positive())->capture_default_str();
    app.add_option("--gamma", gamma, "friction")->check(impl::positive())->capture_default_str();
    app.add_option("--kbt", kbt, "temperature kB T")->check(impl::positive())->capture_default_str();
    app.add_option("--dt", dt, "time step")->check(impl::positive())->capture_default_str();
    app.add_option("--steps", steps, "steps of the long trajectory")->check(impl::positive())->capture_default_str();
    app.add_option("--save-every", save_every, "save every k-th step")->check(impl::positive())->capture_default_str();
    app.add_option("--len", len, "steps of each perturbed trajectory")->check(impl::positive())->capture_default_str();
    app.add_option("--copies", copies, "perturbed copies per point (>= 2)")->check(CLI::Range(2, 1 << 20))
        ->capture_default_str();
    app.add_option("--stride", stride, "every st-th saved point seeds an ensemble")->check(impl::positive())
        ->capture_default_str();
    app.add_option("--sigma", sigma, "perturbation standard deviation")->check(impl::non_negative())
        ->capture_default_str();
    app.add_option("--thresholds", thresholds, "two ascending spread thresholds (default: terciles of the spreads)")
        ->expected(2);
    app.add_option("--epochs", epochs, "training epochs")->check(impl::positive())->capture_default_str();
    app.add_option("--batch", batch, "batch size")->check(impl::positive())->capture_default_str();
    app.add_option("--lr", lr, "Adam learning rate")->check(impl::positive())->capture_default_str();
    app.add_option("--val-fraction", val_fraction, "held-out fraction")->check(CLI::Range(0.01, 0.9))
        ->capture_default_str();
    app.add_option("--seed", seed, "random seed (noise, perturbations, init, shuffles)")->capture_default_str();
    app.add_option("-o,--out", out, "output directory")->capture_default_str();
    app.add_flag("!--no-plots", plots, "skip the PNG plots");
  }
  std::string validate() const {
    if (!thresholds.empty() && !(thresholds[0] < thresholds[1]))
      return "--thresholds must be ascending, got " + std::to_string(thresholds[0]) + " " +
             std::to_string(thresholds[1]);
    if (save_every > steps)
      return "--save-every " + std::to_string(save_every) + " exceeds --steps " + std::to_string(steps);
    return {};
  }
};

/// Example 2: coin tosses over MPI ranks.
struct CoinTossOptions {
  static constexpr const char* name = "02_coin_toss";
  static constexpr const char* description =
      "Heads in N fair coin tosses: a fused random-number reduction per rank plus an MPI sum.";
  std::uint64_t tosses = 200000000;
  std::uint64_t seed = 42;
  std::string out = "out/coin_toss";

  void add_to(CLI::App& app) {
    app.add_option("-n,--tosses", tosses, "number of tosses in total")->check(impl::positive())
        ->capture_default_str();
    app.add_option("--seed", seed, "random seed")->capture_default_str();
    app.add_option("-o,--out", out, "directory for summary.json")->capture_default_str();
  }
  std::string validate() const { return {}; }
};

/// Example 3: the Bayesian curve fit.
struct McmcFitOptions {
  static constexpr const char* name = "03_mcmc_fit";
  static constexpr const char* description =
      "Bayesian fit of A x^a (1-x)^b to noisy data with ensemble MCMC; the log-likelihood is one fused reduction "
      "per walker.";
  static constexpr int D = 3;  // A, a, b
  using Vec = std::array<double, D>;
  static constexpr std::array<const char*, D> names{"A", "a", "b"};
  Vec truth{5.0, 0.7, 3.0};
  std::size_t points = 1000000;
  double sigma = 0.05;
  std::size_t walkers = 16, steps = 400, burn = 100, thin = 1;
  Vec lo{0.0, -1.0, 0.0}, hi{100.0, 5.0, 20.0};  // the flat prior's box
  std::uint64_t seed = 7;
  std::string out = "out/mcmc_fit";
  bool resume = false, resume_or_start = false, plots = true, quiet = false;

  /// A finished run's chain; a fresh run writes `partial_chain_path()`, renamed onto it at the end, so a killed
  /// fresh run never costs the previous chain, and `metrics.json`, where present, describes `chain.h5` (a resume
  /// that grows `chain.h5` in place removes it first).
  std::string chain_path() const { return out + "/chain.h5"; }
  std::string partial_chain_path() const { return out + "/chain.partial.h5"; }
  /// The chain a resumed run continues: an unfinished run's first (it is newer), else the finished one; empty if none.
  std::string chain_to_resume() const {
    std::error_code ec;
    for (const std::string& p : {partial_chain_path(), chain_path()})
      if (std::filesystem::exists(p, ec)) return p;
    return {};
  }
  void add_to(CLI::App& app) {
    app.add_option("--truth", truth, "true A a b of the synthetic data")->expected(3)->capture_default_str();
    app.add_option("-n,--points", points, "data points")->check(CLI::Range(std::size_t(10), std::size_t(1) << 34))
        ->capture_default_str();
    app.add_option("--sigma", sigma, "Gaussian error of every point")->check(impl::positive())
        ->capture_default_str();
    app.add_option("-w,--walkers", walkers, "walkers (>= 2 x 3 parameters)")->check(CLI::Range(6, 1 << 20))
        ->capture_default_str();
    app.add_option("-s,--steps", steps, "MCMC steps in total (a resumed run continues up to this)")
        ->check(impl::positive())->capture_default_str();
    app.add_option("--burn", burn, "steps discarded before the posterior summary")->capture_default_str();
    app.add_option("--thin", thin, "keep every k-th step")->check(impl::positive())->capture_default_str();
    app.add_option("--seed", seed, "random seed (data noise and sampler)")->capture_default_str();
    app.add_option("-o,--out", out, "output directory")->capture_default_str();
    auto* r = app.add_flag("--resume", resume,
                           "continue the chain in <out> (an unfinished run's chain.partial.h5, else chain.h5)");
    app.add_flag("--resume-or-start", resume_or_start, "--resume if <out> holds a chain, else start afresh")
        ->excludes(r);
    app.add_flag("!--no-plots", plots, "skip the PNG plots");
    app.add_flag("-q,--quiet", quiet, "no progress bar");
  }
  std::string validate() const {
    if (burn >= steps) return "--burn " + std::to_string(burn) + " must be below --steps " + std::to_string(steps);
    if ((steps - burn) / thin == 0)  // the posterior would be 0 +- 0 from no sample
      return "--thin " + std::to_string(thin) + " keeps none of the " + std::to_string(steps - burn) +
             " steps after --burn: no samples";
    for (int d = 0; d < D; ++d)
      if (!(truth[d] > lo[d] && truth[d] < hi[d]))
        return "--truth: " + std::string(names[d]) + " = " + std::to_string(truth[d]) + " lies outside the prior box (" +
               std::to_string(lo[d]) + ", " + std::to_string(hi[d]) + ")";
    if (resume && chain_to_resume().empty())
      return "--resume: no chain to resume at '" + chain_path() + "' (--resume-or-start starts one)";
    return {};
  }
};

/// Example 4: the broadcast tour.
struct BroadcastTourOptions {
  static constexpr const char* name = "04_broadcast_tour";
  static constexpr const char* description =
      "A tour of Nabla's fused broadcasting: kernels per step, fused vs unfused, a gradient.";
  std::size_t n = 4000000;
  std::string out = "out/broadcast_tour";

  void add_to(CLI::App& app) {
    app.add_option("-n,--n", n, "elements per array")->check(CLI::Range(std::size_t(1), std::size_t(1) << 28))
        ->capture_default_str();
    app.add_option("-o,--out", out, "directory for summary.json")->capture_default_str();
  }
  std::string validate() const { return {}; }
};

/// Example 6: the distributed-array tour.
struct DistributedTourOptions {
  static constexpr const char* name = "06_distributed_tour";
  static constexpr const char* description =
      "Dagger's DArray notebook on MPI: blocks and their owners, fused broadcasts, sums, centring, redistribute "
      "and a SUMMA product, each checked against rank 0's undistributed result.";
  std::size_t n = 64;
  std::uint64_t seed = 42;
  std::string out = "out/distributed_tour";

  void add_to(CLI::App& app) {
    app.add_option("-n,--n", n, "the matrices are n x n")->check(CLI::Range(std::size_t(1), std::size_t(1) << 14))
        ->capture_default_str();
    app.add_option("--seed", seed, "random seed")->capture_default_str();
    app.add_option("-o,--out", out, "directory for summary.json")->capture_default_str();
  }
  std::string validate() const { return {}; }
};

/// Example 5: MLP training on a CSV file.
struct TrainCsvOptions {
  static constexpr const char* name = "05_train_csv";
  static constexpr const char* description =
      "Train an MLP classifier on a CSV file (numeric feature columns and one label column).";
  std::string data, label = "label", activation = "relu", optimizer = "adam", checkpoint, resume;
  std::string out = "out/train_csv";
  std::vector<std::size_t> hidden = {16, 16};
  double lr = 1e-2, val_fraction = 0.2;
  std::size_t epochs = 50, batch_size = 128;
  std::uint64_t seed = 0;
  bool batchnorm = false, quiet = false, progress = false, no_standardize = false, resume_or_start = false;

  void add_to(CLI::App& app) {
    app.add_option("data", data, "CSV file with a header row")->required()->check(CLI::ExistingFile);
    app.add_option("--label", label, "name of the label column")->capture_default_str();
    app.add_option("--hidden", hidden, "hidden layer sizes, e.g. 16,16")
        ->delimiter(',')->check(CLI::Range(1, 1000000))->capture_default_str();
    app.add_option("--activation", activation, "hidden activation")
        ->check(CLI::IsMember({"identity", "relu", "leaky_relu", "tanh", "sigmoid", "softplus", "gelu"}))
        ->capture_default_str();
    app.add_flag("--batchnorm", batchnorm, "BatchNorm after every hidden activation");
    app.add_option("--optimizer", optimizer, "optimizer")
        ->check(CLI::IsMember({"sgd", "momentum", "nesterov", "adam", "adamw"}))->capture_default_str();
    app.add_option("--lr", lr, "learning rate")->check(impl::positive())->capture_default_str();
    app.add_option("--epochs", epochs, "epochs in total (counting resumed ones)")->check(CLI::Range(1, 100000000))
        ->capture_default_str();
    app.add_option("--batch-size", batch_size, "global batch size")->check(CLI::Range(1, 100000000))
        ->capture_default_str();
    app.add_option("--seed", seed, "seed of the initialisation, split and shuffles")->capture_default_str();
    app.add_option("--val-fraction", val_fraction, "fraction of samples held out for validation")
        ->check(CLI::Range(0.0, 0.95))->capture_default_str();
    app.add_flag("--no-standardize", no_standardize, "keep the features as they are");
    auto* c = app.add_option("--checkpoint", checkpoint, "HDF5 checkpoint written after every epoch");
    auto* r = app.add_option("--resume", resume, "HDF5 checkpoint to resume from")->check(CLI::ExistingFile);
    app.add_flag("--resume-or-start", resume_or_start, "resume from --checkpoint if it exists, else start afresh")
        ->needs(c)->excludes(r);
    app.add_option("-o,--out", out, "directory for metrics.json")->capture_default_str();
    app.add_flag("--progress", progress, "progress bar within epochs");
    app.add_flag("-q,--quiet", quiet, "no per-epoch lines");
  }
  std::string validate() const {
    if (hidden.empty()) return "--hidden needs at least one layer size";
    return {};
  }
};


/// What parsing a command line came to.
struct Parsed {
  enum Status { run, help, error } status = run;
  std::string text;  ///< the help text, or the one-line error
};

/// \brief Parses `args` (without the program name) into `o`: CLI11's checks, then `o.validate()`.
/// Never prints and never throws for any input; the drivers and the fuzz target share it.
template <class Options>
Parsed parse_options(Options& o, const std::vector<std::string>& args) {
  CLI::App app{Options::description, Options::name};
  o.add_to(app);
  for (CLI::Option* opt : app.get_options()) {  // by the type CLI11 recorded for each option's variable
    std::string type = opt->get_type_name();  // e.g. "UINT:POSITIVE": the type, then the checks
    type = type.substr(0, type.find_first_of(": "));
    if (type == "UINT" || type == "INT") opt->check(impl::decimal_integer(type == "INT"));
    else if (type == "FLOAT") opt->check(impl::finite_number());
  }
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes a vector last-first
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    return {Parsed::help, app.help()};
  } catch (const CLI::ParseError& e) {
    return {Parsed::error, e.what()};
  }
  if (std::string msg = o.validate(); !msg.empty()) return {Parsed::error, msg};
  return {};
}

}  // namespace examples
}  // namespace nabla
