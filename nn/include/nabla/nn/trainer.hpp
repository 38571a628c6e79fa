/// \file trainer.hpp
/// \brief The training loop: one step = forward on the tape, loss, backward, (data parallel: gradients summed
/// over ranks), one fused optimizer kernel per parameter. fit() runs epochs over a DataLoader with a
/// progress bar (epoch, loss, samples/s) and per-epoch train/validation loss and accuracy, and checkpoints.
///
/// Determinism: every kernel in a step is either elementwise or reduces in a fixed serial order per
/// output (BatchNorm, bias gradients, losses), gemm assigns each output element to one thread, and shuffles
/// are counter-based; so the same seed gives bit-identical weights on any thread count (tested with 1 and
/// 2 threads), and a run resumed from a checkpoint continues bit-identically.
#pragma once

#include <nabla/core/progress.hpp>
#include <nabla/nn/chain.hpp>
#include <nabla/nn/checkpoint.hpp>
#include <nabla/nn/data.hpp>
#include <nabla/nn/distributed.hpp>
#include <nabla/nn/loss.hpp>
#include <nabla/nn/optimizer.hpp>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

namespace nabla {
namespace nn {

/// The loss a Trainer minimises (each the mean over the global batch).
enum class Loss {
  cross_entropy,         ///< softmax cross-entropy from logits (a final softmax layer is skipped), one-hot targets
  mse,                   ///< mean squared error of the outputs
  binary_cross_entropy,  ///< of probability outputs (e.g. a sigmoid layer) against 0/1 targets
};

/// Options of Trainer::fit.
struct FitOptions {
  std::size_t epochs = 10;        ///< train until this many epochs are complete (counting resumed ones)
  std::size_t batch_size = 128;   ///< global batch size (split over ranks)
  bool shuffle = true;
  bool drop_last = false;         ///< drop the last partial batch
  int verbose = 1;                ///< 0 quiet, 1 a line per epoch, 2 also a progress bar
  std::string checkpoint;         ///< if set, written (rank 0, atomically) after every `checkpoint_every` epochs
  std::size_t checkpoint_every = 1;
  std::ostream* out = &std::cout;
};

/// Metrics of one epoch (train metrics are over the epoch's batches, in training mode).
struct EpochMetrics {
  std::size_t epoch = 0;  ///< 1-based
  double train_loss = 0, train_accuracy = 0;
  double val_loss = NAN, val_accuracy = NAN;
  double seconds = 0, samples_per_second = 0;
};

/// \brief Trains a Chain with an Optimizer on one rank or, with a Collective, data-parallel over ranks.
template <class T>
class Trainer {
  static_assert(std::is_floating_point<T>::value, "nabla::nn::Trainer: T must be float or double");

 public:
  /// \param seed [in] the key of the shuffles (TrainState::key); \param comm [in] ranks to average over
  Trainer(Chain<T>& model, Optimizer<T>& opt, Loss loss = Loss::cross_entropy, std::uint64_t seed = 0,
          std::shared_ptr<Collective> comm = nullptr)
      : m_model(model), m_opt(opt), m_loss(loss), m_comm(std::move(comm)) {
    m_state.key = random::key(seed);
    m_model.set_collective(distributed() ? m_comm : nullptr);
    m_params = m_model.trainable_parameters();
  }

  bool distributed() const { return m_comm && m_comm->size() > 1; }
  int rank() const { return m_comm ? m_comm->rank() : 0; }
  TrainState& state() { return m_state; }
  ad::Tape& tape() { return m_tape; }

  /// \brief One optimisation step on this rank's (x, y) shard of a global batch of `global_batch` columns
  /// (0: x's columns). Returns this rank's share of the mean loss (summed over ranks: the batch loss).
  /// `hits`, if given, receives the correctly classified columns of the shard.
  double step(const Array<T, 2>& x, const Array<T, 2>& y, std::size_t global_batch = 0, long* hits = nullptr);

  /// \brief Mean loss and accuracy of the model in inference mode over a dataset (this rank's copy; chunks
  /// of `chunk` columns).
  std::pair<double, double> evaluate(const Dataset<T>& ds, std::size_t chunk = 4096);

  /// \brief Trains until `options.epochs` epochs are complete (continuing from state().epoch), evaluating
  /// on `val` (may be null) after each epoch; returns the metrics of the epochs run.
  std::vector<EpochMetrics> fit(const Dataset<T>& train, const Dataset<T>* val, const FitOptions& options);

  /// Writes a checkpoint of the model, optimizer and state (rank 0 only; a no-op on other ranks).
  void save(const std::string& path);
  /// \brief Records the settings this run must share with any checkpoint it resumes (saved with every
  /// checkpoint it writes); set them before resume() and fit(). See RunSettings.
  void set_settings(RunSettings settings) { m_state.settings = std::move(settings); }
  /// \brief Loads a checkpoint into the model and optimizer and continues from its epoch and key (every rank
  /// reads). The file must have been written with this trainer's settings (set_settings; none matches only a
  /// file without any): another value, or a key on one side only, is a ValueError naming them, and nothing changes.
  void resume(const std::string& path);

 private:
  ad::Var<T, 0> record_loss(const Array<T, 2>& x, const Array<T, 2>& y, Mode mode, bool differentiate,
                            std::size_t denominator, long* hits, ad::Tape* tp = nullptr);
  static double read(const Array<T, 0>& a) {
    T h;
    Kokkos::deep_copy(h, a.view());
    return double(h);
  }

  Chain<T>& m_model;
  Optimizer<T>& m_opt;
  Loss m_loss;
  std::shared_ptr<Collective> m_comm;
  TrainState m_state;
  ad::Tape m_tape, m_eval_tape;
  std::vector<Param<T>*> m_params;
  std::vector<Array<T, 2>> m_grads;
};

// Out of the class, so not inline: extern template then keeps programs from compiling them again (compilers
// instantiate inline members of an extern template for inlining).
template <class T>
double Trainer<T>::step(const Array<T, 2>& x, const Array<T, 2>& y, std::size_t global_batch, long* hits) {
  compat::Region region("nabla::nn::Trainer::step");
  m_tape.clear();
  auto loss = record_loss(x, y, Mode::train, true, global_batch, hits);
  m_tape.backward(loss);
  m_grads.clear();
  for (Param<T>* p : m_params) m_grads.push_back(m_tape.grad(p->var));
  if (distributed())
    for (auto& g : m_grads) m_comm->allreduce_sum(g);
  m_opt.step(m_params, m_grads);
  m_grads.clear();
  return read(loss.value());
}

template <class T>
std::pair<double, double> Trainer<T>::evaluate(const Dataset<T>& ds, std::size_t chunk) {
  compat::Region region("nabla::nn::Trainer::evaluate");
  const std::size_t n = ds.size();
  if (n == 0) return {NAN, NAN};
  double loss = 0;
  long hits = 0;
  for (std::size_t lo = 0; lo < n; lo += chunk) {
    const std::size_t hi = std::min(n, lo + chunk);
    Array<T, 2> x(Kokkos::subview(ds.x.view(), Kokkos::ALL, Kokkos::make_pair(lo, hi)));
    Array<T, 2> y(Kokkos::subview(ds.y.view(), Kokkos::ALL, Kokkos::make_pair(lo, hi)));
    m_eval_tape.clear();
    long h = 0;
    auto l = record_loss(x, y, Mode::test, false, n, &h, &m_eval_tape);
    loss += read(l.value());
    hits += h;
  }
  m_eval_tape.clear();
  return {loss, double(hits) / double(n)};
}

template <class T>
std::vector<EpochMetrics> Trainer<T>::fit(const Dataset<T>& train, const Dataset<T>* val, const FitOptions& options) {
  compat::Region region("nabla::nn::Trainer::fit");
  if (options.batch_size == 0) throw ValueError("nabla::nn::Trainer::fit: the batch size must be positive");
  if (m_model.output_features(train.features()) != train.targets())
    throw ShapeError(::nabla::impl::cat("nabla::nn::Trainer::fit: the model maps ", train.features(),
                                        " features to ", m_model.output_features(train.features()),
                                        " outputs but the targets have ", train.targets(), " rows"));
  impl::check_finite(train, "Trainer::fit", "training");
  if (val) impl::check_finite(*val, "Trainer::fit", "validation");
  if (distributed()) {  // a rank with other data or another model would sum gradients of different things
    m_comm->check_same(train.size(), "Trainer::fit", "number of training samples");
    m_comm->check_same(train.features(), "Trainer::fit", "number of features");
    m_comm->check_same(m_model.num_trainable(), "Trainer::fit", "number of trainable parameters");
    m_comm->check_same(options.batch_size, "Trainer::fit", "batch size");
    m_comm->check_same(options.epochs, "Trainer::fit", "number of epochs");
  }
  const int nranks = m_comm ? m_comm->size() : 1;
  if (distributed() && options.batch_size < std::size_t(nranks))
    throw ValueError(::nabla::impl::cat("nabla::nn::Trainer::fit: batch size ", options.batch_size, " < ", nranks,
                                        " ranks"));
  DataLoader<T> loader(train, options.batch_size, options.shuffle, m_state.key, options.drop_last, rank(), nranks);
  std::vector<EpochMetrics> history;
  const bool root = rank() == 0;
  std::ostream& os = *options.out;
  for (std::size_t e = std::size_t(m_state.epoch); e < options.epochs; ++e) {
    loader.start_epoch(e);
    Kokkos::Timer timer;
    double sums[2] = {0, 0};  // loss * samples, hits
    std::size_t seen = 0;
    const std::size_t nb = loader.num_batches();
    const ProgressBar bar(os, nb, 20, 20);
    for (std::size_t b = 0; b < nb; ++b) {
      const std::size_t gb = loader.global_batch_size(b);
      auto [x, y] = loader.batch(b);
      long hits = 0;
      const double l = step(x, y, gb, &hits);
      if (!std::isfinite(l))
        throw ValueError(::nabla::impl::cat("nabla::nn::Trainer: the loss is ", l, " at epoch ", e + 1, ", batch ",
                                            b + 1, " (rank ", rank(), "); lower the learning rate?"));
      sums[0] += l * double(gb);
      sums[1] += double(hits);
      seen += gb;
      if (options.verbose >= 2 && root && bar.due(b + 1))
        bar.draw(b + 1, ::nabla::impl::cat("epoch ", e + 1, "/", options.epochs, " "),
                 ::nabla::impl::cat(" loss ", sums[0] / double(seen), " ",
                                    std::size_t(double(seen) / timer.seconds()), " samples/s"));
    }
    if (distributed()) m_comm->allreduce_sum(sums, 2);
    Kokkos::fence();
    EpochMetrics m;
    m.epoch = e + 1;
    m.seconds = timer.seconds();
    m.samples_per_second = double(seen) / m.seconds;
    m.train_loss = sums[0] / double(seen);
    m.train_accuracy = sums[1] / double(seen);
    if (val && val->size() > 0) std::tie(m.val_loss, m.val_accuracy) = evaluate(*val);
    m_state.epoch = std::int64_t(e + 1);
    if (options.verbose >= 2 && root) bar.end(false);
    if (options.verbose >= 1 && root) {
      char line[256];
      std::snprintf(line, sizeof line,
                    "epoch %zu/%zu  loss %.6f  acc %.4f  val_loss %.6f  val_acc %.4f  %.0f samples/s\n", m.epoch,
                    options.epochs, m.train_loss, m.train_accuracy, m.val_loss, m.val_accuracy,
                    m.samples_per_second);
      os << line << std::flush;
    }
    if (!options.checkpoint.empty() && options.checkpoint_every > 0 &&
        ((e + 1) % options.checkpoint_every == 0 || e + 1 == options.epochs))
      save(options.checkpoint);
    history.push_back(m);
  }
  return history;
}

template <class T>
ad::Var<T, 0> Trainer<T>::record_loss(const Array<T, 2>& x, const Array<T, 2>& y, Mode mode, bool differentiate,
                                      std::size_t denominator, long* hits, ad::Tape* tp) {
  ad::Tape& tape = tp ? *tp : m_tape;
  auto xv = tape.constant(x);
  auto yv = tape.constant(y);
  const bool logits = m_loss == Loss::cross_entropy;
  auto out = m_model.forward(tape, xv, mode, differentiate, logits);
  if (hits) *hits = correct(out.value(), y);
  switch (m_loss) {
    case Loss::cross_entropy: return logit_cross_entropy(tape, out, yv, denominator);
    case Loss::mse: return mse(out, yv, denominator);
    case Loss::binary_cross_entropy: return binary_cross_entropy(out, yv, denominator);
  }
  throw ValueError("nabla::nn::Trainer: unknown loss");
}

template <class T>
void Trainer<T>::save(const std::string& path) {
  if (rank() == 0) save_checkpoint(path, m_model, &m_opt, m_state);
}

template <class T>
void Trainer<T>::resume(const std::string& path) {
  m_state = load_checkpoint(path, m_model, &m_opt, m_state.settings);
}

// Compiled once in libnabla_nn (nn/src/instantiate.cpp), not in every program that uses them.
extern template class Trainer<float>;
extern template class Trainer<double>;

}  // namespace nn
}  // namespace nabla
