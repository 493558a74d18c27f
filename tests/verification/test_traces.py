"""Trace properties: the explicit-state search against a brute-force enumeration of all
traces, SI's structural certificate and its guards, the graph limit and the deadline."""

import random
import threading
from fractions import Fraction

import pytest
import sympy

import cpspec as cp
import cpspec.verification.traces as traces
from cpspec.agents.paper import SI
from cpspec.budget import Deadline, Expired
from cpspec.decisions.mdp import State
from cpspec.examples import stop_button

STOP = dict(stop_pressed=lambda s: s.button == "pressed", null_action="null")


# ---- obeys_stop_button at K = 200 ------------------------------------------------------

def test_si_obeys_its_stop_button_for_every_K_by_its_interlock():
    v = cp.verify(cp.agents.SI(stop_button(), **STOP), cp.obeys_stop_button(200))
    assert (v.status, v.method) == ("holds", "structure")
    assert "every K" in v.reason and "'null'" in v.reason
    # SIF acts through the same interlock in the learning world
    v = cp.verify(cp.agents.SIF(stop_button(), **STOP), cp.obeys_stop_button(200))
    assert (v.status, v.method) == ("holds", "structure")


def test_si_with_an_equal_but_separate_predicate_is_proven_by_the_search():
    prop = cp.obeys_stop_button(200, stop_pressed=lambda s: s.button == "pressed",
                                null_action="null")
    v = cp.verify(cp.agents.SI(stop_button(), **STOP), prop)
    assert (v.status, v.method) == ("holds", "search") and "200 steps" in v.reason


@pytest.mark.parametrize("press", ["1/2", "1/3"])
def test_fp_fails_at_K_200_with_the_earliest_trace_and_its_exact_probability(press):
    v = cp.verify(cp.agents.FP(stop_button(press=press)), cp.obeys_stop_button(200, **STOP))
    assert (v.status, v.method) == ("fails", "search")
    cex = v.counterexample
    armed, pressed = State(button="armed"), State(button="pressed")
    assert cex.data["states"] == [armed, pressed, pressed]
    assert cex.data["actions"] == ["work", "work"]
    assert (cex.data["pressed_at"], cex.data["violation_at"]) == (1, 1)
    # by hand: the start is armed (1); FP works (1); people press with probability
    # `press`; FP works on (1); a pressed button stays pressed (1)
    assert cex.evidence["confirmed"]
    assert cex.evidence["trace_probability"] == sympy.Rational(press)


def test_fp_with_a_counting_learner_fails_at_K_40():
    # the issue report: obeys_stop_button(40) for FP once crashed while replaying
    v = cp.verify(cp.agents.FP(stop_button(), learner="counting"),
                  cp.obeys_stop_button(40, **STOP))
    assert v.status == "fails" and v.counterexample.evidence["confirmed"]


def releasing_button():
    """A button people press and release at random (1/2 each step, whatever is done)."""
    return cp.MDP.factored(
        variables={"button": ["up", "pressed"]},
        dynamics={"button": cp.dist(lambda button: {"up": "1/2", "pressed": "1/2"})},
        actions=["work", "null"], reward=lambda s, a, s2: 1 if a == "work" else 0,
        start={"button": "up"}, gamma="1/2")


def test_si_with_a_released_button_is_decided_by_the_search_and_fails():
    # SI nulls while the button is pressed, but once released it works again: pressed at
    # step 1, released at step 2, work at step 2 violates the property
    v = cp.verify(cp.agents.SI(releasing_button(), **STOP), cp.obeys_stop_button(10))
    assert (v.status, v.method) == ("fails", "search")
    data, ev = v.counterexample.data, v.counterexample.evidence
    up, pressed = State(button="up"), State(button="pressed")
    assert data["states"][:3] == [up, pressed, up] and data["actions"] == ["work", "null",
                                                                         "work"]
    assert (data["pressed_at"], data["violation_at"]) == (1, 2)
    assert ev["confirmed"] and ev["trace_probability"] == sympy.Rational(1, 8)


# ---- the certificate's guards: each makes the search decide -----------------------------

class WorksAnyway(SI):
    def act(self, o, s, t=0):
        return self.planned_action(o, s)


class NoInterlock(SI):
    def interlock(self, o, s, t):
        return None


class Deaf(SI):
    def pressed(self, s):
        return False


class OwnRow(SI):
    def policy_row(self, o, s, t):
        return {"work": Fraction(1)}


@pytest.mark.parametrize("kind", [WorksAnyway, NoInterlock, Deaf, OwnRow])
def test_an_si_subclass_that_acts_otherwise_gets_no_certificate(kind):
    v = cp.verify(kind(stop_button(), **STOP), cp.obeys_stop_button(5, **STOP))
    assert (v.status, v.method) == ("fails", "search")


def test_a_property_with_another_stop_predicate_gets_no_certificate():
    si = cp.agents.SI(stop_button(), stop_pressed=lambda s: False, null_action="null")
    v = cp.verify(si, cp.obeys_stop_button(5, **STOP))
    assert (v.status, v.method) == ("fails", "search")


def test_a_property_with_another_null_action_gets_no_certificate():
    si = cp.agents.SI(stop_button(), **STOP)
    v = cp.verify(si, cp.obeys_stop_button(5, stop_pressed=STOP["stop_pressed"],
                                           null_action="disable"))
    assert (v.status, v.method) == ("fails", "search")
    assert v.counterexample.data["actions"][-1] == "null"


# ---- the search against all traces, enumerated ------------------------------------------

def random_world(rng):
    n, m = rng.randint(2, 4), rng.randint(2, 3)
    states, actions = list(range(n)), [f"a{i}" for i in range(m)]
    P = {}
    for s in states:
        for a in actions:
            succ = rng.sample(states, rng.randint(1, 2))
            w = [rng.randint(1, 3) for _ in succ]
            P[(s, a)] = {s2: Fraction(x, sum(w)) for s2, x in zip(succ, w)}
    R = {(s, a, s2): rng.randint(0, 3) for s in states for a in actions for s2 in states}
    starts = rng.sample(states, rng.randint(1, 2))
    start = starts[0] if len(starts) == 1 else {s: Fraction(1, 2) for s in starts}
    return cp.MDP(states, actions, lambda s, a: P[(s, a)], lambda s, a, s2: R[(s, a, s2)],
                  start=start, gamma="1/2")


def random_agent(rng, env):
    pressed_set = set(rng.sample(env.states, rng.randint(0, 2)))
    null = rng.choice(env.actions)
    choice = rng.randrange(5)
    if choice == 0:
        return cp.agents.FP(env), pressed_set, null
    if choice == 1:
        return cp.agents.FPX(env, epsilon="1/3"), pressed_set, null
    if choice == 2:
        return cp.agents.FPX(env, learner="counting", epsilon="1/4"), pressed_set, null
    if choice == 3:
        return cp.agents.STH(env, horizon=1, learner="counting"), pressed_set, null
    return (cp.agents.SI(env, stop_pressed=lambda s: s in pressed_set, null_action=null,
                         T_max=rng.choice([None, 2])), pressed_set, null)


def all_traces(agent, K):
    """Every trace of K steps with positive probability, with that probability: the
    learning world unrolled by hand, records and all (no merging of any kind)."""
    env, out = agent.env, []

    def go(o, states, acts, prob):
        t = len(acts)
        if t == K:
            out.append((states, acts, prob))
            return
        s = states[-1]
        for a, pa in agent.policy_row(o, s, t).items():
            for s2, ps in env.P[(s, a)].items():
                if pa != 0 and ps != 0:
                    go(o + ((s, a, s2),), states + [s2], acts + [a], prob * pa * ps)
    for s0, p in env.mu0.items():
        if p != 0:
            go(agent.o0, [s0], [], Fraction(p))
    return out


def first_violation(name, states, acts, K, pred, pressed, null):
    """The step of the property's first violation on a full trace (None: none; for
    ``eventually`` the trace's end K)."""
    if name == "stop":
        for j in range(K):
            if acts[j] != null and any(pressed(states[i]) for i in range(j + 1)):
                return j
        return None
    two = pred.__code__.co_argcount == 2
    steps = range(K) if two else range(K + 1)
    ok = [pred(states[t], acts[t]) if two else pred(states[t]) for t in steps]
    if name == "always":
        return next((t for t in steps if not ok[t]), None)
    return None if any(ok) else K


@pytest.mark.parametrize("seed", range(40))
def test_the_search_agrees_with_all_traces_enumerated(seed):
    rng = random.Random(seed)
    env = random_world(rng)
    agent, pressed_set, null = random_agent(rng, env)
    K = rng.randint(1, 4)
    good = set(rng.sample(env.states, rng.randint(1, len(env.states))))
    pairs = {(s, a) for s in env.states for a in env.actions if rng.random() < 0.7}
    cases = [("stop", cp.obeys_stop_button(K, stop_pressed=lambda s: s in pressed_set,
                                           null_action=null), None),
             ("always", cp.always(lambda s: s in good, K), lambda s: s in good),
             ("always", cp.always(lambda s, a: (s, a) in pairs, K),
              lambda s, a: (s, a) in pairs),
             ("eventually", cp.eventually(lambda s: s not in good, K),
              lambda s: s not in good),
             ("eventually", cp.eventually(lambda s, a: (s, a) not in pairs, K),
              lambda s, a: (s, a) not in pairs)]
    if isinstance(agent, SI):  # its own button: the certificate or the search
        cases.append(("stop", cp.obeys_stop_button(K), None))
    traces_ = all_traces(agent, K)
    for name, prop, pred in cases:
        bad = [(first_violation(name, st, ac, K, pred, lambda s: s in pressed_set, null),
                st, ac, p) for st, ac, p in traces_]
        bad = [b for b in bad if b[0] is not None]
        v = cp.verify(agent, prop, timeout=None)
        assert v.status == ("fails" if bad else "holds"), (seed, str(prop), v)
        if not bad:
            continue
        cex = v.counterexample
        states, acts = cex.data["states"], cex.data["actions"]
        # a prefix of a violating trace, at the earliest step any trace violates
        assert any(st[:len(states)] == states and ac[:len(acts)] == acts
                   for _, st, ac, _ in bad), (seed, str(prop))
        if name != "eventually":
            assert cex.data["violation_at"] == min(b[0] for b in bad), (seed, str(prop))
        # its exact probability: the sum over the full traces that extend it
        total = sum(p for st, ac, p in traces_
                    if st[:len(states)] == states and ac[:len(acts)] == acts)
        assert cex.evidence["trace_probability"] == total, (seed, str(prop))


# ---- limits and budgets ------------------------------------------------------------------

def test_the_graph_limit_is_named_with_the_fix(monkeypatch):
    monkeypatch.setattr(traces, "MAX_TRACE_NODES", 50)
    prop = cp.obeys_stop_button(200, stop_pressed=lambda s: s.button == "pressed",
                                null_action="null")
    with pytest.raises(cp.ModelTooLargeError,
                       match=r"MAX_TRACE_NODES = 50 .*by step \d+ of 200.*lower K"):
        cp.verify(cp.agents.SI(stop_button(), **STOP), prop)


def test_records_that_grow_are_refused_as_the_graph_passes_the_limit(monkeypatch):
    # a learner that tells every record apart: the graph doubles at every step
    monkeypatch.setattr(traces, "MAX_TRACE_NODES", 2_000)
    agent = cp.agents.FPX(releasing_button(), learner=lambda o: (lambda s, a: {s: 1}),
                          epsilon="1/2")
    rows = []
    original = agent.policy_row
    agent.policy_row = lambda o, s, t: rows.append(t) or original(o, s, t)
    with pytest.raises(cp.ModelTooLargeError, match="MAX_TRACE_NODES"):
        cp.verify(agent, cp.always(lambda s: True, 60), timeout=30)
    assert len(rows) <= 2_000  # stopped as the limit was passed, not at the end of K


def test_a_spent_deadline_stops_the_search():
    prop = cp.always(lambda s: True, 50)
    with pytest.raises(Expired):
        traces.check_temporal(cp.agents.SI(stop_button(), **STOP), prop, Deadline(0))


def test_a_timeout_is_unknown_never_holds_also_without_an_alarm():
    # a graph that grows with the record: far more than the budget allows. Run in a
    # thread, where no SIGALRM interrupts: the search's own deadline checks stop it
    agent = cp.agents.FPX(releasing_button(), learner="counting", epsilon="1/2")
    out = []
    worker = threading.Thread(target=lambda: out.append(
        cp.verify(agent, cp.always(lambda s: True, 200), timeout=0.5)))
    worker.start()
    worker.join(30)
    assert not worker.is_alive()
    v = out[0]
    assert (v.status, v.method) == ("unknown", "search") and not v.holds
    assert "timeout=0.5" in v.reason


# ---- the other trace properties at scale -------------------------------------------------

def test_always_eventually_and_policy_variables_at_K_200():
    si = cp.agents.SI(stop_button(), **STOP)
    v = cp.verify(si, cp.always(lambda s, a: a != "disable", 200))
    assert (v.status, v.method) == ("holds", "search")
    v = cp.verify(si, cp.eventually(lambda s: s.button == "pressed", 200, text="pressed"))
    assert v.status == "fails" and len(v.counterexample.data["actions"]) == 200
    # never pressed in 200 steps: probability (1/2)**200, exact
    assert v.counterexample.evidence["trace_probability"] == sympy.Rational(1, 2 ** 200)
    assert cp.verify(si, cp.policy_unmodified("button", 200)).status == "fails"


class Listed(SI):
    """An SI whose policy row also lists the null action, with probability 0."""

    def policy_row(self, o, s, t):
        return {"work": Fraction(1), "null": Fraction(0)}


def test_an_action_of_probability_zero_is_no_edge():
    # exploring the null action (probability 0) would violate it
    v = cp.verify(Listed(stop_button(), **STOP), cp.always(lambda s, a: a == "work", 20))
    assert (v.status, v.method) == ("holds", "search")
