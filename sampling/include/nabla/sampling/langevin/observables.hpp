/// \file observables.hpp
/// \brief Observables of Langevin trajectories: transitions between wells, histograms, mean kinetic energy.
#pragma once

#include <nabla/sampling/langevin/baoab.hpp>

#include <cstdint>
#include <vector>

namespace nabla {
namespace sampling {

/// \brief A histogram on [lo, hi) with equal bins; `below`/`above` count values outside.
struct Histogram {
  double lo = 0, hi = 1;
  std::vector<std::int64_t> counts;
  std::int64_t below = 0, above = 0;
  std::size_t bins() const { return counts.size(); }
  double width() const { return (hi - lo) / double(counts.size()); }
  double center(std::size_t i) const { return lo + (double(i) + 0.5) * width(); }
  std::int64_t total() const;
  /// Probability density of bin i (normalised by all values, including those outside).
  double density(std::size_t i) const { return double(counts[i]) / (double(total()) * width()); }
};
inline std::int64_t Histogram::total() const {
  std::int64_t n = below + above;
  for (auto c : counts) n += c;
  return n;
}

namespace impl {
struct TransitionKernel {
  View3 x;
  int dim;
  double lower, upper;
  Kokkos::View<std::int64_t*, DefaultMemorySpace> out;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t w) const {
    int side = 0;
    std::int64_t n = 0;
    for (std::size_t s = 0; s < x.extent(2); ++s) {
      const double y = x(w, dim, s);
      const int now = y < lower ? -1 : (y > upper ? 1 : 0);
      if (now != 0) {
        if (side != 0 && now != side) ++n;
        side = now;
      }
    }
    out(w) = n;
  }
};

struct HistogramKernel {
  View3 x;
  int dim;
  double lo, inv_width;
  Kokkos::View<std::int64_t*, DefaultMemorySpace> counts;  // bins + 2: [below, bins..., above]
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t i) const {
    const std::size_t W = x.extent(0);
    const double y = x(i % W, dim, i / W);
    const std::int64_t nb = std::int64_t(counts.extent(0)) - 2;
    const double f = (y - lo) * inv_width;
    std::int64_t b = f < 0.0 ? -1 : (f >= double(nb) ? nb : std::int64_t(f));
    if (!(y == y)) b = nb;  // NaN counts as above
    Kokkos::atomic_add(&counts(std::size_t(b + 1)), std::int64_t(1));
  }
};

struct KineticSum {
  View3 v;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t i, double& acc) const {
    const std::size_t W = v.extent(0);
    const std::size_t w = i % W, s = i / W;
    for (std::size_t d = 0; d < v.extent(1); ++d) acc += v(w, d, s) * v(w, d, s);
  }
};
}  // namespace impl

/// \brief Transitions between wells per walker: coordinate `dim` counts as in the left well below `lower` and in
/// the right well above `upper` (the gap between is a hysteresis band so noise at the barrier is not counted).
inline Array<std::int64_t, 1> count_transitions(const Array<double, 3>& x, double lower, double upper, int dim = 0) {
  const char* who = "nabla::sampling::count_transitions";
  if (!(lower <= upper)) throw ValueError(nabla::impl::cat(who, ": need lower <= upper, got ", lower, " > ", upper));
  if (dim < 0 || std::size_t(dim) >= x.extent(1))
    throw ValueError(nabla::impl::cat(who, ": dim ", dim, " is out of range for ", to_string(x.shape())));
  Array<std::int64_t, 1> out({x.extent(0)}, "nabla::sampling::count_transitions");
  Kokkos::View<std::int64_t*, DefaultMemorySpace> o(out.data(), x.extent(0));
  Kokkos::parallel_for(who, Kokkos::RangePolicy<Kokkos::IndexType<std::size_t>>(default_instance(), 0, x.extent(0)),
                       impl::TransitionKernel{x.view(), dim, lower, upper, o});
  return out;
}

/// \brief Histogram of coordinate `dim` over all walkers and saved points, `bins` bins on [lo, hi).
inline Histogram histogram(const Array<double, 3>& x, double lo, double hi, std::size_t bins, int dim = 0) {
  const char* who = "nabla::sampling::histogram";
  if (bins == 0) throw ValueError(nabla::impl::cat(who, ": bins must be >= 1, got 0"));
  if (!(lo < hi) || !std::isfinite(lo) || !std::isfinite(hi))
    throw ValueError(nabla::impl::cat(who, ": need finite lo < hi, got [", lo, ", ", hi, ")"));
  if (dim < 0 || std::size_t(dim) >= x.extent(1))
    throw ValueError(nabla::impl::cat(who, ": dim ", dim, " is out of range for ", to_string(x.shape())));
  Kokkos::View<std::int64_t*, DefaultMemorySpace> c("nabla::sampling::histogram::counts", bins + 2);
  const std::size_t n = x.extent(0) * x.extent(2);
  Kokkos::parallel_for(who, Kokkos::RangePolicy<Kokkos::IndexType<std::size_t>>(default_instance(), 0, n),
                       impl::HistogramKernel{x.view(), dim, lo, double(bins) / (hi - lo), c});
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), c);
  Histogram r;
  r.lo = lo;
  r.hi = hi;
  r.below = h(0);
  r.above = h(bins + 1);
  r.counts.assign(h.data() + 1, h.data() + 1 + bins);
  return r;
}

/// \brief Mean kinetic energy ½ m |v|² over all walkers and saved points of velocities v (walkers × dims × saved).
inline double mean_kinetic_energy(const Array<double, 3>& v, double mass = 1.0) {
  const char* who = "nabla::sampling::mean_kinetic_energy";
  if (!(mass > 0.0)) throw ValueError(nabla::impl::cat(who, ": mass must be > 0, got ", mass));
  const std::size_t n = v.extent(0) * v.extent(2);
  if (n == 0) throw ValueError(nabla::impl::cat(who, ": no velocities (shape ", to_string(v.shape()), ")"));
  double s = 0.0;
  Kokkos::parallel_reduce(who, Kokkos::RangePolicy<Kokkos::IndexType<std::size_t>>(default_instance(), 0, n),
                          impl::KineticSum{v.view()}, s);
  return 0.5 * mass * s / double(n);
}

}  // namespace sampling
}  // namespace nabla
