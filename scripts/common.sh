# Sourced by the scripts: ccache location, phase timing, the shared set-up steps.
NABLA_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CCACHE_DIR=${CCACHE_DIR:-${NABLA_CACHE:-$HOME/.cache/nabla}/ccache}
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}
# Hits across clones at different paths: paths under the checkout are hashed relative to it.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$NABLA_ROOT}
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-true}
# CPU builds use -march=native, which ccache hashes as written: key the cache by what it means on this machine.
export CCACHE_NAMESPACE=${CCACHE_NAMESPACE:-cpu-$(c++ -march=native -### -x c++ -c /dev/null 2>&1 | grep -o -- ' -m[a-z0-9=-]*' | cksum | cut -d' ' -f1)}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
_nabla_t0=$(date +%s)
phase() { echo "[nabla $(($(date +%s) - _nabla_t0))s] == $*" >&2; }

# bootstrap_and_configure BUILD_DIR [cmake options...]: dependencies (bootstrap.sh with $NABLA_BOOTSTRAP_ARGS),
# then a configured build tree.
bootstrap_and_configure() {
  local build=$1
  shift
  phase "bootstrap"
  local prefix
  # shellcheck disable=SC2086  # NABLA_BOOTSTRAP_ARGS holds several words (e.g. "--debug-bounds")
  prefix=$("$NABLA_ROOT/scripts/bootstrap.sh" ${NABLA_BOOTSTRAP_ARGS:-})
  phase "configure ($build)"
  mkdir -p "$build"
  cmake -S "$NABLA_ROOT" -B "$build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_COMPILER_LAUNCHER=ccache "$@" >"$build.configure.log" 2>&1 || { cat "$build.configure.log"; return 1; }
}

# hip_gfx ARCH: the AMD GPU target (gfx908, ...) of a Kokkos HIP architecture name (VEGA908, ...). Without a GPU,
# hipcc's agent enumerator prints tracebacks, so builds name the target in HCC_AMDGPU_TARGET.
hip_gfx() {
  case "$1" in
    VEGA900) echo gfx900 ;; VEGA906) echo gfx906 ;; VEGA908) echo gfx908 ;; VEGA90A) echo gfx90a ;;
    *) echo "unknown Kokkos HIP architecture '$1' (VEGA900, VEGA906, VEGA908 or VEGA90A)" >&2; return 1 ;;
  esac
}
