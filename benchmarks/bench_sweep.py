r"""Benchmark of covcone.sweep.solve_many: serial vs a dask LocalCluster of 2 worker processes.

A grid of independent certified depth-2 solves (two-spirals data, 2-D inputs, k = 2, β = 1,
ReLU, MSE): λ × seed.  Times the serial run, the same problems on an already running
``LocalCluster(n_workers=2, threads_per_worker=1)`` and ``solve_many(client="local")`` (which
also starts and stops the cluster), checks that the results are identical to the serial ones,
and prints the speed-ups.  With 2 workers the ideal is 2×; the machine's core count bounds it.
dask's worker processes run BLAS single-threaded, so the serial run is also timed under a
one-thread BLAS limit (threadpoolctl, installed with scikit-learn) for a like-for-like ratio.

    python benchmarks/bench_sweep.py --quick       # N = 30, 4 λ × 2 seeds
    python benchmarks/bench_sweep.py               # N = 60, 4 λ × 3 seeds
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

from covcone import solve
from covcone.cli import demo_data
from covcone.sweep import solve_many


def _identical(a, b) -> bool:
    return (a.upper == b.upper and a.lower == b.lower and a.status == b.status
            and all(np.array_equal(W, V) for W, V in zip(a.network.weights, b.network.weights)))


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--n", type=int, default=None, help="number of points")
    args = ap.parse_args(argv)
    from dask.distributed import Client, LocalCluster

    N = args.n or (30 if args.quick else 60)
    seeds = (0, 1) if args.quick else (0, 1, 2)
    X, Y = demo_data(N)
    problems = [{"X": X, "Y": Y, "lam": lam, "beta": 1.0, "rng": s} for lam in (1e-1, 1e-2, 3e-3, 1e-3) for s in seeds]
    solve(X, Y, lam=0.1, beta=1.0, rng=0)  # warm-up: imports stay out of the serial timing

    t0 = time.perf_counter()
    serial = solve_many(problems)
    t_serial = time.perf_counter() - t0
    t_serial1 = None
    try:  # dask's workers run BLAS single-threaded: the same serial run under that limit
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1):
            t0 = time.perf_counter()
            serial1 = solve_many(problems)
            t_serial1 = time.perf_counter() - t0
        assert all(r.certified == r1.certified for r, r1 in zip(serial, serial1))
    except ImportError:
        pass

    t0 = time.perf_counter()
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    t_start = time.perf_counter() - t0
    try:
        client.run(lambda: solve(X, Y, lam=0.1, beta=1.0, rng=0))  # the same warm-up on each worker
        t0 = time.perf_counter()
        par = solve_many(problems, client=client)
        t_par = time.perf_counter() - t0
        oracle_times = _oracle_chunks(client)
    finally:
        client.close()
        cluster.close()

    t0 = time.perf_counter()
    local = solve_many(problems, client="local")
    t_local = time.perf_counter() - t0

    same = all(_identical(a, b) for a, b in zip(serial, par)) and all(_identical(a, b) for a, b in zip(serial, local))
    n_cert = sum(r.certified for r in serial)
    print(f"covcone solve_many: {len(problems)} depth-2 solves (N = {N}, k = 2, β = 1, ReLU, MSE), "
          f"{n_cert}/{len(problems)} certified; {os.cpu_count()} CPUs")
    print(f"serial                                  {t_serial:8.2f} s")
    if t_serial1 is not None:
        print(f"serial, BLAS limited to 1 thread         {t_serial1:8.2f} s   "
              f"(speed-up of the running cluster over it {t_serial1 / t_par:.2f}×)")
    print(f"LocalCluster(2 workers), running        {t_par:8.2f} s   speed-up {t_serial / t_par:.2f}×"
          f"   (cluster start-up {t_start:.1f} s, not included)")
    print(f"solve_many(client='local'), incl. start {t_local:8.2f} s   speed-up {t_serial / t_local:.2f}×")
    print(f"results identical to the serial run: {same}")
    ts, tc, same_price = oracle_times
    print(f"exact 3^N pricing oracle (N = 12, input rank 7, k = 2): serial {ts:.2f} s, chunks on the cluster "
          f"{tc:.2f} s, speed-up {ts / tc:.2f}×, same value: {same_price}")
    return {"serial": t_serial, "serial_1_thread": t_serial1, "cluster": t_par, "local": t_local, "identical": same,
            "oracle_serial": ts, "oracle_cluster": tc}


def _oracle_chunks(client):
    """The any-dimension exact oracle (3^N faces) serial vs split across the client's workers."""
    from covcone.oracle import max_group_norm
    from covcone.shallow import input_basis

    rng = np.random.default_rng(4)
    _, _, B = input_basis(rng.standard_normal((12, 6)), 1.0)
    Theta = rng.standard_normal((12, 2))
    t0 = time.perf_counter()
    ser = max_group_norm(Theta, B, "relu", n_best=30, rng=0)
    ts = time.perf_counter() - t0
    max_group_norm(Theta, B, "relu", n_best=30, rng=0, client=client)  # warm-up
    t0 = time.perf_counter()
    par = max_group_norm(Theta, B, "relu", n_best=30, rng=0, client=client)
    tc = time.perf_counter() - t0
    return ts, tc, bool(abs(par.value - ser.value) <= 1e-12 * ser.value)


if __name__ == "__main__":  # needed: the worker processes are spawned
    main()
