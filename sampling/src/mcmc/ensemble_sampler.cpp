/// \file ensemble_sampler.cpp
/// \brief EnsembleSampler: moves per step, per-half-step launches, NaN checks, MPI split, storage.
#include <nabla/sampling/mcmc/ensemble_sampler.hpp>

#include <nabla/core/compat.hpp>
#include <nabla/core/launch.hpp>
#include <nabla/core/progress.hpp>
#include <nabla/core/random.hpp>
#include <nabla/sampling/mcmc/impl/together.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <iostream>
#include <sstream>

namespace nabla {
namespace sampling {

namespace {

using View2 = Array<double, 2>::view_type;
using View1 = Array<double, 1>::view_type;
using Range = Kokkos::RangePolicy<Kokkos::IndexType<std::size_t>>;
// Bookkeeping over n rows of `width` numbers: one thread when small (launch.hpp). log_prob keeps every thread.
Range small_range(std::size_t n, std::size_t width = 1) { return Range(nabla::launch_space(n * width), 0, n); }

struct Propose {
  impl::SplitArgs s;
  impl::StepMove m;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t i) const {
    double factor, logu;
    impl::propose(s, m, i, factor, logu);
    s.factor(i) = factor;
    s.logu(i) = logu;
  }
};

struct Accept {
  impl::SplitArgs s;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t i) const { impl::accept(s, i, s.lq(i), s.factor(i), s.logu(i)); }
};

// A functor, not a lambda: nvcc refuses extended lambdas in private member functions.
struct Record {
  View2 x;
  View1 lp;
  Kokkos::View<std::uint8_t*, DefaultMemorySpace> accepted;
  Kokkos::View<double***, Kokkos::LayoutRight, DefaultMemorySpace> chain;
  Kokkos::View<double**, Kokkos::LayoutRight, DefaultMemorySpace> chain_lp;
  Kokkos::View<std::uint8_t**, Kokkos::LayoutRight, DefaultMemorySpace> flags;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t w) const {
    for (std::size_t d = 0; d < x.extent(1); ++d) chain(0, w, d) = x(w, d);
    chain_lp(0, w) = lp(w);
    flags(0, w) = accepted(w);
  }
};

struct FirstNaN {
  View1 v;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t i, std::size_t& m) const {
    if (v(i) != v(i) && i < m) m = i;
  }
};

struct CopyRows {
  View2 from, to;
  std::size_t first;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t i) const {
    for (std::size_t d = 0; d < from.extent(1); ++d) to(i, d) = from(first + i, d);
  }
};

struct ScatterValues {
  View1 from, to;
  std::size_t first;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t i) const { to(first + i) = from(i); }
};

template <class V>
std::string row_string(const V& x, std::size_t row) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), x);
  std::ostringstream os;
  os.precision(17);
  os << "[";
  for (std::size_t d = 0; d < h.extent(1); ++d) os << (d ? ", " : "") << h(row, d);
  os << "]";
  return os.str();
}

// Index of the first NaN of v (v.extent(0) if none).
std::size_t first_nan(const View1& v, const char* label) {
  std::size_t m = v.extent(0);
  if (m == 0) return 0;
  Kokkos::parallel_reduce(label, small_range(v.extent(0)), FirstNaN{v}, Kokkos::Min<std::size_t>(m));
  return m;
}

// The most sub-ensembles any move of MoveList deals the walkers into.
template <class List>
struct MaxSplits;
template <class... M>
struct MaxSplits<impl::TypeList<M...>> {
  static constexpr int value = std::max({M::Kernel::nsplits...});
};
constexpr int kMaxSplits = MaxSplits<MoveList>::value;
// Scratch of half-step k of S (S = 1 .. kMaxSplits).
int slot(int S, int k) { return S * (S - 1) / 2 + k; }

// Step t's order of the walkers for a random split: core's shuffle under a key drawn for the step from the seed
// (Philox domain 0x5b17), so every rank and every resumed run deals the same.
void fill_order(std::uint32_t* order, std::size_t W, std::uint64_t seed, std::uint64_t t) {
  for (std::size_t p = 0; p < W; ++p) order[p] = std::uint32_t(p);
  const random::Block kb = random::bits(random::key(seed), t, 0x5b17u);
  random::shuffle(random::Key{kb[0], kb[1]}, order, W);
}

}  // namespace

EnsembleSampler::EnsembleSampler(std::size_t nwalkers, std::size_t ndim, BatchLogProb f, SamplerOptions options, int)
    : m_nwalkers(nwalkers),
      m_ndim(ndim),
      m_f(std::move(f)),
      m_options(std::move(options)),
      m_setup(nwalkers, ndim, "nabla::sampling::EnsembleSampler") {
  const char* who = "nabla::sampling::EnsembleSampler";
  if (ndim == 0) throw ValueError(nabla::impl::cat(who, ": ndim must be >= 1, got 0"));
  if (nwalkers < 2) throw ValueError(nabla::impl::cat(who, ": nwalkers must be >= 2, got ", nwalkers));
  if (nwalkers < 2 * ndim && !m_options.live_dangerously)
    throw ValueError(nabla::impl::cat(who, ": ", nwalkers, " walkers are fewer than 2 x ndim = ", 2 * ndim,
                                      "; the ensemble would be stuck in a subspace (emcee requires nwalkers >= 2 "
                                      "ndim; set live_dangerously to override)"));
  if (!m_f) throw ValueError(nabla::impl::cat(who, ": log_prob is empty"));
  validate_settings(m_options.settings, who);
  if (m_options.moves.empty()) throw ValueError(nabla::impl::cat(who, ": moves is empty"));
  if (nwalkers > std::numeric_limits<std::uint32_t>::max())
    throw ValueError(nabla::impl::cat(who, ": ", nwalkers, " walkers are more than 2^32 - 1"));
  bool splits[kMaxSplits + 1] = {};
  for (std::size_t i = 0; i < m_options.moves.size(); ++i) {
    const auto& m = m_options.moves[i];
    if (!(m.weight > 0.0) || !std::isfinite(m.weight))
      throw ValueError(nabla::impl::cat(who, ": move ", i, " has weight ", m.weight, "; weights must be finite and > 0"));
    m_kernels.push_back(impl::step_move(m.move, m_setup));
    splits[m_kernels.back().nsplits] = true;
    m_largest_split = std::max(m_largest_split, split_size(0, m_kernels.back().nsplits));
  }
  m_backend = m_options.backend ? m_options.backend : std::make_shared<MemoryBackend>();
#if NABLA_ENABLE_MPI
  if (m_options.comm) {
    m_rank = m_options.comm->rank();
    m_ranks = m_options.comm->size();
    const mpi::Comm& c = *m_options.comm;
    c.check_same(nwalkers, who, "number of walkers");
    c.check_same(ndim, who, "number of dimensions");
    c.check_same(std::size_t(m_options.seed), who, "seed");
    c.check_same(m_options.moves.size(), who, "number of moves");
    c.check_same(std::size_t(m_options.randomize_split), who, "randomize_split option");
    c.check_same(std::size_t(settings_hash(m_options.settings)), who, "run settings");
  }
#endif
  // Each rank checks (or starts) its own backend's chain: a chain of another shape, seed or settings, or a file
  // that cannot be read, on one rank only fails on every rank, not just there with the others left waiting in
  // the first collective of a run.
  impl::on_every_rank(m_options, [&] {
    if (m_backend->initialized() && m_backend->iteration() > 0) {
      if (m_backend->nwalkers() != nwalkers || m_backend->ndim() != ndim)
        throw ValueError(nabla::impl::cat(who, ": the ", m_backend->describe(), " holds a chain of ",
                                          m_backend->nwalkers(), " walkers x ", m_backend->ndim(), " dims, not ",
                                          nwalkers, " x ", ndim));
      const auto s = m_backend->seed();
      if (s && *s != m_options.seed)
        throw ValueError(nabla::impl::cat(who, ": the ", m_backend->describe(), " was written with seed ", *s,
                                          " but the sampler has seed ", m_options.seed,
                                          "; use the same seed to resume (or reset the backend)"));
      check_settings(*m_backend, m_options.settings, who);
    } else {
      reset();
    }
  });
  m_x = Array<double, 2>({nwalkers, ndim}, "nabla::sampling::EnsembleSampler::x");
  m_lp = Array<double, 1>({nwalkers}, "nabla::sampling::EnsembleSampler::log_prob");
  m_accepted = Kokkos::View<std::uint8_t*, DefaultMemorySpace>("nabla::sampling::EnsembleSampler::accepted", nwalkers);
  {
    // Every key is written below: no initialisation kernel (Key is not trivial, so it would run on every thread).
    Kokkos::View<random::Key*, DefaultMemorySpace> keys(
        Kokkos::view_alloc(Kokkos::WithoutInitializing, "nabla::sampling::EnsembleSampler::keys"), nwalkers);
    auto kh = Kokkos::create_mirror_view(keys);
    const random::Key base = random::key(m_options.seed);
    for (std::size_t w = 0; w < nwalkers; ++w) kh(w) = random::fold_in(base, w);
    Kokkos::deep_copy(keys, kh);
    m_keys = keys;
  }
  const std::size_t slots = std::size_t(slot(kMaxSplits + 1, 0));
  m_q.resize(slots);
  m_lq.resize(slots);
  m_factor.resize(slots);
  m_logu.resize(slots);
  m_q_local.resize(slots);
  m_lq_local.resize(slots);
  for (int S = 1; S <= kMaxSplits; ++S)
    for (int k = 0; k < S && splits[S]; ++k) {
      const int s = slot(S, k);
      const std::size_t n = split_size(k, S);
      m_q[s] = Array<double, 2>({n, ndim}, "nabla::sampling::EnsembleSampler::proposal");
      m_lq[s] = Array<double, 1>({n}, "nabla::sampling::EnsembleSampler::proposal_log_prob");
      m_factor[s] = Array<double, 1>({n}, "nabla::sampling::EnsembleSampler::factor");
      m_logu[s] = Array<double, 1>({n}, "nabla::sampling::EnsembleSampler::log_u");
      if (m_ranks > 1) {
        const std::size_t lo = n * m_rank / m_ranks, hi = n * (m_rank + 1) / m_ranks;
        m_q_local[s] = Array<double, 2>({hi - lo, ndim}, "nabla::sampling::EnsembleSampler::proposal_local");
        m_lq_local[s] = Array<double, 1>({hi - lo}, "nabla::sampling::EnsembleSampler::proposal_log_prob_local");
      }
    }
  m_nan = Kokkos::View<std::size_t*, DefaultMemorySpace>("nabla::sampling::EnsembleSampler::nan", 2);
  {
    m_identity = decltype(m_identity)("nabla::sampling::EnsembleSampler::identity_order", nwalkers);
    auto h = Kokkos::create_mirror_view(m_identity);
    for (std::size_t w = 0; w < nwalkers; ++w) h(w) = std::uint32_t(w);
    Kokkos::deep_copy(m_identity, h);
  }
}

// Random splits: the orders of steps t .. t + n - 1 on the device (null for the fixed split).
const std::uint32_t* EnsembleSampler::step_order(std::size_t t, std::size_t n) {
  if (!m_options.randomize_split) return nullptr;
  if (m_orders.extent(0) < n * m_nwalkers) {
    m_orders = decltype(m_orders)(Kokkos::view_alloc(Kokkos::WithoutInitializing, "nabla::sampling::EnsembleSampler::orders"),
                                  n * m_nwalkers);
    m_orders_host = Kokkos::create_mirror_view(m_orders);
  }
  for (std::size_t j = 0; j < n; ++j) fill_order(m_orders_host.data() + j * m_nwalkers, m_nwalkers, m_options.seed, t + j);
  const auto used = std::make_pair(std::size_t(0), n * m_nwalkers);
  Kokkos::deep_copy(Kokkos::subview(m_orders, used), Kokkos::subview(m_orders_host, used));
  return m_orders.data();
}

// The walker at position p of step j of the last launch's orders.
std::size_t EnsembleSampler::walker_at(std::size_t j, std::size_t p) const {
  return m_options.randomize_split ? std::size_t(m_orders_host(j * m_nwalkers + p)) : p;
}

void EnsembleSampler::reset() {
  m_backend->reset(m_nwalkers, m_ndim);
  m_backend->set_seed(m_options.seed);
  m_backend->set_settings(m_options.settings);
}

double EnsembleSampler::mean_acceptance_fraction() const {
  const auto a = acceptance_fraction();
  double s = 0;
  for (double v : a) s += v;
  return a.empty() ? 0.0 : s / double(a.size());
}

// Evaluates log_prob of the proposals of half-step k of S (scratch slot s) into m_lq[s]; under MPI each rank
// evaluates its slice.
void EnsembleSampler::evaluate(int s, int S, int k, std::size_t t) {
  Array<double, 2>& q = m_q[s];
  Array<double, 1>& lq = m_lq[s];
  const std::size_t n = q.extent(0);
  if (m_ranks == 1) {
    m_f(q, lq);
  } else {
#if NABLA_ENABLE_MPI
    const std::size_t lo = n * m_rank / m_ranks;
    Array<double, 2>& ql = m_q_local[s];
    Array<double, 1>& lql = m_lq_local[s];
    if (ql.extent(0) > 0) {
      Kokkos::parallel_for("nabla::sampling::EnsembleSampler::scatter", small_range(ql.extent(0), m_ndim),
                           CopyRows{q.view(), ql.view(), lo});
      m_f(ql, lql);
    }
    Kokkos::deep_copy(lq.view(), 0.0);
    if (ql.extent(0) > 0)
      Kokkos::parallel_for("nabla::sampling::EnsembleSampler::gather", small_range(ql.extent(0)),
                           ScatterValues{lql.view(), lq.view(), lo});
    // x + 0 + ... + 0 is exact (and keeps -inf and NaN), so the sum is an all-gather.
    m_options.comm->allreduce(lq, mpi::Op::sum);
#endif
  }
  const std::size_t bad = first_nan(lq.view(), "nabla::sampling::EnsembleSampler::check_nan");
  if (bad < n)
    throw ValueError(nabla::impl::cat("nabla::sampling::EnsembleSampler: log_prob returned NaN at step ", t,
                                      " for walker ", walker_at(0, bad * S + k), " at parameters ",
                                      row_string(q.view(), bad)));
}

impl::StepMove EnsembleSampler::step_move(std::size_t t) const {
  // Which move: drawn from the weights with the step's own random number.
  std::size_t mi = 0;
  if (m_options.moves.size() > 1) {
    double total = 0;
    for (const auto& m : m_options.moves) total += m.weight;
    const double u = random::impl::u01_word(random::bits(random::key(m_options.seed), t, 0x30e5u)[0]) * total;
    double acc = 0;
    for (mi = 0; mi + 1 < m_options.moves.size(); ++mi) {
      acc += m_options.moves[mi].weight;
      if (u < acc) break;
    }
  }
  return m_kernels[mi];
}

void EnsembleSampler::sync_coords() const {
  if (m_x_behind) Kokkos::deep_copy(nabla::launch_space(m_nwalkers * m_ndim), m_x.view(), m_block_x);
  m_x_behind = false;
}

void EnsembleSampler::set_coords(const Kokkos::View<const double**, Kokkos::LayoutLeft, DefaultMemorySpace>& x) {
  Kokkos::deep_copy(nabla::launch_space(m_nwalkers * m_ndim), m_x.view(), x);
  m_x_behind = false;
  m_block_behind = true;
}

// One step, one or three launches per half-step (batched log_prob, or several ranks); leaves it in block row 0.
void EnsembleSampler::step(std::size_t t) {
  sync_coords();
  m_block_behind = true;
  const impl::StepMove move = step_move(t);
  const int S = move.nsplits;
  const std::uint32_t* order = m_options.randomize_split ? step_order(t, 1) : m_identity.data();
  for (int k = 0; k < S; ++k) {
    const int s = slot(S, k);
    impl::EnsembleViews<Array<double, 2>::layout_type> base;
    base.x = m_x.view();
    base.q = m_q[s].view();
    base.lp = m_lp.view();
    base.lq = m_lq[s].view();
    base.factor = m_factor[s].view();
    base.logu = m_logu[s].view();
    base.accepted = m_accepted;
    base.keys = m_keys;
    const impl::SplitArgs a = impl::half_step<true>(base, order, m_nwalkers, t, k, S);
    if (m_fused && m_ranks == 1) {
      const std::size_t bad = m_fused(a, move);
      if (bad < a.n)
        throw ValueError(nabla::impl::cat("nabla::sampling::EnsembleSampler: log_prob returned NaN at step ", t,
                                          " for walker ", walker_at(0, bad * S + k), " at parameters ",
                                          row_string(m_q[s].view(), bad)));
      continue;
    }
    const char* label = "";
    impl::visit_move_on_host(move, [&](const auto& m) { label = std::decay_t<decltype(m)>::label; });
    Kokkos::parallel_for(label, small_range(a.n, m_ndim), Propose{a, move});
    evaluate(s, S, k, t);
    Kokkos::parallel_for("nabla::sampling::accept", small_range(a.n, m_ndim), Accept{a});
  }
  record();
}

// Steps t .. t + n - 1 in one launch (per-walker log_prob, one rank), into block rows 0 .. n - 1. Returns how
// many completed: all n, or those before a NaN, which then throws after the caller stored them (see run).
std::size_t EnsembleSampler::steps(std::size_t t, std::size_t n) {
  for (std::size_t j = 0; j < n; ++j) m_moves_host(j) = step_move(t + j);
  Kokkos::deep_copy(Kokkos::subview(m_moves, std::make_pair(std::size_t(0), n)),
                    Kokkos::subview(m_moves_host, std::make_pair(std::size_t(0), n)));
  impl::BlockArgs b;
  b.state.x = m_block_x;
  b.state.q = m_block_q;
  b.state.lp = m_lp.view();
  b.state.accepted = m_accepted;
  b.state.keys = m_keys;
  b.moves = m_moves;
  const int option = m_tuner.next();
  // On host backends the launch writes the chain straight into the backend's memory, where it keeps one.
  Backend::Rows direct;
  if constexpr (std::is_same<DefaultMemorySpace, Kokkos::HostSpace>::value) direct = m_backend->rows(n);
  m_direct = direct.coords != nullptr;
  if (m_direct) {
    b.chain = decltype(b.chain)(direct.coords, n, m_nwalkers, m_ndim);
    b.log_prob = decltype(b.log_prob)(direct.log_prob, n, m_nwalkers);
    b.flags = decltype(b.flags)(direct.accepted, n, m_nwalkers);
    b.stream = direct.write_around_caches;
  } else {
    reserve_rows(n);
    b.chain = m_chain;
    b.log_prob = m_block_lp;
    b.flags = m_block_flags;
  }
  b.nan = m_nan;
  b.orders = step_order(t, n);
  b.step0 = t;
  b.nsteps = n;
  b.nwalkers = m_nwalkers;
  b.draws = m_draws;
  if (m_block_behind)  // nothing to do where they alias
    Kokkos::deep_copy(nabla::launch_space(m_nwalkers * m_ndim), m_block_x, m_x.view());
  m_block_behind = false;
  // Host-to-device copies of two words: unlike a fill, no kernel launch (which costs more than a small block).
  std::size_t nan[2] = {impl::kNoNaN, impl::kNoNaN};
  const Kokkos::View<std::size_t*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> nan_host(nan, 2);
  Kokkos::deep_copy(m_nan, nan_host);
  Kokkos::Timer timer;
  m_block.launch(b, m_block.shapes[std::size_t(option)]);
  Kokkos::fence();
  m_tuner.record(option, timer.seconds() / double(n), n);
  Kokkos::deep_copy(nan_host, m_nan);
  m_pending_nan = nan[0] != impl::kNoNaN ? nan[0] : nan[1];
  m_x_behind = m_block_x.data() != m_x.data();
  return m_pending_nan == impl::kNoNaN ? n : m_pending_nan / m_nwalkers;
}

// Copies the state after a step into block row 0.
void EnsembleSampler::record() {
  reserve_rows(1);
  m_direct = false;
  Kokkos::parallel_for("nabla::sampling::EnsembleSampler::record", small_range(m_nwalkers, m_ndim),
                       Record{m_x.view(), m_lp.view(), m_accepted, m_chain, m_block_lp, m_block_flags});
}

// Hands block rows 0 .. n - 1 to the backend (a copy to the host where the block is on a device).
void EnsembleSampler::store(std::size_t n) {
  if (m_direct) return m_backend->commit_rows(n);
  if (n == 0) return;
  const auto rows = std::make_pair(std::size_t(0), n);
  const auto all = Kokkos::ALL;
  Kokkos::deep_copy(Kokkos::subview(m_chain_host, rows, all, all), Kokkos::subview(m_chain, rows, all, all));
  Kokkos::deep_copy(Kokkos::subview(m_block_lp_host, rows, all), Kokkos::subview(m_block_lp, rows, all));
  Kokkos::deep_copy(Kokkos::subview(m_block_flags_host, rows, all), Kokkos::subview(m_block_flags, rows, all));
  m_backend->save_steps(m_chain_host.data(), m_block_lp_host.data(), m_block_flags_host.data(), n);
}

// Steps per launch for a run of nsteps: the option, or as many as 1 MiB of chain rows, within what the backend
// takes per save.
std::size_t EnsembleSampler::block_steps(std::size_t nsteps) const {
  if (!m_block.most || m_ranks > 1) return 1;
  constexpr std::size_t budget = std::size_t(1) << 20;
  const std::size_t per_step = m_nwalkers * (m_ndim * sizeof(double) + sizeof(double) + 1);
  std::size_t n = m_options.steps_per_launch ? m_options.steps_per_launch : std::max<std::size_t>(1, budget / per_step);
  return std::max<std::size_t>(1, std::min({n, nsteps, m_backend->steps_per_save()}));
}

// Block rows for n steps, for backends without rows() and for devices.
void EnsembleSampler::reserve_rows(std::size_t n) {
  if (m_chain.extent(0) >= n) return;
  // Zero-filled, so no page is first touched inside a block launch, whose time tunes the launch shape.
  m_chain = decltype(m_chain)("nabla::sampling::EnsembleSampler::chain_block", n, m_nwalkers, m_ndim);
  m_block_lp = decltype(m_block_lp)("nabla::sampling::EnsembleSampler::log_prob_block", n, m_nwalkers);
  m_block_flags = decltype(m_block_flags)("nabla::sampling::EnsembleSampler::accepted_block", n, m_nwalkers);
  m_chain_host = Kokkos::create_mirror_view(m_chain);
  m_block_lp_host = Kokkos::create_mirror_view(m_block_lp);
  m_block_flags_host = Kokkos::create_mirror_view(m_block_flags);
}

// Each step's move and, for block launches, the state and proposals in impl::BlockLayout.
void EnsembleSampler::reserve_block(std::size_t n) {
  if (m_moves.extent(0) < n) {
    m_moves = decltype(m_moves)(Kokkos::view_alloc(Kokkos::WithoutInitializing, "nabla::sampling::EnsembleSampler::moves"), n);
    m_moves_host = Kokkos::create_mirror_view(m_moves);
  }
  if (m_draws.extent(0) < m_block.draw_bytes)
    m_draws = decltype(m_draws)(Kokkos::view_alloc(Kokkos::WithoutInitializing, "nabla::sampling::EnsembleSampler::draws"),
                                m_block.draw_bytes);
  if (m_block.most && m_block_q.extent(0) == 0) {
    // Proposals: rows of the largest sub-ensemble.
    m_block_q = decltype(m_block_q)("nabla::sampling::EnsembleSampler::block_proposal", m_largest_split, m_ndim);
    if constexpr (std::is_same<impl::BlockLayout, Array<double, 2>::layout_type>::value)
      m_block_x = m_x.view();
    else
      m_block_x = decltype(m_block_x)("nabla::sampling::EnsembleSampler::block_state", m_nwalkers, m_ndim);
  }
}

void EnsembleSampler::run(std::size_t nsteps, const Progress& progress) {
  m_backend->grow(nsteps);
  const std::size_t t0 = m_backend->iteration();
  const std::size_t per_launch = block_steps(nsteps);
  reserve_block(per_launch);
  const std::optional<ProgressBar> bar =
      progress.bar && m_rank == 0 ? std::optional<ProgressBar>(std::in_place, std::cerr, nsteps) : std::nullopt;
  const bool blocks = m_block.most && m_ranks == 1;
  for (std::size_t i = 0; i < nsteps;) {
    const std::size_t n = std::min(blocks ? m_tuner.steps(per_launch) : per_launch, nsteps - i);
    std::size_t done = n;
    if (blocks)
      done = steps(t0 + i, n);
    else
      step(t0 + i);
    store(done);
    if (done < n) nan_error(t0 + i);
    for (std::size_t j = 0; j < n; ++j) {
      ++i;
      if (progress.callback) progress.callback(i, nsteps);
      if (bar) bar->update(i);
    }
  }
  if (blocks) impl::TeamTuner::keep(m_tuner_key, m_tuner);
}

// The error for the NaN a block of steps from t0 met (m_pending_nan), after the steps before it were stored.
void EnsembleSampler::nan_error(std::size_t t0) const {
  const std::size_t j = m_pending_nan / m_nwalkers, w = m_pending_nan % m_nwalkers;
  const std::size_t S = std::size_t(step_move(t0 + j).nsplits);
  std::size_t p = 0;  // w's position in the step's order
  while (walker_at(j, p) != w) ++p;
  throw ValueError(nabla::impl::cat("nabla::sampling::EnsembleSampler: log_prob returned NaN at step ", t0 + j,
                                    " for walker ", w, " at parameters ", row_string(m_block_q, p / S)));
}

void EnsembleSampler::run_mcmc(const Array<double, 2>& initial, std::size_t nsteps, Progress progress) {
  compat::Region region("nabla::sampling::EnsembleSampler::run_mcmc");
  const char* who = "nabla::sampling::EnsembleSampler::run_mcmc";
  if (initial.extent(0) != m_nwalkers || initial.extent(1) != m_ndim)
    throw ShapeError(nabla::impl::cat(who, ": the initial state is ", to_string(initial.shape()), " but the sampler has ",
                                      m_nwalkers, " walkers x ", m_ndim, " dims"));
  set_coords(initial.view());
  {
    auto xh = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), m_x.view());
    for (std::size_t w = 0; w < m_nwalkers; ++w)
      for (std::size_t d = 0; d < m_ndim; ++d)
        if (!std::isfinite(xh(w, d)))
          throw ValueError(nabla::impl::cat(who, ": the initial state of walker ", w, " is not finite: ",
                                            row_string(m_x.view(), w)));
  }
  // log_prob of the initial state, evaluated as a whole batch (split like the moves under MPI). A per-walker
  // functor runs on the threads the block launches run on: the batch is one step's work, and a kernel on every
  // thread, when one thread runs the blocks, costs a scheduler slice where another process shares the cores.
  if (m_ranks == 1 && m_block.most) {
    m_block.evaluate(m_x.view(), m_lp.view(), m_block.shapes[std::size_t(m_tuner.fastest())]);
  } else if (m_ranks == 1) {
    m_f(m_x, m_lp);
  } else {
#if NABLA_ENABLE_MPI
    const std::size_t lo = m_nwalkers * m_rank / m_ranks, hi = m_nwalkers * (m_rank + 1) / m_ranks;
    Array<double, 2> xl({hi - lo, m_ndim}, "nabla::sampling::EnsembleSampler::initial_local");
    Array<double, 1> ll({hi - lo}, "nabla::sampling::EnsembleSampler::initial_log_prob_local");
    if (hi > lo) {
      Kokkos::parallel_for("nabla::sampling::EnsembleSampler::scatter", small_range(hi - lo, m_ndim), CopyRows{m_x.view(), xl.view(), lo});
      m_f(xl, ll);
    }
    Kokkos::deep_copy(m_lp.view(), 0.0);
    if (hi > lo)
      Kokkos::parallel_for("nabla::sampling::EnsembleSampler::gather", small_range(hi - lo), ScatterValues{ll.view(), m_lp.view(), lo});
    m_options.comm->allreduce(m_lp, mpi::Op::sum);
#endif
  }
  const std::size_t bad = first_nan(m_lp.view(), "nabla::sampling::EnsembleSampler::check_nan");
  if (bad < m_nwalkers)
    throw ValueError(nabla::impl::cat(who, ": log_prob of the initial state is NaN for walker ", bad, " at parameters ",
                                      row_string(m_x.view(), bad)));
  run(nsteps, progress);
}

void EnsembleSampler::run_mcmc(std::size_t nsteps, Progress progress) {
  compat::Region region("nabla::sampling::EnsembleSampler::run_mcmc");
  if (!m_backend->initialized() || m_backend->iteration() == 0)
    throw ValueError(nabla::impl::cat("nabla::sampling::EnsembleSampler::run_mcmc: the ", m_backend->describe(),
                                      " holds no sample to resume from; give an initial state"));
  const auto xh = m_backend->get_last_sample();
  const auto lh = m_backend->get_last_log_prob();
  set_coords(Kokkos::create_mirror_view_and_copy(DefaultMemorySpace(), xh.view()));
  Kokkos::deep_copy(m_lp.view(), lh.view());
  run(nsteps, progress);
}

}  // namespace sampling
}  // namespace nabla
