r"""The ``covcone`` command line: a thin layer over the public API.

Subcommands: ``demo`` (a built-in certified solve), ``solve`` (data from .npz or CSV),
``tight`` (the paper's N²/4 example, §4.2), ``sweep`` (a TOML grid of solves,
:mod:`covcone.sweep`).  Every output, text or ``--json``, starts by echoing the problem
(N, d, k, σ, λ, β, cost).  Exit codes: 0 success; 1 a requested certificate was not obtained
(``--require-certificate``) or the tight example failed a check; 2 bad input (missing, empty or
corrupt data files, an unwritable ``--save`` path, invalid options) — then one line on stderr and
no traceback.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .data import demo_data, load_xy

__all__ = ["main", "build_parser", "demo_data"]

DEFAULT_LAM = 1e-2
DEFAULT_BETA = 1.0
DEFAULT_TOL = 1e-6


class _InputError(ValueError):
    """Bad input detected by the command line itself (exit 2)."""


def _activation_name(activation) -> str:
    try:
        from .activations import get_activation

        return get_activation(activation).name
    except Exception:  # noqa: BLE001 - the solver reports a bad activation with its own message
        return str(activation)


def _problem_echo(X, Y, *, activation, lam, beta, cost, depth) -> dict:
    """The problem as the user posed it: sizes, σ, λ, β, cost, depth (JSON-serialisable)."""
    import numpy as np

    Y = np.asarray(Y)
    N, d = (int(s) for s in np.shape(X))
    if cost == "cross_entropy" and Y.ndim == 1:
        k = int(np.unique(Y).size)
    else:
        k = 1 if Y.ndim == 1 else int(Y.shape[1])
    return {"N": N, "d": d, "k": k, "activation": _activation_name(activation),
            "lam": None if lam is None else float(lam), "beta": float(beta), "cost": cost, "depth": int(depth)}


def _problem_line(p: dict) -> str:
    lam = "none (interpolation)" if p["lam"] is None else f"{p['lam']:g}"
    return (f"problem: N = {p['N']}, d = {p['d']}, k = {p['k']}, σ = {p['activation']}, λ = {lam}, "
            f"β = {p['beta']:g}, cost = {p['cost']}, depth = {p['depth']}")


def _print_result(res, as_json: bool, problem: dict, extra: dict | None = None):
    summ = res.summary()
    if extra:
        summ.update(extra)
    if as_json:
        print(json.dumps({"problem": problem, **summ}, indent=2))
        return
    print(_problem_line(problem))
    timings = summ.get("timings") or {}
    rows = [
        ("status", summ["status"]),
        ("certified", summ["certified"]),
        ("upper (network loss)", summ["upper"]),
        ("lower bound", summ["lower"]),
        ("relative gap", summ["gap"]),
        ("lower bound from", summ["lower_from"]),
        ("hidden neurons", summ["n_neurons"]),
        ("iterations", summ["iterations"]),
        ("time (s)", timings.get("total")),
    ]
    rows += [(key, val) for key, val in (extra or {}).items()]
    w = max(len(r[0]) for r in rows)
    for key, val in rows:
        print(f"{key:<{w}}  {val}")
    print(summ["message"])


def _save_target(save: str) -> Path:
    r"""Where ``--save`` writes, checked *before* solving.

    A path ending in a separator or naming an existing directory gets the file
    ``network.npz`` inside it; a file path gets ``.npz`` appended when missing (as
    :func:`numpy.savez` does).  The directory must exist and be writable, else exit 2.
    """
    is_dir = save.endswith(("/", os.sep)) or Path(save).is_dir()
    target = Path(save) / "network.npz" if is_dir else Path(save)
    if target.suffix != ".npz":
        target = target.with_name(target.name + ".npz")
    parent = target.parent
    if not parent.is_dir():
        raise _InputError(f"--save: directory {str(parent)!r} does not exist")
    if target.is_dir():
        raise _InputError(f"--save: {str(target)!r} is a directory")
    if not os.access(parent, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise _InputError(f"--save: cannot write to {str(target)!r} (permission denied)")
    return target


def _cmd_demo(args) -> int:
    from . import solve

    X, Y = demo_data(args.n)
    problem = _problem_echo(X, Y, activation="relu", lam=args.lam, beta=args.beta, cost="mse", depth=2)
    if not args.json:
        print(f"covcone demo: depth-2 ReLU network on {args.n} points of two spirals (2-D inputs, 2 outputs)")
    res = solve(X, Y, activation="relu", lam=args.lam, beta=args.beta, cost="mse", tol=args.tol, solver=args.solver,
                verbose=args.verbose and not args.json, rng=0)
    _print_result(res, args.json, problem, {"example": "two spirals"})
    return 0 if res.certified else 1


def _cmd_solve(args) -> int:
    from . import solve

    X, Y = load_xy(args.data, x=args.x, y=args.y, cost=args.cost)
    target = _save_target(args.save) if args.save else None
    lam = None if args.cost == "interpolate" else args.lam
    problem = _problem_echo(X, Y, activation=args.activation, lam=lam, beta=args.beta, cost=args.cost,
                            depth=args.depth)
    res = solve(X, Y, depth=args.depth, activation=args.activation, lam=lam, beta=args.beta, cost=args.cost,
                method=args.method, tol=args.tol, solver=args.solver, time_limit=args.time_limit,
                verbose=args.verbose and not args.json, rng=args.seed)
    extra = {}
    if target is not None and res.network is not None:
        try:
            res.network.save(target)
        except OSError as exc:
            raise _InputError(f"--save: cannot write {str(target)!r} ({exc.strerror or exc})") from exc
        extra["saved"] = str(target)
    _print_result(res, args.json, problem, extra)
    return 0 if (res.certified or not args.require_certificate) and res.status != "failed" else 1


def _cmd_tight(args) -> int:
    from .tight import verify_tight

    if args.plot:
        _check_plot_target(args.plot)
    rep = verify_tight(args.n, solver=args.solver)
    N = rep.N
    problem = {"N": N, "d": N, "k": N, "activation": "relu", "lam": None, "beta": 0.0, "cost": "interpolate",
               "depth": 2, "lam_mse": rep.lam}
    if args.plot:
        from .plot import plot_width_plateau

        plot_width_plateau(rep, args.plot)
    if args.json:
        print(json.dumps({"problem": problem, **rep.summary()}, indent=2))
    else:
        print(_problem_line(problem) + f" (and cost = mse with λ = {rep.lam:g} for check 5)")
        print(rep.table())
    return 0 if rep.passed else 1


def _check_plot_target(path: str) -> None:
    parent = Path(path).parent
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise _InputError(f"--plot: cannot write to {path!r} (directory missing or not writable)")


def _cmd_sweep(args) -> int:
    from .sweep import load_config, run_sweep

    cfg = load_config(args.config)
    X, Y = cfg["X"], cfg["Y"]
    solve_opts = cfg["solve"]
    cost = solve_opts.get("cost", "mse")
    defaults = _solve_defaults()
    problem = _problem_echo(X, Y, activation=solve_opts.get("activation", defaults["activation"]), lam=None,
                            beta=solve_opts.get("beta", defaults["beta"]), cost=cost, depth=2)
    problem.pop("lam")
    problem.pop("depth")
    problem["grid"] = {k: v for k, v in cfg["grid"].items()}
    rep = run_sweep(args.config, out=args.out, client=args.client)
    if args.json:
        print(json.dumps({"problem": problem, "all_certified": rep.all_certified, "n_failed": rep.n_failed,
                          "json": str(rep.json_path), "csv": str(rep.csv_path),
                          "total_time": round(rep.timings["total"], 4), "results": list(rep.records)}, indent=2))
    else:
        print(f"problem: N = {problem['N']}, d = {problem['d']}, k = {problem['k']}, σ = {problem['activation']}, "
              f"β = {problem['beta']:g}, cost = {cost}; grid {problem['grid']}")
        print(rep.table())
        print(f"wrote {rep.json_path} and {rep.csv_path} ({rep.timings['total']:.1f} s)")
    if rep.n_failed:
        return 1
    return 0 if rep.all_certified or not args.require_certificate else 1


def _solve_defaults() -> dict:
    """The defaults of :func:`covcone.solve` (one home for them: the function's signature)."""
    import inspect

    from .api import solve

    return {name: par.default for name, par in inspect.signature(solve).parameters.items()
            if par.default is not inspect.Parameter.empty}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (``--help`` of every subcommand shows each option's default)."""
    fmt = argparse.ArgumentDefaultsHelpFormatter
    p = argparse.ArgumentParser(
        prog="covcone", formatter_class=fmt,
        description="Certified global optima of L2-regularised homogeneous networks (covariance cone). "
                    "Exit codes: 0 ok, 1 not certified (with --require-certificate) or a failed check, 2 bad input.")
    sub = p.add_subparsers(dest="command", required=True, metavar="{demo,solve,tight,sweep}")

    d = sub.add_parser("demo", formatter_class=fmt, help="solve the built-in example to certified optimality",
                       description="Depth-2 ReLU network, MSE, on N points of two spirals (2-D inputs, 2 outputs).")
    d.add_argument("--n", type=int, default=40, help="number of points")
    d.add_argument("--lam", type=float, default=DEFAULT_LAM, help="weight decay λ > 0")
    d.add_argument("--beta", type=float, default=DEFAULT_BETA, help="bias amount β ≥ 0")
    d.add_argument("--tol", type=float, default=DEFAULT_TOL, help="certification tolerance on the relative gap")
    d.add_argument("--solver", default=None, help="cvxpy solver (CLARABEL, SCS, MOSEK); None: the best installed")
    d.add_argument("--json", action="store_true", help="print JSON")
    d.add_argument("--verbose", action="store_true", help="show a progress bar")
    d.set_defaults(func=_cmd_demo)

    s = sub.add_parser("solve", formatter_class=fmt, help="solve a problem from data files",
                       description="Data: one .npz with arrays X (N×d) and Y (N×k), or two CSV files --x and --y "
                                   "(samples as rows; a non-numeric first row is a header and is skipped).")
    s.add_argument("data", nargs="?", default=None, help=".npz with arrays X (N×d) and Y (N×k)")
    s.add_argument("--x", default=None, help="CSV of inputs (N rows, d columns)")
    s.add_argument("--y", default=None, help="CSV of targets (N rows; one column of labels for cross_entropy)")
    s.add_argument("--depth", type=int, default=2, help="number of weight matrices L ≥ 2 (depth 2 is certified)")
    s.add_argument("--activation", default="relu", help="relu, leaky_relu, absolute, linear")
    s.add_argument("--lam", type=float, default=DEFAULT_LAM, help="weight decay λ > 0 (ignored for interpolate)")
    s.add_argument("--beta", type=float, default=DEFAULT_BETA, help="bias amount β ≥ 0 (0: no biases)")
    s.add_argument("--cost", default="mse", choices=["mse", "cross_entropy", "interpolate"], help="training cost")
    s.add_argument("--method", default="auto", help="auto, generators, heuristic, cells or lifted (see covcone.solve)")
    s.add_argument("--tol", type=float, default=DEFAULT_TOL, help="certification tolerance on the relative gap")
    s.add_argument("--solver", default=None, help="cvxpy solver (CLARABEL, SCS, MOSEK); None: the best installed")
    s.add_argument("--time-limit", type=float, default=None, help="seconds; the result says when it stopped on time")
    s.add_argument("--seed", type=int, default=0, help="random seed")
    s.add_argument("--save", default=None,
                   help="write the network (.npz) to this file, or to DIR/network.npz when given a directory DIR/")
    s.add_argument("--require-certificate", action="store_true", help="exit 1 unless certified")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.add_argument("--verbose", action="store_true", help="show a progress bar")
    s.set_defaults(func=_cmd_solve)

    t = sub.add_parser("tight", formatter_class=fmt, help="verify the paper's N²/4 tight example (§4.2)")
    t.add_argument("--n", type=int, required=True, help="even N ≥ 2 (required)")
    t.add_argument("--solver", default=None, help="cvxpy solver; None: the best installed")
    t.add_argument("--plot", default=None, help="write the width-plateau figure to this PNG (needs matplotlib, torch)")
    t.add_argument("--json", action="store_true", help="print JSON")
    t.set_defaults(func=_cmd_tight)

    w = sub.add_parser("sweep", formatter_class=fmt, help="run a grid of solves from a TOML config (see covcone.sweep)")
    w.add_argument("config", help="TOML file: [data], [solve], [grid] (lam, depth, seed), [run]")
    w.add_argument("--out", default=None, help="directory for sweep.json and sweep.csv (default: [run] out, "
                                              "else the config's directory)")
    w.add_argument("--client", default=None,
                   help="serial, local (dask LocalCluster, 2 workers) or a scheduler address (default: [run] client)")
    w.add_argument("--require-certificate", action="store_true", help="exit 1 unless every grid point is certified")
    w.add_argument("--json", action="store_true", help="print JSON")
    w.set_defaults(func=_cmd_sweep)
    return p


def _error_line(exc) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def main(argv=None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 not certified / failed check, 2 bad input)."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:  # the reader (e.g. `| head`) closed the pipe: not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except (ValueError, NotImplementedError, ImportError, OSError) as exc:
        line = _error_line(exc)
        if getattr(args, "json", False):
            print(json.dumps({"status": "error", "message": line}))
        print(f"covcone: error: {line}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
