/// \file half_step.hpp
/// \brief What a move sees of the ensemble in one half-step (sub-ensemble k of S): the state, the proposal rows,
/// the walkers' random streams, and which walkers form each sub-ensemble. The moves (moves/*.hpp) read the state
/// and write proposals through it; the launch engine (impl/block.hpp) accepts and records.
#pragma once

#include <nabla/config.hpp>
#include <nabla/core/array.hpp>
#include <nabla/core/random.hpp>

#include <cstdint>
#include <string>

namespace nabla {
namespace sampling {
namespace impl {

/// Walkers in sub-ensemble k of S.
KOKKOS_INLINE_FUNCTION std::size_t split_size(std::size_t nwalkers, std::size_t k, std::size_t S) {
  return (nwalkers - k + S - 1) / S;
}

/// Groups of L walkers that n walkers make (the last one may be partial).
template <int L>
KOKKOS_INLINE_FUNCTION std::size_t groups_of(std::size_t n) {
  return (n + L - 1) / L;
}
/// Walkers in the group of L from walker i0 (i0 < n) of n.
template <int L>
KOKKOS_INLINE_FUNCTION std::size_t group_size(std::size_t n, std::size_t i0) {
  return n - i0 < std::size_t(L) ? n - i0 : std::size_t(L);
}

/// The ensemble as the moves' kernels see it: state x, proposal rows q, their log-probabilities, scratch of the
/// half-step launches (factor, log u), acceptance flags and each walker's key keys(w) = fold_in(key(seed), w).
/// `Layout` is that of x and q (walker × dim).
template <class Layout>
struct EnsembleViews {
  using layout = Layout;
  Kokkos::View<double**, Layout, DefaultMemorySpace> x, q;
  Array<double, 1>::view_type lp, lq, factor, logu;
  Kokkos::View<std::uint8_t*, DefaultMemorySpace> accepted;
  Kokkos::View<const random::Key*, DefaultMemorySpace> keys;
};

/// \brief Half-step k of S of step `step`. Walker positions p = 0 .. nwalkers - 1 are dealt to the sub-ensembles
/// in turn (position p to sub-ensemble p mod S); position p holds walker p (the fixed even/odd split) or, when
/// `Scattered`, walker order[p] of the step's permutation (a random split). Member i of this sub-ensemble proposes
/// into row i of q; each walker w draws from its stream keys(w) at counter `step`. Whether the split is scattered
/// is a type, not a flag, so the fixed split's kernels index walkers with arithmetic alone.
template <class Layout, bool Scattered>
struct HalfStep : EnsembleViews<Layout> {
  static constexpr bool scattered = Scattered;
  const std::uint32_t* order = nullptr;  // device memory, nwalkers entries (Scattered only)
  std::uint64_t step = 0;
  std::size_t nwalkers = 0, k = 0, nsplits = 1, n = 0;

  /// The walker at position p.
  KOKKOS_INLINE_FUNCTION std::size_t at(std::size_t p) const {
    if constexpr (Scattered)
      return std::size_t(order[p]);
    else
      return p;
  }
  /// Member i of sub-ensemble j.
  KOKKOS_INLINE_FUNCTION std::size_t member(std::size_t j, std::size_t i) const { return at(i * nsplits + j); }
  /// Member i of this sub-ensemble.
  KOKKOS_INLINE_FUNCTION std::size_t walker(std::size_t i) const { return member(k, i); }
  /// Members of sub-ensemble j.
  KOKKOS_INLINE_FUNCTION std::size_t size(std::size_t j) const { return split_size(nwalkers, j, nsplits); }
};
/// The half-step launches' form: the state as the sampler's Array, proposals as the batched log_prob takes them;
/// an order always (the identity for the fixed split), as these launches are not where the time goes.
using SplitArgs = HalfStep<Array<double, 2>::layout_type, true>;

/// Half-step k of S at `step` of the ensemble `v`, with the step's walker order (Scattered only).
template <bool Scattered, class Layout>
KOKKOS_INLINE_FUNCTION HalfStep<Layout, Scattered> half_step(const EnsembleViews<Layout>& v, const std::uint32_t* order,
                                                            std::size_t nwalkers, std::uint64_t step, int k, int S) {
  HalfStep<Layout, Scattered> s;
  static_cast<EnsembleViews<Layout>&>(s) = v;
  s.order = order;
  s.step = step;
  s.nwalkers = nwalkers;
  s.k = std::size_t(k);
  s.nsplits = std::size_t(S);
  s.n = split_size(nwalkers, s.k, s.nsplits);
  return s;
}

/// The keys of walkers i0 .. i0 + L - 1 of this sub-ensemble as two lane arrays (past the last member: its key).
template <int L, class A>
KOKKOS_INLINE_FUNCTION void lane_keys(const A& s, std::size_t i0, std::uint32_t* k0, std::uint32_t* k1) {
  const std::size_t m = group_size<L>(s.n, i0);
  for (int l = 0; l < L; ++l) {
    const random::Key wk = s.keys(s.walker(i0 + (std::size_t(l) < m ? std::size_t(l) : m - 1)));
    k0[l] = wk.k0;
    k1[l] = wk.k1;
  }
}

/// log u for a 32-bit uniform word b: u = (b + ½) / 2³², never 0, so the log is finite.
KOKKOS_FORCEINLINE_FUNCTION double log_u(std::uint32_t b) {
  return random::impl::log_scaled((double(b) + 0.5) * (1.0 / 4294967296.0), 0);
}

/// The draws of a move whose other numbers depend on the ensemble or the dimension (they come from MoveStream in
/// apply()): log u alone, from word 0 of each walker's Philox block `step`.
template <int L>
struct LogUDraws {
  double logu[L];
};
template <int L, class A>
KOKKOS_INLINE_FUNCTION void draw_log_u(const A& s, std::size_t i0, LogUDraws<L>& r) {
  std::uint32_t k0[L], k1[L], b[4][L];
  lane_keys<L>(s, i0, k0, k1);
  random::bits_lanes<L>(k0, k1, s.step, 0u, b);
  NABLA_SIMD
  for (int l = 0; l < L; ++l) r.logu[l] = log_u(b[0][l]);
}

/// \brief The numbers a walker's move draws at one step beyond its fixed draws (a count that depends on the
/// ensemble or the dimension): uniforms and normals from their own Philox domains, so neither shifts the other.
class MoveStream {
 public:
  KOKKOS_INLINE_FUNCTION MoveStream(const random::Key& key, std::uint64_t step) : m_key(key), m_step(step) {}
  /// The next uniform in [0, 1).
  KOKKOS_INLINE_FUNCTION double uniform() {
    if ((m_u & 3u) == 0) m_ubuf = random::bits(m_key, m_step, kUniform | (m_u >> 2));
    return random::impl::u01_word(m_ubuf[m_u++ & 3u]);
  }
  /// The next standard normal.
  KOKKOS_INLINE_FUNCTION double normal() {
    if ((m_z & 3u) == 0) {
      const random::Block w = random::bits(m_key, m_step, kNormal | (m_z >> 2));
      random::impl::box_muller4(w[0], w[1], w[2], w[3], m_zbuf[0], m_zbuf[1], m_zbuf[2], m_zbuf[3]);
    }
    return m_zbuf[m_z++ & 3u];
  }
  /// Starts the uniforms again from the first (a second pass over the same choices).
  KOKKOS_INLINE_FUNCTION void rewind_uniforms() { m_u = 0; }

 private:
  static constexpr std::uint32_t kUniform = 0x80000000u, kNormal = 0xc0000000u;
  random::Key m_key;
  std::uint64_t m_step;
  std::uint32_t m_u = 0, m_z = 0;
  random::Block m_ubuf{};
  double m_zbuf[4] = {};
};

/// What a move checks and prepares before a run: the ensemble's size, and device memory its kernel form may
/// point into (kept for the sampler's life).
class MoveSetup {
 public:
  MoveSetup(std::size_t nwalkers, std::size_t ndim, std::string who)
      : nwalkers(nwalkers), ndim(ndim), who(std::move(who)) {}
  /// A device copy of `host`, alive as long as the sampler.
  const double* upload(const std::vector<double>& host, const char* label) {
    Kokkos::View<double*, DefaultMemorySpace> v(Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string(label)),
                                               host.size());
    Kokkos::deep_copy(v, Kokkos::View<const double*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>(
                             host.data(), host.size()));
    m_keep.push_back(v);
    return v.data();
  }
  std::size_t nwalkers, ndim;
  std::string who;  // prefix of error messages

 private:
  std::vector<Kokkos::View<double*, DefaultMemorySpace>> m_keep;
};

}  // namespace impl
}  // namespace sampling
}  // namespace nabla
