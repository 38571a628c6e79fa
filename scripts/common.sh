# Sourced by the scripts: ccache location, phase timing.
export CCACHE_DIR=${CCACHE_DIR:-${NABLA_CACHE:-$HOME/.cache/nabla}/ccache}
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}
# Hits across clones at different paths: paths under the checkout are hashed relative to it.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-true}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
_nabla_t0=$(date +%s)
phase() { echo "[nabla $(($(date +%s) - _nabla_t0))s] == $*" >&2; }
