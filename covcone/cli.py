r"""The ``covcone`` command line: a thin layer over the public API.

Subcommands: ``demo`` (a built-in certified solve), ``solve`` (data from .npz or .csv),
``tight`` (the paper's N²/4 example, §4.2), ``sweep`` (a TOML grid of solves,
:mod:`covcone.sweep`).  ``--json`` prints machine-readable output; the
exit code is nonzero when a requested certificate is not obtained or on bad input.
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np

__all__ = ["main", "demo_data"]


def demo_data(N: int = 40, seed: int = 0):
    """The built-in example: N 2-D points on two interleaved spirals, one-hot-free ±1 targets
    (2 outputs: the class sign and a smooth function of the radius)."""
    rng = np.random.default_rng(seed)
    t = np.sqrt(rng.uniform(0.05, 1.0, N)) * 2.5 * np.pi
    cls = np.arange(N) % 2
    r = t / (2.5 * np.pi)
    X = np.stack([r * np.cos(t + np.pi * cls), r * np.sin(t + np.pi * cls)], axis=1)
    X += 0.02 * rng.standard_normal(X.shape)
    Y = np.stack([2.0 * cls - 1.0, np.cos(3 * r)], axis=1)
    return X, Y


def _load_data(path: str, cost: str):
    if path.endswith(".npz"):
        with np.load(path, allow_pickle=False) as f:
            missing = [key for key in ("X", "Y") if key not in f.files]
            if missing:
                raise ValueError(f"data: {path} must hold arrays 'X' (N×d) and 'Y' (N×k); missing {missing}")
            return f["X"], f["Y"]
    if path.endswith(".csv"):
        raise ValueError("data: for CSV give two files: --x X.csv and --y Y.csv (or one .npz)")
    raise ValueError(f"data: expected a .npz file (arrays X, Y) or --x/--y CSV files, got {path!r}")


def _print_result(res, as_json: bool, extra: dict | None = None):
    summ = res.summary()
    if extra:
        summ.update(extra)
    if as_json:
        print(json.dumps(summ, indent=2))
        return
    rows = [
        ("status", summ["status"]),
        ("certified", summ["certified"]),
        ("upper (network loss)", summ["upper"]),
        ("lower bound", summ["lower"]),
        ("relative gap", summ["gap"]),
        ("lower bound from", summ["lower_from"]),
        ("hidden neurons", summ["n_neurons"]),
        ("iterations", summ["iterations"]),
        ("time (s)", summ["timings"].get("total")),
    ]
    w = max(len(r[0]) for r in rows)
    for key, val in rows:
        print(f"{key:<{w}}  {val}")
    print(summ["message"])


def _cmd_demo(args) -> int:
    from . import solve

    X, Y = demo_data(args.n)
    if not args.json:
        print(f"covcone demo: depth-2 ReLU network, {args.n} points on two spirals (2-D inputs, bias β = 1), "
              f"2 outputs, MSE, λ = {args.lam:g}")
    res = solve(X, Y, activation="relu", lam=args.lam, beta=1.0, cost="mse", tol=args.tol, solver=args.solver,
                verbose=args.verbose and not args.json, rng=0)
    _print_result(res, args.json, {"example": "two spirals", "N": args.n})
    return 0 if res.certified else 1


def _cmd_solve(args) -> int:
    from . import solve

    if args.data is not None:
        X, Y = _load_data(args.data, args.cost)
    elif args.x is not None and args.y is not None:
        X = np.loadtxt(args.x, delimiter=",", ndmin=2)
        Y = np.loadtxt(args.y, delimiter=",", ndmin=1)
        if args.cost != "cross_entropy" and Y.ndim == 1:
            Y = Y[:, None]
    else:
        raise ValueError("data: give a .npz file, or both --x and --y CSV files")
    lam = None if args.cost == "interpolate" else args.lam
    res = solve(X, Y, depth=args.depth, activation=args.activation, lam=lam, beta=args.beta, cost=args.cost,
                method=args.method, tol=args.tol, solver=args.solver, time_limit=args.time_limit,
                verbose=args.verbose and not args.json, rng=args.seed)
    if args.save:
        res.network.save(args.save)
    _print_result(res, args.json)
    return 0 if (res.certified or not args.require_certificate) and res.status != "failed" else 1


def _cmd_tight(args) -> int:
    from .tight import verify_tight

    rep = verify_tight(args.n, solver=args.solver)
    if args.plot:
        from .tight import plot_width_plateau

        plot_width_plateau(rep, args.plot)
    if args.json:
        print(json.dumps(rep.summary(), indent=2))
    else:
        print(rep.table())
    return 0 if rep.passed else 1


def _cmd_sweep(args) -> int:
    from .sweep import run_sweep

    rep = run_sweep(args.config, out=args.out, client=args.client)
    if args.json:
        print(json.dumps({"all_certified": rep.all_certified, "n_failed": rep.n_failed,
                          "json": str(rep.json_path), "csv": str(rep.csv_path),
                          "total_time": round(rep.timings["total"], 4), "results": list(rep.records)}, indent=2))
    else:
        print(rep.table())
        print(f"wrote {rep.json_path} and {rep.csv_path} ({rep.timings['total']:.1f} s)")
    if rep.n_failed:
        return 1
    return 0 if rep.all_certified or not args.require_certificate else 1


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="covcone", description="Certified global optima of L2-regularised homogeneous networks (covariance cone).")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="solve the built-in example to certified optimality")
    d.add_argument("--n", type=int, default=40, help="number of points (default 40)")
    d.add_argument("--lam", type=float, default=1e-3)
    d.add_argument("--tol", type=float, default=1e-6)
    d.add_argument("--solver", default=None)
    d.add_argument("--json", action="store_true", help="print JSON")
    d.add_argument("--verbose", action="store_true", help="progress bar")
    d.set_defaults(func=_cmd_demo)

    s = sub.add_parser("solve", help="solve a problem from data files")
    s.add_argument("data", nargs="?", default=None, help=".npz with arrays X (N×d) and Y (N×k)")
    s.add_argument("--x", default=None, help="CSV of inputs (N rows)")
    s.add_argument("--y", default=None, help="CSV of targets (N rows)")
    s.add_argument("--depth", type=int, default=2)
    s.add_argument("--activation", default="relu")
    s.add_argument("--lam", type=float, default=1e-2)
    s.add_argument("--beta", type=float, default=1.0)
    s.add_argument("--cost", default="mse", choices=["mse", "cross_entropy", "interpolate"])
    s.add_argument("--method", default="auto")
    s.add_argument("--tol", type=float, default=1e-6)
    s.add_argument("--solver", default=None)
    s.add_argument("--time-limit", type=float, default=None)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--save", default=None, help="write the network to this .npz")
    s.add_argument("--require-certificate", action="store_true", help="exit 1 unless certified")
    s.add_argument("--json", action="store_true")
    s.add_argument("--verbose", action="store_true")
    s.set_defaults(func=_cmd_solve)

    t = sub.add_parser("tight", help="verify the paper's N²/4 tight example (§4.2)")
    t.add_argument("--n", type=int, required=True, help="even N")
    t.add_argument("--solver", default=None)
    t.add_argument("--plot", default=None, help="write the width-plateau figure (PNG)")
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=_cmd_tight)

    w = sub.add_parser("sweep", help="run a grid of solves from a TOML config (see covcone.sweep)")
    w.add_argument("config", help="TOML file: [data], [solve], [grid] (lam, depth, seed), [run]")
    w.add_argument("--out", default=None, help="directory for sweep.json and sweep.csv")
    w.add_argument("--client", default=None, help="serial, local (dask LocalCluster, 2 workers) or a scheduler address")
    w.add_argument("--require-certificate", action="store_true", help="exit 1 unless every grid point is certified")
    w.add_argument("--json", action="store_true")
    w.set_defaults(func=_cmd_sweep)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, NotImplementedError, ImportError) as exc:
        if getattr(args, "json", False):
            print(json.dumps({"status": "error", "message": str(exc)}))
        else:
            print(f"covcone: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
