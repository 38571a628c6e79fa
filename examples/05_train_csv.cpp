/// \file 05_train_csv.cpp
/// \brief Example 5: train an MLP classifier on a CSV file (features + a label column), Flux-quickstart style.
///
/// Reads the CSV (strict: errors name file, line and column), splits off a seeded validation set,
/// standardises with the training statistics, builds Dense(hidden..., activation) [+ BatchNorm] => classes
/// with a softmax, and trains with the chosen optimizer on the fused cross-entropy. Prints per-epoch
/// metrics, writes a checkpoint if asked (and resumes from one), and the final metrics as JSON. Under
/// mpirun every rank takes a shard of each batch (synchronised BatchNorm, gradients summed).
///
///   ./05_train_csv examples/data/blobs3.csv --label colour --hidden 16,16 --epochs 30 --out out/train_csv
#include "common/driver.hpp"

#include <nabla/nn.hpp>

#include <filesystem>
#include <memory>

namespace nn = nabla::nn;

int main(int argc, char** argv) {
  nabla::mpi::Environment mpi(argc, argv);
  nabla::compat::translate_kokkos_args(argc, argv);
  Kokkos::ScopeGuard kokkos(argc, argv);
  nabla::mpi::Comm comm;

  CLI::App app{"Train an MLP classifier on a CSV file (numeric feature columns and one label column).",
               "05_train_csv"};
  std::string data, label = "label", activation = "relu", optimizer = "adam", checkpoint, resume;
  std::string out_dir = "out/train_csv";
  std::vector<std::size_t> hidden = {16, 16};
  double lr = 1e-2, val_fraction = 0.2;
  std::size_t epochs = 50, batch_size = 128;
  std::uint64_t seed = 0;
  bool batchnorm = false, quiet = false, progress = false, no_standardize = false;
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
  app.add_option("--lr", lr, "learning rate")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--epochs", epochs, "epochs in total (counting resumed ones)")->check(CLI::Range(1, 100000000))
      ->capture_default_str();
  app.add_option("--batch-size", batch_size, "global batch size")->check(CLI::Range(1, 100000000))->capture_default_str();
  app.add_option("--seed", seed, "seed of the initialisation, split and shuffles")->capture_default_str();
  app.add_option("--val-fraction", val_fraction, "fraction of samples held out for validation")
      ->check(CLI::Range(0.0, 0.95))->capture_default_str();
  app.add_flag("--no-standardize", no_standardize, "keep the features as they are");
  app.add_option("--checkpoint", checkpoint, "HDF5 checkpoint written after every epoch");
  app.add_option("--resume", resume, "HDF5 checkpoint to resume from")->check(CLI::ExistingFile);
  app.add_option("-o,--out", out_dir, "directory for metrics.json")->capture_default_str();
  app.add_flag("--progress", progress, "progress bar within epochs");
  app.add_flag("-q,--quiet", quiet, "no per-epoch lines");
  if (int rc = nabla::examples::parse(app, argc, argv); rc >= 0) return rc;

  return nabla::mpi::run_or_abort(comm, [&] {
    const auto key = nabla::random::key(seed);
    nn::CsvOptions csv_opts;
    csv_opts.label_column = label;
    const auto table = nn::read_csv(data, csv_opts);
    auto [train, val] = nn::train_val_split(nn::to_dataset<float>(table), val_fraction, nabla::random::split(key, 0));
    if (!no_standardize) {
      nn::Standardizer<float> st(train.x);
      st.apply(train.x);
      if (val.size() > 0) st.apply(val.x);
    }

    auto model = nn::mlp<float>(table.num_features(), hidden, table.classes.size(),
                                nn::activation_from_string(activation), batchnorm, true);
    model.init(nabla::random::split(key, 1));
    std::unique_ptr<nn::Optimizer<float>> opt;
    if (optimizer == "sgd") opt = std::make_unique<nn::SGD<float>>(lr);
    else if (optimizer == "momentum") opt = std::make_unique<nn::SGD<float>>(lr, 0.9);
    else if (optimizer == "nesterov") opt = std::make_unique<nn::SGD<float>>(lr, 0.9, true);
    else if (optimizer == "adam") opt = std::make_unique<nn::Adam<float>>(lr);
    else opt = std::make_unique<nn::AdamW<float>>(lr);

    std::shared_ptr<nn::Collective> collective;
    if (comm.size() > 1) collective = std::make_shared<nn::MpiCollective>(comm);
    nn::Trainer<float> trainer(model, *opt, nn::Loss::cross_entropy, seed, collective);
    if (!resume.empty()) {
      trainer.resume(resume);
      comm.print("resumed from ", resume, " at epoch ", trainer.state().epoch, "\n");
    }

    comm.print("data:  ", data, ": ", table.rows, " rows, ", table.num_features(), " features, ", table.classes.size(),
               " classes (label '", table.label_name, "'); ", train.size(), " train / ", val.size(), " validation\n");
    comm.print("model: ", model.summary());
    comm.print("train: ", opt->type(), " lr ", lr, ", batch ", batch_size, ", ", epochs, " epochs on ", comm.size(),
               " rank(s) x ", Kokkos::DefaultExecutionSpace::concurrency(), " thread(s)\n");

    if (!checkpoint.empty() && comm.is_root()) {
      const auto dir = std::filesystem::path(checkpoint).parent_path();
      if (!dir.empty()) nabla::io::make_directories(dir.string());
    }
    nn::FitOptions fo;
    fo.epochs = epochs;
    fo.batch_size = batch_size;
    fo.verbose = quiet ? 0 : (progress ? 2 : 1);
    fo.checkpoint = checkpoint;
    auto history = trainer.fit(train, val.size() > 0 ? &val : nullptr, fo);
    const auto last = history.empty() ? nn::EpochMetrics{} : history.back();
    const auto [val_loss, val_acc] = val.size() > 0 ? trainer.evaluate(val) : std::make_pair(double(NAN), double(NAN));
    const auto [train_loss, train_acc] = trainer.evaluate(train);
    char line[256];
    std::snprintf(line, sizeof line, "final: train_loss %.6f train_accuracy %.4f val_loss %.6f val_accuracy %.4f\n",
                  train_loss, train_acc, val_loss, val_acc);
    comm.print(line);
    if (comm.is_root()) {
      nabla::io::make_directories(out_dir);
      nabla::examples::Summary s;
      s.set("data", data);
      s.set("epochs", double(trainer.state().epoch));
      s.set("train_loss", train_loss);
      s.set("train_accuracy", train_acc);
      if (val.size() > 0) {
        s.set("val_loss", val_loss);
        s.set("val_accuracy", val_acc);
      }
      s.set("samples_per_second", last.samples_per_second);
      s.set("trainable_parameters", double(model.num_trainable()));
      s.set("ranks", double(comm.size()));
      s.set("threads", double(Kokkos::DefaultExecutionSpace::concurrency()));
      s.write(out_dir + "/metrics.json");
      comm.print("wrote ", out_dir, "/metrics.json\n");
    }
  });
}
