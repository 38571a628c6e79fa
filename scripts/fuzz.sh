#!/usr/bin/env bash
# \file fuzz.sh
# \brief Builds the libFuzzer targets (clang-15, ASan + UBSan) and runs each for a bounded time on its committed
# seed corpus and past findings. A crash, a sanitizer report, a leak or a timeout fails the run and leaves the
# input under build/fuzz/findings/<target>/; copy it to fuzz/regressions/<target>/ with the fix, where every
# build's CTest replays it.
#
# Usage: scripts/fuzz.sh [seconds per target, default 30] [target...]   (run by scripts/test.sh with 20 s;
#        NABLA_SKIP_FUZZ=1 skips it there)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/common.sh"

seconds=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(csv options checkpoint chain)
build=${NABLA_FUZZ_BUILD_DIR:-$root/build/fuzz}

# At -O1: half the build time of -O3 (136 s vs 269 s, cold, 2 cores) for as many inputs per second (the CSV
# reader: 383k in 20 s vs 336k).
bootstrap_and_configure "$build" -DCMAKE_C_COMPILER=clang-15 \
  -DCMAKE_CXX_COMPILER=clang++-15 -DNABLA_ENABLE_FUZZ=ON -DNABLA_SANITIZE=address,undefined \
  -DNABLA_ENABLE_TESTS=OFF -DNABLA_ENABLE_BENCHMARKS=OFF -DNABLA_ENABLE_EXAMPLES=OFF -DCMAKE_CXX_FLAGS_RELEASE="-O1 -g0"

phase "build fuzz targets"
cmake --build "$build" -j "$(nproc)" --target "${targets[@]/#/nabla_fuzz_}"

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/tests/sanitize/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export OMP_NUM_THREADS=1 OMP_PROC_BIND=false TMPDIR=${TMPDIR:-/tmp}
failed=()
for t in "${targets[@]}"; do
  phase "fuzz $t for ${seconds}s"
  work="$build/corpus/$t" findings="$build/findings/$t"
  mkdir -p "$work" "$findings"
  seeds=("$root/fuzz/corpus/$t")
  [ -d "$root/fuzz/regressions/$t" ] && seeds+=("$root/fuzz/regressions/$t")
  # New inputs go to the first (scratch) directory; the committed corpus is only read.
  if ! "$build/fuzz/nabla_fuzz_$t" "$work" "${seeds[@]}" -max_total_time="$seconds" -timeout=10 \
       -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$findings/" \
       >"$build/fuzz-$t.log" 2>&1; then
    tail -n 60 "$build/fuzz-$t.log" >&2
    failed+=("$t")
  else
    grep -E '^stat::number_of_executed_units|^stat::new_units_added' "$build/fuzz-$t.log" | sed "s/^/  $t /" >&2 || true
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: findings in: ${failed[*]} (inputs under $build/findings/)" >&2
  exit 1
fi
phase "fuzz: no findings"
