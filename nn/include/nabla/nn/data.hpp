/// \file data.hpp
/// \brief Datasets of (features x samples, targets x samples) columns, one-hot encoding, seeded splits,
/// standardisation, and a DataLoader with seeded shuffling, batch size and kept or dropped last partial batch.
///
/// Shuffles are counter-based: the permutation of epoch e is a pure function of (key, e), computed on the
/// host (Fisher-Yates driven by Philox), so it is the same on any thread count, backend or MPI layout, and a
/// run resumed at epoch e sees the same batches as the uninterrupted one.
#pragma once

#include <nabla/core/array.hpp>
#include <nabla/core/create.hpp>
#include <nabla/core/error.hpp>
#include <nabla/core/random.hpp>
#include <nabla/nn/distributed.hpp>

#include <cmath>
#include <cstdint>
#include <numeric>
#include <utility>
#include <vector>

namespace nabla {
namespace nn {

/// \brief Features (n_features x n_samples) and targets (n_targets x n_samples), column j one sample.
template <class T>
struct Dataset {
  Array<T, 2> x;
  Array<T, 2> y;
  std::size_t size() const { return x.extent(1); }
  std::size_t features() const { return x.extent(0); }
  std::size_t targets() const { return y.extent(0); }
};

namespace impl {
template <class T>
struct GatherColumns {
  typename Array<T, 2>::view_type src, dst;
  Kokkos::View<const std::int64_t*> idx;
  std::size_t rows;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t c) const {
    const std::size_t from = std::size_t(idx(c));
    for (std::size_t r = 0; r < rows; ++r) dst(r, c) = src(r, from);
  }
};

template <class T>
void gather_columns(const Array<T, 2>& src, const Kokkos::View<const std::int64_t*>& idx, const Array<T, 2>& dst) {
  const std::size_t rows = src.extent(0);
  Kokkos::parallel_for("nabla::nn::gather",
                       Kokkos::RangePolicy<Kokkos::DefaultExecutionSpace, Kokkos::IndexType<std::size_t>>(
                           launch_space(rows * idx.extent(0)), 0, idx.extent(0)),
                       GatherColumns<T>{src.view(), dst.view(), idx, rows});
}

/// The first (sample-major) position of a NaN or infinity in `a`, or SIZE_MAX; one reduction kernel.
template <class T>
std::size_t first_non_finite(const Array<T, 2>& a) {
  const auto v = a.view();
  const std::size_t rows = v.extent(0);
  std::size_t first = SIZE_MAX;
  Kokkos::parallel_reduce(
      "nabla::nn::check_finite",
      Kokkos::RangePolicy<Kokkos::DefaultExecutionSpace, Kokkos::IndexType<std::size_t>>(launch_space(v.size()), 0, v.extent(1)),
      KOKKOS_LAMBDA(std::size_t j, std::size_t & m) {
        for (std::size_t i = 0; i < rows; ++i) {
          const T d = v(i, j) - v(i, j);  // NaN exactly when v(i, j) is NaN or infinite
          if (!(d == T(0)) && j * rows + i < m) m = j * rows + i;
        }
      },
      Kokkos::Min<std::size_t>(first));
  return first;
}

/// Throws ValueError naming the sample and feature of the first non-finite feature or target in `ds`.
template <class T>
void check_finite(const Dataset<T>& ds, const char* fn, const char* which) {
  for (const auto* a : {&ds.x, &ds.y}) {
    const std::size_t at = first_non_finite(*a);
    if (at == SIZE_MAX) continue;
    const std::size_t rows = a->extent(0), i = at % rows, j = at / rows;
    T value;
    Kokkos::deep_copy(value, Kokkos::subview(a->view(), i, j));
    throw ValueError(::nabla::impl::cat("nabla::nn::", fn, ": the ", which, " data hold ", value, " at ",
                                        a == &ds.x ? "feature " : "target ", i, " of sample ", j,
                                        " (0-based); clean or impute it first"));
  }
}

inline void check_dataset_shapes(std::size_t nx, std::size_t ny, const char* fn) {
  if (nx != ny)
    throw ShapeError(::nabla::impl::cat("nabla::nn::", fn, ": features have ", nx, " samples (columns) but targets ",
                                        ny));
}
}  // namespace impl

/// \brief Fisher-Yates permutation of 0..n-1 driven by the counter-based stream of `key` (host).
inline std::vector<std::int64_t> permutation(const random::Key& key, std::size_t n) {
  std::vector<std::int64_t> p(n);
  std::iota(p.begin(), p.end(), std::int64_t(0));
  random::shuffle(key, p.data(), n);
  return p;
}

/// \brief The samples of `ds` at the given column indices, in that order (one gather kernel per array).
template <class T>
Dataset<T> subset(const Dataset<T>& ds, const std::vector<std::int64_t>& index) {
  Kokkos::View<std::int64_t*> idx("nabla::nn::subset::index", index.size());
  Kokkos::deep_copy(idx, Kokkos::View<const std::int64_t*, Kokkos::HostSpace, Kokkos::MemoryUnmanaged>(
                             index.data(), index.size()));
  Dataset<T> out{Array<T, 2>(Shape<2>{ds.features(), index.size()}, "nabla::nn::subset::x"),
                 Array<T, 2>(Shape<2>{ds.targets(), index.size()}, "nabla::nn::subset::y")};
  for (auto i : index)
    if (i < 0 || std::size_t(i) >= ds.size())
      throw ValueError(::nabla::impl::cat("nabla::nn::subset: index ", i, " outside 0..", ds.size() - 1));
  if (!index.empty()) {
    impl::gather_columns(ds.x, idx, out.x);
    impl::gather_columns(ds.y, idx, out.y);
  }
  return out;
}

/// \brief Shuffles (with `key`) and splits into (train, validation), validation the last
/// round(fraction * n) samples of the shuffled order. fraction in [0, 1).
template <class T>
std::pair<Dataset<T>, Dataset<T>> train_val_split(const Dataset<T>& ds, double fraction, const random::Key& key) {
  impl::check_dataset_shapes(ds.x.extent(1), ds.y.extent(1), "train_val_split");
  if (!(fraction >= 0 && fraction < 1))
    throw ValueError(::nabla::impl::cat("nabla::nn::train_val_split: the validation fraction must be in [0, 1), got ",
                                        fraction));
  const std::size_t n = ds.size(), nval = std::size_t(std::llround(fraction * double(n)));
  if (n - nval == 0) throw ValueError("nabla::nn::train_val_split: no training samples left");
  const auto p = permutation(key, n);
  return {subset(ds, std::vector<std::int64_t>(p.begin(), p.end() - std::ptrdiff_t(nval))),
          subset(ds, std::vector<std::int64_t>(p.end() - std::ptrdiff_t(nval), p.end()))};
}

/// \brief One-hot columns (classes x n) of integer labels in [0, classes); throws naming a bad label.
template <class T>
Array<T, 2> one_hot(const std::vector<int>& labels, std::size_t classes) {
  Kokkos::View<T**, Kokkos::LayoutLeft, Kokkos::HostSpace> h("nabla::nn::one_hot", classes, labels.size());
  for (std::size_t j = 0; j < labels.size(); ++j) {
    if (labels[j] < 0 || std::size_t(labels[j]) >= classes)
      throw ValueError(::nabla::impl::cat("nabla::nn::one_hot: label ", labels[j], " of sample ", j, " is outside 0..",
                                          classes - 1));
    h(std::size_t(labels[j]), j) = T(1);
  }
  Array<T, 2> out(Shape<2>{classes, labels.size()}, "nabla::nn::one_hot");
  Kokkos::deep_copy(out.view(), h);
  return out;
}

/// \brief Per-feature standardisation (x - mean) / std, fitted on one dataset (the training split) and
/// applied to any (a feature with zero spread keeps std 1).
template <class T>
class Standardizer {
 public:
  Standardizer() = default;
  /// Fits the mean and (population) standard deviation of each row of x, on the host in a fixed order.
  explicit Standardizer(const Array<T, 2>& x) {
    auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), x.view());
    const std::size_t f = h.extent(0), n = h.extent(1);
    if (n == 0) throw ValueError("nabla::nn::Standardizer: no samples to fit");
    m_mean.assign(f, 0.0);
    m_std.assign(f, 0.0);
    for (std::size_t i = 0; i < f; ++i) {
      double s = 0;
      for (std::size_t j = 0; j < n; ++j) s += double(h(i, j));
      const double mu = s / double(n);
      double v = 0;
      for (std::size_t j = 0; j < n; ++j) v += (double(h(i, j)) - mu) * (double(h(i, j)) - mu);
      const double sd = std::sqrt(v / double(n));
      m_mean[i] = mu;
      m_std[i] = sd > 0 ? sd : 1.0;
    }
  }
  /// Standardises x in place (rows must match the fitted features).
  void apply(const Array<T, 2>& x) const {
    if (x.extent(0) != m_mean.size())
      throw ShapeError(::nabla::impl::cat("nabla::nn::Standardizer: fitted on ", m_mean.size(), " features, given ",
                                          x.extent(0)));
    auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), x.view());
    for (std::size_t j = 0; j < h.extent(1); ++j)
      for (std::size_t i = 0; i < h.extent(0); ++i) h(i, j) = T((double(h(i, j)) - m_mean[i]) / m_std[i]);
    Kokkos::deep_copy(x.view(), h);
  }
  const std::vector<double>& mean() const { return m_mean; }
  const std::vector<double>& stddev() const { return m_std; }

 private:
  std::vector<double> m_mean, m_std;
};

/// \brief Mini-batches over a Dataset: seeded shuffling per epoch, batch size, last partial batch kept or
/// dropped, and (data parallel) this rank's contiguous shard of every global batch. Batches are gathered
/// into buffers reused across batches (one kernel per batch and array).
template <class T>
class DataLoader {
 public:
  /// \param batch_size [in] samples per GLOBAL batch (> 0); \param key [in] shuffle key (epoch e uses
  /// fold_in(key, e)); \param rank, size [in] this rank's shard of each batch
  DataLoader(Dataset<T> data, std::size_t batch_size, bool shuffle = true, const random::Key& key = random::key(0),
             bool drop_last = false, int rank = 0, int size = 1)
      : m_data(std::move(data)), m_batch(batch_size), m_shuffle(shuffle), m_key(key), m_drop_last(drop_last),
        m_rank(rank), m_size(size) {
    impl::check_dataset_shapes(m_data.x.extent(1), m_data.y.extent(1), "DataLoader");
    if (batch_size == 0) throw ValueError("nabla::nn::DataLoader: the batch size must be positive");
    if (size < 1 || rank < 0 || rank >= size)
      throw ValueError(::nabla::impl::cat("nabla::nn::DataLoader: rank ", rank, " of ", size, " is not valid"));
    if (drop_last && m_data.size() < batch_size)
      throw ValueError(::nabla::impl::cat("nabla::nn::DataLoader: ", m_data.size(), " samples make no full batch of ",
                                          batch_size, " (drop_last)"));
    const std::size_t cap = shard(batch_size, rank, size).second - shard(batch_size, rank, size).first;
    m_bx = Array<T, 2>(Shape<2>{m_data.features(), cap}, "nabla::nn::DataLoader::x");
    m_by = Array<T, 2>(Shape<2>{m_data.targets(), cap}, "nabla::nn::DataLoader::y");
    m_idx = Kokkos::View<std::int64_t*>("nabla::nn::DataLoader::index", m_data.size());
    start_epoch(0);
  }

  /// Number of global batches per epoch.
  std::size_t num_batches() const {
    const std::size_t n = m_data.size();
    return m_drop_last ? n / m_batch : (n + m_batch - 1) / m_batch;
  }
  std::size_t batch_size() const { return m_batch; }
  const Dataset<T>& data() const { return m_data; }
  const random::Key& key() const { return m_key; }

  /// Sets the sample order of `epoch` (identity without shuffling).
  void start_epoch(std::size_t epoch) {
    std::vector<std::int64_t> p;
    if (m_shuffle) p = permutation(random::fold_in(m_key, epoch), m_data.size());
    else {
      p.resize(m_data.size());
      std::iota(p.begin(), p.end(), std::int64_t(0));
    }
    Kokkos::deep_copy(m_idx, Kokkos::View<const std::int64_t*, Kokkos::HostSpace, Kokkos::MemoryUnmanaged>(
                                 p.data(), p.size()));
  }

  /// Size of global batch i (the last one may be partial).
  std::size_t global_batch_size(std::size_t i) const {
    const std::size_t first = i * m_batch;
    return std::min(m_batch, m_data.size() - first);
  }

  /// \brief This rank's shard of global batch i as (x, y) views of reused buffers (valid until the next call).
  std::pair<Array<T, 2>, Array<T, 2>> batch(std::size_t i) {
    if (i >= num_batches())
      throw ValueError(::nabla::impl::cat("nabla::nn::DataLoader: batch ", i, " of ", num_batches()));
    const std::size_t gsize = global_batch_size(i);
    const auto [lo, hi] = shard(gsize, m_rank, m_size);
    const std::size_t first = i * m_batch + lo, n = hi - lo;
    auto idx = Kokkos::subview(m_idx, Kokkos::make_pair(first, first + n));
    Array<T, 2> bx(Kokkos::subview(m_bx.view(), Kokkos::ALL, Kokkos::make_pair(std::size_t(0), n)));
    Array<T, 2> by(Kokkos::subview(m_by.view(), Kokkos::ALL, Kokkos::make_pair(std::size_t(0), n)));
    if (n > 0) {
      impl::gather_columns(m_data.x, idx, bx);
      impl::gather_columns(m_data.y, idx, by);
    }
    return {bx, by};
  }

 private:
  Dataset<T> m_data;
  std::size_t m_batch;
  bool m_shuffle;
  random::Key m_key;
  bool m_drop_last;
  int m_rank, m_size;
  Array<T, 2> m_bx, m_by;
  Kokkos::View<std::int64_t*> m_idx;
};

// Compiled once in libnabla_nn (nn/src/instantiate.cpp), not in every program that uses them.
extern template class Standardizer<float>;
extern template class Standardizer<double>;
extern template class DataLoader<float>;
extern template class DataLoader<double>;

}  // namespace nn
}  // namespace nabla
