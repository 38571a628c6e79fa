#include <nabla/core/mpi.hpp>

#if NABLA_ENABLE_MPI

#include <cstdio>
#include <cstdlib>

namespace nabla {
namespace mpi {

namespace impl {
MPI_Op op(Op o) {
  switch (o) {
    case Op::sum: return MPI_SUM;
    case Op::min: return MPI_MIN;
    case Op::max: return MPI_MAX;
  }
  return MPI_SUM;
}

void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  throw std::runtime_error(nabla::impl::cat("nabla::mpi: ", what, " failed: ", std::string(msg, len)));
}
}  // namespace impl

Environment::Environment(int& argc, char**& argv) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    m_owns = true;
  }
  // Errors come back as return codes (turned into exceptions), so run_or_abort can name the failing rank.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
}

Environment::~Environment() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (m_owns && !finalized) MPI_Finalize();
}

Comm::Comm(MPI_Comm comm) : m_comm(comm) {
  MPI_Comm_rank(comm, &m_rank);
  MPI_Comm_size(comm, &m_size);
}

void Comm::barrier() const { impl::check(MPI_Barrier(m_comm), "MPI_Barrier"); }

void Comm::check_same(std::size_t n, const std::string& who, const char* what) const {
  unsigned long long v[2] = {n, ~static_cast<unsigned long long>(n)};  // the max of ~n is ~(the min of n)
  impl::check(MPI_Allreduce(MPI_IN_PLACE, v, 2, MPI_UNSIGNED_LONG_LONG, MPI_MAX, m_comm), "MPI_Allreduce");
  const unsigned long long lo = ~v[1], hi = v[0];
  if (lo != hi)
    throw ValueError(nabla::impl::cat(who, ": ranks disagree on the ", what, " (rank ", m_rank, " of ", m_size,
                                      " has ", n, "; values range from ", lo, " to ", hi, ")"));
}

void Comm::abort(const std::string& message, int code) const {
  std::fprintf(stderr, "nabla: rank %d of %d: %s\n", m_rank, m_size, message.c_str());
  std::fflush(stderr);
  int world = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  if (world == 1) {  // no other rank to stop: end with the one line, not Open MPI's MPI_Abort banner
    MPI_Finalize();
    std::exit(code);
  }
  MPI_Abort(m_comm, code);
  std::abort();  // not reached: MPI_Abort does not return
}

}  // namespace mpi
}  // namespace nabla

#endif
