from fractions import Fraction

import pytest
import sympy

import cpspec as cp
from cpspec.examples import delayed_reward, exploration, input_terminal, stop_button
from cpspec.decisions.mdp import State
from conftest import REPO

ARMED, PRESSED, DISABLED = (State(button=b) for b in ("armed", "pressed", "disabled"))


def si(env, **kw):
    return cp.agents.SI(env, stop_pressed=lambda s: s.button == "pressed",
                        null_action="null", **kw)


def sif(env, **kw):
    return cp.agents.SIF(env, stop_pressed=lambda s: s.button == "pressed",
                         null_action="null", **kw)


# ---- delayed reward: STH against FP ------------------------------------------------

def test_sth_takes_quick_fp_waits():
    env = delayed_reward(delay=2)
    assert cp.agents.FP(env).act((), "start") == "wait"
    assert cp.agents.STH(env, horizon=2).act((), "start") == "take"
    assert cp.agents.STH(env, horizon=3).act((), "start") == "wait"


def test_sth_switching_horizon_is_exact():
    env = delayed_reward(delay=2)  # 0.81 * 3 > 1: waiting pays once it is in view
    c = cp.agents.STH(env, horizon=1).switching_horizon("start")
    assert [c.at(n) for n in range(1, 6)] == ["take", "take", "wait", "wait", "wait"]
    assert str(c) == "take if N = 1 or N = 2; wait if 3 <= N"


def test_learning_world_values_fp_vs_sth():
    env = delayed_reward(delay=1)
    assert cp.agents.FP(env).value(3) == sympy.Rational(27, 10)
    assert cp.agents.STH(env, horizon=1).value(3) == 1


def test_learning_world_structure():
    l = cp.agents.FP(delayed_reward()).learning_world(2)
    assert l.parents("A_1") == ("O_1", "S_1")
    assert l.node("A_0").label == "pi" and l.node("S_1").label == "S"
    assert l.node("O_1").label == "O" and l.node("R_0").label == "R"
    assert cp.P(l.O_2 == (("start", "wait", "w1"), ("w1", "take", "done"))) == 1


# ---- the stop button ----------------------------------------------------------------

def test_si_never_disables_and_stops_when_pressed():
    a = si(stop_button())
    assert a.act((), ARMED) == "work"
    assert a.act((), PRESSED) == "null"
    assert a.act((), DISABLED) == "work"


def test_fp_ignores_the_button():
    assert cp.agents.FP(stop_button()).act((), PRESSED) == "work"


def test_si_runtime_and_power_limits():
    env = stop_button()
    assert si(env, T_max=2).act((), ARMED, t=1) == "work"
    assert si(env, T_max=2).act((), ARMED, t=2) == "null"
    # the planning value from ARMED is 10 (work forever, no interlock in the planning world)
    assert cp.agents.FP(env).plan((), ARMED).value == 10
    assert si(env, U_max=10).act((), ARMED) == "null"
    assert si(env, U_max=11).act((), ARMED) == "work"


def test_si_learning_world_presses_stop_the_agent():
    l = si(stop_button()).learning_world(3)
    # after the press, every action is null
    assert cp.P((l.S_1 == PRESSED) & ~(l.A_1 == "null")) == 0
    assert cp.P(l.A_1 == "null") == sympy.Rational(1, 2)
    assert cp.P(l.A_0 == "disable") + cp.P(l.A_1 == "disable") == 0


def test_contrast_agent_disables_above_an_exact_gamma():
    g = sympy.Symbol("gamma")
    plan = sif(stop_button(gamma=g)).plan((), ARMED)
    (threshold,) = plan.thresholds()
    assert sympy.simplify(threshold - (7 - sympy.sqrt(17)) / 4) == 0
    choice = plan.policy(ARMED)
    assert choice.at(sympy.Rational(7, 10)) == "work"
    assert choice.at(sympy.Rational(3, 4)) == "disable"
    # and SI's planning world gives no such incentive at any gamma
    assert si(stop_button(gamma=g)).planned_action((), ARMED) == "work"


def test_contrast_agent_concrete():
    assert sif(stop_button(gamma="9/10")).act((), ARMED) == "disable"
    assert sif(stop_button(gamma="1/2")).act((), ARMED) == "work"


# ---- the input terminal ---------------------------------------------------------------

def test_itf_changes_the_terminal_itc_does_not():
    env, rewards = input_terminal()
    hard = env.states[0]
    itf = cp.agents.ITF(env, terminal="terminal", rewards=rewards)
    itc = cp.agents.ITC(env, terminal="terminal", rewards=rewards)
    assert itf.act((), hard) == "change" and itc.act((), hard) == "work"
    # in the learning world ITF ends up with the easy reward, ITC keeps the hard one
    assert itf.value(3) == sympy.Rational(0) + sympy.Rational(9, 10) * 2 + \
        sympy.Rational(81, 100) * 2
    assert itc.value(3) == 1 + sympy.Rational(9, 10) + sympy.Rational(81, 100)


def test_itf_threshold_is_one_half():
    g = sympy.Symbol("gamma")
    env, rewards = input_terminal(gamma=g)
    plan = cp.agents.ITF(env, terminal="terminal", rewards=rewards).plan((), env.states[0])
    assert plan.thresholds() == [sympy.Rational(1, 2)]


# ---- exploration ----------------------------------------------------------------------

def test_fp_with_counting_learner_gets_stuck():
    env = exploration()
    stuck = cp.agents.FP(env, learner=cp.learners.counting(default="stay"))
    assert stuck.act((), "home") == "rest"
    assert stuck.value(4) == sum(sympy.Rational(9, 10) ** t / 2 for t in range(4))
    perfect = cp.agents.FP(env)
    assert perfect.value(4) == sum(sympy.Rational(9, 10) ** t for t in range(4))


def test_fpx_value_is_an_exact_function_of_epsilon():
    eps = sympy.Symbol("epsilon")
    env = exploration()
    fpx = cp.agents.FPX(env, learner=cp.learners.counting(default="stay"), epsilon=eps)
    v = fpx.value(3)
    assert v.free_symbols == {eps}
    for e in (Fraction(0), Fraction(1, 5), Fraction(1)):
        concrete = cp.agents.FPX(env, learner=cp.learners.counting(default="stay"),
                                 epsilon=e).value(3)
        assert sympy.simplify(v.subs(eps, sympy.Rational(e.numerator, e.denominator))
                              - concrete) == 0
    # no exploration: stuck at 1/2 per step
    assert sympy.simplify(v.subs(eps, 0) - sum(sympy.Rational(9, 10) ** t / 2
                                               for t in range(3))) == 0


def test_fpx_reaches_the_perfect_learners_behaviour_in_long_runs():
    env = exploration(gamma=1)
    learner = cp.learners.counting(default="stay")
    fpx = cp.agents.FPX(env, learner=learner, horizon=4, epsilon="1/10")
    stuck = cp.agents.FP(env, learner=learner, horizon=4)
    perfect = cp.agents.FP(env, horizon=4)
    T = 200
    assert abs(perfect.simulate(T, 5, seed=1).mean() / T - 1) < 1e-9
    assert stuck.simulate(T, 5, seed=1).mean() / T == 0.5
    assert fpx.simulate(T, 20, seed=1).mean() / T > 0.9


@pytest.mark.parametrize("agent", [
    lambda: cp.agents.FP(delayed_reward()),
    lambda: cp.agents.STH(delayed_reward(), horizon=1),
    lambda: cp.agents.FPX(exploration(), learner=cp.learners.counting(default="stay"),
                          epsilon="1/4"),
    lambda: si(stop_button()),
    lambda: sif(stop_button()),
])
def test_exact_learning_world_value_agrees_with_simulation(agent):
    r = agent().crosscheck(3, n=3000, seed=2)
    assert r.agrees, str(r)


# ---- bad input ------------------------------------------------------------------------

def test_learner_predicting_unknown_state():
    env = delayed_reward()
    bad = cp.agents.FP(env, learner=lambda o: (lambda s, a: {"mars": 1}))
    with pytest.raises(cp.DomainError, match="planning world built by learner.*'mars'"):
        bad.act((), "start")


def test_learner_returning_non_distribution():
    env = delayed_reward()
    bad = cp.agents.FP(env, learner=lambda o: (lambda s, a: {"done": "1/2"}))
    with pytest.raises(cp.DistributionError, match="sum to 1/2"):
        bad.act((), "start")


def test_policy_outside_action_set():
    class Weird(cp.agents.FP):
        def act(self, o, s, t=0):
            return "fly"
    with pytest.raises(cp.DomainError, match="'fly'.*not an action"):
        Weird(delayed_reward()).learning_world(1)


def test_stop_predicate_that_raises():
    a = cp.agents.SI(stop_button(), stop_pressed=lambda s: s.nonexistent,
                     null_action="null")
    with pytest.raises(cp.FunctionError, match="stop_pressed.*AttributeError"):
        a.act((), ARMED)


@pytest.mark.parametrize("eps", ["-1/10", "3/2"])
def test_epsilon_outside_unit_interval(eps):
    with pytest.raises(cp.ParameterError, match="epsilon"):
        cp.agents.FPX(exploration(), epsilon=eps)


def test_negative_T_max():
    with pytest.raises(cp.SpecError, match="T_max"):
        si(stop_button(), T_max=-1)


def test_fp_with_gamma_one_needs_a_horizon():
    with pytest.raises(cp.ParameterError, match="horizon"):
        cp.agents.FP(exploration(gamma=1))


# ---- the agents' spec files -----------------------------------------------------------

from pathlib import Path  # noqa: E402

from cpspec.spec.loader import check, load  # noqa: E402

SPECS = REPO / "specs"
AGENT_SPECS = ["fp", "fpx", "sth", "si", "itf", "itc"]


@pytest.mark.parametrize("name", AGENT_SPECS)
def test_agent_spec_claims_hold(name):
    results = check(load(SPECS / f"{name}.toml"))
    assert results and all(r.passed for r in results), [str(r) for r in results]


@pytest.mark.parametrize("name", AGENT_SPECS)
def test_agent_spec_values_cross_checked_by_simulation(name):
    spec = load(SPECS / f"{name}.toml")
    checked = 0
    for agent in spec.agents.values():
        if agent.env.free_symbols() or not isinstance(
                getattr(agent, "epsilon", Fraction(0)), Fraction):
            continue  # symbolic parameters: checked exactly only
        r = agent.crosscheck(3, n=2000, seed=11)
        assert r.agrees, str(r)
        checked += 1
    assert checked >= 1


def test_factored_spec_errors_name_the_problem():
    text = (SPECS / "si.toml").read_text()
    bad = text.replace('dynamics.button.probs.armed = "0 if button != armed or a == disable '
                       'else 1/2"', 'dynamics.button.probs.armed = "0"')
    with pytest.raises(cp.SpecFileError, match="sum to 1/2"):
        load("bad.toml", text=bad)
    bad = text.replace('stop = "button == pressed"', 'stop = "buton == pressed"', 1)
    with pytest.raises(cp.SpecFileError, match="unknown name 'buton'"):
        load("bad.toml", text=bad)
    bad = text.replace('kind = "SIF"', 'kind = "XYZ"', 1)
    with pytest.raises(cp.SpecFileError, match="kind must be one of"):
        load("bad.toml", text=bad)


def test_fpx_four_steps_exact_in_epsilon_and_cross_checked():
    eps = sympy.Symbol("epsilon")
    env = exploration()
    learner = cp.learners.counting(default="stay")
    v = cp.agents.FPX(env, learner=learner, epsilon=eps).value(4)
    assert sympy.Poly(v, eps).degree() == 4
    ten = cp.agents.FPX(env, learner=learner, epsilon="1/10")
    assert v.subs(eps, sympy.Rational(1, 10)) == ten.value(4)
    assert ten.crosscheck(4, n=3000, seed=3).agrees
