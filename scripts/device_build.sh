#!/usr/bin/env bash
# \file device_build.sh
# \brief Nabla's build for a GPU backend, on a machine without a GPU: Kokkos and Kokkos Kernels for the backend
# (bootstrap.sh, cached), then Nabla compiled AND linked with the backend's compiler (ccache). Nothing runs: a
# kernel calling a host-only function, a construct the device compiler refuses, or a device symbol missing at link
# time fails here. scripts/gpu.sh packs and runs the CUDA tree it builds.
#
# Usage: scripts/device_build.sh cuda|hip [--tree]
#   (run by scripts/test.sh; NABLA_SKIP_DEVICE_BUILD=1 skips both there).
#   Without --tree, a check in build/<backend>-check of the libraries and every test suite (the examples,
#   benchmarks and README programs, a third of the device compile time, build and run on OpenMP and build in the
#   --tree build). Nothing of it runs, so the host code compiles at -O0 (cold, 2 cores: CUDA's build of everything
#   1386 s vs 1582 s at -O3, and -O1 slower still; the HIP check 418 s vs 685 s). HIP's device code stays at -O3
#   (-Xarch_host lowers the host's alone): ROCm 5.2's clang at -O0 cannot select gfx10 intrinsics (permlanex16)
#   that only optimisation removes for gfx908. A run whose sources, options and dependencies match the last
#   passing check is skipped (stamp in the cache).
#   --tree: the optimised (Release) tree that runs, with the examples and benchmarks too, in build/<backend>,
#   always brought up to date (scripts/gpu.sh packs it).
#   cuda: nvcc 13 (/usr/local/cuda), Kokkos with cmake/patches' CUDA 13 patch; NABLA_CUDA_ARCH (default HOPPER90).
#         No nvcc: skipped. MPI off (the GPU machine has none); libtorch off (the GPU peer is PyTorch's CUDA build).
#   hip:  Debian's ROCm 5.2 hipcc (installed here); NABLA_HIP_ARCH (default VEGA908, gfx908). MPI on; libtorch off
#         (its c10 headers include thrust under hipcc).
# Environment: NABLA_CACHE as scripts/test.sh.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/common.sh"

backend=${1:-}
keep_tree=0
[ "${2:-}" = --tree ] && keep_tree=1
cache=${NABLA_CACHE:-$HOME/.cache/nabla}
case "$backend" in
  cuda)
    [ -d /usr/local/cuda/bin ] && export PATH=/usr/local/cuda/bin:$PATH
    if ! command -v nvcc >/dev/null; then
      echo "device_build: nvcc not found; CUDA skipped" >&2
      exit 0
    fi
    arch=${NABLA_CUDA_ARCH:-HOPPER90}
    options=(-DNABLA_ENABLE_MPI=OFF) ;;
  hip)
    "$root/scripts/bootstrap.sh" --backend hip --packages-only
    arch=${NABLA_HIP_ARCH:-VEGA908}
    export HCC_AMDGPU_TARGET; HCC_AMDGPU_TARGET=$(hip_gfx "$arch")
    options=() ;;
  *) echo "usage: scripts/device_build.sh cuda|hip [--tree]" >&2; exit 2 ;;
esac
if [ "$keep_tree" = 1 ]; then
  build=$root/build/$backend
  options+=(-DNABLA_ENABLE_BENCHMARKS=ON -DNABLA_ENABLE_EXAMPLES=ON)
else
  build=$root/build/$backend-check
  options+=(-DNABLA_ENABLE_BENCHMARKS=OFF -DNABLA_ENABLE_EXAMPLES=OFF)
  if [ "$backend" = cuda ]; then opt="-O0"; else opt="-O3 -Xarch_host -O0"; fi
  options+=(-DCMAKE_CXX_FLAGS_RELEASE="$opt -DNDEBUG")
fi
options+=(-DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER_LAUNCHER=ccache
          -DCMAKE_DISABLE_FIND_PACKAGE_Torch=ON -DNABLA_ENABLE_TORCH_TESTS=OFF -DNABLA_ENABLE_TESTS=ON)

phase "$backend build: bootstrap ($arch)"
prefix=$("$root/scripts/bootstrap.sh" --backend "$backend" --arch "$arch" --no-apt)
if [ "$backend" = cuda ]; then compiler=$prefix/bin/nvcc_wrapper; else compiler=hipcc; fi

stamp="$cache/$backend-build.passed"  # in the cache, so fresh clones of unchanged sources skip the build too
cd "$root"
digest=$( { echo "$prefix ${options[*]}"; "$compiler" --version 2>&1;
            find CMakeLists.txt cmake core ad nn sampling dist docs/readme examples tests perf fuzz scripts/device_build.sh -type f -print0 |
            sort -z | xargs -0 sha256sum; } | sha256sum | cut -c1-16)
if [ "$keep_tree" = 0 ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$digest" ]; then
  phase "$backend build: sources unchanged since the last pass; skipped"
  exit 0
fi
[ "$keep_tree" = 1 ] || rm -f "$stamp"

phase "$backend build: configure ($build)"
cmake -S "$root" -B "$build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_COMPILER="$compiler" "${options[@]}" \
  >"$build.configure.log" 2>&1 || { cat "$build.configure.log" >&2; exit 1; }
phase "$backend build: compile and link everything ($compiler)"
if ! cmake --build "$build" -j "$(nproc)" >"$build.log" 2>&1; then
  grep -E -m 40 -B2 -A6 'error|Error' "$build.log" >&2 || tail -n 60 "$build.log" >&2
  echo "device_build: Nabla does not build for $backend (log: $build.log)" >&2
  exit 1
fi
[ "$keep_tree" = 1 ] || echo "$digest" >"$stamp"
count=$(find "$build" -type f -perm -u+x -name 'nabla_*' | wc -l)
phase "$backend build: passed, $(basename "$build") ($count nabla_* executables)"
