r"""covcone against pyscnn (pilancilab/scnn, ``import scnn``) on scalar outputs.

Instances: teacher–student data, 2-D inputs with bias (input rank 3), one output, noise 0.1,
ReLU, MSE, λ = 1e-3, β = 1; N = 50 … 1000 (quick: 50, 100, 200).  Then two real data sets
shipped with scikit-learn (no download), reduced to 2 standardised features, scalar MSE
targets, same λ and β (skipped by ``--quick``):

* diabetes (N = 442): features ``bmi`` and ``s5``, the standardised disease progression;
* breast cancer (N = 569): the first two principal components of the 30 standardised
  features, target ±1 (malignant / benign) regressed by MSE.

pyscnn solves the convex reformulation of Pilanci & Ergen (2020) over a *sampled* set of gate
patterns (``sample_gate_vectors``, here ``min(2N, 500)`` gates; duplicates are dropped), by its
own CVXPY program (``CVXPYSolver``; Clarabel through a two-line shim, so both sides use the same
interior-point solver).  Settings: ``unitize_data=False`` (no column normalisation),
``dtype="float64"``, the inputs augmented with the constant column β and ``bias=False`` (so the
gates are sampled in 3-D and the hidden biases are weights with the same penalty as covcone's),
``NeuronGL1(λ)``.  Up to N = 200 each side's time is the median of three runs.

Scaling conversion.  scnn minimises

    (1/(2N))‖ŷ − y‖² + λ_s Σ_i (‖u_i‖ + ‖v_i‖),

and the two-layer network it returns, balanced, has (1/(2N))‖ŷ − y‖² + (λ_s/2)(‖W_1‖² + ‖W_2‖²)
equal to that objective.  covcone's loss is (1/N)‖ŷ − y‖² + λ(‖W_1‖² + ‖W_2‖²); hence with
λ_s = λ, **covcone loss = 2 × scnn objective** (checked below: "obj×2" against "fwd loss").

Differences that the table shows rather than hides: scnn has **no output bias** (covcone has
β·c_0, penalised by λc_0²), so scnn's network is feasible for covcone's problem and its loss is
≥ covcone's optimum; and scnn's patterns are sampled, so its value is an upper bound that
approaches the optimum only as the gate count grows.  Reported: covcone's certified loss
(upper), lower bound and time; scnn's objective ×2, the forward-pass loss of the network it
returns (covcone's ``Network.loss``), its time; the ratios scnn loss / covcone loss and covcone
time / scnn time.

    python benchmarks/bench_vs_pyscnn.py --quick
    python benchmarks/bench_vs_pyscnn.py
"""
from __future__ import annotations

import sys

from _common import (base_parser, default_out, load_now, machine_info, pca_standardised, print_header, print_table,
                     run_scnn, run_solve, seed_everything, standardise, teacher_student, write_json)

LAM, BETA, TOL = 1e-3, 1.0, 1e-6


def real_diabetes():
    """scikit-learn's diabetes: features bmi and s5 (standardised), standardised target."""
    from sklearn.datasets import load_diabetes

    D = load_diabetes()
    cols = [list(D.feature_names).index("bmi"), list(D.feature_names).index("s5")]
    return standardise(D.data[:, cols]), standardise(D.target[:, None])[:, 0]


def real_breast_cancer():
    """scikit-learn's breast cancer: first two principal components of the standardised
    features (standardised), target ±1."""
    from sklearn.datasets import load_breast_cancer

    D = load_breast_cancer()
    return pca_standardised(standardise(D.data)), 2.0 * D.target - 1.0


def main(argv=None):
    p = base_parser(__doc__, __file__)
    p.add_argument("--max-gates", type=int, default=500)
    args = p.parse_args(argv)
    try:
        import scnn  # noqa: F401  (only checking that it is installed)
    except ImportError:
        print("bench_vs_pyscnn needs pyscnn; install it without its torchvision dependency (which would "
              "replace the pinned torch): pip install --no-deps pyscnn opt_einsum linalg_backends")
        return 2
    seed_everything(args.seed)
    info = machine_info()
    print_header("bench_vs_pyscnn — scalar outputs, 2-D inputs + bias, ReLU, MSE, λ = 1e-3, β = 1", info)
    sizes = [50, 100, 200] if args.quick else [50, 100, 200, 400, 1000]
    Xw, Yw = teacher_student(12, 2, 1, noise=0.1, rng=0)  # warm-up of both (imports, compiled kernels): not timed
    run_solve(Xw, Yw, lam=LAM, beta=BETA, tol=TOL, rng=0)
    run_scnn(Xw, Yw, lam=LAM, n_gates=24, seed=0, beta=BETA)
    rows = []
    cases = [(f"teacher-student N = {N}", lambda N=N: teacher_student(N, 2, 1, noise=0.1, rng=args.seed + N))
             for N in sizes]
    if not args.quick:
        cases += [("diabetes (bmi, s5)", real_diabetes), ("breast cancer (PCA-2)", real_breast_cancer)]
    for name, make in cases:
        X, Y = make()
        N = X.shape[0]
        n_gates = min(2 * N, args.max_gates)
        # sub-second solves are timed as the median of three runs of each side (one run's time
        # varies by ±20 % there); larger ones once
        reps = 3 if N <= 200 else 1
        rs = [run_solve(X, Y, lam=LAM, beta=BETA, tol=TOL, rng=args.seed) for _ in range(reps)]
        ss = [run_scnn(X, Y, lam=LAM, n_gates=n_gates, seed=args.seed, beta=BETA) for _ in range(reps)]
        r = sorted(rs, key=lambda x: x["time"])[reps // 2]
        s = sorted(ss, key=lambda x: x["time"])[reps // 2]
        row = {"data": name, "N": N, "certified": r["certified"], "upper": r["upper"], "lower": r["lower"], "gap": r["gap"],
               "neurons": r["n_neurons"], "time": r["time"], "scnn_gates": n_gates, "scnn_patterns": s["n_patterns"],
               "scnn_obj_x2": s["objective_x2"], "scnn_loss": s["loss"], "scnn_neurons": s["n_neurons"],
               "scnn_time": s["time"], "loss_ratio": s["loss"] / r["upper"], "time_ratio": r["time"] / s["time"],
               "scnn_below_lower": s["loss"] < r["lower"] - 1e-9, "load": load_now(), "message": r["message"]}
        rows.append(row)
        print(f"  {name}: covcone {r['time']:.1f} s ({r['status']}), pyscnn {s['time']:.1f} s", flush=True)
    print()
    print_table(rows, [("data", "data", ""), ("N", "N", ""), ("certified", "cert.", ""), ("upper", "covcone loss", ".8g"),
                       ("gap", "gap", ".1e"), ("neurons", "neurons", ""), ("time", "covcone [s]", ".1f"),
                       ("scnn_patterns", "scnn patterns", ""), ("scnn_obj_x2", "scnn obj×2", ".8g"),
                       ("scnn_loss", "scnn fwd loss", ".8g"), ("scnn_neurons", "scnn neurons", ""),
                       ("scnn_time", "scnn [s]", ".1f"), ("loss_ratio", "loss ratio scnn/ours", ".4f"),
                       ("time_ratio", "time ratio ours/scnn", ".2f"), ("load", "load", ".1f")])
    print("\nloss ratio > 1: pyscnn's network is worse (it has no output bias and samples its patterns);"
          "\ntime ratio > 1: covcone is slower.")
    bad = [r["N"] for r in rows if r["scnn_below_lower"]]
    if bad:
        print(f"WARNING: pyscnn's loss is below covcone's lower bound at N = {bad} (should be impossible)")
    write_json(args.out or default_out(__file__, args.quick), {"machine": info, "lam": LAM, "beta": BETA, "rows": rows})
    return rows


if __name__ == "__main__":
    sys.exit(0 if isinstance(main(), list) else 2)
