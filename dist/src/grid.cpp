#include <nabla/dist/grid.hpp>

#include <algorithm>

namespace nabla {
namespace dist {

Grid::State::~State() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return;  // a grid outliving MPI: nothing left to free
  for (MPI_Comm& c : owned) MPI_Comm_free(&c);
}

const Grid::State& Grid::state() const {
  if (!m_state) throw ValueError("nabla::dist::Grid: the grid is empty (default-constructed)");
  return *m_state;
}

Grid::Grid(const mpi::Comm& comm, std::vector<int> dims) {
  const int size = comm.size();
  if (dims.empty()) throw ValueError("nabla::dist::Grid: a grid needs at least one dimension");
  long fixed = 1;
  for (int d : dims) {
    if (d < 0) throw ValueError(impl::cat("nabla::dist::Grid: ", d, " ranks along a grid dimension"));
    if (d > 0) fixed *= d;
  }
  auto spell = [&] {
    std::string s = "(";
    for (std::size_t g = 0; g < dims.size(); ++g) s += (g ? ", " : "") + (dims[g] ? std::to_string(dims[g]) : "any");
    return s + (dims.size() == 1 ? ",)" : ")");
  };
  const bool free_dims = std::count(dims.begin(), dims.end(), 0) > 0;
  if ((!free_dims && fixed != size) || (free_dims && size % fixed != 0))
    throw ValueError(impl::cat("nabla::dist::Grid: a grid of ", spell(), " ranks does not fit the ", size,
                               " ranks of the communicator (the product must ", free_dims ? "divide " : "equal ",
                               size, ")"));
  mpi::impl::check(MPI_Dims_create(size, int(dims.size()), dims.data()), "MPI_Dims_create");

  auto st = std::make_shared<State>();
  st->dims = dims;
  MPI_Comm cart = MPI_COMM_NULL;
  std::vector<int> periods(dims.size(), 0);
  mpi::impl::check(MPI_Cart_create(comm.get(), int(dims.size()), dims.data(), periods.data(), 0, &cart),
                   "MPI_Cart_create");
  st->owned.push_back(cart);
  MPI_Comm_set_errhandler(cart, MPI_ERRORS_RETURN);
  st->comm = mpi::Comm(cart);
  st->coords.assign(dims.size(), 0);
  mpi::impl::check(MPI_Cart_coords(cart, st->comm.rank(), int(dims.size()), st->coords.data()), "MPI_Cart_coords");
  for (std::size_t g = 0; g < dims.size(); ++g) {
    std::vector<int> keep(dims.size(), 0);
    keep[g] = 1;
    MPI_Comm sub = MPI_COMM_NULL;
    mpi::impl::check(MPI_Cart_sub(cart, keep.data(), &sub), "MPI_Cart_sub");
    st->owned.push_back(sub);
    MPI_Comm_set_errhandler(sub, MPI_ERRORS_RETURN);
    st->along.emplace_back(sub);
  }
  m_state = std::move(st);
}

int Grid::coord_of(int rank, int g) const {
  const auto& d = state().dims;
  for (int h = int(d.size()) - 1; h > g; --h) rank /= d[std::size_t(h)];
  return rank % d[std::size_t(g)];
}

std::string Grid::to_string() const {
  std::string s = "grid (";
  for (std::size_t g = 0; g < dims().size(); ++g) s += (g ? ", " : "") + std::to_string(dims()[g]);
  return s + (dims().size() == 1 ? ",)" : ")");
}

}  // namespace dist
}  // namespace nabla
