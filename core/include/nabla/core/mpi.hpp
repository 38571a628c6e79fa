/// \file mpi.hpp
/// \brief A small MPI communicator wrapper (behind NABLA_ENABLE_MPI): rank/size, reductions of scalars and
/// Arrays, broadcast, gathers (of one value, and of every rank's part of a buffer), rank-0 printing, and
/// abort-on-error so one failing rank never hangs the job.
#pragma once

#include <nabla/config.hpp>

#if NABLA_ENABLE_MPI

#include <nabla/core/array.hpp>
#include <nabla/core/error.hpp>

#include <mpi.h>

#include <climits>
#include <cstdint>
#include <iostream>
#include <string>
#include <type_traits>
#include <vector>

namespace nabla {
namespace mpi {

enum class Op { sum, min, max };

namespace impl {
template <class T>
MPI_Datatype datatype() {
  if constexpr (std::is_same<T, double>::value) return MPI_DOUBLE;
  else if constexpr (std::is_same<T, float>::value) return MPI_FLOAT;
  else if constexpr (std::is_same<T, int>::value) return MPI_INT;
  else if constexpr (std::is_same<T, long>::value) return MPI_LONG;
  else if constexpr (std::is_same<T, long long>::value) return MPI_LONG_LONG;
  else if constexpr (std::is_same<T, unsigned long>::value) return MPI_UNSIGNED_LONG;
  else if constexpr (std::is_same<T, unsigned long long>::value) return MPI_UNSIGNED_LONG_LONG;
  else if constexpr (std::is_same<T, unsigned>::value) return MPI_UNSIGNED;
  else if constexpr (std::is_same<T, char>::value) return MPI_CHAR;
  else static_assert(sizeof(T) == 0, "nabla::mpi: no MPI datatype for this element type");
}
MPI_Op op(Op o);
void check(int rc, const char* what);

/// An MPI datatype of one element of T (its bytes), freed with the object.
template <class T>
class ElementType {
 public:
  ElementType() {
    check(MPI_Type_contiguous(int(sizeof(T)), MPI_BYTE, &m_type), "MPI_Type_contiguous");
    check(MPI_Type_commit(&m_type), "MPI_Type_commit");
  }
  ~ElementType() { MPI_Type_free(&m_type); }
  ElementType(const ElementType&) = delete;
  ElementType& operator=(const ElementType&) = delete;
  MPI_Datatype get() const { return m_type; }

 private:
  MPI_Datatype m_type = MPI_DATATYPE_NULL;
};

/// An element count or displacement as MPI's int; a larger one is a ValueError naming `who`.
inline int count(std::size_t n, const char* who) {
  if (n > std::size_t(INT_MAX))
    throw ValueError(::nabla::impl::cat(who, ": ", n, " elements in one message exceed MPI's limit of 2^31 - 1"));
  return int(n);
}

/// Where each rank's part of a message buffer lies: counts and displacements (MPI's ints) and the total.
struct Layout {
  std::vector<int> counts, displs;
  std::size_t total = 0;
  int count_of(int r) const { return counts[std::size_t(r)]; }
  std::size_t displ_of(int r) const { return std::size_t(displs[std::size_t(r)]); }
};

/// The layout of `size(r)` elements for each of `nranks` ranks, one after another in rank order.
template <class Size>
Layout layout(int nranks, const char* who, Size&& size) {
  Layout l;
  l.counts.resize(std::size_t(nranks));
  l.displs.resize(std::size_t(nranks));
  for (int r = 0; r < nranks; ++r) {
    l.counts[std::size_t(r)] = count(size(r), who);
    l.displs[std::size_t(r)] = count(l.total, who);
    l.total += std::size_t(l.counts[std::size_t(r)]);
  }
  return l;
}
}  // namespace impl

/// \brief Initialises MPI (thread level funneled) for its lifetime, unless it already is.
class Environment {
 public:
  Environment(int& argc, char**& argv);
  ~Environment();
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;

 private:
  bool m_owns = false;
};

/// \brief A communicator handle (MPI_COMM_WORLD by default). Collective calls must be made by every rank.
class Comm {
 public:
  explicit Comm(MPI_Comm comm = MPI_COMM_WORLD);

  int rank() const { return m_rank; }
  int size() const { return m_size; }
  bool is_root() const { return m_rank == 0; }
  MPI_Comm get() const { return m_comm; }

  void barrier() const;

  /// Reduction of one value over all ranks; every rank gets the result.
  template <class T>
  T allreduce(T value, Op op = Op::sum) const {
    T out{};
    impl::check(MPI_Allreduce(&value, &out, 1, impl::datatype<T>(), impl::op(op), m_comm), "MPI_Allreduce");
    return out;
  }

  /// In-place elementwise reduction of a contiguous Array over all ranks. Device arrays are staged through
  /// a host copy (Nabla does not assume a device-aware MPI).
  template <class T, int R, class S, class L>
  void allreduce(const Array<T, R, S, L>& a, Op op = Op::sum) const {
    check_same(a.size(), "nabla::mpi::allreduce", "array size");
    if (!a.view().span_is_contiguous())
      throw ShapeError("nabla::mpi::allreduce: the array must be contiguous");
    auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), a.view());
    impl::check(MPI_Allreduce(MPI_IN_PLACE, h.data(), int(h.size()), impl::datatype<T>(), impl::op(op), m_comm),
                "MPI_Allreduce");
    Kokkos::deep_copy(a.view(), h);
  }

  /// Broadcast of one value from `root`.
  template <class T>
  T broadcast(T value, int root = 0) const {
    impl::check(MPI_Bcast(&value, 1, impl::datatype<T>(), root, m_comm), "MPI_Bcast");
    return value;
  }

  /// Broadcast of a contiguous Array's contents from `root` (same shape on every rank).
  template <class T, int R, class S, class L>
  void broadcast(const Array<T, R, S, L>& a, int root = 0) const {
    check_same(a.size(), "nabla::mpi::broadcast", "array size");
    auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), a.view());
    impl::check(MPI_Bcast(h.data(), int(h.size()), impl::datatype<T>(), root, m_comm), "MPI_Bcast");
    Kokkos::deep_copy(a.view(), h);
  }

  /// Every rank's value, in rank order, on `root` (empty elsewhere).
  template <class T>
  std::vector<T> gather(T value, int root = 0) const {
    std::vector<T> out(m_rank == root ? m_size : 0);
    impl::check(MPI_Gather(&value, 1, impl::datatype<T>(), out.data(), 1, impl::datatype<T>(), root, m_comm),
                "MPI_Gather");
    return out;
  }

  /// Every rank's `mine` (its l.count_of(rank) elements) at l.displ_of(r) of `all` (l.total elements), on every
  /// rank when root < 0, else on `root` alone (elsewhere `all` is not touched and may be null). One
  /// MPI_Allgatherv or MPI_Gatherv; host memory.
  template <class T>
  void gatherv(const T* mine, const impl::Layout& l, T* all, int root = -1) const {
    const impl::ElementType<T> type;
    if (root < 0)
      impl::check(MPI_Allgatherv(mine, l.count_of(m_rank), type.get(), all, l.counts.data(), l.displs.data(),
                                 type.get(), m_comm),
                  "MPI_Allgatherv");
    else
      impl::check(MPI_Gatherv(mine, l.count_of(m_rank), type.get(), all, l.counts.data(), l.displs.data(),
                              type.get(), root, m_comm),
                  "MPI_Gatherv");
  }

  /// Prints on rank 0 only.
  template <class... Args>
  void print(const Args&... args) const {
    if (m_rank == 0) {
      (std::cout << ... << args);
      std::cout.flush();
    }
  }

  /// Throws ValueError on every rank unless all ranks pass the same `n` (a size, seed or option that must
  /// match across the job): "<who>: ranks disagree on the <what> (rank R of S has n; values range from lo to
  /// hi)". One collective. The job's one such check: modules call it rather than their own.
  void check_same(std::size_t n, const std::string& who, const char* what) const;

  /// Prints "nabla: rank R: message" to stderr and aborts every rank of the job.
  [[noreturn]] void abort(const std::string& message, int code = 1) const;

 private:
  MPI_Comm m_comm;
  int m_rank = 0, m_size = 1;
};

/// \brief Runs `body`; an exception on any rank ends the whole job with its message and a non-zero code,
/// instead of leaving the other ranks waiting in a collective forever.
template <class Body>
int run_or_abort(const Comm& comm, Body&& body) {
  try {
    body();
  } catch (const std::exception& e) {
    comm.abort(e.what());
  } catch (...) {
    comm.abort("unknown exception");
  }
  return 0;
}

}  // namespace mpi
}  // namespace nabla

#endif  // NABLA_ENABLE_MPI
