#!/usr/bin/env python3
"""The GPU figures of scripts/gpu.sh's results folder: each one a ratio of two benchmarks of the same run.

  fused broadcast bandwidth / copy   BM_Fused{1,4,8} bytes/s over BM_StreamCopy bytes/s (a plain Kokkos copy
                                     kernel over 2^24 doubles: the device-to-device copy rate)   goal >= 0.9
  BAOAB walker-steps/s               BM_BAOAB_Nabla items/s (2^20 walkers x 50 steps)             goal >= 1e10
  MLP training samples/s vs PyTorch  BM_NablaTrain* items/s over torch_mlp.py's samples/s on the same GPU
  HM-LSTM mixed vs reverse           BM_HmLstmUnfused time over BM_HmLstmMixed time, per size   thesis: 4.28x
  HMC chains                         BM_Hmc_Chains chain-gradients/s from 1 to 65,536 chains, and the time of
                                     1024 chains over 1 chain                                     goal <= 2
  task groups                        BM_TasksSmallDirect time over BM_TasksSmallBulk (64 small kernels, one
                                     stream each)                                                 goal >= 1.5
                                     and BM_TasksTinyThen over BM_TasksTinyDirect                 goal <= 1.2

Medians of the repetitions. Standard library only.
"""
import json
import os
import sys


def load(folder, exe):
    path = os.path.join(folder, exe + ".json")
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        data = json.load(f)
    out = {}
    for b in data.get("benchmarks", []):
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        name = b.get("run_name", b["name"]).replace("/manual_time", "").replace("/real_time", "")
        out[name] = b
    return out


def rate(bench, key):
    return bench.get(key) if bench else None


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: gpu_figures.py RESULTS_DIR")
    folder = sys.argv[1]
    core, sampling = load(folder, "nabla_perf_core"), load(folder, "nabla_perf_sampling")
    nn, ad = load(folder, "nabla_perf_nn"), load(folder, "nabla_perf_ad")
    rows = []

    copy = rate(core.get("BM_StreamCopy/24"), "bytes_per_second")
    for k in ("BM_Fused1/24", "BM_Fused4/24", "BM_Fused8/24", "BM_Unfused8/24", "BM_StreamTriad/24"):
        bw = rate(core.get(k), "bytes_per_second")
        if bw and copy:
            rows.append((f"{k} bandwidth / copy", bw / copy, "goal >= 0.9" if "Fused" in k else "",
                         f"{bw / 1e9:.0f} GB/s vs {copy / 1e9:.0f} GB/s"))

    baoab = rate(sampling.get("BM_BAOAB_Nabla/20/50"), "items_per_second")
    if baoab:
        rows.append(("BAOAB walker-steps/s", baoab, "goal >= 1e10", "2^20 walkers x 50 steps"))

    torch = {}
    tpath = os.path.join(folder, "torch_mlp.json")
    if os.path.exists(tpath):
        with open(tpath) as f:
            torch = json.load(f)
    for ours, theirs in (("BM_NablaTrainTiny", "BM_TorchTrainTiny"), ("BM_NablaTrainMlp784", "BM_TorchTrainMlp784"),
                         ("BM_NablaInferMlp784", "BM_TorchInferMlp784")):
        a = rate(nn.get(ours), "items_per_second")
        if a and torch.get(theirs):
            rows.append((f"{ours} / PyTorch", a / torch[theirs], "",
                         f"{a:.3g} vs {torch[theirs]:.3g} samples/s ({torch.get('torch', '?')})"))

    for n in (512, 1024, 2048):
        mixed, unfused = ad.get(f"BM_HmLstmMixed/{n}"), ad.get(f"BM_HmLstmUnfused/{n}")
        if mixed and unfused:
            rows.append((f"HM-LSTM {n}: reverse (unfused) / mixed time", unfused["real_time"] / mixed["real_time"],
                         "thesis 4.28x (V100)", ""))

    chains = {int(k.split("/")[1]): b for k, b in sampling.items() if k.startswith("BM_Hmc_Chains/")}
    for c in sorted(chains):
        rows.append((f"HMC chain-gradients/s, {c} chains", rate(chains[c], "gradients_per_second"), "",
                     "50-D Gaussian, 4 transitions of 10 leapfrog steps"))
    if 1 in chains and 1024 in chains:
        rows.append(("HMC time 1024 chains / 1 chain", chains[1024]["real_time"] / chains[1]["real_time"],
                     "goal <= 2", ""))

    bulk, direct = core.get("BM_TasksSmallBulk"), core.get("BM_TasksSmallDirect")
    if bulk and direct:  # a stream per partition: the 64 kernels overlap on the device
        rows.append(("tasks: 64 small kernels, direct / bulk time", direct["real_time"] / bulk["real_time"],
                     "goal >= 1.5", "2^14 elements each, bulk over streams vs one after another"))
    then, tiny = core.get("BM_TasksTinyThen"), core.get("BM_TasksTinyDirect")
    if then and tiny:
        rows.append(("tasks: 1000 tiny `then` / direct time", then["real_time"] / tiny["real_time"], "goal <= 1.2", ""))

    if not rows:
        sys.exit(f"gpu_figures.py: no benchmark results in {folder}")
    for name, value, goal, detail in rows:
        print(f"{name:48s} {value:12.4g}  {goal:20s} {detail}")


if __name__ == "__main__":
    main()
