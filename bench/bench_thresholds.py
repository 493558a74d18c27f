"""Plan thresholds over one parameter: the line search of cp.plan_thresholds against
cp.solve with the parameter symbolic (parametric regions), on the car factory of
Holtman's Figure 3 (r_e at L = 6/10) and Figure 14 (p_w).

    PYTHONPATH=. python bench/bench_thresholds.py [--budget SECONDS]
"""

import argparse
import time

import sympy

import cpspec as cp
from cpspec.examples import car_factory


def timed(f):
    t = time.perf_counter()
    try:
        out = f()
    except cp.BudgetError:
        out = None
    return out, time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=float, default=300.0,
                    help="seconds for each parametric solve")
    args = ap.parse_args()
    r_e, p_w = sympy.symbols("r_e p_w")
    cases = [("Figure 3, r_e in [0, 4], 25 steps",
              car_factory("6/10", electric_after_press=r_e), 25, r_e, (0, 4)),
             ("Figure 14 f0, p_w in [0, 1], 10 steps",
              car_factory(None, gamble=p_w, horizon=10), 10, p_w, (0, 1))]
    print(f"{'case':42} {'line search':>12} {'probes':>7} {'parametric':>12} {'ratio':>7}")
    for name, m, H, x, box in cases:
        found, t_line = timed(lambda: cp.plan_thresholds(m, H, x, box, timeout=None))
        sol, t_par = timed(lambda: cp.solve(m, H, domain={x: sympy.Interval(*box)},
                                            timeout=args.budget))
        par = f"{t_par:10.2f} s" if sol is not None else f">{args.budget:9.0f} s"
        print(f"{name:42} {t_line:10.2f} s {found.probes:7d} {par:>12} "
              f"{t_par / t_line:6.0f}x{'+' if sol is None else ''}")


if __name__ == "__main__":
    main()
