"""Exact partitions of a box of several parameters into regions with one answer each.

Solving a model with several symbolic parameters (``p``, ``q``, ``gamma``, a reward ``r``)
asks *where* the optimal policy or a verdict changes. :func:`partition` answers it
without re-deriving the model symbolically on a grid:

1. Z3's nonlinear real arithmetic (a decision procedure) finds a point of the parameter
   box that no region found so far covers (rational where the uncovered part has an
   interior; an exact algebraic point on a boundary curve otherwise);
2. the caller's ``locate`` solves the model exactly at that point and returns its answer
   with the exact condition under which that answer stays the same: polynomial
   inequalities in the parameters (for a policy: its own Q-value differences, derived once
   for that policy);
3. the point must satisfy the condition (checked exactly); the region is recorded and the
   loop repeats until the box is proved covered.

Where the boundaries have high degree (above :data:`Z3_DEGREE`: a discounted chain of ten
states has boundaries of degree 9, on which one Z3 query about the whole box does not
return in minutes), where more than :data:`Z3_REGIONS` regions are to cover it, and once
one whole-box query has run past :data:`Z3_SECONDS`, the box is first subdivided
(:mod:`cpspec.core.boxes`): exact integer
bounds on each boundary's sign prove most of the box covered or find a rational point no
region covers, and Z3 is asked only about the few small boxes left open, each with the
conditions as they read there. Simplifying a region's condition (dropping what the
others imply) asks the same kind of question.

So the cost is one exact solve and one symbolic policy evaluation per region, plus the
coverage questions. Regions with equal answers are merged (:func:`merge_regions`). Boundaries are
exact: the conditions are SymPy relations between polynomials with rational coefficients,
and points on them are real algebraic numbers decided by Z3, never floats.
"""

from __future__ import annotations

import functools
import itertools
import math
import threading
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import sympy
import z3

from ..budget import Deadline, Expired
from ..errors import BudgetError, ModelTooLargeError, ParameterError
from . import boxes
from .display import html_table, svg
from .functions import as_sympy, number_to_sympy, polynomial_expr, to_exact
from .regions import sample_of, valid_domain

__all__ = ["ParameterRegion", "Point", "partition", "merge_regions", "to_z3",
           "box_condition", "polynomial_condition", "element_condition", "check_rational",
           "MAX_REGION_PARAMETERS", "MAX_REGIONS", "parse_point", "show_condition",
           "simplify_condition", "RegionSolution", "parameter_box", "strictly", "tidy",
           "tidy_small", "one_parameter",
           "tie_rule", "truth_at", "on_box", "sign_on", "SIGN_BOXES", "SIMPLIFY_SECONDS",
           "TIDY_ATOMS", "parameter_ranges", "solve_regions", "interval_regions",
           "sign_condition", "sign_relation", "factor_expression", "equivalent",
           "Z3_DEGREE", "Z3_REGIONS", "Z3_SECONDS"]

#: Refuse to split boxes of more parameters than this (Z3's nonlinear arithmetic is
#: doubly exponential in the number of variables).
MAX_REGION_PARAMETERS = 4

#: Refuse to list more regions than this in one partition.
MAX_REGIONS = 200


@dataclass(frozen=True, eq=False)
class ParameterRegion:
    """One region of a parameter partition: where ``condition`` (a SymPy Boolean in the
    parameters) holds, the answer is ``answer``; ``sample`` is a point of the region at
    which the answer was obtained by exact solving (``{symbol: exact value}``), and
    ``samples`` one such point for each merged part."""

    condition: Any
    answer: Any
    sample: dict = field(repr=False)
    samples: tuple = field(repr=False, default=())
    #: how far the answer is from changing, where it means something: a comparison's
    #: ``lhs - rhs``, or each action's margin to the chosen one
    margin: Any = field(repr=False, default=None)

    def __str__(self) -> str:
        return f"{_show_answer(self.answer)} where {show_condition(self.condition)}"


def _show_answer(a) -> str:
    if a is None:                # an enclosure's boxes that interval arithmetic left open
        return "undecided"
    if isinstance(a, dict):
        if set(a) == {()}:       # a decision without information: its one choice
            return _show_answer(a[()])
        return "{" + ", ".join(f"{k}: {_show_answer(v)}" for k, v in a.items()) + "}"
    if isinstance(a, tuple) and a and all(isinstance(x, dict) for x in a):
        # decision rules of a finite horizon, one per step
        return "; ".join(f"t={t} {_show_answer(x)}" for t, x in enumerate(a))
    return str(a)


def show_condition(cond) -> str:
    """A condition as a user reads it: ``p > 1/2 and q <= 1``; ``or`` between parts;
    ``q == 0`` for an equation.

    >>> import sympy
    >>> p, q = sympy.symbols("p q")
    >>> show_condition((p > sympy.Rational(1, 2)) & sympy.Eq(q, 0) | sympy.Eq(0, p))
    '(p == 0) or (q == 0 and p > 1/2)'
    """
    if cond is sympy.true:
        return "everywhere"
    if isinstance(cond, sympy.Or):
        return " or ".join(f"({show_condition(a)})" for a in cond.args)
    if isinstance(cond, sympy.core.relational.Relational) and cond.lhs.is_number and \
            not cond.rhs.is_number:
        return show_condition(cond.reversed)   # the parameter on the left: b <= 0
    if isinstance(cond, (sympy.Eq, sympy.Ne)):  # as spec files write them: q == 0
        return f"{cond.lhs} {'==' if isinstance(cond, sympy.Eq) else '!='} {cond.rhs}"
    if isinstance(cond, sympy.And):
        return " and ".join(f"({show_condition(a)})" if isinstance(a, sympy.Or)
                            else show_condition(a) for a in cond.args)
    return str(cond)


class Point:
    """An exact point of the parameter box: rational coordinates, or the algebraic
    coordinates of a Z3 model (decided exactly by Z3)."""

    def __init__(self, params: Sequence[sympy.Symbol], values: Mapping, model=None,
                 z3vars: Mapping | None = None):
        self.params = tuple(params)
        self.values = {k: number_to_sympy(v) for k, v in values.items()}
        self.model, self.z3vars = model, z3vars

    @property
    def is_rational(self) -> bool:
        return all(v.is_Rational for v in self.values.values())

    def sign(self, expr) -> int:
        """The exact sign (-1, 0, 1) of a rational function of the parameters here."""
        expr = number_to_sympy(expr)
        if self.is_rational or not (expr.free_symbols & set(self.params)):
            v = sympy.cancel(expr.subs(self.values))
            if v.is_Rational:
                return int(bool(v > 0)) - int(bool(v < 0))
            if v.has(sympy.zoo, sympy.nan) or self.model is None:
                raise ParameterError(
                    f"{expr} is undefined at {self} (a denominator vanishes there); narrow "
                    "the parameters' domains so that it does not")
        num, den = sympy.fraction(sympy.together(expr))
        out = 1
        for part in (num, den):
            if self._holds(sympy.Eq(part, 0)):
                return 0
            out *= 1 if self._holds(part > 0) else -1
        return out

    def satisfies(self, cond) -> bool:
        """Whether the condition (a SymPy Boolean in the parameters) holds here."""
        if self.is_rational:
            fast = truth_at(cond, self.params, self.values)
            if fast is not None:
                return fast
            v = cond.subs(self.values) if isinstance(cond, sympy.Basic) else cond
            if v in (sympy.true, sympy.false):
                return bool(v)
        return self._holds(cond)

    def _holds(self, cond) -> bool:
        ctx = self.model.ctx
        return z3.is_true(self.model.eval(to_z3(cond, self.z3vars, ctx),
                                          model_completion=True))

    def __repr__(self):
        return "{" + ", ".join(f"{k}: {v}" for k, v in self.values.items()) + "}"


def check_rational(params, exprs, what: str) -> None:
    """Refuse numbers that are not rational functions of the parameters: their regions
    would have boundaries that are not polynomial."""
    for e in exprs:
        e = number_to_sympy(e)
        if e.free_symbols and not e.is_rational_function(*params):
            raise ParameterError(
                f"{what} {e} is not a rational function of the parameters "
                f"{', '.join(map(str, params))}, so the regions' boundaries would not be "
                "polynomial and cpspec cannot derive them exactly; bind that parameter "
                "(bind(...)) or restate the model with polynomial parameters")


def to_z3(expr, z3vars: Mapping, ctx, side: list | None = None) -> Any:
    """A SymPy polynomial expression, relation or Boolean as a Z3 term over ``z3vars``.

    A real algebraic constant (a threshold such as ``7/4 - sqrt(17)/4``) becomes a fresh
    Z3 variable pinned by its minimal polynomial and an isolating interval; those
    constraints are appended to ``side`` (which the caller adds to its solver)."""
    if side is not None and isinstance(expr, sympy.Basic) and not expr.free_symbols and \
            expr.is_real and not expr.is_Rational and not isinstance(expr, sympy.logic.boolalg.Boolean):
        return _algebraic(expr, ctx, side)
    if expr is sympy.true or expr is True:
        return z3.BoolVal(True, ctx)
    if expr is sympy.false or expr is False:
        return z3.BoolVal(False, ctx)
    if isinstance(expr, sympy.Symbol):
        if expr not in z3vars:
            raise ParameterError(f"the parameter {expr} has no domain in this partition")
        return z3vars[expr]
    if expr.is_Rational:
        return z3.RealVal(f"{expr.p}/{expr.q}", ctx)
    if isinstance(expr, sympy.And):
        return z3.And(*[to_z3(a, z3vars, ctx, side) for a in expr.args])
    if isinstance(expr, sympy.Or):
        return z3.Or(*[to_z3(a, z3vars, ctx, side) for a in expr.args])
    if isinstance(expr, sympy.Not):
        return z3.Not(to_z3(expr.args[0], z3vars, ctx, side))
    if isinstance(expr, sympy.Add):
        return z3.Sum(*[to_z3(a, z3vars, ctx, side) for a in expr.args])
    if isinstance(expr, sympy.Mul):
        out = to_z3(expr.args[0], z3vars, ctx, side)
        for a in expr.args[1:]:
            out = out * to_z3(a, z3vars, ctx, side)
        return out
    if isinstance(expr, sympy.Pow) and expr.exp.is_Integer and expr.exp >= 0:
        return to_z3(expr.base, z3vars, ctx, side) ** int(expr.exp)
    rel = {sympy.StrictGreaterThan: lambda a, b: a > b, sympy.GreaterThan: lambda a, b: a >= b,
           sympy.StrictLessThan: lambda a, b: a < b, sympy.LessThan: lambda a, b: a <= b,
           sympy.Equality: lambda a, b: a == b, sympy.Unequality: lambda a, b: a != b}
    for kind, make in rel.items():
        if isinstance(expr, kind):
            return make(to_z3(expr.lhs, z3vars, ctx, side), to_z3(expr.rhs, z3vars, ctx, side))
    raise ParameterError(f"{expr} is not polynomial in the parameters: cpspec derives exact "
                         "regions bounded by polynomial inequalities only")


def _algebraic(c, ctx, side: list):
    t = sympy.Dummy("t")
    mp = sympy.Poly(sympy.minimal_polynomial(c, t), t)
    approx = sympy.N(c, 60)
    a, b = next((a, b) for (a, b), _ in mp.intervals() if a <= approx <= b)
    y = z3.Real(f"alg_{len(side)}_{abs(hash(c)) % 10**8}", ctx)
    deg = mp.degree()
    side += [z3.Sum(*[z3.RealVal(str(k), ctx) * y ** (deg - i)
                      for i, k in enumerate(mp.all_coeffs())]) == 0,
             y >= z3.RealVal(str(a), ctx), y <= z3.RealVal(str(b), ctx)]
    return y


def polynomial_condition(diff, strict: bool):
    """``diff > 0`` (``strict``) or ``diff >= 0`` for a rational function ``diff``, as a
    relation of one polynomial to 0: the sign of a quotient is the sign of numerator times
    denominator; positive constant factors are dropped and the polynomial is factored for
    reading.

    >>> import sympy
    >>> p, q = sympy.symbols("p q")
    >>> polynomial_condition((2 * p - 1) / 4, strict=True)
    p > 1/2
    >>> polynomial_condition(-3 * q / (1 - p), strict=False)
    q*(p - 1) >= 0
    >>> polynomial_condition(1 - p - q, strict=False)
    p + q - 1 <= 0
    """
    diff = sympy.cancel(sympy.together(number_to_sympy(diff)))
    if not diff.free_symbols:
        return sympy.true if (diff > 0 or (diff == 0 and not strict)) else sympy.false
    num, den = sympy.fraction(diff)
    e = sympy.expand(num * den)
    _, prim = sympy.Poly(e, *sorted(e.free_symbols, key=str)).primitive()  # content > 0
    flip = prim.LC() < 0           # read with a positive leading coefficient
    if flip:
        prim = -prim
    if len(prim.gens) == 1 and prim.degree() == 1:   # a x + b > 0 reads x > -b/a
        a, b = prim.all_coeffs()
        lhs, rhs = prim.gens[0], -b / a
    else:
        lhs, rhs = sympy.factor(prim.as_expr()), sympy.Integer(0)
    if flip:
        return (lhs < rhs) if strict else (lhs <= rhs)
    return (lhs > rhs) if strict else (lhs >= rhs)


def element_condition(K, diff, strict: bool):
    """:func:`polynomial_condition` of ``diff``, an element of the exact domain ``K`` (a
    field of fractions over the integers, as :class:`~cpspec.decisions.solving.ExactModel`
    builds), read off its numerator and denominator without rebuilding SymPy expressions
    (the same relation; the Q-value differences of a policy recur across regions, so each
    is read once).

    >>> import sympy
    >>> from sympy.polys.domains import ZZ
    >>> p, q = sympy.symbols("p q")
    >>> K = ZZ.frac_field(p, q)
    >>> element_condition(K, K.from_sympy(-3 * q / (1 - p)), strict=False)
    q*(p - 1) >= 0
    """
    try:
        return _element_condition(K, diff, strict)
    except TypeError:          # an element that cannot be hashed: read it directly
        return _read_element(K, diff, strict)


@functools.lru_cache(maxsize=4096)
def _element_condition(K, diff, strict: bool):
    return _read_element(K, diff, strict)


def _read_element(K, diff, strict: bool):
    field = getattr(K, "field", None) if getattr(K, "is_FractionField", False) else None
    ring = getattr(field, "ring", None)
    names = [str(x) for x in getattr(ring, "symbols", ())]
    if ring is None or ring.domain != sympy.ZZ or names != sorted(names):
        return polynomial_condition(K.to_sympy(diff), strict)
    e = K.numer(diff) * K.denom(diff)          # the sign of the quotient
    if e.is_ground:
        c = e.LC if e else 0
        return sympy.true if (c > 0 or (c == 0 and not strict)) else sympy.false
    _, prim = e.primitive()                      # content > 0
    flip = prim.LC < 0   # lex order in sorted generators: Poly's leading coefficient
    if flip:
        prim = -prim
    degrees = prim.degrees()
    used = [g for g, d in zip(ring.symbols, degrees) if d > 0]
    if len(used) == 1 and max(degrees) == 1:     # a x + b > 0 reads x > -b/a
        lin = sympy.Poly(prim.as_expr(), used[0])
        a, b = lin.all_coeffs()
        lhs, rhs = used[0], -b / a
    else:
        # numerator and denominator factored apart (much cheaper than their product;
        # the factors, normalised with positive leading coefficients, are the same)
        powers: dict = {}
        for part in (K.numer(diff), K.denom(diff)):
            for f, k in _factors(part):
                powers[f] = powers.get(f, 0) + k
        lhs = sympy.Mul(*[factor_expression(f) ** k for f, k in powers.items()])
        rhs = sympy.Integer(0)
    return sign_relation(lhs, rhs, flip, strict)


def sign_relation(lhs, rhs, negative: bool, strict: bool):
    """``lhs > rhs`` (``lhs >= rhs`` unless ``strict``), or ``lhs < rhs`` (``<=``) when
    ``negative``: the relation a positive quantity's condition reads as, built without
    evaluation (no assumptions asked).

    >>> import sympy
    >>> p = sympy.Symbol("p")
    >>> sign_relation(p - 1, 0, True, False)
    p - 1 <= 0
    """
    if negative:
        return (sympy.StrictLessThan if strict else sympy.LessThan)(lhs, rhs, evaluate=False)
    return (sympy.StrictGreaterThan if strict else sympy.GreaterThan)(lhs, rhs, evaluate=False)


@functools.lru_cache(maxsize=4096)
def _factors(poly) -> list:
    """The irreducible factors of a ring element with their powers (kept: a denominator
    recurs in many differences, and a difference is read strict and non-strict)."""
    return poly.factor_list()[1]


@functools.lru_cache(maxsize=4096)
def factor_expression(f):
    """An irreducible factor (an element of SymPy's polynomial ring over the integers,
    primitive, positive leading coefficient) as an expression, remembered as a
    polynomial (:func:`cpspec.core.boxes.remember`) so that reading a condition built
    from it back does not factor it again.

    >>> import sympy
    >>> R, x, y = sympy.ring("p q", sympy.ZZ)
    >>> e = factor_expression(x * y - 2)
    >>> e, boxes.known(e, R.symbols) == sympy.Poly(e, *R.symbols)
    (p*q - 2, True)
    """
    expr = polynomial_expr(f, f.ring.symbols)
    boxes.remember(expr, sympy.Poly.from_dict(dict(f), *f.ring.symbols, domain=sympy.ZZ))
    return expr


def tie_rule(best, actions: Sequence, margin: Callable, K=None,
             read: Callable | None = None) -> list:
    """The conditions under which ``best`` stays the chosen action under the tie rule
    (ties go to the first action declared): ``margin(a) > 0`` (``margin(a)``: the value
    of ``best`` minus that of ``a``, a rational function of the parameters) for the
    actions declared before ``best``, ``>= 0`` for those after it. With ``K``, the
    margins are elements of that exact domain (:func:`element_condition`); with
    ``read``, ``read(margin, strict)`` writes each condition.

    >>> import sympy
    >>> p = sympy.Symbol("p")
    >>> value = {"a": p, "b": 1 - p, "c": sympy.Rational(1, 2)}
    >>> tie_rule("b", ["a", "b", "c"], lambda a: value["b"] - value[a])
    [p < 1/2, p <= 1/2]
    """
    order = {a: i for i, a in enumerate(actions)}
    if read is None:       # margins as elements of the exact domain K, or expressions
        read = polynomial_condition if K is None else functools.partial(element_condition, K)
    return [read(margin(a), strict=order[a] < order[best]) for a in actions if a != best]


def sign_condition(expr, sign: int):
    """``expr > 0``, ``expr < 0`` or ``expr = 0`` (``sign`` 1, -1, 0) for a rational
    function of the parameters, as a polynomial relation (its numerator for ``= 0``).

    >>> import sympy
    >>> p = sympy.Symbol("p")
    >>> sign_condition(1 - 2 * p, -1), sign_condition((1 - p) / 2, 0)
    (p > 1/2, Eq(1 - p, 0))
    """
    expr = number_to_sympy(expr)
    if sign:
        return polynomial_condition(sign * expr, strict=True)
    return sympy.Eq(sympy.numer(sympy.together(expr)), 0)


def box_condition(params: Sequence[sympy.Symbol], domains: Mapping) -> Any:
    """The condition of a box: each parameter in its set (intervals or unions of them)."""
    parts = []
    for x in params:
        s = domains[x]
        if not isinstance(s, sympy.Set):
            raise ParameterError(f"the domain of {x} must be a sympy.Interval (or a union of "
                                 f"intervals), got {s!r}")
        parts.append(s.as_relational(x))
    return sympy.And(*parts)


def parse_point(params: Sequence[sympy.Symbol], point, what: str = "at") -> dict:
    """``{p: value, ...}`` (keys symbols or names; values exact) for the given parameters."""
    if not isinstance(point, Mapping):
        if len(params) == 1:
            point = {params[0]: point}
        else:
            raise ParameterError(f"{what}(...) needs a value for each of the parameters "
                                 f"{', '.join(map(str, params))}, e.g. "
                                 f"{{{', '.join(f'{p}: 1/2' for p in params)}}}")
    by_name = {str(p): p for p in params}
    out = {}
    for k, v in point.items():
        key = by_name.get(str(k))
        if key is None:
            raise ParameterError(f"{k} is not a parameter here; the parameters are "
                                 f"{', '.join(by_name)}")
        out[key] = as_sympy(to_exact(v, what=f"a value of {key}"))
    missing = [str(p) for p in params if p not in out]
    if missing:
        raise ParameterError(f"{what}(...): give values for {', '.join(missing)} too")
    return out


#: Merged conditions with at most this many relations are tidied (:func:`tidy` asks Z3
#: about each part; a larger union is shown as the union of its regions).
TIDY_ATOMS = 8


def merge_regions(regions: Sequence[ParameterRegion], same: Callable = None,
                  within: tuple | None = None, deadline: Deadline | None = None
                  ) -> list[ParameterRegion]:
    """Regions with equal answers merged into one (their conditions joined by ``Or``).

    With ``within=(params, box)`` (``regions`` then a partition of that box) a merged
    condition is also tidied (:func:`tidy`): the join of two regions is often one of
    their own relations, and is shown as that (up to :data:`TIDY_ATOMS` relations); and one
    group, the one that saves most by it, is written as the complement of the others
    where that has fewer relations.

    >>> import sympy
    >>> p, q = sympy.symbols("p q")
    >>> box = sympy.And(p >= 0, p <= 1, q >= 0, q <= 1)
    >>> half = sympy.Rational(1, 2)
    >>> regs = [ParameterRegion(q > p**3, "a", {}),
    ...         ParameterRegion((q <= p**3) & (p < half), "b", {}),
    ...         ParameterRegion((q <= p**3) & (p >= half), "a", {})]
    >>> [str(r) for r in merge_regions(regs, within=((p, q), box))]
    ['a where (p >= 1/2) or (q > p**3)', 'b where p < 1/2 and q <= p**3']
    """
    same = same or (lambda a, b: a == b)
    out: list[list] = []
    for r in regions:
        for group in out:
            if same(group[0].answer, r.answer):
                group.append(r)
                break
        else:
            out.append([r])
    joined = [sympy.Or(*[r.condition for r in group]) for group in out]
    if within is not None and len(out) > 1:
        # the regions partition the box: a group is also what the others leave, which is
        # often shorter (the one relation that separates two answers). One group at most
        # (the one that saves most) is so rewritten: every point stays in some region
        # even if two given regions overlapped
        saved, best, rest = 0, None, None
        for k in range(len(out)):
            other = sympy.Not(sympy.Or(*joined[:k], *joined[k + 1:])).to_nnf()
            fewer = _relations(joined[k]) - _relations(other)
            if fewer > saved:
                saved, best, rest = fewer, k, other
        if best is not None:
            joined[best] = rest
    merged = []
    for k, group in enumerate(out):
        cond = joined[k]
        if within is not None and (len(group) > 1 or cond is not group[0].condition):
            cond = tidy_small(*within, cond, deadline=deadline)
        samples = tuple(s for r in group for s in (r.samples or (r.sample,)))
        merged.append(ParameterRegion(cond, group[0].answer, group[0].sample, samples,
                                      group[0].margin))
    return merged


def _relations(cond) -> int:
    return len(cond.atoms(sympy.core.relational.Relational))


def interval_regions(x: sympy.Symbol, pieces, solve_exact: Callable, get: Callable
                     ) -> list[ParameterRegion]:
    """The regions of a one-parameter solution (``pieces``: ``[(set of x, solution)]``,
    each solution with ``.rules``), each checked by ``solve_exact(sample)`` at a sample of
    its set, with ``get(solution)`` as the answer and equal answers merged."""
    regs = []
    for s, sol in pieces:
        sample = sample_of(s)
        exact = solve_exact(sample)
        if exact.rules != sol.rules:
            raise ParameterError(f"internal: the region {s} of {x} has the rules {sol.rules}; "
                                 f"the exact solve at {x} = {sample} {exact.rules}"
                                 )  # pragma: no cover - a bug guard
        regs.append(ParameterRegion(s.as_relational(x), get(sol), {x: sample}))
    return merge_regions(regs)


def _rational_near(v, digits: int):
    """A short rational close to the Z3 real ``v`` (a guess, checked by the caller)."""
    if z3.is_rational_value(v):
        return sympy.Rational(v.numerator_as_long(), v.denominator_as_long())
    return sympy.Rational(v.as_decimal(digits).rstrip("?"))


def _to_sympy_value(v):
    """A Z3 numeral as an exact SymPy number: a rational, or the real root of Z3's
    defining polynomial with Z3's index (roots in increasing order)."""
    if z3.is_rational_value(v):
        return sympy.Rational(v.numerator_as_long(), v.denominator_as_long())
    t = sympy.Dummy("t")
    # (the defining polynomial's coefficients are Z3 rationals, integral)
    coeffs = [sympy.Rational(c.numerator_as_long(), c.denominator_as_long())
              for c in v.poly()]
    poly = sympy.Poly(list(reversed(coeffs)), t)
    return sympy.rootof(poly, v.index() - 1, radicals=True)


def partition(params: Sequence[sympy.Symbol], box, locate: Callable[[Point], tuple],
              deadline: Deadline | None = None, what: str = "the parameter box"
              ) -> list[ParameterRegion]:
    """Partition ``box`` (a SymPy Boolean in ``params``) into regions.

    ``locate(point)`` returns ``(answer, condition)``: the exact answer at the point and
    a condition (SymPy Boolean) under which the answer is the same. Returns the regions
    in the order they were found (each with its sample point); raises
    :class:`ModelTooLargeError` above :data:`MAX_REGIONS` regions and
    :class:`BudgetError` when Z3 cannot decide whether the box is covered.

    Examples
    --------
    >>> import sympy
    >>> p, q = sympy.symbols("p q")
    >>> box = sympy.And(p >= 0, p <= 1, q >= 0, q <= 1)
    >>> def locate(pt):
    ...     above = pt.sign(q - p) > 0
    ...     return ("q above", q - p > 0) if above else ("not above", q - p <= 0)
    >>> [r.answer for r in sorted(partition([p, q], box, locate), key=lambda r: r.answer)]
    ['not above', 'q above']
    """
    params = tuple(params)
    if len(params) > MAX_REGION_PARAMETERS:
        raise ModelTooLargeError(
            f"{len(params)} parameters ({', '.join(map(str, params))}): cpspec splits boxes "
            f"of at most MAX_REGION_PARAMETERS = {MAX_REGION_PARAMETERS} parameters "
            "(cpspec.core.partition); bind some of them (bind(...)) or raise the constant")
    deadline = deadline or Deadline(None)
    ctx = z3.Context()
    zv = {x: z3.Real(str(x), ctx) for x in params}
    solver = z3.Solver(ctx=ctx)
    solver.add(to_z3(box, zv, ctx))
    regions: list[ParameterRegion] = []
    # cheap candidates first: rational points of a grid inside the box, each tested
    # exactly against the regions found so far; Z3 (whose nonlinear queries grow with
    # every region) is asked only once no candidate is left uncovered
    candidates = _grid(params, box, GRID_POINTS)
    slow = False        # whether one Z3 query about the whole box took Z3_SECONDS

    def add_region(point: Point) -> None:
        if len(regions) >= MAX_REGIONS:
            raise ModelTooLargeError(
                f"more than MAX_REGIONS = {MAX_REGIONS} regions in {what} "
                "(cpspec.core.partition); narrow the domains or raise the constant")
        answer, cond = locate(point)
        if not point.satisfies(cond):
            raise ParameterError(f"internal: the region {cond} derived at {point} does not "
                                 "contain that point")  # pragma: no cover - a bug guard
        regions.append(ParameterRegion(cond, answer, dict(point.values)))
        solver.add(z3.Not(to_z3(cond, zv, ctx)))

    while True:
        deadline.check()
        point = _uncovered(params, candidates, regions)
        if point is not None:
            add_region(point)
            continue
        # boundaries of high degree, or many regions: subdivision first (exact integer
        # bounds on their signs), which proves the box covered, or finds a point no
        # region covers, or leaves small boxes to Z3 (Z3's query about the whole box
        # grows with the degree and number of every boundary; below Z3_DEGREE and
        # Z3_REGIONS it is the faster way)
        subdivided = (slow or len(regions) > Z3_REGIONS
                      or _high_degree(params, [r.condition for r in regions]))
        if not subdivided:
            # one query about the whole box, for Z3_SECONDS at most where subdivision
            # applies; then subdivision, from here on (the query only grows)
            seconds = None if _ranges_of(params, box) is None else Z3_SECONDS
            res, model = _whole_box(solver, box, zv, ctx, deadline, seconds)
            slow = subdivided = res == z3.unknown and seconds is not None
        if subdivided:
            found = _cover_by_boxes(params, box, regions, ctx, zv, deadline, what)
            if found is True:
                break
            if found is not None:
                add_region(found)
                continue
            res, model = _whole_box(solver, box, zv, ctx, deadline)
        if res == z3.unsat:
            break
        if res != z3.sat:
            deadline.check()
            raise BudgetError(f"Z3 could not decide whether {len(regions)} regions cover "
                              f"{what} ({solver.reason_unknown()}); pass a larger timeout "
                              "or bind a parameter")
        add_region(_point(params, model, zv, solver, ctx, deadline))
    return regions


#: Boundaries of at most this total degree are asked about in one Z3 query (fast at
#: such degrees); higher ones by subdivision first (:func:`cpspec.core.boxes.cover`).
Z3_DEGREE = 4
#: Regions whose union one Z3 query is asked to cover, at most; more by subdivision
#: first (a 6-step chain's 63 regions: one query did not return within 120 s).
Z3_REGIONS = 32
#: Seconds each Z3 query about the whole box (the strict interior, then the closed box)
#: may take before subdivision is tried instead (where it applies: a bounded box,
#: polynomial conditions).
Z3_SECONDS = 2.0


def _high_degree(params: tuple, conds: list) -> bool:
    """Whether a boundary of ``conds`` has total degree above :data:`Z3_DEGREE` (and
    all of them can be read by subdivision)."""
    d = boxes.degree(params, conds)
    return d is not None and d > Z3_DEGREE


def _cover_by_boxes(params: tuple, box, regions: list, ctx, zv: Mapping, deadline: Deadline,
                    what: str):
    """``True`` when the regions cover the box, or a :class:`Point` of the box none of
    them covers, by subdivision (:func:`cpspec.core.boxes.cover`) with Z3 deciding each
    small box it leaves open on its own; None where subdivision does not apply (an
    unbounded box, a condition that is not polynomial) or needs more than
    :data:`~cpspec.core.boxes.COVER_BOXES` boxes. Each open box is asked about on its own
    (however many: at these degrees one query about the whole box is hopeless). Raises
    :class:`BudgetError` when Z3 cannot decide a small box."""
    ranges = _ranges_of(params, box)
    if ranges is None:
        return None
    conds = [*[r.condition for r in regions], sympy.Not(box)]
    found = boxes.cover(params, ranges, conds, deadline)
    if found is None:
        return None
    if found.point is not None:
        return Point(params, found.point)
    decided = _decide_open(params, found.open, ctx, zv, _milliseconds(deadline))
    if decided is True:
        return True
    if isinstance(decided, z3.Solver):
        return _point(params, decided.model(), zv, decided, ctx, deadline)
    deadline.check()
    raise BudgetError(f"Z3 could not decide whether {len(regions)} regions cover {what} "
                      f"where {decided}; pass a larger timeout or bind a parameter")


def _decide_open(params: tuple, open_boxes: list, ctx, zv: Mapping, ms: int):
    """Z3 on each box :func:`cpspec.core.boxes.cover` left open: ``True`` when on every
    one each point satisfies one of its conditions (as they read on that box), else the
    solver holding a point that satisfies none (``sat``), else the box it could not
    decide within ``ms`` milliseconds in all, as text."""
    end = time.monotonic() + ms / 1000
    for sub, _, residuals in open_boxes:
        solver = _quick_solver(ctx, max(1, int((end - time.monotonic()) * 1000)))
        for (lo, hi), x in zip(sub, params):
            solver.add(zv[x] >= z3.RealVal(str(lo), ctx), zv[x] <= z3.RealVal(str(hi), ctx))
        solver.add(*[z3.Not(to_z3(c, zv, ctx)) for c in residuals])
        res = solver.check()
        if res == z3.sat:
            return solver
        if res != z3.unsat:
            where = ", ".join(f"{x} in [{lo}, {hi}]" for x, (lo, hi) in zip(params, sub))
            return f"{where} ({solver.reason_unknown()})"
    return True


def _milliseconds(deadline: Deadline | None) -> int:
    """What is left of ``deadline`` in milliseconds, for one Z3 query (at least 1)."""
    left = deadline.remaining() if deadline is not None else None
    return 2 ** 31 - 1 if left is None else max(1, min(2 ** 31 - 1, int(left * 1000)))


def _check_within(solver, deadline: Deadline, seconds: float | None = None):
    """``solver.check()`` limited to what is left of the call's budget (each query gets
    the time left when it starts, so that two queries in a row never take twice it), and
    to ``seconds`` if given."""
    deadline.check()
    ms = _milliseconds(deadline)
    if seconds is not None:
        ms = max(1, min(ms, int(seconds * 1000)))
    solver.set("timeout", ms)       # (set each time: an earlier query's limit stays)
    return solver.check()


def _whole_box(solver, box, zv: Mapping, ctx, deadline: Deadline,
               seconds: float | None = None) -> tuple:
    """Z3's answer to "is a point of the box outside every region" (the solver holds
    the box and the regions' complements): ``(result, model)``, a point strictly inside
    the box preferred, where the answer is the typical one."""
    solver.push()
    solver.add(to_z3(strictly(box), zv, ctx))
    res = _check_within(solver, deadline, seconds)
    model = solver.model() if res == z3.sat else None
    solver.pop()
    if model is None:
        res = _check_within(solver, deadline, seconds)
        model = solver.model() if res == z3.sat else None
    return res, model


def solve_regions(params, box, locate: Callable[[Point], tuple], solve_at: Callable,
                  answer: Callable, deadline: Deadline | None = None) -> "RegionSolution":
    """A :class:`RegionSolution` of a model over the box: ``locate(point)`` solves the
    model exactly at a point and returns ``(solution, conditions)``, the symbolic solution
    of the decisions found there and the conditions (:func:`tie_rule`) under which they
    stay optimal; each region is their conjunction, simplified within the box.
    ``solve_at(values)`` is the exact solution at a point and ``answer(solution)`` a
    region's default answer (its decision rules).

    >>> import sympy
    >>> p = sympy.Symbol("p")
    >>> def locate(pt):
    ...     best = "a" if pt.sign(2 * p - 1) >= 0 else "b"     # ties to "a"
    ...     margin = {"a": 2 * p - 1, "b": 1 - 2 * p}[best]
    ...     return best, tie_rule(best, ["a", "b"], lambda a: margin)
    >>> sol = solve_regions([p], sympy.And(p >= 0, p <= 1), locate, str, str)
    >>> [str(r) for r in sol.regions()]
    ['a where p >= 1/2', 'b where p < 1/2']
    """
    def located(point):
        sol, conds = locate(point)
        return sol, simplify_condition(params, box, conds, deadline)
    pieces = partition(params, box, located, deadline, what=f"the box {box}")
    return RegionSolution(params, box, pieces, solve_at, answer)


#: Grid points per parameter tried (exactly, without Z3) before Z3 looks for a point no
#: region covers yet.
GRID_POINTS = 9


@functools.lru_cache(maxsize=64)
def _grid_of(params: tuple, box) -> tuple:
    """The :func:`_grid` of a box as integer points (:func:`_integer_point`), built once."""
    return tuple(_integer_point(tuple(Fraction(int(v[x].p), int(v[x].q)) for x in params))
                 for v in _grid(params, box, GRID_POINTS))


@functools.lru_cache(maxsize=8192)
def _truths(cond, params: tuple, box) -> tuple:
    """Where on the box's grid ``cond`` is known true and known false (boolean arrays)."""
    true = _grid_truth(cond, params, box)
    if true is None:           # not read factor by factor: point by point
        points = _grid_of(params, box)
        f = _evaluator(cond, params)
        if f is None:
            none = np.zeros(len(points), dtype=bool)
            return none, none
        true = np.array([f(v) for v in points], dtype=bool)
    return true, ~true


def _grid_truth(cond, params: tuple, box):
    """``cond`` at every point of the box's grid at once (a boolean array), from the
    signs of its relations' factors there (:func:`_grid_signs`); None where a part is
    not a product of polynomials."""
    n = len(_grid_of(params, box))
    if cond is sympy.true or cond is sympy.false:
        return np.full(n, bool(cond))
    if isinstance(cond, (sympy.And, sympy.Or, sympy.Not)):
        parts = [_grid_truth(a, params, box) for a in cond.args]
        if any(t is None for t in parts):
            return None
        if isinstance(cond, sympy.Not):
            return ~parts[0]
        return (np.logical_and if isinstance(cond, sympy.And) else np.logical_or).reduce(parts)
    test = boxes.RELATIONS.get(type(cond))
    if test is None:
        return None
    signs = np.ones(n, dtype=np.int64)
    for f in (sympy.Mul.make_args(cond.lhs) if cond.rhs == 0 else (cond.lhs - cond.rhs,)):
        base, k = f.as_base_exp()
        if not (k.is_Integer and k > 0):
            base, k = f, 1
        s = _grid_signs(base, params, box)
        if s is None:
            return None
        signs = signs * s ** int(k)
    return np.asarray(test(signs), dtype=bool)


@functools.lru_cache(maxsize=8192)
def _grid_signs(expr, params: tuple, box):
    """The sign (-1, 0, 1) of the polynomial ``expr`` (rational coefficients) at each
    point of the box's grid, in exact integers evaluated for all points at once (kept: a
    region's factors recur in other regions' conditions); None where it is not such a
    polynomial."""
    if expr.is_Rational:
        return np.full(len(_grid_of(params, box)), bool(expr > 0) - bool(expr < 0),
                       dtype=np.int64)
    poly = boxes.known(expr, params)
    if poly is None:
        if not expr.free_symbols <= set(params):
            return None
        try:
            poly = sympy.Poly(expr, *params)
        except sympy.PolynomialError:
            return None
        if not all(c.is_Rational for c in poly.coeffs()):
            return None
    terms = poly.terms()
    L = math.lcm(*[int(c.q) for _, c in terms])
    degree = poly.total_degree()
    xs, D = _grid_powers(params, box)
    total = np.zeros(len(D[0]), dtype=object)
    for m, c in terms:        # the value at nums / D, times D**degree * L
        t = D[degree - sum(m)] * (int(c.p) * (L // int(c.q)))
        for j, e in enumerate(m):
            if e:
                t = t * xs[j][e]
        total = total + t
    return np.sign(total).astype(np.int64)


class _Powers(list):
    """Powers of a grid's numerators (or common denominators), grown as asked."""

    def __init__(self, base: np.ndarray):
        super().__init__([np.ones(len(base), dtype=object), base])

    def __getitem__(self, e):
        while len(self) <= e:
            self.append(super().__getitem__(len(self) - 1) * super().__getitem__(1))
        return super().__getitem__(e)


@functools.lru_cache(maxsize=64)
def _grid_powers(params: tuple, box) -> tuple:
    """The box's grid (:func:`_grid_of`) as arrays over its points: per parameter the
    powers of its numerators, and the powers of the common denominators."""
    points = _grid_of(params, box)
    nums = [np.array([v[0][j] for v in points], dtype=object) for j in range(len(params))]
    return [_Powers(x) for x in nums], _Powers(np.array([v[1] for v in points], dtype=object))


def _grid(params, box, k: int) -> list:
    """Rational points of a k x ... x k grid strictly inside the box's bounding ranges
    that satisfy the box, the centre first; none for an unbounded parameter."""
    parts = box.args if isinstance(box, sympy.And) else (box,)
    axes = []
    for x in params:
        lo, hi = _bounds([c for c in parts if c.free_symbols == {x}], x)
        if not (lo.is_Rational and hi.is_Rational) or lo >= hi:
            return []
        axes.append([lo + (hi - lo) * sympy.Rational(2 * i + 1, 2 * k) for i in range(k)])
    mid = k // 2
    pts = sorted(itertools.product(*[range(k)] * len(params)),
                 key=lambda ix: sum(abs(i - mid) for i in ix))
    out = []
    for ix in pts:
        values = {x: axes[j][i] for j, (x, i) in enumerate(zip(params, ix))}
        if box.subs(values) is sympy.true:
            out.append(values)
    return out


def parameter_ranges(params: Sequence[sympy.Symbol], box) -> dict:
    """``{x: (low, high)}``: the extent of each parameter in ``box`` (a SymPy Boolean);
    a :class:`ParameterError` for a parameter the box leaves unbounded.

    >>> import sympy
    >>> p, q = sympy.symbols("p q")
    >>> parameter_ranges([p, q], sympy.And(p >= 0, p <= 1, q > 0, q < 2, p + q <= 2))
    {p: (0, 1), q: (0, 2)}
    """
    parts = box.args if isinstance(box, sympy.And) else (box,)
    out = {}
    for x in params:
        lo, hi = _bounds([c for c in parts if c.free_symbols == {x}], x)
        if not (lo.is_finite and hi.is_finite):
            raise ParameterError(f"{x} has no finite range in {show_condition(box)}; give "
                                 f"it one (domain={{{x}: sympy.Interval(a, b)}})")
        out[x] = (lo, hi)
    return out


def _bounds(conds, x) -> tuple:
    """The lowest and highest value of ``x`` the conditions (on ``x`` alone) allow."""
    lo, hi = -sympy.oo, sympy.oo
    for c in conds:
        if isinstance(c, sympy.core.relational.Relational) and c.rhs == x:
            c = c.reversed                      # 0 <= x reads x >= 0
        if not (isinstance(c, (sympy.GreaterThan, sympy.StrictGreaterThan, sympy.LessThan,
                               sympy.StrictLessThan)) and c.lhs == x and c.rhs.is_number):
            s = sympy.And(*conds).as_set()
            return s.inf, s.sup
        if isinstance(c, (sympy.GreaterThan, sympy.StrictGreaterThan)):
            lo = sympy.Max(lo, c.rhs)
        else:
            hi = sympy.Min(hi, c.rhs)
    return lo, hi


def _uncovered(params, candidates: list, regions) -> Point | None:
    """The first candidate no region covers (dropping the covered ones), or None."""
    while candidates:
        values = candidates[0]
        covered = [truth_at(r.condition, params, values) for r in regions]
        if any(c is True for c in covered):
            candidates.pop(0)
            continue
        if all(c is False for c in covered):
            return Point(params, candidates.pop(0))
        candidates.pop(0)   # not decided at the point: leave it to Z3
    return None


def truth_at(cond, params: Sequence[sympy.Symbol], values: Mapping) -> bool | None:
    """Whether ``cond`` (a SymPy Boolean of polynomial relations in ``params`` with
    rational coefficients) holds at the rational point ``values``, in exact integer and
    Fraction arithmetic; None where it cannot be read so (then ask :class:`Point`).

    >>> import sympy
    >>> p, q = sympy.symbols("p q")
    >>> truth_at((p * q > sympy.Rational(1, 4)) | (p < 0), (p, q), {p: 1, q: sympy.Rational(1, 3)})
    True
    """
    f = _evaluator(cond, tuple(params))
    if f is None:
        return None
    try:
        point = tuple(Fraction(int(sympy.numer(values[x])), int(sympy.denom(values[x])))
                      for x in params)
    except (TypeError, KeyError):
        return None
    return f(_integer_point(point))


def _integer_point(point: tuple) -> tuple:
    """A rational point as ``(numerators, D)`` over one common denominator ``D``."""
    D = math.lcm(*[v.denominator for v in point]) if point else 1
    return tuple(v.numerator * (D // v.denominator) for v in point), D


@functools.lru_cache(maxsize=8192)
def _evaluator(cond, params: tuple):
    """``cond`` compiled into a function of a tuple of Fractions (None: not polynomial)."""
    if cond is sympy.true or cond is sympy.false:
        value = bool(cond)
        return lambda v: value
    if isinstance(cond, (sympy.And, sympy.Or, sympy.Not)):
        parts = [_evaluator(a, params) for a in cond.args]
        if any(f is None for f in parts):
            return None
        if isinstance(cond, sympy.Not):
            return lambda v: not parts[0](v)
        join = all if isinstance(cond, sympy.And) else any
        return lambda v: join(f(v) for f in parts)
    test = boxes.RELATIONS.get(type(cond))
    if test is None:
        return None
    try:
        poly = sympy.Poly(cond.lhs - cond.rhs, *params)
    except sympy.PolynomialError:
        return None
    if not all(c.is_Rational for c in poly.coeffs()):
        return None
    # integer coefficients (times the positive lcm of their denominators): only the
    # sign of the value is read
    L = math.lcm(*[int(c.q) for c in poly.coeffs()]) if poly.coeffs() else 1
    terms = [(m, int(c.p) * (L // int(c.q)), sum(m)) for m, c in poly.terms()]
    degree = max((d for _, _, d in terms), default=0)

    def f(point):
        nums, D = point          # the value at nums / D, times D**degree * L
        total = 0
        for m, c, d in terms:
            t = c * D ** (degree - d)
            for n, e in zip(nums, m):
                if e:
                    t *= n ** e
            total += t
        return test(total)
    return f


def strictly(cond):
    """The condition with its non-strict inequalities made strict (the interior)."""
    return cond.replace(lambda e: isinstance(e, (sympy.GreaterThan, sympy.LessThan)),
                        lambda e: (sympy.StrictGreaterThan if isinstance(e, sympy.GreaterThan)
                                   else sympy.StrictLessThan)(e.lhs, e.rhs))


def _point(params, model, zv, solver, ctx, deadline: Deadline | None = None) -> Point:
    """A rational point near the model's when one is uncovered too, else the model's."""
    raw = {x: model.eval(zv[x], model_completion=True) for x in params}
    if all(z3.is_rational_value(v) for v in raw.values()):
        return Point(params, {x: _to_sympy_value(v) for x, v in raw.items()}, model, zv)
    for digits in (4, 8, 16):
        guess = {x: _rational_near(v, digits) for x, v in raw.items()}
        solver.push()
        solver.add(*[zv[x] == z3.RealVal(f"{g.p}/{g.q}", ctx) for x, g in guess.items()])
        ok = _check_within(solver, deadline or Deadline(None)) == z3.sat
        m = solver.model() if ok else None
        solver.pop()
        if ok:
            return Point(params, guess, m, zv)
    return Point(params, {x: _to_sympy_value(v) for x, v in raw.items()}, model, zv)


_LOCAL = threading.local()


def _context() -> z3.Context:
    """One Z3 context per thread for the short queries of simplification (a new context
    costs more than most of these queries)."""
    ctx = getattr(_LOCAL, "ctx", None)
    if ctx is None:
        ctx = _LOCAL.ctx = z3.Context()
    return ctx


#: Boxes one factor's sign is bounded over (by halving the widest side) before the
#: factor is left in its condition.
SIGN_BOXES = 32


def on_box(cond, params: Sequence[sympy.Symbol], box) -> Any:
    """``cond`` read within ``box``: each relation ``f_1 * ... * f_k  >  0`` (or ``>=``,
    ``<``, ``<=``) loses the factors whose sign is constant and nonzero on the box's
    bounding ranges, proved by exact interval arithmetic (:func:`sign_on`), its relation
    flipped for a negative one; a relation left with no factor is ``true`` or ``false``.
    Within the box the condition is the same set; it is shorter, of lower degree (so
    faster for Z3), and reads as the part that decides.

    >>> import sympy
    >>> p, q = sympy.symbols("p q")
    >>> box = sympy.And(p >= 0, p <= 1, q >= 0, q <= 1)
    >>> on_box((9 * p + 1) * (q - 2) * (p - q) < 0, (p, q), box)
    p - q > 0
    >>> on_box(p**2 + q + 1 > 0, (p, q), box)
    True
    """
    ranges = _ranges_of(tuple(params), box)
    if ranges is None:
        return cond
    return _on_ranges(cond, tuple(params), ranges, SIGN_BOXES)


@functools.lru_cache(maxsize=64)
def _ranges_of(params: tuple, box):
    """``{x: (low, high)}`` as Fractions for a bounded box, else None."""
    try:
        ranges = parameter_ranges(params, box)
    except ParameterError:
        return None
    if not all(lo.is_Rational and hi.is_Rational for lo, hi in ranges.values()):
        return None
    return tuple((Fraction(int(lo.p), int(lo.q)), Fraction(int(hi.p), int(hi.q)))
                 for lo, hi in (ranges[x] for x in params))


_FLIPPED = {sympy.StrictGreaterThan: sympy.StrictLessThan,
            sympy.StrictLessThan: sympy.StrictGreaterThan,
            sympy.GreaterThan: sympy.LessThan, sympy.LessThan: sympy.GreaterThan}


@functools.lru_cache(maxsize=8192)
def _on_ranges(cond, params: tuple, ranges: tuple, limit: int):
    if isinstance(cond, (sympy.And, sympy.Or, sympy.Not)):
        return cond.func(*[_on_ranges(a, params, ranges, limit) for a in cond.args])
    rel = type(cond)
    if rel not in _FLIPPED or cond.rhs != 0:
        return cond
    sign, kept = 1, []
    for f in sympy.Mul.make_args(cond.lhs):
        base, k = f.as_base_exp()
        if not (k.is_Integer and k > 0):
            return cond
        s = _sign_on(base, params, ranges, limit)
        if s is None:
            kept.append(f)
        elif k % 2:
            sign *= s
    if len(kept) == len(sympy.Mul.make_args(cond.lhs)) and sign == 1:
        return cond
    if not kept:
        return sympy.true if boxes.RELATIONS[rel](sign) else sympy.false
    lhs = sympy.Mul(*kept)   # (relations built unevaluated: no assumptions asked)
    relation = rel if sign > 0 else _FLIPPED[rel]
    if len(kept) == 1 and not isinstance(lhs, sympy.Pow) and len(lhs.free_symbols) == 1:
        poly = sympy.Poly(lhs, *lhs.free_symbols)
        if len(poly.gens) == 1 and poly.degree() == 1:    # a x + b > 0 reads x > -b/a
            a, b = poly.all_coeffs()
            if a < 0:
                relation = _FLIPPED[relation]
            return relation(poly.gens[0], -b / a, evaluate=False)
    return relation(lhs, sympy.Integer(0), evaluate=False)


def sign_on(expr, params: tuple, ranges: tuple) -> int | None:
    """``1`` or ``-1`` when the polynomial ``expr`` (rational coefficients) is provably
    positive or negative at every point of the ranges (``((low, high), ...)`` per
    parameter, Fractions), else None: exact bounds by the Bernstein coefficients
    (:func:`cpspec.core.boxes.sign`), halving up to :data:`SIGN_BOXES` boxes.

    >>> import sympy
    >>> p = sympy.Symbol("p")
    >>> half = (Fraction(0), Fraction(1))
    >>> sign_on(81 * p**2 - 9 * p + 1, (p,), (half,)), sign_on(p - 1, (p,), (half,))
    (1, None)
    """
    return _sign_on(expr, tuple(params), tuple(ranges), SIGN_BOXES)


@functools.lru_cache(maxsize=8192)
def _sign_on(expr, params: tuple, ranges: tuple, limit: int) -> int | None:
    if expr.is_Rational:
        return None if expr == 0 else (1 if expr > 0 else -1)
    if not params or not expr.free_symbols <= set(params):
        return None                      # a symbol the ranges do not bound
    poly = boxes.known(expr, params)
    try:
        poly = poly if poly is not None else sympy.Poly(expr, *params)
    except sympy.PolynomialError:
        return None
    if not all(c.is_Rational for c in poly.coeffs()):
        return None
    return boxes.sign(poly, ranges, limit)


def _quick_solver(ctx, ms: int):
    """A solver for one short question about polynomial conditions: Z3's nonlinear
    real arithmetic procedure (nlsat) alone, which answers these faster than the default
    solver's preprocessing; ``unknown`` after ``ms`` milliseconds."""
    return z3.TryFor(z3.Tactic("qfnra-nlsat", ctx), ms).solver()


def _z3_of(cond, params: tuple, ctx):
    """``to_z3`` of a condition in the thread's context, kept (conditions recur from
    region to region)."""
    cache = getattr(_LOCAL, "terms", None)
    if cache is None or len(cache) > 4096:
        cache = _LOCAL.terms = {}
    key = (cond, params)
    if key not in cache:
        cache[key] = to_z3(cond, {x: z3.Real(str(x), ctx) for x in params}, ctx)
    return cache[key]


#: Z3's time for simplifying one region's condition, in seconds (what is not decided in
#: it is kept: the region is the same, its description longer).
SIMPLIFY_SECONDS = 1.5


def simplify_condition(params, box, conds, deadline: Deadline | None = None) -> Any:
    """The conjunction of ``conds`` without the ones the box and the others imply, each
    condition first read within the box (:func:`on_box`). A removal is proved by
    subdivision (:func:`cpspec.core.boxes.cover`: the others' complements and the
    condition cover the box), with Z3 deciding the small boxes subdivision leaves open;
    a condition neither decides within :data:`SIMPLIFY_SECONDS`, or within what is left
    of ``deadline``, is kept (the same region, described at more length).

    >>> import sympy
    >>> p, q = sympy.symbols("p q")
    >>> box = sympy.And(p >= 0, p <= 1, q >= 0, q <= 1)
    >>> simplify_condition((p, q), box, [q > p**2, q > p**3, p < sympy.Rational(1, 2)])
    (p < 1/2) & (q > p**2)
    """
    params = tuple(params)
    conds = [on_box(c, params, box) for c in conds]
    conds = list(dict.fromkeys(c for c in conds if c is not sympy.true))
    if any(c is sympy.false for c in conds):
        return sympy.false
    ranges = _ranges_of(params, box)
    ctx = _context()
    zv = {x: z3.Real(str(x), ctx) for x in params}
    spent = time.monotonic()

    def left() -> int:
        """Milliseconds left for simplifying, within both budgets."""
        out = int((SIMPLIFY_SECONDS - (time.monotonic() - spent)) * 1000)
        rest_of_call = deadline.remaining() if deadline is not None else None
        return out if rest_of_call is None else min(out, int(rest_of_call * 1000))

    def needed(c, others) -> bool:
        # a grid point where the others hold and c does not shows c is needed
        inside = _truths(c, params, box)[1]
        for k in others:
            inside = inside & _truths(k, params, box)[0]
        return bool(inside.any())

    def counterexample(premises: list, conclusions: list):
        """True when the premises imply all the conclusions within the box, else a
        rational point (``{x: value}``) of the box where they hold and a conclusion does
        not, else None (not decided within the budget, or a point that is not rational).
        (The conclusions' conjunction is a tuple for :func:`cpspec.core.boxes.cover`
        and Z3's ``And``: SymPy's ``And`` would compare every fresh relation's canonical
        form, most of a region's simplification at high degree.)"""
        ms = left()
        if ms <= 0:
            return None
        question = [tuple(conclusions), *[sympy.Not(k) for k in premises], sympy.Not(box)]
        try:      # within what is left of both budgets
            found = (boxes.cover(params, ranges, question, Deadline(ms / 1000))
                     if ranges is not None and _high_degree(params, question) else None)
        except Expired:
            if deadline is not None:
                deadline.check()        # the call's own budget: the call reports it
            return None
        if found is not None and found.point is not None:
            return found.point
        if found is not None and found.proved:
            return True
        if found is not None:
            if (ms := left()) <= 0:       # what the subdivision left of the budget
                return None
            decided = _decide_open(params, found.open, ctx, zv, ms)
        else:
            decided = _quick_solver(ctx, ms)
            decided.add(_z3_of(box, params, ctx), *[_z3_of(k, params, ctx) for k in premises],
                        z3.Not(z3.And(*[_z3_of(c, params, ctx) for c in conclusions])))
            res = decided.check()
            decided = True if res == z3.unsat else decided if res == z3.sat else None
        if not isinstance(decided, z3.Solver):
            return decided if decided is True else None
        m = decided.model()
        raw = [m.eval(zv[x], model_completion=True) for x in params]
        if not all(z3.is_rational_value(v) for v in raw):
            return None
        return {x: _to_sympy_value(v) for x, v in zip(params, raw)}

    # a grid point where the others hold and c does not shows c is needed; often the
    # needed ones imply all the rest: one question instead of one per condition. Where
    # they do not, the point found shows which of the rest fail there: one failing alone
    # is needed; of several, the first is taken on trust (the conjunction is the same
    # region either way) and asked about once more at the end
    must = [c for c in conds if needed(c, [k for k in conds if k is not c])]
    rest = [c for c in conds if c not in must]
    guessed: list = []
    while rest:
        point = counterexample(must, rest)
        if point is True:
            rest = []
            break
        if point is None:
            break
        truth = {c: truth_at(c, params, point) for c in rest}
        failing = [c for c in rest if truth[c] is False]
        if not failing or any(t is None for t in truth.values()):
            break
        if len(failing) > 1:
            guessed.append(failing[0])
        must.append(failing[0])
        rest.remove(failing[0])
    kept = [c for c in conds if c in must or c in rest]
    for c in [*(c for c in conds if c in rest), *guessed]:
        others = [k for k in kept if k is not c]
        if not needed(c, others) and counterexample(others, [c]) is True:
            kept = others
    return sympy.And(*kept) if kept else sympy.true


class RegionSolution:
    """An exact solution over several parameters: the parameter box partitioned into
    regions, each with its exact (symbolic) solution.

    ``regions(get)`` lists :class:`ParameterRegion` records (``.condition``, ``.answer``)
    with ``get(solution)`` as the answer (default: the decision rules), equal answers
    merged; ``at({p: v, ...})`` is the exact solution at a point; ``policy(...)`` and
    ``value`` read the regions' solutions.
    """

    def __init__(self, parameters, box, pieces, solve_at: Callable, rules: Callable):
        self.parameters = tuple(parameters)
        self.box = box
        self.pieces = tuple(pieces)       # ParameterRegion with the symbolic solution
        self._solve_at, self._rules = solve_at, rules

    def regions(self, get: Callable | None = None) -> list[ParameterRegion]:
        """The regions with ``get(solution)`` as their answer (default: the decision
        rules), equal answers merged."""
        get = get or self._rules
        return merge_regions([ParameterRegion(r.condition, get(r.answer), r.sample)
                              for r in self.pieces], same=_same,
                             within=(self.parameters, self.box))

    def at(self, point):
        """The exact solution at a point ``{p: value, ...}`` (every parameter bound)."""
        values = parse_point(self.parameters, point)
        box = self.box.subs(values)
        if box is not sympy.true:
            raise ParameterError(f"{_show_point(values)} lies outside the solved domain "
                                 f"{show_condition(self.box)}")
        return self._solve_at(values)

    def region_of(self, point) -> ParameterRegion:
        """The region (of the decision rules) containing a point."""
        values = parse_point(self.parameters, point)
        for r in self.pieces:
            if r.condition.subs(values) is sympy.true:
                return r
        raise ParameterError(f"{_show_point(values)} lies outside the solved domain "
                             f"{show_condition(self.box)}")

    def policy(self, *args):
        """The decision of ``policy(*args)`` in each region: a plain action where it is the
        same everywhere, else the list of regions with their action."""
        regs = self.regions(lambda sol: sol.policy(*args))
        return regs[0].answer if len(regs) == 1 else regs

    @property
    def value(self):
        """The optimal value: a ``Piecewise`` over the regions' conditions."""
        regs = self.regions(lambda sol: sol.value)
        if len(regs) == 1:
            return regs[0].answer
        return sympy.Piecewise(*[(r.answer, r.condition) for r in regs])

    def __repr__(self):
        return (f"RegionSolution({', '.join(map(str, self.parameters))}: "
                f"{len(self.pieces)} regions)")

    def _repr_html_(self) -> str:
        """The regions' picture (one or two parameters) above a table of each region's
        condition and decision rules, numbered alike."""
        rows = [[str(i + 1), show_condition(r.condition), _show_answer(r.answer)]
                for i, r in enumerate(self.regions())]
        return (svg(self) or "") + html_table(
            ["region", "where", "decision rules"], rows,
            f"optimal policy over {', '.join(map(str, self.parameters))}")

    def __str__(self):
        return "\n".join(str(r) for r in self.regions())


def _same(a, b) -> bool:
    if isinstance(a, sympy.Basic) or isinstance(b, sympy.Basic):
        try:
            return sympy.simplify(number_to_sympy(a) - number_to_sympy(b)) == 0
        except (TypeError, ValueError, AttributeError):
            return False
    return a == b


def _show_point(values) -> str:
    return ", ".join(f"{k} = {v}" for k, v in values.items())


def parameter_box(params, domain: Mapping | None, probabilities, gamma=None,
                  infinite: bool = False) -> tuple:
    """``(params, box)``: the parameters in a fixed order and the condition of their box.

    A parameter's set is its entry of ``domain`` (keys symbols or names), or the values
    where the probabilities that depend on it alone lie in [0, 1] (the discount: [0, 1],
    [0, 1) for ``infinite``); probabilities of several parameters add their own
    ``0 <= p <= 1`` as polynomial conditions. A parameter with neither (a reward, say)
    has no bounded box: :class:`ParameterError` names it.
    """
    by_name = {str(x): x for x in params}
    given = {}
    for k, s in (domain or {}).items():
        if str(k) not in by_name:
            raise ParameterError(f"domain names {k}, which is not a parameter of the model; "
                                 f"its parameters are {', '.join(sorted(by_name))}")
        given[by_name[str(k)]] = s
    probabilities = [number_to_sympy(p) for p in probabilities]
    g = number_to_sympy(gamma) if gamma is not None else None
    params = tuple(sorted(params, key=str))
    check_rational(params, probabilities, "the probability")
    sets = {}
    for x in params:
        if x in given:
            sets[x] = given[x]
            continue
        alone = [p for p in probabilities if p.free_symbols == {x}]
        if not alone and g != x:
            hi = 1 if any(x in p.free_symbols for p in probabilities) else 10
            why = ("it appears only in probabilities together with other parameters"
                   if hi == 1 else "no probability or discount bounds it")
            raise ParameterError(
                f"the parameter {x} has no domain: {why}, and the regions need its range; "
                f"give it, e.g. domain={{{x}: sympy.Interval(0, {hi})}}")
        sets[x] = valid_domain(x, alone, g if g == x else None, infinite)
    joint = []
    for p in dict.fromkeys(probabilities):
        if len(p.free_symbols & set(params)) > 1:
            joint += [polynomial_condition(p, False), polynomial_condition(1 - p, False)]
    return params, sympy.And(box_condition(params, sets), *joint)


def equivalent(params, box, a, b, timeout: float = 10.0) -> bool | None:
    """Whether the conditions ``a`` and ``b`` agree at every point of ``box`` (decided by
    Z3; None when Z3 cannot decide in ``timeout`` seconds).

    >>> import sympy
    >>> p, q = sympy.symbols("p q")
    >>> box = sympy.And(p >= 0, p <= 1, q >= 0, q <= 1)
    >>> equivalent([p, q], box, p * q > 0, sympy.And(p > 0, q > 0))
    True
    >>> equivalent([p, q], box, p >= q, p > q)
    False
    """
    ctx = z3.Context()
    zv = {x: z3.Real(str(x), ctx) for x in params}
    side: list = []
    s = z3.Solver(ctx=ctx)
    s.set("timeout", max(1, int(timeout * 1000)))
    s.add(to_z3(box, zv, ctx, side), to_z3(a, zv, ctx, side) != to_z3(b, zv, ctx, side))
    s.add(*side)
    res = s.check()
    return True if res == z3.unsat else (False if res == z3.sat else None)


def tidy_small(params, box, cond, deadline: Deadline | None = None) -> Any:
    """:func:`tidy` for a condition of at most :data:`TIDY_ATOMS` relations; a larger
    one is returned as it is (each relation would cost Z3 queries), unless it compares
    one parameter with numbers only: then it is the union of intervals it amounts to
    within the box (:func:`one_parameter`), of any length.

    >>> import sympy
    >>> q = sympy.Symbol("q")
    >>> box = sympy.And(q >= 0, q <= 1)
    >>> pieces = [(q > k / sympy.Integer(9)) & (q <= (k + 1) / sympy.Integer(9)) for k in range(1, 9)]
    >>> tidy_small([q], box, sympy.Or(*pieces))
    q > 1/9
    """
    one = one_parameter(box, cond)
    if one is not None:
        return one
    if _relations(cond) > TIDY_ATOMS:
        return cond
    return tidy(params, box, cond, deadline=deadline)


def one_parameter(box, cond) -> Any:
    """``cond``, a Boolean of relations between one parameter and numbers, as the
    union of intervals it amounts to within ``box`` (bounds the box already sets left
    out), exactly; None for any other condition.

    >>> import sympy
    >>> q = sympy.Symbol("q")
    >>> box = sympy.And(q >= 0, q <= 1)
    >>> one_parameter(box, (q <= 0) & ~((q > 0) & (q <= sympy.Rational(1, 9))))
    Eq(q, 0)
    """
    if len(cond.free_symbols) != 1:
        return None
    x = next(iter(cond.free_symbols))
    for r in cond.atoms(sympy.core.relational.Relational):
        if not (isinstance(r, tuple(boxes.RELATIONS)) and {r.lhs, r.rhs} & {x}
                and (r.rhs if r.lhs == x else r.lhs).is_Rational):
            return None
    own = [c for c in sympy.And.make_args(box) if c.free_symbols == {x}]
    try:
        within = sympy.And(*own).as_set() if own else sympy.S.Reals
        s = cond.as_set().intersect(within)
    except (NotImplementedError, TypeError):
        return None
    lo, hi = within.inf, within.sup
    parts = []
    for piece in (s.args if isinstance(s, sympy.Union) else (s,)):
        if isinstance(piece, sympy.FiniteSet):
            parts += [sympy.Eq(x, v) for v in piece.args]
        elif isinstance(piece, sympy.Interval):
            bounds = []
            if not (piece.start == lo and (piece.left_open == (lo not in within))):
                bounds.append(x > piece.start if piece.left_open else x >= piece.start)
            if not (piece.end == hi and (piece.right_open == (hi not in within))):
                bounds.append(x < piece.end if piece.right_open else x <= piece.end)
            parts.append(sympy.And(*bounds))
        elif piece is not sympy.S.EmptySet:
            return None
    return sympy.Or(*parts)


def tidy(params, box, cond, deadline: Deadline | None = None) -> Any:
    """``cond`` with the parts the box decides replaced by true/false and the parts
    implied by their siblings dropped (each step proved by Z3; equivalent within the
    box). With ``deadline``, Z3 is asked nothing once it has passed: what is left stays
    as it was (the same set, less tidy)."""
    ctx = z3.Context()
    zv = {x: z3.Real(str(x), ctx) for x in params}
    side: list = []
    zbox = to_z3(box, zv, ctx, side)
    memo: dict = {}

    def z(c):    # each part converted once
        if c not in memo:
            memo[c] = to_z3(c, zv, ctx, side)
        return memo[c]

    def unsat(*terms) -> bool:
        left = None if deadline is None else deadline.remaining()
        if left is not None and left <= 0:
            return False            # no time to prove it: keep the part
        s = z3.Solver(ctx=ctx)
        s.set("timeout", 2000 if left is None else max(1, min(2000, int(left * 1000))))
        s.add(zbox, *side, *terms)
        return s.check() == z3.unsat

    def walk(c):
        if not isinstance(c, (sympy.And, sympy.Or)):
            zc = z(c)
            if unsat(zc):
                return sympy.false
            if unsat(z3.Not(zc)):
                return sympy.true
            return c
        kids = [walk(a) for a in c.args]
        join = type(c)
        c = join(*kids)
        if not isinstance(c, join):
            return walk(c) if isinstance(c, (sympy.And, sympy.Or)) else c
        kids = list(c.args)
        for k in list(kids):
            others = [o for o in kids if o is not k]
            if not others:
                break
            zk = z(k)
            zo = [z(o) for o in others]
            # And: drop k when the others imply it; Or: drop k when it implies the others
            if (join is sympy.And and unsat(*zo, z3.Not(zk))) or \
                    (join is sympy.Or and unsat(zk, z3.Not(z3.Or(*zo)))):
                kids = others
        return join(*kids)
    out = walk(cond)
    if isinstance(out, (sympy.And, sympy.Or)):
        # often one of its own relations (or the opposite of one) says the same
        for atom in sorted(out.atoms(sympy.core.relational.Relational), key=sympy.count_ops):
            for cand in (atom, sympy.Not(atom)):
                if unsat(z(cand) != z(out)):
                    return cand.reversed if cand.lhs.is_number else cand
    if len(out.free_symbols) == 1 and out not in (sympy.true, sympy.false):
        # one parameter: its set, read back as the fewest relations
        (x,) = out.free_symbols
        own = [c for c in (box.args if isinstance(box, sympy.And) else (box,))
               if c.free_symbols == {x}]
        try:
            alt = walk(sympy.And(out, *own).as_set().as_relational(x))
        except (NotImplementedError, TypeError, ValueError):
            return out
        if sympy.count_ops(alt) < sympy.count_ops(out):
            out = alt
    # the parameter on the left: b > 0, not 0 < b
    return out.replace(lambda e: isinstance(e, sympy.core.relational.Relational)
                       and e.lhs.is_number and not e.rhs.is_number, lambda e: e.reversed)
