#!/usr/bin/env bash
# \file demo.sh
# \brief The README's demo command: all set-up from a fresh Debian 12 machine, then the main example.
#
# Until the double-well example lands, the demo is example 2: a fused random-number reduction
# (2e8 coin tosses) on 2 MPI ranks, with the same count as on one.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/common.sh"

build=${NABLA_BUILD_DIR:-$root/build/openmp}
bootstrap_and_configure "$build"
phase "build the examples"
cmake --build "$build" -j "$(nproc)" --target 02_coin_toss

phase "example 2: coin toss, 1 rank"
cd "$root"
OMP_PROC_BIND=false "$build/examples/02_coin_toss" "$@"
phase "example 2: coin toss, 2 ranks x 1 thread"
OMP_NUM_THREADS=1 OMP_PROC_BIND=false mpirun -np 2 --oversubscribe "$build/examples/02_coin_toss" "$@"
