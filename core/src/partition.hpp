/// \file partition.hpp
/// \brief Between the task groups and the size-aware launches (not installed).
#pragma once

namespace nabla {
namespace impl {

/// Marks the calling thread as running tasks on a partition of the host's threads. Size-aware launches then keep
/// the partition a task was given instead of moving small kernels to the process's one-thread instance, which
/// the concurrent tasks would all share (and queue on). Returns the previous mark.
bool set_on_partition(bool on);

/// Whether the calling thread runs a task on a partition (a bulk inside it then runs in order, on that partition).
bool on_partition();

}  // namespace impl
}  // namespace nabla
