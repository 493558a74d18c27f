"""cp.equivalent and the safety layer agent UPD: ITC behaves like pi*_upd in every world
of a finite class; ITF does not; the correction term is what makes the difference."""

from fractions import Fraction as F

import pytest
import sympy

import cpspec as cp
from cpspec.examples import input_terminal
from cpspec.verification import equivalence


def terminal_template(gamma="9/10"):
    """A terminal (hard/easy) and a position x in {0, 1}; work pays by content and x."""
    rewards = {"hard": lambda s, a, s2: 1 if a == "work" and s.x == 0 else 0,
               "easy": lambda s, a, s2: 2 if a == "work" else F(1, 2) * (s2.x == 1)}
    env = cp.MDP.factored(
        variables={"terminal": ["hard", "easy"], "x": [0, 1]},
        dynamics={"terminal": cp.fn(lambda terminal, A: "easy" if A == "change" else terminal),
                  "x": cp.fn(lambda x, A: 1 - x if A == "move" else x)},
        actions=["work", "change", "move"],
        reward=lambda s, a, s2: rewards[s.terminal](s, a, s2),
        start={"terminal": "hard", "x": 0}, gamma=gamma)
    return env, rewards


def agents(env, rewards):
    kw = dict(terminal="terminal", rewards=rewards)
    return cp.agents.ITC(env, **kw), cp.agents.UPD(env, **kw), cp.agents.ITF(env, **kw)


def test_itc_behaves_like_the_safety_layer_agent_in_every_world_of_the_class():
    env, rewards = terminal_template()
    worlds = cp.WorldClass(env, free={"terminal": ["terminal", "A"], "x": ["A"]},
                           gamma=sympy.FiniteSet(sympy.Rational(1, 2), sympy.Rational(9, 10)))
    assert equivalence.count_deterministic_members(worlds) == 2 ** 6 * 2 ** 3 * 2
    itc, upd, itf = agents(env, rewards)
    v = cp.equivalent(itc, upd, worlds, timeout=None)
    assert v.status == "holds" and "all 1024 worlds" in v.reason
    w = cp.equivalent(itc, itf, worlds, timeout=None)
    assert w.status == "fails" and w.counterexample.evidence["replayed"]
    s = w.counterexample.data["state"]
    m = w.counterexample.data["mdp"]
    assert itc.with_env(m).act((), s) != itf.with_env(m).act((), s)


def test_the_safety_layer_plan_is_worth_the_held_reward_by_hand():
    env, rewards = input_terminal()          # gamma 9/10; hard work 1, easy work 2
    itc, upd, itf = agents(env, rewards)
    hard = env.states[0]
    # V_hard = 1 / (1 - 9/10) = 10 everywhere; V_easy = 20; changing earns 0 now and the
    # correction 9/10 * (10 - 20) on top of 9/10 * V_easy: 9 < 10 for working
    q = cp.solve(upd.planning_mdp((), hard), sympy.oo).q(hard)
    assert q == {"work": 10, "change": 9}
    assert q == cp.solve(itc.planning_mdp((), hard), sympy.oo).q(hard)
    assert upd.held_values(())["easy"] == {s: 20 if s.terminal == "easy" else 20
                                           for s in env.states}


class _Uncorrected(cp.agents.UPD):
    """UPD with the correction term removed (a mutant: it is ITF)."""

    def held_values(self, o):
        out = super().held_values(o)
        return {c: out[next(iter(out))] for c in out}


def test_without_the_correction_the_equivalence_fails():
    env, rewards = input_terminal()
    worlds = cp.WorldClass(env, free={"terminal": ["terminal", "A"]}, gamma="9/10")
    itc = cp.agents.ITC(env, terminal="terminal", rewards=rewards)
    bad = _Uncorrected(env, terminal="terminal", rewards=rewards)
    assert cp.equivalent(itc, bad, worlds).status == "fails"


def test_a_list_of_worlds_and_a_counterexample_in_words():
    env, rewards = input_terminal()
    itc, upd, itf = agents(env, rewards)
    v = cp.equivalent(itc, itf, [env, input_terminal(easy=1)[0]])
    assert v.status == "fails" and "world 0 of the list" in str(v.counterexample)
    assert "ITC chooses 'work' and ITF chooses 'change'" in str(v.counterexample)


def test_a_class_too_large_to_enumerate_is_refused_with_its_size(monkeypatch):
    env, rewards = terminal_template()
    worlds = cp.WorldClass(env, free={"terminal": ["terminal", "x", "A"],
                                      "x": ["terminal", "x", "A"]}, gamma="9/10")
    itc, upd, _ = agents(env, rewards)
    with pytest.raises(cp.ModelTooLargeError, match="has 16777216 deterministic worlds, above"):
        cp.equivalent(itc, upd, worlds)
    monkeypatch.setattr(equivalence, "MAX_EQUIVALENCE_WORLDS", 10)
    small = cp.WorldClass(env, free={"terminal": ["terminal", "A"]}, gamma="9/10")
    with pytest.raises(cp.ModelTooLargeError, match="has 64 deterministic worlds"):
        cp.equivalent(itc, upd, small)


def test_bad_classes_and_arguments_are_named():
    env, rewards = input_terminal()
    itc, upd, _ = agents(env, rewards)
    interval = cp.WorldClass(env, free={"terminal": ["A"]},
                             gamma=sympy.Interval.Ropen(0, 1))
    with pytest.raises(cp.SpecError, match="finitely many"):
        cp.equivalent(itc, upd, interval)
    with pytest.raises(cp.SpecError, match="agent_b must be an agent"):
        cp.equivalent(itc, env, [env])
    with pytest.raises(cp.SpecError, match="worlds must be a cp.WorldClass"):
        cp.equivalent(itc, upd, env)
    with pytest.raises(cp.SpecError, match="infinite planning horizon"):
        cp.agents.UPD(env, horizon=3, terminal="terminal", rewards=rewards)


def test_a_timeout_is_unknown_never_holds():
    env, rewards = terminal_template()
    worlds = cp.WorldClass(env, free={"terminal": ["terminal", "A"], "x": ["x", "A"]},
                           gamma="9/10")
    itc, upd, _ = agents(env, rewards)
    v = cp.equivalent(itc, upd, worlds, timeout=0.01)
    assert v.status == "unknown" and "time ran out" in v.reason
