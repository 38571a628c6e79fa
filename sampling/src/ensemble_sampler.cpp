/// \file ensemble_sampler.cpp
/// \brief EnsembleSampler: the stretch and DE move kernels, acceptance, NaN checks, MPI split, storage.
#include <nabla/sampling/ensemble_sampler.hpp>

#include <nabla/core/compat.hpp>
#include <nabla/sampling/rng.hpp>

#include <cmath>
#include <iostream>
#include <sstream>

namespace nabla {
namespace sampling {

namespace {

using View2 = Array<double, 2>::view_type;
using View1 = Array<double, 1>::view_type;
using Range = Kokkos::RangePolicy<Kokkos::IndexType<std::size_t>>;

struct Propose {
  impl::SplitArgs s;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t i) const {
    double factor, u;
    impl::propose(s, i, factor, u);
    s.factor(i) = factor;
    s.u(i) = u;
  }
};

struct Accept {
  impl::SplitArgs s;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t i) const { impl::accept(s, i, s.lq(i), s.factor(i), s.u(i)); }
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

std::string row_string(const Array<double, 2>& x, std::size_t row) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), x.view());
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
  Kokkos::parallel_reduce(label, Range(0, v.extent(0)), FirstNaN{v}, Kokkos::Min<std::size_t>(m));
  return m;
}

int slot(int nsplits, int k) { return nsplits == 2 ? k : 2 + k; }

}  // namespace

EnsembleSampler::EnsembleSampler(std::size_t nwalkers, std::size_t ndim, BatchLogProb f, SamplerOptions options, int)
    : m_nwalkers(nwalkers), m_ndim(ndim), m_f(std::move(f)), m_options(std::move(options)) {
  const char* who = "nabla::sampling::EnsembleSampler";
  if (ndim == 0) throw ValueError(nabla::impl::cat(who, ": ndim must be >= 1, got 0"));
  if (nwalkers < 2) throw ValueError(nabla::impl::cat(who, ": nwalkers must be >= 2, got ", nwalkers));
  if (nwalkers < 2 * ndim && !m_options.live_dangerously)
    throw ValueError(nabla::impl::cat(who, ": ", nwalkers, " walkers are fewer than 2 x ndim = ", 2 * ndim,
                                      "; the ensemble would be stuck in a subspace (emcee requires nwalkers >= 2 "
                                      "ndim; set live_dangerously to override)"));
  if (!m_f) throw ValueError(nabla::impl::cat(who, ": log_prob is empty"));
  if (m_options.moves.empty()) throw ValueError(nabla::impl::cat(who, ": moves is empty"));
  for (std::size_t i = 0; i < m_options.moves.size(); ++i) {
    const auto& m = m_options.moves[i];
    if (!(m.weight > 0.0) || !std::isfinite(m.weight))
      throw ValueError(nabla::impl::cat(who, ": move ", i, " has weight ", m.weight, "; weights must be finite and > 0"));
    if (const auto* s = std::get_if<StretchMove>(&m.move)) {
      if (!(s->a > 1.0) || !std::isfinite(s->a))
        throw ValueError(nabla::impl::cat(who, ": the stretch move needs a > 1, got ", s->a));
    } else if (const auto* d = std::get_if<DEMove>(&m.move)) {
      if (nwalkers < 3) throw ValueError(nabla::impl::cat(who, ": the DE move needs >= 3 walkers, got ", nwalkers));
      if (!(d->sigma >= 0.0) || !(d->gamma0 >= 0.0) || !std::isfinite(d->sigma) || !std::isfinite(d->gamma0))
        throw ValueError(nabla::impl::cat(who, ": the DE move needs finite sigma, gamma0 >= 0, got ", d->sigma, ", ",
                                          d->gamma0));
    }
  }
  m_backend = m_options.backend ? m_options.backend : std::make_shared<MemoryBackend>();
#if NABLA_ENABLE_MPI
  if (m_options.comm) {
    m_rank = m_options.comm->rank();
    m_ranks = m_options.comm->size();
    m_options.comm->check_same_size(nwalkers, "EnsembleSampler nwalkers");
    m_options.comm->check_same_size(ndim, "EnsembleSampler ndim");
    m_options.comm->check_same_size(std::size_t(m_options.seed), "EnsembleSampler seed");
  }
#endif
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
  } else {
    m_backend->reset(nwalkers, ndim);
    m_backend->set_seed(m_options.seed);
  }
  m_x = Array<double, 2>({nwalkers, ndim}, "nabla::sampling::EnsembleSampler::x");
  m_lp = Array<double, 1>({nwalkers}, "nabla::sampling::EnsembleSampler::log_prob");
  m_accepted = Kokkos::View<std::uint8_t*, DefaultMemorySpace>("nabla::sampling::EnsembleSampler::accepted", nwalkers);
  {
    Kokkos::View<random::Key*, DefaultMemorySpace> keys("nabla::sampling::EnsembleSampler::keys", nwalkers);
    auto kh = Kokkos::create_mirror_view(keys);
    const random::Key base = random::key(m_options.seed);
    for (std::size_t w = 0; w < nwalkers; ++w) kh(w) = random::fold_in(base, w);
    Kokkos::deep_copy(keys, kh);
    m_keys = keys;
  }
  m_q.resize(5);
  m_lq.resize(5);
  m_factor.resize(5);
  m_u.resize(5);
  m_q_local.resize(5);
  m_lq_local.resize(5);
  for (int S = 2; S <= 3; ++S)
    for (int k = 0; k < S; ++k) {
      const int s = slot(S, k);
      const std::size_t n = split_size(k, S);
      m_q[s] = Array<double, 2>({n, ndim}, "nabla::sampling::EnsembleSampler::proposal");
      m_lq[s] = Array<double, 1>({n}, "nabla::sampling::EnsembleSampler::proposal_log_prob");
      m_factor[s] = Array<double, 1>({n}, "nabla::sampling::EnsembleSampler::factor");
      m_u[s] = Array<double, 1>({n}, "nabla::sampling::EnsembleSampler::u");
      if (m_ranks > 1) {
        const std::size_t lo = n * m_rank / m_ranks, hi = n * (m_rank + 1) / m_ranks;
        m_q_local[s] = Array<double, 2>({hi - lo, ndim}, "nabla::sampling::EnsembleSampler::proposal_local");
        m_lq_local[s] = Array<double, 1>({hi - lo}, "nabla::sampling::EnsembleSampler::proposal_log_prob_local");
      }
    }
  m_coords_host.resize(nwalkers * ndim);
  m_lp_host.resize(nwalkers);
  m_acc_host.resize(nwalkers);
}

void EnsembleSampler::reset() {
  m_backend->reset(m_nwalkers, m_ndim);
  m_backend->set_seed(m_options.seed);
}

double EnsembleSampler::mean_acceptance_fraction() const {
  const auto a = acceptance_fraction();
  double s = 0;
  for (double v : a) s += v;
  return a.empty() ? 0.0 : s / double(a.size());
}

// Evaluates log_prob of the proposals of `split` (slot) into m_lq[split]; under MPI each rank evaluates its slice.
void EnsembleSampler::evaluate(int s, std::size_t t) {
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
      Kokkos::parallel_for("nabla::sampling::EnsembleSampler::scatter", Range(0, ql.extent(0)),
                           CopyRows{q.view(), ql.view(), lo});
      m_f(ql, lql);
    }
    Kokkos::deep_copy(lq.view(), 0.0);
    if (ql.extent(0) > 0)
      Kokkos::parallel_for("nabla::sampling::EnsembleSampler::gather", Range(0, ql.extent(0)),
                           ScatterValues{lql.view(), lq.view(), lo});
    // x + 0 + ... + 0 is exact (and keeps -inf and NaN), so the sum is an all-gather.
    m_options.comm->allreduce(lq, mpi::Op::sum);
#endif
  }
  const std::size_t bad = first_nan(lq.view(), "nabla::sampling::EnsembleSampler::check_nan");
  if (bad < n) {
    const int S = s < 2 ? 2 : 3, k = s < 2 ? s : s - 2;
    throw ValueError(nabla::impl::cat("nabla::sampling::EnsembleSampler: log_prob returned NaN at step ", t,
                                      " for walker ", bad * S + k, " at parameters ", row_string(q, bad)));
  }
  (void)t;
}

void EnsembleSampler::step(std::size_t t) {
  const random::Key key = random::key(m_options.seed);
  // Which move: drawn from the weights with the step's own random number.
  std::size_t mi = 0;
  if (m_options.moves.size() > 1) {
    double total = 0;
    for (const auto& m : m_options.moves) total += m.weight;
    const double u = impl::u01(random::bits(key, t, 0x30e5u)[0]) * total;
    double acc = 0;
    for (mi = 0; mi + 1 < m_options.moves.size(); ++mi) {
      acc += m_options.moves[mi].weight;
      if (u < acc) break;
    }
  }
  const Move& move = m_options.moves[mi].move;
  const int S = std::holds_alternative<StretchMove>(move) ? 2 : 3;
  for (int k = 0; k < S; ++k) {
    const int s = slot(S, k);
    impl::SplitArgs a;
    a.x = m_x.view();
    a.q = m_q[s].view();
    a.lp = m_lp.view();
    a.lq = m_lq[s].view();
    a.factor = m_factor[s].view();
    a.u = m_u[s].view();
    a.accepted = m_accepted;
    a.keys = m_keys;
    a.step = t;
    a.k = std::size_t(k);
    a.nsplits = std::size_t(S);
    a.n = split_size(k, S);
    a.move = S == 2 ? 0 : 1;
    a.a = 2.0;
    a.ncomp = m_nwalkers - a.n;
    a.n1 = split_size((k + 1) % 3, 3);
    a.n2 = split_size((k + 2) % 3, 3);
    a.sigma = 0.0;
    a.g0 = 0.0;
    if (const auto* st = std::get_if<StretchMove>(&move)) {
      a.a = st->a;
    } else {
      const auto& de = std::get<DEMove>(move);
      a.sigma = de.sigma;
      a.g0 = de.gamma0 > 0.0 ? de.gamma0 : 2.38 / std::sqrt(2.0 * double(m_ndim));
    }
    if (m_fused && m_ranks == 1) {
      const std::size_t bad = m_fused(a);
      if (bad < a.n)
        throw ValueError(nabla::impl::cat("nabla::sampling::EnsembleSampler: log_prob returned NaN at step ", t,
                                          " for walker ", bad * S + k, " at parameters ", row_string(m_q[s], bad)));
      continue;
    }
    Kokkos::parallel_for(S == 2 ? "nabla::sampling::stretch" : "nabla::sampling::de", Range(0, a.n), Propose{a});
    evaluate(s, t);
    Kokkos::parallel_for("nabla::sampling::accept", Range(0, a.n), Accept{a});
  }
}

void EnsembleSampler::save() {
  auto xh = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), m_x.view());
  auto lh = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), m_lp.view());
  auto ah = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), m_accepted);
  for (std::size_t w = 0; w < m_nwalkers; ++w) {
    for (std::size_t d = 0; d < m_ndim; ++d) m_coords_host[w * m_ndim + d] = xh(w, d);
    m_lp_host[w] = lh(w);
    m_acc_host[w] = ah(w);
  }
  m_backend->save_step(m_coords_host, m_lp_host, m_acc_host);
}

void EnsembleSampler::run(std::size_t nsteps, const Progress& progress) {
  m_backend->grow(nsteps);
  const std::size_t t0 = m_backend->iteration();
  const bool bar = progress.bar && m_rank == 0;
  for (std::size_t i = 0; i < nsteps; ++i) {
    step(t0 + i);
    save();
    if (progress.callback) progress.callback(i + 1, nsteps);
    if (bar && (i + 1 == nsteps || (i + 1) % std::max<std::size_t>(1, nsteps / 100) == 0)) {
      const int width = 40, done = int(double(width) * double(i + 1) / double(nsteps));
      std::cerr << "\r[" << std::string(done, '#') << std::string(width - done, ' ') << "] " << (i + 1) << "/"
                << nsteps << (i + 1 == nsteps ? "\n" : "") << std::flush;
    }
  }
}

void EnsembleSampler::run_mcmc(const Array<double, 2>& initial, std::size_t nsteps, Progress progress) {
  compat::Region region("nabla::sampling::EnsembleSampler::run_mcmc");
  const char* who = "nabla::sampling::EnsembleSampler::run_mcmc";
  if (initial.extent(0) != m_nwalkers || initial.extent(1) != m_ndim)
    throw ShapeError(nabla::impl::cat(who, ": the initial state is ", to_string(initial.shape()), " but the sampler has ",
                                      m_nwalkers, " walkers x ", m_ndim, " dims"));
  Kokkos::deep_copy(m_x.view(), initial.view());
  {
    auto xh = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), m_x.view());
    for (std::size_t w = 0; w < m_nwalkers; ++w)
      for (std::size_t d = 0; d < m_ndim; ++d)
        if (!std::isfinite(xh(w, d)))
          throw ValueError(nabla::impl::cat(who, ": the initial state of walker ", w, " is not finite: ",
                                            row_string(m_x, w)));
  }
  // log_prob of the initial state, evaluated as a whole batch (split like the moves under MPI).
  if (m_ranks == 1) {
    m_f(m_x, m_lp);
  } else {
#if NABLA_ENABLE_MPI
    const std::size_t lo = m_nwalkers * m_rank / m_ranks, hi = m_nwalkers * (m_rank + 1) / m_ranks;
    Array<double, 2> xl({hi - lo, m_ndim}, "nabla::sampling::EnsembleSampler::initial_local");
    Array<double, 1> ll({hi - lo}, "nabla::sampling::EnsembleSampler::initial_log_prob_local");
    if (hi > lo) {
      Kokkos::parallel_for("nabla::sampling::EnsembleSampler::scatter", Range(0, hi - lo), CopyRows{m_x.view(), xl.view(), lo});
      m_f(xl, ll);
    }
    Kokkos::deep_copy(m_lp.view(), 0.0);
    if (hi > lo)
      Kokkos::parallel_for("nabla::sampling::EnsembleSampler::gather", Range(0, hi - lo), ScatterValues{ll.view(), m_lp.view(), lo});
    m_options.comm->allreduce(m_lp, mpi::Op::sum);
#endif
  }
  const std::size_t bad = first_nan(m_lp.view(), "nabla::sampling::EnsembleSampler::check_nan");
  if (bad < m_nwalkers)
    throw ValueError(nabla::impl::cat(who, ": log_prob of the initial state is NaN for walker ", bad, " at parameters ",
                                      row_string(m_x, bad)));
  run(nsteps, progress);
}

void EnsembleSampler::run_mcmc(std::size_t nsteps, Progress progress) {
  compat::Region region("nabla::sampling::EnsembleSampler::run_mcmc");
  if (!m_backend->initialized() || m_backend->iteration() == 0)
    throw ValueError(nabla::impl::cat("nabla::sampling::EnsembleSampler::run_mcmc: the ", m_backend->describe(),
                                      " holds no sample to resume from; give an initial state"));
  const auto xh = m_backend->get_last_sample();
  const auto lh = m_backend->get_last_log_prob();
  Kokkos::deep_copy(m_x.view(), xh.view());
  Kokkos::deep_copy(m_lp.view(), lh.view());
  run(nsteps, progress);
}

}  // namespace sampling
}  // namespace nabla
