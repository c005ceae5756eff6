r"""Depth-2 certificates beyond input rank 3: the exact / anytime pricing oracle end to end.

Instances (ReLU, β = 1, MSE unless stated, λ = 1e-2, tol 1e-6), each solved by the *default*
``covcone.solve`` with a time limit, and compared with the best of ``--torch-seeds`` Adam + L-BFGS
runs at width 100 and, for scalar MSE, with pyscnn's convex program over 2N sampled gates (with
bias; ``pip install --no-deps pyscnn``), both measured in the same run (covcone's loss must be ≤ both):

* rank 4 (3-D inputs + bias), N = 200, k = 1 and 2 (target: certified ≤ 2 min); N = 400 (full);
* rank 5: iris (4 standardised features + bias, one-hot targets), N = 150, MSE and cross-entropy
  (target ≤ 10 min); wine (4 of its features, one-hot targets), N = 150;
* rank 6 (5-D + bias), N = 50 (target ≤ 10 min); also on real data with a binary feature (the
  first five diabetes features: half the samples' planes through one vertex);
* rank 11: diabetes (10 standardised features + bias), N = 100 (target: valid lower bound within
  1 % of the upper bound in ≤ 10 min; says where it stops); all 442 samples (beyond the whole
  lifted program: the bound from groups of samples, docs/design.md §4.1);
* the tight example N = 20 through plain ``solve`` (interpolation, β = 0; target: N² certified).

    python benchmarks/bench_rank.py --quick    # smaller sizes and limits (≈ 2–5 min)
    python benchmarks/bench_rank.py            # the targets above (long)
    python benchmarks/bench_rank.py --case diabetes --out diabetes.json   # one case
"""
from __future__ import annotations

import time

import numpy as np

from _common import base_parser, default_out, load_now, machine_info, print_header, run_scnn, torch_runs, write_json


def teacher(N, d, k, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, d))
    W = rng.standard_normal((d, 3))
    Y = np.maximum(X @ W + 0.3, 0) @ rng.standard_normal((3, k)) + 0.1 * rng.standard_normal((N, k))
    return X, Y


def iris(N):
    from sklearn.datasets import load_iris

    d = load_iris()
    idx = np.random.default_rng(0).permutation(150)[:N]
    X = (d.data - d.data.mean(0)) / d.data.std(0)
    return X[idx], d.target[idx]


def diabetes(N):
    from sklearn.datasets import load_diabetes

    d = load_diabetes()
    X = (d.data[:N] - d.data[:N].mean(0)) / d.data[:N].std(0)
    Y = d.target[:N, None]
    return X, (Y - Y.mean()) / Y.std()


def diabetes5(N):
    """The first five diabetes features (age, sex, bmi, bp, s1; sex is binary, so each sex's samples
    lie on one hyperplane through the bias direction: a vertex of degree ≈ N/2) on N samples."""
    X, Y = diabetes(N)
    return X[:, :5], Y


def wine4(N):
    """Wine, four standardised features (alcohol, flavanoids, colour intensity, proline), N random
    samples, one-hot targets (k = 3): a long column-generation tail at rank 5."""
    from sklearn.datasets import load_wine

    d = load_wine()
    idx = np.random.default_rng(1).choice(len(d.target), N, replace=False)
    X = d.data[idx][:, [0, 6, 9, 12]]
    return (X - X.mean(0)) / X.std(0), np.eye(3)[d.target[idx]]


def cases(quick: bool):
    if quick:
        return [("rank 4, N = 100, k = 1", lambda: teacher(100, 3, 1, 1), "mse", 60),
                ("rank 5 iris, N = 60", lambda: (iris(60)[0], np.eye(3)[iris(60)[1]]), "mse", 60),
                ("rank 6, N = 30", lambda: teacher(30, 5, 1, 3), "mse", 60)]
    return [("rank 4, N = 200, k = 1", lambda: teacher(200, 3, 1, 1), "mse", 120),
            ("rank 4, N = 200, k = 2", lambda: teacher(200, 3, 2, 2), "mse", 120),
            ("rank 4, N = 400, k = 1", lambda: teacher(400, 3, 1, 4), "mse", 600),
            ("rank 5 iris, N = 150", lambda: (iris(150)[0], np.eye(3)[iris(150)[1]]), "mse", 600),
            ("rank 5 iris, N = 150, cross-entropy", lambda: iris(150), "cross_entropy", 600),
            ("rank 5 wine, 4 features, N = 150", lambda: wine4(150), "mse", 600),
            ("rank 6, N = 50", lambda: teacher(50, 5, 1, 3), "mse", 600),
            ("rank 6 diabetes, 5 features with a binary one, N = 50", lambda: diabetes5(50), "mse", 600),
            ("rank 11 diabetes, N = 100", lambda: diabetes(100), "mse", 600),
            ("rank 11 diabetes, N = 442 (all samples: the bound from groups)", lambda: diabetes(442), "mse", 600)]


def main(argv=None):
    p = base_parser(__doc__, __file__)
    p.add_argument("--torch-seeds", type=int, default=5)
    p.add_argument("--case", default=None, help="run only the cases whose name contains this text "
                   "(e.g. 'diabetes', 'tight')")
    args = p.parse_args(argv)
    import covcone

    info = machine_info()
    print_header("bench_rank — depth 2 beyond input rank 3 (ReLU, β = 1, λ = 1e-2, tol 1e-6)", info)
    rows = []
    for name, make, cost, limit in cases(args.quick):
        if args.case is not None and args.case not in name:
            continue
        X, Y = make()
        t0 = time.perf_counter()
        res = covcone.solve(X, Y, lam=1e-2, beta=1.0, cost=cost, time_limit=limit, rng=args.seed)
        wall = time.perf_counter() - t0
        tr = torch_runs(X, Y, width=100, seeds=1 if args.quick else args.torch_seeds, lam=1e-2, beta=1.0, cost=cost)
        scnn = None
        if cost == "mse" and np.asarray(Y).reshape(X.shape[0], -1).shape[1] == 1:
            try:  # pyscnn's convex program over 2N sampled gates (scalar outputs only)
                scnn = run_scnn(X, Y, lam=1e-2, n_gates=2 * X.shape[0], seed=args.seed)
            except ImportError:
                scnn = None
        row = {"case": name, "N": X.shape[0], "rank": res.extra.get("input_rank"), "status": res.status,
               "upper": res.upper, "lower": res.lower, "gap": res.gap, "lower_from": str(res.lower_from),
               "time": wall, "limit": limit, "neurons": res.n_neurons, "rounds": len(res.history),
               "oracle": res.extra.get("oracle"), "torch_best": tr["best"], "torch_time": tr["time_total"],
               "ours_over_torch": res.upper / tr["best"], "load": load_now(), "message": res.message}
        if scnn is not None:
            row.update(scnn_loss=scnn["loss"], scnn_time=scnn["time"], ours_over_scnn=res.upper / scnn["loss"])
        rows.append(row)
        vs_scnn = "" if scnn is None else f", pyscnn {scnn['loss']:.6g} (ratio {row['ours_over_scnn']:.5f})"
        print(f"  {name}: {res.status} gap {res.gap:.2e} in {wall:.1f} s (limit {limit} s); loss {res.upper:.6g} vs "
              f"torch best {tr['best']:.6g} (ratio {row['ours_over_torch']:.5f}){vs_scnn}; lower from "
              f"{res.lower_from}", flush=True)
        if not res.certified:
            print(f"    stops: {res.message}; oracle {res.extra.get('oracle', {}).get('method')}", flush=True)
    if args.case is not None and args.case not in "tight example":
        write_json(args.out or default_out(__file__, args.quick), {"machine": info, "rows": rows})
        return
    X, Y = covcone.tight_example(10 if args.quick else 20)
    t0 = time.perf_counter()
    res = covcone.solve(X, Y, cost="interpolate", beta=0.0, time_limit=120 if args.quick else 600)
    N = X.shape[0]
    rows.append({"case": f"tight example N = {N} (plain solve)", "status": res.status, "upper": res.upper,
                 "lower": res.lower, "expected": N * N, "neurons": res.n_neurons, "time": time.perf_counter() - t0,
                 "message": res.message})
    print(f"  tight N = {N}: {res.status}, upper {res.upper:.6g} (N² = {N * N}), {res.n_neurons} neurons "
          f"(N²/4 = {N * N // 4})", flush=True)
    write_json(args.out or default_out(__file__, args.quick), {"machine": info, "rows": rows})


if __name__ == "__main__":
    main()
