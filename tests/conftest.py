"""Shared fixtures: the paper's named example models, built fresh (they are immutable)."""

import itertools
from fractions import Fraction

import pytest
import sympy

from cpspec.examples import dice_world  # the paper's game world


@pytest.fixture
def dice():
    return dice_world()


def brute_force_joint(d):
    """Enumerate the whole joint distribution (for tiny test diagrams only)."""
    out = {}
    names = d.order
    for values in itertools.product(*(d.domain(n) for n in names)):
        env = dict(zip(names, values))
        p = sympy.Integer(1)
        for n in names:
            t = d.table(n)
            configs = list(itertools.product(*(d.domain(q) for q in t.parents)))
            row = t.rows[configs.index(tuple(env[q] for q in t.parents))]
            prob = row.get(env[n], 0)
            p *= sympy.Rational(prob.numerator, prob.denominator) if isinstance(
                prob, Fraction) else prob
        out[values] = p
    return names, out
