r"""covcone's certified optimum against gradient training in torch.

Seeded instances, 2-D inputs, β = 1 (hidden and output biases), depth 2, ReLU, λ = 1e-3:

* teacher–student (3-neuron ReLU teacher, noise 0.1), MSE;
* two spirals: MSE on ±1 targets and softmax cross-entropy on the labels;
* XOR blobs: MSE on ±1 and cross-entropy;
* random Gaussian inputs and targets, MSE.

covcone: ``covcone.solve`` (exact oracle, tol 1e-6).  Torch: Adam (lr 1e-2) then L-BFGS (strong
Wolfe), float64, on exactly covcone's loss (weight decay λ on every parameter, β = 1), widths 10,
100 and N(N+1) (the Carathéodory width at which every covariance pair is reachable), 5 seeds;
each torch network is converted with ``Network.from_torch`` and evaluated by covcone's forward
pass.  Reported per width: best and median loss over the seeds, the ratios best/optimum and
median/optimum, torch seconds per run and for all 5 seeds, and covcone's time over torch's.

    python benchmarks/bench_vs_torch.py --quick    # N = 20, two instances, shorter training
    python benchmarks/bench_vs_torch.py            # N = 40, all six instances
"""
from __future__ import annotations

from _common import (base_parser, default_out, load_now, machine_info, pm_one, print_header, print_table,
                     random_data, run_solve, seed_everything, teacher_student, torch_runs, two_spirals,
                     write_json, xor)

LAM, BETA, TOL = 1e-3, 1.0, 1e-6


def instances(N, seed, quick):
    Xt, Yt = teacher_student(N, 2, 1, noise=0.1, rng=seed)
    Xs, ls = two_spirals(N, rng=seed + 1)
    Xx, lx = xor(N, rng=seed + 2)
    Xr, Yr = random_data(N, 2, 1, rng=seed + 3)
    out = [("teacher-student", "mse", Xt, Yt), ("two spirals", "cross_entropy", Xs, ls)]
    if not quick:
        out += [("two spirals", "mse", Xs, pm_one(ls)), ("XOR", "mse", Xx, pm_one(lx)),
                ("XOR", "cross_entropy", Xx, lx), ("random", "mse", Xr, Yr)]
    return out


def main(argv=None):
    p = base_parser(__doc__, __file__)
    p.add_argument("--seeds", type=int, default=5)
    args = p.parse_args(argv)
    seed_everything(args.seed)
    info = machine_info()
    N = 20 if args.quick else 40
    train = dict(adam_steps=1000, lbfgs_steps=200) if args.quick else dict(adam_steps=2000, lbfgs_steps=500)
    print_header(f"bench_vs_torch — depth 2, ReLU, λ = {LAM}, β = {BETA}, N = {N}; torch Adam {train['adam_steps']} "
                 f"+ L-BFGS {train['lbfgs_steps']}, {args.seeds} seeds, float64", info)
    rows = []
    for name, cost, X, Y in instances(N, args.seed, args.quick):
        r = run_solve(X, Y, lam=LAM, beta=BETA, cost=cost, tol=TOL, rng=args.seed)
        opt = r["upper"]
        print(f"  {name} / {cost}: covcone {r['time']:.1f} s, {r['status']}, loss {opt:.8g}, {r['n_neurons']} neurons",
              flush=True)
        for width in (10, 100, N * (N + 1)):
            t = torch_runs(X, Y, width=width, seeds=args.seeds, lam=LAM, beta=BETA, cost=cost, **train)
            rows.append({"instance": name, "cost": cost, "N": N, "certified": r["certified"], "covcone_loss": opt,
                         "covcone_lower": r["lower"], "covcone_neurons": r["n_neurons"], "covcone_time": r["time"],
                         "width": width, "torch_best": t["best"], "torch_median": t["median"],
                         "torch_losses": t["losses"], "best_ratio": t["best"] / opt, "median_ratio": t["median"] / opt,
                         "torch_time_run": t["time_per_run"], "torch_time_all": t["time_total"],
                         "time_ratio_run": r["time"] / t["time_per_run"],
                         "time_ratio_all": r["time"] / t["time_total"],
                         "torch_below_lower": t["best"] < r["lower"] - 1e-9, "load": load_now()})
            print(f"    width {width}: best {t['best']:.8g}, median {t['median']:.8g}, {t['time_per_run']:.1f} s/run",
                  flush=True)
    print()
    print_table(rows, [("instance", "instance", ""), ("cost", "cost", ""), ("certified", "cert.", ""),
                       ("covcone_loss", "covcone loss", ".7g"), ("covcone_neurons", "neur.", ""),
                       ("covcone_time", "covcone [s]", ".1f"), ("width", "width", ""),
                       ("torch_best", "torch best", ".7g"), ("torch_median", "torch median", ".7g"),
                       ("best_ratio", "best/opt", ".5f"), ("median_ratio", "median/opt", ".5f"),
                       ("torch_time_run", "torch s/run", ".1f"), ("time_ratio_run", "ours/run", ".2f"),
                       ("time_ratio_all", "ours/5 runs", ".2f"), ("load", "load", ".1f")])
    print("\nbest/opt, median/opt: torch's loss over covcone's certified optimum (≥ 1 up to the tolerance);"
          "\nours/run, ours/5 runs: covcone's time over one torch run / over all seeds (> 1: covcone slower).")
    bad = [(r["instance"], r["cost"], r["width"]) for r in rows if r["torch_below_lower"]]
    if bad:
        print(f"WARNING: a torch loss is below covcone's lower bound: {bad}")
    write_json(args.out or default_out(__file__, args.quick),
               {"machine": info, "lam": LAM, "beta": BETA, "train": train, "rows": rows})
    return rows


if __name__ == "__main__":
    main()
