#include "mpi_counter.hpp"

#include <mpi.h>

namespace nabla_test {
std::map<std::string, long>& mpi_calls() {
  static std::map<std::string, long> calls;
  return calls;
}
long mpi_calls_total() {
  long n = 0;
  for (const auto& kv : mpi_calls()) n += kv.second;
  return n;
}
}  // namespace nabla_test

#define NABLA_COUNT(name) ++nabla_test::mpi_calls()[#name]

int MPI_Allgather(const void* s, int sc, MPI_Datatype st, void* r, int rc, MPI_Datatype rt, MPI_Comm c) {
  NABLA_COUNT(MPI_Allgather);
  return PMPI_Allgather(s, sc, st, r, rc, rt, c);
}
int MPI_Allgatherv(const void* s, int sc, MPI_Datatype st, void* r, const int rc[], const int d[], MPI_Datatype rt,
                   MPI_Comm c) {
  NABLA_COUNT(MPI_Allgatherv);
  return PMPI_Allgatherv(s, sc, st, r, rc, d, rt, c);
}
int MPI_Allreduce(const void* s, void* r, int n, MPI_Datatype t, MPI_Op op, MPI_Comm c) {
  NABLA_COUNT(MPI_Allreduce);
  return PMPI_Allreduce(s, r, n, t, op, c);
}
int MPI_Alltoallv(const void* s, const int sc[], const int sd[], MPI_Datatype st, void* r, const int rc[],
                  const int rd[], MPI_Datatype rt, MPI_Comm c) {
  NABLA_COUNT(MPI_Alltoallv);
  return PMPI_Alltoallv(s, sc, sd, st, r, rc, rd, rt, c);
}
int MPI_Bcast(void* b, int n, MPI_Datatype t, int root, MPI_Comm c) {
  NABLA_COUNT(MPI_Bcast);
  return PMPI_Bcast(b, n, t, root, c);
}
int MPI_Barrier(MPI_Comm c) {
  NABLA_COUNT(MPI_Barrier);
  return PMPI_Barrier(c);
}
int MPI_Gatherv(const void* s, int sc, MPI_Datatype st, void* r, const int rc[], const int d[], MPI_Datatype rt,
                int root, MPI_Comm c) {
  NABLA_COUNT(MPI_Gatherv);
  return PMPI_Gatherv(s, sc, st, r, rc, d, rt, root, c);
}
int MPI_Scatterv(const void* s, const int sc[], const int d[], MPI_Datatype st, void* r, int rc, MPI_Datatype rt,
                 int root, MPI_Comm c) {
  NABLA_COUNT(MPI_Scatterv);
  return PMPI_Scatterv(s, sc, d, st, r, rc, rt, root, c);
}
int MPI_Send(const void* b, int n, MPI_Datatype t, int dest, int tag, MPI_Comm c) {
  NABLA_COUNT(MPI_Send);
  return PMPI_Send(b, n, t, dest, tag, c);
}
int MPI_Recv(void* b, int n, MPI_Datatype t, int src, int tag, MPI_Comm c, MPI_Status* st) {
  NABLA_COUNT(MPI_Recv);
  return PMPI_Recv(b, n, t, src, tag, c, st);
}
int MPI_Isend(const void* b, int n, MPI_Datatype t, int dest, int tag, MPI_Comm c, MPI_Request* r) {
  NABLA_COUNT(MPI_Isend);
  return PMPI_Isend(b, n, t, dest, tag, c, r);
}
int MPI_Irecv(void* b, int n, MPI_Datatype t, int src, int tag, MPI_Comm c, MPI_Request* r) {
  NABLA_COUNT(MPI_Irecv);
  return PMPI_Irecv(b, n, t, src, tag, c, r);
}
int MPI_Reduce(const void* s, void* r, int n, MPI_Datatype t, MPI_Op op, int root, MPI_Comm c) {
  NABLA_COUNT(MPI_Reduce);
  return PMPI_Reduce(s, r, n, t, op, root, c);
}
int MPI_Gather(const void* s, int sc, MPI_Datatype st, void* r, int rc, MPI_Datatype rt, int root, MPI_Comm c) {
  NABLA_COUNT(MPI_Gather);
  return PMPI_Gather(s, sc, st, r, rc, rt, root, c);
}
