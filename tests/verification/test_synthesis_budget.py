"""cp.synthesize's timeout is a budget for the whole call: undecided parts are unknown."""

import time

import sympy

import cpspec as cp
from cpspec.examples import stop_button
import cpspec.verification.synthesis as synthesis

STOP = dict(stop_pressed=lambda s: s.button == "pressed", null_action="null")


def test_synthesis_budget_leaves_the_rest_unknown_never_holds(monkeypatch):
    g = sympy.Symbol("gamma")
    sif = cp.agents.SIF(stop_button(gamma=g), **STOP)
    full = cp.synthesize(sif, cp.no_incentive("button"), over=g)
    assert full.fails == sympy.Interval.open(sympy.Rational(1, 2), 1)
    # every Z3 query is slow: the budget runs out after the first
    real = synthesis.check_z3
    clock = {"n": 0}

    def slow(solver):
        clock["n"] += 1
        time.sleep(0.6)
        return real(solver)
    monkeypatch.setattr(synthesis, "check_z3", slow)
    r = cp.synthesize(sif, cp.no_incentive("button"), over=g, timeout=0.5)
    assert clock["n"] == 1
    assert r.unknown != sympy.S.EmptySet
    assert r.holds & r.unknown == sympy.S.EmptySet
    assert (r.holds | r.fails | r.unknown) == sympy.Interval.Ropen(0, 1)
    assert r.holds.is_subset(full.holds) and r.fails.is_subset(full.fails)


def test_synthesis_out_of_time_before_any_query_is_all_unknown():
    g = sympy.Symbol("gamma")
    sif = cp.agents.SIF(stop_button(gamma=g), **STOP)
    r = cp.synthesize(sif, cp.no_incentive("button"), over=g, timeout=1e-6)
    assert r.holds == sympy.S.EmptySet and r.unknown == sympy.Interval.Ropen(0, 1)
