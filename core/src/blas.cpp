// gemm and gemv on float and double Arrays, declared extern in blas.hpp.
#include <nabla/core/blas.hpp>

namespace nabla {

template void gemm(char, char, float, const Array<float, 2>&, const Array<float, 2>&, float, const Array<float, 2>&);
template void gemm(char, char, double, const Array<double, 2>&, const Array<double, 2>&, double,
                   const Array<double, 2>&);
template void gemv(char, float, const Array<float, 2>&, const Array<float, 1>&, float, const Array<float, 1>&);
template void gemv(char, double, const Array<double, 2>&, const Array<double, 1>&, double, const Array<double, 1>&);

}  // namespace nabla
