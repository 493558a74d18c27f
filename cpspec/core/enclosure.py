"""Certified numeric enclosures of where a non-polynomial comparison holds.

Exact regions are derived for comparisons of rational functions of the parameters (their
boundaries are polynomials). A comparison such as ``sqrt(p) > q`` or ``exp(-r) < p`` has
no such boundaries; when asked, :func:`enclose` splits the parameter box into boxes and
decides each one with interval arithmetic (``mpmath.iv``, outward rounding, every
rational constant itself an enclosing interval): a box is reported where the comparison
provably holds throughout it, where it provably fails throughout it, or as undecided
once it is as small as asked. Nothing is guessed from a sample.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Callable, Sequence

import sympy
from mpmath import iv

from ..budget import Deadline
from ..errors import ParameterError

__all__ = ["interval_value", "truth_in", "enclose", "MAX_ENCLOSURE_BOXES"]

#: The most boxes one enclosure examines (a finer resolution asks for more).
MAX_ENCLOSURE_BOXES = 20_000

_FUNCTIONS: dict = {sympy.sqrt: iv.sqrt, sympy.exp: iv.exp, sympy.log: iv.log,
                    sympy.sin: iv.sin, sympy.cos: iv.cos, sympy.tan: iv.tan}


def interval_value(expr, box: dict):
    """An interval that contains the value of ``expr`` for every point of ``box``
    (``{symbol: (low, high)}``, exact numbers).

    >>> import sympy
    >>> p = sympy.Symbol("p")
    >>> v = interval_value(sympy.sqrt(p) - sympy.Rational(1, 3), {p: (0, sympy.Rational(1, 4))})
    >>> float(v.a) <= -1/3 and float(v.b) >= 1/6
    True
    """
    def ev(e):
        if e.is_Symbol:
            lo, hi = box[e]
            return iv.mpf([_point(lo).a, _point(hi).b])
        if e.is_Rational:
            return _point(e)
        if e is sympy.pi:
            return iv.pi
        if e is sympy.E:
            return iv.e
        if e.is_Add:
            out = ev(e.args[0])
            for a in e.args[1:]:
                out = out + ev(a)
            return out
        if e.is_Mul:
            out = ev(e.args[0])
            for a in e.args[1:]:
                out = out * ev(a)
            return out
        if e.is_Pow:
            base, k = e.args
            if k.is_Integer:
                b = ev(base)
                return b ** int(k) if k >= 0 else iv.mpf(1) / (b ** int(-k))
            if k == sympy.Rational(1, 2):
                return iv.sqrt(ev(base))
            return iv.exp(ev(k) * iv.log(ev(base)))
        f = _FUNCTIONS.get(type(e)) or _FUNCTIONS.get(e.func)
        if f is not None and len(e.args) == 1:
            return f(ev(e.args[0]))
        raise ParameterError(f"{expr}: cpspec cannot bound {e} with interval arithmetic "
                             "(it reads +, *, powers, sqrt, exp, log, sin, cos, tan)")
    return ev(sympy.sympify(expr))


def truth_in(cond, box: dict) -> bool | None:
    """Whether ``cond`` (a relation, or ``&``, ``|``, ``~`` of relations) holds at every
    point of ``box`` (True), at none (False), or is not decided by interval arithmetic
    there (None).

    >>> import sympy
    >>> p, q = sympy.symbols("p q")
    >>> box = {p: (sympy.Rational(1, 4), sympy.Rational(1, 2)), q: (0, sympy.Rational(1, 5))}
    >>> truth_in(sympy.sqrt(p) > q, box), truth_in(sympy.sqrt(p) < q, box), truth_in(p > q + sympy.Rational(1, 4), box)
    (True, False, None)
    """
    if cond is sympy.true or cond is sympy.false:
        return bool(cond)
    if isinstance(cond, sympy.Not):
        t = truth_in(cond.args[0], box)
        return None if t is None else not t
    if isinstance(cond, (sympy.And, sympy.Or)):
        ts = [truth_in(a, box) for a in cond.args]
        if isinstance(cond, sympy.And):
            return False if False in ts else (None if None in ts else True)
        return True if True in ts else (None if None in ts else False)
    try:
        v = interval_value(cond.lhs - cond.rhs, box)
    except (ArithmeticError, ValueError):
        # the box reaches where the comparison is not a real number (the square root
        # or logarithm of a negative number, a division by an interval holding 0)
        return None
    lo, hi = float(v.a), float(v.b)      # exact: the endpoints are doubles
    if lo != lo or hi != hi:             # NaN: nothing known
        return None
    if isinstance(cond, sympy.StrictGreaterThan):
        return True if lo > 0 else (False if hi <= 0 else None)
    if isinstance(cond, sympy.GreaterThan):
        return True if lo >= 0 else (False if hi < 0 else None)
    if isinstance(cond, sympy.StrictLessThan):
        return True if hi < 0 else (False if lo >= 0 else None)
    if isinstance(cond, sympy.LessThan):
        return True if hi <= 0 else (False if lo > 0 else None)
    if isinstance(cond, sympy.Equality):
        return True if lo == hi == 0 else (False if lo > 0 or hi < 0 else None)
    if isinstance(cond, sympy.Unequality):
        return False if lo == hi == 0 else (True if lo > 0 or hi < 0 else None)
    raise ParameterError(f"{cond}: not a comparison cpspec can enclose")


def _point(v):
    """A rational as an interval that contains it (its two neighbouring floats)."""
    q = Fraction(int(sympy.numer(v)), int(sympy.denom(v)))
    return iv.mpf(q.numerator) / iv.mpf(q.denominator)


def enclose(params: Sequence[sympy.Symbol], ranges: dict, decide: Callable,
            resolution, deadline: Deadline | None = None) -> list:
    """Split the box ``ranges`` (``{symbol: (low, high)}``) until ``decide(box)`` (True,
    False or None from interval arithmetic) decides each box or its sides are at most
    ``resolution`` times the box's. Returns ``[(box, answer)]`` with ``answer`` True,
    False or None (undecided at that resolution, or when the budget ran out).

    >>> import sympy
    >>> p = sympy.Symbol("p")
    >>> out = enclose([p], {p: (0, 1)}, lambda b: truth_in(p > sympy.Rational(1, 3), b),
    ...               sympy.Rational(1, 8))
    >>> [(b[p], a) for b, a in out]
    [((0, 1/4), False), ((1/4, 3/8), None), ((3/8, 1/2), True), ((1/2, 1), True)]
    """
    deadline = deadline or Deadline(None)
    resolution = sympy.Rational(resolution)
    if not 0 < resolution <= 1:
        raise ParameterError(f"enclosure={resolution}: give the smallest box side as a "
                             "fraction of the box, between 0 and 1 (e.g. 1/64)")
    ranges = {x: (sympy.Rational(ranges[x][0]), sympy.Rational(ranges[x][1])) for x in params}
    width = {x: ranges[x][1] - ranges[x][0] for x in params}
    todo = [dict(ranges)]
    out: list = []
    seen = 0
    while todo:
        box = todo.pop(0)
        seen += 1
        if seen > MAX_ENCLOSURE_BOXES:
            raise ParameterError(
                f"the enclosure needs more than MAX_ENCLOSURE_BOXES = {MAX_ENCLOSURE_BOXES} "
                "boxes (cpspec.core.enclosure); ask for a coarser resolution")
        answer = None if deadline.expired() else decide(box)
        small = all(box[x][1] - box[x][0] <= resolution * width[x] for x in params)
        if answer is not None or small or deadline.expired():
            out.append((box, answer))
            continue
        # halve every side still larger than the resolution
        halves = [[box[x]] if box[x][1] - box[x][0] <= resolution * width[x] else
                  [(box[x][0], (box[x][0] + box[x][1]) / 2),
                   ((box[x][0] + box[x][1]) / 2, box[x][1])] for x in params]
        todo.extend(_product(params, halves))
    return sorted(out, key=lambda ba: [ba[0][x] for x in params])


def _product(params, halves) -> list:
    boxes = [{}]
    for x, options in zip(params, halves):
        boxes = [{**b, x: o} for b in boxes for o in options]
    return boxes
