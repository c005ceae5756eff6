r"""Representation cost R(X, Y; L) and the rank of hidden covariances as the depth L grows.

Jacot, Golikov, Hongler & Gabriel, *Feature Learning in L2-regularized DNNs* (NeurIPS 2022):
with L2 regularisation, deeper networks pay ``R(X, Y; L)``, which grows about linearly in L, and
``R/L`` tends to a rank-like quantity: deep networks learn low-rank hidden representations.
Here a teacher whose outputs depend on X through ``r`` linear features (``--teacher-rank``)
is interpolated (cost ``"interpolate"``) by ReLU networks of depth L = 2 … L_max:

* L = 2 is the convex depth-2 problem, solved to certified optimality (``covcone.solve``);
* L ≥ 3 uses the block-coordinate solver of :mod:`covcone.deep` (paper Prop. 5, docs/design.md §2):
  each layer re-solved exactly given its neighbours — a local optimum, not a certified one.

Prints, per L: R, R/L, the numerical ranks of the hidden covariances K_ℓ (eigenvalues above
``--rank-rtol`` times the largest) and the solve time; plots R/L and the ranks against L when
matplotlib is installed (``--out depth_rank.png``).

    python examples/depth_rank.py --quick      # N = 6, L = 2..5, < 2 min
    python examples/depth_rank.py              # N = 8, L = 2..8
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import covcone


def teacher(N: int, d: int, rank: int, rng: np.random.Generator):
    """Inputs X (N, d) and outputs Y (N, 3) that depend on X through ``rank`` features only."""
    X = rng.standard_normal((N, d))
    V = np.linalg.qr(rng.standard_normal((d, rank)))[0]
    H = X @ V  # the `rank` features
    Y = np.column_stack([np.maximum(H[:, 0], 0.0), H.sum(axis=1), np.maximum(-H[:, -1], 0.0)])
    return X, Y


def numerical_ranks(net, X, rtol: float) -> list:
    """Numerical ranks of the hidden covariances K_ℓ = Z_ℓ Z_ℓᵀ, ℓ = 1..L−1."""
    out = []
    for Z in net.preactivations(X)[:-1]:
        w = np.linalg.eigvalsh(Z @ Z.T)
        out.append(int(np.sum(w > rtol * max(w.max(), 1e-300))))
    return out


def main(argv=None) -> list:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="N = 6, L = 2..5, few sweeps (< 2 min)")
    ap.add_argument("--N", type=int, default=None, help="number of points (default 8; 6 with --quick)")
    ap.add_argument("--L-max", type=int, default=None, help="largest depth (default 8; 5 with --quick)")
    ap.add_argument("--teacher-rank", type=int, default=1, choices=(1, 2))
    ap.add_argument("--max-sweeps", type=int, default=None, help="per depth (default 20; 6 with --quick)")
    ap.add_argument("--rank-rtol", type=float, default=1e-3, help="relative eigenvalue cut-off for ranks")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="depth_rank.png", help="figure file (needs matplotlib)")
    ap.add_argument("--no-plot", action="store_true")
    args = ap.parse_args(argv)
    N = args.N or (6 if args.quick else 8)
    L_max = args.L_max or (5 if args.quick else 8)
    sweeps = args.max_sweeps or (6 if args.quick else 20)
    rng = np.random.default_rng(args.seed)
    X, Y = teacher(N, 3, args.teacher_rank, rng)

    print(f"teacher of rank {args.teacher_rank}: N = {N}, d = 3, k = 3, ReLU, β = 1, cost 'interpolate'")
    head = f"{'L':>2}  {'R':>10}  {'R/L':>8}  {'ranks of K_1..K_(L-1)':<26} {'time':>7}  note"
    print(head)
    print("-" * len(head))
    rows = []
    for L in range(2, L_max + 1):
        t0 = time.perf_counter()
        kw = {} if L == 2 else {"init": "auto", "max_sweeps": sweeps}
        res = covcone.solve(X, Y, depth=L, activation="relu", beta=1.0, cost="interpolate", rng=args.seed, **kw)
        dt = time.perf_counter() - t0
        ranks = numerical_ranks(res.network, X, args.rank_rtol)
        if L == 2:
            note = "certified global optimum" if res.certified else f"depth 2, {res.status}"
        else:
            cert = [ell for ell, c in res.extra["block_certified"].items() if c]
            note = f"{res.extra['n_sweeps']} sweeps; blocks certified given neighbours: {cert}"
        rows.append({"L": L, "R": res.upper, "R/L": res.upper / L, "ranks": ranks, "time": dt})
        print(f"{L:>2}  {res.upper:>10.5f}  {res.upper / L:>8.5f}  {str(ranks):<26} {dt:>6.1f}s  {note}")

    if not args.no_plot:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            print("(matplotlib not installed: table only)")
        else:
            fig, ax = plt.subplots(1, 2, figsize=(9, 3.5))
            Ls = [r["L"] for r in rows]
            ax[0].plot(Ls, [r["R/L"] for r in rows], "o-")
            ax[0].set_xlabel("depth L")
            ax[0].set_ylabel("R(X, Y; L) / L")
            for r in rows:
                ax[1].plot(range(1, r["L"]), r["ranks"], "o-", label=f"L = {r['L']}")
            ax[1].set_xlabel("hidden layer ℓ")
            ax[1].set_ylabel("numerical rank of K_ℓ")
            ax[1].legend(fontsize=7)
            fig.tight_layout()
            fig.savefig(args.out, dpi=120)
            print(f"figure saved to {args.out}")
    return rows


if __name__ == "__main__":
    main()
