"""When a derived value equals the value a claim expects: exactly, as expressions, as
piecewise expressions in one parameter (compared piece by piece on a common refinement),
and as parametric choices of actions (:class:`~cpspec.core.regions.Choice`).
"""

from __future__ import annotations

from fractions import Fraction

import sympy

from ..core.partition import ParameterRegion, equivalent
from ..core.regions import Choice, rational_between

__all__ = ["values_equal", "piecewise_equal", "choice_equal", "regions_equal"]


def values_equal(a, b) -> bool:
    """Whether a derived value ``a`` equals an expected value ``b``: tuples item by item,
    choices and piecewise expressions by their pieces, other SymPy expressions when
    ``simplify`` of the difference is 0, anything else by ``==``.

    >>> import sympy
    >>> p = sympy.Symbol("p")
    >>> values_equal((p + p, 1), (2 * p, 1)), values_equal(p**2, p)
    (True, False)
    """
    if isinstance(a, str) and isinstance(b, sympy.Symbol) or \
            isinstance(b, str) and isinstance(a, sympy.Symbol):
        return str(a) == str(b)     # an action, and the word a bound condition chose
    if isinstance(a, list) and a and isinstance(a[0], ParameterRegion):
        return regions_equal(a, b)
    if isinstance(a, sympy.Piecewise) and len(
            _condition_symbols(a) | (_condition_symbols(sympy.piecewise_fold(b))
                                     if isinstance(b, sympy.Basic) and
                                     b.has(sympy.Piecewise) else set())) > 1:
        # a Piecewise's pieces hold in order: each where the earlier ones do not
        return regions_equal([ParameterRegion(sympy.And(c, *[sympy.Not(e) for _, e in
                                                           a.args[:i]]), v, {})
                              for i, (v, c) in enumerate(a.args)], b)
    if isinstance(a, Choice) or isinstance(b, Choice):
        return choice_equal(a, b)
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(values_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, sympy.Basic) and isinstance(b, sympy.Basic) and (
            a.has(sympy.Piecewise) or b.has(sympy.Piecewise)):
        return piecewise_equal(a, b)
    if isinstance(a, sympy.Basic) and isinstance(b, sympy.Basic):
        if a == b:
            return True
        try:
            return bool(sympy.simplify(a - b) == 0)
        except (TypeError, AttributeError):
            return False
    return bool(a == b)


def _pieces(e, x):
    if isinstance(e, sympy.Piecewise):
        return [(v, c) for v, c in e.args]
    return [(e, sympy.true)]


def _active(e, x, c):
    for v, cond in _pieces(e, x):
        if cond is sympy.true or cond.subs(x, c) == sympy.true:
            return v
    return None


def piecewise_equal(a, b) -> bool:
    """Equality of piecewise expressions in one parameter, on the derived (``a``)
    domain: the pieces are compared as expressions on every interval of the common
    refinement, and the values at every breakpoint."""
    a, b = sympy.piecewise_fold(a), sympy.piecewise_fold(b)
    pw_syms = set()
    for e in (a, b):
        for p in e.atoms(sympy.Piecewise):
            for _, c in p.args:
                pw_syms |= c.free_symbols
    if len(pw_syms) != 1:
        return sympy.simplify(a - b) == 0
    x = next(iter(pw_syms))
    domain = sympy.S.EmptySet
    for _, c in _pieces(a, x):
        domain = domain | (sympy.S.Reals if c is sympy.true else c.as_set())
    cuts = set()
    for e in (a, b):
        for _, c in _pieces(e, x):
            if c is not sympy.true:
                cuts |= {v for v in c.as_set().boundary if v.is_finite}
    cuts = sorted(cuts, key=lambda v: sympy.N(v, 50))
    tests = list(cuts)
    bounds = [-sympy.oo] + cuts + [sympy.oo]
    intervals = [(lo, hi) for lo, hi in zip(bounds, bounds[1:])]
    for lo, hi in intervals:
        c = rational_between(lo, hi)
        if domain.contains(c) != sympy.true:
            continue
        ea, eb = _active(a, x, c), _active(b, x, c)
        if ea is None or eb is None or sympy.simplify(ea - eb) != 0:
            return False
    for c in tests:
        if domain.contains(c) != sympy.true:
            continue
        ea, eb = _active(a, x, c), _active(b, x, c)
        if ea is None or eb is None or sympy.simplify((ea - eb).subs(x, c)) != 0:
            return False
    return True


def choice_equal(a, b) -> bool:
    """A derived Choice against an expected value: a constant, another Choice, or a
    Piecewise of action symbols built from ``x if cond else y``."""
    if isinstance(a, Choice) and isinstance(b, Choice):
        a, b = a, _choice_as_piecewise(b)
    if not isinstance(a, Choice):
        a, b = b, a
    if isinstance(b, Choice):
        b = _choice_as_piecewise(b)
    if isinstance(b, sympy.Basic):
        b = sympy.piecewise_fold(b)
    if not isinstance(b, sympy.Piecewise):
        return False  # a genuinely parametric answer never equals a constant
    if any({str(s) for s in sympy.sympify(c).free_symbols} - {str(a.x)} for _, c in b.args):
        # the expected regions read another parameter the derived answer does not
        # depend on (bound, or not a parameter here): not the same answer
        return False
    domain = sympy.Union(*(s for s, _ in a.pieces))
    taken: sympy.Set = sympy.S.EmptySet
    for val, cond in b.args:
        where = (cond.as_set() if cond is not sympy.true else sympy.S.Reals) - taken
        taken = taken | where
        for s, act in a.pieces:
            if str(val) != str(act) and (s & where & domain) is not sympy.S.EmptySet:
                return False
    return (domain - taken) is sympy.S.EmptySet


def _choice_as_piecewise(c: Choice):
    return sympy.Piecewise(*[(sympy.Symbol(str(v)), s.as_relational(c.x)) for s, v in c.pieces])


def _condition_symbols(pw) -> set:
    return set().union(*(c.free_symbols for _, c in pw.args))


def regions_equal(regions, expected) -> bool:
    """Derived regions (answers with conditions over several parameters) against an
    expected value: a constant, or ``x if cond else y`` over the parameters. Equal when,
    within the derived regions, each expected piece's answer is the region's wherever
    they meet (each meeting decided exactly by Z3) and the pieces cover every region.

    >>> import sympy
    >>> p, q = sympy.symbols("p q")
    >>> regs = [ParameterRegion(sympy.And(p >= 0, p <= 1, q > p), "wait", {}),
    ...         ParameterRegion(sympy.And(p >= 0, p <= 1, q >= 0, q <= p), "act", {})]
    >>> w, a = sympy.symbols("wait act")
    >>> regions_equal(regs, sympy.Piecewise((a, p >= q), (w, True))), \\
    ...     regions_equal(regs, sympy.Piecewise((a, p > q), (w, True)))
    (True, False)
    """
    params = sorted(set().union(*(r.condition.free_symbols for r in regions)) |
                    (_condition_symbols(sympy.piecewise_fold(expected))
                     if isinstance(expected, sympy.Basic) and expected.has(sympy.Piecewise)
                     else set()), key=str)   # the expected regions may read more
    if isinstance(expected, sympy.Basic):
        expected = sympy.piecewise_fold(expected)
    pieces = list(expected.args) if isinstance(expected, sympy.Piecewise) else \
        [(expected, sympy.true)]
    taken = sympy.false
    for val, cond in pieces:
        here = sympy.And(cond, sympy.Not(taken))
        taken = sympy.Or(taken, cond)
        for r in regions:
            if _same(val, r.answer):
                continue
            meet = sympy.And(r.condition, here)
            if _numbers(val, r.answer, params):
                # two values may differ as expressions yet agree where the pieces meet
                # (a tie on the boundary between two branches)
                gap = sympy.numer(sympy.together(sympy.sympify(val) - r.answer))
                if equivalent(params, meet, sympy.Eq(gap, 0), sympy.true) is not True:
                    return False
                continue
            if equivalent(params, meet, sympy.true, sympy.false) is not True:
                return False
    return all(equivalent(params, r.condition, taken, sympy.true) is True for r in regions)


def _numbers(a, b, params) -> bool:
    """Whether ``a`` and ``b`` are both numbers or rational functions of ``params``."""
    def num(x):
        x = sympy.sympify(x) if isinstance(x, (int, Fraction)) else x
        return isinstance(x, sympy.Expr) and x.free_symbols <= set(params) and \
            x.is_rational_function(*params)
    return num(a) and num(b)


def _same(a, b) -> bool:
    if str(a) == str(b):
        return True
    if isinstance(a, sympy.Basic) and isinstance(b, sympy.Basic):
        try:
            return bool(sympy.simplify(a - b) == 0)
        except (TypeError, AttributeError):
            return False
    return False
