r"""Many independent solves, serially or on a dask.distributed cluster; TOML-configured sweeps.

Each problem is one call of :func:`covcone.solve` (any depth, cost and method; docs/design.md §3.4 for
depth 2, §2 for the layerwise deep solver).  The solves are independent, so they parallelise
trivially: :func:`solve_many` hands them to a ``dask.distributed`` client (one task per problem)
and gathers the results in input order.  covcone has no scheduler of its own.

:func:`run_sweep` reads a TOML file — data (an ``.npz`` with ``X`` and ``Y``, or the built-in
``"demo"``), fixed solve options, a grid of ``lam`` × ``depth`` × ``seed`` — runs the grid with
:func:`solve_many` and writes ``sweep.json`` and ``sweep.csv``.  Example config::

    [data]
    name = "demo"          # or: file = "data.npz" (relative to this file)
    n = 40                 # demo only: number of points

    [solve]                # any keyword of covcone.solve except X, Y, lam, depth, rng
    beta = 1.0
    tol = 1e-6

    [grid]
    lam = [1e-1, 1e-2, 1e-3]
    depth = [2]
    seed = [0]

    [run]
    client = "local"       # "serial" (default), "local" (LocalCluster, 2 workers) or an address
"""
from __future__ import annotations

import csv
import itertools
import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["solve_many", "run_sweep", "SweepResult", "load_config"]

_LOCAL_WORKERS = 2


def _solve_one(kwargs: dict, catch: bool):
    from .api import solve

    if not catch:
        return solve(**kwargs)
    try:
        return solve(**kwargs)
    except Exception as exc:  # noqa: BLE001 - returned in place of the result, on request
        return exc


def _check_problems(problems) -> list:
    if isinstance(problems, Mapping) or not hasattr(problems, "__iter__"):
        raise ValueError(f"problems: expected a list of dicts of covcone.solve keyword arguments, got {type(problems).__name__}")
    problems = list(problems)
    for i, p in enumerate(problems):
        if not isinstance(p, Mapping):
            raise ValueError(f"problems[{i}]: expected a dict of covcone.solve keyword arguments, got {type(p).__name__}")
        missing = [key for key in ("X", "Y") if key not in p]
        if missing:
            raise ValueError(f"problems[{i}]: missing {missing} (every problem needs X and Y)")
    return [dict(p) for p in problems]


def _local_cluster():
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:
        raise ImportError("client='local' needs dask.distributed: pip install 'covcone[dask]'") from exc
    cluster = LocalCluster(n_workers=_LOCAL_WORKERS, threads_per_worker=1, processes=True, dashboard_address=None)
    return cluster, Client(cluster)


def solve_many(problems, *, client=None, errors: str = "raise") -> list:
    r"""Solve independent problems, serially or on a dask.distributed cluster.

    Parameters
    ----------
    problems : list of dict
        Each dict holds the keyword arguments of one :func:`covcone.solve` call, including
        ``X`` and ``Y`` (e.g. ``{"X": X, "Y": Y, "lam": 1e-2, "beta": 1.0, "rng": 0}``).
    client : None, "local" or dask.distributed.Client
        ``None``: solve serially in this process.  A ``Client``: one task per problem on its
        cluster (the caller owns the client).  ``"local"``: a ``LocalCluster`` of 2 worker
        processes (1 thread each) is created for this call and closed before it returns.
        Give every problem an ``rng`` seed for results identical to the serial run (the
        solver is deterministic given its seed; without one it draws fresh random columns).
    errors : {"raise", "return"}
        ``"raise"``: the first failing problem's exception propagates.  ``"return"``: the
        exception object is returned in that problem's place and the others still run.

    Returns
    -------
    list
        ``SolveResult`` (or exception, with ``errors="return"``), in the order of ``problems``.
    """
    if errors not in ("raise", "return"):
        raise ValueError(f"errors: expected 'raise' or 'return', got {errors!r}")
    problems = _check_problems(problems)
    catch = errors == "return"
    if client is None:
        return [_solve_one(p, catch) for p in problems]
    if isinstance(client, str):
        if client != "local":
            raise ValueError(f"client: expected None, 'local' or a dask.distributed.Client, got {client!r}")
        if not problems:
            return []
        cluster, own = _local_cluster()
        try:
            return _run_on(own, problems, catch)
        finally:
            own.close()
            cluster.close()
    if not hasattr(client, "submit") or not hasattr(client, "gather"):
        raise ValueError(f"client: expected None, 'local' or a dask.distributed.Client, got {type(client).__name__}")
    return _run_on(client, problems, catch)


def _run_on(client, problems: list, catch: bool) -> list:
    futures = [client.submit(_solve_one, p, catch, pure=False) for p in problems]
    try:
        return client.gather(futures)
    finally:
        for f in futures:
            f.release()


# --------------------------------------------------------------------------------------------
# TOML sweeps
# --------------------------------------------------------------------------------------------
_GRID_KEYS = ("lam", "depth", "seed")
_TABLE_COLUMNS = ("lam", "depth", "seed", "status", "certified", "upper", "lower", "gap", "lower_from", "n_neurons",
                  "iterations", "time", "message")


def _toml():
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        try:
            import tomli as tomllib
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("run_sweep needs tomllib (Python ≥ 3.11) or tomli: pip install tomli") from exc
    return tomllib


def load_config(config_path) -> dict:
    r"""Read and check a sweep config (see the module docstring); returns the parsed dict with
    the grid lists filled in and the data loaded as ``config["X"]``, ``config["Y"]``."""
    path = Path(config_path)
    if not path.is_file():
        raise ValueError(f"config_path: no such file {str(path)!r}")
    with open(path, "rb") as f:
        try:
            cfg = _toml().load(f)
        except Exception as exc:  # tomllib.TOMLDecodeError
            raise ValueError(f"config_path: {path} is not valid TOML: {exc}") from exc
    unknown = set(cfg) - {"data", "solve", "grid", "run"}
    if unknown:
        raise ValueError(f"config: unknown table(s) {sorted(unknown)}; expected data, solve, grid, run")
    data = cfg.get("data")
    if not isinstance(data, dict):
        raise ValueError("config: a [data] table is required (name = \"demo\" or file = \"data.npz\")")
    if ("name" in data) == ("file" in data):
        raise ValueError("config [data]: give exactly one of name (a built-in data set) or file (an .npz)")
    if "name" in data:
        if data["name"] != "demo":
            raise ValueError(f"config [data] name: expected one of ['demo'], got {data['name']!r}")
        from .data import demo_data

        X, Y = demo_data(int(data.get("n", 40)), int(data.get("seed", 0)))
    else:
        file = Path(data["file"])
        if not file.is_absolute():
            file = path.parent / file
        if file.suffix != ".npz":
            raise ValueError(f"config [data] file: expected an .npz with arrays X and Y, got {str(file)!r}")
        if not file.is_file():
            raise ValueError(f"config [data] file: no such file {str(file)!r}")
        with np.load(file, allow_pickle=False) as npz:
            missing = [key for key in ("X", "Y") if key not in npz.files]
            if missing:
                raise ValueError(f"config [data] file: {file} must hold arrays X and Y; missing {missing}")
            X, Y = npz["X"], npz["Y"]
    solve_opts = dict(cfg.get("solve", {}))
    clash = set(solve_opts) & {"X", "Y", *_GRID_KEYS, "rng"}
    if clash:
        raise ValueError(f"config [solve]: {sorted(clash)} belong to [data] or [grid], not [solve]")
    grid = dict(cfg.get("grid", {}))
    bad = set(grid) - set(_GRID_KEYS)
    if bad:
        raise ValueError(f"config [grid]: unknown key(s) {sorted(bad)}; expected {list(_GRID_KEYS)}")
    for key, default in (("lam", None), ("depth", [2]), ("seed", [0])):
        val = grid.get(key, default)
        if val is None:
            if solve_opts.get("cost") == "interpolate":
                val = [None]
            else:
                raise ValueError("config [grid]: lam is required (a list of λ > 0)")
        if not isinstance(val, list):
            val = [val]
        if not val:
            raise ValueError(f"config [grid] {key}: expected a non-empty list")
        grid[key] = val
    run = dict(cfg.get("run", {}))
    bad = set(run) - {"client", "out"}
    if bad:
        raise ValueError(f"config [run]: unknown key(s) {sorted(bad)}; expected client, out")
    return {"path": path, "X": X, "Y": Y, "data": data, "solve": solve_opts, "grid": grid, "run": run}


@dataclass(frozen=True)
class SweepResult:
    r"""The outcome of :func:`run_sweep`: one record per grid point, and the files written."""

    records: tuple
    json_path: Path | None
    csv_path: Path | None
    timings: dict = field(default_factory=dict)

    @property
    def all_certified(self) -> bool:
        return all(r.get("certified") for r in self.records)

    @property
    def n_failed(self) -> int:
        """Grid points that raised or returned status ``"failed"``."""
        return sum(r.get("status") in ("error", "failed") for r in self.records)

    def table(self) -> str:
        """A plain-text table (one row per grid point)."""
        head = ("lam", "depth", "seed", "status", "upper", "lower", "gap", "neurons", "time")
        rows = [head]
        for r in self.records:
            rows.append(tuple(_fmt(r.get(k)) for k in ("lam", "depth", "seed", "status", "upper", "lower", "gap",
                                                       "n_neurons", "time")))
        w = [max(len(row[i]) for row in rows) for i in range(len(head))]
        return "\n".join("  ".join(c.rjust(w[i]) for i, c in enumerate(row)) for row in rows)


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def _record(point: dict, res) -> dict:
    rec = dict(point)
    if isinstance(res, Exception):
        rec.update(status="error", certified=False, upper=None, lower=None, gap=None, lower_from=None,
                   n_neurons=None, iterations=None, time=None, message=f"{type(res).__name__}: {res}")
        return rec
    s = res.summary()
    rec.update(status=s["status"], certified=s["certified"], upper=s["upper"], lower=s["lower"], gap=s["gap"],
               lower_from=s["lower_from"], n_neurons=s["n_neurons"], iterations=s["iterations"],
               time=s["timings"].get("total"), message=s["message"], method=s["method"], widths=s["widths"])
    return rec


def run_sweep(config_path, *, out=None, client=None) -> SweepResult:
    r"""Run the grid of a TOML sweep config and write ``sweep.json`` and ``sweep.csv``.

    Parameters
    ----------
    config_path : str or Path
        The TOML file (see the module docstring).
    out : str or Path, optional
        Output directory (created if needed); default ``[run] out``, else the config file's
        directory.
    client : None, "local", "serial" or dask.distributed.Client, optional
        Overrides ``[run] client`` (``"serial"`` = no dask; an address string such as
        ``"tcp://host:8786"`` connects a ``Client`` for the run).

    Returns
    -------
    SweepResult
        Records in grid order (``lam`` slowest, then ``depth``, then ``seed``).  A grid point
        whose solve raised is recorded with ``status="error"`` and the message; the others
        still run.
    """
    cfg = load_config(config_path)
    X, Y = cfg["X"], cfg["Y"]
    grid = cfg["grid"]
    points = [dict(zip(_GRID_KEYS, vals)) for vals in itertools.product(*(grid[k] for k in _GRID_KEYS))]
    problems = [{"X": X, "Y": Y, **cfg["solve"], "lam": p["lam"], "depth": p["depth"], "rng": p["seed"]}
                for p in points]
    client = cfg["run"].get("client", "serial") if client is None else client
    t0 = time.perf_counter()
    own = None
    if client == "serial":
        client = None
    elif isinstance(client, str) and client != "local":
        from dask.distributed import Client

        own = client = Client(client)
    try:
        results = solve_many(problems, client=client, errors="return")
    finally:
        if own is not None:
            own.close()
    total = time.perf_counter() - t0
    records = tuple(_record(p, r) for p, r in zip(points, results))
    out_dir = Path(out if out is not None else cfg["run"].get("out", cfg["path"].parent))
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, csv_path = out_dir / "sweep.json", out_dir / "sweep.csv"
    meta = {"config": str(cfg["path"]), "data": cfg["data"], "solve": cfg["solve"], "grid": grid,
            "total_time": round(total, 4), "all_certified": all(r["certified"] for r in records)}
    with open(json_path, "w", encoding="utf-8") as f:
        json.dump({**meta, "results": [_jsonable(r) for r in records]}, f, indent=2)
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=_TABLE_COLUMNS, extrasaction="ignore")
        w.writeheader()
        for r in records:
            w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in _TABLE_COLUMNS})
    return SweepResult(records=records, json_path=json_path, csv_path=csv_path, timings={"total": total})


def _jsonable(rec: dict) -> dict:
    out = {}
    for k, v in rec.items():
        if isinstance(v, float) and not math.isfinite(v):
            v = str(v)
        out[k] = v
    return out
