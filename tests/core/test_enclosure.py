"""Certified numeric enclosures of non-polynomial comparisons: every box said to hold
(or fail) holds (or fails) at exact points inside it, the undecided boxes are where the
boundary runs, and bad input gets a named error."""

import random

import pytest
import sympy

import cpspec as cp
from cpspec.core.enclosure import enclose, interval_value, truth_in

p, q = sympy.symbols("p q")
R = sympy.Rational


def _inside(cond, rng):
    """An exact rational point of one of the boxes of an enclosure's condition."""
    box = rng.choice(list(sympy.Or.make_args(cond)))
    lo = {x: max(a.rhs for a in box.args if isinstance(a, sympy.GreaterThan) and a.lhs == x)
          for x in (p, q)}
    hi = {x: min(a.rhs for a in box.args if isinstance(a, sympy.LessThan) and a.lhs == x)
          for x in (p, q)}
    return {x: lo[x] + (hi[x] - lo[x]) * R(rng.randint(0, 20), 20) for x in (p, q)}


def test_an_enclosure_is_certified_box_by_box():
    w = cp.world("w", X=cp.bernoulli(p), Y=cp.bernoulli(q))
    rel = sympy.sqrt(cp.E(w.X)) > cp.E(w.Y)           # sqrt(p) > q: no polynomial boundary
    with pytest.raises(cp.ParameterError, match="enclosure=1/64"):
        cp.where(rel, model=w)
    regs = {r.answer: r for r in cp.where(rel, model=w, enclosure=R(1, 16))}
    assert set(regs) == {True, False, None}
    rng = random.Random(3)
    for _ in range(300):
        for answer in (True, False):
            pt = _inside(regs[answer].condition, rng)
            assert bool(sympy.sqrt(pt[p]) > pt[q]) is answer, pt
    # the boundary q = sqrt(p) runs through the undecided boxes only
    for k in range(1, 16):
        pv = R(k, 16) ** 2 + R(1, 1000)
        on = {p: pv, q: sympy.sqrt(pv)}
        assert regs[None].condition.subs(on) is sympy.true, on
    # no box is wider than asked
    for box in sympy.Or.make_args(regs[None].condition):
        ends = sorted(a.rhs for a in box.args if a.lhs == p)
        assert ends[-1] - ends[0] <= R(1, 16)


def test_a_rational_comparison_stays_exact_with_enclosure():
    w = cp.world("w", X=cp.bernoulli(p), Y=cp.bernoulli(q))
    regs = cp.where(cp.E(w.X + w.Y) > 1, model=w, enclosure=R(1, 8))
    assert [str(r) for r in regs] == ["False where p + q - 1 <= 0", "True where p + q - 1 > 0"]


def test_three_valued_truth_on_boxes():
    box = {p: (R(1, 4), R(1, 2)), q: (R(0), R(1, 5))}
    assert truth_in(sympy.sqrt(p) > q, box) is True
    assert truth_in(sympy.sqrt(p) <= q, box) is False
    assert truth_in(p > q + R(1, 4), box) is None
    assert truth_in((sympy.sqrt(p) > q) & (p > q + R(1, 4)), box) is None
    assert truth_in((sympy.sqrt(p) > q) | (p > q + R(1, 4)), box) is True
    assert truth_in(~(sympy.sqrt(p) > q), box) is False
    assert truth_in(sympy.exp(p) >= 1, box) is True
    v = interval_value(R(1, 3) - p, {p: (R(1, 3), R(1, 3))})
    assert float(v.a) <= 0 <= float(v.b)       # a rational constant is an enclosing interval
    # closer to 1/3 than any double can tell: never certified the wrong way
    a = R(1, 3) + R(1, 10 ** 30)
    assert truth_in(p > R(1, 3), {p: (a, a)}) is not False
    assert truth_in(p <= R(1, 3), {p: (a, a)}) is not True


def test_bad_enclosures_are_named():
    with pytest.raises(cp.ParameterError, match="between 0 and 1"):
        enclose([p], {p: (0, 1)}, lambda b: None, 2)
    with pytest.raises(cp.ParameterError, match="MAX_ENCLOSURE_BOXES"):
        enclose([p, q], {p: (0, 1), q: (0, 1)}, lambda b: None, R(1, 1024))
    with pytest.raises(cp.ParameterError, match="cannot bound"):
        interval_value(sympy.gamma(p), {p: (1, 2)})
