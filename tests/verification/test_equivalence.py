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
    with pytest.raises(cp.SpecError, match="not the symbol N.*steps to go"):
        cp.agents.UPD(env, horizon=sympy.Symbol("N"), terminal="terminal", rewards=rewards)


def test_a_timeout_is_unknown_never_holds():
    env, rewards = terminal_template()
    worlds = cp.WorldClass(env, free={"terminal": ["terminal", "A"], "x": ["x", "A"]},
                           gamma="9/10")
    itc, upd, _ = agents(env, rewards)
    v = cp.equivalent(itc, upd, worlds, timeout=0.01)
    assert v.status == "unknown" and "time ran out" in v.reason


# ---- UPD with a finite planning horizon: the correction per step to go ---------------

def _brute_upd_q(env, rewards, s, H):
    """UPD's first-step Q-values with H planning steps, by enumerating every action
    sequence in a deterministic world: held values by enumeration too, and the
    correction gamma * (V_c(s2, m) - V_c2(s2, m)) with m = H - t - 1 steps left."""
    g = env.gamma

    def step(x, a):
        (x2, p), = env.P[(x, a)].items()
        return x2

    def held(c, x, m):  # best total of m steps with the reward held at c
        if m == 0:
            return F(0)
        return max(F(rewards[c](x, a, step(x, a))) + g * held(c, step(x, a), m - 1)
                   for a in env.actions)

    def best(x, t):
        if t == H:
            return F(0)
        return max(q(x, t, a) for a in env.actions)

    def q(x, t, a):
        x2 = step(x, a)
        c, c2 = x.terminal, x2.terminal
        r = F(rewards[c](x, a, x2))
        if c2 != c:
            m = H - t - 1
            r += g * (held(c, x2, m) - held(c2, x2, m))
        return r + g * best(x2, t + 1)
    return {a: q(s, 0, a) for a in env.actions}


@pytest.mark.parametrize("H", [1, 2, 3, 4])
def test_finite_horizon_upd_against_enumeration_of_every_plan(H):
    env, rewards = terminal_template()
    worlds = cp.WorldClass(env, free={"terminal": ["terminal", "A"]}, gamma="9/10")
    for member in list(equivalence.deterministic_members(worlds))[::37]:
        m = member.mdp
        upd = cp.agents.UPD(m, horizon=H, terminal="terminal", rewards=rewards)
        for s in m.states:
            want = _brute_upd_q(m, rewards, s, H)
            got = cp.solve(upd.planning_mdp((), s), H).q((0, s))
            assert got == want
            best = max(want.values())
            assert upd.act((), s) == next(a for a in m.actions if want[a] == best)


def test_finite_horizon_upd_by_hand():
    env, rewards = input_terminal()           # work: hard 1, easy 2; change: 0
    hard = env.states[0]
    upd = cp.agents.UPD(env, horizon=2, terminal="terminal", rewards=rewards)
    # change now: 0, then the correction 9/10 * (V_hard - V_easy) with one step to go
    # (1 - 2), then one easy step worth 9/10 * 2: 9/10; work twice: 1 + 9/10
    assert cp.solve(upd.planning_mdp((), hard), 2).q((0, hard)) == {
        "work": F(19, 10), "change": F(9, 10)}
    assert upd.held_values((), to_go=1)["easy"][hard] == 2
    assert upd.held_values((), to_go=2)["hard"][hard] == F(19, 10)
    assert upd.held_values((), to_go=0)["easy"][hard] == 0
    with pytest.raises(cp.SpecError, match="to_go = 3 must be a number of steps from 0 to"):
        upd.held_values((), to_go=3)


@pytest.mark.parametrize("H", [1, 2, 3, 5])
def test_finite_horizon_itc_behaves_like_upd(H):
    env, rewards = terminal_template()
    worlds = cp.WorldClass(env, free={"terminal": ["terminal", "A"]}, gamma="9/10")
    kw = dict(terminal="terminal", rewards=rewards, horizon=H)
    itc, upd = cp.agents.ITC(env, **kw), cp.agents.UPD(env, **kw)
    assert cp.equivalent(itc, upd, worlds, timeout=None).status == "holds"
    if H >= 3:  # long enough for the easy reward to pay for the change
        itf = cp.agents.ITF(env, **kw)
        assert cp.equivalent(upd, itf, worlds, timeout=None).status == "fails"


def test_finite_horizon_upd_planning_properties_are_unknown_with_the_reason():
    env, rewards = input_terminal()
    upd = cp.agents.UPD(env, horizon=3, terminal="terminal", rewards=rewards)
    for prop in (cp.no_incentive("terminal"), cp.myopic(2)):
        v = cp.verify(upd, prop)
        assert v.status == "unknown" and "stamped with the planning step" in v.reason
    assert cp.verify(upd, cp.always(lambda s, a: a == "work", 3)).status == "holds"
