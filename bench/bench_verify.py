"""Verification time of myopic(N) against |S|, |A| and N (Z3), on random MDPs.

Run:  python bench/bench_verify.py

No peer library verifies these properties, so this benchmark reports growth, not
ratios. Each row verifies myopic(N) for an STH agent with planning horizon N (holds:
nothing is free, Z3 proves it) and for FP (usually fails: Z3 finds continuation values
that flip an action, replayed exactly), on the same random MDP.
"""

from __future__ import annotations

import random
import sys
import time
from fractions import Fraction

import cpspec as cp


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


def main() -> int:
    print(f"{'|S|':>4} {'|A|':>4} {'N':>4} {'STH(N) myopic(N)':>20} {'FP myopic(N)':>20}")
    for n, m, N in ((5, 2, 3), (10, 2, 5), (10, 4, 5), (20, 2, 10), (20, 4, 5), (20, 4, 10),
                    (20, 4, 20), (40, 4, 10)):
        mdp = random_mdp(n, m, seed=n * 100 + m * 10 + N)
        t1, v1 = timed(lambda: cp.verify(cp.agents.STH(mdp, horizon=N), cp.myopic(N)))
        t2, v2 = timed(lambda: cp.verify(cp.agents.FP(mdp), cp.myopic(N)))
        print(f"{n:>4} {m:>4} {N:>4} {t1:>12.2f} s {v1.status:>5} {t2:>12.2f} s {v2.status:>5}",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
