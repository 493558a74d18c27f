"""Proofs over classes of worlds: time against the size of the class, and which method
decided.

Run:  python bench/bench_classes.py [n ...]

The class: every world with the interruptible corridor's variables (``pos`` with n
positions, the button ``intr``) and actions, where ``pos`` moves by any table over
``(pos, A)``, the button by any table over ``(intr, A)``, the reward is any function of
``(pos, A, pos')`` and gamma any value in [0, 1). SI has no incentive on the button in
every member (a structural lemma); SIF fails in a member (the template, or one found
and shrunk). With the button's own dynamics kept (a pressed button stays pressed), SI
obeys the stop button for every K (a lemma) and FP fails in a member. The number of
members is infinite, so no peer library answers these questions; the benchmark reports
growth in the template's |S| and the free table rows.
"""

from __future__ import annotations

import sys
import time

import sympy

import cpspec as cp
from bench_incentives import corridor


def main(sizes=(4, 25, 100)) -> None:
    stop = dict(stop_pressed=lambda s: s.intr == "pressed", null_action="null")
    print(f"{'|S|':>5} {'rows':>6} {'agent':>4} {'property':>24} {'verdict':>8} "
          f"{'method':>18} {'seconds':>9}")
    for n in sizes:
        env = corridor(n)
        free = cp.WorldClass(env, free={"pos": ["pos", "A"], "intr": ["intr", "A"]},
                             reward_reads=["pos", "A", "pos'"],
                             gamma=sympy.Interval.Ropen(0, 1), name="corridors")
        kept = cp.WorldClass(env, free={"pos": ["pos", "A"]},
                             reward_reads=["pos", "A", "pos'"],
                             gamma=sympy.Interval.Ropen(0, 1), name="stopping")
        rows = 4 * n + 12 + 4 * n * n
        cases = [("SI", cp.agents.SI(env, **stop), cp.no_incentive("intr"), free),
                 ("SIF", cp.agents.SIF(env, **stop), cp.no_incentive("intr"), free),
                 ("SI", cp.agents.SI(env, **stop), cp.obeys_stop_button(200), kept),
                 ("FP", cp.agents.FP(env),
                  cp.obeys_stop_button(20, stop["stop_pressed"], "null"), kept)]
        for name, agent, prop, cls in cases:
            t0 = time.perf_counter()
            v = cp.verify(agent, prop, over=cls, timeout=300)
            print(f"{3 * n:>5} {rows:>6} {name:>4} {str(prop)[:24]:>24} {v.status:>8} "
                  f"{v.method:>18} {time.perf_counter() - t0:>9.3f}", flush=True)


if __name__ == "__main__":
    main(tuple(int(a) for a in sys.argv[1:]) or (4, 25, 100))
