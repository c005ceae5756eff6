"""Time covcone.tight.verify_tight for N = 10 … 40 (``--quick``: N ≤ 16); print a table, write JSON."""
import argparse
import json
import time

from covcone.tight import verify_tight


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true", help="N ≤ 16 only")
    p.add_argument("--ns", type=int, nargs="*", default=None, help="explicit list of N")
    p.add_argument("--solver", default=None)
    p.add_argument("--lifted-max-n", type=int, default=16, help="largest N with the lifted SDP cross-check")
    p.add_argument("--out", default="bench_tight.json")
    args = p.parse_args(argv)
    ns = args.ns or ([10, 12, 14, 16] if args.quick else [10, 16, 20, 24, 32, 40])
    rows = []
    print(f"{'N':>4} {'passed':>7} {'time s':>8} {'UB':>12} {'LB':>12} {'LB from':<16} neurons")
    for N in ns:
        t0 = time.perf_counter()
        rep = verify_tight(N, solver=args.solver, lifted_max_n=args.lifted_max_n)
        dt = time.perf_counter() - t0
        s = rep.summary()
        s["seconds"] = dt
        rows.append(s)
        print(f"{N:>4} {str(rep.passed):>7} {dt:>8.2f} {rep.upper:>12.6f} {rep.lower:>12.6f} {rep.lower_from:<16} "
              f"{s['n_neurons']}")
    with open(args.out, "w") as f:
        json.dump(rows, f, indent=2)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
