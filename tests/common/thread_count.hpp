/// \file thread_count.hpp
/// \brief A host functor that records how many OpenMP threads shared each of its calls: the tests that check on
/// which partition a task's kernels ran (OpenMP builds only).
#pragma once

#include <atomic>
#include <omp.h>

namespace nabla_test {

/// f(x...), raising *most to the size of the OpenMP team each call ran in.
template <class F>
struct CountingThreads {
  F f;
  std::atomic<int>* most;
  template <class... X>
  auto operator()(const X&... x) const -> decltype(f(x...)) {
    const int n = omp_get_num_threads();
    for (int m = most->load(); n > m && !most->compare_exchange_weak(m, n);) {
    }
    return f(x...);
  }
};

template <class F>
CountingThreads<F> counting_threads(F f, std::atomic<int>& most) {
  return {f, &most};
}

}  // namespace nabla_test
