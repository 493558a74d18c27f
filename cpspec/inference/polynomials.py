"""Polynomial rings for exact inference with symbolic parameters.

A symbolic query's numbers live in a field of rational functions such as ``ZZ(p, q)``
(chosen by SymPy's ``construct_domain``, see :mod:`cpspec.inference.exact`). Variable
elimination multiplies and adds only numerators, polynomials in ``ZZ[p, q]``; the
denominators are scalars, multiplied once and divided out at the end. This module
chooses how those polynomials are represented, behind one small interface
(:class:`PolynomialRing`):

* ``"flint"``: python-flint's ``fmpz_mpoly`` (FLINT's sparse multivariate polynomials
  over the integers, in C) when python-flint is installed (``pip install
  'cpspec[flint]'``) and the field is one of rational functions with integer
  coefficients; a product of two large polynomials is tens of times faster than SymPy's.
* ``"sympy"``: SymPy's own polynomial ring elements otherwise (and for the generic
  ``EX`` domain, whose elements are their own numerators).

Both hand back elements of the same SymPy field, cancelled and signed as SymPy cancels
them, so an answer is the same SymPy expression whichever ring computed it.
"""

from __future__ import annotations

from sympy import Symbol
from sympy.polys.domains import ZZ
from sympy.polys.polyerrors import DomainError

from ..core.functions import polynomial_expr
from ..errors import QueryError

try:  # optional: pip install 'cpspec[flint]'
    import flint
except ImportError:  # pragma: no cover - exercised in the environment without it
    flint = None

__all__ = ["PolynomialRing", "SymPyPolynomials", "FlintPolynomials", "polynomial_ring",
           "has_flint_polynomials", "field_to_sympy", "BACKENDS"]

#: The names :func:`polynomial_ring` accepts for ``backend``.
BACKENDS = ("flint", "sympy")


def _flint_context(n: int):
    """An ``fmpz_mpoly`` context in ``n`` variables, or None without python-flint's
    multivariate polynomials (they came in python-flint 0.7)."""
    if flint is None or not hasattr(flint, "fmpz_mpoly_ctx"):
        return None
    names = tuple(f"x{i}" for i in range(n))
    ctx = flint.fmpz_mpoly_ctx
    if hasattr(ctx, "get"):
        return ctx.get(names, "lex")
    if hasattr(ctx, "get_context"):  # python-flint 0.7
        return ctx.get_context(n, flint.Ordering.lex, names=names)
    return None  # pragma: no cover - an unknown python-flint


def has_flint_polynomials() -> bool:
    """Whether python-flint's multivariate polynomials are available here.

    Examples
    --------
    >>> isinstance(has_flint_polynomials(), bool)
    True
    """
    return _flint_context(1) is not None


class PolynomialRing:
    """The ring whose fractions form a field ``K``: how a factor's numbers are stored
    during elimination.

    A value ``x`` of ``K`` is split into a numerator and a denominator in the ring
    (:meth:`split`); factors hold numerators scaled to one common denominator
    (:meth:`lcm`, :meth:`exquo`), and :meth:`to_field` turns a numerator and a
    denominator back into a cancelled element of ``K``. Ring elements support ``+``,
    ``*`` and truth (non-zero), which is all NumPy's object arrays need.

    Attributes
    ----------
    field : sympy.polys.domains.Domain
        ``K``.
    name : str
        The backend, one of :data:`BACKENDS`.
    zero, one
        The ring's 0 and 1.
    """

    field = None
    name = ""
    zero = None
    one = None

    def split(self, x):
        """``(numerator, denominator)`` of ``x`` (an element of the field)."""
        raise NotImplementedError

    def lcm(self, a, b):
        """A least common multiple of the ring elements ``a`` and ``b``."""
        raise NotImplementedError

    def exquo(self, a, b):
        """``a / b``, which must divide exactly."""
        raise NotImplementedError

    def to_field(self, num, den):
        """``num / den`` as a cancelled element of the field (``den`` non-zero)."""
        raise NotImplementedError


class SymPyPolynomials(PolynomialRing):
    """SymPy's ring of the field ``K`` (``ZZ[p, q]`` for ``ZZ(p, q)``), or ``K`` itself
    when it is not a field of fractions of a ring (``EX``): then every value is its own
    numerator over 1.

    Examples
    --------
    >>> import sympy
    >>> from sympy.polys.constructor import construct_domain
    >>> p = sympy.Symbol("p")
    >>> K = construct_domain([p / 2], field=True)[0]
    >>> R = SymPyPolynomials(K)
    >>> num, den = R.split(K.from_sympy(p / 2))
    >>> K.to_sympy(R.to_field(num * 3, den * 3))
    p/2
    """

    name = "sympy"

    def __init__(self, K):
        self.field = K
        try:
            R = K.get_ring()
        except (DomainError, NotImplementedError, AttributeError):  # no ring (EX)
            R = K
        self.ring = R
        self.zero, self.one = R.zero, R.one

    def split(self, x):
        K = self.field
        if self.ring is K:
            return x, K.one
        return K.numer(x), K.denom(x)

    def lcm(self, a, b):
        return a if self.ring is self.field else self.ring.lcm(a, b)

    def exquo(self, a, b):
        return self.ring.exquo(a, b)

    def to_field(self, num, den):
        K, R = self.field, self.ring
        if R is K:
            return num / den
        return K.convert_from(num, R) / K.convert_from(den, R)


class FlintPolynomials(PolynomialRing):
    """python-flint's ``fmpz_mpoly`` for a field of rational functions with integer
    coefficients (``ZZ(p, q)``): the field's generators become the context's
    variables in order, and polynomials cross between SymPy and FLINT as dicts of
    exponent tuples, never as expressions.

    Raises
    ------
    QueryError
        When python-flint's multivariate polynomials are not installed, or ``K`` is not
        a field of rational functions over ``ZZ``.

    Examples
    --------
    >>> import sympy
    >>> from sympy.polys.constructor import construct_domain
    >>> p = sympy.Symbol("p")
    >>> K = construct_domain([p / 2], field=True)[0]
    >>> if has_flint_polynomials():
    ...     R = FlintPolynomials(K)
    ...     num, den = R.split(K.from_sympy(1 - p))
    ...     g, _ = R.split(K.from_sympy(1 + p))
    ...     print(K.to_sympy(R.to_field(num * g, den * g)))
    ... else:
    ...     print(1 - p)
    1 - p
    """

    name = "flint"

    def __init__(self, K):
        if not _fits_flint(K):
            raise QueryError(f"the flint polynomial backend needs python-flint 0.7 or later "
                             f"(pip install 'cpspec[flint]') and a field of rational "
                             f"functions over ZZ, not {K}; use backend='sympy'")
        self.field = K
        self.sympy_ring = K.field.ring  # the ring of the field's numerators
        self.ctx = _flint_context(len(self.sympy_ring.gens))
        self.zero, self.one = self.ctx.from_dict({}), self.ctx.from_dict(
            {(0,) * self.ctx.nvars(): 1})
        dom = self.sympy_ring.domain  # ZZ over flint, gmpy2 or Python integers
        self._same_integers = isinstance(dom.one, flint.fmpz)

    def split(self, x):
        return self._from_sympy(x.numer), self._from_sympy(x.denom)

    def _from_sympy(self, poly):
        return self.ctx.from_dict({m: int(c) for m, c in poly.items()})

    def ring_element(self, poly):
        """An ``fmpz_mpoly`` as the element of SymPy's polynomial ring (the field's
        numerators) it is."""
        # FLINT's exponents are fmpz: SymPy's monomials are tuples of Python ints
        monoms = [tuple(map(int, m)) for m in poly.monoms()]
        coeffs = poly.coeffs()  # never zero
        if not self._same_integers:
            dom = self.sympy_ring.domain
            coeffs = [dom(int(c)) for c in coeffs]
        terms = dict(zip(monoms, coeffs))
        # new() takes the dict as it is (from_dict would convert every coefficient)
        return self.sympy_ring.zero.new(terms)

    def lcm(self, a, b):
        g = a.gcd(b)
        return (a / g) * b if g != self.one else a * b

    def exquo(self, a, b):
        return a / b

    def to_field(self, num, den):
        K = self.field
        if not num:
            return K.zero
        g = num.gcd(den)  # over ZZ[x]: contents included, leading coefficient > 0
        if g != self.one:
            num, den = num / g, den / g
        p, q = self.ring_element(num), self.ring_element(den)
        if q.LC < 0:  # SymPy's canonical sign: the denominator leads positive
            p, q = -p, -q
        return K.field.raw_new(p, q)


def _fits_flint(K) -> bool:
    return (has_flint_polynomials() and getattr(K, "is_FractionField", False)
            and K.dom == ZZ and hasattr(K, "field"))


def polynomial_ring(K, backend: str | None = None) -> PolynomialRing:
    """The ring in which elimination over the field ``K`` computes.

    Parameters
    ----------
    K : sympy.polys.domains.Domain
        The exact field of a query's probabilities (not ``QQ``, which has its own
        integer path).
    backend : {"flint", "sympy"}, optional
        Force a representation; by default python-flint's when it is installed and
        ``K`` is a field of rational functions over ``ZZ``, else SymPy's.

    Returns
    -------
    PolynomialRing

    Raises
    ------
    QueryError
        For an unknown ``backend``, or ``"flint"`` where it cannot be used.

    Examples
    --------
    >>> import sympy
    >>> from sympy.polys.constructor import construct_domain
    >>> K = construct_domain([sympy.Symbol("p")], field=True)[0]
    >>> polynomial_ring(K, "sympy").name
    'sympy'
    >>> polynomial_ring(K).name == ("flint" if has_flint_polynomials() else "sympy")
    True
    """
    if backend is not None and backend not in BACKENDS:
        raise QueryError(f"backend={backend!r}: expected one of {', '.join(BACKENDS)} "
                         "(or None for the fastest available)")
    if backend == "flint" or (backend is None and _fits_flint(K)):
        return FlintPolynomials(K)
    return SymPyPolynomials(K)


# ---- answers as SymPy expressions ----------------------------------------------------


def field_to_sympy(K, x):
    """``K.to_sympy(x)``: the same SymPy expression, built faster for rational functions
    with integer coefficients in plain symbols.

    SymPy builds each term of a polynomial with the general ``Mul`` constructor (which
    works out the term's assumptions), sums the terms with ``Add``, and divides by an
    integer denominator by distributing it over the sum, which builds and sorts every
    term a second time. Here each term (a rational coefficient, the denominator included,
    times powers of distinct symbols) is assembled once in the order ``Mul`` gives it
    (the coefficient first, unless it is 1; the powers sorted with ``Basic.compare``),
    and the terms are sorted once with ``Basic.compare`` after the constant, as ``Add``
    orders them. Other fields (``QQ``, ``EX``, generators that are not symbols) go to
    ``K.to_sympy``; a polynomial denominator divides as in SymPy.

    Examples
    --------
    >>> import sympy
    >>> from sympy.polys.constructor import construct_domain
    >>> p, q = sympy.symbols("p q")
    >>> K = construct_domain([p * q / 3], field=True)[0]
    >>> x = K.from_sympy(1 - 2 * p**2 * q / 3)
    >>> field_to_sympy(K, x), field_to_sympy(K, x) == K.to_sympy(x)
    (-2*p**2*q/3 + 1, True)
    """
    field = getattr(K, "field", None)
    if not (getattr(K, "is_FractionField", False) and K.dom == ZZ and field is not None
            and all(isinstance(g, Symbol) and g.is_commutative for g in field.symbols)):
        return K.to_sympy(x)
    gens = field.symbols
    num, den = x.numer, x.denom
    if den.is_ground:  # an integer (positive: SymPy cancels so): distributed over num
        return polynomial_expr(num, gens, int(den.LC))
    return polynomial_expr(num, gens) / polynomial_expr(den, gens)
