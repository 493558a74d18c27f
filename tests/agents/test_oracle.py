"""The counterfactual oracle (cp.agents.CFO) against the factual one (cp.agents.FO):
hand-derived answers and scores, the planning world against an independently built
"nobody reads" world, no_incentive(reader), simulation, and bad input."""

from fractions import Fraction

import pytest
import sympy

import cpspec as cp
from cpspec.examples import oracle_world

KW = dict(reader="reader", unread="unread")


def test_hand_derived_answers():
    # read (1 - e): "up" makes the reader buy, so it comes true; "down" leaves the market,
    # which goes down with 2/3. Unread (e): the market alone.
    env = oracle_world(erasure="1/4")
    s = env.states[0]
    fo, cfo = cp.agents.FO(env, **KW), cp.agents.CFO(env, **KW)
    assert fo.plan((), s).q(s) == {"up": Fraction(3, 4) + Fraction(1, 4) * Fraction(1, 3),
                                   "down": Fraction(2, 3)}
    assert cfo.plan((), s).q(s) == {"up": Fraction(1, 3), "down": Fraction(2, 3)}
    assert fo.planned_actions(()) == {x: "up" for x in env.states}
    assert cfo.planned_actions(()) == {x: "down" for x in env.states}


def test_the_factual_oracle_prophesies_while_erasure_is_below_one_half():
    e = sympy.Symbol("e")
    env = oracle_world(erasure=e)
    s = env.states[0]
    choice = cp.agents.FO(env, **KW).planned_action((), s)
    assert str(choice) == "up if 0 <= e <= 1/2; down if 1/2 < e <= 1"
    assert cp.agents.CFO(env, **KW).planned_action((), s) == "down"


def test_the_planning_world_is_the_world_where_nobody_reads():
    env = oracle_world(erasure="1/10", up="2/5")
    quiet = cp.MDP.factored(
        variables={"reader": ["unread", "buys", "idle"], "market": ["up", "down"]},
        dynamics={"reader": cp.dist(lambda A: {"unread": 1}),
                  "market": cp.dist({"up": "2/5", "down": "3/5"})},
        actions=["up", "down"],
        reward=lambda s, a, s2: int(a == ("up" if s2.reader == "buys" else s2.market)),
        start={"reader": "unread", "market": "down"}, gamma="9/10")
    cfo = cp.agents.CFO(env, **KW, horizon=3)
    pm = cfo.planning_mdp((), env.states[0])
    assert {x2.reader for row in pm.P.values() for x2 in row} == {"unread"}
    sol = cp.solve(quiet, 3)
    for s in env.states:
        ref = cp.State(reader="unread", market=s.market)
        assert cfo.plan((), s).q(s) == sol.q(ref)


def test_no_incentive_to_influence_the_reader():
    env = oracle_world()
    v = cp.verify(cp.agents.CFO(env, **KW), cp.no_incentive("reader"))
    assert (v.status, v.method) == ("holds", "structure")
    v = cp.verify(cp.agents.FO(env, **KW), cp.no_incentive("reader"))
    assert v.status == "fails" and v.counterexample.evidence["confirmed"]
    assert v.counterexample.data["flipped"] == "down"
    # the counterexample: a reader who never reads an 'up' answer
    assert v.counterexample.data["changed"] == {("up",): {"unread": 1}}


def test_scores_in_the_real_world_exact_and_simulated():
    env = oracle_world(erasure="1/4")
    fo, cfo = cp.agents.FO(env, **KW), cp.agents.CFO(env, **KW)
    g = Fraction(9, 10)
    assert fo.value(2) == (1 + g) * (Fraction(3, 4) + Fraction(1, 4) * Fraction(1, 3))
    assert cfo.value(2) == (1 + g) * Fraction(2, 3)
    assert fo.crosscheck(2, n=3000, seed=3).agrees
    assert cfo.crosscheck(2, n=3000, seed=3).agrees


@pytest.mark.parametrize("kw, match", [
    (dict(reader="nobody", unread="unread"), "must name the state variable"),
    (dict(reader="reader", unread="asleep"), "not a value of 'reader'"),
    (dict(reader=None, unread="unread"), "must name the state variable"),
])
def test_bad_oracles(kw, match):
    with pytest.raises(cp.SpecError, match=match):
        cp.agents.CFO(oracle_world(), **kw)


def test_a_reader_that_other_dynamics_read_is_refused():
    env = cp.MDP.factored(
        variables={"reader": ["unread", "buys"], "market": ["up", "down"]},
        dynamics={"reader": cp.dist(lambda A: {"unread": "1/2", "buys": "1/2"}),
                  "market": cp.fn(lambda reader: "up" if reader == "buys" else "down")},
        actions=["up", "down"], reward=lambda s, a, s2: int(a == s2.market),
        start={"reader": "unread", "market": "down"}, gamma="1/2")
    with pytest.raises(cp.SpecError, match="the dynamics of 'market' read 'reader'"):
        cp.agents.CFO(env, **KW)


def test_a_flat_environment_is_refused():
    from cpspec.examples import delayed_reward
    with pytest.raises(cp.SpecError, match="not factored"):
        cp.agents.FO(delayed_reward(), **KW)
