"""myopic(N, slack=k, within=eps): an STH agent planning with chunks is checked on the
exact distribution of its plan's effective horizon; step-by-step agents keep myopic's
meaning with N + k. Counterexamples replay from the chunk tables."""

from fractions import Fraction

import pytest
import sympy

import cpspec as cp
from cpspec.examples import delayed_reward


def ladder():
    """0..4; a0 climbs one or two rungs (1/2 each), a1 stays; reward: rungs climbed."""
    def t(s, a):
        if a == "a1" or s == 4:
            return {s: 1}
        return {s + 1: 1} if s == 3 else {s + 1: Fraction(1, 2), s + 2: Fraction(1, 2)}
    return cp.MDP(list(range(5)), ["a0", "a1"], t, lambda s, a, s2: s2 - s, 0, gamma=1)


def climber(horizon=2):
    env = ladder()
    m = cp.chunks(env, {"climb": lambda s: "end" if s >= 3 else "a0"}, primitive=True)
    return cp.agents.STH(env, horizon=horizon, chunks=m)


def test_the_probability_of_looking_past_n_plus_k_decides():
    sth = climber()                 # from 0: climb ends at step 2 (3/4) or 3 (1/4)
    v = cp.verify(sth, cp.myopic(2, within="1/4"))
    assert (v.status, v.method) == ("holds", "exact")
    v = cp.verify(sth, cp.myopic(2, within="1/5"))
    assert (v.status, v.method) == ("fails", "exact")
    cex = v.counterexample
    assert cex.data["state"] == 0 and cex.data["probability"] == Fraction(1, 4)
    assert cex.data["effective_horizon"] == {2: Fraction(3, 4), 3: Fraction(1, 4)}
    assert cex.evidence["confirmed"] and cex.evidence["replayed_probability"] == Fraction(1, 8)
    assert "looks past step 2 with probability 1/4 > 1/5" in cex.text
    assert cp.verify(sth, cp.myopic(2, slack=1)).status == "holds"


def test_the_structure_tier_bounds_every_world_line():
    sth = climber()          # the longest chunk takes 3 steps: lines end by step 2 - 1 + 3
    v = cp.verify(sth, cp.myopic(1, slack=3))
    assert (v.status, v.method) == ("holds", "structure")
    assert cp.verify(sth, cp.myopic(1, slack=2)).method == "exact"


def test_chunks_break_the_horizon_cut_that_proves_plain_sth():
    env = delayed_reward(delay=2)
    walk = {"walk": lambda s: "end" if s == "done" else "wait"}
    chunked = cp.agents.STH(env, horizon=1, chunks=cp.chunks(env, walk, primitive=True))
    assert cp.verify(cp.agents.STH(env, horizon=1), cp.myopic(1)).method == "structure"
    v = cp.verify(chunked, cp.myopic(1))
    assert v.status == "fails" and v.counterexample.data["end"] == 3
    # the step-by-step comparison: primitive chunks only are STH again
    prim = cp.agents.STH(env, horizon=1, chunks=cp.chunks(env, primitive=True))
    assert cp.verify(prim, cp.myopic(1)).status == "holds"


def test_over_a_class_the_horizon_lemma_is_not_used_for_chunked_agents():
    from cpspec.examples import stop_button
    from cpspec.verification.classes import class_certificate
    env = stop_button()
    worlds = cp.WorldClass(env, free={"button": ["button", "A"]}, reward_reads=["A"],
                           gamma=sympy.Interval.Ropen(0, 1))
    chunked = cp.agents.STH(env, horizon=1, chunks=cp.chunks(env, primitive=True))
    assert class_certificate(chunked, cp.myopic(1), worlds) is None
    assert class_certificate(cp.agents.STH(env, horizon=1), cp.myopic(1), worlds) is not None
    v = cp.verify(chunked, cp.myopic(1), over=worlds, timeout=30)
    assert v.status == "unknown" and "none of" in v.reason  # each member holds, exactly


def test_step_by_step_agents_read_slack_as_a_later_n():
    env = delayed_reward(delay=2)
    fp = cp.agents.FP(env)
    v = cp.verify(fp, cp.myopic(1, slack=1, within="1/2"))
    assert v.status == "fails" and v.counterexample.data["step"] == 2
    assert cp.verify(fp, cp.myopic(1, within=1)).status == "holds"
    assert cp.verify(cp.agents.STH(env, horizon=3), cp.myopic(1, slack=2)).status == "holds"
    assert cp.verify(cp.agents.STH(env, horizon=3), cp.myopic(1, slack=1)).status == "fails"


def test_no_incentive_is_not_claimed_for_chunked_agents():
    from cpspec.examples import stop_button
    env = stop_button()
    sth = cp.agents.STH(env, horizon=2, chunks=cp.chunks(env, primitive=True))
    v = cp.verify(sth, cp.no_incentive("button"))
    assert v.status == "unknown" and "chunks" in v.reason


@pytest.mark.parametrize("kw, match", [
    (dict(slack=-1), "non-negative integer"), (dict(within="3/2"), r"in \[0, 1\]"),
    (dict(within=0.25), "float"), (dict(slack=True), "non-negative integer"),
])
def test_bad_arguments(kw, match):
    with pytest.raises(cp.SpecError, match=match):
        cp.myopic(2, **kw)


def test_a_world_line_that_is_not_the_plan_is_not_confirmed():
    from dataclasses import replace
    from cpspec.verification.reach import _counterexample
    sth = climber()
    h = sth.effective_horizon(0)
    good = _counterexample(sth, cp.myopic(2), 0, h, Fraction(1, 4))
    assert good.evidence["confirmed"]
    wrong = replace(h, lines={3: (Fraction(1, 8), ((0, 0, "a0", 3, 3),))})
    assert not _counterexample(sth, cp.myopic(2), 0, wrong, Fraction(1, 4)).evidence["confirmed"]
