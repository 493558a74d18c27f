from pathlib import Path

import numpy as np
import pytest
import sympy
import z3

import cpspec as cp
import cpspec.verification.encoding
from conftest import hard_incentive_world
from cpspec.cli import main
from cpspec.examples import delayed_reward, input_terminal, stop_button
from cpspec.agents.learners import append
from cpspec.decisions.mdp import State
from cpspec.spec.loader import check, load
from conftest import REPO

ROOT = REPO
STOP = dict(stop_pressed=lambda s: s.button == "pressed", null_action="null")
ARMED = State(button="armed")


def test_sth_is_myopic_fp_is_not():
    env = delayed_reward(delay=2)
    assert cp.verify(cp.agents.STH(env, horizon=2), cp.myopic(2)).status == "holds"
    assert cp.verify(cp.agents.STH(env, horizon=2), cp.myopic(5)).status == "holds"
    v = cp.verify(cp.agents.FP(env), cp.myopic(2))
    assert v.status == "fails" and not v
    cex = v.counterexample
    assert cex.data["state"] == "start" and cex.data["nominal"] == "wait"
    assert cex.evidence["confirmed"] and cex.data["flipped"] == "take"


def test_myopic_counterexample_reproduces_in_exact_backward_induction():
    env = delayed_reward(delay=2)
    v = cp.verify(cp.agents.STH(env, horizon=4), cp.myopic(2))
    assert v.status == "fails"
    vals = v.counterexample.data["continuation_values"]
    # rebuild the planning world with those values at step 2, by hand
    g = sympy.Rational(9, 10)

    def value(s, t):
        if t == 2:
            return vals[s]
        return max(q(s, a, t) for a in env.actions)

    def q(s, a, t):
        return sum(p * (env.R[(s, a, s2)] + g * value(s2, t + 1))
                   for s2, p in env.P[(s, a)].items())
    qs = {a: q("start", a, 0) for a in env.actions}
    best = max(env.actions, key=lambda a: (qs[a], -env.actions.index(a)))
    assert best == v.counterexample.data["flipped"] != "wait"


def test_stop_button_si_holds_fp_fails_with_replayable_trace():
    env = stop_button()
    assert cp.verify(cp.agents.SI(env, **STOP), cp.obeys_stop_button(5)).status == "holds"
    v = cp.verify(cp.agents.FP(env), cp.obeys_stop_button(3, **STOP))
    assert v.status == "fails"
    data = v.counterexample.data
    states, acts = data["states"], data["actions"]
    assert states[data["pressed_at"]].button == "pressed"
    assert acts[data["violation_at"]] != "null"
    assert v.counterexample.evidence["trace_probability"] > 0


def test_fp_needs_an_explicit_button():
    with pytest.raises(cp.SpecError, match="stop_pressed"):
        cp.verify(cp.agents.FP(stop_button()), cp.obeys_stop_button(3))


def test_no_incentive_verdicts():
    env = stop_button()
    assert cp.verify(cp.agents.SI(env, **STOP), cp.no_incentive("button")).holds
    v = cp.verify(cp.agents.SIF(env, **STOP), cp.no_incentive("button"))
    assert v.status == "fails" and v.counterexample.evidence["confirmed"]
    tenv, rewards = input_terminal()
    itc = cp.agents.ITC(tenv, terminal="terminal", rewards=rewards)
    itf = cp.agents.ITF(tenv, terminal="terminal", rewards=rewards)
    assert cp.verify(itc, cp.no_incentive("terminal")).holds
    v = cp.verify(itf, cp.no_incentive("terminal"))
    assert v.status == "fails" and v.counterexample.data["flipped"] == "work"


def test_no_incentive_counterexample_reproduces_with_its_dynamics():
    tenv, rewards = input_terminal()
    itf = cp.agents.ITF(tenv, terminal="terminal", rewards=rewards)
    cex = cp.verify(itf, cp.no_incentive("terminal")).counterexample
    table = cex.data["dynamics"]
    domains, dynamics, parents = tenv.factors
    other = cp.MDP.factored(domains, {"terminal": cp.dist(lambda *a: table[tuple(a)],
                                                          parents=list(parents["terminal"]))},
                            tenv.actions, tenv.reward, {"terminal": "hard"}, tenv.gamma)
    twin = cp.agents.ITF(other, terminal="terminal", rewards=rewards)
    assert twin.act((), State(terminal="hard")) == cex.data["flipped"] != cex.data["nominal"]


def test_temporal_properties():
    env = stop_button()
    si = cp.agents.SI(env, **STOP)
    assert cp.verify(si, cp.always(lambda s, a: a != "disable", 4)).holds
    v = cp.verify(si, cp.always(lambda s: s.button != "pressed", 3, "not pressed"))
    assert v.status == "fails" and v.counterexample.evidence["trace_probability"] > 0
    assert cp.verify(si, cp.eventually(lambda s: s.button == "pressed", 2)).status == "fails"
    assert cp.verify(si, cp.eventually(lambda s: s.button in ("armed", "pressed"), 2)).holds


def test_structural_properties():
    env = delayed_reward()
    for agent in (cp.agents.FP(env), cp.agents.STH(env, horizon=1),
                  cp.agents.FPX(env, epsilon="1/5")):
        v = cp.verify(agent, cp.policy_unmodified())
        assert v.holds and v.method == "structure"
        assert cp.verify(agent, cp.no_self_knowledge()).holds

    class SelfModel(cp.agents.FP):
        """An agent that predicts its own future actions with a learned model."""
        def planning_world(self, o, s, horizon=None):
            d = super().planning_world(o, s, horizon)
            acts = self.env.actions
            return d.replace("p2", **{n: cp.dist({a: sympy.Rational(1, len(acts))
                                                  for a in acts})
                                      for n in d.order if n.startswith("A_")})
    v = cp.verify(SelfModel(env), cp.no_self_knowledge())
    assert v.status == "fails" and "A_0" in str(v.counterexample)


def test_unknown_is_never_reported_as_holds(monkeypatch):
    # every Z3 query answers unknown (as on a timeout); the trace properties use no Z3
    # (their deadline is tested in test_traces.py)
    monkeypatch.setattr(z3.Solver, "check", lambda self, *args: z3.unknown)
    monkeypatch.setattr(z3.Solver, "reason_unknown", lambda self: "timeout")
    # FP on a world where no witness exists: myopic(3) is left to Z3
    same = cp.MDP(["x", "y"], ["a", "b"], lambda s, a: {"x": "1/2", "y": "1/2"},
                  lambda s, a, s2: 1 if s2 == "y" else 0, "x", gamma="1/2")
    for agent, prop in [(cp.agents.FP(same), cp.myopic(3)),
                        (cp.agents.FP(hard_incentive_world()), cp.no_incentive("y"))]:
        v = cp.verify(agent, prop)
        assert v.status == "unknown" and "timeout" in v.reason and not v.holds


def test_a_real_timeout_gives_unknown_or_an_answer_never_a_wrong_one():
    env = stop_button()
    v = cp.verify(cp.agents.SIF(env, **STOP), cp.no_incentive("button"), timeout=0.001)
    assert v.status in ("unknown", "fails")


# ---- bad input -------------------------------------------------------------------------

def test_property_naming_an_unknown_node():
    with pytest.raises(cp.UnknownNodeError, match="'buton'.*variables: button"):
        cp.verify(cp.agents.SI(stop_button(), **STOP), cp.no_incentive("buton"))


@pytest.mark.parametrize("make", [lambda: cp.myopic(0), lambda: cp.myopic(1.5),
                                  lambda: cp.obeys_stop_button(-2),
                                  lambda: cp.always(lambda s: True, 0)])
def test_horizons_must_be_positive_integers(make):
    with pytest.raises(cp.SpecError, match="positive integer"):
        make()


def test_model_too_large_is_refused_with_the_size(monkeypatch):
    monkeypatch.setattr(cpspec.verification.encoding, "MAX_TERMS", 10)
    with pytest.raises(cp.ModelTooLargeError, match="about \\d+ terms"):
        cp.verify(cp.agents.FP(delayed_reward(delay=2)), cp.myopic(5))


def test_symbolic_model_needs_binding():
    g = sympy.Symbol("gamma")
    with pytest.raises(cp.ParameterError, match="bind"):
        cp.verify(cp.agents.FP(delayed_reward(gamma=g)), cp.myopic(1))


# ---- specs, broken specs and proofs -------------------------------------------------------

BROKEN = sorted(p for p in (ROOT / "specs" / "broken").glob("*.toml")
                if "[[property]]" in p.read_text())


def test_there_are_at_least_four_broken_specs():
    names = {p.stem for p in BROKEN}
    assert {"policy_rewrite", "fp_myopic", "fp_stop_button", "itf_no_incentive"} <= names


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_broken_spec_fails_with_a_confirmed_counterexample(path, capsys):
    assert main(["check", str(path)]) == 1
    assert "counterexample" in capsys.readouterr().out
    (r,) = check(load(path))
    v = r.verdict
    assert v.status == "fails" and v.counterexample.evidence["confirmed"]


@pytest.mark.parametrize("path", [p for p in BROKEN if "stop" in p.stem or "policy" in p.stem],
                         ids=lambda p: p.stem)
def test_trace_counterexamples_reproduce_in_simulation(path):
    (r,) = check(load(path))
    agent = load(path).agents[r.entry.agent_name]
    data = r.verdict.counterexample.data
    states, acts = data["states"], data["actions"]
    rng = np.random.default_rng(0)
    hits = 0
    for _ in range(400):
        s, o, ok = states[0], agent.o0, True
        for t, a_want in enumerate(acts):
            row = agent.policy_row(o, s, t)
            a = rng.choice(list(row), p=[float(p) for p in row.values()])
            nxt = agent.env.P[(s, a)]
            s2 = list(nxt)[rng.choice(len(nxt), p=[float(p) for p in nxt.values()])]
            if a != a_want or s2 != states[t + 1]:
                ok = False
                break
            o, s = append(o, s, a, s2), s2
        hits += ok
    assert hits > 0  # the violating trace occurs in seeded simulation too


def test_prove_proofs_dir(capsys):
    assert main(["prove", str(ROOT / "proofs")]) == 0
    out = capsys.readouterr().out
    assert " as stated, 0 not" in out
    assert "PASS HOLDS  obeys_stop_button(200) of SI" in out and "over stopping_worlds" in out
    assert "PASS FAILS  no_incentive(button) of SIF" in out  # a contrast, expected


def test_prove_fails_on_a_false_theorem(tmp_path, capsys):
    f = tmp_path / "false.toml"
    f.write_text(f'theorem = "FP obeys the stop button"\nuses = "{ROOT}/specs/si.toml"\n'
                 '[[property]]\nagent = "fp"\n'
                 'check = "obeys_stop_button(3, stop=button == pressed, null_action=null)"\n')
    assert main(["prove", str(f)]) == 1
    assert "FAILS" in capsys.readouterr().out


# ---- synthesis -----------------------------------------------------------------------

def test_synthesis_contrast_interlock_threshold_and_cross_check():
    g = sympy.Symbol("gamma")
    sif = cp.agents.SIF(stop_button(gamma=g), **STOP)
    r = cp.synthesize(sif, cp.no_incentive("button"), over=g)
    # by hand: a model where 'null' disables the button for free makes null worth
    # gamma/(1 - gamma) against work's 1 (then pressed): a flip iff gamma > 1/2
    assert r.holds == sympy.Interval(0, sympy.Rational(1, 2))
    assert r.fails == sympy.Interval.open(sympy.Rational(1, 2), 1)
    assert r.unknown is sympy.S.EmptySet
    assert {s for _, s in r.samples} == {"holds", "fails"}
    # both sides, concretely
    for v, want in (("2/5", "holds"), ("1/2", "holds"), ("3/5", "fails")):
        bound = cp.agents.SIF(stop_button(gamma=v), **STOP)
        assert cp.verify(bound, cp.no_incentive("button")).status == want


def test_synthesis_si_and_itc_hold_everywhere():
    g = sympy.Symbol("gamma")
    r = cp.synthesize(cp.agents.SI(stop_button(gamma=g), **STOP), cp.no_incentive("button"),
                      over=g)
    assert r.holds == sympy.Interval.Ropen(0, 1) and r.fails is sympy.S.EmptySet
    env, rewards = input_terminal(gamma=g)
    itc = cp.agents.ITC(env, terminal="terminal", rewards=rewards)
    assert cp.synthesize(itc, cp.no_incentive("terminal"), over=g).fails is sympy.S.EmptySet


def test_synthesis_bad_input():
    g = sympy.Symbol("gamma")
    res = cp.synthesize(cp.agents.FP(delayed_reward(gamma=g)), cp.myopic(1), over=g)
    # myopia over the discount is synthesized exactly: FP looks ahead whenever gamma > 0
    assert res.holds == (g <= 0) and res.fails.subs(g, sympy.Rational(1, 2)) is sympy.true
    with pytest.raises(cp.ParameterError, match="gamma is not a parameter of the environment"):
        cp.synthesize(cp.agents.SI(stop_button(), **STOP), cp.no_incentive("button"), over=g)


def test_myopic_holds_through_the_full_z3_encoding_when_no_witness_exists():
    # both actions do the same thing: no continuation value can separate them
    m = cp.MDP(["x", "y"], ["a", "b"], lambda s, a: {"x": "1/2", "y": "1/2"},
               lambda s, a, s2: 1 if s2 == "y" else 0, "x", gamma="1/2")
    v = cp.verify(cp.agents.FP(m), cp.myopic(3))
    assert v.status == "holds" and "no continuation values" in v.reason


def test_a_long_trace_counterexample_replays_along_the_trace():
    # the button is pressed at step 20 at the latest; FP keeps working. Replaying the
    # 21-step trace once built the learning world's table for A_20 (32 GiB)
    m = cp.MDP.factored(
        variables={"c": list(range(26)), "button": ["up", "pressed"]},
        dynamics={"c": cp.fn(lambda c: min(c + 1, 25)),
                  "button": cp.dist(lambda c, button: {"pressed": 1}
                                    if c >= 19 or button == "pressed"
                                    else ({"up": "1/2", "pressed": "1/2"} if c == 3
                                          else {"up": 1}))},
        actions=["work", "null"], reward=lambda s, a, s2: 1 if a == "work" else 0,
        start={"c": 0, "button": "up"}, gamma="9/10")
    v = cp.verify(cp.agents.FP(m), cp.obeys_stop_button(
        40, stop_pressed=lambda s: s.button == "pressed", null_action="null"))
    assert v.status == "fails"
    cex = v.counterexample
    assert cex.evidence["confirmed"]
    states, actions = cex.data["states"], cex.data["actions"]
    # by hand: the only random step is the coin at c = 3 (either outcome has 1/2); FP's
    # actions and the counter are deterministic
    assert cex.evidence["trace_probability"] == sympy.Rational(1, 2)
    assert states[-1].button == "pressed" and actions[-1] == "work"


def test_no_incentive_beyond_the_encoding_limit_is_unknown_unless_decided_cheaper(
        monkeypatch):
    monkeypatch.setattr(cpspec.verification.encoding, "MAX_TERMS", 10)
    v = cp.verify(cp.agents.FP(hard_incentive_world()), cp.no_incentive("y"))
    assert v.status == "unknown" and "MAX_TERMS" in v.reason
    v = cp.verify(cp.agents.SI(stop_button(), **STOP), cp.no_incentive("button"))
    assert (v.status, v.method) == ("holds", "structure")
