r"""Benchmark of the pricing oracle :func:`covcone.oracle.max_group_norm` (docs/design.md §3.4, §7).

* r = 3: 2-D inputs with bias, ``B = S Vᵀ`` from the thin SVD of ``A = [Xᵀ; 1ᵀ]``, random
  ``Θ`` (N × 2), ReLU; N = 60, 200, 400, 1000.  Baseline, measured in the same run: the naive
  exact enumeration (every face's pattern computed directly, every face's top eigenvectors
  evaluated, no bound ordering) for N ≤ 200 (it takes ~1 min at N = 400), with the ratio.
* the 3^N sign-pattern path: square random ``B`` (r = N), N = 8, 10, 12; the heuristic's value
  is printed next to the exact one (it must not exceed it).

* ``--scaling``: one oracle call (``max_group_norm``, exact, n_best = 30 as the depth-2 solver asks)
  at N = 250, 1000, 2500, 10 000 for k = 1 and 2, each size in a fresh subprocess: wall and CPU
  time, peak traced Python memory (``tracemalloc``: numpy buffers) and the process's peak resident
  memory growth during the call; the exponent p of a least-squares fit ``t ≈ c·N^p``.  Θ is a
  group-lasso-like residual (targets of a small ReLU teacher minus their least-squares fit on 60
  random ReLU features and a bias, times 2/N), so the landscape has the many near-equal local maxima
  that the solver's residuals have.  ``--no-numba`` measures the pure-numpy walk.

Usage::

    python benchmarks/bench_oracle.py            # all sizes
    python benchmarks/bench_oracle.py --quick    # small sizes only
    python benchmarks/bench_oracle.py --scaling [--sizes 250 1000 2500 10000] [--no-numba]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

from covcone.oracle import max_group_norm
from covcone.shallow import input_basis


def data_basis(N, rng):
    return input_basis(rng.standard_normal((N, 2)), 1.0)[2]


def timed(fn, repeat):
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def residual_problem(N, k, seed=0):
    """2-D inputs with bias (r = 3) and a group-lasso-like residual Θ (N × k)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, 2))
    A = np.vstack([X.T, np.ones(N)])
    _, s, Vt = np.linalg.svd(A, full_matrices=False)
    B = s[:, None] * Vt
    W = rng.standard_normal((3, 8))
    Y = np.maximum(A.T @ W, 0) @ rng.standard_normal((8, k)) + 0.1 * rng.standard_normal((N, k))
    F = np.column_stack([np.maximum(A.T @ rng.standard_normal((3, 60)), 0), np.ones(N)])
    Theta = (2 / N) * (Y - F @ np.linalg.lstsq(F, Y, rcond=None)[0])
    return Theta, B


def one_call(N, k, n_best, seed):
    """Measure one exact oracle call in this process (after a small warm-up call)."""
    import resource
    import tracemalloc

    Theta, B = residual_problem(N, k, seed)
    max_group_norm(Theta[:50], B[:, :50], "relu")  # imports, compiled-kernel load
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    t0, c0 = time.perf_counter(), time.process_time()
    res = max_group_norm(Theta, B, "relu", n_best=n_best, rng=seed)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"N": N, "k": k, "n_best": n_best, "wall_s": wall, "cpu_s": cpu, "traced_peak_MB": peak / 1e6,
            "rss_growth_MB": (rss1 - rss0) / 1e3, "peak_rss_MB": rss1 / 1e3, "value": res.value,
            "exact": res.exact, "returned": int(res.C.shape[0]), "evaluated": res.n_evaluated,
            "faces": res.n_faces, "load": os.getloadavg()[0]}


def scaling(sizes, ks, n_best, seed, no_numba):
    env = dict(os.environ)
    if no_numba:
        env["COVCONE_NO_NUMBA"] = "1"
    rows = []
    walk = "numpy" if no_numba else "compiled if available"
    print(f"one exact oracle call, r = 3, ReLU, n_best = {n_best}, walk: {walk}")
    print(f"{'k':>2} {'N':>6} {'wall [s]':>9} {'cpu [s]':>8} {'traced MB':>10} {'peak RSS MB':>12} "
          f"{'evaluated':>10} {'load':>5}")
    for k in ks:
        for N in sizes:
            here = os.path.dirname(os.path.abspath(__file__))
            code = (f"import json, sys; sys.path.insert(0, {here!r}); import bench_oracle as b; "
                    f"print(json.dumps(b.one_call({N}, {k}, {n_best}, {seed})))")
            # run from the benchmarks folder: covcone comes from PYTHONPATH / the install, not the cwd
            out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                                 cwd=here)
            row = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(f"{k:>2} {N:>6} {row['wall_s']:9.2f} {row['cpu_s']:8.2f} {row['traced_peak_MB']:10.1f} "
                  f"{row['peak_rss_MB']:12.0f} {row['evaluated']:>10} {row['load']:5.1f}", flush=True)
        pts = np.array([(r["N"], r["wall_s"], r["cpu_s"]) for r in rows if r["k"] == k])
        if len(pts) >= 2:
            pw = np.polyfit(np.log(pts[:, 0]), np.log(pts[:, 1]), 1)[0]
            pc = np.polyfit(np.log(pts[:, 0]), np.log(pts[:, 2]), 1)[0]
            print(f"   k = {k}: fitted exponent p (t ≈ c·N^p, N = {int(pts[0, 0])}…{int(pts[-1, 0])}): "
                  f"wall {pw:.2f}, cpu {pc:.2f}")
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small sizes only")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--scaling", action="store_true", help="one call at N = 250 … 10 000 (time, memory, exponent)")
    p.add_argument("--sizes", type=int, nargs="+", default=[250, 1000, 2500, 10000])
    p.add_argument("--k", type=int, nargs="+", default=[1, 2])
    p.add_argument("--n-best", type=int, default=30)
    p.add_argument("--no-numba", action="store_true", help="the pure-numpy walk")
    p.add_argument("--json", help="write the scaling rows to this file")
    args = p.parse_args(argv)
    if args.scaling:
        rows = scaling(args.sizes, args.k, args.n_best, args.seed, args.no_numba)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(rows, f, indent=1)
        return rows
    rng = np.random.default_rng(args.seed)

    sizes = [60, 200] if args.quick else [60, 200, 400, 1000]
    naive_max = 200
    print("r = 3 arrangement (2-D inputs + bias, k = 2, ReLU)")
    print(f"{'N':>6} {'faces':>10} {'evaluated':>10} {'time [s]':>10} {'naive [s]':>10} {'ratio':>7} {'|Δvalue|':>10}")
    for N in sizes:
        B = data_basis(N, rng)
        Theta = rng.standard_normal((N, 2))
        repeat = 3 if N <= 200 else 1
        t, res = timed(lambda: max_group_norm(Theta, B, "relu"), repeat)
        if N <= naive_max:
            tn, ref = timed(lambda: max_group_norm(Theta, B, "relu", _method="naive"), 1)
            extra = f"{tn:10.3f} {tn / t:7.1f} {abs(ref.value - res.value):10.2e}"
        else:
            extra = f"{'—':>10} {'—':>7} {'—':>10}"
        print(f"{N:>6} {res.n_faces:>10} {res.n_evaluated:>10} {t:10.3f} {extra}")

    print()
    print("3^N sign patterns (r = N, k = 2, ReLU); heuristic value for comparison")
    print(f"{'N':>6} {'faces':>10} {'evaluated':>10} {'time [s]':>10} {'value':>12} {'heuristic':>12}")
    for N in ([8, 10] if args.quick else [8, 10, 12]):
        B = rng.standard_normal((N, N))
        Theta = rng.standard_normal((N, 2))
        t, res = timed(lambda: max_group_norm(Theta, B, "relu"), 1)
        he = max_group_norm(Theta, B, "relu", exact=False, rng=0)
        assert he.value <= res.value + 1e-12
        print(f"{N:>6} {res.n_faces:>10} {res.n_evaluated:>10} {t:10.3f} {res.value:12.6f} {he.value:12.6f}")


if __name__ == "__main__":
    main()
