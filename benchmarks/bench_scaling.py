r"""Time and memory of ``covcone.solve`` against N.

Teacher–student data (noise 0.1, k = 1 output; also k = 2 at d = 2), ReLU, MSE, λ = 1e-3, β = 1,
tol = 1e-6, for inputs of dimension d = 1, 2, 3 with bias, i.e. input rank r = d + 1 = 2, 3, 4.  The exact pricing oracle
enumerates the hyperplane arrangement: geometrically for r ≤ 3 (O(N^{r−1}) faces), by the 3^N
sign patterns for N ≤ 13, and by the vertices of the arrangement (O(N^{r−1}) vertices, 3^{r−1}
faces each) beyond; the table shows where certification stops.

Reported per run: wall time, the process's peak resident set size so far (``ru_maxrss``; the
imports alone take ≈ 0.4 GB), with ``--traced`` also the peak traced Python memory
(``tracemalloc``, numpy buffers included; it slows Python-heavy code ≈ 3×, so the times of such
a run are not comparable), rounds, neurons,
status; per input dimension and k the growth exponent p of a least-squares fit ``time ≈ c·N^p``
over the certified runs (at rank 3 also over N ≥ 250 only, where the O(N²) pricing dominates the
fixed costs), and each time's ratio to the previous size (the baseline measured in the same run).

Then (full run only) ten classes with cross-entropy: scikit-learn's digits (no download), 1000
images drawn at random (seed 0), PCA to 2 standardised features (input rank 3 with bias),
λ = 1e-3 — the cross-entropy master's case.

    python benchmarks/bench_scaling.py --quick
    python benchmarks/bench_scaling.py
"""
from __future__ import annotations

import numpy as np

from _common import (base_parser, default_out, load_now, machine_info, max_rss_mb, pca_standardised, print_header,
                     print_table, run_solve, seed_everything, teacher_student, write_json)

LAM, BETA, TOL = 1e-3, 1.0, 1e-6


def digits_pca2(N: int, seed: int = 0):
    """scikit-learn's digits: N random images, PCA to 2 standardised features; labels 0–9."""
    from sklearn.datasets import load_digits

    D = load_digits()
    idx = np.random.default_rng(seed).permutation(len(D.target))[:N]
    return pca_standardised(D.data[idx]), D.target[idx]


def main(argv=None):
    p = base_parser(__doc__, __file__)
    p.add_argument("--traced", action="store_true", help="also trace Python memory (slows the solves)")
    args = p.parse_args(argv)
    seed_everything(args.seed)
    info = machine_info()
    print_header("bench_scaling — solve time and memory vs N (ReLU, MSE, k = 1, λ = 1e-3, β = 1)", info)
    if args.quick:
        sizes = {(1, 1): [25, 50, 100, 200], (2, 1): [25, 50, 100], (2, 2): [50, 100], (3, 1): [10, 14, 25, 50]}
    else:
        sizes = {(1, 1): [25, 50, 100, 200, 400, 800], (2, 1): [25, 50, 100, 250, 1000, 3000, 10000],
                 (2, 2): [250, 1000, 3000, 10000], (3, 1): [10, 14, 25, 50, 100, 200]}
    rows, fits = [], []
    Xw, Yw = teacher_student(10, 2, 1, rng=0)
    run_solve(Xw, Yw, lam=LAM, beta=BETA, tol=TOL, rng=0)  # warm-up: imports and first-call costs not timed
    for (d, k), Ns in sizes.items():
        prev = None
        for N in Ns:
            X, Y = teacher_student(N, d, k, noise=0.1, rng=args.seed + 100 * d + N)
            r = run_solve(X, Y, lam=LAM, beta=BETA, tol=TOL, rng=args.seed, memory=args.traced)
            row = {"d": d, "rank": d + 1, "k": k, "N": N, "status": r["status"], "certified": r["certified"],
                   "gap": r["gap"], "lower_from": r["lower_from"], "method": r["method"], "neurons": r["n_neurons"],
                   "rounds": r["rounds"], "time": r["time"], "peak_MB": r.get("peak_traced_MB"), "peak_rss_MB": max_rss_mb(),
                   "ratio_prev": (r["time"] / prev[1]) if prev else None,
                   "local_exp": (np.log(r["time"] / prev[1]) / np.log(N / prev[0])) if prev else None,
                   "load": load_now(), "message": r["message"]}
            rows.append(row)
            prev = (N, r["time"])
            print(f"  d = {d}, k = {k}, N = {N}: {r['time']:.2f} s, {r['status']}, {max_rss_mb():.0f} MB RSS", flush=True)
        pts = [(r["N"], r["time"]) for r in rows if r["d"] == d and r["k"] == k and r["certified"]]
        for lo in ([0, 250] if d == 2 else [0]):
            sel = [pt for pt in pts if pt[0] >= lo]
            if lo and pts and pts[0][0] >= lo:
                continue  # the same fit as the full range
            if len(sel) >= 2:
                n, t = np.log(np.array(sel)).T
                pexp, logc = np.polyfit(n, t, 1)
                fits.append({"d": d, "rank": d + 1, "k": k, "exponent": float(pexp), "c": float(np.exp(logc)),
                             "N_range": f"{int(sel[0][0])}–{int(sel[-1][0])}"})
    if not args.quick:
        X, y = digits_pca2(1000)
        r = run_solve(X, y, lam=LAM, beta=BETA, tol=TOL, cost="cross_entropy", rng=args.seed)
        rows.append({"d": 2, "rank": 3, "k": 10, "N": 1000, "status": r["status"], "certified": r["certified"],
                     "gap": r["gap"], "lower_from": r["lower_from"], "method": "digits, cross-entropy",
                     "neurons": r["n_neurons"], "rounds": r["rounds"], "time": r["time"], "peak_MB": None,
                     "peak_rss_MB": max_rss_mb(), "ratio_prev": None, "local_exp": None, "load": load_now(),
                     "message": r["message"]})
        print(f"  digits, 10 classes, cross-entropy, N = 1000: {r['time']:.1f} s, {r['status']}", flush=True)
    print()
    print_table(rows, [("d", "d", ""), ("rank", "rank", ""), ("k", "k", ""), ("N", "N", ""), ("status", "status", ""),
                       ("gap", "gap", ".1e"), ("lower_from", "lower bound from", ""), ("neurons", "neurons", ""),
                       ("rounds", "rounds", ""), ("time", "time [s]", ".2f"), ("ratio_prev", "t/t_prev", ".2f"),
                       ("local_exp", "local exp.", ".2f"), ("peak_MB", "traced MB", ".1f"), ("peak_rss_MB", "RSS MB", ".0f"),
                       ("load", "load", ".1f")])
    print()
    print_table(fits, [("d", "d", ""), ("rank", "input rank", ""), ("k", "k", ""), ("N_range", "certified N range", ""),
                       ("exponent", "fitted exponent p (t ≈ c N^p)", ".2f")])
    stop = [r for r in rows if not r["certified"]]
    for r in stop:
        print(f"NOT certified: d = {r['d']}, k = {r['k']}, N = {r['N']}: {r['message']}")
    write_json(args.out or default_out(__file__, args.quick), {"machine": info, "rows": rows, "fits": fits})
    return rows, fits


if __name__ == "__main__":
    main()
