// Counts the MPI calls a test makes (PMPI interposition: the test executable defines the MPI functions, which
// count and forward to their PMPI_ names).
#pragma once

#include <map>
#include <string>

namespace nabla_test {
/// Calls per MPI function since the program started.
std::map<std::string, long>& mpi_calls();
/// Total calls of every counted function.
long mpi_calls_total();
}  // namespace nabla_test
