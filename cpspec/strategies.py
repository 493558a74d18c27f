"""Hypothesis strategies that generate random small diagrams and queries.

For cpspec's own tests and for users' property-based tests of their models::

    from hypothesis import given
    from cpspec.strategies import diagrams

    @given(diagrams())
    def test_total_probability(d):
        X = d.order[-1]
        assert sum(cp.P(d[X] == v) for v in d.domain(X)) == 1

Generated nodes are ``X0, X1, ...`` in topological order; each reads up to
``max_parents`` earlier nodes and is either deterministic (a random lookup table) or
random (a random rational table; with ``symbolic=True`` some rows are mixtures
``p * row1 + (1 - p) * row2`` in the symbol ``p``, valid for every ``p`` in [0, 1]).
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import sympy
from hypothesis import strategies as st

from .core.diagram import Diagram, world
from .core.expressions import Expr
from .core.functions import dist, fn

__all__ = ["diagrams", "events", "P_SYMBOL"]

#: The symbol used by ``diagrams(symbolic=True)``.
P_SYMBOL = sympy.Symbol("p")


@st.composite
def _row(draw, size: int, symbolic: bool):
    def weights():
        w = draw(st.lists(st.integers(0, 4), min_size=size, max_size=size))
        if not any(w):
            w[draw(st.integers(0, size - 1))] = 1
        total = sum(w)
        return [Fraction(x, total) for x in w]
    first = weights()
    if symbolic and draw(st.booleans()):
        second = weights()
        return [P_SYMBOL * sympy.Rational(a.numerator, a.denominator)
                + (1 - P_SYMBOL) * sympy.Rational(b.numerator, b.denominator)
                for a, b in zip(first, second)]
    return first


@st.composite
def diagrams(draw, max_nodes: int = 5, max_parents: int = 2, max_domain: int = 3,
             symbolic: bool = False, name: str = "h") -> Diagram:
    """A random small diagram (a Hypothesis strategy).

    Parameters
    ----------
    max_nodes, max_parents, max_domain : int
        Bounds on the number of nodes, parents per node, and values per node.
    symbolic : bool
        Let some probabilities be expressions in :data:`P_SYMBOL`.
    name : str
        The world's name.

    Examples
    --------
    >>> from hypothesis import find
    >>> find(diagrams(), lambda d: len(d) >= 2).order
    ('X0', 'X1')
    """
    n = draw(st.integers(1, max_nodes))
    nodes = []
    domains: list[int] = []
    for i in range(n):
        size = draw(st.integers(1, max_domain))
        earlier = [f"X{j}" for j in range(i)]
        parents = draw(st.lists(st.sampled_from(earlier), unique=True,
                                max_size=min(max_parents, i))) if earlier else []
        configs = list(itertools.product(*(range(domains[int(p[1:])]) for p in parents)))
        if draw(st.booleans()):
            table = {c: draw(st.integers(0, size - 1)) for c in configs}
            f = fn(lambda *a, _t=table: _t[a], parents=parents)
        else:
            table = {c: dict(enumerate(draw(_row(size, symbolic)))) for c in configs}
            f = dist(lambda *a, _t=table: _t[a], parents=parents)
        domains.append(size)
        nodes.append((f"X{i}", f))
    return world(name, nodes)


@st.composite
def events(draw, d: Diagram) -> Expr:
    """A random event over one or two nodes of ``d``: ``X == v``, ``X != v``, or a
    conjunction/disjunction of two of them.

    >>> from hypothesis import find
    >>> import cpspec as cp
    >>> d = cp.world("h", X0=cp.uniform([0, 1]))
    >>> find(events(d), lambda e: True)
    X0_h != 0
    """
    def atom():
        x = draw(st.sampled_from(d.order))
        v = draw(st.sampled_from(d.domain(x)))
        return d[x] == v if draw(st.booleans()) else d[x] != v
    e = atom()
    if len(d) > 1 and draw(st.booleans()):
        e = (e & atom()) if draw(st.booleans()) else (e | atom())
    return e
