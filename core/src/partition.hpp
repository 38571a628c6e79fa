/// \file partition.hpp
/// \brief Between the task groups and the size-aware launches (not installed).
#pragma once

namespace nabla {
namespace impl {

/// Whether the calling thread runs a task on a partition of the machine (impl::TaskInstance, launch.hpp): a bulk
/// inside it then runs in order, on that partition.
bool on_partition();

}  // namespace impl
}  // namespace nabla
