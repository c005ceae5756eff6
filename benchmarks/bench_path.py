r"""Benchmark of the warm-started λ path (covcone.path.solve_path) against cold solves.

Depth-2 ReLU network, β = 1, MSE, the built-in two-spirals data (2-D inputs, 2 outputs), 10
values of λ log-spaced from 1e-1 to 1e-3.  Times ``solve_path`` (warm starts from the previous
network's neurons, the default), ``solve_path(warm_start="columns")`` (the master's whole
active set) and 10 independent cold ``solve`` calls; prints the totals, the column-generation
rounds and the ratio cold / warm, and checks that every λ is certified with the same optimum.

    python benchmarks/bench_path.py --quick        # N = 30
    python benchmarks/bench_path.py                # N = 80
    python benchmarks/bench_path.py --repeat 3     # best of 3 (the machine may be loaded)
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from covcone import solve
from covcone.cli import demo_data
from covcone.path import solve_path


def _cold(X, Y, lams, kw):
    t0 = time.perf_counter()
    res = [solve(X, Y, lam=lam, **kw) for lam in lams]
    return res, time.perf_counter() - t0


def _path(X, Y, lams, kw, warm_start):
    t0 = time.perf_counter()
    p = solve_path(X, Y, lams, warm_start=warm_start, **kw)
    return list(p.results), time.perf_counter() - t0


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="N = 30 instead of 80")
    ap.add_argument("--n", type=int, default=None, help="number of points")
    ap.add_argument("--n-lams", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=1, help="best of this many runs of each variant")
    args = ap.parse_args(argv)
    N = args.n or (30 if args.quick else 80)
    X, Y = demo_data(N)
    lams = np.logspace(-1, -3, args.n_lams)
    kw = dict(beta=1.0, rng=0)
    runs = {"path (network warm start)": lambda: _path(X, Y, lams, kw, "network"),
            "path (columns warm start)": lambda: _path(X, Y, lams, kw, "columns"),
            "cold solves": lambda: _cold(X, Y, lams, kw)}
    solve(X, Y, lam=lams[0], **kw)  # warm-up: imports (cvxpy, clarabel) stay out of the timings
    best = {}
    for name, fn in runs.items():
        for _ in range(args.repeat):
            res, t = fn()
            if name not in best or t < best[name][1]:
                best[name] = (res, t)
    print(f"covcone λ path: N = {N}, 2-D inputs, k = 2, β = 1, ReLU, MSE, {len(lams)} λ in [1e-3, 1e-1]"
          f" (best of {args.repeat})")
    print(f"{'variant':<28}{'total (s)':>10}{'rounds':>8}{'certified':>11}")
    for name, (res, t) in best.items():
        rounds = sum(len(r.history) for r in res)
        print(f"{name:<28}{t:>10.2f}{rounds:>8d}{sum(r.certified for r in res):>8d}/{len(res)}")
    cold = best["cold solves"]
    warm = best["path (network warm start)"]
    dev = max(abs(a.upper - b.upper) / max(1.0, abs(b.upper)) for a, b in zip(warm[0], cold[0]))
    print(f"ratio cold / warm path (network): {cold[1] / warm[1]:.2f}×   "
          f"(columns warm start: {cold[1] / best['path (columns warm start)'][1]:.2f}×)")
    print(f"largest relative difference of the optima, warm vs cold: {dev:.1e}")
    print(f"{'λ':>10}{'warm (s)':>10}{'cold (s)':>10}{'warm rounds':>13}{'cold rounds':>13}{'neurons':>9}")
    for lam, a, b in zip(lams, warm[0], cold[0]):
        print(f"{lam:>10.3g}{a.timings['total']:>10.3f}{b.timings['total']:>10.3f}{len(a.history):>13d}"
              f"{len(b.history):>13d}{a.n_neurons:>9d}")
    return {name: t for name, (_, t) in best.items()}


if __name__ == "__main__":
    main()
