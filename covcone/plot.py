r"""Every figure of covcone: the λ path, the bounds per round, the neurons of a 2-D network, the
width plateau of the N²/4 example (paper §4.2).

Needs the ``plot`` extra (matplotlib); :func:`plot_width_plateau` also trains torch networks and
needs the ``torch`` extra.  When extras are missing, one ``ImportError`` names all of them and the
``pip install`` line that adds them.  Functions that draw into axes return them (and accept
``ax=``); functions that write a file take ``path`` and use the non-interactive Agg backend.
Axes whose values span decades are logarithmic; integer quantities get integer ticks.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["plot_path", "plot_history", "plot_neurons", "plot_width_plateau", "require_extras"]

_EXTRA_OF = {"matplotlib": "plot", "torch": "torch"}


def require_extras(what: str, *modules: str) -> None:
    r"""Raise one ``ImportError`` naming every missing module and the extras that install them.

    Example message: ``plot_width_plateau needs matplotlib and torch: pip install 'covcone[plot,torch]'``.
    """
    import importlib

    missing = []
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        extras = ",".join(_EXTRA_OF.get(m, m) for m in missing)
        raise ImportError(f"{what} needs {' and '.join(missing)}: pip install 'covcone[{extras}]'")


def _pyplot(for_file: bool):
    import matplotlib

    if for_file:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _integer_axis(axis) -> None:
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def _positive(values) -> np.ndarray:
    """Values for a log axis: non-positive entries (a gap of exactly 0) become the smallest float."""
    v = np.asarray(values, dtype=float)
    return np.where(v > 0, v, np.finfo(float).tiny)


# ------------------------------------------------------------------------------------------
# the λ path
# ------------------------------------------------------------------------------------------
def plot_path(path_result, ax=None):
    r"""Loss (upper and lower bound), relative gap and neuron count against λ (log λ axis).

    Parameters
    ----------
    path_result : PathResult
        From :func:`covcone.solve_path`.
    ax : sequence of 3 matplotlib Axes, optional
        Where to draw; a new figure with three panels side by side when omitted.

    Returns
    -------
    array of 3 Axes
        ``ax[0]``: upper (first line) and lower bound; ``ax[1]``: the relative gap (log scale,
        uncertified λ marked); ``ax[2]``: hidden neurons (integer ticks).
    """
    require_extras("plot_path", "matplotlib")
    from .path import PathResult

    plt = _pyplot(for_file=False)
    if not isinstance(path_result, PathResult):
        raise ValueError(f"path_result: expected a PathResult, got {type(path_result).__name__}")
    if ax is None:
        _, ax = plt.subplots(1, 3, figsize=(12, 3.5), constrained_layout=True)
    ax = np.asarray(ax, dtype=object).ravel()
    if ax.size != 3:
        raise ValueError(f"ax: expected 3 Axes (loss, gap, neurons), got {ax.size}")
    lam = np.array(path_result.lams)
    cert = np.array(path_result.certified, dtype=bool)
    upper = np.asarray(path_result.upper, dtype=float)
    lower = np.asarray(path_result.lower, dtype=float)
    ax[0].plot(lam, upper, "o-", label="network loss (upper)")
    ax[0].plot(lam, lower, "x--", label="lower bound")
    finite = np.concatenate([upper[np.isfinite(upper)], lower[np.isfinite(lower)]])
    if finite.size and np.all(finite > 0) and finite.max() / finite.min() > 100:
        ax[0].set_yscale("log")
    ax[0].set_ylabel("loss  C(Ŷ) + λΣ‖W‖²")
    ax[0].set_title("bounds")
    ax[0].legend()
    gap = _positive(path_result.gap)
    ax[1].plot(lam, gap, "o-", label="relative gap")
    if np.any(~cert):
        ax[1].plot(lam[~cert], gap[~cert], "rx", ms=10, label="not certified")
    tol = {float(r.tol) for r in path_result.results if getattr(r, "tol", None)}
    if len(tol) == 1:
        ax[1].axhline(tol.pop(), color="k", ls=":", lw=1, label="tol")
    ax[1].set_yscale("log")
    ax[1].set_ylabel("relative gap")
    ax[1].set_title("certificate")
    ax[1].legend()
    ax[2].plot(lam, path_result.n_neurons, "o-")
    ax[2].set_ylabel("hidden neurons")
    ax[2].set_title("width of the optimum")
    _integer_axis(ax[2].yaxis)
    for a in ax:
        a.set_xscale("log")
        a.set_xlabel("λ")
    return ax


# ------------------------------------------------------------------------------------------
# one solve: the bounds per round
# ------------------------------------------------------------------------------------------
def plot_history(result, ax=None):
    r"""Upper and lower bound, and the relative gap, per column-generation round.

    Parameters
    ----------
    result : SolveResult
        A depth-2 result (its ``history`` holds one entry per round with ``upper``, ``lower``,
        ``gap`` and ``active``).
    ax : sequence of 2 Axes, optional

    Returns
    -------
    array of 2 Axes
        ``ax[0]``: the bounds (the lower bound only where it is finite); ``ax[1]``: the gap on a
        log scale with ``tol``, and the active neurons on a twin integer axis.
    """
    require_extras("plot_history", "matplotlib")
    plt = _pyplot(for_file=False)
    hist = list(getattr(result, "history", ()) or ())
    if not hist or not all(isinstance(h, dict) and "upper" in h and "lower" in h for h in hist):
        raise ValueError("result: expected a SolveResult with a per-round history (a depth-2 solve), "
                         f"got {type(result).__name__} with {len(hist)} rounds")
    if ax is None:
        _, ax = plt.subplots(1, 2, figsize=(10, 3.5), constrained_layout=True)
    ax = np.asarray(ax, dtype=object).ravel()
    if ax.size != 2:
        raise ValueError(f"ax: expected 2 Axes (bounds, gap), got {ax.size}")
    rounds = np.array([h.get("round", i) for i, h in enumerate(hist)]) + 1
    upper = np.array([h["upper"] for h in hist], dtype=float)
    lower = np.array([h["lower"] for h in hist], dtype=float)
    ok = np.isfinite(lower)
    ax[0].plot(rounds, upper, "o-", label="network loss (upper)")
    ax[0].plot(rounds[ok], lower[ok], "x--", label="lower bound")
    ax[0].axhline(result.upper, color="k", ls=":", lw=1, label=f"final upper {result.upper:.6g}")
    ax[0].set_xlabel("round")
    ax[0].set_ylabel("loss")
    ax[0].set_title(f"bounds ({result.status})")
    ax[0].legend()
    _integer_axis(ax[0].xaxis)
    gap = np.array([h.get("gap", math.inf) for h in hist], dtype=float)
    g_ok = np.isfinite(gap)
    ax[1].plot(rounds[g_ok], _positive(gap[g_ok]), "o-", color="C0", label="relative gap")
    ax[1].axhline(result.tol, color="k", ls=":", lw=1, label=f"tol {result.tol:g}")
    ax[1].set_yscale("log")
    ax[1].set_xlabel("round")
    ax[1].set_ylabel("relative gap")
    _integer_axis(ax[1].xaxis)
    lines, labels = ax[1].get_legend_handles_labels()
    if all("active" in h for h in hist):
        tw = ax[1].twinx()
        tw.plot(rounds, [h["active"] for h in hist], "s:", color="C2", ms=4, label="active neurons")
        tw.set_ylabel("active neurons")
        _integer_axis(tw.yaxis)
        more = tw.get_legend_handles_labels()
        lines, labels = lines + more[0], labels + more[1]
    ax[1].legend(lines, labels, loc="lower left")
    ax[1].set_title("certificate")
    return ax


# ------------------------------------------------------------------------------------------
# the neurons of a network on 2-D inputs
# ------------------------------------------------------------------------------------------
def plot_neurons(network, X, Y=None, *, ax=None, output: int = 0, colorbar: bool = True, title=None):
    r"""The hidden units of a depth-2 network on 2-D inputs, over the network's output.

    Each unit ``σ(w₁x₁ + w₂x₂ + βb)`` is drawn as its kink line ``w₁x₁ + w₂x₂ + βb = 0``, with
    thickness and opacity ∝ its size ``‖w_in‖·‖w_out‖`` (its share of the penalty at balance,
    paper §2); the background is output ``output`` of the network (colour bar), the points are
    the data coloured by ``Y[:, output]`` on the same scale.

    Returns
    -------
    Axes
    """
    require_extras("plot_neurons", "matplotlib")
    plt = _pyplot(for_file=False)
    from matplotlib.lines import Line2D

    if getattr(network, "depth", None) != 2 or network.widths[0] != 2:
        widths = getattr(network, "widths", None)
        raise ValueError(f"network: expected a depth-2 network on 2-D inputs, got widths {widths}")
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X: expected shape (N, 2), got {X.shape}")
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4.5), constrained_layout=True)
    W1, W2 = network.weights
    pad = 0.15 * max(1e-12, float(np.ptp(X, axis=0).max()))
    lo, hi = X.min(0) - pad, X.max(0) + pad
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 200), np.linspace(lo[1], hi[1], 200))
    F = network.forward(np.c_[gx.ravel(), gy.ravel()])[:, output].reshape(gx.shape)
    Yo = None if Y is None else np.asarray(Y, dtype=float).reshape(X.shape[0], -1)[:, output]
    ref = np.abs(Yo).max() if Yo is not None else np.abs(F).max()
    vmax = float(ref) if ref > 0 else 1.0
    from matplotlib.ticker import MaxNLocator

    levels = MaxNLocator(20, symmetric=True).tick_values(-vmax, vmax)  # round levels, 0 at a boundary
    cs = ax.contourf(gx, gy, np.clip(F, levels[0], levels[-1]), levels=levels, cmap="RdBu_r", alpha=0.55)
    if colorbar:
        ax.figure.colorbar(cs, ax=ax, label=f"network output {output}")
    if Yo is not None:
        ax.scatter(X[:, 0], X[:, 1], c=Yo, cmap="RdBu_r", vmin=-vmax, vmax=vmax, s=22, edgecolors="k",
                   linewidths=0.6)
    size = np.linalg.norm(W1, axis=1) * np.linalg.norm(W2[:, :-1], axis=0)
    rel = size / size.max() if size.max() > 0 else size
    t = np.array([-1.0, 1.0]) * 4 * float(np.abs(np.r_[lo, hi]).max() + 1)
    drawn = 0
    for j in np.argsort(rel):
        w, b = W1[j, :2], network.beta * W1[j, 2]
        nrm = np.linalg.norm(w)
        if rel[j] < 1e-3 or nrm == 0:
            continue
        p0 = -b * w / nrm**2  # the kink line's point nearest the origin
        d = np.array([-w[1], w[0]]) / nrm
        ax.plot(p0[0] + t * d[0], p0[1] + t * d[1], color="k", lw=0.3 + 3.2 * rel[j], alpha=0.25 + 0.75 * rel[j])
        drawn += 1
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_aspect("equal")
    ax.set_xlabel("x₁")
    ax.set_ylabel("x₂")
    handles = [Line2D([], [], color="k", lw=3.5, label="kink of a unit (width ∝ ‖w_in‖‖w_out‖)")]
    if Yo is not None:
        handles.append(Line2D([], [], marker="o", ls="", mec="k", mfc="w", label="data (colour = target)"))
    ax.legend(handles=handles, loc="best", fontsize=7, framealpha=0.8)
    ax.set_title(title if title is not None else f"{drawn} hidden units (of {W1.shape[0]}) above 0.1 % of the largest",
                 fontsize=9)
    return ax


# ------------------------------------------------------------------------------------------
# the width plateau of the N²/4 example
# ------------------------------------------------------------------------------------------
def plot_width_plateau(report, path, *, widths=None, seeds=3, lam=None, steps=2000, rng=0):
    r"""PNG: best MSE objective reached by gradient training at widths around ``N²/4`` vs the optimum.

    For each width, ``seeds`` runs of Adam then L-BFGS (torch, float64) on the MSE objective
    ``(1/N)‖Ŷ − Y‖² + λΣ‖W‖²`` of the tight example with the report's λ; left, the best objective
    per width with the certified MSE optimum (horizontal) and ``N²/4`` (vertical); right, the
    relative excess ``(best − optimum)/optimum`` on a log scale.  Below ``N²/4`` the optimum
    cannot be reached (paper Prop. 14); at and above it it can, up to the training's accuracy.

    Needs ``matplotlib`` and ``torch`` (``pip install 'covcone[plot,torch]'``).

    Returns
    -------
    dict
        ``widths``, ``best`` (per width), ``optimum`` (None when the report has no MSE optimum).
    """
    require_extras("plot_width_plateau", "matplotlib", "torch")
    import torch

    from .gradient import torch_adam_lbfgs

    from .tight import TightReport, tight_example

    plt = _pyplot(for_file=True)
    if not isinstance(report, TightReport):
        raise ValueError(f"report: expected a TightReport from verify_tight, got {type(report).__name__}")
    N = report.N
    X, Y = tight_example(N)
    lam = report.lam if lam is None else float(lam)
    q = N * N // 4
    if widths is None:
        widths = sorted({max(1, q // 4), max(1, q // 2), max(1, q - 1), q, q + max(1, q // 4), 2 * q})
    widths = [int(w) for w in widths]
    optimum = report.bounds.get("mse upper")
    lower = max((v for k, v in report.bounds.items() if k.startswith("mse ") and k != "mse upper"), default=None)
    gen = torch.Generator().manual_seed(int(rng))
    Xt, Yt = torch.tensor(X), torch.tensor(Y)
    best = []
    for w in widths:
        vals = []
        for _ in range(int(seeds)):
            W1 = (torch.randn(w, N, generator=gen, dtype=torch.float64) / math.sqrt(N)).requires_grad_()
            W2 = (torch.randn(N, w, generator=gen, dtype=torch.float64) / math.sqrt(w)).requires_grad_()

            def loss_fn():
                out = torch.relu(Xt @ W1.T) @ W2.T
                return ((out - Yt) ** 2).sum() / N + lam * ((W1**2).sum() + (W2**2).sum())

            torch_adam_lbfgs([W1, W2], loss_fn, adam_steps=steps, lr=1e-2, lbfgs_steps=500)
            vals.append(float(loss_fn().detach()))
        best.append(min(vals))
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), constrained_layout=True)
    ax = axes[0]
    ax.plot(widths, best, "o-", label=f"best of {seeds} (Adam + L-BFGS)")
    if optimum is not None:
        ax.axhline(optimum, color="k", ls="--", label=f"certified optimum {optimum:.6g}")
    if lower is not None:
        ax.axhline(lower, color="g", ls=":", label=f"lower bound {lower:.6g}")
    ax.axvline(q, color="r", ls=":", label=f"N²/4 = {q}")
    span = [v for v in best + [optimum, lower] if v is not None and v > 0]
    if span and max(span) / min(span) > 100:
        ax.set_yscale("log")
    ax.set_xlabel("hidden width")
    ax.set_ylabel("(1/N)‖Ŷ−Y‖² + λΣ‖W‖²  (best reached)")
    ax.set_title(f"Tight example N = {N}, λ = {lam:.3g}")
    ax.legend(fontsize=8)
    _integer_axis(ax.xaxis)
    ax = axes[1]
    if optimum is not None and optimum > 0:
        excess = np.maximum(np.array(best) - optimum, 0.0) / optimum
        ax.plot(widths, _positive(np.maximum(excess, 1e-16)), "o-", label="(best − optimum) / optimum")
        ax.axvline(q, color="r", ls=":", label=f"N²/4 = {q}")
        ax.set_yscale("log")
        ax.set_ylabel("relative excess over the certified optimum")
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "no certified MSE optimum in the report", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("hidden width")
    ax.set_title("distance to the optimum (log scale)")
    _integer_axis(ax.xaxis)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return {"widths": widths, "best": best, "optimum": optimum}
