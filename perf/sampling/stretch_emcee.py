#!/usr/bin/python3
"""emcee's stretch move with a vectorised log-probability (the peer of Nabla's stretch benchmark).

Usage: stretch_emcee.py <gauss10|rosenbrock> <walkers> <steps>. Prints the seconds of a run_mcmc of <steps> steps
(after a short warm-up), the median of three timed runs since emcee's time alone varies by 40 % from run to run
on a shared machine, or "SKIP <reason>" if numpy/emcee are missing. Targets as in
sampling_benchmark.cpp: a 10-D Gaussian with precisions 1/(i+1), and emcee's Rosenbrock density.
"""
import sys
import time

try:
    import numpy as np
    import emcee
except ImportError as e:  # pragma: no cover
    print("SKIP", e)
    sys.exit(0)

IVAR = 1.0 / (np.arange(10) + 1.0)


def gauss10(x):
    return -0.5 * np.sum(x * x * IVAR, axis=1)


def rosenbrock(x):
    a = x[:, 1] - x[:, 0] ** 2
    b = 1.0 - x[:, 0]
    return -(100.0 * a * a + b * b) / 20.0


def main():
    target, walkers, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    f, ndim = (gauss10, 10) if target == "gauss10" else (rosenbrock, 2)
    rng = np.random.default_rng(1)
    s = emcee.EnsembleSampler(walkers, ndim, f, vectorize=True)
    state = s.run_mcmc(0.1 * rng.standard_normal((walkers, ndim)), 5)  # warm-up
    times = []
    for _ in range(3):
        s.reset()
        t = time.perf_counter()
        s.run_mcmc(state, steps)
        times.append(time.perf_counter() - t)
    print(sorted(times)[1])


if __name__ == "__main__":
    main()
