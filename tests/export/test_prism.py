"""PRISM export, checked with Storm (stormpy, from the test extra where a wheel exists)."""

from fractions import Fraction

import pytest
import sympy
from hypothesis import given, settings, strategies as st

import cpspec as cp
from cpspec.examples import delayed_reward, stop_button

stormpy = pytest.importorskip("stormpy")
from stormpy.numbers.developer import gmp  # noqa: E402


def storm_value(mdp, horizon, exact=True, tmp=None):
    path = tmp / "m.prism"
    path.write_text(cp.to_prism(mdp))
    prog = stormpy.parse_prism_program(str(path))
    props = stormpy.parse_properties(cp.prism_property(mdp, horizon), prog)
    build = stormpy.build_model[gmp.Rational] if exact else stormpy.build_model[float]
    model = build(prog, props)
    res = stormpy.model_checking(model, props[0])
    v = res.get_value(model.initial_states[0])
    return sympy.Rational(str(v)) if exact else float(v)


@pytest.mark.parametrize("T", [1, 2, 3, 5])
def test_storm_agrees_exactly_on_finite_horizons(tmp_path, T):
    m = delayed_reward(delay=2)
    assert storm_value(m, T, tmp=tmp_path) == cp.solve(m, T).value


def test_storm_agrees_on_a_factored_world(tmp_path):
    m = stop_button()
    assert storm_value(m, 4, tmp=tmp_path) == cp.solve(m, 4).value


def test_storm_agrees_on_the_discounted_infinite_horizon(tmp_path):
    m = stop_button()
    exact = float(cp.solve(m, sympy.oo).value)
    # Storm's value iteration stops at its default relative precision (1e-6)
    assert abs(storm_value(m, sympy.oo, exact=False, tmp=tmp_path) - exact) < 1e-4 * exact


@settings(max_examples=10, deadline=None)
@given(st.integers(2, 4), st.integers(1, 4), st.randoms(use_true_random=False))
def test_storm_agrees_on_random_mdps(tmp_path_factory, n, T, rnd):
    P = {(s, a): {s2: Fraction(rnd.randint(1, 3)) for s2 in range(n)}
         for s in range(n) for a in "xy"}
    P = {k: {s2: w / sum(row.values()) for s2, w in row.items()} for k, row in P.items()}
    R = {(s, a, s2): rnd.randint(-2, 3) for s in range(n) for a in "xy" for s2 in range(n)}
    m = cp.MDP(range(n), "xy", lambda s, a: P[(s, a)], lambda s, a, s2: R[(s, a, s2)], 0,
               gamma="3/4")
    assert storm_value(m, T, tmp=tmp_path_factory.mktemp("p")) == cp.solve(m, T).value


def test_export_refuses_parameters_and_start_distributions():
    g = sympy.Symbol("gamma")
    with pytest.raises(cp.ParameterError, match="bind"):
        cp.prism_property(delayed_reward(gamma=g), 2)
    m = cp.MDP([0, 1], ["a"], lambda s, a: {s: 1}, lambda s, a, s2: 1, {0: "1/2", 1: "1/2"})
    with pytest.raises(cp.SpecError, match="one initial state"):
        cp.to_prism(m)
