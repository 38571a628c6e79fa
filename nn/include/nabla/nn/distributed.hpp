/// \file distributed.hpp
/// \brief Data parallelism: the collective operations the trainer and synchronised BatchNorm need, as a small
/// interface, with an MPI implementation when Nabla is built with MPI. Every rank takes a contiguous shard
/// of each global batch; gradients and batch statistics are summed over ranks.
#pragma once

#include <nabla/config.hpp>
#include <nabla/core/array.hpp>
#include <nabla/core/error.hpp>

#if NABLA_ENABLE_MPI
#include <nabla/core/mpi.hpp>
#endif

#include <cstddef>
#include <memory>

namespace nabla {
namespace nn {

/// \brief Sums over the ranks of a data-parallel job (host buffers, in place, every rank gets the result).
class Collective {
 public:
  virtual ~Collective() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual void allreduce_sum(double* data, std::size_t n) const = 0;
  virtual void allreduce_sum(float* data, std::size_t n) const = 0;

  /// Throws ValueError on every rank unless all ranks pass the same `n` (fn: the function, what: the quantity,
  /// for the message).
  virtual void check_same(std::size_t n, const char* fn, const char* what) const = 0;
  /// Sums a contiguous array over the ranks in place (device data is staged through the host).
  template <class T, int R, class S, class L>
  void allreduce_sum(const Array<T, R, S, L>& a) const {
    if (size() == 1) return;
    auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), a.view());
    allreduce_sum(h.data(), h.size());
    Kokkos::deep_copy(a.view(), h);
  }
};

/// \brief [first, last) of the `size` contiguous shards of n items that rank `rank` owns.
inline std::pair<std::size_t, std::size_t> shard(std::size_t n, int rank, int size) {
  return {n * std::size_t(rank) / std::size_t(size), n * std::size_t(rank + 1) / std::size_t(size)};
}

#if NABLA_ENABLE_MPI
/// \brief The collective over an MPI communicator.
class MpiCollective : public Collective {
 public:
  explicit MpiCollective(mpi::Comm comm = mpi::Comm()) : m_comm(comm) {}
  int rank() const override { return m_comm.rank(); }
  int size() const override { return m_comm.size(); }
  void allreduce_sum(double* data, std::size_t n) const override { reduce(data, n); }
  void allreduce_sum(float* data, std::size_t n) const override { reduce(data, n); }
  using Collective::allreduce_sum;
  void check_same(std::size_t n, const char* fn, const char* what) const override {
    m_comm.check_same(n, ::nabla::impl::cat("nabla::nn::", fn), what);
  }
  const mpi::Comm& comm() const { return m_comm; }

 private:
  template <class T>
  void reduce(T* data, std::size_t n) const {
    if (n == 0) return;
    mpi::impl::check(MPI_Allreduce(MPI_IN_PLACE, data, int(n), mpi::impl::datatype<T>(), MPI_SUM, m_comm.get()),
                     "MPI_Allreduce (nabla::nn)");
  }
  mpi::Comm m_comm;
};
#endif

}  // namespace nn
}  // namespace nabla
