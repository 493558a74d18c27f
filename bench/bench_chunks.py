"""Chunk planning against step-by-step planning on the same random MDP.

Run:  python bench/bench_chunks.py          (|S| = 20, 40, 80; N = 5, 20)

Each row builds a random layered MDP (every step moves to a later state, 3 successors,
the last state absorbs), derives exactly the tables X, T, U_C of one chunk per action
("repeat the action until the state is a multiple of 5") plus the one-step chunks, and
solves the N-step chunk planning world; beside it, cp.solve of the step-by-step N-step
planning world. The ratio is chunk planning time over step-by-step time. No peer
library plans with options exactly, so the ratio is against cpspec's own solver.
"""

from __future__ import annotations

import random
import time
from fractions import Fraction

import cpspec as cp


def layered(n: int, seed: int) -> cp.MDP:
    rng = random.Random(seed)
    P, R = {}, {}
    for s in range(n):
        for a in ("a", "b"):
            later = list(range(s + 1, n)) or [s]
            succ = rng.sample(later, min(3, len(later)))
            w = [rng.randint(1, 4) for _ in succ]
            P[(s, a)] = {x: Fraction(k, sum(w)) for x, k in zip(succ, w)}
            R[(s, a)] = rng.randint(0, 9)
    return cp.MDP(list(range(n)), ["a", "b"], lambda s, a: P[(s, a)],
                  lambda s, a, s2: R[(s, a)], 0, gamma="9/10")


def main() -> None:
    print(f"{'|S|':>5} {'N':>4} {'derive s':>9} {'plan s':>8} {'step s':>8} {'ratio':>7}")
    for n in (20, 40, 80):
        env = layered(n, n)
        last = n - 1
        pols = {f"{a}*": (lambda s, a=a: "end" if s % 5 == 0 and s else a)
                for a in ("a", "b")}
        pols = {k: (lambda s, f=f: "end" if s == last else f(s)) for k, f in pols.items()}
        for N in (5, 20):
            t0 = time.perf_counter()
            model = cp.chunks(env, pols, primitive=True)
            t1 = time.perf_counter()
            model.plan(N)
            t2 = time.perf_counter()
            cp.solve(env, N)
            t3 = time.perf_counter()
            print(f"{n:>5} {N:>4} {t1 - t0:>9.3f} {t2 - t1:>8.3f} {t3 - t2:>8.3f} "
                  f"{(t2 - t0) / (t3 - t2):>7.1f}")


if __name__ == "__main__":
    main()
