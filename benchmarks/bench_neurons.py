r"""Picture of the neurons of the certified optimum beside those of a wide trained network.

2-D inputs with bias, depth 2, ReLU, MSE, λ = 1e-3, β = 1.  A hidden unit ``σ(w₁x₁ + w₂x₂ + βb)``
has its kink on the line ``w₁x₁ + w₂x₂ + βb = 0``; each unit is drawn as that line over the data,
with thickness (and opacity) ∝ its size ‖w_in‖·‖w_out‖ (the balanced neuron's share of the
penalty, 2λ‖w_in‖‖w_out‖), on top of the network's output.  Left: covcone's certified optimum.
Right: a width-200 network trained by Adam (then L-BFGS) on the same loss, best of 5 seeds.  The
optimum uses a few neurons (the paper's sparsity); a wide trained network approaches the same
function by clusters of nearly parallel lines (the attraction of §3.1).

Data: teacher–student (N = 100, 3-neuron teacher, noise 0.1) and two spirals (N = 100, ±1 targets).
Table: losses, their ratio, neurons (trained network: units above 1 % of the largest), times.
Figure: ``docs/neurons.png``.

    python benchmarks/bench_neurons.py --quick    # 2 seeds, shorter training
    python benchmarks/bench_neurons.py
"""
from __future__ import annotations

from _common import (figure_parser, active_neurons, load_now, machine_info, pm_one, print_header,
                     print_table, run_solve, seed_everything, teacher_student, torch_runs, two_spirals, write_json)

LAM, BETA, TOL, WIDTH = 1e-3, 1.0, 1e-6, 200


def main(argv=None):
    args, out, args.png = figure_parser(__doc__, __file__, "neurons.png")(argv)
    seed_everything(args.seed)
    info = machine_info()
    print_header("bench_neurons — neurons of the certified optimum vs a wide trained network", info)
    seeds = 2 if args.quick else 5
    train = dict(adam_steps=1500, lbfgs_steps=200) if args.quick else dict(adam_steps=3000, lbfgs_steps=500)
    Xs, ls = two_spirals(100, rng=args.seed + 1)
    data = {"teacher–student": teacher_student(100, 2, 1, noise=0.1, rng=args.seed), "two spirals": (Xs, pm_one(ls))}
    rows, panels = [], []
    for name, (X, Y) in data.items():
        r = run_solve(X, Y, lam=LAM, beta=BETA, tol=TOL, rng=args.seed)
        t = torch_runs(X, Y, width=WIDTH, seeds=seeds, lam=LAM, beta=BETA, **train)
        tnet = t["best_network"]
        row = {"data": name, "N": X.shape[0], "certified": r["certified"], "covcone_loss": r["upper"],
               "covcone_neurons": r["n_neurons"], "covcone_time": r["time"], "torch_width": WIDTH,
               "torch_best": t["best"], "torch_active_1pct": active_neurons(tnet, X, 1e-2),
               "torch_active_10pct": active_neurons(tnet, X, 1e-1), "loss_ratio": t["best"] / r["upper"],
               "torch_time_all": t["time_total"], "time_ratio": r["time"] / t["time_total"], "load": load_now()}
        rows.append(row)
        panels.append((name, X, Y, r["_result"].network, tnet, row))
        print(f"  {name}: covcone {r['time']:.1f} s ({r['n_neurons']} neurons); Adam best {t['best']:.8g}", flush=True)
    print()
    print_table(rows, [("data", "data", ""), ("certified", "cert.", ""), ("covcone_loss", "covcone loss", ".8g"),
                       ("covcone_neurons", "neurons", ""), ("covcone_time", "covcone [s]", ".1f"),
                       ("torch_best", f"Adam w={WIDTH} best", ".8g"), ("loss_ratio", "loss ratio", ".5f"),
                       ("torch_active_1pct", "units >1%", ""), ("torch_active_10pct", "units >10%", ""),
                       ("torch_time_all", f"Adam [s] ({seeds} seeds)", ".1f"), ("time_ratio", "time ratio", ".2f"),
                       ("load", "load", ".1f")])
    print("\nloss ratio: Adam's best over covcone's certified optimum; time ratio: covcone over all Adam seeds.")
    plot(panels, args.png, seeds)
    write_json(out,
               {"machine": info, "lam": LAM, "beta": BETA, "train": train, "rows": rows})
    return rows


def plot(panels, path, seeds):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from covcone.plot import plot_neurons

    fig, axes = plt.subplots(len(panels), 2, figsize=(11, 4.6 * len(panels)), constrained_layout=True)
    for i, (name, X, Y, onet, tnet, row) in enumerate(panels):
        left = f"{name}: covcone certified optimum\n{row['covcone_neurons']} neurons, loss {row['covcone_loss']:.6g}"
        right = (f"{name}: Adam + L-BFGS, width {row['torch_width']} (best of {seeds})\n"
                 f"{row['torch_active_1pct']} units > 1 % of the largest, loss {row['torch_best']:.6g}")
        plot_neurons(onet, X, Y, ax=axes[i, 0], title=left)
        plot_neurons(tnet, X, Y, ax=axes[i, 1], title=right)
    fig.suptitle("Kink lines of the hidden ReLU units (thickness ∝ ‖w_in‖·‖w_out‖) over the network's output\n"
                 "depth 2, λ = 1e-3, β = 1, MSE", fontsize=10)
    fig.savefig(path, dpi=100)
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
