#!/usr/bin/env bash
# \file demo.sh
# \brief The README's demo command: all set-up from a fresh Debian 12 machine, then example 1 — the double
# well end to end (BAOAB trajectory, perturbed ensembles, spread classes, a 2-8-3 classifier, plots).
#
# Usage: scripts/demo.sh [01_double_well options]     (results in out/double_well/)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/common.sh"

build=${NABLA_BUILD_DIR:-$root/build/openmp}
bootstrap_and_configure "$build"
phase "build example 1"
cmake --build "$build" -j "$(nproc)" --target 01_double_well

phase "example 1: the double well, end to end"
cd "$root"
OMP_PROC_BIND=false "$build/examples/01_double_well" "$@"
phase "done: see out/double_well/ (metrics.json, *.png)"
