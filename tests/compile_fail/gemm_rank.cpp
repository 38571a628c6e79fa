// Must not compile: gemm with a rank-1 operand.
#include <nabla/core.hpp>

int main() {
  nabla::Array<double, 2> a({3, 3}), c({3, 3});
  nabla::Array<double, 1> x({3});
  nabla::gemm('N', 'N', 1.0, a, x, 0.0, c);
}
