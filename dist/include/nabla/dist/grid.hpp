/// \file grid.hpp
/// \brief A Cartesian grid of MPI ranks and the partition of an N-D shape over it.
///
/// A partition splits each axis of a global shape into contiguous blocks along one grid dimension, or leaves
/// it whole (replicated over that grid dimension's ranks). Blocks are as even as possible: the first n % p
/// blocks hold one element more. Every rank computes every rank's block from the partition alone, so no
/// operation needs to ask another rank where its data is; empty blocks (more ranks than elements) are legal.
#pragma once

#include <nabla/core/error.hpp>
#include <nabla/core/mpi.hpp>
#include <nabla/core/shape.hpp>

#include <memory>
#include <string>
#include <vector>

namespace nabla {
namespace dist {

/// Operands whose partitions do not match (or live on different grids).
class PartitionError : public ShapeError {
 public:
  using ShapeError::ShapeError;
};

/// The split of an axis that is not split: every rank along the grid holds all of it.
constexpr int replicated = -1;

/// \brief A Cartesian grid of the ranks of a communicator (MPI_Cart_create), any number of dimensions.
///
/// Ranks keep their order (no reordering): grid rank r is communicator rank r, coordinates row-major as in
/// MPI. Copies share one communicator; grids built separately are different grids, even over the same ranks.
class Grid {
 public:
  Grid() = default;
  /// Collective. `dims[g]` ranks along grid dimension g; zeros are chosen by MPI_Dims_create. Throws
  /// ValueError on every rank when the grid does not fit the communicator.
  Grid(const mpi::Comm& comm, std::vector<int> dims);
  /// A 1-D grid of every rank of `comm`.
  explicit Grid(const mpi::Comm& comm) : Grid(comm, {0}) {}

  int ndims() const { return int(state().dims.size()); }
  const std::vector<int>& dims() const { return state().dims; }
  int dim(int g) const { return state().dims[g]; }
  /// This rank's coordinates.
  const std::vector<int>& coords() const { return state().coords; }
  int coord(int g) const { return state().coords[g]; }
  int rank() const { return state().comm.rank(); }
  int size() const { return state().comm.size(); }
  /// The grid's communicator.
  const mpi::Comm& comm() const { return state().comm; }
  /// The ranks that differ from this one only along grid dimension g; their rank there is their coordinate.
  const mpi::Comm& along(int g) const { return state().along[g]; }
  /// The coordinate of `rank` along grid dimension g (arithmetic, no MPI call).
  int coord_of(int rank, int g) const;

  bool valid() const { return m_state != nullptr; }
  friend bool operator==(const Grid& a, const Grid& b) { return a.m_state == b.m_state; }
  friend bool operator!=(const Grid& a, const Grid& b) { return !(a == b); }
  /// "grid (2, 2)"
  std::string to_string() const;

 private:
  struct State {
    std::vector<int> dims, coords;
    mpi::Comm comm;
    std::vector<mpi::Comm> along;
    std::vector<MPI_Comm> owned;
    ~State();
  };
  const State& state() const;
  std::shared_ptr<const State> m_state;
};

/// \brief How a global shape of rank R lies on a grid: `split[d]` is the grid dimension axis d is split
/// along, or `replicated`. Each grid dimension splits at most one axis.
template <int R>
class Partition {
 public:
  Partition() = default;
  /// Throws ValueError naming the problem when a split names no grid dimension or one twice.
  Partition(const Grid& grid, const Shape<R>& shape, const SmallArray<int, R>& split)
      : m_grid(grid), m_shape(shape), m_split(split) {
    if (!grid.valid()) throw ValueError("nabla::dist::Partition: the grid is empty (default-constructed)");
    for (int d = 0; d < R; ++d) {
      if (split[d] < replicated || split[d] >= grid.ndims())
        throw ValueError(impl::cat("nabla::dist::Partition: axis ", d, " is split along grid dimension ", split[d],
                                   ", but the ", grid.to_string(), " has ", grid.ndims(),
                                   " dimensions (use 0..", grid.ndims() - 1, " or dist::replicated)"));
      for (int e = 0; e < d; ++e)
        if (split[d] != replicated && split[e] == split[d])
          throw ValueError(impl::cat("nabla::dist::Partition: axes ", e, " and ", d, " are both split along grid dimension ",
                                     split[d], "; a grid dimension splits at most one axis"));
    }
  }

  const Grid& grid() const { return m_grid; }
  const Shape<R>& shape() const { return m_shape; }
  int split(int d) const { return m_split[d]; }
  const SmallArray<int, R>& splits() const { return m_split; }

  /// Where the block of grid coordinate `c` starts along axis d, and how long it is.
  std::size_t begin(int d, int c) const {
    if (m_split[d] == replicated) return 0;
    const std::size_t p = std::size_t(m_grid.dim(m_split[d])), n = m_shape[d], q = n / p, r = n % p;
    return std::size_t(c) * q + std::min<std::size_t>(std::size_t(c), r);
  }
  std::size_t length(int d, int c) const {
    if (m_split[d] == replicated) return m_shape[d];
    const std::size_t p = std::size_t(m_grid.dim(m_split[d])), n = m_shape[d];
    return n / p + (std::size_t(c) < n % p ? 1 : 0);
  }
  /// Grid coordinate along axis d's grid dimension of the block holding global index i (0 when replicated).
  int block_of(int d, std::size_t i) const {
    if (m_split[d] == replicated) return 0;
    const std::size_t p = std::size_t(m_grid.dim(m_split[d])), n = m_shape[d], q = n / p, r = n % p;
    return int(i < r * (q + 1) ? i / (q + 1) : r + (i - r * (q + 1)) / q);
  }

  /// The block of any rank (offset and extents), arithmetic only.
  Index<R> offset_of(int rank) const {
    Index<R> o{};
    for (int d = 0; d < R; ++d) o[d] = std::ptrdiff_t(begin(d, coord(rank, d)));
    return o;
  }
  Shape<R> local_shape_of(int rank) const {
    Shape<R> s{};
    for (int d = 0; d < R; ++d) s[d] = length(d, coord(rank, d));
    return s;
  }
  Index<R> offset() const { return offset_of(m_grid.rank()); }
  Shape<R> local_shape() const { return local_shape_of(m_grid.rank()); }

  /// Whether `rank` holds the first copy of its block (coordinate 0 along every grid dimension no axis is
  /// split along): reductions and gathers count each element once, from these ranks.
  bool is_primary(int rank) const {
    for (int g = 0; g < m_grid.ndims(); ++g)
      if (!splits_grid_dim(g) && m_grid.coord_of(rank, g) != 0) return false;
    return true;
  }
  bool is_primary() const { return is_primary(m_grid.rank()); }
  bool splits_grid_dim(int g) const {
    for (int d = 0; d < R; ++d)
      if (m_split[d] == g) return true;
    return false;
  }

  /// The primary rank holding global index i.
  int owner(const Index<R>& i) const {
    for (int d = 0; d < R; ++d)
      if (i[d] < 0 || std::size_t(i[d]) >= m_shape[d])
        throw ValueError(impl::cat("nabla::dist::owner: index ", i[d], " is out of range for axis ", d, " of shape ",
                                   nabla::to_string(m_shape)));
    std::vector<int> c(std::size_t(m_grid.ndims()), 0);
    for (int d = 0; d < R; ++d)
      if (m_split[d] != replicated) c[std::size_t(m_split[d])] = block_of(d, std::size_t(i[d]));
    int r = 0;
    for (int g = 0; g < m_grid.ndims(); ++g) r = r * m_grid.dim(g) + c[std::size_t(g)];
    return r;
  }

  friend bool operator==(const Partition& a, const Partition& b) {
    if (a.m_grid != b.m_grid) return false;
    for (int d = 0; d < R; ++d)
      if (a.m_shape[d] != b.m_shape[d] || a.m_split[d] != b.m_split[d]) return false;
    return true;
  }
  friend bool operator!=(const Partition& a, const Partition& b) { return !(a == b); }

  /// "(10, 7) split (grid 0, replicated) over grid (2, 2)"
  std::string to_string() const {
    std::string s = nabla::to_string(m_shape) + " split (";
    for (int d = 0; d < R; ++d)
      s += (d ? ", " : "") + (m_split[d] == replicated ? std::string("replicated") : "grid " + std::to_string(m_split[d]));
    return s + ") over " + (m_grid.valid() ? m_grid.to_string() : std::string("no grid"));
  }

 private:
  int coord(int rank, int d) const { return m_split[d] == replicated ? 0 : m_grid.coord_of(rank, m_split[d]); }

  Grid m_grid;
  Shape<R> m_shape{};
  SmallArray<int, R> m_split{};
};

}  // namespace dist
}  // namespace nabla
