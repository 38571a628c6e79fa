/// \file halo.hpp
/// \brief Distributed arrays with ghost cells (`Field`), halo exchange with neighbours only, shifted views
/// usable in fused expressions, and stencil steps that compute the interior while the halo is in flight.
///
/// A Field's block lives inside storage padded by the halo width w on every axis; along the contiguous axis the
/// block starts on a 64-byte boundary and every line of storage spans whole 64-byte units, so a stencil's
/// centre, its neighbours across lines and its stores are aligned vector accesses. `exchange` fills the ghost
/// cells: faces (and, for box stencils, edges and corners) travel to the neighbouring ranks with
/// MPI_Isend/MPI_Irecv, staged through host memory, and ghosts beyond the global edge follow the boundary
/// condition (periodic, constant, reflect, clamp). `shift(u, {1, 0})` reads u(i + 1, j): a lazy leaf, so
///
///     stencil_step(v, u, u + dt * (shift(u, {1, 0}) + shift(u, {-1, 0}) + shift(u, {0, 1}) + shift(u, {0, -1}) - 4.0 * u))
///
/// is one kernel over the interior (cells w or more from the block's edges), launched while the halo is in
/// flight, then one kernel per boundary strip once it has arrived.
#pragma once

#include <nabla/dist/expr.hpp>
#include <nabla/dist/impl/blocks.hpp>

#include <vector>

namespace nabla {
namespace dist {

/// Values of the ghost cells beyond the global edge: the other end (periodic), a constant, the mirror image
/// without the edge cell (reflect, NumPy's 'reflect'), or the edge cell (clamp, NumPy's 'edge').
enum class Boundary { periodic, constant, reflect, clamp };
/// Which neighbours a stencil reads: along the axes only (star), or the diagonals too (box).
enum class Stencil { star, box };

struct HaloOptions {
  std::size_t width = 1;
  Stencil stencil = Stencil::star;
  Boundary boundary = Boundary::periodic;
  double value = 0;  // for Boundary::constant
};

namespace impl {
/// Fills the ghost cells of one side of one axis from the block (clamp, reflect) or with a value.
template <class T, int R>
struct BoundaryFill {
  T* p;
  Strides<R> stride;
  Shape<R> ext;  // of the ghost slab
  Index<R> lo;   // of the ghost slab in the storage
  int axis;
  std::ptrdiff_t first, last;  // the block's first and last storage index along `axis`
  Boundary mode;
  T value;
  KOKKOS_INLINE_FUNCTION void operator()(std::size_t lin) const {
    Index<R> i = nabla::impl::unravel<true, R>(lin, ext);
    for (int d = 0; d < R; ++d) i[d] += lo[d];
    T* out = p + nabla::impl::offset(i, stride);
    if (mode == Boundary::constant) {
      *out = value;
      return;
    }
    const std::ptrdiff_t g = i[axis];
    std::ptrdiff_t s;
    if (mode == Boundary::clamp) s = g < first ? first : last;
    else s = g < first ? first + (first - g) : last - (g - last);  // reflect
    i[axis] = s;
    *out = p[nabla::impl::offset(i, stride)];
  }
};
}  // namespace impl

/// \brief A distributed array whose block carries w ghost cells on every side, for stencils.
template <class T, int R, class Space = DefaultMemorySpace>
class Field {
 public:
  using value_type = T;
  using storage_type = nabla::Array<T, R, Space>;
  using memory_space = typename storage_type::memory_space;
  using execution_space = typename storage_type::execution_space;
  using interior_view = Kokkos::View<typename nabla::impl::data_type<T, R>::type, Kokkos::LayoutStride, memory_space>;
  static constexpr int rank = R;

  /// Collective only in that every rank checks every block: a block thinner than the halo (or empty), or a
  /// global extent too short for the boundary condition, is a ValueError on every rank naming the rank, the
  /// axis and the block.
  Field(const Partition<R>& p, const HaloOptions& o = {}) : m_part(p), m_opt(o) {
    check();
    Shape<R> padded = p.local_shape();
    for (int d = 0; d < R; ++d) {
      m_origin[d] = std::ptrdiff_t(o.width);
      padded[d] += 2 * o.width;
    }
    // Whole 64-byte units along the contiguous axis (LayoutLeft: axis 0); unaligned 512-bit loads and stores
    // split cache lines, which made a 5-point step 1.4x slower on AVX-512 hosts.
    constexpr std::size_t unit = 64 % sizeof(T) == 0 ? 64 / sizeof(T) : 1;
    const auto round_up = [](std::size_t n) { return (n + unit - 1) / unit * unit; };
    m_origin[0] = std::ptrdiff_t(round_up(o.width));
    padded[0] = round_up(std::size_t(m_origin[0]) + p.local_shape()[0] + o.width);
    m_storage = storage_type(padded, "nabla::dist::Field");
    m_interior = impl::box(m_storage.view(), m_origin, p.local_shape());
    plan();
  }
  /// A Field holding a copy of `a`, from any memory space (halo not yet exchanged).
  template <class S>
  Field(const Array<T, R, S>& a, const HaloOptions& o) : Field(a.partition(), o) {
    nabla::assign(m_interior, wrap(Kokkos::create_mirror_view_and_copy(memory_space(), a.local().view())));
  }

  const Partition<R>& partition() const { return m_part; }
  const Shape<R>& shape() const { return m_part.shape(); }
  const HaloOptions& options() const { return m_opt; }
  std::size_t width() const { return m_opt.width; }
  /// Where the block starts in the storage: the halo width along every axis but the contiguous one (axis 0),
  /// where the block starts on a 64-byte boundary. Ghosts lie within the halo width of the block; storage
  /// beyond them is padding no operation reads.
  const Index<R>& origin() const { return m_origin; }
  /// This rank's block (no ghosts), a strided view into the storage.
  const interior_view& interior() const { return m_interior; }
  /// The block with its ghost cells (and the padding before and after them along axis 0).
  const storage_type& storage() const { return m_storage; }
  /// A dist::Array holding a copy of the block.
  Array<T, R, Space> array() const {
    Array<T, R, Space> a(m_part, "nabla::dist::Field::array", uninitialized);
    nabla::assign(a.local(), wrap(m_interior));
    return a;
  }

  /// Posts the halo messages (packing faces into host buffers first); the ghosts are valid after finish.
  void start_exchange() {
    if (m_in_flight) throw ValueError("nabla::dist::Field::start_exchange: an exchange is already in flight");
    compat::Region region("nabla::dist::halo::exchange");
    const MPI_Comm comm = m_part.grid().comm().get();
    const impl::ElementType<T> type;
    m_requests.clear();
    for (auto& m : m_msgs) {
      if (m.self) continue;
      auto recv = m.recv_host();
      mpi::impl::check(MPI_Irecv(recv.data(), impl::count(m.size, "exchange"), type.get(), m.peer, m.recv_tag, comm,
                                 &m_requests.emplace_back()),
                       "MPI_Irecv");
    }
    for (auto& m : m_msgs) {
      if (m.self) continue;
      Kokkos::deep_copy(m.send_dev(), impl::box(m_storage.view(), m.send_lo, m.ext));
      Kokkos::deep_copy(m.send_host(), m.send_dev());
      mpi::impl::check(MPI_Isend(m.send_host().data(), impl::count(m.size, "exchange"), type.get(), m.peer,
                                 m.send_tag, comm, &m_requests.emplace_back()),
                       "MPI_Isend");
    }
    // Ghosts that need no other rank, while the messages travel. For box stencils the boundary conditions wait
    // for the messages: their edges and corners compose with the received faces.
    for (auto& m : m_msgs)
      if (m.self) Kokkos::deep_copy(impl::box(m_storage.view(), m.recv_lo, m.ext), impl::box(m_storage.view(), m.self_lo, m.ext));
    if (m_opt.stencil == Stencil::star) fill_boundaries(false);
    m_in_flight = true;
  }
  /// Waits for the halo messages, unpacks them and fills the ghosts beyond the global edges.
  void finish_exchange() {
    if (!m_in_flight) throw ValueError("nabla::dist::Field::finish_exchange: no exchange was started");
    compat::Region region("nabla::dist::halo::exchange");
    m_in_flight = false;
    mpi::impl::check(MPI_Waitall(int(m_requests.size()), m_requests.data(), MPI_STATUSES_IGNORE), "MPI_Waitall");
    for (auto& m : m_msgs) {
      if (m.self) continue;
      Kokkos::deep_copy(m.recv_dev(), m.recv_host());
      Kokkos::deep_copy(impl::box(m_storage.view(), m.recv_lo, m.ext), m.recv_dev());
    }
    if (m_opt.stencil == Stencil::star) fill_boundaries(true);
    else fill_boundaries(true), fill_boundaries(false);
  }
  /// start_exchange and finish_exchange.
  void exchange() {
    start_exchange();
    finish_exchange();
  }
  bool exchanging() const { return m_in_flight; }
  /// Whether axis d's ghosts come from other ranks (it is split over more than one rank).
  bool remote(int d) const { return m_part.split(d) != replicated && m_part.grid().dim(m_part.split(d)) > 1; }

 private:
  /// One neighbour message: what this rank sends towards direction o and receives from there.
  struct Message {
    int peer = 0, send_tag = 0, recv_tag = 0;
    bool self = false;  // along axes held whole by this rank (periodic): a copy within the block, no MPI
    Index<R> send_lo{}, recv_lo{}, self_lo{};
    Shape<R> ext{};
    std::size_t size = 0;
    nabla::Array<T, 1, Space> send_buf, recv_buf;
    nabla::Array<T, 1, Kokkos::HostSpace> send_stage, recv_stage;
    impl::HostBlock<T, R> host_of(const nabla::Array<T, 1, Kokkos::HostSpace>& a) const {
      return impl::host_block<T, R>(a.data(), ext);
    }
    using DevBlock = Kokkos::View<typename nabla::impl::data_type<T, R>::type, Kokkos::LayoutLeft, memory_space,
                                  Kokkos::MemoryUnmanaged>;
    template <std::size_t... I>
    DevBlock dev_of(T* p, std::index_sequence<I...>) const {
      return DevBlock(p, ext[I]...);
    }
    DevBlock send_dev() const { return dev_of(send_buf.data(), std::make_index_sequence<R>{}); }
    DevBlock recv_dev() const { return dev_of(recv_buf.data(), std::make_index_sequence<R>{}); }
    // On host backends the staging buffers are the buffers themselves.
    auto send_host() const {
      if constexpr (host_accessible) return send_dev();
      else return host_of(send_stage);
    }
    auto recv_host() const {
      if constexpr (host_accessible) return recv_dev();
      else return host_of(recv_stage);
    }
  };
  static constexpr bool host_accessible = Kokkos::SpaceAccessibility<Kokkos::HostSpace, memory_space>::accessible;

  void check() const {
    const std::size_t w = m_opt.width;
    if (w == 0) throw ValueError("nabla::dist::Field: the halo width must be at least 1");
    const Grid& g = m_part.grid();
    for (int d = 0; d < R; ++d) {
      const std::size_t n = m_part.shape()[d];
      const std::size_t need = m_opt.boundary == Boundary::reflect ? w + 1 : w;
      if (n < need)
        throw ValueError(impl::cat("nabla::dist::Field: axis ", d, " has ", n, " elements, fewer than the ", need,
                                   " a halo of width ", w, " needs"));
      if (m_part.split(d) == replicated) continue;
      for (int r = 0; r < g.size(); ++r) {
        const std::size_t len = m_part.local_shape_of(r)[d];
        if (len < w)
          throw ValueError(impl::cat("nabla::dist::Field: rank ", r, "'s block of ", m_part.to_string(), " has ", len,
                                     " element(s) along axis ", d, ", fewer than the halo width ", w,
                                     " (use fewer ranks along grid dimension ", m_part.split(d), " or a narrower halo)"));
      }
    }
  }

  /// The neighbour towards direction o, or -1 beyond a non-periodic global edge.
  int neighbour(const Index<R>& o) const {
    const Grid& g = m_part.grid();
    std::vector<int> c = g.coords();
    for (int d = 0; d < R; ++d) {
      if (o[d] == 0) continue;
      const int gd = m_part.split(d);
      const int p = gd == replicated ? 1 : g.dim(gd);
      const int at = gd == replicated ? 0 : c[std::size_t(gd)];
      int next = at + int(o[d]);
      if (next < 0 || next >= p) {
        if (m_opt.boundary != Boundary::periodic) return -1;
        next = (next + p) % p;
      }
      if (gd != replicated) c[std::size_t(gd)] = next;
    }
    int r = 0;
    for (int h = 0; h < g.ndims(); ++h) r = r * g.dim(h) + c[std::size_t(h)];
    return r;
  }

  void plan() {
    const std::ptrdiff_t w = std::ptrdiff_t(m_opt.width);
    const Shape<R> len = m_part.local_shape();
    int count = 1;
    for (int d = 0; d < R; ++d) count *= 3;
    for (int k = 0; k < count; ++k) {
      Index<R> o{};
      int nonzero = 0;
      for (int d = 0, q = k; d < R; ++d, q /= 3) {
        o[d] = q % 3 - 1;
        nonzero += o[d] != 0;
      }
      if (nonzero == 0 || (m_opt.stencil == Stencil::star && nonzero > 1)) continue;
      const int peer = neighbour(o);
      if (peer < 0) continue;
      Message m;
      m.peer = peer;
      m.self = true;
      for (int d = 0; d < R; ++d) m.self = m.self && (o[d] == 0 || !remote(d));
      m.send_tag = k;
      m.recv_tag = count - 1 - k;  // the neighbour sends towards -o
      for (int d = 0; d < R; ++d) {
        const std::ptrdiff_t n = std::ptrdiff_t(len[d]), a = m_origin[d];
        m.ext[d] = o[d] == 0 ? len[d] : std::size_t(w);
        m.send_lo[d] = o[d] > 0 ? a + n - w : a;
        m.recv_lo[d] = o[d] < 0 ? a - w : (o[d] > 0 ? a + n : a);
        m.self_lo[d] = o[d] < 0 ? a + n - w : a;  // what this rank sends towards -o
      }
      m.size = shape_size(m.ext);
      if (m.self) {
        m_msgs.push_back(std::move(m));
        continue;
      }
      m.send_buf = nabla::Array<T, 1, Space>({m.size}, "nabla::dist::halo::send", uninitialized);
      m.recv_buf = nabla::Array<T, 1, Space>({m.size}, "nabla::dist::halo::recv", uninitialized);
      if constexpr (!host_accessible) {
        m.send_stage = nabla::Array<T, 1, Kokkos::HostSpace>({m.size}, "nabla::dist::halo::stage", uninitialized);
        m.recv_stage = nabla::Array<T, 1, Kokkos::HostSpace>({m.size}, "nabla::dist::halo::stage", uninitialized);
      }
      m_msgs.push_back(std::move(m));
    }
    m_requests.reserve(2 * m_msgs.size());
  }

  /// Ghosts beyond the global edges of the axes split over other ranks (`remote_axes`) or of the others, axis
  /// by axis over the whole padded extent of the other axes, so edges and corners compose (a corner between
  /// two edges is the boundary condition applied twice).
  void fill_boundaries(bool remote_axes) {
    if (m_opt.boundary == Boundary::periodic) return;
    const std::size_t w = m_opt.width;
    const Shape<R> padded = m_storage.shape();
    const Shape<R> len = m_part.local_shape();
    Strides<R> stride{};
    for (int d = 0; d < R; ++d) stride[d] = std::ptrdiff_t(m_storage.view().stride(d));
    const Grid& g = m_part.grid();
    for (int d = 0; d < R; ++d) {
      if (remote(d) != remote_axes) continue;
      const int gd = m_part.split(d);
      const bool low = gd == replicated || g.coord(gd) == 0;
      const bool high = gd == replicated || g.coord(gd) == g.dim(gd) - 1;
      for (int side = 0; side < 2; ++side) {
        if (!(side == 0 ? low : high)) continue;
        const std::ptrdiff_t a = m_origin[d], n = std::ptrdiff_t(len[d]);
        impl::BoundaryFill<T, R> f{m_storage.data(), stride, padded, {}, d, a, a + n - 1, m_opt.boundary, T(m_opt.value)};
        f.ext[d] = w;
        f.lo[d] = side == 0 ? a - std::ptrdiff_t(w) : a + n;
        Kokkos::parallel_for("nabla::dist::halo::boundary",
                             Kokkos::RangePolicy<execution_space, Kokkos::IndexType<std::size_t>>(
                                 nabla::launch_space<execution_space>(shape_size(f.ext)), 0, shape_size(f.ext)),
                             f);
      }
    }
  }

  Partition<R> m_part;
  HaloOptions m_opt;
  Index<R> m_origin{};
  storage_type m_storage;
  interior_view m_interior;
  std::vector<Message> m_msgs;
  std::vector<MPI_Request> m_requests;
  bool m_in_flight = false;
};

template <class T>
struct is_field : std::false_type {};
template <class T, int R, class S>
struct is_field<Field<T, R, S>> : std::true_type {};

/// \brief `f` shifted by `offset` (|offset| <= the halo width along each axis): a lazy operand whose element
/// i is f(i + offset), reading ghost cells at the block's edges (exchange them first).
template <class T, int R, class S>
Leaf<T, R, typename Field<T, R, S>::memory_space> shift(const Field<T, R, S>& f, const Index<R>& offset) {
  for (int d = 0; d < R; ++d) {
    if (std::size_t(offset[d] < 0 ? -offset[d] : offset[d]) > f.width())
      throw ValueError(impl::cat("nabla::dist::shift: offset ", offset[d], " along axis ", d,
                                 " exceeds the halo width ", f.width()));
  }
  return {f.partition(), f.storage().view(), f.origin(), offset};
}

template <class T, int R, class S>
Leaf<T, R, typename Field<T, R, S>::memory_space> as_expr(const Field<T, R, S>& f) {
  return {f.partition(), f.interior()};
}

namespace impl {
template <class T, int R, class S>
struct has_dist<Field<T, R, S>> : std::true_type {};
}  // namespace impl

/// \brief Evaluates `expr` into the block of a Field (its ghosts untouched): one kernel, no communication.
template <class T, int N, class S, class E>
void assign(Field<T, N, S>& dst, const E& expr) {
  impl::assign_box(typename Field<T, N, S>::execution_space(), dst.interior(), impl::Block<N>(dst.partition()), expr);
}

/// \brief dst = expr, where expr reads `src` through shifts: starts src's halo exchange, computes the cells
/// that read no ghost from another rank (one kernel) while it is in flight, finishes it, then computes the
/// boundary strips (one kernel per side of each axis split over ranks). dst and src must be different Fields.
template <class T, int N, class S, class E>
void stencil_step(Field<T, N, S>& dst, Field<T, N, S>& src, const E& expr) {
  if (dst.storage().data() == src.storage().data())
    throw ValueError("nabla::dist::stencil_step: dst and src are the same Field (a stencil reads the cells it replaces)");
  using Exec = typename Field<T, N, S>::execution_space;
  const auto& p = dst.partition();
  const Index<N> lo = p.offset();
  const Shape<N> len = p.local_shape();
  const std::ptrdiff_t w = std::ptrdiff_t(src.width());
  // The interior: w or more cells from the edges whose ghosts come from other ranks (from every edge for box
  // stencils, whose corners wait for the messages; star stencils get the other ghosts at the start).
  Index<N> ilo{}, ihi{};
  bool interior = true, shrink[N > 0 ? N : 1];
  for (int d = 0; d < N; ++d) {
    shrink[d] = src.remote(d) || src.options().stencil == Stencil::box;
    ilo[d] = lo[d] + (shrink[d] ? w : 0);
    ihi[d] = lo[d] + std::ptrdiff_t(len[d]) - (shrink[d] ? w : 0);
    interior = interior && ihi[d] > ilo[d];
  }
  if (!interior) {  // a block thinner than 2w: every cell reads a ghost
    src.exchange();
    impl::assign_box(Exec(), dst.interior(), impl::Block<N>(p), expr);
    return;
  }
  src.start_exchange();
  Shape<N> iext{};
  for (int d = 0; d < N; ++d) iext[d] = std::size_t(ihi[d] - ilo[d]);
  impl::assign_box(Exec(), dst.interior(), impl::Block<N>(p, ilo, iext), expr);
  src.finish_exchange();
  // The shell around it: for axis d, the low and high strips along d, the interior range along the axes
  // before d and the whole block along the axes after it (the strips do not overlap and cover the shell).
  for (int d = 0; d < N; ++d) {
    if (!shrink[d]) continue;
    for (int side = 0; side < 2; ++side) {
      Index<N> slo{};
      Shape<N> ext{};
      for (int e = 0; e < N; ++e) {
        std::ptrdiff_t a, b;
        if (e < d) a = ilo[e], b = ihi[e];
        else if (e > d) a = lo[e], b = lo[e] + std::ptrdiff_t(len[e]);
        else if (side == 0) a = lo[e], b = ilo[e];
        else a = ihi[e], b = lo[e] + std::ptrdiff_t(len[e]);
        slo[e] = a;
        ext[e] = std::size_t(b - a);
      }
      if (shape_size(ext) > 0) impl::assign_box(Exec(), dst.interior(), impl::Block<N>(p, slo, ext), expr);
    }
  }
}

}  // namespace dist

template <class T, int R, class S>
struct is_operand_type<dist::Field<T, R, S>> : std::true_type {};

}  // namespace nabla
