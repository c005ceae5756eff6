r"""Benchmark of the pricing oracle beyond input rank 3 (:func:`covcone.oracle.max_group_norm`).

Instances (inputs standardised, a bias row appended, ``B = S Vᵀ`` from the thin SVD of
``[Xᵀ; 1ᵀ]``; ``Θ = (2/N)·R`` with ``R`` a seeded Gaussian residual, ``k`` outputs; ReLU):

* rank 4: Gaussian 3-D inputs, N = 200 and 400 (k = 1);
* rank 5: iris (``sklearn.datasets.load_iris``), N = 150, k = 3;
* rank 6: Gaussian 5-D inputs, N = 50 (k = 1);
* rank 11: diabetes (``sklearn.datasets.load_diabetes``), N = 100 (first 100 rows), k = 1.

For each: the heuristic value; the default exact dispatch with a 300 s time limit (branch and
bound, then the vertex enumeration when within its budget; wall and CPU seconds, whether it
proved the maximum; ``--quick``: rank 4 N = 200 only); and the anytime branch and bound alone
after 10 s (and 60 s without ``--quick``): its bound, the best value and their ratio (the bound
is valid: ``bound ≥ m``).  The machine is shared: CPU time is reported next to wall
time.  Results go to ``bench_oracle_rank.json`` (``bench_oracle_rank_quick.json`` with ``--quick``)
next to this file.

Usage::

    python benchmarks/bench_oracle_rank.py --quick   # ≤ 2 min
    python benchmarks/bench_oracle_rank.py           # exact runs up to 5 min each
    python benchmarks/bench_oracle_rank.py --prep    # the per-vertex preparation: numpy vs compiled
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from covcone.oracle import max_group_norm, oracle_path


def basis(X):
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    A = np.vstack([X.T, np.ones(X.shape[0])])
    _, s, Vt = np.linalg.svd(A, full_matrices=False)
    return s[:, None] * Vt


def instances(rng):
    from sklearn.datasets import load_diabetes, load_iris

    out = {}
    for N in (200, 400):
        out[f"rank 4, N = {N}"] = (basis(rng.standard_normal((N, 3))), 1)
    out["rank 5, iris N = 150"] = (basis(load_iris().data), 3)
    out["rank 6, N = 50"] = (basis(rng.standard_normal((50, 5))), 1)
    out["rank 11, diabetes N = 100"] = (basis(load_diabetes().data[:100]), 1)
    return out


KEYS = ("vertices", "forms", "degenerate_vertices", "budget", "nodes", "open", "closed", "reason")


def run(name, B, k, rng, exact_limit, bnb_times, do_exact):
    N = B.shape[1]
    Theta = 2.0 / N * rng.standard_normal((N, k))
    row = {"instance": name, "r": int(B.shape[0]), "N": int(N), "k": int(k),
           "path": oracle_path(B.shape[0], N)}
    t0 = time.perf_counter()
    he = max_group_norm(Theta, B, "relu", exact=False, rng=0)
    row["heuristic"] = {"value": he.value, "seconds": time.perf_counter() - t0, "spectral_bound": he.bound}
    ref = None
    if do_exact:  # the default dispatch with a time limit: exact if it closes / enumerates in time
        t0, c0 = time.perf_counter(), time.process_time()
        ex = max_group_norm(Theta, B, "relu", rng=0, time_limit=exact_limit)
        row["exact"] = {"value": ex.value, "exact": ex.exact, "method": ex.method,
                        "wall": time.perf_counter() - t0, "cpu": time.process_time() - c0,
                        "bound": ex.bound, **{k_: v for k_, v in ex.stats.items() if k_ in KEYS}}
        if ex.exact:
            ref = ex.value
        print(f"{name}: exact {ex.exact} value {ex.value:.8g} in {row['exact']['wall']:.1f} s wall "
              f"({row['exact']['cpu']:.1f} s CPU), {ex.method}", flush=True)
    row["bnb"] = []
    for tl in bnb_times:
        t0, c0 = time.perf_counter(), time.process_time()
        bb = max_group_norm(Theta, B, "relu", rng=0, _method="branch and bound", time_limit=tl)
        best = max(bb.value, ref or 0.0)
        row["bnb"].append({"time_limit": tl, "bound": bb.bound, "value": bb.value,
                           "bound_over_best": bb.bound / best, "closed": bool(bb.stats.get("closed")),
                           "nodes": bb.stats.get("nodes"), "open": bb.stats.get("open"),
                           "wall": time.perf_counter() - t0, "cpu": time.process_time() - c0})
        print(f"{name}: B&B {tl:g} s: bound/best = {bb.bound / best:.4f} (bound {bb.bound:.6g}, value "
              f"{bb.value:.6g}, nodes {bb.stats.get('nodes')}, closed {bb.stats.get('closed')})", flush=True)
    return row


def prep(heads=range(60, 90, 6), repeats=3):
    """The per-vertex preparation of the vertex enumeration on iris (rank 5, N = 150, k = 3, the
    refined arrangement): the numpy twins (``_outside_parts`` + ``_lowest_vertex_signs``) against the
    compiled ``vertex_parts`` on the same vertices (the best of ``repeats`` runs each), next to the
    enumeration of the same heads with the default (compiled) path, whose share it was."""
    import itertools

    from sklearn.datasets import load_iris

    from covcone.oracle._kernels import _Pool
    from covcone.oracle.vertices import (
        Planes,
        _Products,
        _vertex_parts,
        exact_vertices_group,
        refined,
    )

    B = basis(load_iris().data)
    N = B.shape[1]
    Theta = 2.0 / N * np.random.default_rng(1).standard_normal((N, 3))
    planes = refined(Planes(Theta, B, 0.0, 1.0))
    n, H, r = planes.n, planes.H, planes.r
    S = np.array([(*c, m, j) for m in heads for c in itertools.combinations(range(m), r - 3)
                  for j in range(m + 1, H)], dtype=np.int64)  # the vertices of those heads
    _, sv, Vt = np.linalg.svd(n[S])
    ok = sv[:, -1] > 1e-9
    S, V = S[ok], Vt[ok, -1]
    P = _Products(planes)

    def best(f):
        out = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            f()
            out.append(time.perf_counter() - t0)
        return min(out)

    _vertex_parts(planes, V[:300], S[:300], P, fix=True)  # compile
    t_np = best(lambda: _vertex_parts(planes, V, S, P, fix=True, use_compiled=False))
    t_nb = best(lambda: _vertex_parts(planes, V, S, P, fix=True))
    scale2 = float(np.sum(np.linalg.norm(B, axis=0) * np.linalg.norm(Theta, axis=1))) ** 2
    t0 = time.perf_counter()
    st = exact_vertices_group(planes, _Pool(Theta, B, 0.0, 1.0, 1), scale2, heads=list(heads))
    t_en = time.perf_counter() - t0
    row = {"vertices": int(S.shape[0]), "numpy_prep": t_np, "compiled_prep": t_nb, "ratio": t_np / t_nb,
           "enumeration": t_en, "forms": int(st["forms"]), "numpy_share": t_np / (t_en - t_nb + t_np)}
    print(f"preparation of {S.shape[0]} vertices (iris, heads {list(heads)}): numpy {t_np:.3f} s, compiled "
          f"{t_nb:.3f} s (ratio {t_np / t_nb:.1f}); their enumeration {t_en:.2f} s with the compiled "
          f"preparation; the numpy one would be {row['numpy_share']:.0%} of it", flush=True)
    return row


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="≤ 2 min: one exact run, B&B 10 s")
    ap.add_argument("--prep", action="store_true",
                    help="only the per-vertex preparation, numpy against compiled (≈ 1 min; needs numba)")
    args = ap.parse_args(argv)
    if args.prep:
        out = Path(__file__).with_name("bench_oracle_rank_prep.json")
        out.write_text(json.dumps(prep(), indent=1, default=float))
        print(f"wrote {out}")
        return
    rng = np.random.default_rng(0)
    rows = []
    for name, (B, k) in instances(rng).items():
        do_exact = (not args.quick) or name == "rank 4, N = 200"
        bnb_times = (10.0,) if args.quick else (10.0, 60.0)
        if args.quick and name not in ("rank 4, N = 200", "rank 6, N = 50", "rank 11, diabetes N = 100"):
            continue
        rows.append(run(name, B, k, np.random.default_rng(1), 300.0, bnb_times, do_exact))
    out = Path(__file__).with_name("bench_oracle_rank_quick.json" if args.quick else "bench_oracle_rank.json")
    out.write_text(json.dumps({"quick": args.quick, "rows": rows}, indent=1, default=float))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
