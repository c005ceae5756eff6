r"""Depth-2 exact solver against its targets (docs/design.md §3.4, §7).

Cases (teacher–student data, ReLU, MSE, λ = 1e-3, β = 1, tol = 1e-6):

A. 2-D inputs with bias (input rank 3), N = 200, k = 2: certified?  Target ≤ 30 s.  Baseline: the
   naive prototype of the measurements in benchmarks/README.md certified this size in 94–208 s (not re-run here: it is not part
   of the package); the ratio against 94 s and 208 s is printed.
B. the same inputs, k = 1, against pyscnn's own CVXPY solve of the same instance, measured in the
   same run (see ``bench_vs_pyscnn.py`` and ``_common.run_scnn`` for the conversion: covcone's
   loss = 2 × scnn's objective; scnn has no output bias and samples gate patterns).
C. N = 1000, k = 2 (full mode only).  Target ≤ 10 min.
D. any input dimension: d = 6 inputs with bias (rank 7), N = 12, k = 2, certified with the 3^N
   sign-pattern oracle.  Target ≤ 60 s.

    python benchmarks/bench_shallow.py --quick     # A, B, D
    python benchmarks/bench_shallow.py             # A, B, C, D
"""
from __future__ import annotations

import numpy as np

from _common import (base_parser, default_out, load_now, machine_info, print_header, print_table, run_scnn,
                     run_solve, seed_everything, teacher_student, write_json)

LAM, BETA, TOL = 1e-3, 1.0, 1e-6
PROTOTYPE_N200 = (94.0, 208.0)  # the measurements in benchmarks/README.md: naive prototype, N = 200, k = 2, certified


def main(argv=None):
    args = base_parser(__doc__, __file__).parse_args(argv)
    seed_everything(args.seed)
    info = machine_info()
    print_header("bench_shallow — targets (depth 2, ReLU, MSE, λ = 1e-3, β = 1, tol 1e-6)", info)
    rows = []

    def case(name, N, d, k, target, note=""):
        X, Y = teacher_student(N, d, k, noise=0.1, rng=args.seed + N + 7 * d + k)
        r = run_solve(X, Y, lam=LAM, beta=BETA, tol=TOL, rng=args.seed)
        row = {"case": name, "N": N, "d": d, "k": k, "certified": r["certified"], "upper": r["upper"],
               "lower": r["lower"], "gap": r["gap"], "neurons": r["n_neurons"], "rounds": r["rounds"],
               "time": r["time"], "target": target, "time/target": r["time"] / target,
               "oracle_s": r["timings"].get("oracle"), "master_s": r["timings"].get("master"),
               "recovery_s": r["timings"].get("recovery"), "load": load_now(), "note": note,
               "oracle_per_call": r["timings"].get("oracle", float("nan")) / max(1, r["rounds"]),
               "message": r["message"]}
        rows.append(row)
        print(f"  {name}: {r['time']:.1f} s, {r['status']}, {r['n_neurons']} neurons, load {row['load']}", flush=True)
        return X, Y, row

    _, _, a = case("A", 200, 2, 2, 30.0)
    a["vs_prototype_94s"] = a["time"] / PROTOTYPE_N200[0]
    a["vs_prototype_208s"] = a["time"] / PROTOTYPE_N200[1]

    X, Y, b = case("B", 200, 2, 1, 30.0)
    n_gates = 400
    s = run_scnn(X, Y, lam=LAM, n_gates=n_gates, seed=args.seed, beta=BETA)
    b.update(scnn_time=s["time"], scnn_loss=s["loss"], scnn_objective_x2=s["objective_x2"],
             scnn_patterns=s["n_patterns"], scnn_neurons=s["n_neurons"],
             time_ratio_vs_scnn=b["time"] / s["time"], scnn_loss_over_ours=s["loss"] / b["upper"])
    print(f"  B (pyscnn CVXPY/Clarabel, {n_gates} gates → {s['n_patterns']} patterns): {s['time']:.1f} s, "
          f"forward-pass loss {s['loss']:.6g}", flush=True)

    if not args.quick:
        case("C", 1000, 2, 2, 600.0)
    case("D", 12, 6, 2, 60.0, note="rank 7: 3^12 sign patterns")

    print()
    print_table(rows, [("case", "case", ""), ("N", "N", ""), ("d", "d", ""), ("k", "k", ""),
                       ("certified", "cert.", ""), ("upper", "upper", ".8g"), ("gap", "gap", ".1e"),
                       ("neurons", "neurons", ""), ("rounds", "rounds", ""), ("time", "time [s]", ".1f"),
                       ("target", "target [s]", ".0f"), ("time/target", "time/target", ".2f"),
                       ("oracle_s", "oracle [s]", ".1f"), ("oracle_per_call", "oracle/round [s]", ".2f"),
                       ("master_s", "master [s]", ".1f"),
                       ("recovery_s", "recov. [s]", ".1f"), ("load", "load", ".1f")])
    print(f"\nA vs the naive prototype (94–208 s, the measurements in benchmarks/README.md): time ratio {a['vs_prototype_94s']:.2f}–"
          f"{a['vs_prototype_208s']:.2f} (< 1: faster)")
    print(f"B vs pyscnn CVXPY ({b['scnn_patterns']} sampled patterns, Clarabel): pyscnn {b['scnn_time']:.1f} s, "
          f"time ratio covcone/pyscnn {b['time_ratio_vs_scnn']:.2f}; pyscnn's network loss "
          f"{b['scnn_loss']:.8g} = {b['scnn_loss_over_ours']:.4f} × covcone's certified {b['upper']:.8g} "
          f"(pyscnn has no output bias; its objective ×2 = {b['scnn_objective_x2']:.8g})")
    for r in rows:
        if not r["certified"]:
            print(f"NOT certified, case {r['case']}: {r['message']}")
    write_json(args.out or default_out(__file__, args.quick), {"machine": info, "rows": rows})
    return rows


if __name__ == "__main__":
    main()
