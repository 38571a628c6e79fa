#!/usr/bin/env python3
"""Peer of BM_Stencil/1: a 5-point heat step on an (N, N x P) periodic grid split by columns over P ranks,
written with mpi4py + NumPy slicing (ghost columns by Sendrecv, ghost rows by copies).

Usage: mpirun -np P python3 stencil_mpi4py.py N STEPS. Prints the slowest rank's seconds per step.
"""
import sys
import time

import numpy as np
from mpi4py import MPI


def main():
    comm = MPI.COMM_WORLD
    n, steps = int(sys.argv[1]), int(sys.argv[2])
    left, right = (comm.rank - 1) % comm.size, (comm.rank + 1) % comm.size
    rng = np.random.default_rng(comm.rank)
    # Fortran order: columns contiguous, as Nabla's column-major blocks.
    u = np.zeros((n + 2, n + 2), order="F")
    u[1:-1, 1:-1] = rng.random((n, n))
    v = np.zeros_like(u)
    c = 0.1

    def step(u, v):
        comm.Sendrecv(u[:, n], dest=right, recvbuf=u[:, 0], source=left)
        comm.Sendrecv(u[:, 1], dest=left, recvbuf=u[:, n + 1], source=right)
        u[0, :] = u[n, :]
        u[n + 1, :] = u[1, :]
        v[1:-1, 1:-1] = u[1:-1, 1:-1] + c * (u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2] - 4.0 * u[1:-1, 1:-1])

    step(u, v)
    comm.Barrier()
    t0 = time.perf_counter()
    for _ in range(steps):
        step(u, v)
        u, v = v, u
    seconds = comm.allreduce((time.perf_counter() - t0) / steps, op=MPI.MAX)
    if comm.rank == 0:
        print(f"{seconds:.9e}")


if __name__ == "__main__":
    main()
