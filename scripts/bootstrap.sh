#!/usr/bin/env bash
# \file bootstrap.sh
# \brief Installs Nabla's dependencies on a Debian 12 machine and builds Kokkos + Kokkos Kernels once per machine.
#
# Usage: scripts/bootstrap.sh [--backend openmp|cuda|hip] [--arch ARCH] [--kokkos 4.6.01|3.4.01] [--debug-bounds]
#                             [--no-apt] [--packages-only]
#
# Progress goes to stderr; the last thing printed on stdout is the CMake prefix path of the dependency
# install (Kokkos;KokkosKernels), so callers can do `prefix=$(scripts/bootstrap.sh)`.
# With Kokkos_ROOT and KokkosKernels_ROOT set in the environment, the Kokkos build is skipped.
# Kokkos 4.6.01 sources: NABLA_DEPS_DIR (a folder of release tarballs), else a download of the release tags; without
# either, Kokkos 3.4.01 from Debian's Trilinos source (OpenMP and HIP only), saying why.
# Cache: ${NABLA_CACHE:-~/.cache/nabla}/deps/<key>/, keyed by versions, backend, arch, flags, patches and CPU.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
cache=${NABLA_CACHE:-$HOME/.cache/nabla}
backend=openmp
arch=""
kokkos_version=${NABLA_KOKKOS_VERSION:-4.6.01}
debug_bounds=OFF
do_apt=1
packages_only=0

while [ $# -gt 0 ]; do
  case "$1" in
    --backend) backend=$2; shift 2 ;;
    --arch) arch=$2; shift 2 ;;
    --kokkos) kokkos_version=$2; shift 2 ;;
    --debug-bounds) debug_bounds=ON; shift ;;
    --no-apt) do_apt=0; shift ;;
    --packages-only) packages_only=1; shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
    *) echo "bootstrap: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

step_name="start"
log() { echo "[nabla bootstrap] $*" >&2; }
step() { step_name=$1; log "== $1"; }
trap 'rc=$?; log "FAILED in step: ${step_name} (exit ${rc}); see messages above"; exit $rc' ERR

# Pinned by the hash of the uncompressed tar stream, which depends only on the tag's tree and the archive prefix
# (not on the gzip that compressed it), so a mirror's copy and the projects' tag archives check alike.
KOKKOS46_TAR_SHA256=f0faecf06684ff070c5bc2f8aef65a163ae639b5f61dd912cfca32bafffa33b4
KERNELS46_TAR_SHA256=db0b272614c4644649fcf82fc307ff46f844dba46f41cde8bb7fbedb5edbb5b3
TRILINOS_ORIG=trilinos_13.2.0.orig.tar.gz
TRILINOS_SHA256=0ddb47784ba7b8a6b9a07a4822b33be508feb4ccd54301b2a5d10c9e54524b90

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# ---------------------------------------------------------------------------------------------- packages
packages=(
  cmake g++ make ccache xz-utils pkg-config python3 curl ca-certificates
  libgtest-dev libgmock-dev libbenchmark-dev
  libopenmpi-dev openmpi-bin libhdf5-dev libhdf5-openmpi-dev librandom123-dev libopenblas-openmp-dev libcli11-dev nlohmann-json3-dev libboost-dev
  libeigen3-dev libtorch-dev python3-numpy python3-emcee python3-h5py python3-mpi4py gnuplot-nox
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
case "$backend" in
  openmp|cuda|hip) ;;
  *) echo "bootstrap: unknown backend '$backend' (openmp, cuda or hip)" >&2; exit 2 ;;
esac

# --------------------------------------------------------------------------------------------- sources
# tarball_46 NAME SHA: the path of a verified NAME-4.6.01.tar.gz, from NABLA_DEPS_DIR or downloaded; on failure,
# nothing on stdout and the reason in $why.
why=""
tarball_46() {
  local name=$1 sha=$2 file="$1-4.6.01.tar.gz" got
  if [ -n "${NABLA_DEPS_DIR:-}" ] && [ -f "$NABLA_DEPS_DIR/$file" ]; then
    got=$(gzip -dc "$NABLA_DEPS_DIR/$file" | sha256sum | cut -d' ' -f1)
    if [ "$got" = "$sha" ]; then echo "$NABLA_DEPS_DIR/$file"; return 0; fi
    why+="$NABLA_DEPS_DIR/$file has tar-stream sha256 $got, not $sha; "
  else
    why+="no $file in NABLA_DEPS_DIR (${NABLA_DEPS_DIR:-unset}); "
  fi
  mkdir -p "$cache/dl"
  local url="https://github.com/kokkos/$name/archive/refs/tags/4.6.01.tar.gz" out="$cache/dl/$file"
  if curl -fsSL --connect-timeout 10 --max-time 300 -o "$out.part" "$url" 2>/dev/null; then
    got=$(gzip -dc "$out.part" | sha256sum | cut -d' ' -f1)
    if [ "$got" = "$sha" ]; then mv "$out.part" "$out"; echo "$out"; return 0; fi
    why+="the download of $url has tar-stream sha256 $got, not $sha; "
  else
    why+="download of $url failed; "
  fi
  rm -f "$out.part"
  return 1
}

# Kokkos 4.6.01, unless its sources cannot be had: then 3.4.01 (not for CUDA, which needs 4.6's CUDA 13 support).
if [ "$kokkos_version" = 4.6.01 ]; then
  src_kokkos="$cache/src/kokkos-4.6.01" src_kk="$cache/src/kokkos-kernels-4.6.01"
  if [ ! -f "$src_kokkos/.complete" ] || [ ! -f "$src_kk/.complete" ]; then
    step "kokkos 4.6.01 sources"
    if tk=$(tarball_46 kokkos "$KOKKOS46_TAR_SHA256") && tkk=$(tarball_46 kokkos-kernels "$KERNELS46_TAR_SHA256"); then
      mkdir -p "$cache/src"
      for t in "$tk" "$tkk"; do
        d="$cache/src/$(basename "$t" .tar.gz)"
        rm -rf "$d"; tar -xzf "$t" -C "$cache/src"; touch "$d/.complete"
      done
    elif [ "$backend" = cuda ]; then
      log "CUDA builds need Kokkos 4.6.01 (CUDA 13 support), and its sources could not be had: $why"
      log "set NABLA_DEPS_DIR to a folder holding kokkos-4.6.01.tar.gz and kokkos-kernels-4.6.01.tar.gz"
      exit 1
    else
      log "FALLING BACK to Kokkos 3.4.01 from Debian's Trilinos source: $why"
      kokkos_version=3.4.01
    fi
  fi
fi

case "$kokkos_version" in
  4.6.01) ;;
  3.4.01)
    [ "$backend" = cuda ] && { echo "bootstrap: Kokkos 3.4.01 does not build with CUDA 13; CUDA needs 4.6.01" >&2; exit 2; }
    src_kokkos="$cache/src/trilinos-13.2.0/packages/kokkos" src_kk="$cache/src/trilinos-13.2.0/packages/kokkos-kernels"
    if [ ! -f "$cache/src/trilinos-13.2.0/.complete" ]; then
      step "download trilinos source"
      mkdir -p "$cache"
      dl=$(mktemp -d "$cache/dl.XXXXXX")
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
      rm -rf "$cache/src/trilinos-13.2.0"; mkdir -p "$cache/src"
      mv "$dl/x" "$cache/src/trilinos-13.2.0"; rm -rf "$dl"
      touch "$cache/src/trilinos-13.2.0/.complete"
    fi ;;
  *) echo "bootstrap: unknown Kokkos version '$kokkos_version' (4.6.01 or 3.4.01)" >&2; exit 2 ;;
esac

# ------------------------------------------------------------------------------------------- cache key
# Host builds of 4.6 use C++20 (what Kokkos 5 requires, so Nabla's tests run in it); device builds C++17.
cxx_std=17
[ "$kokkos_version" = 4.6.01 ] && [ "$backend" = openmp ] && cxx_std=20
case "$backend" in
  openmp) kokkos_flags=(-DKokkos_ENABLE_SERIAL=ON -DKokkos_ENABLE_OPENMP=ON) ;;
  cuda)
    arch=${arch:-HOPPER90}
    kokkos_flags=(-DKokkos_ENABLE_SERIAL=ON -DKokkos_ENABLE_CUDA=ON -DKokkos_ARCH_${arch}=ON) ;;
  hip)
    arch=${arch:-VEGA908}
    kokkos_flags=(-DKokkos_ENABLE_SERIAL=ON -DKokkos_ENABLE_HIP=ON -DKokkos_ARCH_${arch}=ON)
    # Kokkos 4 sorts through rocThrust when it is there; Debian's ROCm 5.2 has none, and Nabla does not sort.
    [ "$kokkos_version" = 4.6.01 ] && kokkos_flags+=(-DKokkos_ENABLE_ROCTHRUST=OFF) ;;
esac
kokkos_flags+=(-DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_STANDARD=$cxx_std -DCMAKE_POSITION_INDEPENDENT_CODE=ON
               -DKokkos_ENABLE_DEBUG_BOUNDS_CHECK=${debug_bounds})
# 4.6 without the code deprecated in 4 (Kokkos 5 removes it), so Nabla is built against what remains.
[ "$kokkos_version" = 4.6.01 ] && kokkos_flags+=(-DKokkos_ENABLE_DEPRECATED_CODE_4=OFF)

# Explicit instantiation of what Nabla calls on hosts: BLAS on double/float, LayoutLeft, the parallel backend only,
# no ordinal or offset types (so no sparse or graph kernels, which Nabla does not call). For CUDA and HIP none at
# all: the instantiations took 10+ minutes of a 2-core machine per backend, gemm and gemv on double/float go to
# cuBLAS through Kokkos Kernels' header-only TPL wrappers anyway, and HIP instantiates the few BLAS calls Nabla
# makes where it makes them.
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
# Kokkos Kernels 4 builds components on request: BLAS only (3.4 always builds all of BLAS, sparse and graph).
[ "$kokkos_version" = 4.6.01 ] && kk_flags+=(-DKokkosKernels_ENABLE_ALL_COMPONENTS=OFF
                                            -DKokkosKernels_ENABLE_COMPONENT_BLAS=ON
                                            -DKokkosKernels_ENABLE_TPL_LAPACK=OFF)
if [ "$backend" = openmp ]; then
  # OpenBLAS' OpenMP build as host BLAS: KokkosBlas::gemm on LayoutLeft double/float calls it.
  kk_flags+=(-DKokkosKernels_ENABLE_TPL_BLAS=ON
             -DBLAS_LIBRARIES=openblas -DBLAS_LIBRARY_DIRS=/usr/lib/x86_64-linux-gnu/openblas-openmp)
fi
if [ "$backend" = cuda ]; then
  # cuBLAS for gemm; no sparse kernel, so no cuSPARSE or cuSOLVER.
  kk_flags+=(-DKokkosKernels_ENABLE_TPL_CUBLAS=ON -DKokkosKernels_ENABLE_TPL_CUSPARSE=OFF
             -DKokkosKernels_ENABLE_TPL_CUSOLVER=OFF)
fi
# Patches are per version and backend (cmake/patches/kokkos-<version>-<backend>*.patch): the OpenMP build stays
# pristine.
patches=$(ls "$root"/cmake/patches/kokkos-$kokkos_version-$backend*.patch 2>/dev/null || true)
if [ "$backend" = cuda ]; then
  [ -d /usr/local/cuda/bin ] && export PATH=/usr/local/cuda/bin:$PATH
  command -v nvcc >/dev/null || { echo "bootstrap: --backend cuda needs nvcc on PATH" >&2; exit 2; }
fi
cpu=$(grep -m1 -E '^(model name|flags)' /proc/cpuinfo 2>/dev/null; grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
key_text="kokkos=$kokkos_version backend=$backend arch=$arch ${kokkos_flags[*]} | ${kk_flags[*]} | $(g++ -dumpfullversion) | $cpu"
for p in $patches; do key_text+=" | $(sha256sum < "$p")"; done
key="kokkos-$kokkos_version-$backend${arch:+-$arch}$([ "$debug_bounds" = ON ] && echo -bounds)-$(echo "$key_text" | sha256sum | cut -c1-12)"
prefix="$cache/deps/$key"

if [ -f "$prefix/.complete" ]; then
  log "cached: $prefix"
  echo "$prefix"
  exit 0
fi

# ---------------------------------------------------------------------------------------------- builds
jobs=${NABLA_JOBS:-$(nproc)}
work="$cache/build/$key"
rm -rf "$work" "$prefix"; mkdir -p "$work"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

step "patch kokkos $kokkos_version"
cp -r "$src_kokkos" "$work/kokkos-src"
for p in $patches; do log "applying $(basename "$p")"; patch -s -d "$work/kokkos-src" -p1 < "$p"; done

cxx=()
[ "$backend" = cuda ] && cxx=(-DCMAKE_CXX_COMPILER="$work/kokkos-src/bin/nvcc_wrapper")
if [ "$backend" = hip ]; then
  cxx=(-DCMAKE_CXX_COMPILER=hipcc)
  source "$root/scripts/common.sh"
  export HCC_AMDGPU_TARGET; HCC_AMDGPU_TARGET=${HCC_AMDGPU_TARGET:-$(hip_gfx "$arch")}
fi

step "configure kokkos $kokkos_version ($backend)"
cmake -S "$work/kokkos-src" -B "$work/kokkos" -DCMAKE_INSTALL_PREFIX="$prefix" "${cxx[@]}" "${launcher[@]}" \
  "${kokkos_flags[@]}" >"$work/kokkos-configure.log" 2>&1 || { tail -n 40 "$work/kokkos-configure.log" >&2; false; }
step "build kokkos"
cmake --build "$work/kokkos" -j "$jobs" >"$work/kokkos-build.log" 2>&1 || { tail -n 60 "$work/kokkos-build.log" >&2; false; }
cmake --install "$work/kokkos" >/dev/null
[ "$backend" = cuda ] && cxx=(-DCMAKE_CXX_COMPILER="$prefix/bin/nvcc_wrapper")

step "configure kokkos-kernels $kokkos_version"
cmake -S "$src_kk" -B "$work/kk" -DCMAKE_INSTALL_PREFIX="$prefix" -DKokkos_ROOT="$prefix" \
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
