from fractions import Fraction

import pytest
import sympy
from hypothesis import given, settings, strategies as st

import cpspec as cp
from cpspec.strategies import diagrams


def test_parents_from_argument_names_and_explicit(dice):
    assert dice.parents("S") == ("G", "R")
    w = cp.world("w", A=cp.uniform([1, 2]), B=cp.uniform([10, 20]),
                 C=cp.fn(lambda x, y: x - y, parents=["B", "A"]))
    assert w.parents("C") == ("B", "A")
    assert cp.E(w.C) == Fraction(27 / 2).limit_denominator()  # 15 - 3/2


def test_domains_are_computed(dice):
    assert dice.domain("S") == tuple(range(2, 13))


def test_cycle():
    with pytest.raises(cp.CycleError, match=r"A -> B -> A|B -> A -> B"):
        cp.world("w", A=cp.fn(lambda B: B), B=cp.fn(lambda A: A))


def test_unknown_parent_names_node_and_suggests():
    with pytest.raises(cp.UnknownNodeError, match=r"node 'S' has unknown parent 'Gg'.*'G'"):
        cp.world("w", G=cp.uniform([1]), S=cp.fn(lambda Gg: Gg))


def test_duplicate_node():
    with pytest.raises(cp.DuplicateNodeError, match="'X' is defined twice"):
        cp.world("w", [("X", cp.const(1)), ("X", cp.const(2))])


def test_probabilities_must_sum_to_one():
    with pytest.raises(cp.DistributionError, match=r"sum to 2/3"):
        cp.world("w", X=cp.dist({0: "1/3", 1: "1/3"}))


def test_symbolic_sum_that_cannot_be_shown():
    p, q = sympy.symbols("p q")
    with pytest.raises(cp.DistributionError, match="cannot be shown to equal 1"):
        cp.world("w", X=cp.dist({0: p, 1: q}))


def test_negative_probability():
    with pytest.raises(cp.DistributionError, match="negative"):
        cp.world("w", X=cp.dist({0: Fraction(-1, 2), 1: Fraction(3, 2)}))


def test_float_probability_is_refused_with_fix():
    with pytest.raises(cp.DistributionError, match=r"float.*Fraction\(1, 10\)"):
        cp.world("w", X=cp.dist({0: 0.1, 1: "9/10"}))


def test_function_that_raises_names_node_and_values():
    with pytest.raises(cp.FunctionError, match=r"node 'Y'.*ZeroDivisionError.*\(0\)"):
        cp.world("w", X=cp.uniform([0, 1]), Y=cp.fn(lambda X: 1 // X))


def test_function_returning_unhashable():
    with pytest.raises(cp.FunctionError, match="unhashable.*tuple"):
        cp.world("w", X=cp.uniform([0, 1]), Y=cp.fn(lambda X: [X]))


def test_diagram_is_immutable(dice):
    with pytest.raises(AttributeError):
        dice.name = "g"


def test_replace_cuts_and_adds_arcs(dice):
    c = dice.replace("c", R=cp.fn(lambda G: G))  # the red die copies the green one
    assert c.parents("R") == ("G",)
    assert cp.P(c.S == 12) == sympy.Rational(1, 6)
    assert dice.parents("R") == ()


def test_replace_needs_new_name(dice):
    with pytest.raises(cp.SpecError, match="new name"):
        dice.replace("f", R=6)


@settings(max_examples=40, deadline=None)
@given(diagrams(), st.data())
def test_replace_never_changes_the_original(d, data):
    target = data.draw(st.sampled_from(d.order))
    before = {n: cp.P(d[n] == d.domain(n)[0]) for n in d.order}
    tables = {n: d.table(n) for n in d.order}
    c = d.replace("c", **{target: cp.const(d.domain(target)[-1])})
    assert cp.P(c[target] == d.domain(target)[-1]) == 1
    assert {n: cp.P(d[n] == d.domain(n)[0]) for n in d.order} == before
    assert {n: d.table(n) for n in d.order} == tables


def test_bind_checks_parameter_names_and_range():
    p = sympy.Symbol("p")
    w = cp.world("w", X=cp.bernoulli(p))
    with pytest.raises(cp.ParameterError, match="no free parameter 'q'"):
        w.bind(q=1)
    with pytest.raises(cp.ParameterError, match="outside"):
        w.bind(p=2).table("X")


def test_rows_of_fractions_are_checked_like_any_other_row():
    # the integer fast path for {int/str: Fraction} rows keeps every check of the slow one
    third = Fraction(1, 3)
    with pytest.raises(cp.DistributionError, match=r"node 'Y'.*sum to 2/3.*\(0\)"):
        cp.world("w", X=cp.uniform([0, 1]), Y=cp.dist(lambda X: {"a": third, "b": third}))
    with pytest.raises(cp.DistributionError, match=r"node 'Y'.*-1/3"):
        cp.world("w", X=cp.uniform([0, 1]),
                 Y=cp.dist(lambda X: {"a": -third, "b": 4 * third}))
    with pytest.raises(cp.DistributionError, match=r"node 'Y'.*0\.5.*floating-point"):
        cp.world("w", X=cp.uniform([0, 1]), Y=cp.dist(lambda X: {0.5: Fraction(1)}))
    w = cp.world("w", X=cp.uniform([0, 1]),
                 Y=cp.dist(lambda X: {X: third, "b": 2 * third, 7: Fraction(0)}))
    assert set(w.domain("Y")) == {0, 1, "b"}
    assert cp.P(w.Y == "b") == sympy.Rational(2, 3)
