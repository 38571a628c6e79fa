#!/usr/bin/python3
"""Vectorised NumPy BAOAB for the double well (the peer of Nabla's BAOAB benchmark).

Usage: baoab_numpy.py <walkers> <steps>. Prints the seconds of one timed run of <steps> steps over all walkers
(after a short warm-up), or "SKIP <reason>" if numpy is missing. Parameters as in sampling_benchmark.cpp:
a = 2, k = 1, gamma = 1, kBT = 1, dt = 0.01, m = 1.
"""
import sys
import time

try:
    import numpy as np
except ImportError as e:  # pragma: no cover
    print("SKIP", e)
    sys.exit(0)


def run(x, v, steps, rng, dt=0.01, gamma=1.0, kbt=1.0, a=2.0, k=1.0):
    c1 = np.exp(-gamma * dt)
    c2 = np.sqrt((1 - c1 * c1) * kbt)
    h = 0.5 * dt
    f = -k * x * (x - a) * (x + a)
    for _ in range(steps):
        v += h * f
        x += h * v
        v *= c1
        v += c2 * rng.standard_normal(x.shape[0])
        x += h * v
        f = -k * x * (x - a) * (x + a)
        v += h * f
    return x, v


def main():
    walkers, steps = int(sys.argv[1]), int(sys.argv[2])
    rng = np.random.default_rng(1)
    x = np.where(np.arange(walkers) % 2 == 0, -2.0, 2.0)
    v = np.zeros(walkers)
    run(x, v, 2, rng)  # warm-up
    t = time.perf_counter()
    run(x, v, steps, rng)
    print(time.perf_counter() - t)


if __name__ == "__main__":
    main()
