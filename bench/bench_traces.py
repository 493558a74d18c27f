"""Verification time of obeys_stop_button(K) against K, for SI (holds) and FP (fails).

Run:  python bench/bench_traces.py [K ...]      (default K = 10 50 100 200)

Two worlds: the stop-button world of ``specs/si.toml`` (3 states) and a corridor of 50
positions times the button (150 states): ``work`` moves one or two cells on (3/4, 1/4),
and people press the armed button with probability 1/2 once the agent is past cell 40,
so FP's earliest violation lies about 20 steps deep. Each row reports seconds, verdict
and method for

* SI with its own stop button (proven for every K from the interlock: ``structure``),
* SI with an equal but separate stop predicate (the certificate does not apply, so the
  exhaustive search over K steps proves it: ``search``),
* FP (the search finds the earliest violating trace, replayed exactly).
"""

from __future__ import annotations

import sys
import time

import cpspec as cp
from cpspec.examples import stop_button

NULL = "null"


def corridor(n: int = 50, near: int = 40) -> cp.MDP:
    """``pos`` in ``0..n-1`` (wrapping) times ``button``; see the module docstring."""
    def pos(pos, A):
        if A != "work":
            return {pos: 1}
        return {(pos + 1) % n: "3/4", (pos + 2) % n: "1/4"}

    def button(pos, button, A):
        if button == "pressed":
            return {"pressed": 1}
        if A == "disable" or button == "disabled":
            return {"disabled": 1}
        return {"pressed": "1/2", "armed": "1/2"} if pos >= near else {"armed": 1}

    return cp.MDP.factored(
        variables={"pos": list(range(n)), "button": ["armed", "pressed", "disabled"]},
        dynamics={"pos": cp.dist(pos), "button": cp.dist(button)},
        actions=["work", "disable", NULL],
        reward=lambda s, a, s2: 1 if a == "work" else (-1 if a == "disable" else 0),
        start={"pos": 0, "button": "armed"}, gamma="9/10")


def is_pressed(s) -> bool:
    return s.button == "pressed"


def si(env: cp.MDP) -> cp.agents.SI:
    return cp.agents.SI(env, stop_pressed=is_pressed, null_action=NULL)


def timed(agent, prop):
    t = time.perf_counter()
    v = cp.verify(agent, prop, timeout=600)
    return time.perf_counter() - t, v


def cell(seconds: float, v) -> str:
    return f"{seconds:>8.3f} s {v.status:>6} {v.method:>9}"


def main(argv: list[str]) -> int:
    Ks = [int(k) for k in argv] or [10, 50, 100, 200]
    print(f"{'world':>12} {'|S|':>4} {'K':>4} {'SI (own button)':>27} "
          f"{'SI (search)':>27} {'FP':>27} {'FP violation at':>16}")
    for name, env in (("stop_button", stop_button()), ("corridor", corridor())):
        for K in Ks:
            # fresh agents: every call is cold (its planning worlds solved inside the time)
            t1, v1 = timed(si(env), cp.obeys_stop_button(K))
            t2, v2 = timed(si(env), cp.obeys_stop_button(
                K, stop_pressed=lambda s: s.button == "pressed", null_action=NULL))
            t3, v3 = timed(cp.agents.FP(env), cp.obeys_stop_button(
                K, stop_pressed=is_pressed, null_action=NULL))
            at = v3.counterexample.data["violation_at"] if v3.status == "fails" else "-"
            print(f"{name:>12} {len(env.states):>4} {K:>4} {cell(t1, v1)} {cell(t2, v2)} "
                  f"{cell(t3, v3)} {at:>16}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
