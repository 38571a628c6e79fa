/// \file batched.hpp
/// \brief Hamiltonian Monte Carlo of a batched target: the log-density of every chain at once, written as array
/// code on the reverse-mode tape,
///
///     ad::Var<double, 1> operator()(const ad::Var<double, 2>& positions) const   // chains × D in, chains out
///
/// and its gradient by ONE reverse sweep over all chains (seeded with ones: row c of the gradient is chain c's,
/// as long as row c of the output reads only row c of the input). Models with matmuls over data go through BLAS
/// this way, where a per-chain dual-number functor would do D times the work per gradient.
///
/// The chains' trajectories advance in lockstep: per leapfrog step, one kernel (the previous step's second
/// half-kick and this step's first half-kick and drift) and the target's own kernels. Each chain takes its own
/// jittered number of steps and is masked after it (or once its log-density is not finite), so a transition
/// computes what the one-thread-per-chain kernel computes, step for step; the random numbers are the same ones.
/// NUTS trajectories run the same way, leaf by leaf: each chain's tree is a NutsMachine (nuts.hpp) that stops
/// before every gradient, and a chain whose tree has stopped is masked until the last one has.
#pragma once

#include <nabla/ad/ops.hpp>
#include <nabla/core/error.hpp>
#include <nabla/core/launch.hpp>
#include <nabla/sampling/hmc/transition.hpp>

#include <Kokkos_Core.hpp>

#include <cstdint>
#include <type_traits>
#include <utility>

namespace nabla {
namespace sampling {
namespace hmc {

/// Whether F is a batched target (callable on the tape with every chain's position).
template <class F, class = void>
struct is_batched : std::false_type {};
template <class F>
struct is_batched<F, std::void_t<decltype(std::declval<const F&>()(std::declval<const ad::Var<double, 2>&>()))>>
    : std::true_type {};

namespace impl {

/// Every chain's trajectory in the tape's layout (chains × D, chains fastest) and how far it has got. NUTS's
/// trajectories use q alone (their machines hold the rest): the other views are allocated for static ones only.
template <class Mem>
struct Lockstep {
  Kokkos::View<double**, Kokkos::LayoutLeft, Mem> q, p, g;
  Kokkos::View<double*, Mem> logp;
  Kokkos::View<StaticPlan*, Mem> plan;       // the transition's random numbers, drawn once at its start
  Kokkos::View<int*, Mem> taken;             // leapfrog steps (drifts) taken
  Kokkos::View<std::uint8_t*, Mem> stopped;  // reached a non-finite log-density
};

/// Chain c's trajectory point in the lockstep layout, and back.
template <int D, class Mem>
KOKKOS_INLINE_FUNCTION void load_point(const Lockstep<Mem>& x, std::size_t c, Phase<D>& y) {
  for (int i = 0; i < D; ++i) {
    y.q[i] = x.q(c, i);
    y.p[i] = x.p(c, i);
    y.g[i] = x.g(c, i);
  }
  y.logp = x.logp(c);
}
template <int D, class Mem>
KOKKOS_INLINE_FUNCTION void store_point(const Phase<D>& y, std::size_t c, const Lockstep<Mem>& x) {
  for (int i = 0; i < D; ++i) {
    x.q(c, i) = y.q[i];
    x.p(c, i) = y.p[i];
    x.g(c, i) = y.g[i];
  }
  x.logp(c) = y.logp;
}

/// Starts transition t of every chain: its momentum and plan, and the trajectory at the chain's state; reduces
/// the longest trajectory's steps (the length of the lockstep loop).
template <int D, class Mem>
struct LockstepBegin {
  typename Views<Mem>::Rows q, g;
  typename Views<Mem>::Column logp;
  Lockstep<Mem> x;
  Params<D> a;
  int t;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t c, int& longest) const {
    Phase<D> s;
    const nabla::random::Key key = begin_transition<D, Mem>(q, g, logp, a, c, t, s);
    store_point<D, Mem>(s, c, x);
    const StaticPlan plan = static_plan<D>(key, a);
    x.plan(c) = plan;
    x.taken(c) = 0;
    x.stopped(c) = 0;
    if (plan.steps > longest) longest = plan.steps;
  }
};

/// Iteration k of the lockstep leapfrog: a chain that drifted at step k − 1 takes its evaluation (value, grad)
/// and, if finite, its second half-kick; a chain with steps left then half-kicks and drifts.
template <int D, class Mem>
struct LockstepStep {
  Lockstep<Mem> x;
  Kokkos::View<const double*, Kokkos::LayoutLeft, Mem> value;   // empty when k = 0
  Kokkos::View<const double**, Kokkos::LayoutLeft, Mem> grad;  // chains × D
  Params<D> a;
  int k;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t c) const {
    if (x.stopped(c) || x.taken(c) != k) return;
    Phase<D> s;
    load_point<D, Mem>(x, c, s);
    if (k > 0) {
      s.logp = value(c);
      for (int i = 0; i < D; ++i) s.g[i] = grad(c, i);
      if (!finite(s.logp)) {
        x.stopped(c) = 1;
        store_point<D, Mem>(s, c, x);
        return;
      }
      half_kick<D>(s.p, s.g, a.eps);
    }
    if (k < x.plan(c).steps) {
      half_kick<D>(s.p, s.g, a.eps);
      drift<D>(s.q, s.p, a.inv_mass, a.eps);
      x.taken(c) = k + 1;
    }
    store_point<D, Mem>(s, c, x);
  }
};

/// Ends transition t of every chain: the Metropolis correction, its records, the chain's new state.
template <int D, class Mem>
struct LockstepEnd {
  typename Views<Mem>::Rows q, g;
  typename Views<Mem>::Column logp;
  Lockstep<Mem> x;
  Params<D> a;
  Records<Mem> out;
  int t;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t c) const {
    Phase<D> s, y;
    begin_transition<D, Mem>(q, g, logp, a, c, t, s);
    load_point<D, Mem>(x, c, y);
    const Outcome o = metropolis<D>(s, y, a.inv_mass, x.plan(c), x.taken(c));
    out.write(t, c, s, y, o, a.inv_mass);
    if (o.accept) store_phase<D, Mem>(y, c, q, g, logp);
  }
};

/// Starts transition t of every chain with NUTS trajectories: each chain's machine, up to its first drift.
template <int D, class Mem>
struct LockstepNutsBegin {
  typename Views<Mem>::Rows q, g;
  typename Views<Mem>::Column logp;
  Lockstep<Mem> x;
  Kokkos::View<NutsMachine<D>*, Mem> machines;
  Params<D> a;
  int t;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t c) const {
    Phase<D> s;
    const nabla::random::Key key = begin_transition<D, Mem>(q, g, logp, a, c, t, s);
    NutsMachine<D>& m = machines(c);
    m.begin(s, a.inv_mass, a.eps, a.tree_depth, key);
    m.drift(a.inv_mass);  // max_tree_depth ≥ 1: every trajectory has a first leaf
    for (int i = 0; i < D; ++i) x.q(c, i) = m.edge.q[i];
  }
};

/// One leaf of every chain whose tree still grows: it lands on its evaluation and drifts to the next; counts
/// the chains still growing.
template <int D, class Mem>
struct LockstepNutsStep {
  Lockstep<Mem> x;
  Kokkos::View<NutsMachine<D>*, Mem> machines;
  Kokkos::View<const double*, Kokkos::LayoutLeft, Mem> value;
  Kokkos::View<const double**, Kokkos::LayoutLeft, Mem> grad;
  Params<D> a;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t c, std::size_t& growing) const {
    NutsMachine<D>& m = machines(c);
    if (m.done) return;
    m.edge.logp = value(c);
    for (int i = 0; i < D; ++i) m.edge.g[i] = grad(c, i);
    m.land(a.inv_mass);
    if (m.done) return;
    m.drift(a.inv_mass);
    for (int i = 0; i < D; ++i) x.q(c, i) = m.edge.q[i];
    ++growing;
  }
};

/// Ends transition t of every chain with NUTS trajectories: the selected point, the records, the new state.
template <int D, class Mem>
struct LockstepNutsEnd {
  typename Views<Mem>::Rows q, g;
  typename Views<Mem>::Column logp;
  Kokkos::View<NutsMachine<D>*, Mem> machines;
  Params<D> a;
  Records<Mem> out;
  int t;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t c) const {
    const NutsMachine<D>& m = machines(c);
    Phase<D> s;
    load_phase<D, Mem>(q, g, logp, c, s);
    const Outcome o = nuts_outcome<D>(m.info, s, m.selected);
    out.write(t, c, s, m.selected, o, a.inv_mass);
    if (o.accept) store_phase<D, Mem>(m.selected, c, q, g, logp);
  }
};

/// Copies the chains' rows into the lockstep positions, where the target is evaluated ...
template <int D, class Mem>
struct LockstepLoad {
  typename Views<Mem>::Rows q;
  Kokkos::View<double**, Kokkos::LayoutLeft, Mem> positions;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t c) const {
    for (int i = 0; i < D; ++i) positions(c, i) = q(c, i);
  }
};
/// ... and the evaluation back into the chains' rows.
template <int D, class Mem>
struct LockstepStore {
  Kokkos::View<const double*, Kokkos::LayoutLeft, Mem> value;
  Kokkos::View<const double**, Kokkos::LayoutLeft, Mem> grad;
  typename Views<Mem>::Rows g;
  typename Views<Mem>::Column logp;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t c) const {
    for (int i = 0; i < D; ++i) g(c, i) = grad(c, i);
    logp(c) = value(c);
  }
};

/// The host side: the tape, the lockstep state, and the loop of leapfrog steps around the target (the sampler's,
/// passed to each call: the sampler is its one owner).
template <int D, class F, class Mem>
class Batched {
  using Policy = Kokkos::RangePolicy<Kokkos::DefaultExecutionSpace, Kokkos::IndexType<std::size_t>>;
  using Rows = typename Views<Mem>::Rows;
  using Column = typename Views<Mem>::Column;
  static_assert(std::is_same<std::decay_t<decltype(std::declval<const F&>()(std::declval<const ad::Var<double, 2>&>()))>,
                             ad::Var<double, 1>>::value,
                "nabla::sampling::HamiltonianSampler: a batched log-density takes every chain's position as an "
                "ad::Var<double, 2> (chains x D) and returns an ad::Var<double, 1> (one log-density per chain)");

 public:
  explicit Batched(std::size_t chains) : m_chains(chains) {
    m_x.q = decltype(m_x.q)("nabla::sampling::hmc::lockstep_q", chains, D);
    m_ones = Array<double, 1>({chains}, "nabla::sampling::hmc::ones");
    Kokkos::deep_copy(m_ones.view(), 1.0);
  }

  /// Log-density f and its gradient at every chain's row of q, into g and logp.
  void evaluate(const F& f, const Rows& q, const Rows& g, const Column& logp) {
    if (m_chains == 0) return;
    Kokkos::parallel_for("nabla::sampling::hmc::lockstep_load", Policy(default_instance(), 0, m_chains),
                         LockstepLoad<D, Mem>{q, m_x.q});
    auto [value, grad] = evaluate_lockstep(f);
    Kokkos::parallel_for("nabla::sampling::hmc::lockstep_store", Policy(default_instance(), 0, m_chains),
                         LockstepStore<D, Mem>{value.view(), grad.view(), g, logp});
  }

  /// a.steps transitions of every chain on f from its state (q, g, logp), recorded into `out`.
  void run(const F& f, const Rows& q, const Rows& g, const Column& logp, const Params<D>& a,
           const Records<Mem>& out) {
    if (m_chains == 0) return;
    if (a.tree_depth > 0) return run_nuts(f, q, g, logp, a, out);
    if (m_x.p.extent(0) != m_chains) {  // a static trajectory's state, allocated on first use
      m_x.p = decltype(m_x.p)("nabla::sampling::hmc::lockstep_p", m_chains, D);
      m_x.g = decltype(m_x.g)("nabla::sampling::hmc::lockstep_g", m_chains, D);
      m_x.logp = decltype(m_x.logp)("nabla::sampling::hmc::lockstep_logp", m_chains);
      m_x.plan = decltype(m_x.plan)("nabla::sampling::hmc::lockstep_plan", m_chains);
      m_x.taken = decltype(m_x.taken)("nabla::sampling::hmc::lockstep_taken", m_chains);
      m_x.stopped = decltype(m_x.stopped)("nabla::sampling::hmc::lockstep_stopped", m_chains);
    }
    const Policy chains(default_instance(), 0, m_chains);
    for (int t = 0; t < a.steps; ++t) {
      int longest = 0;  // the loop ends with the longest trajectory
      Kokkos::parallel_reduce("nabla::sampling::hmc::lockstep_begin", chains,
                              LockstepBegin<D, Mem>{q, g, logp, m_x, a, t}, Kokkos::Max<int>(longest));
      Array<double, 1> value;
      Array<double, 2> grad;
      for (int k = 0; k <= longest; ++k) {
        Kokkos::parallel_for("nabla::sampling::hmc::lockstep_step", chains,
                             LockstepStep<D, Mem>{m_x, value.view(), grad.view(), a, k});
        value = {};  // back to the tape's pool before it is cleared: no allocation per step
        grad = {};
        if (k < longest) std::tie(value, grad) = evaluate_lockstep(f);
      }
      Kokkos::parallel_for("nabla::sampling::hmc::lockstep_end", chains,
                           LockstepEnd<D, Mem>{q, g, logp, m_x, a, out, t});
    }
  }

 private:
  // NUTS: every chain's tree grows leaf by leaf in lockstep until the last one stops; chains that stopped are
  // masked (evaluated with the others, their results unused).
  void run_nuts(const F& f, const Rows& q, const Rows& g, const Column& logp, const Params<D>& a,
                const Records<Mem>& out) {
    if (m_machines.extent(0) != m_chains)
      m_machines = Kokkos::View<NutsMachine<D>*, Mem>("nabla::sampling::hmc::nuts_machines", m_chains);
    const Policy chains(default_instance(), 0, m_chains);
    for (int t = 0; t < a.steps; ++t) {
      Kokkos::parallel_for("nabla::sampling::hmc::lockstep_nuts_begin", chains,
                           LockstepNutsBegin<D, Mem>{q, g, logp, m_x, m_machines, a, t});
      for (std::size_t growing = m_chains; growing > 0;) {
        auto [value, grad] = evaluate_lockstep(f);
        growing = 0;
        Kokkos::parallel_reduce("nabla::sampling::hmc::lockstep_nuts_step", chains,
                                LockstepNutsStep<D, Mem>{m_x, m_machines, value.view(), grad.view(), a}, growing);
      }
      Kokkos::parallel_for("nabla::sampling::hmc::lockstep_nuts_end", chains,
                           LockstepNutsEnd<D, Mem>{q, g, logp, m_machines, a, out, t});
    }
  }

  // The target f at the lockstep positions: (log-densities, their gradients), arrays of the tape.
  std::pair<Array<double, 1>, Array<double, 2>> evaluate_lockstep(const F& f) {
    // Host BLAS on one thread: OpenBLAS splits a product by its thread count and rounds differently for each,
    // and the chains must not depend on the thread count.
    const nabla::impl::HostBlasThreads one_thread(0, 1);
    m_tape.clear();
    const auto positions = m_tape.variable(Array<double, 2>(m_x.q));
    const ad::Var<double, 1> y = f(positions);
    if (y.shape()[0] != m_chains)
      throw ShapeError(nabla::impl::cat("nabla::sampling::HamiltonianSampler: the batched log-density of ",
                                        to_string(positions.shape()), " positions returned ", to_string(y.shape()),
                                        " values; it must return one per chain, ", to_string(Shape<1>{m_chains})));
    m_tape.seed(y, m_ones);
    return {y.value(), m_tape.grad(positions)};
  }

  std::size_t m_chains;
  Lockstep<Mem> m_x;
  Kokkos::View<NutsMachine<D>*, Mem> m_machines;  // NUTS's per-chain state, allocated on first use
  Array<double, 1> m_ones;
  ad::Tape m_tape;
};

}  // namespace impl
}  // namespace hmc
}  // namespace sampling
}  // namespace nabla
