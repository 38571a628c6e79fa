#!/usr/bin/env bash
# \file bootstrap.sh
# \brief Installs Nabla's dependencies on a Debian 12 machine and builds Kokkos + Kokkos Kernels once per machine.
#
# Usage: scripts/bootstrap.sh [--backend openmp|cuda|hip] [--arch ARCH] [--debug-bounds] [--no-apt] [--packages-only]
#
# Progress goes to stderr; the last thing printed on stdout is the CMake prefix path of the dependency
# install (Kokkos;KokkosKernels), so callers can do `prefix=$(scripts/bootstrap.sh)`.
# With Kokkos_ROOT and KokkosKernels_ROOT set in the environment, the Kokkos build is skipped.
# Cache: ${NABLA_CACHE:-~/.cache/nabla}/deps/<key>/, keyed by versions, backend, arch, flags, patches and CPU.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
cache=${NABLA_CACHE:-$HOME/.cache/nabla}
backend=openmp
arch=""
debug_bounds=OFF
do_apt=1
packages_only=0

while [ $# -gt 0 ]; do
  case "$1" in
    --backend) backend=$2; shift 2 ;;
    --arch) arch=$2; shift 2 ;;
    --debug-bounds) debug_bounds=ON; shift ;;
    --no-apt) do_apt=0; shift ;;
    --packages-only) packages_only=1; shift ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
    *) echo "bootstrap: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

step_name="start"
log() { echo "[nabla bootstrap] $*" >&2; }
step() { step_name=$1; log "== $1"; }
trap 'rc=$?; log "FAILED in step: ${step_name} (exit ${rc}); see messages above"; exit $rc' ERR

KOKKOS_VERSION=3.4.01
TRILINOS_ORIG=trilinos_13.2.0.orig.tar.gz
TRILINOS_SHA256=0ddb47784ba7b8a6b9a07a4822b33be508feb4ccd54301b2a5d10c9e54524b90

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# ---------------------------------------------------------------------------------------------- packages
packages=(
  cmake g++ make ccache xz-utils pkg-config python3
  libgtest-dev libgmock-dev libbenchmark-dev
  libopenmpi-dev openmpi-bin libhdf5-dev librandom123-dev libopenblas-openmp-dev libcli11-dev
  libeigen3-dev libtorch-dev python3-numpy python3-emcee python3-h5py gnuplot-nox
  clang-15 libclang-common-15-dev libomp-15-dev
)
# HIP: Debian's ROCm 5.2 compiler, runtime and device libraries (~350 MB), only when asked for. hipcc is clang 15,
# the fuzzers' compiler too: Debian's libomp-<version>-dev packages exclude each other, so one LLVM serves both.
[ "$backend" = hip ] && packages+=(hipcc libamdhip64-dev rocm-device-libs)
if [ "$do_apt" = 1 ]; then
  step "packages"
  missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing: ${missing[*]}"
    as_root apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  else
    log "all ${#packages[@]} packages present"
  fi
fi
[ "$packages_only" = 1 ] && exit 0

if [ -n "${Kokkos_ROOT:-}" ] && [ -n "${KokkosKernels_ROOT:-}" ]; then
  log "using Kokkos_ROOT=$Kokkos_ROOT and KokkosKernels_ROOT=$KokkosKernels_ROOT; skipping the Kokkos build"
  echo "$Kokkos_ROOT;$KokkosKernels_ROOT"
  exit 0
fi

# ------------------------------------------------------------------------------------------- cache key
case "$backend" in
  openmp) kokkos_flags=(-DKokkos_ENABLE_SERIAL=ON -DKokkos_ENABLE_OPENMP=ON) ;;
  cuda)
    arch=${arch:-HOPPER90}
    kokkos_flags=(-DKokkos_ENABLE_SERIAL=ON -DKokkos_ENABLE_CUDA=ON -DKokkos_ENABLE_CUDA_LAMBDA=ON
                  -DKokkos_ARCH_${arch}=ON) ;;
  hip)
    arch=${arch:-VEGA908}
    kokkos_flags=(-DKokkos_ENABLE_SERIAL=ON -DKokkos_ENABLE_HIP=ON -DKokkos_ARCH_${arch}=ON) ;;
  *) echo "bootstrap: unknown backend '$backend' (openmp, cuda or hip)" >&2; exit 2 ;;
esac
kokkos_flags+=(-DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_STANDARD=17 -DCMAKE_POSITION_INDEPENDENT_CODE=ON
               -DKokkos_ENABLE_DEBUG_BOUNDS_CHECK=${debug_bounds})
# Kokkos Kernels 3.4 has no per-component switches: it always builds all of BLAS, sparse and graph. For OpenMP,
# keep its explicit instantiation to what Nabla calls (BLAS on double/float, LayoutLeft, the parallel backend only;
# no ordinal or offset types, so no sparse or graph kernels: 69 sources instead of 99, about 2.5 minutes less per
# build on 2 cores); other combinations still work, instantiated in the caller. For CUDA and HIP, none at all: the
# instantiations took 10+ minutes of a 2-core machine per backend, gemm and gemv on double/float go to cuBLAS
# through Kokkos Kernels' header-only TPL wrappers anyway, and HIP (no rocBLAS in Kokkos Kernels 3.4) instantiates
# the few BLAS calls Nabla makes where it makes them.
if [ "$backend" = openmp ]; then
  eti=(-DKokkosKernels_INST_DOUBLE=ON -DKokkosKernels_INST_FLOAT=ON
       -DKokkosKernels_INST_LAYOUTLEFT=ON -DKokkosKernels_INST_LAYOUTRIGHT=OFF
       -DKokkosKernels_INST_ORDINAL_INT=OFF -DKokkosKernels_INST_OFFSET_SIZE_T=OFF
       -DKokkosKernels_INST_OFFSET_INT=OFF -DKokkosKernels_INST_EXECSPACE_SERIAL=OFF)
else
  eti=(-DKokkosKernels_ADD_DEFAULT_ETI=OFF -DKokkosKernels_INST_DOUBLE=OFF -DKokkosKernels_INST_FLOAT=OFF
       -DKokkosKernels_INST_LAYOUTLEFT=OFF -DKokkosKernels_INST_ORDINAL_INT=OFF
       -DKokkosKernels_INST_OFFSET_SIZE_T=OFF -DKokkosKernels_INST_OFFSET_INT=OFF)
fi
kk_flags=(-DCMAKE_BUILD_TYPE=Release -DCMAKE_POSITION_INDEPENDENT_CODE=ON "${eti[@]}"
          -DKokkosKernels_ENABLE_TESTS=OFF -DKokkosKernels_ENABLE_EXAMPLES=OFF)
if [ "$backend" = openmp ]; then
  # OpenBLAS' OpenMP build as host BLAS: KokkosBlas::gemm on LayoutLeft double/float calls it.
  kk_flags+=(-DKokkosKernels_ENABLE_TPL_BLAS=ON
             -DBLAS_LIBRARIES=openblas -DBLAS_LIBRARY_DIRS=/usr/lib/x86_64-linux-gnu/openblas-openmp)
fi
if [ "$backend" = cuda ]; then
  # cuBLAS for gemm. cuSPARSE off: Kokkos Kernels 3.4 calls csrsv2/CSRMV APIs that CUDA 13 removed, and Nabla
  # uses no sparse kernel.
  kk_flags+=(-DKokkosKernels_ENABLE_TPL_CUBLAS=ON -DKokkosKernels_ENABLE_TPL_CUSPARSE=OFF)
fi
# Patches are per backend (cmake/patches/kokkos-<version>-<backend>*.patch): the OpenMP build stays pristine.
patches=$(ls "$root"/cmake/patches/kokkos-$KOKKOS_VERSION-$backend*.patch 2>/dev/null || true)
if [ "$backend" = cuda ]; then
  [ -d /usr/local/cuda/bin ] && export PATH=/usr/local/cuda/bin:$PATH
  command -v nvcc >/dev/null || { echo "bootstrap: --backend cuda needs nvcc on PATH" >&2; exit 2; }
fi
cpu=$(grep -m1 -E '^(model name|flags)' /proc/cpuinfo 2>/dev/null; grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
key_text="kokkos=$KOKKOS_VERSION backend=$backend arch=$arch ${kokkos_flags[*]} | ${kk_flags[*]} | $(g++ -dumpfullversion) | $cpu"
for p in $patches; do key_text+=" | $(sha256sum < "$p")"; done
key="kokkos-$KOKKOS_VERSION-$backend${arch:+-$arch}$([ "$debug_bounds" = ON ] && echo -bounds)-$(echo "$key_text" | sha256sum | cut -c1-12)"
prefix="$cache/deps/$key"

if [ -f "$prefix/.complete" ]; then
  log "cached: $prefix"
  echo "$prefix"
  exit 0
fi

# --------------------------------------------------------------------------------------------- sources
src="$cache/src/trilinos-13.2.0"
if [ ! -f "$src/.complete" ]; then
  step "download trilinos source"
  dl=$(mktemp -d "$cache/dl.XXXXXX" 2>/dev/null || { mkdir -p "$cache"; mktemp -d "$cache/dl.XXXXXX"; })
  if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ && ! grep -qs '^deb-src' /etc/apt/sources.list; then
    log "adding a deb-src entry for bookworm"
    printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      | as_root tee /etc/apt/sources.list.d/nabla-deb-src.sources >/dev/null
    as_root apt-get update -qq >&2
  fi
  (cd "$dl" && apt-get source --download-only -qq trilinos 2>&1 | grep -v 'unsandboxed' >&2 || true)
  step "verify trilinos source"
  echo "$TRILINOS_SHA256  $dl/$TRILINOS_ORIG" | sha256sum -c --quiet - >&2
  step "extract kokkos and kokkos-kernels"
  mkdir -p "$dl/x"
  tar -xzf "$dl/$TRILINOS_ORIG" -C "$dl/x" --strip-components=1 --wildcards '*/packages/kokkos/*' '*/packages/kokkos-kernels/*'
  rm -rf "$src"; mkdir -p "$(dirname "$src")"
  mv "$dl/x" "$src"; rm -rf "$dl"
  touch "$src/.complete"
fi

# ---------------------------------------------------------------------------------------------- builds
jobs=${NABLA_JOBS:-$(nproc)}
work="$cache/build/$key"
rm -rf "$work" "$prefix"; mkdir -p "$work"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

step "patch kokkos"
rm -rf "$work/kokkos-src"; cp -r "$src/packages/kokkos" "$work/kokkos-src"
for p in $patches; do log "applying $(basename "$p")"; patch -s -d "$work/kokkos-src" -p1 < "$p"; done

cxx=()
[ "$backend" = cuda ] && cxx=(-DCMAKE_CXX_COMPILER="$work/kokkos-src/bin/nvcc_wrapper")
if [ "$backend" = hip ]; then
  cxx=(-DCMAKE_CXX_COMPILER=hipcc)
  source "$root/scripts/common.sh"
  export HCC_AMDGPU_TARGET; HCC_AMDGPU_TARGET=${HCC_AMDGPU_TARGET:-$(hip_gfx "$arch")}
fi

step "configure kokkos ($backend)"
cmake -S "$work/kokkos-src" -B "$work/kokkos" -DCMAKE_INSTALL_PREFIX="$prefix" "${cxx[@]}" "${launcher[@]}" \
  "${kokkos_flags[@]}" >"$work/kokkos-configure.log" 2>&1 || { tail -n 40 "$work/kokkos-configure.log" >&2; false; }
step "build kokkos"
cmake --build "$work/kokkos" -j "$jobs" >"$work/kokkos-build.log" 2>&1 || { tail -n 60 "$work/kokkos-build.log" >&2; false; }
cmake --install "$work/kokkos" >/dev/null
[ "$backend" = cuda ] && cxx=(-DCMAKE_CXX_COMPILER="$prefix/bin/nvcc_wrapper")

step "configure kokkos-kernels"
cmake -S "$src/packages/kokkos-kernels" -B "$work/kk" -DCMAKE_INSTALL_PREFIX="$prefix" -DKokkos_ROOT="$prefix" \
  "${cxx[@]}" "${launcher[@]}" "${kk_flags[@]}" >"$work/kk-configure.log" 2>&1 \
  || { tail -n 40 "$work/kk-configure.log" >&2; false; }
step "build kokkos-kernels (a few minutes)"
cmake --build "$work/kk" -j "$jobs" >"$work/kk-build.log" 2>&1 || { tail -n 60 "$work/kk-build.log" >&2; false; }
cmake --install "$work/kk" >/dev/null

step "finish"
echo "$key_text" > "$prefix/.key"
touch "$prefix/.complete"   # the stamp is written last: a half-built prefix is never taken as done
rm -rf "$work"
log "installed: $prefix"
echo "$prefix"
