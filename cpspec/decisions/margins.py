"""A policy's values and the margins of its actions, in python-flint.

Each region of a parametric solution (:func:`cpspec.decisions.solving.optimal_at`) is
found by solving the MDP at a point and then evaluating that policy symbolically: its
values, rational functions of the parameters, and for each state the margin by which its
action beats each other one, read as a polynomial condition (:func:`cpspec.core.partition.tie_rule`).
In SymPy's field of rational functions every addition cancels a gcd in Python, and each
condition's factors are found by SymPy's factoring; that was most of a region's cost.

:class:`FlintModel` does the same in python-flint's ``fmpz_mpoly`` (FLINT's multivariate
polynomials over the integers, in C) when it is installed and the MDP's numbers lie in a
field of rational functions over the integers in sorted generators (what
:class:`~cpspec.decisions.solving.ExactModel` builds for symbolic parameters):

* an element is a pair ``(numerator, denominator)`` of ``fmpz_mpoly``, cancelled and
  signed as SymPy cancels (gcd 1, the denominator's leading coefficient positive in lex
  order), so that it converts to the same SymPy field element;
* a stationary policy's values solve ``(I - gamma P) V = R`` by fraction-free
  Gauss-Jordan elimination (each division exact, no gcd until the end);
* a margin's condition is read as :func:`cpspec.core.partition.element_condition` reads
  it, the same relation, its factors found by FLINT; each factor is remembered as a
  polynomial (:func:`cpspec.core.boxes.remember`) so that the region's simplification
  does not factor it again.

Without python-flint, :class:`~cpspec.decisions.solving.ExactModel` computes in SymPy's
field; the answers are the same.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Mapping

import sympy

from ..core.functions import as_sympy
from ..core.partition import factor_expression, sign_relation, tie_rule
from ..errors import ParameterError
from ..inference.polynomials import FlintPolynomials, has_flint_polynomials

__all__ = ["FlintModel", "flint_model"]


def flint_model(mdp, K, rows: Mapping, gamma) -> "FlintModel | None":
    """A :class:`FlintModel` of an MDP's numbers (``rows``: ``(s, a) -> [(s2, p, r)]``
    in ``K``, ``gamma`` in ``K``), or None where python-flint's multivariate polynomials
    are not installed or ``K`` is not a field of rational functions over the integers
    in sorted generators.

    Examples
    --------
    >>> import sympy
    >>> from sympy.polys.domains import QQ
    >>> flint_model(None, QQ, {}, QQ(1, 2)) is None
    True
    """
    field = getattr(K, "field", None) if getattr(K, "is_FractionField", False) else None
    ring = getattr(field, "ring", None)
    if not has_flint_polynomials() or ring is None or ring.domain != sympy.ZZ:
        return None
    names = [str(x) for x in ring.symbols]
    if names != sorted(names):
        return None
    return FlintModel(mdp, K, rows, gamma)


class FlintModel:
    """An MDP's transition probabilities, rewards and discount as ``fmpz_mpoly``
    fractions (see the module's docstring); built by :func:`flint_model`.

    Parameters
    ----------
    mdp : MDP
    K : the exact field of the MDP's numbers (``ZZ(p, q, ...)``)
    rows : ``(s, a) -> [(s2, p, r)]`` with ``p``, ``r`` in ``K``
    gamma : the discount in ``K``
    """

    def __init__(self, mdp, K, rows: Mapping, gamma):
        self.mdp, self.K = mdp, K
        self.poly = FlintPolynomials(K)
        self.gens = tuple(K.field.ring.symbols)
        self.zero = (self.poly.zero, self.poly.one)
        self.one = (self.poly.one, self.poly.one)
        self.gamma = self.of(gamma)
        self.rows = {k: [(s2, self.of(p), self.of(r)) for s2, p, r in row]
                     for k, row in rows.items()}

    # ---- fractions -------------------------------------------------------------------

    def of(self, x) -> tuple:
        """An element of ``K`` as a fraction (its denominator's leading coefficient made
        positive: ``K`` does not always keep it so)."""
        return _signed(*self.poly.split(x))

    def to_field(self, x: tuple):
        """A fraction as the element of ``K`` it is."""
        return self.poly.to_field(*x)

    def _cancel(self, num, den) -> tuple:
        if num.is_zero():
            return self.zero
        g = num.gcd(den)              # contents included, leading coefficient > 0
        if not g.is_one():
            num, den = num / g, den / g
        return _signed(num, den)

    def add(self, x: tuple, y: tuple) -> tuple:
        """``x + y``."""
        (a, b), (c, d) = x, y
        if b == d:
            return self._cancel(a + c, b)
        g = b.gcd(d)
        if g.is_one():
            return self._cancel(a * d + c * b, b * d)
        d1 = d / g
        return self._cancel(a * d1 + c * (b / g), b * d1)

    def neg(self, x: tuple) -> tuple:
        """``-x``."""
        return -x[0], x[1]

    def mul(self, x: tuple, y: tuple) -> tuple:
        """``x * y``."""
        (a, b), (c, d) = x, y
        if a.is_zero() or c.is_zero():
            return self.zero
        g1, g2 = a.gcd(d), c.gcd(b)    # cancelled inputs: only these can cancel
        if not g1.is_one():
            a, d = a / g1, d / g1
        if not g2.is_one():
            c, b = c / g2, b / g2
        return _signed(a * c, b * d)

    # ---- a policy ------------------------------------------------------------------------

    def q(self, s, a, V: Mapping) -> tuple:
        """The value of action ``a`` in state ``s`` given the values ``V`` after the step:
        ``sum p (r + gamma V[s2])``."""
        total = self.zero
        for s2, p, r in self.rows[(s, a)]:
            total = self.add(total, self.mul(p, self.add(r, self.mul(self.gamma, V[s2]))))
        return total

    def stationary_values(self, rule: Mapping) -> dict:
        """The values of a stationary rule (``state -> action``, or ``state -> {action:
        probability}``): the solution of ``(I - gamma P) V = R``, by fraction-free
        Gauss-Jordan elimination over the integer polynomials (each row first cleared of
        its denominators; every division exact: Bareiss' identity).

        Raises
        ------
        ParameterError
            When the system is singular for every value of the parameters (``gamma`` = 1
            and a cycle), as the SymPy path reports it.
        """
        states = self.mdp.states
        idx = {s: i for i, s in enumerate(states)}
        n = len(states)
        rows = []
        for s in states:
            i = idx[s]
            A = [self.zero] * (n + 1)
            A[i] = self.one
            choice = rule[s] if isinstance(rule[s], Mapping) else {rule[s]: Fraction(1)}
            for a, pa in choice.items():
                pa = self.of(self.K.from_sympy(as_sympy(pa)))
                for s2, p, r in self.rows[(s, a)]:
                    pp = self.mul(pa, p)
                    A[idx[s2]] = self.add(A[idx[s2]], self.neg(self.mul(self.gamma, pp)))
                    A[n] = self.add(A[n], self.mul(pp, r))
            rows.append(self._integral(A))
        prev = self.poly.one
        for k in range(n):
            pivot = next((i for i in range(k, n) if not rows[i][k].is_zero()), None)
            if pivot is None:
                raise ParameterError("the infinite-horizon values are not finite (the "
                                     "system (I - gamma P) V = R is singular); use gamma < 1 "
                                     "or a finite horizon")
            rows[k], rows[pivot] = rows[pivot], rows[k]
            pk = rows[k]
            for i in range(n):
                if i == k:
                    continue
                row, m = rows[i], rows[i][k]
                rows[i] = [(pk[k] * row[j] - m * pk[j]) / prev if j != k else self.poly.zero
                           for j in range(n + 1)]
            prev = pk[k]
        return {s: self._cancel(rows[idx[s]][n], rows[idx[s]][idx[s]]) for s in states}

    def _integral(self, row: list) -> list:
        """A row of fractions times the lcm of its denominators: polynomials."""
        L = self.poly.one
        for _, d in row:
            if not d.is_one():
                L = self.poly.lcm(L, d)
        return [num * (L / den) if not num.is_zero() else self.poly.zero for num, den in row]

    # ---- conditions --------------------------------------------------------------------

    def condition(self, x: tuple, strict: bool):
        """``x > 0`` (``strict``) or ``x >= 0`` as a polynomial relation: the same
        relation :func:`cpspec.core.partition.element_condition` reads off the element of
        ``K`` that ``x`` is."""
        num, den = x
        if num.is_constant() and den.is_constant():
            c = int(num.leading_coefficient()) if not num.is_zero() else 0
            return sympy.true if (c > 0 or (c == 0 and not strict)) else sympy.false
        flip = num.leading_coefficient() < 0     # den's is positive: the product's sign
        degrees = [int(a) + int(b) for a, b in zip(num.degrees(), den.degrees())]
        used = [i for i, d in enumerate(degrees) if d > 0]
        if len(used) == 1 and max(degrees) == 1:     # a x + b > 0 reads x > -b/a
            e = num * den
            if flip:
                e = -e
            terms = dict(zip((tuple(map(int, m)) for m in e.monoms()), e.coeffs()))
            unit = tuple(int(i == used[0]) for i in range(len(degrees)))
            a = int(terms[unit])
            b = int(terms.get((0,) * len(degrees), 0))
            return sign_relation(self.gens[used[0]], -sympy.Rational(b, a), flip, strict)
        factors = []
        for part in (num, den):
            if not part.is_constant():
                factors += [factor_expression(self.poly.ring_element(f)) ** int(k)
                            for f, k in part.factor()[1]]
        return sign_relation(sympy.Mul(*factors), sympy.Integer(0), flip, strict)

    def tie_conditions(self, rule: Mapping, V: Mapping) -> tuple:
        """The conditions under which each state's action of ``rule`` stays optimal
        given the values ``V`` after the step (:func:`cpspec.core.partition.tie_rule`:
        ties go to the action declared first)."""
        conds: list = []
        for s in self.mdp.states:
            qb = self.q(s, rule[s], V)
            conds += tie_rule(rule[s], self.mdp.actions,
                              lambda a: self.add(qb, self.neg(self.q(s, a, V))),
                              read=self.condition)
        return tuple(conds)


def _signed(num, den) -> tuple:
    """``num / den`` with the denominator's leading coefficient positive (lex order)."""
    if den.leading_coefficient() < 0:
        return -num, -den
    return num, den

