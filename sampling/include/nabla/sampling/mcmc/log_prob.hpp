/// \file log_prob.hpp
/// \brief The two forms of an MCMC log-probability: a per-walker device functor
/// `KOKKOS_INLINE_FUNCTION double operator()(const WalkerPoint& x) const`, or a batched host callable that fills
/// the log-probabilities of many walkers at once (BatchLogProb).
#pragma once

#include <nabla/config.hpp>
#include <nabla/core/array.hpp>

#include <functional>

namespace nabla {
namespace sampling {

/// \brief One walker's parameters inside a per-walker log_prob functor: x[i] for i < x.size().
struct WalkerPoint {
  const double* p;
  std::size_t stride;
  int n;
  KOKKOS_INLINE_FUNCTION double operator[](int i) const { return p[std::size_t(i) * stride]; }
  KOKKOS_INLINE_FUNCTION int size() const { return n; }
};

/// The batched form of a log-probability: fill log_prob(i) for every row i of positions (walkers × ndim).
using BatchLogProb = std::function<void(const Array<double, 2>& positions, Array<double, 1>& log_prob)>;

namespace impl {
template <class F>
struct PerWalkerLogProb {
  F f;
  Array<double, 2>::view_type x;
  Array<double, 1>::view_type out;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t i) const {
    out(i) = f(WalkerPoint{&x(i, 0), x.stride(1), int(x.extent(1))});
  }
};

/// out(i) = f(row i of x) for every row, in one kernel on `space`.
template <class F, class Space>
void per_walker_log_prob(const Space& space, const F& f, const Array<double, 2>::view_type& x,
                         const Array<double, 1>::view_type& out) {
  if (x.extent(0) == 0) return;
  Kokkos::parallel_for("nabla::sampling::log_prob",
                       Kokkos::RangePolicy<Space, Kokkos::IndexType<std::size_t>>(space, 0, x.extent(0)),
                       PerWalkerLogProb<F>{f, x, out});
}

/// Wraps a per-walker functor into a batched log_prob (one kernel per evaluated batch).
template <class F>
BatchLogProb batch_log_prob(F f) {
  return [f](const Array<double, 2>& x, Array<double, 1>& out) {
    per_walker_log_prob(default_instance(), f, x.view(), out.view());
  };
}
}  // namespace impl

}  // namespace sampling
}  // namespace nabla
