#!/usr/bin/env bash
# \file gpu.sh
# \brief Nabla's CUDA build, packed on a Debian machine and run on a GPU machine (tests, examples, benchmarks).
#
# Usage:
#   scripts/gpu.sh pack [--arch HOPPER90] [--no-build]
#                                           on this (Debian 12) machine, GPU not needed: scripts/device_build.sh
#                                           cuda --tree (Kokkos, Kokkos Kernels, Nabla's tests, benchmarks,
#                                           examples in build/cuda), then packs build/gpu-bundle.tar.gz: the
#                                           binaries plus every shared library they need beyond glibc and the
#                                           CUDA driver.
#   scripts/gpu.sh run [OUT_DIR]            on the GPU machine, in a checkout carrying build/gpu-bundle.tar.gz:
#                                           unpacks it where it was built, runs the test suite (CTest), the
#                                           examples and every benchmark executable, and PyTorch's MLP peer if
#                                           Python's torch is there. Results (JUnit XML, Google Benchmark JSON,
#                                           logs) land in OUT_DIR (default build/gpu-results). Exits non-zero if
#                                           a test failed.
#   scripts/gpu.sh figures OUT_DIR          here: the GPU figures (fused bandwidth / copy, BAOAB walker-steps/s,
#                                           MLP samples/s vs PyTorch, HM-LSTM mixed vs unfused) from OUT_DIR.
# Why packed, not built there: the optimised CUDA build takes ~25 min of 2 cores (device_build.sh --tree; CI runs
# only its -O0 check, whose objects this build cannot reuse), and a lent GPU machine has no network and minutes of
# time, so it should run code, not compile it. nvcc 13 is on both machines.
# MPI is off in this build (the GPU machine has no MPI); every other test runs.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bundle=$root/build/gpu-bundle.tar.gz
build=$root/build/cuda

usage() { sed -n '4,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

pack() {
  local arch=HOPPER90 build_it=1
  while [ $# -gt 0 ]; do
    case "$1" in
      --arch) arch=$2; shift 2 ;;
      --no-build) build_it=0; shift ;;  # pack build/cuda as it is
      *) usage ;;
    esac
  done
  source "$root/scripts/common.sh"
  [ "$build_it" = 1 ] && build_cuda "$arch"
  pack_tree
}

build_cuda() {
  NABLA_CUDA_ARCH=$1 bash "$root/scripts/device_build.sh" cuda --tree
}

pack_tree() {
  phase "pack $bundle"
  local stage=$root/build/gpu-stage
  rm -rf "$stage"
  mkdir -p "$stage/lib"
  # The build tree minus objects: executables, Nabla's libraries, CTest files, generated test inputs.
  (cd "$root" && find build/cuda -type f ! -name '*.o' ! -name '*.d' ! -name '*.make' ! -name 'Makefile' \
     ! -path '*/CMakeFiles/*' ! -name '*.a' -print0 | tar --null -T - -cf - | tar -C "$stage" -xf -)
  # Shared libraries from outside the build and outside glibc/the driver (HDF5, Google Benchmark, ...).
  local elf lib
  find "$stage/build" -type f -perm -u+x -print0 | while IFS= read -r -d '' elf; do
    ldd "$elf" 2>/dev/null | awk '/=> \// {print $3}'
  done | sort -u | while read -r lib; do
    case "$(basename "$lib")" in
      # glibc, the driver, the CUDA toolkit's libraries (the GPU machine has its own) and Nabla's (in the tree).
      libc.so*|libm.so*|libdl.so*|libpthread.so*|librt.so*|ld-linux*|libcuda.so*|libcublas*|libcudart*|\
      libnv*|libcusparse*|libcurand*|libnabla_*) ;;
      *) cp -L "$lib" "$stage/lib/" ;;
    esac
  done
  echo "$root" >"$stage/ROOT"
  ldd --version | sed -n 1p >"$stage/GLIBC"
  tar -C "$stage" -czf "$bundle" .
  rm -rf "$stage"
  phase "packed: $(du -h "$bundle" | cut -f1) (carry build/gpu-bundle.tar.gz to the GPU machine, then: scripts/gpu.sh run)"
}

run() {
  local out=${1:-$root/build/gpu-results}
  mkdir -p "$out"
  out=$(cd "$out" && pwd)
  [ -f "$bundle" ] || { echo "gpu.sh run: $bundle not found (scripts/gpu.sh pack makes it)" >&2; exit 2; }
  local stage=$root/build/gpu-stage
  rm -rf "$stage" && mkdir -p "$stage" && tar -C "$stage" -xzf "$bundle"
  # The binaries hold absolute paths of the tree they were built in (helpers, RPATHs, CTest files): give this
  # checkout that path too.
  local built_root
  built_root=$(cat "$stage/ROOT")
  if [ "$(realpath -m "$built_root")" != "$root" ]; then
    if [ -e "$built_root" ] && [ ! -L "$built_root" ]; then
      echo "gpu.sh run: the bundle was built in $built_root, which exists here: run from that checkout" >&2
      exit 2
    fi
    mkdir -p "$(dirname "$built_root")" && ln -sfn "$root" "$built_root"
  fi
  if [ -d "$build/CMakeFiles" ]; then
    echo "gpu.sh run: $build is a build tree (this is the packing machine): running it as it is"
  else
    rm -rf "$build" && mkdir -p "$root/build" && mv "$stage/build/cuda" "$build"
  fi
  # A carried library is used only where this system lacks its soname (a newer libstdc++ stays).
  local lib
  for lib in "$stage"/lib/*; do
    if ldconfig -p | grep -q "^[[:space:]]*$(basename "$lib") "; then rm -f "$lib"; fi
  done
  export LD_LIBRARY_PATH=$stage/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  # cuBLAS from this machine's CUDA toolkit, or else from Python's nvidia-cublas wheel.
  local cublas
  cublas=$(ls /usr/local/cuda/lib64/libcublas.so.* 2>/dev/null | head -1 || true)
  [ -n "$cublas" ] || cublas=$(find / -xdev -name 'libcublas.so.*' -path '*nvidia*' 2>/dev/null | head -1 || true)
  [ -n "$cublas" ] && export LD_LIBRARY_PATH=$LD_LIBRARY_PATH:$(dirname "$cublas")
  {
    echo "built with: $(cat "$stage/GLIBC"); here: $(ldd --version | sed -n 1p)"
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader || true
    echo "carried libraries used: $(ls "$stage/lib" | tr '\n' ' ')"
  } | tee "$out/machine.txt"

  local status=0 exe
  # The CTest files name /usr/bin/cmake and /usr/bin/python3 (the build machine's): point them at this one's.
  local tool
  for tool in cmake ctest; do
    if [ ! -e /usr/bin/$tool ] && command -v $tool >/dev/null; then ln -s "$(command -v $tool)" /usr/bin/$tool; fi
  done
  echo "== tests" | tee -a "$out/machine.txt"
  # Left out: install (needs the build machine's compilers and packages), compile_fail (no run-time code), the
  # perf check (run below, on its own), threads2 duplicates (the host thread count changes nothing on CUDA).
  if command -v ctest >/dev/null; then
    (cd "$build" && timeout "${NABLA_GPU_TEST_SECONDS:-360}" ctest --output-on-failure -j 4 --timeout 300 \
       --output-junit "$out/ctest.xml" -E '^install\.|^compile_fail\.|^perf\.|\.threads2$' 2>&1) |
      tee "$out/ctest.log" || status=1
  else  # no CMake here: the GoogleTest executables alone
    for exe in "$build"/tests/*/nabla_*_tests; do
      timeout "${NABLA_GPU_TEST_SECONDS:-360}" "$exe" --gtest_output="xml:$out/$(basename "$exe").xml" 2>&1 |
        tee -a "$out/ctest.log" || status=1
    done
  fi

  echo "== benchmarks" | tee -a "$out/machine.txt"

  for exe in "$build"/perf/nabla_perf_*; do
    [ -x "$exe" ] || continue
    # The host peers (Eigen, OpenBLAS, NumPy, emcee, the OpenMP loop) say nothing about the GPU: left out.
    timeout "${NABLA_GPU_BENCH_SECONDS:-150}" "$exe" --benchmark_out="$out/$(basename "$exe").json" \
      --benchmark_out_format=json --benchmark_filter='-.*(Eigen|OpenBLAS|NumPy|Emcee|OpenMPLoop).*' \
      --benchmark_min_time=0.2 --benchmark_repetitions=3 --benchmark_report_aggregates_only=true 2>&1 |
      tee "$out/$(basename "$exe").log" || status=1
  done
  if python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
    timeout 120 python3 "$root/perf/nn/torch_mlp.py" --device cuda >"$out/torch_mlp.json" || status=1
    cat "$out/torch_mlp.json"
  else
    echo "gpu.sh run: no CUDA-enabled torch in python3: the PyTorch peer is skipped" | tee -a "$out/machine.txt"
  fi
  return $status
}

case "${1:-}" in
  pack) shift; pack "$@" ;;
  run) shift; run "$@" ;;
  figures) shift; exec python3 "$root/perf/gpu_figures.py" "$@" ;;
  *) usage ;;
esac
