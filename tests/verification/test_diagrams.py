"""Influence diagrams as first-class models: verify, explain and draw them."""

import pytest

import cpspec as cp
from cpspec.verification.diagrams import cut_diagram


def steer():
    """D can set X (worth 2) or take 1 directly: it chooses b for its effect on X."""
    return cp.world("steer", D=cp.decision(["a", "b"]), X=cp.fn(lambda D: int(D == "b")),
                    U=cp.utility(lambda D, X: 2 * X + (D == "a")))


def guess():
    return cp.world("guess", X=cp.uniform([0, 1]),
                    S=cp.dist(lambda X: {X: "3/4", 1 - X: "1/4"}),
                    D=cp.decision([0, 1], parents=["S"]),
                    U=cp.utility(lambda X, D: int(X == D)))


def test_a_decision_chosen_for_its_effect_on_a_node_fails_with_the_evidence():
    v = cp.verify(steer(), cp.no_incentive("X"))
    assert (v.status, v.method, v.agent) == ("fails", "exact", "world 'steer'")
    d = v.counterexample.data
    assert (d["nominal"], d["cut"], d["value"], d["cut_value"]) == ("b", "a", 2, 3)
    assert d["utilities"] == {"a": 1, "b": 2}
    # hand check of the cut: X_cut reads the nominal rule (b), so X_cut = 1 either way
    c = cut_diagram(steer(), "X", cp.solve(steer()))
    sol = cp.solve(c)
    assert sol.policy("D") == "a" and sol.value == 3
    assert "counterexample: control incentive on X" in cp.draw(steer(), counterexample=v)


def test_structure_and_exact_tiers_prove_it():
    v = cp.verify(guess(), cp.no_incentive("S"))     # S is upstream of D
    assert (v.status, v.method) == ("holds", "structure")
    # D reaches U through X, but the optimal rule is the same without that influence
    w = cp.world("w", D=cp.decision(["a", "b"]), X=cp.fn(lambda D: int(D == "b")),
                 U=cp.utility(lambda D, X: 3 * (D == "a") + X))
    v = cp.verify(w, cp.no_incentive("X"))
    assert (v.status, v.method) == ("holds", "exact")


def test_a_symbolic_diagram_is_unknown_beyond_structure_and_bad_input_is_named():
    import sympy
    p = sympy.Symbol("p")
    w = cp.world("w", D=cp.decision(["a", "b"]), X=cp.fn(lambda D: int(D == "b")),
                 U=cp.utility(lambda D, X: 2 * p * X + int(D == "a")))
    v = cp.verify(w, cp.no_incentive("X"))
    assert v.status == "unknown" and "bind them (diagram.bind(p=...))" in v.reason
    with pytest.raises(cp.SpecError, match="property of agents"):
        cp.verify(steer(), cp.myopic(1))
    with pytest.raises(cp.UnknownNodeError, match="no node 'Y'"):
        cp.verify(steer(), cp.no_incentive("Y"))
    with pytest.raises(cp.SpecError, match="'U' is a utility"):
        cp.verify(steer(), cp.no_incentive("U"))


def test_explain_an_influence_diagram():
    x = cp.explain_action(guess(), {"S": 0})
    assert (x.chosen, x.utilities, x.margins[1]) == (0, {0: sympy_r(3, 4), 1: sympy_r(1, 4)},
                                                     sympy_r(-1, 2))
    assert str(x).startswith("with S = 0, decision D chooses 0")
    assert cp.explain_action(cp.solve(guess()), 1).chosen == 1
    with pytest.raises(cp.SpecError, match="give exactly those"):
        cp.explain_action(guess(), {"X": 0})
    e = cp.explain_decisions(guess())
    assert e.value == sympy_r(3, 4) and len(e.parts) == 2 and "<table>" in e._repr_html_()


def test_explain_a_parametric_influence_diagram():
    import sympy
    p = sympy.Symbol("p")
    w = cp.world("w", X=cp.bernoulli(p), D=cp.decision([0, 1]),
                 U=cp.utility(lambda X, D: int(X == D)))
    x = cp.explain_action(w, ())
    assert str(x.regions) == "0 if 0 <= p <= 1/2; 1 if 1/2 < p <= 1"
    assert x.utilities[1] == p and x.utilities[0] == 1 - p


def sympy_r(a, b):
    import sympy
    return sympy.Rational(a, b)
