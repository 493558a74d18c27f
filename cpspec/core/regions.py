"""Exact comparisons of quantities that depend on one symbolic parameter.

Solving a model with a symbolic parameter (``gamma``, a probability ``p``) needs argmax
comparisons of rational functions of it. A :class:`Region` is an open interval or a single
point of the parameter; :meth:`Region.sign` returns the sign of an expression that is
constant on the region, and raises :class:`Split` with the roots inside the region when it
is not. :func:`over_regions` reruns a computation on each piece until no comparison splits,
which yields the exact regions of a parametric optimal policy (the breakpoints are exact
algebraic numbers: rationals or ``CRootOf``).
"""

from __future__ import annotations

from typing import Any, Callable

import sympy

from ..errors import ParameterError
from .display import html_table, latex_value
from .functions import as_sympy, number_to_sympy, to_exact

__all__ = ["Region", "Split", "Sign", "over_regions", "valid_domain", "Choice", "piecewise",
           "show_set", "rational_between", "sample_of", "merge_adjacent"]


class Split(Exception):
    """A comparison changes sign inside the region, at these points."""

    def __init__(self, points):
        super().__init__(points)
        self.points = points


def _num(v, digits=60):
    return sympy.N(v, digits)


def rational_between(lo, hi):
    """A rational strictly between two exact reals (either may be infinite)."""
    if lo == -sympy.oo and hi == sympy.oo:
        return sympy.Integer(0)
    if lo == -sympy.oo:
        return sympy.floor(hi) - 1
    if hi == sympy.oo:
        return sympy.ceiling(lo) + 1
    if lo.is_Rational and hi.is_Rational:
        return (lo + hi) / 2
    digits = 30
    while True:
        mid = sympy.Rational(str(_num((lo + hi) / 2, digits)))
        if bool(lo < mid) and bool(mid < hi):
            return mid
        digits *= 2
        if digits > 2000:  # pragma: no cover - distinct algebraic numbers separate long before
            raise ParameterError(f"cannot separate {lo} and {hi} numerically")


def sample_of(s: sympy.Set):
    """A rational point of a one-parameter region (the first interval's midpoint, or its
    first point).

    >>> sample_of(sympy.Interval.Lopen(0, sympy.Rational(1, 2)))
    1/4
    """
    atom = s.args[0] if isinstance(s, sympy.Union) else s
    if isinstance(atom, sympy.FiniteSet):
        return next(iter(atom))
    return rational_between(atom.start, atom.end)


def merge_adjacent(pieces, same: Callable) -> list:
    """``[(set, value), ...]`` (in increasing order) with neighbours whose values are
    ``same`` joined into one set (the first value kept).

    >>> merge_adjacent([(sympy.Interval(0, 1), "a"), (sympy.Interval.Lopen(1, 2), "a")],
    ...                lambda u, v: u == v)
    [(Interval(0, 2), 'a')]
    """
    out: list = []
    for s, v in pieces:
        if out and same(out[-1][1], v):
            out[-1] = (out[-1][0] | s, out[-1][1])
        else:
            out.append((s, v))
    return out


class Region:
    """An open interval ``(lo, hi)`` or a single point of the parameter ``x``."""

    __slots__ = ("x", "lo", "hi", "point")

    def __init__(self, x, lo=None, hi=None, point=None):
        self.x, self.lo, self.hi, self.point = x, lo, hi, point

    def as_set(self) -> sympy.Set:
        if self.point is not None:
            return sympy.FiniteSet(self.point)
        return sympy.Interval.open(self.lo, self.hi)

    def sample(self):
        """An exact point of the region (rational for intervals)."""
        return self.point if self.point is not None else rational_between(self.lo, self.hi)

    def __repr__(self):
        return f"Region({self.as_set()})"

    def sign(self, expr) -> int:
        """The sign (-1, 0, 1) of ``expr`` on this region, or :class:`Split`."""
        expr = number_to_sympy(expr)
        if not expr.free_symbols:
            return _sign_number(expr)
        if expr.free_symbols != {self.x}:
            expr = sympy.cancel(sympy.together(expr))  # other symbols may cancel out
        if not expr.free_symbols:
            return _sign_number(expr)
        if expr.free_symbols != {self.x}:
            return _sign_by_assumptions(expr)
        num, den = sympy.fraction(sympy.together(expr))
        return self._sign_poly(num) * self._sign_poly(den)

    def _sign_poly(self, e) -> int:
        if not e.free_symbols:
            return _sign_number(e)
        poly = sympy.Poly(e, self.x)
        if self.point is not None:
            c = self.point
            if c.is_Rational:
                return _sign_number(poly.eval(c))
            mp = sympy.minimal_polynomial(c, self.x)
            if sympy.degree(sympy.gcd(poly.as_expr(), mp), self.x) > 0:
                return 0
            return 1 if _num(poly.as_expr().subs(self.x, c)) > 0 else -1
        inside = [r for r in poly.real_roots()
                  if bool(r > self.lo) and bool(r < self.hi)]
        if inside:
            raise Split(inside)
        return _sign_number(poly.eval(rational_between(self.lo, self.hi)))


def _sign_number(v) -> int:
    if v == 0:
        return 0
    if v.is_Rational:
        return 1 if v > 0 else -1
    return 1 if bool(v > 0) else -1


def _sign_by_assumptions(expr) -> int:
    e = sympy.simplify(expr)
    if e.is_zero:
        return 0
    if e.is_positive:
        return 1
    if e.is_negative:
        return -1
    raise ParameterError(
        f"the comparison {e} > 0 depends on the parameters "
        f"{', '.join(sorted(map(str, e.free_symbols)))} together; give each of them a "
        "domain (domain={p: sympy.Interval(0, 1), ...}) and cpspec derives the exact regions "
        "over all of them, or bind all but one (.bind(name=value))")


class Sign:
    """Comparisons of exact domain elements, optionally on a parameter region."""

    def __init__(self, K, region: Region | None):
        """``K``: the exact domain of the compared elements, or None for SymPy exprs."""
        self.K, self.region = K, region
        self.fast = K is not None and (K.is_QQ or K.is_ZZ)

    def sign(self, a) -> int:
        """Sign of a domain element (or SymPy expression when ``K`` is None)."""
        if self.fast:
            return (a > 0) - (a < 0)
        e = self.K.to_sympy(a) if self.K is not None else number_to_sympy(a)
        if self.region is None:
            if not e.free_symbols:
                return _sign_number(e)
            return _sign_by_assumptions(e)
        return self.region.sign(e)

    def greater(self, a, b) -> bool:
        return self.sign(a - b) > 0


def valid_domain(x: sympy.Symbol, probabilities, gamma=None,
                 infinite: bool = False) -> sympy.Set:
    """The values of ``x`` for which every probability lies in [0, 1] (and ``gamma`` in
    [0, 1], or [0, 1) for an infinite horizon)."""
    dom: sympy.Set = sympy.S.Reals
    seen = set()
    for p in probabilities:
        p = number_to_sympy(p)
        if x not in p.free_symbols or p in seen:
            continue
        seen.add(p)
        dom = dom & _solve(p >= 0, x) & _solve(p <= 1, x)
    if gamma is not None and x in number_to_sympy(gamma).free_symbols:
        g = number_to_sympy(gamma)
        dom = dom & _solve(g >= 0, x) & _solve(g < 1 if infinite else g <= 1, x)
    return dom


def _solve(rel, x) -> sympy.Set:
    try:
        return sympy.solve_univariate_inequality(rel, x, relational=False)
    except (NotImplementedError, ValueError, TypeError):
        raise ParameterError(f"cannot determine where {rel} holds; give the parameter's "
                             "domain explicitly (domain=sympy.Interval(...))") from None


def over_regions(x: sympy.Symbol, domain: sympy.Set, run: Callable[[Region], Any]):
    """Run ``run`` on regions covering ``domain``, splitting where a comparison changes.

    Returns a list of ``(sympy.Set, result)`` in increasing order of the parameter.
    """
    pieces = []
    stack: list[Region] = []
    parts = domain.args if isinstance(domain, sympy.Union) else (domain,)
    for part in parts:
        if isinstance(part, sympy.FiniteSet):
            stack += [Region(x, point=p) for p in part]
        elif isinstance(part, sympy.Interval):
            if part.start != part.end:
                stack.append(Region(x, part.start, part.end))
            if not part.left_open and part.start.is_finite:
                stack.append(Region(x, point=part.start))
            if not part.right_open and part.end.is_finite and part.end != part.start:
                stack.append(Region(x, point=part.end))
        elif part is sympy.S.EmptySet:
            continue
        else:
            raise ParameterError(f"unsupported parameter domain {domain}")
    if not stack:
        raise ParameterError(f"the parameter {x} has no valid values (domain {domain})")
    while stack:
        r = stack.pop()
        try:
            pieces.append((r, run(r)))
        except Split as sp:
            pts = sorted(set(sp.points), key=_num)
            bounds = [r.lo] + pts + [r.hi]
            for a, b in zip(bounds, bounds[1:]):
                stack.append(Region(x, a, b))
            stack += [Region(x, point=p) for p in pts]
    pieces.sort(key=lambda pr: _num(pr[0].sample()))
    return [(r.as_set(), res) for r, res in pieces]


def piecewise(x: sympy.Symbol, pieces) -> Any:
    """One value over the parameter ``x`` from ``[(set, value), ...]`` (in increasing
    order): adjacent sets with equal values are merged; a single piece is its plain value,
    several a ``Piecewise``.

    Examples
    --------
    >>> import sympy
    >>> g = sympy.Symbol("gamma")
    >>> piecewise(g, [(sympy.Interval(0, 1), 1), (sympy.Interval.Lopen(1, 2), 2 * g - 1)])
    Piecewise((1, (gamma >= 0) & (gamma <= 1)), (2*gamma - 1, (gamma <= 2) & (gamma > 1)))
    >>> piecewise(g, [(sympy.Interval(0, 1), g), (sympy.Interval.Lopen(1, 2), g)])
    gamma
    """
    merged: list = []
    for s, v in pieces:
        if merged and sympy.simplify(merged[-1][0] - v) == 0:
            merged[-1] = (merged[-1][0], merged[-1][1] | s)
        else:
            merged.append((v, s))
    if len(merged) == 1:
        return merged[0][0]
    return sympy.Piecewise(*[(v, s.as_relational(x)) for v, s in merged])


class Choice:
    """A value that depends on a parameter: ``[(set, value), ...]`` over disjoint sets,
    adjacent equal values merged. Compares equal to a plain value when it is constant.

    >>> g = sympy.Symbol("gamma")
    >>> c = Choice(g, [(sympy.Interval.Ropen(0, sympy.Rational(1, 2)), "take"),
    ...                (sympy.Interval(sympy.Rational(1, 2), 1), "wait")])
    >>> print(c)
    take if 0 <= gamma < 1/2; wait if 1/2 <= gamma <= 1
    >>> c.at(sympy.Rational(3, 4))
    'wait'
    """

    def __init__(self, x, pieces):
        merged: list = []
        for s, v in pieces:
            if merged and merged[-1][1] == v:
                merged[-1] = (merged[-1][0] | s, v)
            else:
                merged.append((s, v))
        self.x = x
        self.pieces = merged

    def at(self, value):
        """The value where the parameter equals ``value``."""
        value = as_sympy(to_exact(value, what=f"a value of {self.x}"))
        for s, v in self.pieces:
            if s.contains(value) == sympy.true:
                return v
        raise ParameterError(f"{self.x} = {value} lies outside the solved domain")

    @property
    def is_constant(self) -> bool:
        return len(self.pieces) == 1

    def __eq__(self, other):
        if isinstance(other, Choice):
            return self.x == other.x and all(
                a == b and sa == sb for (sa, a), (sb, b) in zip(self.pieces, other.pieces)) \
                and len(self.pieces) == len(other.pieces)
        return self.is_constant and self.pieces[0][1] == other

    __hash__ = None  # type: ignore[assignment]

    def __str__(self):
        return "; ".join(f"{v} if {show_set(s, self.x)}" for s, v in self.pieces)

    def __repr__(self):
        return f"Choice({self})"

    def _repr_html_(self) -> str:
        return html_table(["value", f"where {self.x}"],
                          [[v, show_set(s, self.x)] for s, v in self.pieces])

    def _repr_latex_(self) -> str:
        r"""The choice as LaTeX cases (math mode throughout).

        >>> g = sympy.Symbol("gamma")
        >>> print(Choice(g, [(sympy.Interval(0, 1), "take")])._repr_latex_())
        $\begin{cases} \text{take} & 0 \leq \gamma \wedge \gamma \leq 1 \end{cases}$
        """
        cases = r" \\ ".join(f"{latex_value(v)} & {sympy.latex(s.as_relational(self.x))}"
                             for s, v in self.pieces)
        return r"$\begin{cases} " + cases + r" \end{cases}$"


def show_set(s: sympy.Set, x) -> str:
    """A set of values of ``x`` as the text a user reads: ``0 <= gamma < 1/2``,
    ``gamma = 1/2``, pieces joined by ``or``."""
    if isinstance(s, sympy.Union):
        return " or ".join(show_set(a, x) for a in s.args)
    if isinstance(s, sympy.FiniteSet):
        return " or ".join(f"{x} = {v}" for v in s)
    if isinstance(s, sympy.Interval):
        left = "" if s.start == -sympy.oo else f"{s.start} {'<' if s.left_open else '<='} "
        right = "" if s.end == sympy.oo else f" {'<' if s.right_open else '<='} {s.end}"
        return f"{left}{x}{right}" if left or right else f"any {x}"
    return str(s.as_relational(x))
