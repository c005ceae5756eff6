r"""Benchmark of the pricing oracle :func:`covcone.oracle.max_group_norm` (docs/design.md §3.4, §7).

* r = 3: 2-D inputs with bias, ``B = S Vᵀ`` from the thin SVD of ``A = [Xᵀ; 1ᵀ]``, random
  ``Θ`` (N × 2), ReLU; N = 60, 200, 400, 1000.  Baseline, measured in the same run: the naive
  exact enumeration (every face's pattern computed directly, every face's top eigenvectors
  evaluated, no bound ordering) for N ≤ 200 (it takes ~1 min at N = 400), with the ratio.
* the 3^N sign-pattern path: square random ``B`` (r = N), N = 8, 10, 12; the heuristic's value
  is printed next to the exact one (it must not exceed it).

Usage::

    python benchmarks/bench_oracle.py            # all sizes
    python benchmarks/bench_oracle.py --quick    # small sizes only
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from covcone.oracle import max_group_norm


def data_basis(N, rng):
    X = rng.standard_normal((N, 2))
    A = np.vstack([X.T, np.ones(N)])
    _, s, Vt = np.linalg.svd(A, full_matrices=False)
    return s[:, None] * Vt


def timed(fn, repeat):
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small sizes only")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
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
