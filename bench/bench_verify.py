"""Verification time of myopic(N) against |S|, |A| and N, on random MDPs.

Run:  python bench/bench_verify.py            (the full grid, about a minute)
      python bench/bench_verify.py 20 4 20    (one row: |S| |A| N)

No peer library verifies these properties, so this benchmark reports growth, not
ratios. Each row verifies myopic(N) for an STH agent with planning horizon N (holds by
structure: its planning world has no steps >= N) and for FP (fails: an exact witness,
a continuation value at one state, replayed exactly), on the same random MDP: every
state-action pair has 3 random successors with weights 1..4 and rewards 0..9, gamma =
9/10, so the chains mix fast and the actions' reach probabilities at step N differ by
ever smaller amounts as N grows. The last column is the counterexample's value (at one
state, 0 elsewhere; 0: the values 0 everywhere already flip an action).
"""

from __future__ import annotations

import random
import sys
import time
from fractions import Fraction

import cpspec as cp

GRID = [(n, m, N) for n in (20, 40, 80, 160) for m in (2, 4) for N in (5, 10, 20, 50)]


def random_mdp(n: int, m: int, seed: int) -> cp.MDP:
    rng = random.Random(seed)
    P, R = {}, {}
    for s in range(n):
        for a in range(m):
            succ = rng.sample(range(n), min(n, 3))
            w = [rng.randint(1, 4) for _ in succ]
            P[(s, a)] = {s2: Fraction(x, sum(w)) for s2, x in zip(succ, w)}
            for s2 in range(n):
                R[(s, a, s2)] = rng.randint(0, 9)
    return cp.MDP(range(n), range(m), lambda s, a: P[(s, a)],
                  lambda s, a, s2: R[(s, a, s2)], start=0, gamma="9/10")


def timed(f):
    t = time.perf_counter()
    out = f()
    return time.perf_counter() - t, out


def value(v) -> str:
    if v.counterexample is None:
        return "-"
    vals = [c for c in v.counterexample.data["continuation_values"].values() if c]
    return f"{float(vals[0]):.1e}" if vals else "0"


def main(argv: list[str]) -> int:
    grid = [tuple(map(int, argv))] if argv else GRID
    print(f"{'|S|':>4} {'|A|':>3} {'N':>3} {'STH(N) myopic(N)':<20} {'FP myopic(N)':>16} "
          f"{'method':>8} {'value':>8}")
    for n, m, N in grid:
        mdp = random_mdp(n, m, seed=n * 100 + m * 10 + N)
        t1, v1 = timed(lambda: cp.verify(cp.agents.STH(mdp, horizon=N), cp.myopic(N)))
        t2, v2 = timed(lambda: cp.verify(cp.agents.FP(mdp), cp.myopic(N), timeout=60))
        print(f"{n:>4} {m:>3} {N:>3} {t1:>6.3f} s {v1.status:>5}/{v1.method[:6]:<6} "
              f"{t2:>6.2f} s {v2.status:>7} {v2.method:>8} {value(v2):>8}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
