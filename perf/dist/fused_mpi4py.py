#!/usr/bin/env python3
"""Peer of BM_DistFusedSum: the fused 8-op broadcast plus a global sum, written with NumPy and mpi4py.

Usage: mpirun -np P python3 fused_mpi4py.py N_LOCAL CALLS. Each rank holds N_LOCAL doubles per input; NumPy
evaluates the expression op by op (temporaries), then one allreduce. Prints the slowest rank's seconds per call.
"""
import sys
import time

import numpy as np
from mpi4py import MPI


def main():
    comm = MPI.COMM_WORLD
    n, calls = int(sys.argv[1]), int(sys.argv[2])
    rng = np.random.default_rng(comm.rank)
    a, b, c, d = (rng.random(n) for _ in range(4))

    def step():
        y = (a + b) * (c - d) + (a * c - b * d) * a  # NABLA_FUSED8
        return comm.allreduce(float(y.sum()), op=MPI.SUM)

    step()
    comm.Barrier()
    t0 = time.perf_counter()
    for _ in range(calls):
        step()
    seconds = comm.allreduce((time.perf_counter() - t0) / calls, op=MPI.MAX)
    if comm.rank == 0:
        print(f"{seconds:.9e}")


if __name__ == "__main__":
    main()
