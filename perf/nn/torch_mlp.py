#!/usr/bin/env python3
"""PyTorch peer of perf/nn/nn_benchmark.cpp on one device: the same models, batch sizes, float32, Adam and
cross-entropy, timed per optimisation step with the device synchronised (the loss is read on the host every
step, as Nabla's Trainer::step returns it). Prints one JSON object: {"<benchmark>": samples per second}.

Used by scripts/gpu.sh, where libtorch's C++ API is absent but Python's torch is installed.
"""
import argparse
import json
import time

import torch


def tiny_net():
    return torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.BatchNorm1d(8),
                               torch.nn.Linear(8, 3))


def mlp784():
    return torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256),
                               torch.nn.ReLU(), torch.nn.Linear(256, 10))


def problem(features, classes, batch, device):
    torch.manual_seed(2024)
    x = torch.randn(batch, features, device=device)
    y = torch.arange(batch, device=device).mul(7).add(3).remainder(classes)
    return x, y


def timed(step, device, min_time):
    step()  # warm-up: kernel selection, allocator, lazy initialisation
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    sync()
    best = float("inf")
    for _ in range(3):  # best of three blocks, each at least min_time long
        n, t0 = 0, time.perf_counter()
        while True:
            step()
            n += 1
            sync()
            elapsed = time.perf_counter() - t0
            if elapsed >= min_time:
                break
        best = min(best, elapsed / n)
    return best


def train(model, features, classes, batch, device, min_time):
    model = model.to(device).train()
    x, y = problem(features, classes, batch, device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    return batch / timed(step, device, min_time)


def infer(device, min_time):
    model = mlp784().to(device).eval()
    x, _ = problem(784, 10, 256, device)

    def step():
        with torch.no_grad():
            return torch.softmax(model(x), 1).size(0)

    return 256 / timed(step, device, min_time)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--min-time", type=float, default=0.5, help="seconds per timed block")
    args = ap.parse_args()
    device = torch.device(args.device)
    out = {
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "BM_TorchTrainTiny": train(tiny_net(), 2, 3, 128, device, args.min_time),
        "BM_TorchTrainMlp784": train(mlp784(), 784, 10, 256, device, args.min_time),
        "BM_TorchInferMlp784": infer(device, args.min_time),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
