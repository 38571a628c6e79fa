#!/usr/bin/env bash
# \file test.sh
# \brief The README's test command: all set-up from a fresh Debian 12 machine, then build and run every test.
#
# Usage: scripts/test.sh            (bootstrap, configure, build, ctest incl. install test and perf check)
# Environment: NABLA_BUILD_DIR (default build/openmp), NABLA_CACHE (default ~/.cache/nabla),
#              Kokkos_ROOT + KokkosKernels_ROOT to use your own Kokkos instead of the bootstrap's.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/common.sh"

phase "bootstrap"
prefix=$("$root/scripts/bootstrap.sh")

build=${NABLA_BUILD_DIR:-$root/build/openmp}
mkdir -p "$build"
phase "configure ($build)"
cmake -S "$root" -B "$build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DNABLA_ENABLE_TESTS=ON -DNABLA_ENABLE_BENCHMARKS=ON \
  -DNABLA_ENABLE_EXAMPLES=ON >"$build.configure.log" 2>&1 || { cat "$build.configure.log"; false; }

phase "build"
cmake --build "$build" -j "$(nproc)"

phase "ctest"
ctest --test-dir "$build" --output-on-failure -j "$(nproc)"

phase "done"
ccache -s 2>/dev/null | grep -E 'Hits|Misses|Cache size' || true
