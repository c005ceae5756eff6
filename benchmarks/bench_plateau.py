r"""Best loss of gradient training against width, and the width-independent optimum.

The paper's Fig. 2 (Jacot et al. 2022): the loss reached by L2-regularised training stops
improving past some width — the global optimum is reached with finitely many neurons, and
covcone computes that optimum (certified) and a network with that few neurons.

Data (depth 2, ReLU, MSE, λ = 1e-3, β = 1):

* teacher–student: N = 150, 2-D inputs, 3-neuron ReLU teacher, noise 0.1;
* scikit-learn's digits (shipped with scikit-learn, no download): classes 3 and 8, the first
  N = 150 images, **PCA to 2 dimensions** (then standardised) so that the input rank with bias
  is 3 and the exact arrangement oracle applies; targets ±1 (MSE).

Torch (Adam then L-BFGS, float64, covcone's exact loss; best and median over the seeds, each
converted and evaluated by covcone's forward pass) at widths 1 … 64.  Printed: per width the
best/median loss and their ratio to covcone's certified optimum; covcone's optimum, bounds,
recovered neuron count and time.  Figure: ``docs/plateau.png`` (loss vs width with the optimum
as a horizontal line and the recovered neuron count as a vertical line; below, the relative
excess (loss − optimum)/optimum on a log scale).

    python benchmarks/bench_plateau.py --quick     # widths 1…64 (7 of them), 3 seeds
    python benchmarks/bench_plateau.py             # 11 widths, 5 seeds
"""
from __future__ import annotations

import numpy as np

from _common import (figure_parser, load_now, machine_info, pca_standardised, print_header, print_table, run_solve,
                     seed_everything, teacher_student, torch_runs, write_json)

LAM, BETA, TOL = 1e-3, 1.0, 1e-6


def digits_pca(N: int, classes=(3, 8), dims: int = 2):
    """Digits of two classes: the first N images, PCA to ``dims`` standardised features, targets ±1
    (the components' signs do not change the optimum: a neuron's weight absorbs them)."""
    from sklearn.datasets import load_digits

    D = load_digits()
    mask = np.isin(D.target, classes)
    X, t = D.data[mask][:N], D.target[mask][:N]
    return pca_standardised(X, dims), np.where(t == classes[1], 1.0, -1.0)[:, None]


def main(argv=None):
    args, out, args.png = figure_parser(__doc__, __file__, "plateau.png")(argv)
    seed_everything(args.seed)
    info = machine_info()
    print_header("bench_plateau — best trained loss vs width against the certified optimum", info)
    N = 150
    widths = [1, 2, 4, 8, 16, 32, 64] if args.quick else [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64]
    seeds = 3 if args.quick else 5
    train = dict(adam_steps=1000, lbfgs_steps=200) if args.quick else dict(adam_steps=2000, lbfgs_steps=500)
    data = {"teacher–student (N = 150, d = 2)": teacher_student(N, 2, 1, noise=0.1, rng=args.seed),
            "digits 3 vs 8, PCA to 2-D (N = 150)": digits_pca(N)}
    panels, rows = [], []
    for name, (X, Y) in data.items():
        r = run_solve(X, Y, lam=LAM, beta=BETA, tol=TOL, rng=args.seed)
        print(f"  {name}: covcone {r['time']:.1f} s, {r['status']}, optimum {r['upper']:.8g}, {r['n_neurons']} neurons",
              flush=True)
        pts = []
        for w in widths:
            t = torch_runs(X, Y, width=w, seeds=seeds, lam=LAM, beta=BETA, **train)
            row = {"data": name, "width": w, "best": t["best"], "median": t["median"], "losses": t["losses"],
                   "best_ratio": t["best"] / r["upper"], "median_ratio": t["median"] / r["upper"],
                   "optimum": r["upper"], "lower": r["lower"], "certified": r["certified"],
                   "covcone_neurons": r["n_neurons"], "covcone_time": r["time"], "torch_time_run": t["time_per_run"],
                   "load": load_now()}
            rows.append(row)
            pts.append(row)
            print(f"    width {w}: best {t['best']:.8g} ({t['best'] / r['upper']:.5f}×), {t['time_per_run']:.1f} s/run",
                  flush=True)
        panels.append((name, r, pts))
    print()
    print_table(rows, [("data", "data", ""), ("optimum", "covcone optimum", ".8g"), ("certified", "cert.", ""),
                       ("covcone_neurons", "neurons", ""), ("covcone_time", "covcone [s]", ".1f"),
                       ("width", "width", ""), ("best", "torch best", ".8g"), ("median", "torch median", ".8g"),
                       ("best_ratio", "best/opt", ".5f"), ("median_ratio", "median/opt", ".5f"),
                       ("torch_time_run", "torch s/run", ".1f"), ("load", "load", ".1f")])
    plot(panels, args.png, seeds)
    write_json(out,
               {"machine": info, "lam": LAM, "beta": BETA, "seeds": seeds, "train": train, "rows": rows})
    return rows


def plot(panels, path, seeds):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(panels), figsize=(5.2 * len(panels), 6.4), sharex=True,
                             gridspec_kw={"height_ratios": [3, 2]})
    for j, (name, r, pts) in enumerate(panels):
        w = np.array([p["width"] for p in pts])
        best = np.array([p["best"] for p in pts])
        med = np.array([p["median"] for p in pts])
        allv = [p["losses"] for p in pts]
        opt = r["upper"]
        ax = axes[0, j]
        for wi, ls in zip(w, allv):
            ax.scatter([wi] * len(ls), ls, s=10, color="0.6", zorder=1)
        ax.plot(w, med, "s--", color="tab:orange", ms=4, label=f"Adam+L-BFGS, median of {seeds}")
        ax.plot(w, best, "o-", color="tab:blue", ms=5, label=f"Adam+L-BFGS, best of {seeds}")
        ax.axhline(opt, color="k", lw=1.2, label=f"covcone optimum {opt:.5g} ({'certified' if r['certified'] else 'NOT certified'})")
        ax.axvline(r["n_neurons"], color="tab:red", ls=":", lw=1.5, label=f"covcone neurons: {r['n_neurons']}")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_title(name, fontsize=10)
        ax.set_ylabel("training loss (MSE + λ‖W‖²)")
        ax.legend(fontsize=7.5, loc="upper right")
        ax2 = axes[1, j]
        ax2.plot(w, np.maximum((best - opt) / opt, 1e-8), "o-", color="tab:blue", ms=5, label="best")
        ax2.plot(w, np.maximum((med - opt) / opt, 1e-8), "s--", color="tab:orange", ms=4, label="median")
        ax2.axvline(r["n_neurons"], color="tab:red", ls=":", lw=1.5)
        ax2.axhline(r["gap"] if r["gap"] > 0 else 1e-8, color="k", lw=0.8, ls="--", label="covcone certified gap")
        ax2.set_yscale("log")
        ax2.set_xscale("log", base=2)
        ax2.set_xlabel("hidden width")
        ax2.set_ylabel("(loss − optimum) / optimum")
        ax2.legend(fontsize=7.5)
        ax2.set_xticks(w)
        ax2.set_xticklabels([str(x) for x in w])
    fig.suptitle("Depth-2 ReLU, λ = 1e-3, β = 1: gradient training plateaus at covcone's width-independent optimum",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
