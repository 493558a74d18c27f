"""Verification time of no_incentive on an interruptible corridor, against |S|.

Run:  python bench/bench_incentives.py

The world: a corridor of n positions (reward on reaching the end) and an interruption
button ``intr`` (idle, pressed, disabled; the action ``disable`` disables it): 3n states,
4 actions, discounted infinite horizon. SI (interlock in the learning world only) has no
incentive on the button, whatever its dynamics; SIF (the planning world contains the
interlock) has one. No peer library decides these properties, so the benchmark reports
growth in |S| and which method decided (structure, witness, Z3).
"""

from __future__ import annotations

import sys
import time

import cpspec as cp


def corridor(n: int) -> cp.MDP:
    """The interruptible corridor with ``n`` positions (3n states)."""
    def step(pos, A):
        if A == "right":
            return min(pos + 1, n - 1)
        return max(pos - 1, 0) if A == "left" else pos

    def button(intr, A):
        if A == "disable" or intr == "disabled":
            return {"disabled": 1}
        return {"pressed": 1} if intr == "pressed" else {"idle": "3/4", "pressed": "1/4"}
    return cp.MDP.factored(
        variables={"pos": list(range(n)), "intr": ["idle", "pressed", "disabled"]},
        dynamics={"pos": cp.fn(step), "intr": cp.dist(button)},
        actions=["left", "right", "disable", "null"],
        reward=lambda s, a, s2: 1 if s2.pos == n - 1 else 0,
        start={"pos": 0, "intr": "idle"}, gamma="9/10")


def main(sizes=(4, 25, 100, 300)) -> None:
    stop = dict(stop_pressed=lambda s: s.intr == "pressed", null_action="null")
    print(f"{'|S|':>5} {'agent':>5} {'verdict':>8} {'method':>10} {'seconds':>9}")
    for n in sizes:
        for agent in (cp.agents.SI, cp.agents.SIF):
            t0 = time.perf_counter()
            v = cp.verify(agent(corridor(n), **stop), cp.no_incentive("intr"), timeout=120)
            print(f"{3 * n:>5} {agent.__name__:>5} {v.status:>8} {v.method:>10} "
                  f"{time.perf_counter() - t0:>9.3f}", flush=True)


if __name__ == "__main__":
    main(tuple(int(a) for a in sys.argv[1:]) or (4, 25, 100, 300))
