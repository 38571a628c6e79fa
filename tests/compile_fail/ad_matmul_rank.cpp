// Must not compile: ad::matmul of a vector by a matrix (only matrix x matrix and matrix x vector exist).
#include <nabla/ad.hpp>

int main() {
  nabla::ad::Tape tape;
  auto a = tape.variable(nabla::Array<double, 2>({3, 3}));
  auto x = tape.variable(nabla::Array<double, 1>({3}));
  (void)nabla::ad::matmul(x, a);
}
