"""Exact regions over two parameters: cost against exact solves on a grid, and against
Storm's parameter synthesis (parameter lifting) where stormpy is installed.

Run:  PYTHONPATH=. python bench/bench_regions.py [n ...]

The model: a chain of n states; ``risky`` jumps two states ahead with probability p and
falls back to the start otherwise, ``safe`` moves one state ahead with probability q
and stays otherwise; the last state absorbs; each step pays the index of the state it starts in (progress). Planning
horizon T = 3 (as in the issue's measurement), T = n for the smallest n, and the discounted
infinite horizon with gamma = 9/10.

For each n the bench reports

* ``regions``: ``cp.solve`` over (p, q) in [0, 1]^2: the exact partition into the
  regions of the optimal policy, and how many exact solves at one point that time buys
  (the issue's target: a few dozen);
* ``grid``: exact solves of the bound model at an 11 x 11 grid of rational points (the
  sample-point baseline: it answers only at those points);
* ``where``: the exact region where the optimal value is at least c (c: the value at
  p = q = 1/2), from the regions' Piecewise value (:func:`cp.where`);
* ``storm``: the same threshold question to Storm (stormpy 2.0, parameter lifting, its
  default numeric engine: the exact one did not return within minutes, on the T-step model unrolled into a parametric MDP, ``Rmax>=c [F "end"]``) by the usual
  quadtree refinement until 95% of the box's area is decided (on [1/100, 99/100]^2:
  parameter lifting needs regions where no probability reaches 0 or 1); Storm's answer
  is approximate by construction (the rest stays undecided), cpspec's exact.
"""

from __future__ import annotations

import sys
import time
from fractions import Fraction

import sympy

import cpspec as cp

p, q = sympy.symbols("p q")
UNIT = {p: sympy.Interval(0, 1), q: sympy.Interval(0, 1)}


def chain(n: int, gamma="1") -> cp.MDP:
    last = n - 1

    def transition(s, a):
        if s == last:
            return {s: 1}
        if a == "risky":
            ahead = min(s + 2, last)
            return {ahead: p, 0: 1 - p} if ahead != 0 else {0: 1}
        return {s + 1: q, s: 1 - q}

    return cp.MDP(list(range(n)), ["risky", "safe"], transition,
                  lambda s, a, s2: s, 0, gamma=gamma)


def prism(n: int, T: int) -> str:
    """The T-step model unrolled (time t in the state) as a parametric PRISM MDP."""
    last = n - 1
    lines = ["mdp", "const double p;", "const double q;", "module chain",
             f"  s : [0..{last}] init 0;", f"  t : [0..{T}] init 0;"]
    for s in range(n):
        if s == last:
            lines.append(f"  [stay] s={s} & t<{T} -> 1:(t'=t+1);")
            continue
        ahead = min(s + 2, last)
        lines.append(f"  [risky] s={s} & t<{T} -> p:(s'={ahead})&(t'=t+1) + "
                     f"(1-p):(s'=0)&(t'=t+1);")
        lines.append(f"  [safe] s={s} & t<{T} -> q:(s'={s + 1})&(t'=t+1) + "
                     f"(1-q):(t'=t+1);")
    lines += ["endmodule", f'label "end" = t={T};',
              "rewards", f"  t<{T} : s;", "endrewards"]
    return "\n".join(lines)


def storm_partition(n: int, T: int, c: Fraction, coverage: float = 0.95):
    """Quadtree refinement with exact parameter lifting; seconds, area decided, regions
    checked (None when stormpy is missing)."""
    try:
        import stormpy
        import stormpy.pars
    except ImportError:
        return None
    import os
    import tempfile
    fd, path = tempfile.mkstemp(suffix=".prism")
    with os.fdopen(fd, "w") as fh:
        fh.write(prism(n, T))
    program = stormpy.parse_prism_program(path)
    os.unlink(path)
    t0 = time.perf_counter()
    sat = stormpy.parse_properties(f'Rmax>={float(c)!r} [F "end"]', program)[0]
    bad = stormpy.parse_properties(f'Rmax<{float(c)!r} [F "end"]', program)[0]
    model = stormpy.build_model[stormpy.RationalFunction](program, [sat])  # p, q symbolic
    # Storm's default engine (numeric value iteration); EXACT_PARAMETER_LIFTING did not
    # return within minutes on the second region of the n = 4 model
    engine = stormpy.pars.RegionCheckEngine.PARAMETER_LIFTING
    # parameter lifting needs graph-preserving regions: p, q strictly inside (0, 1)
    lo, hi = Fraction(1, 100), Fraction(99, 100)
    todo = [(lo, hi, lo, hi)]
    area, decided, checks = (hi - lo) ** 2, Fraction(0), 0
    while todo and decided < coverage * area:
        x0, x1, y0, y1 = todo.pop(0)
        text = f"{x0}<=p<={x1},{y0}<=q<={y1}"
        region = stormpy.pars.parse_region(text, model.collect_all_parameters())
        done = False
        for prop in (sat, bad):
            checks += 1
            try:
                if stormpy.pars.verify(model, prop, region=region,
                                       region_engine=engine):
                    done = True
                    break
            except RuntimeError:   # not graph-preserving: cannot happen inside (0, 1)^2
                break
        if done:
            decided += (x1 - x0) * (y1 - y0)
        elif (x1 - x0) > Fraction(1, 128):
            xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
            todo += [(x0, xm, y0, ym), (xm, x1, y0, ym), (x0, xm, ym, y1), (xm, x1, ym, y1)]
    return time.perf_counter() - t0, float(decided / area), checks


def best_of(k, f):
    times, out = [], None
    for _ in range(k):
        t0 = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t0)
    return min(times), out


#: Seconds one partition may take (cp.solve's timeout= budget for the whole call).
BUDGET = 120


def main(sizes=(4, 6, 8, 10)) -> None:
    print(f"{'n':>3} {'T':>4} {'regions s':>10} {'#':>3} {'solve s':>9} {'= solves':>9} "
          f"{'grid s':>8} {'where s':>8} {'storm s':>8} {'decided':>8} {'checks':>7}")
    for n in sizes:
        for T in ((3, n, sympy.oo) if n == sizes[0] else (3, sympy.oo)):
            m = chain(n, "1" if T is not sympy.oo else "9/10")
            try:
                t_reg, sol = best_of(1, lambda: cp.solve(m, T, domain=UNIT, timeout=BUDGET))
            except cp.BudgetError:
                print(f"{n:>3} {'oo' if T is sympy.oo else T:>4}  > {BUDGET} s: the regions "
                      "were not done within the budget (BudgetError)")
                continue
            t_one, _ = best_of(3, lambda: cp.solve(m.bind(p="1/3", q="2/3"), T))
            grid = [Fraction(i, 10) for i in range(11)]
            t_grid, _ = best_of(1, lambda: [cp.solve(m.bind(p=a, q=b), T)
                                            for a in grid for b in grid])
            tt = "oo" if T is sympy.oo else str(T)
            storm = ""
            t_where = float("nan")
            if T is not sympy.oo:
                c = Fraction(str(sol.at({p: "1/2", q: "1/2"}).value))
                t_where, _ = best_of(1, lambda: cp.where(sol.value >= sympy.Rational(c),
                                                         domain=UNIT, timeout=None))
                got = storm_partition(n, T, c)
                storm = ("   (stormpy not installed)" if got is None else
                         f"{got[0]:8.2f} {got[1]:8.1%} {got[2]:7d}")
            print(f"{n:>3} {tt:>4} {t_reg:10.2f} {len(sol.pieces):>3} {t_one:9.4f} "
                  f"{t_reg / t_one:9.0f} {t_grid:8.2f} {t_where:8.2f} {storm}")
            sys.stdout.flush()


if __name__ == "__main__":
    main(tuple(int(a) for a in sys.argv[1:]) or (4, 6, 8, 10))
