"""The bounds tier of no_incentive (method "bounds"): exact interval bounds over every
dynamics of the node, checked against independent oracles (every deterministic table
solved exactly, Z3 with the dynamics free) and on the tie rule."""

import itertools
from fractions import Fraction

import pytest
import sympy
import z3
from hypothesis import given, settings, strategies as st

import cpspec as cp
import cpspec.verification.encoding as encoding
from cpspec.decisions.mdp import State
from cpspec.verification.bounds import incentive_bounds, is_decided
from cpspec.verification.encoding import check_z3, real
from cpspec.verification.incentives import incentive_problem
from cpspec.verification.structure import no_path_certificate

F = Fraction


def button_world(effect, gamma="1/2"):
    """``x`` follows the action (``go`` -> 1); a button ``b`` (pressed w.p. 1/2 each
    step, ``press`` presses it) adds ``effect * b`` to the reward: a path from ``b`` to
    the utility, whose weight ``effect`` decides whether its dynamics can matter."""
    return cp.MDP.factored(
        variables={"x": [0, 1], "b": [0, 1]},
        dynamics={"x": cp.fn(lambda A: 1 if A == "go" else 0),
                  "b": cp.dist(lambda A: {1: 1} if A == "press" else {0: "1/2", 1: "1/2"})},
        actions=["stay", "go", "press"],
        reward=lambda s, a, s2: s2.x + effect * s2.b, start={"x": 0, "b": 0}, gamma=gamma)


@pytest.mark.parametrize("horizon", [None, 1, 3])
def test_a_small_effect_is_decided_by_the_bounds(horizon):
    agent = cp.agents.FP(button_world(F(1, 100)), horizon=horizon)
    assert no_path_certificate(agent, "b") is None   # b reaches the reward
    v = cp.verify(agent, cp.no_incentive("b"))
    assert (v.status, v.method) == ("holds", "bounds")
    assert "interval bounds" in v.reason


@pytest.mark.parametrize("horizon", [None, 1, 3])
def test_a_large_effect_fails_with_the_bounds_candidate(horizon):
    # the helper's choice (pressing pays when the button stays pressed under 'press' and
    # never under 'go') is the counterexample: confirmed by exact replay, reported with
    # method "bounds" (the tier that proposed it)
    agent = cp.agents.FP(button_world(F(2)), horizon=horizon)
    v = cp.verify(agent, cp.no_incentive("b"))
    assert (v.status, v.method) == ("fails", "bounds")
    cex = v.counterexample
    assert cex.evidence["confirmed"] and cex.data["flipped"] != cex.data["nominal"]
    for key in ("state", "nominal", "flipped", "node", "dynamics", "parents", "changed",
                "learned"):
        assert key in cex.data
    # fewest rows: one changed row is enough here, and only it is shown
    assert len(cex.data["changed"]) == 1
    (config, row), = cex.data["changed"].items()
    assert cex.data["dynamics"][config] == row
    assert cex.data["learned"][config] != row
    assert cex.text.count("->") == 1
    twin = cp.agents.FP(_with_rows(agent.env, "b", cex.data["dynamics"]), horizon=horizon)
    assert twin.planned_action((), cex.data["state"]) == cex.data["flipped"]


def _with_rows(env, node, table):
    domains, dynamics, parents = env.factors
    dyn = dict(dynamics)
    dyn[node] = cp.dist(lambda *args: table[tuple(args)], parents=list(parents[node]))
    return cp.MDP.factored(domains, dyn, env.actions, env.reward,
                           dict(next(iter(env.mu0))), env.gamma)


def tie_world(actions):
    """``a`` pays 1; ``b`` pays 1 only when the node ``y`` turns 1 (learned: never).
    No dynamics makes ``b`` better than ``a``; one makes them equal."""
    return cp.MDP.factored(
        variables={"y": [0, 1]}, dynamics={"y": cp.fn(lambda A: 0)}, actions=actions,
        reward=lambda s, a, s2: 1 if a == "a" else s2.y, start={"y": 0}, gamma="1/2")


@pytest.mark.parametrize("horizon", [None, 1, 2])
def test_a_tie_the_nominal_action_wins_is_decided(horizon):
    # 'a' is declared first: a tie keeps it, so no dynamics changes the action
    v = cp.verify(cp.agents.FP(tie_world(["a", "b"]), horizon=horizon), cp.no_incentive("y"))
    assert (v.status, v.method) == ("holds", "bounds")


@pytest.mark.parametrize("horizon", [None, 1, 2])
def test_a_tie_the_alternative_wins_is_not_decided(horizon):
    # 'b' is declared first: y' = 1 after 'b' ties it with 'a', and ties go to 'b'
    v = cp.verify(cp.agents.FP(tie_world(["b", "a"]), horizon=horizon), cp.no_incentive("y"))
    assert v.status == "fails" and v.counterexample.evidence["confirmed"]
    assert (v.counterexample.data["nominal"], v.counterexample.data["flipped"]) == ("a", "b")


def test_is_decided_keeps_the_tie_rule():
    assert is_decided({"a": 1}, {"a": 9, "b": 1}, ("a", "b"), "a")
    assert not is_decided({"a": 1}, {"a": 9, "b": F(1) + F(1, 10**9)}, ("a", "b"), "a")
    assert not is_decided({"a": 1}, {"b": 1, "a": 9}, ("b", "a"), "a")
    assert is_decided({"a": 1}, {"b": 1 - F(1, 10**9), "a": 9}, ("b", "a"), "a")


def shared_row_world():
    """``y`` has one row (no parents) that both actions read: ``a`` pays ``1 + y'``, ``b``
    pays ``2 y'``. Per action the bounds let ``y'`` differ (so they cannot decide), but
    one row gives ``Q(a) - Q(b) = 1 - P(y' = 1) >= 0``, and ties go to ``a``."""
    return cp.MDP.factored(
        variables={"y": [0, 1]}, dynamics={"y": cp.dist({0: "1/2", 1: "1/2"})},
        actions=["a", "b"], reward=lambda s, a, s2: 1 + s2.y if a == "a" else 2 * s2.y,
        start={"y": 0}, gamma="1/2")


def test_an_undecided_state_whose_candidates_do_not_flip_is_left_to_the_next_tiers():
    agent = cp.agents.FP(shared_row_world(), horizon=1)
    b = incentive_bounds(agent, "y", agent.planned_actions(()))
    assert b.undecided and b.candidates     # the relaxation is not tight here
    v = cp.verify(agent, cp.no_incentive("y"))
    assert (v.status, v.method) == ("holds", "z3")
    assert "decided by exact interval bounds" not in v.reason  # no state was


def test_the_bounds_tier_respects_the_term_limit(monkeypatch):
    monkeypatch.setattr(encoding, "MAX_TERMS", 1)
    agent = cp.agents.FP(button_world(F(1, 100)), horizon=1)
    assert incentive_bounds(agent, "b", agent.planned_actions(())) is None
    assert cp.verify(agent, cp.no_incentive("b")).method != "bounds"


def test_sif_counterexample_changes_one_reachable_row():
    from cpspec.examples import stop_button
    stop = dict(stop_pressed=lambda s: s.button == "pressed", null_action="null")
    v = cp.verify(cp.agents.SIF(stop_button(), **stop), cp.no_incentive("button"))
    assert v.status == "fails" and v.method == "bounds"
    assert len(v.counterexample.data["changed"]) == 1
    assert "(learned {" in v.counterexample.text


# ---- the oracle: bounds never say holds where some dynamics flips the action ------------

def _rational_row(draw, values):
    ws = [draw(st.integers(0, 3)) for _ in values]
    if not any(ws):
        ws[draw(st.integers(0, len(ws) - 1))] = 1
    return {v: F(w, sum(ws)) for v, w in zip(values, ws) if w}


@st.composite
def small_worlds(draw):
    """Two variables; y (the node) reads itself and the action; x reads x, y and the
    action; rewards small integers, sometimes scaled down to make y's effect small."""
    X = [0, 1, 2][:draw(st.integers(2, 3))]
    tx = {(x, y, A): _rational_row(draw, X) for x in X for y in (0, 1) for A in "ab"}
    ty = {(y, A): _rational_row(draw, [0, 1]) for y in (0, 1) for A in "ab"}
    scale = draw(st.sampled_from([F(1), F(1, 20)]))
    R = {(x, y, A): draw(st.integers(-2, 3)) for x in X for y in (0, 1) for A in "ab"}
    Ry = {y2: draw(st.integers(-2, 2)) * scale for y2 in (0, 1)}
    horizon = draw(st.sampled_from([None, 1, 2]))
    return tx, ty, R, Ry, X, horizon


def _world(tx, ty, R, Ry, X):
    return cp.MDP.factored(
        variables={"x": X, "y": [0, 1]},
        dynamics={"x": cp.dist(lambda x, y, A: tx[(x, y, A)]),
                  "y": cp.dist(lambda y, A: ty[(y, A)])},
        actions=["a", "b"], reward=lambda s, a, s2: R[(s.x, s.y, a)] + Ry[s2.y],
        start={"x": 0, "y": 0}, gamma="9/10")


@settings(max_examples=40, deadline=None)
@given(small_worlds())
def test_bounds_never_say_holds_where_a_table_flips_the_action(world):
    tx, ty, R, Ry, X, horizon = world
    agent = cp.agents.FP(_world(tx, ty, R, Ry, X), horizon=horizon)
    nominals = agent.planned_actions(())
    b = incentive_bounds(agent, "y", nominals)
    assert set(b.decided) | set(b.undecided) == set(agent.env.states)
    if not b.decided:
        return
    # every deterministic table, solved exactly (independent of the bounds)
    for combo in itertools.product([0, 1], repeat=len(ty)):
        table = {c: {v: F(1)} for c, v in zip(ty, combo)}
        twin = cp.agents.FP(_world(tx, table, R, Ry, X), horizon=horizon)
        for s in b.decided:
            assert twin.planned_action((), s) == nominals[s]
    # and Z3 with the dynamics free: no model flips a decided state (unknown allowed)
    for s in sorted(b.decided)[:2]:
        ctx = z3.Context()
        solver = z3.Solver(ctx=ctx)
        solver.set("timeout", 3000)
        incentive_problem(agent, "y", s, nominals[s], ctx, solver, real(ctx, F(9, 10)))
        assert check_z3(solver)[0] != "sat"


@settings(max_examples=25, deadline=None)
@given(small_worlds())
def test_verify_agrees_with_the_bounds(world):
    tx, ty, R, Ry, X, horizon = world
    agent = cp.agents.FP(_world(tx, ty, R, Ry, X), horizon=horizon)
    b = incentive_bounds(agent, "y", agent.planned_actions(()))
    v = cp.verify(agent, cp.no_incentive("y"), timeout=5)
    if not b.undecided:
        assert v.status == "holds" and v.method in ("structure", "bounds")
    if v.status == "fails":
        assert v.counterexample.evidence["confirmed"]
        assert v.counterexample.data["state"] in b.undecided


# ---- counterexamples: fewest rows, only rows a path from the state reads --------------

def corner_world():
    """``x`` never changes; the node ``y`` reads ``x`` and the action. In x = 0, 'a' pays
    1 and 'b' pays 2 y'; y' is learned 0, so 'a' is planned. Rows of x = 1 are never read
    from x = 0."""
    return cp.MDP.factored(
        variables={"x": [0, 1], "y": [0, 1]},
        dynamics={"x": cp.fn(lambda x: x), "y": cp.fn(lambda x, A: 0)},
        actions=["a", "b"],
        reward=lambda s, a, s2: (1 if a == "a" else 2 * s2.y) if s.x == 0 else 0,
        start={"x": 0, "y": 0}, gamma="1/2")


def _noisy_table():
    one = {1: F(1)}
    # (0, 'b') is what flips the action in x = 0; (0, 'a') changes nothing there;
    # the rows of x = 1 are not read from x = 0
    return {(0, "a"): one, (0, "b"): one, (1, "a"): one, (1, "b"): one}


@pytest.mark.parametrize("horizon", [None, 1])
def test_a_counterexample_keeps_only_the_rows_that_matter(monkeypatch, horizon):
    import cpspec.verification.incentives as incentives
    monkeypatch.setattr(incentives, "incentive_bounds", lambda *a: None)
    monkeypatch.setattr(incentives, "_incentive_witness",
                        lambda agent, node, nominals, stop_at: (_noisy_table(),
                                                                State(x=0, y=0)))
    v = cp.verify(cp.agents.FP(corner_world(), horizon=horizon), cp.no_incentive("y"))
    assert v.status == "fails" and v.counterexample.evidence["confirmed"]
    d = v.counterexample.data
    assert d["changed"] == {(0, "b"): {1: 1}}
    assert d["learned"] == {(0, "b"): {0: 1}}
    assert d["parents"] == ("x", "A")
    assert d["dynamics"][(1, "b")] == {0: 1}     # put back: shown and replayed as learned
    assert "x=0, A='b' -> {1: 1} (learned {0: 1})" in v.counterexample.text
    assert "x=1" not in v.counterexample.text


def test_rows_no_path_reads_are_dropped_even_without_time_to_replay(monkeypatch):
    import cpspec.verification.incentives as incentives
    monkeypatch.setattr(incentives, "incentive_bounds", lambda *a: None)
    monkeypatch.setattr(incentives, "_incentive_witness",
                        lambda agent, node, nominals, stop_at: (_noisy_table(),
                                                                State(x=0, y=0)))
    monkeypatch.setattr(incentives, "_soon", lambda deadline: 0.0)   # no time left
    v = cp.verify(cp.agents.FP(corner_world(), horizon=1), cp.no_incentive("y"))
    assert v.status == "fails"
    assert set(v.counterexample.data["changed"]) == {(0, "a"), (0, "b")}
