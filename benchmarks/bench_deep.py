r"""Benchmark of the depth-L block-coordinate solver (covcone.deep; paper Prop. 5, docs/design.md §2).

Time per sweep and per block solve against N and L on random data (ReLU, β = 1, MSE, λ = 0.01,
2-D inputs, 2-D outputs), and — when torch is importable — the loss of the best of a few
Adam + L-BFGS runs at width N(N+1) (the Carathéodory width: any covariance pair is reachable),
evaluated by the same forward pass (``Network.from_torch`` then ``Problem.loss``).

    python benchmarks/bench_deep.py --quick            # N ∈ {4, 6}, L ∈ {3, 4}
    python benchmarks/bench_deep.py                    # N ∈ {4, …, 12}, L ∈ {3, 4, 5}
    python benchmarks/bench_deep.py --no-torch
    python benchmarks/bench_deep.py --acceptance       # 20 seeded instances vs best of 5 torch runs
    python benchmarks/bench_deep.py --acceptance --instances 8   # the first 8 of them

Note: for N ≤ 13 every block uses the exact pricing oracle (3^N sign patterns), so block time
grows like 3^N; above, blocks use the heuristic oracle and are not certified.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from covcone.deep import solve_deep
from covcone.problem import Problem


def torch_baseline(problem: Problem, *, seeds: int, adam_steps: int, lbfgs_steps: int) -> tuple[float, float]:
    """Best forward-pass loss of ``seeds`` Adam + L-BFGS runs at width N(N+1), and seconds."""
    from _common import train_torch

    t0 = time.perf_counter()
    best = min(
        train_torch(problem.X, problem.Y, width=problem.N * (problem.N + 1), lam=problem.lam, beta=problem.beta,
                    seed=seed, adam_steps=adam_steps, lbfgs_steps=lbfgs_steps, depth=problem.depth)[1]
        for seed in range(seeds)
    )
    return float(best), time.perf_counter() - t0


ACCEPT_NS = (6, 8, 10, 12)


def acceptance_instance(i: int):
    """Instance ``i`` of the acceptance set: N = 6, 8, 10, 12 cycling, X (N, 2), Y (N, 2) from a random
    ReLU teacher (3 neurons, biases) plus Gaussian noise 0.1, seed 1000 + i."""
    from _common import teacher_student

    N = ACCEPT_NS[i % len(ACCEPT_NS)]
    X, Y = teacher_student(N, 2, 2, width=3, noise=0.1, rng=1000 + i)
    return N, X, Y


def acceptance(args) -> dict:
    r"""The deep acceptance run: covcone's DEFAULT ``solve(X, Y, depth=3, activation="relu", lam=1e-2, beta=1)`` against
    the best of five Adam + L-BFGS runs (``train_torch``, 2000 + 500 steps, width N(N+1)); both losses
    by the same forward pass.  Win: covcone's loss ≤ torch's best.  Also checks that the returned
    network's forward-pass loss reproduces ``upper`` to 1e-9."""
    import covcone
    from _common import load_now, machine_info, print_table, torch_runs, write_json

    try:
        import torch  # noqa: F401

        use_torch = not args.no_torch
    except ImportError:
        use_torch = False
        print("(torch not installed: covcone side only, no win fraction)")
    lam, beta = 1e-2, 1.0
    rows = []
    cols = [("i", "i", "d"), ("N", "N", "d"), ("covcone", "covcone loss", ".8f"), ("cc_s", "covcone s", ".1f"),
            ("init", "best init", "s"), ("repro", "|upper − fwd|", ".1e")]
    if use_torch:
        cols += [("torch", "torch best", ".8f"), ("torch_s", "torch s", ".1f"), ("rel", "rel. diff", ".2e"),
                 ("win", "win", "")]
    print(f"deep acceptance: ReLU, depth 3, λ = {lam:g}, β = {beta:g}, MSE, X (N, 2), Y (N, 2) teacher + noise; "
          f"covcone default solve (rng = instance seed); torch best of 5 at width N(N+1); load {load_now()}", flush=True)
    for i in range(args.instances):
        N, X, Y = acceptance_instance(i)
        t0 = time.perf_counter()
        res = covcone.solve(X, Y, depth=3, activation="relu", lam=lam, beta=beta, rng=1000 + i)
        cc_s = time.perf_counter() - t0
        p = Problem(X, Y, depth=3, activation="relu", lam=lam, beta=beta, cost="mse")
        fwd = p.loss(res.network)
        row = {"i": i, "N": N, "covcone": res.upper, "cc_s": cc_s, "init": res.extra["init"],
               "repro": abs(res.upper - fwd), "certified": res.certified, "lower": res.lower,
               "widths": list(res.network.widths), "start_pool": res.extra.get("start_pool"),
               "restart_losses": list(res.extra["restart_losses"])}
        if use_torch:
            tr = torch_runs(X, Y, width=N * (N + 1), seeds=5, lam=lam, beta=beta, depth=3)
            row.update(torch=tr["best"], torch_s=tr["time_total"], torch_losses=tr["losses"],
                       rel=(tr["best"] - res.upper) / res.upper, win=bool(res.upper <= tr["best"]))
        rows.append(row)
        print(" ".join(f"{k}={fmt_cell(row[k], spec)}" for k, _, spec in cols), flush=True)
    print()
    print_table(rows, cols)
    summary = {"instances": len(rows), "covcone_time_max": max(r["cc_s"] for r in rows),
               "covcone_time_mean": float(np.mean([r["cc_s"] for r in rows])),
               "repro_max": max(r["repro"] for r in rows)}
    if use_torch:
        wins = sum(r["win"] for r in rows)
        summary.update(wins=wins, win_fraction=wins / len(rows),
                       torch_time_mean=float(np.mean([r["torch_s"] for r in rows])),
                       rel_diff_min=min(r["rel"] for r in rows))
        print(f"\ncovcone ≤ torch best-of-5 on {wins}/{len(rows)} instances ({100 * wins / len(rows):.0f} %; "
              f"target ≥ 90 % of 20)")
    print(f"covcone time per instance: mean {summary['covcone_time_mean']:.1f} s, max {summary['covcone_time_max']:.1f} s; "
          f"max |upper − forward-pass loss| = {summary['repro_max']:.1e} (target ≤ 1e-9)")
    if use_torch:
        print(f"torch (5 runs) time per instance: mean {summary['torch_time_mean']:.1f} s")
    out = args.out or str(Path(__file__).with_name("bench_deep_acceptance.json"))
    write_json(out, {"benchmark": "bench_deep --acceptance", "machine": machine_info(), "summary": summary,
                     "rows": rows})
    return summary


def fmt_cell(x, spec):
    from _common import fmt

    return fmt(x, spec) if spec else fmt(x)


def main(argv=None) -> list:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--acceptance", action="store_true",
                    help="deep acceptance: 20 seeded ReLU depth-3 instances, default solve vs best of 5 torch runs")
    ap.add_argument("--instances", type=int, default=20, help="with --acceptance: run the first n instances")
    ap.add_argument("--out", default=None, help="with --acceptance: JSON output (default bench_deep_acceptance.json)")
    ap.add_argument("--no-torch", action="store_true", help="skip the torch baseline")
    ap.add_argument("--max-sweeps", type=int, default=None, help="sweep limit per run (default 40; 20 with --quick)")
    ap.add_argument("--init", default="linear", choices=("linear", "random", "gradient", "auto"))
    ap.add_argument("--restarts", type=int, default=1, help="covcone runs (the others from random inits)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.acceptance:
        return acceptance(args)
    Ns = (4, 6) if args.quick else (4, 6, 8, 10, 12)
    Ls = (3, 4) if args.quick else (3, 4, 5)
    sweeps = args.max_sweeps or (20 if args.quick else 40)
    use_torch = False
    if not args.no_torch:
        try:
            import torch  # noqa: F401

            use_torch = True
        except ImportError:
            print("(torch not installed: no baseline)")
    tkw = dict(seeds=2, adam_steps=300, lbfgs_steps=100) if args.quick else dict(seeds=3, adam_steps=2000,
                                                                                   lbfgs_steps=300)

    head = (f"{'N':>3} {'L':>2} {'sweeps':>6} {'blocks':>6} {'s/sweep':>8} {'s/block':>8} {'total s':>8} "
            f"{'covcone loss':>13} {'certified blocks':>16}")
    if use_torch:
        head += f" {'torch loss':>11} {'torch s':>8} {'rel. diff':>9}"
    print("ReLU, β = 1, MSE, λ = 0.01, X (N, 2), Y (N, 2); covcone init", repr(args.init), "restarts", args.restarts,
          "rtol 1e-7, max_sweeps =", sweeps)
    print(head)
    print("-" * len(head))
    rows = []
    for N in Ns:
        rng = np.random.default_rng(args.seed + N)
        X = rng.standard_normal((N, 2))
        Y = rng.standard_normal((N, 2))
        for L in Ls:
            p = Problem(X, Y, depth=L, activation="relu", lam=0.01, beta=1.0, cost="mse")
            t0 = time.perf_counter()
            res = solve_deep(p, init=args.init, restarts=args.restarts, max_sweeps=sweeps, rtol=1e-7,
                             rng=args.seed)
            total = time.perf_counter() - t0
            blocks = [h for h in res.history if isinstance(h["block"], int)]  # block solves, not polishes
            t_sweeps = res.history[-1]["time"] - res.history[0]["time"]
            ns = len({(h["restart"], h["sweep"]) for h in res.history if h["sweep"] >= 1})  # over all runs
            cert = sum(1 for c in res.extra["block_certified"].values() if c)
            row = {"N": N, "L": L, "sweeps": ns, "blocks": len(blocks), "s_per_sweep": t_sweeps / max(ns, 1),
                   "s_per_block": t_sweeps / max(len(blocks), 1), "total": total, "loss": res.upper}
            line = (f"{N:>3} {L:>2} {ns:>6} {len(blocks):>6} {row['s_per_sweep']:>8.3f} {row['s_per_block']:>8.3f} "
                    f"{total:>8.2f} {res.upper:>13.8f} {f'{cert}/{L - 1}':>16}")
            if use_torch:
                tl, tt = torch_baseline(p, **tkw)
                row.update(torch_loss=tl, torch_time=tt)
                line += f" {tl:>11.8f} {tt:>8.2f} {(tl - res.upper) / res.upper:>9.2e}"
            rows.append(row)
            print(line, flush=True)
    print("sweeps, blocks: totals over all runs (each run stops when a sweep lowers the loss by < 1e-7 relative, or at the limit); s/sweep: seconds per sweep (the first sweep solves L−1 blocks, later ones L−2: the turn block is "
          "not re-solved; s/sweep includes the joint polish); s/block: per block solve; rel. diff > 0: torch's loss is above covcone's")
    return rows


if __name__ == "__main__":
    main()
