// Must not compile: a rank-2 expression assigned to a rank-1 array.
#include <nabla/core.hpp>

int main() {
  nabla::Array<double, 1> a({3});
  nabla::Array<double, 2> b({3, 3});
  nabla::assign(a, b + 1.0);
}
