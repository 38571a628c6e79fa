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
  nabla::ScopeGuard runtime(argc, argv);
  nabla::mpi::Comm comm;

  nabla::examples::TrainCsvOptions o;
  if (int rc = nabla::examples::parse(o, argc, argv); rc >= 0) return rc;

  return nabla::mpi::run_or_abort(comm, [&] {
    const auto key = nabla::random::key(o.seed);
    nn::CsvOptions csv_opts;
    csv_opts.label_column = o.label;
    const auto table = nn::read_csv(o.data, csv_opts);
    const auto all = nn::to_dataset<float>(table);
    // What a checkpoint must share with this run to be resumed by it: the data and everything that splits,
    // scales or defines the model beyond its shapes (the optimizer's type is checked by the checkpoint itself).
    const nn::RunSettings settings{{"data", nn::fingerprint(all.x, all.y)},
                                   {"label", o.label},
                                   {"seed", std::to_string(o.seed)},
                                   {"val_fraction", nabla::examples::exact(o.val_fraction)},
                                   {"standardize", o.no_standardize ? "no" : "yes"},
                                   {"activation", o.activation}};
    auto [train, val] = nn::train_val_split(all, o.val_fraction, nabla::random::split(key, 0));
    if (!o.no_standardize) {
      nn::Standardizer<float> st(train.x);
      st.apply(train.x);
      if (val.size() > 0) st.apply(val.x);
    }

    auto model = nn::mlp<float>(table.num_features(), o.hidden, table.classes.size(),
                                nn::activation_from_string(o.activation), o.batchnorm, true);
    model.init(nabla::random::split(key, 1));
    std::unique_ptr<nn::Optimizer<float>> opt;
    if (o.optimizer == "sgd") opt = std::make_unique<nn::SGD<float>>(o.lr);
    else if (o.optimizer == "momentum") opt = std::make_unique<nn::SGD<float>>(o.lr, 0.9);
    else if (o.optimizer == "nesterov") opt = std::make_unique<nn::SGD<float>>(o.lr, 0.9, true);
    else if (o.optimizer == "adam") opt = std::make_unique<nn::Adam<float>>(o.lr);
    else opt = std::make_unique<nn::AdamW<float>>(o.lr);

    std::shared_ptr<nn::Collective> collective;
    if (comm.size() > 1) collective = std::make_shared<nn::MpiCollective>(comm);
    nn::Trainer<float> trainer(model, *opt, nn::Loss::cross_entropy, o.seed, collective);
    trainer.set_settings(settings);
    std::string resume = o.resume;
    if (o.resume_or_start) {  // rank 0 decides, so ranks whose file systems disagree still act alike
      std::error_code ec;
      if (comm.broadcast(int(comm.is_root() && std::filesystem::exists(o.checkpoint, ec)))) resume = o.checkpoint;
    }
    if (!resume.empty()) {
      trainer.resume(resume);
      comm.print("resumed from ", resume, " at epoch ", trainer.state().epoch, "\n");
    }

    comm.print("data:  ", o.data, ": ", table.rows, " rows, ", table.num_features(), " features, ", table.classes.size(),
               " classes (label '", table.label_name, "'); ", train.size(), " train / ", val.size(), " validation\n");
    comm.print("model: ", model.summary());
    comm.print("train: ", opt->type(), " lr ", o.lr, ", batch ", o.batch_size, ", ", o.epochs, " epochs on ", comm.size(),
               " rank(s) x ", Kokkos::DefaultExecutionSpace().concurrency(), " thread(s)\n");

    if (!o.checkpoint.empty() && comm.is_root()) {
      const auto dir = std::filesystem::path(o.checkpoint).parent_path();
      if (!dir.empty()) nabla::io::make_directories(dir.string());
    }
    nn::FitOptions fo;
    fo.epochs = o.epochs;
    fo.batch_size = o.batch_size;
    fo.verbose = o.quiet ? 0 : (o.progress ? 2 : 1);
    fo.checkpoint = o.checkpoint;
    auto history = trainer.fit(train, val.size() > 0 ? &val : nullptr, fo);
    const auto last = history.empty() ? nn::EpochMetrics{} : history.back();
    const auto [val_loss, val_acc] = val.size() > 0 ? trainer.evaluate(val) : std::make_pair(double(NAN), double(NAN));
    const auto [train_loss, train_acc] = trainer.evaluate(train);
    char line[256];
    std::snprintf(line, sizeof line, "final: train_loss %.6f train_accuracy %.4f val_loss %.6f val_accuracy %.4f\n",
                  train_loss, train_acc, val_loss, val_acc);
    comm.print(line);
    if (comm.is_root()) {
      nabla::io::make_directories(o.out);
      nabla::examples::Summary s;
      s.set("data", o.data);
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
      s.set("threads", double(Kokkos::DefaultExecutionSpace().concurrency()));
      s.write(o.out + "/metrics.json");
      comm.print("wrote ", o.out, "/metrics.json\n");
    }
  });
}
