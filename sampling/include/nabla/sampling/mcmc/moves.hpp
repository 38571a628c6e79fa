/// \file moves.hpp
/// \brief The moves an EnsembleSampler can mix, each with a weight (emcee's `moves=[(move, weight), ...]`); the
/// move of each step is drawn from the weights with the counter-based RNG (seed, step).
///
/// A new move is one file in moves/ (see stretch.hpp for what it holds) and one entry in `MoveList` below: the
/// sampler's options, validation, kernels, labels and scratch follow from the list.
#pragma once

#include <nabla/sampling/mcmc/moves/de.hpp>
#include <nabla/sampling/mcmc/moves/de_snooker.hpp>
#include <nabla/sampling/mcmc/moves/gaussian.hpp>
#include <nabla/sampling/mcmc/moves/stretch.hpp>
#include <nabla/sampling/mcmc/moves/walk.hpp>

#include <algorithm>
#include <cstddef>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace nabla {
namespace sampling {
namespace impl {
template <class... M>
struct TypeList {};
}  // namespace impl

/// Every move: one entry each.
using MoveList = impl::TypeList<StretchMove, DEMove, WalkMove, DESnookerMove, GaussianMove>;

namespace impl {
template <class List>
struct MoveVariant;
template <class... M>
struct MoveVariant<TypeList<M...>> {
  using type = std::variant<M...>;
};

/// The kernel forms of every move side by side (trivially copyable, so device arrays of them need no constructors).
template <class... K>
struct KernelTuple {};
template <class K, class... Ks>
struct KernelTuple<K, Ks...> {
  K head;
  KernelTuple<Ks...> tail;
};
template <std::size_t I>
struct TupleGet {
  template <class T>
  KOKKOS_INLINE_FUNCTION static auto& get(T& t) {
    return TupleGet<I - 1>::get(t.tail);
  }
};
template <>
struct TupleGet<0> {
  template <class T>
  KOKKOS_INLINE_FUNCTION static auto& get(T& t) {
    return t.head;
  }
};
template <class List>
struct KernelsOf;
template <class... M>
struct KernelsOf<TypeList<M...>> {
  using type = KernelTuple<typename M::Kernel...>;
  static constexpr std::size_t size = sizeof...(M);
};
}  // namespace impl

/// One of the moves.
using Move = impl::MoveVariant<MoveList>::type;

/// A move and its (positive) weight.
struct WeightedMove {
  Move move = StretchMove{};
  double weight = 1.0;
};

namespace impl {
/// The move of one step as kernels take it: which move, its sub-ensembles, and its kernel form.
struct StepMove {
  int index = 0;
  int nsplits = 2;
  KernelsOf<MoveList>::type kernels;
};

template <class F, std::size_t... I>
KOKKOS_INLINE_FUNCTION void visit_move(const StepMove& m, F&& f, std::index_sequence<I...>) {
  (void)((m.index == int(I) && (f(TupleGet<I>::get(m.kernels)), true)) || ...);
}
/// Calls f with the kernel form of m's move (in kernels, and on the host with device-callable f).
template <class F>
KOKKOS_INLINE_FUNCTION void visit_move(const StepMove& m, F&& f) {
  visit_move(m, f, std::make_index_sequence<KernelsOf<MoveList>::size>());
}
template <class F, std::size_t... I>
void visit_move_on_host(const StepMove& m, F&& f, std::index_sequence<I...>) {
  (void)((m.index == int(I) && (f(TupleGet<I>::get(m.kernels)), true)) || ...);
}
/// visit_move for host-only f (a launch, a label): device compilers warn when a host function is reachable from a
/// function that is also compiled for the device.
template <class F>
void visit_move_on_host(const StepMove& m, F&& f) {
  visit_move_on_host(m, f, std::make_index_sequence<KernelsOf<MoveList>::size>());
}

template <class T>
void assign_kernel(T& slot, const T& k) {
  slot = k;
}
template <class T, class U>
void assign_kernel(T&, const U&) {}
template <class K, std::size_t... I>
void set_kernel(StepMove& s, const K& k, std::index_sequence<I...>) {
  (void)((s.index == int(I) && (assign_kernel(TupleGet<I>::get(s.kernels), k), true)) || ...);
}

/// The StepMove of a move: checked and prepared for `setup`'s ensemble (ValueError names a bad parameter).
inline StepMove step_move(const Move& move, MoveSetup& setup) {
  StepMove s;
  s.index = int(move.index());
  std::visit(
      [&](const auto& m) {
        const auto k = m.kernel(setup);
        s.nsplits = decltype(k)::nsplits;
        set_kernel(s, k, std::make_index_sequence<KernelsOf<MoveList>::size>());
      },
      move);
  return s;
}

template <int L, class List>
struct MaxDraws;
template <int L, class... M>
struct MaxDraws<L, TypeList<M...>> {
  static constexpr std::size_t bytes = std::max({sizeof(typename M::Kernel::template Draws<L>)...});
};
/// Bytes of the largest Draws<L> of any move (the slots of a pipelined block's ring of draws).
template <int L>
constexpr std::size_t max_draw_bytes() {
  return MaxDraws<L, MoveList>::bytes;
}
/// The label of a move's fused kernels: its label + "::fused".
template <class K>
const std::string& fused_label() {
  static const std::string s = std::string(K::label) + "::fused";
  return s;
}
}  // namespace impl

}  // namespace sampling
}  // namespace nabla
