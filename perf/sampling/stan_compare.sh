#!/usr/bin/env bash
# Nabla's HMC against Stan's NUTS (r-cran-rstan) in bulk ESS per second, warm-up included, on eight schools
# (non-centred; 08_hmc, 1024 chains, ChEES and NUTS trajectories) and the 100-D Gaussian of condition number 100
# (BM_Hmc_Gauss100, 1024 chains, ChEES). Stan runs one chain per core; Nabla uses the same cores as threads. Not part of CI: compiling the
# Stan models takes minutes, and CI has no R.
#   bash perf/sampling/stan_compare.sh [build dir (build/openmp)] [cores (2)]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$root/build/openmp}
cores=${2:-2}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export OMP_NUM_THREADS=$cores OMP_PROC_BIND=false

for t in chees nuts; do "$build/examples/08_hmc" --no-plots --trajectory $t --out "$out/$t" > "$out/$t.log"; done
"$build/perf/nabla_perf_sampling" --benchmark_filter='^BM_Hmc_Gauss100' --benchmark_format=json > "$out/bench.json"
Rscript "$root/perf/sampling/stan_compare.R" "$cores" 2>/dev/null | grep '^stan ' > "$out/stan.txt"

/usr/bin/python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
def schools(trajectory):
    m = json.load(open(out + "/" + trajectory + "/metrics.json"))
    return min(v for k, v in m.items() if k.endswith("_ess_bulk")) / m["seconds"]
bench = json.load(open(out + "/bench.json"))["benchmarks"][0]
gauss = bench["ess_per_second"]
stan = {}
for line in open(out + "/stan.txt"):
    w = line.split()
    stan[w[1]] = float(w[w.index("ess_per_second") + 1])
print(f"{'target':<15} {'Nabla':<6} {'Nabla ESS/s':>12} {'Stan ESS/s':>12} {'ratio':>7}")
for name, kind, nabla in (("eight_schools", "ChEES", schools("chees")), ("eight_schools", "NUTS", schools("nuts")),
                          ("gaussian100", "ChEES", gauss)):
    print(f"{name:<15} {kind:<6} {nabla:12.4g} {stan[name]:12.4g} {nabla / stan[name]:7.1f}")
PY
