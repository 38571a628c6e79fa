/// \file backend.cpp
/// \brief Backend accessors (emcee's slicing) and the in-memory backend.
#include <nabla/sampling/mcmc/autocorr.hpp>
#include <nabla/sampling/mcmc/backend.hpp>

#include <nabla/core/error.hpp>

#include "empty_chain.hpp"
#include "run_settings.hpp"  // core's private run-settings rules, shared with nn's checkpoints
#include "saturate.hpp"

#include <algorithm>
#include <cstdint>
#include <new>
#include <stdexcept>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace nabla {
namespace sampling {

namespace impl {
namespace {
constexpr std::size_t kHugePage = std::size_t(2) << 20;
std::align_val_t rows_alignment(std::size_t bytes) { return std::align_val_t{bytes >= kHugePage ? kHugePage : 64}; }
}  // namespace

void* rows_allocate(std::size_t bytes) {
  void* p = ::operator new(bytes, rows_alignment(bytes));
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  // Advice only: where transparent huge pages are off, the rows stay on small pages.
  if (bytes >= kHugePage) madvise(p, bytes / kHugePage * kHugePage, MADV_HUGEPAGE);
#endif
  return p;
}

void rows_free(void* p, std::size_t bytes) noexcept { ::operator delete(p, rows_alignment(bytes)); }
}  // namespace impl

std::vector<std::size_t> Backend::selected(std::size_t thin, std::size_t discard) const {
  if (thin == 0) throw ValueError("nabla::sampling::Backend::get_chain: thin must be >= 1, got 0");
  if (!initialized() || iteration() == 0)
    throw ValueError(nabla::impl::cat("nabla::sampling::Backend: the ", describe(),
                                      " holds no samples; run the sampler first"));
  std::vector<std::size_t> rows;
  for (std::size_t r = discard + thin - 1; r < iteration(); r += thin) rows.push_back(r);
  return rows;
}

HostArray<double, 3> Backend::get_chain(std::size_t thin, std::size_t discard) const {
  const auto rows = selected(thin, discard);
  const std::size_t W = nwalkers(), D = ndim();
  HostArray<double, 3> out({rows.size(), W, D}, "nabla::sampling::chain", uninitialized);
  if (rows.empty()) return out;
  const std::vector<double> all = read_chain(rows.front(), rows.back() - rows.front() + 1);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const double* p = all.data() + (rows[i] - rows.front()) * W * D;
    for (std::size_t w = 0; w < W; ++w)
      for (std::size_t d = 0; d < D; ++d) out.view()(i, w, d) = p[w * D + d];
  }
  return out;
}

HostArray<double, 2> Backend::get_chain(flat_t, std::size_t thin, std::size_t discard) const {
  const auto c = get_chain(thin, discard);
  const std::size_t T = c.extent(0), W = c.extent(1), D = c.extent(2);
  HostArray<double, 2> out({T * W, D}, "nabla::sampling::flat_chain", uninitialized);
  for (std::size_t t = 0; t < T; ++t)
    for (std::size_t w = 0; w < W; ++w)
      for (std::size_t d = 0; d < D; ++d) out.view()(t * W + w, d) = c.view()(t, w, d);
  return out;
}

HostArray<double, 2> Backend::get_log_prob(std::size_t thin, std::size_t discard) const {
  const auto rows = selected(thin, discard);
  const std::size_t W = nwalkers();
  HostArray<double, 2> out({rows.size(), W}, "nabla::sampling::log_prob", uninitialized);
  if (rows.empty()) return out;
  const std::vector<double> all = read_log_prob(rows.front(), rows.back() - rows.front() + 1);
  for (std::size_t i = 0; i < rows.size(); ++i)
    for (std::size_t w = 0; w < W; ++w) out.view()(i, w) = all[(rows[i] - rows.front()) * W + w];
  return out;
}

HostArray<double, 1> Backend::get_log_prob(flat_t, std::size_t thin, std::size_t discard) const {
  const auto l = get_log_prob(thin, discard);
  HostArray<double, 1> out({l.size()}, "nabla::sampling::flat_log_prob", uninitialized);
  for (std::size_t t = 0; t < l.extent(0); ++t)
    for (std::size_t w = 0; w < l.extent(1); ++w) out.view()(t * l.extent(1) + w) = l.view()(t, w);
  return out;
}

HostArray<double, 2> Backend::get_last_sample() const {
  const auto c = get_chain(1, iteration() - 1);
  HostArray<double, 2> out({nwalkers(), ndim()}, "nabla::sampling::last_sample", uninitialized);
  for (std::size_t w = 0; w < nwalkers(); ++w)
    for (std::size_t d = 0; d < ndim(); ++d) out.view()(w, d) = c.view()(0, w, d);
  return out;
}

HostArray<double, 1> Backend::get_last_log_prob() const {
  const auto l = get_log_prob(1, iteration() - 1);
  HostArray<double, 1> out({nwalkers()}, "nabla::sampling::last_log_prob", uninitialized);
  for (std::size_t w = 0; w < nwalkers(); ++w) out.view()(w) = l.view()(0, w);
  return out;
}

std::vector<double> Backend::acceptance_fraction() const {
  std::vector<double> a = accepted();
  const double n = double(iteration());
  for (double& v : a) v = n > 0 ? v / n : 0.0;
  return a;
}

std::vector<double> Backend::get_autocorr_time(std::size_t discard, std::size_t thin, double c, double tol,
                                               bool quiet) const {
  std::vector<double> tau = integrated_time(get_chain(thin, discard), c, tol, quiet);
  for (double& t : tau) t *= double(thin);
  return tau;
}

void Backend::save_step(const std::vector<double>& coords, const std::vector<double>& log_prob,
                        const std::vector<std::uint8_t>& accepted) {
  const std::size_t W = nwalkers();
  if (initialized() && (coords.size() != W * ndim() || log_prob.size() != W || accepted.size() != W))
    throw ShapeError(nabla::impl::cat("nabla::sampling::Backend::save_step: got ", coords.size(), " coords, ",
                                      log_prob.size(), " log_prob, ", accepted.size(), " flags for the ", describe(),
                                      "'s ", W, " walkers x ", ndim(), " dims"));
  save_steps(coords.data(), log_prob.data(), accepted.data(), 1);
}

// ------------------------------------------------------------------------------------------ settings

void validate_settings(const Settings& settings, const std::string& who) { settings_impl::validate(settings, who); }

void check_settings(const Backend& backend, const Settings& run, const std::string& who) {
  const std::string differ =
      settings_impl::mismatch(nabla::impl::cat(who, ": the ", backend.describe()), backend.settings(), run,
                              "resume with the settings the chain was started with, or start a new chain");
  if (!differ.empty()) throw ValueError(differ);
}

std::uint64_t settings_hash(const Settings& settings) { return settings_impl::hash(settings); }

// Steps [first, first + count) must be committed ones: rows past the chain's `steps` hold nothing (memory) or
// whatever the disk held (files).
void Backend::check_steps(const char* who, std::size_t first, std::size_t count, std::size_t steps) const {
  if (first > steps || count > steps - first)
    throw ValueError(nabla::impl::cat(who, ": steps [", first, ", ", first, " + ", count, ") are outside the ",
                                      describe(), "'s ", steps, " steps"));
}

// ------------------------------------------------------------------------------------------ MemoryBackend

void MemoryBackend::reset(std::size_t nwalkers, std::size_t ndim) {
  m_initialized = true;
  m_nwalkers = nwalkers;
  m_ndim = ndim;
  m_iteration = 0;
  m_chain.clear();
  m_log_prob.clear();
  m_accepted.assign(nwalkers, 0.0);
  m_seed.reset();
  m_state.reset();
  m_settings.clear();
}

void MemoryBackend::set_settings(const Settings& settings) {
  validate_settings(settings, "nabla::sampling::MemoryBackend::set_settings");
  if (settings != m_settings)
    impl::require_empty_chain(m_iteration, "nabla::sampling::MemoryBackend::set_settings", "the chain", "settings");
  m_settings = settings;
}

void MemoryBackend::set_sampler_state(const std::string& state) {
  impl::require_empty_chain(m_iteration, "nabla::sampling::MemoryBackend::set_sampler_state", "the chain", "state");
  m_state = state;
}

// Fails at once, naming the sizes, for a run that cannot fit in memory (rather than after hours of steps).
void MemoryBackend::grow(std::size_t nsteps) {
  using impl::add_sat;
  using impl::mul_sat;
  // Chain values, log_prob values and their bytes, saturated: kSaturated bytes is more than 2^64.
  const std::size_t steps = add_sat(m_iteration, nsteps), values = mul_sat(steps, mul_sat(m_nwalkers, m_ndim)),
                    lp = mul_sat(steps, m_nwalkers), bytes = mul_sat(add_sat(values, lp), sizeof(double));
  const bool overflow = bytes == impl::kSaturated;
  try {
    if (overflow) throw std::length_error("overflow");
    m_chain.reserve(values);
    m_log_prob.reserve(lp);
  } catch (const std::exception&) {  // std::bad_alloc, std::length_error
    throw ValueError(nabla::impl::cat(
        "nabla::sampling::MemoryBackend::grow: ", m_iteration, " + ", nsteps, " steps of ", m_nwalkers, " walkers x ",
        m_ndim, " dims need ", overflow ? std::string("more than 2^64") : std::to_string(bytes),
        " bytes of memory, more than can be allocated; run fewer steps or store the chain in a file (HDFBackend)"));
  }
}

void MemoryBackend::save_steps(const double* coords, const double* log_prob, const std::uint8_t* accepted,
                                std::size_t nsteps) {
  if (!m_initialized) throw ValueError("nabla::sampling::MemoryBackend::save_steps: the backend was never reset");
  const std::size_t W = m_nwalkers;
  m_chain.insert(m_chain.end(), coords, coords + nsteps * W * m_ndim);
  m_log_prob.insert(m_log_prob.end(), log_prob, log_prob + nsteps * W);
  for (std::size_t t = 0; t < nsteps; ++t)
    for (std::size_t w = 0; w < W; ++w) m_accepted[w] += accepted[t * W + w] ? 1.0 : 0.0;
  m_iteration += nsteps;
}

Backend::Rows MemoryBackend::rows(std::size_t nsteps) {
  if (!m_initialized) throw ValueError("nabla::sampling::MemoryBackend::rows: the backend was never reset");
  const std::size_t W = m_nwalkers, end = m_iteration + nsteps;
  m_chain.resize(end * W * m_ndim);
  m_log_prob.resize(end * W);
  m_flags.resize(nsteps * W);
  return {m_chain.data() + m_iteration * W * m_ndim, m_log_prob.data() + m_iteration * W, m_flags.data(), true};
}

void MemoryBackend::commit_rows(std::size_t nsteps) {
  const std::size_t W = m_nwalkers;
  for (std::size_t t = 0; t < nsteps; ++t)
    for (std::size_t w = 0; w < W; ++w) m_accepted[w] += m_flags[t * W + w] ? 1.0 : 0.0;
  m_iteration += nsteps;
  m_chain.resize(m_iteration * W * m_ndim);  // drops rows handed out but not filled (a step that met a NaN)
  m_log_prob.resize(m_iteration * W);
}

std::vector<double> MemoryBackend::read_chain(std::size_t first, std::size_t count) const {
  check_steps("nabla::sampling::MemoryBackend::read_chain", first, count, m_iteration);
  const std::size_t row = m_nwalkers * m_ndim;
  return std::vector<double>(m_chain.begin() + first * row, m_chain.begin() + (first + count) * row);
}

std::vector<double> MemoryBackend::read_log_prob(std::size_t first, std::size_t count) const {
  check_steps("nabla::sampling::MemoryBackend::read_log_prob", first, count, m_iteration);
  return std::vector<double>(m_log_prob.begin() + first * m_nwalkers, m_log_prob.begin() + (first + count) * m_nwalkers);
}

}  // namespace sampling
}  // namespace nabla
