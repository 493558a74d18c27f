"""The exact pieces the partition is built from: conditions read off exact-domain
elements, conditions evaluated at rational points, and simplification within a box,
each checked against an independent SymPy computation."""

import random
from fractions import Fraction

import pytest
import sympy
from sympy.polys.domains import ZZ

from cpspec.core import partition as part

p, q = sympy.symbols("p q")
R = sympy.Rational
UNIT = sympy.And(p >= 0, p <= 1, q >= 0, q <= 1)


def random_polynomial(rng, degree=3):
    return sum(rng.randint(-4, 4) * p ** i * q ** j
               for i in range(degree + 1) for j in range(degree + 1 - i)
               if rng.random() < 0.5)


@pytest.mark.parametrize("seed", range(40))
def test_element_condition_is_the_relation_of_the_expression(seed):
    rng = random.Random(seed)
    K = ZZ.frac_field(p, q)
    num = random_polynomial(rng) or sympy.Integer(rng.randint(-3, 3))
    den = random_polynomial(rng, 2) or sympy.Integer(1)
    if den == 0:
        den = sympy.Integer(1)
    if rng.random() < 0.3:           # one parameter only, sometimes linear
        num, den = num.subs(q, R(1, 3)), den.subs(q, 2)
        if den == 0:
            den = sympy.Integer(1)
    x = K.from_sympy(R(rng.randint(1, 5), rng.randint(1, 5)) * num / den)
    for strict in (True, False):
        assert part.element_condition(K, x, strict) == \
            part.polynomial_condition(K.to_sympy(x), strict)


def test_element_condition_reads_constants_and_factors():
    K = ZZ.frac_field(p, q)
    assert part.element_condition(K, K.from_sympy(sympy.Integer(0)), True) is sympy.false
    assert part.element_condition(K, K.from_sympy(sympy.Integer(0)), False) is sympy.true
    assert part.element_condition(K, K.from_sympy(2 * p - 1), True) == (p > R(1, 2))
    assert part.element_condition(K, K.from_sympy((p - 1) * q / (2 + q)), False) == \
        (q * (p - 1) * (q + 2) >= 0)


@pytest.mark.parametrize("seed", range(30))
def test_truth_at_agrees_with_substitution(seed):
    rng = random.Random(seed)
    rels = [random_polynomial(rng, 2) > 0, random_polynomial(rng, 2) <= R(1, 3),
            sympy.Eq(p - q, 0), p < q]
    rels = [r for r in rels if r not in (sympy.true, sympy.false)]
    cond = sympy.Or(sympy.And(*rels[:2]), sympy.Not(rels[-1]), q - p < R(-1, 3),
                    sympy.Ne(p, R(1, 2)) & (2 * q >= 1))
    for _ in range(20):
        values = {p: R(rng.randint(0, 6), 6), q: R(rng.randint(0, 6), 3)}
        for c in [cond, *rels, q - 2 * p < R(-1, 3), p * q - R(1, 6) >= 0]:
            assert part.truth_at(c, (p, q), values) is bool(c.subs(values)), (c, values)


def test_truth_at_declines_what_it_cannot_read():
    assert part.truth_at(p > sympy.sqrt(2) * q, (p, q), {p: 1, q: 1}) is None


def test_simplification_keeps_exactly_the_conditions_the_others_do_not_imply():
    conds = [p > R(1, 2), p > R(1, 4), q >= 0, p * q <= 1, q < 1 - p + p]
    out = part.simplify_condition([p, q], UNIT, conds)
    assert out == (p > R(1, 2)) & (q < 1)
    # equivalent to the conjunction within the box, whatever was dropped
    assert part.equivalent([p, q], UNIT, out, sympy.And(*conds))


@pytest.mark.parametrize("seed", range(8))
def test_simplification_is_equivalent_to_the_conjunction(seed):
    rng = random.Random(seed)
    conds = [random_polynomial(rng, 2) >= 0, random_polynomial(rng, 1) > 0,
             random_polynomial(rng, 2) < 1]
    conds = [c for c in conds if c not in (sympy.true, sympy.false)]
    out = part.simplify_condition([p, q], UNIT, conds)
    assert part.equivalent([p, q], UNIT, out, sympy.And(*conds)) is True
    assert len(sympy.And.make_args(out)) <= len(conds)
