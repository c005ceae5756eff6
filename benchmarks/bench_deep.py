r"""Benchmark of the depth-L block-coordinate solver (covcone.deep; paper Prop. 5, DESIGN §2).

Time per sweep and per block solve against N and L on random data (ReLU, β = 1, MSE, λ = 0.01,
2-D inputs, 2-D outputs), and — when torch is importable — the loss of the best of a few
Adam + L-BFGS runs at width N(N+1) (the Carathéodory width: any covariance pair is reachable),
evaluated by the same forward pass (``Network.from_torch`` then ``Problem.loss``).

    python benchmarks/bench_deep.py --quick            # N ∈ {4, 6}, L ∈ {3, 4}
    python benchmarks/bench_deep.py                    # N ∈ {4, …, 12}, L ∈ {3, 4, 5}
    python benchmarks/bench_deep.py --no-torch

Note: for N ≤ 13 every block uses the exact pricing oracle (3^N sign patterns), so block time
grows like 3^N; above, blocks use the heuristic oracle and are not certified.
"""
from __future__ import annotations

import argparse
import time

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


def main(argv=None) -> list:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-torch", action="store_true", help="skip the torch baseline")
    ap.add_argument("--max-sweeps", type=int, default=None, help="sweep limit per run (default 40; 20 with --quick)")
    ap.add_argument("--init", default="linear", choices=("linear", "random", "auto"))
    ap.add_argument("--restarts", type=int, default=1, help="covcone runs (the others from random inits)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
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
