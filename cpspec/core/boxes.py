"""Exact certificates over a box of parameters by subdivision.

A polynomial's values on a box lie between the least and the greatest of its Bernstein
coefficients on that box (the corner coefficients are its values at the corners), and
halving the box (de Casteljau's algorithm) tightens them. :func:`cover` uses this to
decide, in integer arithmetic, whether some condition of a list holds at every point of
a box: each condition is a Boolean of relations ``c * f_1**k_1 * ... * f_m**k_m  > 0``
(``>=``, ``<``, ``<=``, ``=``, ``!=``) over irreducible polynomials ``f_i``, so on a box
where each ``f_i`` has a known set of possible signs it is true, false or undecided.

A box is **covered** when a condition is true on all of it, or when every combination of
the possible signs of the factors still in question makes some condition true (one
boundary curve crossing the box between two regions; two crossing each other). A box
where every condition is false, or whose centre satisfies none, gives a rational point
no condition covers. Other boxes are halved; a box that stays undecided (where three
boundaries meet, or one touches another) is returned **open**, for an exact decision
procedure (Z3) to settle on that small box alone.

This is what :func:`cpspec.core.partition.partition` asks, for boundaries of total
degree above :data:`cpspec.core.partition.Z3_DEGREE`, for more than
:data:`cpspec.core.partition.Z3_REGIONS` regions, or once one Z3 query about the whole
box took :data:`cpspec.core.partition.Z3_SECONDS`, instead of that query: a box covered
by regions whose boundaries have high degree is proved covered by a few hundred small
integer computations and a few local queries, where the one query's cost grows with the
degree and number of every boundary.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections import deque
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Sequence

import numpy as np
import sympy

__all__ = ["cover", "Cover", "degree", "bernstein", "sign", "remember", "known", "RELATIONS",
           "COVER_BOXES", "LOCAL_DEPTH", "MAX_DEPTH", "COMBINATIONS", "KNOWN_FACTORS",
           "KEPT_HALVES"]

#: Boxes :func:`cover` examines before it gives up (its answer is then None).
COVER_BOXES = 2000
#: Halvings after which an undecided box where at most three factors are in question is
#: left open (for an exact local decision) instead of halved again.
LOCAL_DEPTH = 8
#: Halvings after which any undecided box is left open.
MAX_DEPTH = 12
#: Sign combinations of the undecided factors enumerated on one box, at most.
COMBINATIONS = 81

#: Relation type -> the test a value's sign passes for it (``p > 0``: ``v > 0``).
RELATIONS = {sympy.StrictGreaterThan: lambda v: v > 0, sympy.GreaterThan: lambda v: v >= 0,
          sympy.StrictLessThan: lambda v: v < 0, sympy.LessThan: lambda v: v <= 0,
          sympy.Equality: lambda v: v == 0, sympy.Unequality: lambda v: v != 0}


@dataclass
class Cover:
    """What :func:`cover` found: ``proved`` (every point of the box satisfies a
    condition), else ``point`` (a rational point, ``{symbol: Rational}``, that satisfies
    none), else ``open``: the boxes left undecided (the rest of the box is covered),
    each ``(ranges, indices, residuals)``: its ranges (``((low, high), ...)`` per
    parameter, Fractions), the indices of the conditions that are not false on it, and
    those conditions as they read there (each relation decided on the box replaced by
    its truth value)."""
    proved: bool = False
    point: dict | None = None
    open: list = field(default_factory=list)


class _Unsupported(Exception):
    """A condition that is not a Boolean of polynomial relations with rational
    coefficients (the certificate does not apply)."""


@functools.lru_cache(maxsize=8192)
def _parse(cond, params: tuple):
    """``cond`` as nested tuples: ``('c', bool)``, ``('&', parts)``, ``('|', parts)``,
    ``('~', part)`` or ``('a', test, sign, ((factor, power), ...))`` with each factor a
    primitive integer :class:`sympy.Poly` with a positive leading coefficient."""
    if cond is sympy.true or cond is sympy.false:
        return ("c", bool(cond))
    if isinstance(cond, tuple):              # a conjunction not built as sympy.And
        return ("&", tuple(_parse(a, params) for a in cond))
    if isinstance(cond, (sympy.And, sympy.Or)):
        return ("&" if isinstance(cond, sympy.And) else "|",
                tuple(_parse(a, params) for a in cond.args))
    if isinstance(cond, sympy.Not):
        return ("~", _parse(cond.args[0], params))
    test = RELATIONS.get(type(cond))
    if test is None:
        raise _Unsupported(cond)
    parts = sympy.Mul.make_args(cond.lhs) if cond.rhs == 0 else (cond.lhs - cond.rhs,)
    sign, factors = 1, {}
    for part in parts:
        base, k = part.as_base_exp()
        if not (k.is_Integer and k > 0):
            base, k = part, 1
        k = int(k)
        if base.is_Rational:
            sign *= (1 if base > 0 else -1 if base < 0 else 0) ** k
            continue
        s, fs = _factor(base, params)
        sign *= s ** k
        for f, j in fs:
            factors[f] = factors.get(f, 0) + j * k
    if sign == 0:
        return ("c", bool(test(0)))
    factors = tuple(factors.items())
    if not factors:
        return ("c", bool(test(sign)))
    return ("a", test, sign, tuple(factors))


#: Most polynomials :func:`remember` keeps (all are forgotten when it is full).
KNOWN_FACTORS = 8192
_KNOWN: dict = {}


def remember(expr, poly: sympy.Poly) -> None:
    """Record that the expression ``expr`` is the irreducible polynomial ``poly``
    (primitive over the integers, positive leading coefficient in the order of its
    generators): a region's conditions are built from factored polynomials, and reading
    them back (:func:`degree`, :func:`cover`, the signs of factors on a box) would
    otherwise convert and factor them again.

    >>> import sympy
    >>> p, q = sympy.symbols("p q")
    >>> remember(p * q - 2, sympy.Poly(p * q - 2, p, q))
    >>> known(p * q - 2, (p, q)) == sympy.Poly(p * q - 2, p, q)
    True
    """
    if len(_KNOWN) >= KNOWN_FACTORS:
        _KNOWN.clear()
    _KNOWN[(expr, tuple(poly.gens))] = poly


def known(expr, params: tuple) -> sympy.Poly | None:
    """The polynomial :func:`remember` recorded for ``expr`` in the generators
    ``params``, or None."""
    return _KNOWN.get((expr, tuple(params)))


@functools.lru_cache(maxsize=8192)
def _factor(expr, params: tuple) -> tuple:
    """``(sign, ((factor, power), ...))``: the sign of a polynomial's (or a rational
    function's: numerator times denominator) constant and its irreducible factors, each
    primitive over the integers with a positive leading coefficient."""
    poly = known(expr, params)
    if poly is not None:
        return 1, ((poly, 1),)
    try:
        poly = sympy.Poly(expr, *params)
    except sympy.PolynomialError:
        poly = None
    if poly is None or not all(c.is_Rational for c in poly.coeffs()):
        num, den = sympy.fraction(sympy.together(expr))
        try:
            poly = sympy.Poly(sympy.expand(num * den), *params)
        except sympy.PolynomialError:
            raise _Unsupported(expr) from None
        if not all(c.is_Rational for c in poly.coeffs()):
            raise _Unsupported(expr)
    if poly.is_zero:
        return 0, ()
    _, poly = poly.clear_denoms(convert=True)   # (times a positive integer) over ZZ, so
    constant, parts = poly.factor_list()         # that one boundary is one factor
    sign = 1 if constant > 0 else -1
    factors = []
    for f, k in parts:
        if f.LC() < 0:
            f = -f
            sign *= (-1) ** k
        factors.append((f, int(k)))
    return sign, tuple(factors)


def degree(params: Sequence[sympy.Symbol], conds: Sequence) -> int | None:
    """The highest total degree of a boundary of ``conds`` (of the irreducible factors
    of their relations), or None where a condition is not of the form :func:`cover`
    reads.

    >>> import sympy
    >>> p, q = sympy.symbols("p q")
    >>> degree((p, q), [(p**2 - q) * (p - 1) > 0, q < 1])
    2
    """
    try:
        trees = [_parse(c, tuple(params)) for c in conds]
    except _Unsupported:
        return None
    return max((f.total_degree() for t in trees for f in _factors_of(t, {})), default=0)


# The signs a factor may have on a box, as a bit mask: 1 for negative, 2 for zero, 4 for
# positive (a condition is read for every sign combination at once, in integers).
_BIT = {-1: 1, 0: 2, 1: 4}
#: mask -> the signs in it, in increasing order
_VALUES = tuple(tuple(v for v in (-1, 0, 1) if m & _BIT[v]) for m in range(8))
#: mask of a factor's signs -> mask of its even powers' signs
_EVEN = tuple(sum({_BIT[v * v] for v in _VALUES[m]}) for m in range(8))
#: masks of two factors' signs -> mask of their product's signs
_MUL = tuple(tuple(sum({_BIT[a * b] for a in _VALUES[m] for b in _VALUES[n]})
                   for n in range(8)) for m in range(8))
#: a relation's test -> mask of the signs that pass it
_PASS = {test: sum(_BIT[v] for v in (-1, 0, 1) if test(v)) for test in RELATIONS.values()}


def _truth(tree, signs: dict):
    """True, False or None (undecided) of a parsed condition when each factor's sign is
    one of those in the mask ``signs[factor]`` (independently)."""
    kind = tree[0]
    if kind == "c":
        return tree[1]
    if kind == "a":
        _, test, sign, factors = tree
        m = _BIT[sign]
        for f, k in factors:
            m = _MUL[m][signs[f] if k & 1 else _EVEN[signs[f]]]
        ok = m & _PASS[test]
        return True if ok == m else (False if not ok else None)
    if kind == "~":
        t = _truth(tree[1], signs)
        return None if t is None else not t
    decisive = kind == "|"        # a true part decides an Or, a false one an And
    undecided = False
    for t in tree[1]:
        v = _truth(t, signs)
        if v is decisive:
            return decisive
        undecided = undecided or v is None
    return None if undecided else not decisive


def _numbered(tree, number: dict):
    """A parsed condition with each factor replaced by its number in ``number``."""
    kind = tree[0]
    if kind == "a":
        return ("a", tree[1], tree[2], tuple((number[f], k) for f, k in tree[3]))
    if kind in "&|":
        return (kind, tuple(_numbered(t, number) for t in tree[1]))
    if kind == "~":
        return ("~", _numbered(tree[1], number))
    return tree


def _factors_of(tree, out: dict) -> dict:
    if tree[0] == "a":
        for f, _ in tree[3]:
            out.setdefault(f, None)
    elif tree[0] in "&|":
        for t in tree[1]:
            _factors_of(t, out)
    elif tree[0] == "~":
        _factors_of(tree[1], out)
    return out


@functools.lru_cache(maxsize=64)
def _change(n: int, lo: Fraction, width: Fraction) -> np.ndarray:
    """The matrix taking a polynomial's power coefficients in ``x`` (degree ``n``) to its
    Bernstein coefficients in ``t`` on ``[0, 1]``, where ``x = lo + width * t``, times a
    positive integer: Python integers (so that NumPy's loops over it run no Python code,
    which a time budget's alarm could interrupt)."""
    # power basis in x -> power basis in t: (lo + w t)^i = sum_j C(i, j) lo^(i-j) w^j t^j
    shift = [[Fraction(math.comb(i, j)) * lo ** (i - j) * width ** j if j <= i else Fraction(0)
              for i in range(n + 1)] for j in range(n + 1)]
    # power basis in t -> Bernstein: b_k = sum_{j<=k} C(k, j) / C(n, j) a_j
    to_b = [[Fraction(math.comb(k, j), math.comb(n, j)) if j <= k else Fraction(0)
             for j in range(n + 1)] for k in range(n + 1)]
    m = [[sum(to_b[k][j] * shift[j][i] for j in range(n + 1)) for i in range(n + 1)]
         for k in range(n + 1)]
    scale = math.lcm(*[v.denominator for row in m for v in row])
    return np.array([[int(v * scale) for v in row] for row in m], dtype=object)


def _along(m: np.ndarray, a: np.ndarray, axis: int) -> np.ndarray:
    return np.moveaxis(np.tensordot(m, a, axes=([1], [axis])), 0, axis)


def bernstein(poly: sympy.Poly, ranges: Sequence) -> np.ndarray:
    """Integer Bernstein coefficients of ``poly`` (rational coefficients, one generator
    per range) on the box ``ranges`` (``((low, high), ...)``, Fractions), times a positive
    constant: an array with one axis per generator, of length its degree plus one (kept:
    the same factors recur from question to question; do not modify the array).

    >>> import sympy
    >>> p = sympy.Symbol("p")
    >>> bernstein(sympy.Poly(2 * p - 1, p), ((Fraction(0), Fraction(1)),)).tolist()
    [-1, 1]
    """
    return _bernstein(poly, tuple((Fraction(lo), Fraction(hi)) for lo, hi in ranges))


@functools.lru_cache(maxsize=4096)
def _bernstein(poly: sympy.Poly, ranges: tuple) -> np.ndarray:
    degrees = poly.degree_list() if poly.gens else ()
    terms = poly.terms()
    scale = math.lcm(*[int(c.q) for _, c in terms])   # integers from here on
    a = np.zeros([d + 1 for d in degrees], dtype=object)
    a[...] = 0
    for m, c in terms:
        a[m] = int(c.p) * (scale // int(c.q))
    for axis, (d, (lo, hi)) in enumerate(zip(degrees, ranges)):
        a = _along(_change(d, Fraction(lo), Fraction(hi) - Fraction(lo)), a, axis)
    g = math.gcd(*a.flat)
    if g > 1:
        a.flat[:] = [v // g for v in a.flat]
    return a


def sign(poly: sympy.Poly, ranges: Sequence, limit: int) -> int | None:
    """``1`` or ``-1`` when ``poly`` (rational coefficients) is positive or negative at
    every point of the box ``ranges``, else None: its Bernstein coefficients there, the
    box halved (up to ``limit`` boxes) where they have both signs; a zero or a change of
    sign at a corner (where the coefficient is the exact value) ends it at once.

    >>> import sympy
    >>> p = sympy.Symbol("p")
    >>> unit = ((Fraction(0), Fraction(1)),)
    >>> sign(sympy.Poly(81 * p**2 - 9 * p + 1, p), unit, 32), sign(sympy.Poly(p - 1, p), unit, 32)
    (1, None)
    """
    queue = [bernstein(poly, ranges)]
    found: set = set()
    examined = 0
    corners = list(itertools.product((0, -1), repeat=len(ranges)))
    while queue:
        b = queue.pop()
        examined += 1
        s = _sign_set(b)
        if len(s) == 1:
            found |= s
            if len(found) > 1:
                return None
            continue
        at = {_sign(b[c]) for c in corners}
        if 0 in at or len(at) > 1 or examined + len(queue) >= limit:
            return None
        queue += _split(b)
    return found.pop() if len(found) == 1 else None


def _sign_mask(b: np.ndarray) -> int:
    """The mask (:data:`_BIT`) of the signs the Bernstein coefficients ``b`` allow."""
    lo, hi = min(b.flat), max(b.flat)
    if lo > 0:
        return 4
    if hi < 0:
        return 1
    if lo >= 0:
        return 6
    if hi <= 0:
        return 3
    return 7


def _sign_set(b: np.ndarray) -> frozenset:
    """The signs the Bernstein coefficients ``b`` allow, as a set."""
    return frozenset(_VALUES[_sign_mask(b)])


def _split(b: np.ndarray) -> list:
    """The coefficients on the ``2**d`` halves of the box, in ``itertools.product``
    order of (low half, high half) per axis, each times a positive constant."""
    parts = [b]
    for axis in range(b.ndim):
        if b.shape[axis] == 1:
            parts = [x for x in parts for x in (x, x)]
            continue
        parts = [x for y in parts for x in _halve(y, axis)]
    return parts


#: Most (factor, box) halvings :func:`_halves` keeps (all are forgotten when it is full).
KEPT_HALVES = 8192
_HALVES: dict = {}


def _halves(f, box: tuple, b: np.ndarray) -> list:
    """:func:`_split` of the coefficients ``b`` of the factor ``f`` on ``box``, kept:
    a region's simplification asks :func:`cover` several questions about the same
    factors, and every question halves the same boxes (a positive multiple of a factor's
    coefficients on a box is as good as any other)."""
    key = (f, box)
    got = _HALVES.get(key)
    if got is None:
        if len(_HALVES) >= KEPT_HALVES:
            _HALVES.clear()
        got = _HALVES[key] = _split(b)
    return got


def _halve(b: np.ndarray, axis: int) -> tuple:
    """De Casteljau at 1/2 along ``axis`` in integers: the sums ``c_i + c_(i+1)`` taken
    ``r`` times are ``2**r`` times the averages, so the halves' coefficients, all times
    ``2**n``, are ``2**(n-k) * c_0`` after ``k`` rounds (low half) and ``2**k * c_k``
    after ``n - k`` rounds (high half)."""
    n = b.shape[axis] - 1
    head = (slice(None),) * axis
    first, last = head + (0,), head + (-1,)
    c = b
    low, high = [c[first] << n], [c[last] << n]
    for r in range(1, n + 1):
        c = c[head + (slice(None, -1),)] + c[head + (slice(1, None),)]
        low.append(c[first] << (n - r))
        high.append(c[last] << (n - r))
    if b.ndim == 1:             # scalars: kept as Python integers (never int64)
        return np.array(low, dtype=object), np.array(high[::-1], dtype=object)
    return np.stack(low, axis=axis), np.stack(high[::-1], axis=axis)


def cover(params: Sequence[sympy.Symbol], ranges: Sequence, conds: Sequence,
          deadline=None, boxes: int | None = None) -> Cover | None:
    """Whether every point of the box ``ranges`` (``((low, high), ...)`` per parameter,
    Fractions; closed) satisfies one of ``conds`` (SymPy Booleans of polynomial relations
    in ``params`` with rational coefficients; a tuple of them stands for their
    conjunction), by exact subdivision (module docstring).
    Returns a :class:`Cover`, or None when a condition is not of that form or more than
    ``boxes`` (default :data:`COVER_BOXES`) boxes would be needed.

    >>> import sympy
    >>> p, q = sympy.symbols("p q")
    >>> unit = ((Fraction(0), Fraction(1)),) * 2
    >>> cover((p, q), unit, [q - p**3 >= 0, q - p**3 < 0]).proved
    True
    >>> cover((p, q), unit, [q - p**3 > 0, q - p**3 < -Fraction(1, 2)]).point
    {p: 3/4, q: 1/4}
    """
    params = tuple(params)
    ranges = tuple((Fraction(lo), Fraction(hi)) for lo, hi in ranges)
    try:
        trees = [_parse(c, params) for c in conds]
    except _Unsupported:
        return None
    # factors by number from here on (a polynomial's hash is not cheap, and the signs
    # of factors are looked up millions of times on a hard box)
    polys = list({f: None for t in trees for f in _factors_of(t, {})})
    number = {f: i for i, f in enumerate(polys)}
    trees = [_numbered(t, number) for t in trees]
    factors_of = [tuple(_factors_of(t, {})) for t in trees]
    start = {i: bernstein(f, ranges) for i, f in enumerate(polys)}
    limit = COVER_BOXES if boxes is None else boxes
    out = Cover()
    # a box: its ranges, depth, the conditions not false on it, the coefficients of
    # their factors of undecided sign, and the signs of those of one sign
    stack = deque([(ranges, 0, range(len(trees)), start, {})])   # large boxes first
    examined = 0
    while stack:
        if deadline is not None:
            deadline.check()
        examined += 1
        if examined > limit:
            return None
        box, depth, live, coeffs, known = stack.popleft()
        signs = dict(known)
        for f, b in coeffs.items():
            signs[f] = _sign_mask(b)
        left, covered = [], False
        for i in live:
            t = _truth(trees[i], signs)
            if t is True:
                covered = True
                break
            if t is None:
                left.append(i)
        if covered:
            continue
        centre = tuple((lo + hi) / 2 for lo, hi in box)
        if not left:
            out.point = _point(params, centre)
            return out
        asked = list({f: None for i in left for f in factors_of[i]
                      if len(_VALUES[signs[f]]) > 1})
        if math.prod(len(_VALUES[signs[f]]) for f in asked) <= COMBINATIONS and all(
                any(_truth(trees[i], {**signs, **{f: _BIT[s] for f, s in zip(asked, combo)}})
                    for i in left)
                for combo in itertools.product(*[_VALUES[signs[f]] for f in asked])):
            continue
        halves = {f: _halves(polys[f], box, coeffs[f]) for f in asked}
        # the first half's last corner is the box's centre: the signs there, exactly
        at_centre = {**signs, **{f: _BIT[_sign(h[0].flat[-1])] for f, h in halves.items()}}
        if not any(_truth(trees[i], at_centre) for i in left):
            out.point = _point(params, centre)
            return out
        if depth >= MAX_DEPTH or (depth >= LOCAL_DEPTH and len(asked) <= 3):
            out.open.append((box, left, [_residual(conds[i], trees[i], signs) for i in left]))
            continue
        fixed = {f: signs[f] for i in left for f in factors_of[i]
                 if len(_VALUES[signs[f]]) == 1}
        for k, corner in enumerate(itertools.product((0, 1), repeat=len(box))):
            sub = tuple((lo, (lo + hi) / 2) if c == 0 else ((lo + hi) / 2, hi)
                        for (lo, hi), c in zip(box, corner))
            stack.append((sub, depth + 1, left, {f: h[k] for f, h in halves.items()},
                          fixed))
    if not out.open:
        out.proved = True
    return out


def _residual(cond, tree, signs: dict):
    """``cond`` with each relation that is decided under ``signs`` replaced by its truth
    value (the condition as it reads on the box those signs hold on)."""
    kind = tree[0]
    if isinstance(cond, tuple):
        return sympy.And(*[_residual(c, t, signs) for c, t in zip(cond, tree[1])])
    if kind in "&|":
        return cond.func(*[_residual(c, t, signs) for c, t in zip(cond.args, tree[1])])
    if kind == "~":
        return sympy.Not(_residual(cond.args[0], tree[1], signs))
    t = _truth(tree, signs)
    return cond if t is None else sympy.true if t else sympy.false


def _sign(v) -> int:
    return (v > 0) - (v < 0)


def _point(params: tuple, values: tuple) -> dict:
    return {x: sympy.Rational(v.numerator, v.denominator) for x, v in zip(params, values)}
