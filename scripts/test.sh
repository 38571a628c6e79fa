#!/usr/bin/env bash
# \file test.sh
# \brief The README's test command: all set-up from a fresh Debian 12 machine, then build and run every test.
#
# Usage: scripts/test.sh            (bootstrap, configure, build, ctest incl. install test and perf check, then
#                                   scripts/device_build.sh for CUDA and HIP, scripts/sanitize.sh and scripts/fuzz.sh;
#                                   NABLA_SKIP_DEVICE_BUILD=1 / NABLA_SKIP_SANITIZE=1 / NABLA_SKIP_FUZZ=1)
# Environment: NABLA_BUILD_DIR (default build/openmp), NABLA_CACHE (default ~/.cache/nabla),
#              Kokkos_ROOT + KokkosKernels_ROOT to use your own Kokkos instead of the bootstrap's.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/common.sh"

build=${NABLA_BUILD_DIR:-$root/build/openmp}
bootstrap_and_configure "$build" -DNABLA_ENABLE_TESTS=ON -DNABLA_ENABLE_BENCHMARKS=ON -DNABLA_ENABLE_EXAMPLES=ON

phase "build"
cmake --build "$build" -j "$(nproc)"

phase "ctest"
ctest --test-dir "$build" --output-on-failure -j "$(nproc)"

if [ "${NABLA_SKIP_DEVICE_BUILD:-0}" != 1 ]; then
  bash "$root/scripts/device_build.sh" cuda
  bash "$root/scripts/device_build.sh" hip
fi
if [ "${NABLA_SKIP_SANITIZE:-0}" != 1 ]; then
  bash "$root/scripts/sanitize.sh"
fi
if [ "${NABLA_SKIP_FUZZ:-0}" != 1 ]; then
  bash "$root/scripts/fuzz.sh" "${NABLA_FUZZ_SECONDS:-20}"
fi

phase "done"
ccache -s 2>/dev/null | grep -E 'Hits|Misses|Cache size' || true
