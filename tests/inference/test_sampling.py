import pytest
import sympy
from hypothesis import given, settings, strategies as st

import cpspec as cp
from cpspec.strategies import diagrams, events


def test_seeded_and_reproducible(dice):
    a = cp.simulate(dice, 500, seed=7)
    b = cp.simulate(dice, 500, seed=7)
    c = cp.simulate(dice, 500, seed=8)
    assert all((a[n] == b[n]).all() for n in dice.order)
    assert not (a["G"] == c["G"]).all()
    assert (a["S"] == a["G"] + a["R"]).all()


def test_counterfactual_simulation(dice):
    s = cp.simulate(dice.replace("c", R=6), 200, seed=0)
    assert (s["R"] == 6).all()


def test_symbolic_parameters_must_be_bound():
    p = sympy.Symbol("p")
    w = cp.world("w", X=cp.bernoulli(p))
    with pytest.raises(cp.ParameterError, match="params"):
        cp.simulate(w, 10, seed=0)
    s = cp.simulate(w, 4000, seed=0, params={"p": "1/4"})
    assert abs(s["X"].mean() - 0.25) < 0.05


def test_per_sample_path_for_untabulable_nodes(monkeypatch):
    import cpspec.core.diagram as dg
    monkeypatch.setattr(dg, "MAX_TABLE_ROWS", 10)
    w = cp.world("w", A=cp.uniform(range(4)), B=cp.uniform(range(4)),
                 C=cp.fn(lambda A, B: A * B))  # 16 parent rows > 10: not tabulated
    s = cp.simulate(w, 300, seed=2)
    assert (s["C"] == s["A"] * s["B"]).all()
    with pytest.raises(cp.FactorTooLargeError, match="'C'.*A:4 x B:4"):
        cp.E(w.C)


def test_crosscheck_agrees_on_dice(dice):
    r = cp.crosscheck(dice, dice.S == 12, n=40_000, seed=1)
    assert r.agrees and r.exact == sympy.Rational(1, 36)
    r = cp.crosscheck(dice, dice.G, given=dice.S >= 11, n=40_000, seed=1)
    assert r.agrees and r.exact == sympy.Rational(17, 3)


def test_crosscheck_flags_a_wrong_claim(dice):
    r = cp.crosscheck(dice, dice.S, n=40_000, seed=1, claimed=sympy.Rational(15, 2))
    assert not r.agrees
    assert "DISAGREES" in str(r)


def test_crosscheck_with_parameters():
    p = sympy.Symbol("p")
    w = cp.world("w", X=cp.bernoulli(p), Y=cp.dist(lambda X: {X: p, 1 - X: 1 - p}))
    r = cp.crosscheck(w, w.X + w.Y, params={"p": "1/3"}, n=30_000, seed=4)
    assert r.agrees and r.exact == sympy.Rational(8, 9)


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_exact_agrees_with_simulation_on_random_diagrams(data):
    d = data.draw(diagrams(max_nodes=4))
    e = data.draw(events(d))
    # seeded per example; the Hoeffding bound at 1 - 1e-6 makes a false alarm negligible
    r = cp.crosscheck(d, e, n=4000, seed=data.draw(st.integers(0, 2**16)),
                      confidence=1 - 1e-6)
    assert r.agrees, str(r)
