/// \file langevin.cpp
/// \brief BAOAB kernels of the library's potentials, compiled once (baoab.hpp declares them extern).
#include <nabla/sampling/langevin.hpp>

namespace nabla {
namespace sampling {

#define NABLA_IMPL_BAOAB_COMPILED(P) NABLA_IMPL_BAOAB_INSTANCES(, P)
NABLA_IMPL_BAOAB_POTENTIALS(NABLA_IMPL_BAOAB_COMPILED)
#undef NABLA_IMPL_BAOAB_COMPILED

}  // namespace sampling
}  // namespace nabla
