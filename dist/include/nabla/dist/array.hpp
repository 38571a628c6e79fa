/// \file array.hpp
/// \brief nabla::dist::Array: a global shape, its partition over a rank grid, and this rank's block, which IS
/// a core Array (everything core does runs on it unchanged).
#pragma once

#include <nabla/core/array.hpp>
#include <nabla/core/create.hpp>
#include <nabla/dist/grid.hpp>

#include <ostream>
#include <sstream>
#include <string>

namespace nabla {
namespace dist {

/// \brief A rank-R array of T distributed over a grid of MPI ranks; this rank holds `local()`, the block at
/// global offset `offset()` (column-major, in `Space`).
template <class T, int R, class Space = DefaultMemorySpace>
class Array {
 public:
  using value_type = T;
  using local_type = nabla::Array<T, R, Space>;
  using memory_space = typename local_type::memory_space;
  using execution_space = typename local_type::execution_space;
  static constexpr int rank = R;

  Array() = default;
  /// This rank's block, zero-filled.
  explicit Array(const Partition<R>& p, const std::string& label = "nabla::dist::Array")
      : m_part(p), m_local(p.local_shape(), label) {}
  Array(const Partition<R>& p, const std::string& label, uninitialized_t)
      : m_part(p), m_local(p.local_shape(), label, uninitialized) {}
  /// Adopts `local` as this rank's block of `p` (no copy); its shape must be the block's.
  Array(const Partition<R>& p, const local_type& local) : m_part(p), m_local(local) {
    const Shape<R> want = p.local_shape(), got = local.shape();
    for (int d = 0; d < R; ++d)
      if (want[d] != got[d])
        throw ShapeError(nabla::impl::cat("nabla::dist::Array: rank ", p.grid().rank(), "'s block of ", p.to_string(),
                                          " has shape ", nabla::to_string(want), ", not ", nabla::to_string(got)));
  }

  /// This rank's block: an ordinary core Array (zero-copy).
  const local_type& local() const { return m_local; }
  const Partition<R>& partition() const { return m_part; }
  const Grid& grid() const { return m_part.grid(); }
  const Shape<R>& shape() const { return m_part.shape(); }
  std::size_t extent(int d) const { return m_part.shape()[d]; }
  std::size_t size() const { return shape_size(m_part.shape()); }
  /// Global index of local element (0, ..., 0).
  Index<R> offset() const { return m_part.offset(); }
  /// The rank holding global index i (the first copy, where the array is replicated over some ranks).
  int owner(const Index<R>& i) const { return m_part.owner(i); }

 private:
  Partition<R> m_part;
  local_type m_local;
};

template <class T>
struct is_array : std::false_type {};
template <class T, int R, class S>
struct is_array<Array<T, R, S>> : std::true_type {};

/// "[0:32, 32:64]": a block as half-open index ranges.
template <int R>
std::string block_string(const Index<R>& lo, const Shape<R>& ext) {
  std::string s = "[";
  for (int d = 0; d < R; ++d)
    s += (d ? ", " : "") + std::to_string(lo[d]) + ":" + std::to_string(lo[d] + std::ptrdiff_t(ext[d]));
  return s + "]";
}

/// \brief Which rank owns which block, as every rank sees it (no communication): the partition, each rank's
/// block, and for 2-D arrays the owner map of the blocks (Dagger's `map(x -> myid(), DA)`).
template <class T, int R, class S>
std::string describe(const Array<T, R, S>& a) {
  const auto& p = a.partition();
  std::ostringstream os;
  os << "dist::Array " << p.to_string() << "\n";
  for (int r = 0; r < p.grid().size(); ++r) {
    os << "  rank " << r << ": " << block_string(p.offset_of(r), p.local_shape_of(r));
    if (!p.is_primary(r)) os << " (copy)";
    os << "\n";
  }
  if constexpr (R == 2) {
    const int nb0 = p.split(0) == replicated ? 1 : p.grid().dim(p.split(0));
    const int nb1 = p.split(1) == replicated ? 1 : p.grid().dim(p.split(1));
    os << "  owner map (" << nb0 << " x " << nb1 << " blocks):\n";
    for (int i = 0; i < nb0; ++i) {
      os << "   ";
      for (int j = 0; j < nb1; ++j) {
        Index<2> at{std::ptrdiff_t(p.begin(0, i)), std::ptrdiff_t(p.begin(1, j))};
        const bool empty = p.length(0, i) == 0 || p.length(1, j) == 0;
        os << " " << (empty ? std::string("-") : std::to_string(p.owner(at)));
      }
      os << "\n";
    }
  }
  return os.str();
}

template <class T, int R, class S>
std::ostream& operator<<(std::ostream& os, const Array<T, R, S>& a) {
  return os << "dist::Array<" << R << ">" << a.partition().to_string();
}

/// \brief The same array with a new axis of extent 1 at position `d` (replicated; no copy, no communication):
/// `x - insert_axis(mean(x, axis(0)), 0)` centres the columns of x, wherever x is split.
template <class T, int R, class S>
Array<T, R + 1, S> insert_axis(const Array<T, R, S>& a, int d) {
  if (d < 0 || d > R)
    throw ValueError(nabla::impl::cat("nabla::dist::insert_axis: position ", d, " is out of range for rank ", R));
  Shape<R + 1> shape{}, local{};
  SmallArray<int, R + 1> split{};
  const Shape<R> ls = a.local().shape();
  for (int e = 0, s = 0; e <= R; ++e) {
    if (e == d) {
      shape[e] = 1, local[e] = 1, split[e] = replicated;
    } else {
      shape[e] = a.shape()[s], local[e] = ls[s], split[e] = a.partition().split(s);
      ++s;
    }
  }
  return Array<T, R + 1, S>(Partition<R + 1>(a.grid(), shape, split), reshape(a.local(), local));
}

}  // namespace dist
}  // namespace nabla
