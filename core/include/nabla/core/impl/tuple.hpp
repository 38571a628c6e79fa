/// \file tuple.hpp
/// \brief A minimal tuple usable in device code (std::tuple's accessors are host-only without relaxed constexpr).
#pragma once

#include <Kokkos_Core.hpp>

#include <cstddef>
#include <utility>

namespace nabla {
namespace impl {

template <std::size_t I, class T>
struct TupleLeaf {
  T value;
};

template <class Seq, class... Ts>
struct TupleImpl;

template <std::size_t... I, class... Ts>
struct TupleImpl<std::index_sequence<I...>, Ts...> : TupleLeaf<I, Ts>... {
  TupleImpl() = default;
  KOKKOS_INLINE_FUNCTION explicit TupleImpl(const Ts&... ts) : TupleLeaf<I, Ts>{ts}... {}
};

template <class... Ts>
struct Tuple : TupleImpl<std::index_sequence_for<Ts...>, Ts...> {
  using TupleImpl<std::index_sequence_for<Ts...>, Ts...>::TupleImpl;
  static constexpr std::size_t size = sizeof...(Ts);
};

template <std::size_t I, class T>
KOKKOS_INLINE_FUNCTION const T& get(const TupleLeaf<I, T>& leaf) {
  return leaf.value;
}
template <std::size_t I, class T>
KOKKOS_INLINE_FUNCTION T& get(TupleLeaf<I, T>& leaf) {
  return leaf.value;
}

/// Calls fn(get<0>(t), get<1>(t), ...) — host-side helper for walking expression trees.
template <class Tup, class Fn, std::size_t... I>
decltype(auto) apply_indexed_impl(Tup& t, Fn&& fn, std::index_sequence<I...>) {
  return fn(get<I>(t)...);
}
template <class... Ts, class Fn>
decltype(auto) apply_indexed(Tuple<Ts...>& t, Fn&& fn) {
  return apply_indexed_impl(t, fn, std::index_sequence_for<Ts...>{});
}
template <class... Ts, class Fn>
decltype(auto) apply_indexed(const Tuple<Ts...>& t, Fn&& fn) {
  return apply_indexed_impl(t, fn, std::index_sequence_for<Ts...>{});
}

}  // namespace impl
}  // namespace nabla
