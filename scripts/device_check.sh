#!/usr/bin/env bash
# \file device_check.sh
# \brief Nabla compiled for a GPU backend on a machine without a GPU, within CI's budget: Kokkos 3.4.01 built for
# the backend and Kokkos Kernels configured against it (headers only), both cached; then every library source,
# every example driver and the ad tape tests compiled, not linked, with the backend's compiler. They instantiate
# most of core, ad, nn and sampling's device code, so a kernel calling a host-only function, or any construct the
# device compiler refuses, fails here. The full CUDA build (all tests, benchmarks, linking) is scripts/gpu.sh's.
#
# Usage: scripts/device_check.sh cuda|hip   (run by scripts/test.sh; NABLA_SKIP_DEVICE_CHECK=1 skips both there)
#   cuda: nvcc 13 (/usr/local/cuda), Kokkos with cmake/patches' CUDA 13 patch; NABLA_CUDA_ARCH (default HOPPER90).
#         No nvcc: skipped.
#   hip:  Debian's ROCm 5.2 hipcc (installed by `bootstrap.sh --backend hip --packages-only`); NABLA_HIP_ARCH
#         (default VEGA908, gfx908).
# Environment: NABLA_CACHE as scripts/test.sh.
# A run whose sources, flags and dependencies match the last passing one is not repeated (stamp in the cache).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/common.sh"

backend=${1:-}
cache=${NABLA_CACHE:-$HOME/.cache/nabla}
src="$cache/src/trilinos-13.2.0"
case "$backend" in
  cuda)
    [ -d /usr/local/cuda/bin ] && export PATH=/usr/local/cuda/bin:$PATH
    if ! command -v nvcc >/dev/null; then
      echo "device_check: nvcc not found; CUDA skipped" >&2
      exit 0
    fi
    arch=${NABLA_CUDA_ARCH:-HOPPER90}
    patch_file="$root/cmake/patches/kokkos-3.4.01-cuda13.patch"
    compiler_id="$(nvcc --version | tail -n 1) | $(g++ -dumpfullversion) | $(sha256sum < "$patch_file")"
    kokkos_flags=(-DKokkos_ENABLE_CUDA=ON -DKokkos_ENABLE_CUDA_LAMBDA=ON)
    kk_flags=(-DKokkosKernels_ENABLE_TPL_CUBLAS=ON -DKokkosKernels_ENABLE_TPL_CUSPARSE=OFF
              -DKokkosKernels_INST_MEMSPACE_CUDAUVMSPACE=OFF)
    # As Nabla's CMake compiles for CUDA: no contracted products (random numbers bit-identical to the host's).
    flags=(-std=c++17 -O2 "-arch=sm_${arch//[!0-9]/}" --expt-extended-lambda --expt-relaxed-constexpr --fmad=false)
    devices=CUDA,SERIAL ;;
  hip)
    "$root/scripts/bootstrap.sh" --backend hip --packages-only
    arch=${NABLA_HIP_ARCH:-VEGA908}
    gfx=$(echo "$arch" | sed 's/^VEGA908$/gfx908/; s/^VEGA90A$/gfx90a/; s/^VEGA906$/gfx906/; s/^VEGA900$/gfx900/')
    # Without a GPU, hipcc's agent enumerator prints tracebacks; name the target instead.
    export HCC_AMDGPU_TARGET=$gfx
    patch_file=""
    compiler_id="$(hipcc --version 2>/dev/null | grep -m1 -i 'clang version')"
    kokkos_flags=(-DKokkos_ENABLE_HIP=ON)
    kk_flags=()
    flags=(-std=c++17 -O2 "--offload-arch=$gfx" -ffp-contract=off)
    devices=HIP,SERIAL ;;
  *) echo "usage: scripts/device_check.sh cuda|hip" >&2; exit 2 ;;
esac
flags+=(-DNDEBUG)
[ -f "$src/.complete" ] || "$root/scripts/bootstrap.sh" >/dev/null  # fetches the Kokkos sources
key_text="$arch | $compiler_id | ${kokkos_flags[*]} | ${kk_flags[*]}"
key="kokkos-3.4.01-$backend-$arch-compile-check-$(echo "$key_text" | sha256sum | cut -c1-12)"
deps="$cache/deps/$key"

if [ ! -f "$deps/.complete" ]; then
  work="$cache/build/$key"
  rm -rf "$work" "$deps"
  mkdir -p "$work"
  cp -r "$src/packages/kokkos" "$work/kokkos-src"
  [ -z "$patch_file" ] || patch -s -d "$work/kokkos-src" -p1 < "$patch_file"
  if [ "$backend" = cuda ]; then cxx="$work/kokkos-src/bin/nvcc_wrapper"; else cxx=hipcc; fi
  phase "$backend check: kokkos for $backend ($arch)"
  { cmake -S "$work/kokkos-src" -B "$work/kokkos" -DCMAKE_INSTALL_PREFIX="$deps" -DCMAKE_CXX_COMPILER="$cxx" \
      -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_STANDARD=17 -DKokkos_ENABLE_SERIAL=ON "${kokkos_flags[@]}" \
      "-DKokkos_ARCH_$arch=ON" &&
    cmake --build "$work/kokkos" -j "$(nproc)" && cmake --install "$work/kokkos"; } >"$work/kokkos.log" 2>&1 ||
    { tail -n 40 "$work/kokkos.log" >&2; exit 1; }
  [ "$backend" = cuda ] && cxx="$deps/bin/nvcc_wrapper"
  phase "$backend check: kokkos kernels configured (headers only)"
  cmake -S "$src/packages/kokkos-kernels" -B "$deps/kk" -DKokkos_ROOT="$deps" -DCMAKE_CXX_COMPILER="$cxx" \
    -DCMAKE_BUILD_TYPE=Release "${kk_flags[@]}" >"$work/kk.log" 2>&1 || { tail -n 40 "$work/kk.log" >&2; exit 1; }
  rm -rf "$work"
  touch "$deps/.complete"
fi
if [ "$backend" = cuda ]; then compiler=("$deps/bin/nvcc_wrapper"); else compiler=(hipcc); fi

out="$root/build/$backend-check"
mkdir -p "$out/nabla"
version=$(sed -n 's/^project(Nabla VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
IFS=. read -r major minor patch_level <<<"$version"
sed -e "s/@PROJECT_VERSION_MAJOR@/$major/; s/@PROJECT_VERSION_MINOR@/$minor/; s/@PROJECT_VERSION_PATCH@/$patch_level/" \
  -e "s/@PROJECT_VERSION@/$version/; s/@NABLA_HAVE_MPI@/1/; s/@NABLA_HAVE_HDF5@/1/; s/@NABLA_KOKKOS_DEVICES@/$devices/" \
  "$root/cmake/config.hpp.in" >"$out/nabla/config.hpp"

kk_src="$src/packages/kokkos-kernels/src"
includes=(-I"$out" -I"$root/core/include" -I"$root/ad/include" -I"$root/nn/include" -I"$root/sampling/include"
          -I"$root/examples" -I"$root/tests" -I"$root/tests/common" -isystem "$deps/include" -isystem /usr/include/hdf5/serial
          -isystem /usr/lib/x86_64-linux-gnu/openmpi/include)
while IFS= read -r d; do includes+=(-isystem "$d"); done < <(find "$kk_src" "$deps/kk/src" -type d -not -name CMakeFiles)
cd "$root"
# The tape tests first: the longest compiles, and the most templates the device compiler sees nowhere else.
sources=$(ls tests/ad/test_tape*.cpp; ls core/src/*.cpp nn/src/*.cpp sampling/src/*.cpp examples/*.cpp
          ls ad/src/*.cpp 2>/dev/null || true)
stamp="$cache/$backend-check.passed"  # in the cache, so fresh clones of unchanged sources skip the compiles too
digest=$( { echo "$key ${flags[*]}"; find core ad nn sampling examples cmake tests/ad tests/common tests/core/test_util.hpp scripts/device_check.sh -type f \
            \( -name '*.hpp' -o -name '*.cpp' -o -name '*.in' -o -name '*.patch' -o -name '*.sh' \) -print0 |
            sort -z | xargs -0 sha256sum; } | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$digest" ]; then
  phase "$backend check: sources unchanged since the last pass; skipped"
  exit 0
fi
rm -f "$stamp"

phase "$backend check: compile $(echo "$sources" | wc -l) sources for ${flags[2]} (${compiler[0]##*/}, no link)"
export DEVICE_CHECK_OUT="$out"
# sh -c gets the source as $0 and the compiler command as "$@".
echo "$sources" | xargs -P "$(nproc)" -I{} sh -c '
  log="$DEVICE_CHECK_OUT/$(basename "$0").log"
  if "$@" -c "$0" -o "$DEVICE_CHECK_OUT/$(basename "$0").o" >"$log" 2>&1; then echo "  ok    $0" >&2
  else echo "  FAIL  $0" >&2; grep -m 20 -E "error|Error" "$log" >&2; exit 255; fi' \
  {} "${compiler[@]}" "${flags[@]}" "${includes[@]}" ||
  { echo "device_check: a source does not compile for $backend (logs in $out)" >&2; exit 1; }
echo "$digest" >"$stamp"
phase "$backend check: passed"
