r"""Shared helpers of the benchmarks: seeded data sets, a torch baseline trainer, timing, tables, JSON.

Data sets (samples as rows, all seeded through a ``numpy.random.Generator``):

* :func:`teacher_student` — a random ReLU teacher with a few neurons (biases included);
* :func:`two_spirals` — two interleaved spirals in 2-D, labels 0/1 (targets ±1 for MSE);
* :func:`xor` — four Gaussian blobs at (±1, ±1) with XOR labels;
* :func:`random_data` — Gaussian inputs and Gaussian targets (no structure at all).

Torch baseline (:func:`train_torch`, :func:`torch_runs`): a depth-2 float64 network of a given
width, Adam then L-BFGS (strong Wolfe) on *exactly* covcone's loss,

    C(Ŷ) + λ (‖W_1‖² + ‖W_2‖² + ‖b_1‖²/β² + ‖b_2‖²/β²),

because ``Linear.bias = β·W[:, -1]`` (docs/design.md §1: the last column of W multiplies the constant row
β); with β = 1 this is plain weight decay on every parameter.  The reported loss is the one of
``Network.from_torch(model, beta=β)`` evaluated by covcone's own forward pass (``Network.loss``), so
both sides are measured by the same code.  Torch runs single-threaded (``set_num_threads(1)``): on
these small full-batch problems, on a loaded 2-core machine, two threads were several times slower.
"""
from __future__ import annotations

import json
import os
import platform
import resource
import time
import tracemalloc
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DOCS = HERE.parent / "docs"


# ============================================================================================
# machine
# ============================================================================================
def machine_info() -> dict:
    """Cores, load average and library versions, printed at the top of every benchmark."""
    info = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cores": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "numpy": np.__version__,
    }
    try:  # the package is edited concurrently: record which code was measured
        import subprocess

        git = ["git", "-C", str(HERE.parent)]
        info["covcone_commit"] = subprocess.run(git + ["rev-parse", "--short", "HEAD"], capture_output=True,
                                                text=True).stdout.strip()
        info["covcone_dirty"] = bool(subprocess.run(git + ["status", "--porcelain", "covcone"], capture_output=True,
                                                    text=True).stdout.strip())
    except Exception:  # noqa: BLE001 - not a git checkout
        pass
    for mod in ("scipy", "cvxpy", "clarabel", "torch", "scnn", "sklearn"):
        try:
            m = __import__(mod)
            info[mod] = getattr(m, "__version__", "?")
        except Exception:  # noqa: BLE001 - optional
            pass
    return info


def print_header(title: str, info: dict) -> None:
    print(title)
    print(f"  machine: {info['cores']} cores, load average {info['load_average_at_start']} at start; "
          f"numpy {info['numpy']}, cvxpy {info.get('cvxpy', '-')}, torch {info.get('torch', '-')}; covcone "
          f"{info.get('covcone_commit', '?')}{' + uncommitted edits' if info.get('covcone_dirty') else ''}")
    print()


def load_now() -> float:
    return round(os.getloadavg()[0], 2)


# ============================================================================================
# data sets
# ============================================================================================
def teacher_student(N: int, d: int = 2, k: int = 1, *, width: int = 3, noise: float = 0.0, rng=None):
    """Inputs N(0, I_d); targets of a random ReLU teacher with ``width`` neurons and biases."""
    rng = np.random.default_rng(rng)
    X = rng.standard_normal((N, d))
    W = rng.standard_normal((width, d))
    b = 0.5 * rng.standard_normal(width)
    V = rng.standard_normal((k, width)) / np.sqrt(width)
    Y = np.maximum(X @ W.T + b, 0.0) @ V.T
    Y = Y + noise * rng.standard_normal(Y.shape)
    return X, Y


def two_spirals(N: int, *, turns: float = 1.0, noise: float = 0.05, rng=None):
    """Two interleaved spirals in [-1, 1]², labels 0/1 (N//2 points each)."""
    rng = np.random.default_rng(rng)
    n = N // 2
    t = np.sqrt(rng.uniform(0.05, 1.0, n)) * turns * 2 * np.pi
    r = t / (turns * 2 * np.pi)
    P = np.stack([r * np.cos(t), r * np.sin(t)], axis=1)
    X = np.vstack([P, -P[: N - n]]) + noise * rng.standard_normal((N, 2))
    labels = np.concatenate([np.zeros(n, int), np.ones(N - n, int)])
    return X, labels


def xor(N: int, *, spread: float = 0.3, rng=None):
    """Four Gaussian blobs at (±1, ±1), label = XOR of the signs."""
    rng = np.random.default_rng(rng)
    centres = np.array([[1, 1], [-1, -1], [1, -1], [-1, 1]], dtype=float)
    idx = np.arange(N) % 4
    X = centres[idx] + spread * rng.standard_normal((N, 2))
    labels = (idx >= 2).astype(int)
    return X, labels


def random_data(N: int, d: int = 2, k: int = 1, *, rng=None):
    """Gaussian inputs and Gaussian targets (nothing to learn but the points themselves)."""
    rng = np.random.default_rng(rng)
    return rng.standard_normal((N, d)), rng.standard_normal((N, k))


def pm_one(labels) -> np.ndarray:
    """Labels 0/1 → targets ±1 as an (N, 1) array (for MSE)."""
    return (2.0 * np.asarray(labels, dtype=float) - 1.0)[:, None]


# ============================================================================================
# covcone, timed
# ============================================================================================
def run_solve(X, Y, *, memory: bool = False, **kw) -> dict:
    """``covcone.solve`` with wall time (and peak traced Python memory); a flat summary dict."""
    import covcone

    if memory:
        tracemalloc.start()
    t0 = time.perf_counter()
    res = covcone.solve(X, Y, **kw)
    wall = time.perf_counter() - t0
    out = res.summary()
    out["time"] = wall
    out["rounds"] = len(res.history)
    if memory:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out["peak_traced_MB"] = peak / 2**20
    out["_result"] = res
    return out


def standardise(A) -> np.ndarray:
    """Columns centred and scaled to unit standard deviation."""
    A = np.asarray(A, dtype=float)
    return (A - A.mean(axis=0)) / A.std(axis=0)


def pca_standardised(A, dims: int = 2) -> np.ndarray:
    """The first ``dims`` principal components of the rows of ``A`` (SVD of the centred data),
    standardised."""
    A = np.asarray(A, dtype=float)
    U, S, _ = np.linalg.svd(A - A.mean(axis=0), full_matrices=False)
    return standardise(U[:, :dims] * S[:dims])


def max_rss_mb() -> float:
    """Peak resident set size of this process so far (MB; Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# ============================================================================================
# torch baseline
# ============================================================================================
def train_torch(X, Y, *, width: int, lam: float, beta: float = 1.0, cost: str = "mse", seed: int = 0,
                adam_steps: int = 2000, lbfgs_steps: int = 500, lr: float = 1e-2, init_scale: float = 1.0,
                depth: int = 2):
    """One Adam + L-BFGS run of a depth-``depth`` ReLU network (float64, every hidden layer of
    ``width``) on covcone's exact loss.

    Returns ``(network, loss, seconds)``: the loss is covcone's forward-pass ``Network.loss`` of
    ``Network.from_torch(model, beta=beta)``.
    """
    import torch
    from torch import nn

    from covcone.gradient import torch_adam_lbfgs
    from covcone.network import Network

    torch.set_num_threads(1)  # tiny full-batch problems: threads only add overhead on a loaded 2-core box
    torch.manual_seed(seed)
    Xt = torch.from_numpy(np.array(X, dtype=np.float64))  # a writable copy
    N, d = Xt.shape
    if cost == "cross_entropy":
        labels = np.asarray(Y).astype(np.int64).ravel()
        k = int(labels.max()) + 1
        Yt = torch.from_numpy(labels)
    else:
        Y = np.asarray(Y, dtype=np.float64).reshape(N, -1)
        k = Y.shape[1]
        Yt = torch.from_numpy(Y)
    dims = [d] + [width] * (depth - 1) + [k]
    layers = []
    for i in range(depth):
        layers.append(nn.Linear(dims[i], dims[i + 1]))
        if i < depth - 1:
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers).double()
    if init_scale != 1.0:
        with torch.no_grad():
            for p in model.parameters():
                p.mul_(init_scale)
    lin = [m for m in model if isinstance(m, nn.Linear)]

    def objective():
        out = model(Xt)
        if cost == "cross_entropy":
            data = nn.functional.cross_entropy(out, Yt, reduction="mean")
        else:
            data = ((out - Yt) ** 2).sum() / N
        reg = sum((m.weight**2).sum() + (m.bias**2).sum() / beta**2 for m in lin)
        return data + lam * reg

    t0 = time.perf_counter()
    torch_adam_lbfgs(list(model.parameters()), objective, adam_steps=adam_steps, lr=lr, lbfgs_steps=lbfgs_steps,
                     history_size=50)
    seconds = time.perf_counter() - t0
    net = Network.from_torch(model, beta=beta, activation="relu")
    Yc = np.asarray(Y).ravel().astype(int) if cost == "cross_entropy" else Y
    return net, float(net.loss(X, Yc, lam=lam, cost=cost)), seconds


def torch_runs(X, Y, *, width: int, seeds: int = 5, **kw) -> dict:
    """``seeds`` runs of :func:`train_torch`: best and median loss, total and per-run seconds."""
    losses, times, nets = [], [], []
    for s in range(seeds):
        net, loss, sec = train_torch(X, Y, width=width, seed=s, **kw)
        losses.append(loss)
        times.append(sec)
        nets.append(net)
    i = int(np.argmin(losses))
    return {"width": width, "best": float(np.min(losses)), "median": float(np.median(losses)),
            "losses": losses, "time_total": float(np.sum(times)), "time_per_run": float(np.mean(times)),
            "best_network": nets[i]}


def active_neurons(net, X, rel: float = 1e-3) -> int:
    """Hidden units whose product ‖w_in‖·‖w_out‖ exceeds ``rel`` times the largest."""
    W1, W2 = net.weights
    p = np.linalg.norm(W1, axis=1) * np.linalg.norm(W2[:, :-1], axis=0)
    return int(np.sum(p > rel * p.max())) if p.size and p.max() > 0 else 0


# ============================================================================================
# tables and JSON
# ============================================================================================
def fmt(x, spec: str = ".4g") -> str:
    if x is None:
        return "—"
    if isinstance(x, str):
        return x
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    x = float(x)
    if not np.isfinite(x):
        return str(x)
    return format(x, spec)


def print_table(rows: list[dict], columns: list[tuple[str, str, str]]) -> str:
    """Print ``rows`` as a fixed-width table; ``columns`` are (key, header, format spec)."""
    cells = [[fmt(r.get(key), spec) for key, _, spec in columns] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, (_, h, _) in enumerate(columns)]
    lines = ["  ".join(h.rjust(w) for (_, h, _), w in zip(columns, widths)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in cells]
    text = "\n".join(lines)
    print(text, flush=True)
    return text


def _clean(obj):
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items() if not k.startswith("_") and k != "best_network"}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        x = float(obj)
        return x if np.isfinite(x) else str(x)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return _clean(obj.tolist())
    return obj


def write_json(path, payload: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {**payload, "load_average_at_end": [round(x, 2) for x in os.getloadavg()]}
    path.write_text(json.dumps(_clean(payload), indent=1, ensure_ascii=False))
    print(f"\nwrote {path}")


def default_out(script: str, quick: bool) -> str:
    return str(HERE / f"{Path(script).stem}{'_quick' if quick else ''}.json")


def figure_parser(doc: str, script: str, figure: str):
    """:func:`base_parser` plus ``--png`` (default ``docs/<figure>``; with ``--quick``, next to the
    JSON, so the README's figure stays).  Returns ``(args, out, png)`` after parsing ``argv``."""
    p = base_parser(doc, script)
    p.add_argument("--png", default=None,
                   help=f"figure (default docs/{figure}; with --quick, next to the JSON, so the README's figure stays)")

    def parse(argv=None):
        args = p.parse_args(argv)
        out = args.out or default_out(script, args.quick)
        png = args.png or (str(DOCS / figure) if not args.quick else out.rsplit(".", 1)[0] + ".png")
        return args, out, png

    return parse


def base_parser(doc: str, script: str):
    import argparse

    p = argparse.ArgumentParser(description=doc.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes only (≤ 2 minutes)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="JSON output (default: next to the script, <name>[_quick].json)")
    return p


def seed_everything(seed: int) -> np.random.Generator:
    np.random.seed(seed)
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:
        pass
    return np.random.default_rng(seed)


# ============================================================================================
# pyscnn (pilancilab/scnn) baseline
# ============================================================================================
def run_scnn(X, y, *, lam: float, n_gates: int, seed: int = 0, solver: str = "clarabel", beta: float = 1.0):
    r"""pyscnn's convex ReLU program on the same instance, solved by its own CVXPY program.

    Same instance: the inputs are augmented with the constant column β (``[X, β1]``, ``bias=False``
    for scnn), so scnn's first-layer weights carry the hidden biases exactly as covcone's last
    column does, and its gates are sampled in d + 1 dimensions (scnn's own ``bias=True`` would pad
    the gates with a zero and sample only hyperplanes through the origin).  Column normalisation
    is off (``unitize_data=False``).  scnn's model has **no output bias**.

    Scaling.  scnn minimises ``(1/(2N))‖ŷ − y‖² + λ_s Σ_i (‖u_i‖ + ‖v_i‖)`` (scalar output); the
    network it returns has loss ``(1/(2N))‖ŷ − y‖² + (λ_s/2)(‖W_1‖² + ‖W_2‖²)`` at balance, so with
    ``λ_s = λ`` covcone's loss ``(1/N)‖ŷ − y‖² + λ Σ‖W‖²`` is exactly **2 × scnn's objective**.

    ``solver``: scnn's CVXPYSolver accepts ecos/cvxopt/scs/gurobi/mosek; ``"clarabel"`` (the
    solver covcone uses) is passed through a two-line shim, ``"scs"`` is native.  Returns a dict
    with the time, the printed objective ×2, and the forward-pass loss of the returned network by
    covcone's ``Network.loss`` (output-bias column 0).
    """
    import cvxpy as cp
    from scnn.activations import sample_gate_vectors
    from scnn.metrics import Metrics
    from scnn.models import ConvexReLU
    from scnn.optimize import optimize_model
    from scnn.private.methods.cvxpy import cvxpy_solver as _cs
    from scnn.regularizers import NeuronGL1
    from scnn.solvers import CVXPYSolver

    from covcone.network import Network

    if solver == "clarabel":
        if "clarabel" not in CVXPYSolver.supported_solvers:
            CVXPYSolver.supported_solvers.append("clarabel")
        if not getattr(_cs.CVXPYSolver, "_covcone_shim", False):
            orig = _cs.CVXPYSolver.__init__

            def init(self, solver="ecos", solver_kwargs={}):  # noqa: B006 - scnn's signature
                if solver == "clarabel":
                    self.solver, self.solver_kwargs = cp.CLARABEL, solver_kwargs
                else:
                    orig(self, solver, solver_kwargs)

            _cs.CVXPYSolver.__init__ = init
            _cs.CVXPYSolver._covcone_shim = True
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float).reshape(-1, 1)
    N, d = X.shape
    Xa = np.hstack([X, beta * np.ones((N, 1))])
    G = sample_gate_vectors(seed, d + 1, n_gates)
    model = ConvexReLU(G, c=1, bias=False)
    opt = CVXPYSolver(model, solver)
    t0 = time.perf_counter()
    nc_model, metrics = optimize_model(model, opt, Metrics(), Xa, y, regularizer=NeuronGL1(lam),
                                       unitize_data=False, dtype="float64", seed=seed)
    seconds = time.perf_counter() - t0
    W1, W2 = (np.asarray(p, dtype=float) for p in nc_model.parameters)
    if W1.shape[0] == 0:
        W1, W2 = np.zeros((1, d + 1)), np.zeros((1, 1))
    # scnn's W1 acts on [x, β]: covcone's bias column is the last one already (it multiplies β)
    net = Network([W1, np.hstack([W2, np.zeros((1, 1))])], "relu", beta)
    loss = float(net.loss(X, y, lam=lam))
    # the objective scnn reports (its metrics' last value), converted to covcone's scale
    obj = np.asarray(metrics.objective, dtype=float)
    obj2 = 2.0 * float(obj[-1]) if obj.size else float("nan")
    from scnn.activations import compute_activation_patterns

    n_patterns = int(compute_activation_patterns(Xa, G)[0].shape[1])
    return {"time": seconds, "loss": loss, "objective_x2": obj2, "n_gates": n_gates, "n_patterns": n_patterns,
            "n_neurons": int(W1.shape[0]), "network": net}
