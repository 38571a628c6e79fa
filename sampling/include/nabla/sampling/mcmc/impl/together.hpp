/// \file together.hpp
/// \brief on_every_rank: checks that may fail on some MPI ranks only (each rank reads its own backend) made to
/// fail on every rank, so that no rank is left waiting in a later collective.
#pragma once

#include <nabla/config.hpp>
#include <nabla/core/error.hpp>

#if NABLA_ENABLE_MPI
#include <nabla/core/mpi.hpp>
#endif

#include <algorithm>
#include <cstddef>
#include <exception>
#include <string>

namespace nabla {
namespace sampling {
namespace impl {

/// \brief Runs `body`, which must hold no collective (the checks of this rank's own chain: its shape, seed, run
/// settings, a file that cannot be read), then, under `options.comm` with several ranks, makes the ranks agree
/// (one allreduce when nothing failed): if `body` threw on any rank, every rank throws. The lowest failing rank
/// rethrows its own exception; the others throw its message, followed by " (on rank R of S)", as the same kind of
/// error (IOError, ShapeError, ValueError; anything else as a ValueError). Without a communicator it runs `body`.
template <class Options, class Body>
void on_every_rank(const Options& options, Body&& body) {
#if NABLA_ENABLE_MPI
  if (options.comm && options.comm->size() > 1) {
    const mpi::Comm& comm = *options.comm;
    std::exception_ptr error;
    std::string message;
    int kind = 0;  // 1 IOError, 2 ShapeError, 3 ValueError or anything else
    try {
      body();
    } catch (const IOError& e) {
      error = std::current_exception();
      message = e.what();
      kind = 1;
    } catch (const ShapeError& e) {
      error = std::current_exception();
      message = e.what();
      kind = 2;
    } catch (const std::exception& e) {
      error = std::current_exception();
      message = e.what();
      kind = 3;
    } catch (...) {
      error = std::current_exception();
      message = "unknown exception";
      kind = 3;
    }
    const std::size_t ranks = std::size_t(comm.size()), rank = std::size_t(comm.rank());
    const std::size_t first = comm.allreduce(error ? rank : ranks, mpi::Op::min);
    if (first == ranks) return;
    const int root = int(first);
    kind = comm.broadcast(kind, root);
    if (rank == first) message.resize(std::min<std::size_t>(message.size(), std::size_t(1) << 16));
    const std::size_t length = comm.broadcast(message.size(), root);
    message.resize(length);
    if (length > 0)
      mpi::impl::check(MPI_Bcast(&message[0], int(length), MPI_CHAR, root, comm.get()), "MPI_Bcast");
    if (rank == first) std::rethrow_exception(error);
    message = ::nabla::impl::cat(message, " (on rank ", first, " of ", ranks, ")");
    if (kind == 1) throw IOError(message);
    if (kind == 2) throw ShapeError(message);
    throw ValueError(message);
  }
#else
  (void)options;
#endif
  body();
}

}  // namespace impl
}  // namespace sampling
}  // namespace nabla
