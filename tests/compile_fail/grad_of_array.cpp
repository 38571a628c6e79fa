// Must not compile: value_and_grad of a function that returns an array instead of a scalar.
#include <nabla/ad.hpp>

int main() {
  nabla::Array<double, 1> x({3});
  nabla::ad::value_and_grad([](auto v) { return v * v; }, x);
}
