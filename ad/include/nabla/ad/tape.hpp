/// \file tape.hpp
/// \brief Reverse mode over arrays: a flat, host-side tape of array operations and the Var handles they
/// produce. Each node holds its backward step as a closure; adjoints are allocated only for variables that
/// depend on a differentiated input.
#pragma once

#include <nabla/core/array.hpp>
#include <nabla/core/assign.hpp>
#include <nabla/core/error.hpp>

#include <any>
#include <typeinfo>
#include <unordered_map>
#include <functional>
#include <string>
#include <vector>

namespace nabla {
namespace ad {

class Tape;

/// \brief A differentiable array: a value (computed eagerly) and its place on a tape.
template <class T, int R>
class Var {
 public:
  using value_type = T;
  static constexpr int rank = R;
  using array_type = Array<T, R>;

  Var() = default;
  Var(Tape* tape, int id, array_type value, bool requires_grad, std::size_t generation)
      : m_tape(tape), m_id(id), m_value(std::move(value)), m_requires_grad(requires_grad), m_generation(generation) {}

  /// The value; a pending (deferred) result is computed on first access.
  const array_type& value() const;
  /// The value's storage without computing a pending result (for the op that computes it).
  const array_type& value_unchecked() const { return m_value; }
  Shape<R> shape() const { return m_value.shape(); }
  std::size_t size() const { return m_value.size(); }
  Tape* tape() const { return m_tape; }
  int id() const { return m_id; }
  bool requires_grad() const { return m_requires_grad; }
  std::size_t generation() const { return m_generation; }

 private:
  Tape* m_tape = nullptr;
  int m_id = -1;
  array_type m_value;
  bool m_requires_grad = false;
  std::size_t m_generation = 0;
};

template <class T>
struct is_var : std::false_type {};
template <class T, int R>
struct is_var<Var<T, R>> : std::true_type {};

namespace impl {
template <class T, int R>
long array_use_count(const std::any& a) {
  return long(std::any_cast<const Array<T, R>&>(a).view().use_count());
}
}  // namespace impl

/// \brief The tape: variables (by id) with their adjoints, and nodes in recording order.
///
/// Arrays the tape allocates (op results, adjoints) go back to a pool on clear() once nothing else holds
/// them, so a training loop that records, sweeps and clears the same graph allocates nothing after its
/// first iteration.
class Tape {
 public:
  Tape() = default;
  Tape(const Tape&) = delete;
  Tape& operator=(const Tape&) = delete;

  /// An input to differentiate with respect to (shares `value`'s memory).
  template <class T, int R, class L>
  Var<T, R> variable(const Array<T, R, DefaultMemorySpace, L>& value) {
    return make_var(to_left(value), true);
  }
  /// An input not differentiated: no adjoint is ever allocated for it.
  template <class T, int R, class L>
  Var<T, R> constant(const Array<T, R, DefaultMemorySpace, L>& value) {
    return make_var(to_left(value), false);
  }

  /// \brief An array for an op's result or an adjoint, from the pool when one of this type and shape is free.
  template <class T, int R>
  Array<T, R> allocate(const Shape<R>& shape, bool zero) {
    const std::string key = std::string(typeid(T).name()) + to_string(shape);
    auto& free = m_pool[key];
    Array<T, R> a;
    if (!free.empty()) {
      a = std::any_cast<Array<T, R>>(free.back());
      free.pop_back();
      if (zero) assign(a, T(0));
    } else {
      a = zero ? Array<T, R>(shape, "nabla::ad::tape") : Array<T, R>(shape, "nabla::ad::tape", uninitialized);
    }
    m_owned.push_back(Owned{key, a, &impl::array_use_count<T, R>});
    return a;
  }

  /// \brief Records an op whose result is `output`: `backward(y)` runs during the reverse sweep once y's
  /// adjoint is complete, and adds into the adjoints of the op's inputs (`adjoint(x)`). Other modules add
  /// their own differentiable ops this way. Nothing is recorded when no input requires a gradient.
  template <class T, int R, class Backward>
  Var<T, R> record(Array<T, R> output, bool requires_grad, Backward backward, const char* name = "custom") {
    auto v = make_var(std::move(output), requires_grad);
    if (requires_grad) m_nodes.push_back(Node{v.id(), [backward, v] { backward(v); }, {}, {}, name});
    return v;
  }

  /// \brief Records a scalar op whose forward is deferred: `forward(y)` computes y's value when it is first
  /// read; `fused(y)`, when y is the output of backward() and was never read, computes the value AND the
  /// input adjoints for seed 1 in one pass (a reduction's forward and backward in one kernel).
  template <class T, class Forward, class Backward, class Fused>
  Var<T, 0> record_deferred(Array<T, 0> output, bool requires_grad, Forward forward, Backward backward, Fused fused,
                            const char* name) {
    auto v = make_var(std::move(output), requires_grad);
    m_slots[v.id()].pending = true;
    m_slots[v.id()].node = int(m_nodes.size());
    m_nodes.push_back(Node{v.id(), [backward, v] { backward(v); }, [forward, v] { forward(v); },
                           [fused, v] { fused(v); }, name});
    return v;
  }

  /// Computes a deferred value now (Var::value() calls this).
  template <class T, int R>
  void materialize(const Var<T, R>& v) {
    if (v.tape() != this || v.generation() != m_generation) return;
    auto& slot = m_slots[v.id()];
    if (!slot.pending) return;
    slot.pending = false;
    m_nodes[slot.node].forward();
  }

  /// \brief The adjoint of `v` (zero-filled on first use): ops add into it in their backward steps.
  template <class T, int R>
  Array<T, R> adjoint(const Var<T, R>& v) {
    check(v, "adjoint");
    auto& slot = m_slots[v.id()];
    if (!slot.adjoint.has_value()) slot.adjoint = allocate<T, R>(v.shape(), true);
    return std::any_cast<Array<T, R>>(slot.adjoint);
  }

  /// \brief The adjoint of `v` for an op that will write every element: when it does not exist yet it is
  /// allocated without zero-filling and `fresh` is set (write, don't add); otherwise add as usual.
  template <class T, int R>
  Array<T, R> adjoint_to_write(const Var<T, R>& v, bool& fresh) {
    check(v, "adjoint");
    auto& slot = m_slots[v.id()];
    fresh = !slot.adjoint.has_value();
    if (fresh) slot.adjoint = allocate<T, R>(v.shape(), false);
    return std::any_cast<Array<T, R>>(slot.adjoint);
  }

  /// Whether the adjoint of `v` has been touched (false: it is zero and unallocated).
  template <class T, int R>
  bool has_adjoint(const Var<T, R>& v) const {
    check(v, "has_adjoint");
    return m_slots[v.id()].adjoint.has_value();
  }

  /// \brief The gradient of scalar `y` with respect to every variable: sets dy/dy = 1 and sweeps back.
  template <class T>
  void backward(const Var<T, 0>& y) {
    check(y, "backward");
    if (!y.requires_grad())
      throw ValueError("nabla::ad::backward: the output does not depend on any differentiated variable");
    bool fresh = false;
    auto dy = adjoint_to_write(y, fresh);
    if (fresh) assign(dy, T(1));
    else assign(dy, dy + T(1));
    auto& slot = m_slots[y.id()];
    if (slot.pending) {  // nobody read y: its forward and backward run as one kernel
      slot.pending = false;
      Node& node = m_nodes[slot.node];
      node.fused();
      node.done = true;
    }
    sweep();
  }

  /// \brief Reverse sweep from a non-scalar output with a given cotangent (vector-Jacobian products).
  template <class T, int R, class V>
  void seed(const Var<T, R>& y, const V& cotangent) {
    check(y, "seed");
    if (!y.requires_grad()) throw ValueError("nabla::ad::seed: the output does not depend on any differentiated variable");
    auto a = adjoint(y);
    Kokkos::deep_copy(a.view(), cotangent.view());
    sweep();
  }

  /// \brief The gradient w.r.t. `x` after backward(); throws if x is not a differentiated variable here.
  template <class T, int R>
  Array<T, R> grad(const Var<T, R>& x) {
    check(x, "grad");
    if (!x.requires_grad())
      throw ValueError(::nabla::impl::cat("nabla::ad::grad: variable ", x.id(), " is a constant on this tape"));
    return adjoint(x);  // zero if y does not depend on x
  }

  /// Forgets every node and variable; Vars recorded before become invalid (using one throws). Arrays
  /// nobody else holds return to the pool.
  void clear() {
    m_nodes.clear();
    m_slots.clear();
    for (auto& o : m_owned)
      if (o.use_count(o.array) == 1) m_pool[o.key].push_back(std::move(o.array));
    m_owned.clear();
    ++m_generation;
  }

  std::size_t num_nodes() const { return m_nodes.size(); }
  std::size_t num_variables() const { return m_slots.size(); }

  /// Throws ValueError unless v was recorded on this tape since its last clear().
  template <class T, int R>
  void check(const Var<T, R>& v, const char* what) const {
    if (v.tape() != this)
      throw ValueError(::nabla::impl::cat("nabla::ad::", what, ": the variable is not on this tape"));
    if (v.generation() != m_generation || v.id() < 0 || std::size_t(v.id()) >= m_slots.size())
      throw ValueError(::nabla::impl::cat("nabla::ad::", what, ": the variable was recorded before the tape was cleared"));
  }

 private:
  struct Node {
    int output;
    std::function<void()> backward;
    std::function<void()> forward;  // deferred ops only
    std::function<void()> fused;    // deferred ops only
    const char* name;
    bool done = false;
  };
  struct Slot {
    std::any adjoint;  // Array<T, R> of the variable's type, allocated on first use
    bool pending = false;
    int node = -1;
  };
  struct Owned {
    std::string key;
    std::any array;
    long (*use_count)(const std::any&);
  };

  template <class T, int R, class L>
  static Array<T, R> to_left(const Array<T, R, DefaultMemorySpace, L>& a) {
    if constexpr (std::is_same<L, Kokkos::LayoutLeft>::value) {
      return a;
    } else {
      Array<T, R> out(a.shape(), a.label(), uninitialized);
      Kokkos::deep_copy(out.view(), a.view());
      return out;
    }
  }

  template <class T, int R>
  Var<T, R> make_var(Array<T, R> value, bool requires_grad) {
    m_slots.emplace_back();
    return Var<T, R>(this, int(m_slots.size() - 1), std::move(value), requires_grad, m_generation);
  }

  void sweep() {
    for (auto it = m_nodes.rbegin(); it != m_nodes.rend(); ++it) {
      if (it->done || !m_slots[it->output].adjoint.has_value()) continue;
      it->backward();
      it->done = true;
    }
  }

  std::vector<Node> m_nodes;
  std::vector<Slot> m_slots;
  std::vector<Owned> m_owned;
  std::unordered_map<std::string, std::vector<std::any>> m_pool;
  std::size_t m_generation = 0;
};

template <class T, int R>
const typename Var<T, R>::array_type& Var<T, R>::value() const {
  if (m_tape) m_tape->materialize(*this);
  return m_value;
}

namespace impl {
/// The one tape shared by the Vars of an operation; throws if they come from different tapes.
template <class... Vars>
Tape* common_tape(const char* what, const Vars&... vs) {
  Tape* t = nullptr;
  auto take = [&](const auto& v) {
    if (!v.tape())
      throw ValueError(::nabla::impl::cat("nabla::ad::", what, ": a default-constructed Var (it belongs to no tape); ",
                                          "make Vars with tape.variable(array) or tape.constant(array)"));
    if (!t) t = v.tape();
    else if (v.tape() != t) throw ValueError(::nabla::impl::cat("nabla::ad::", what, ": variables from different tapes"));
  };
  (take(vs), ...);
  (t->check(vs, what), ...);
  return t;
}
}  // namespace impl

}  // namespace ad
}  // namespace nabla
