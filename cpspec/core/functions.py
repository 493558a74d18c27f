"""Structural functions: what a node of a diagram computes from its parents.

A node is annotated with a structural function, as in the paper:

* deterministic, ``X = f_X(parents)``: :func:`fn`, :func:`const`;
* nondeterministic (drawn ``[f_X]``), ``P(X = x | parents) = f_X(x, parents)``:
  :func:`dist`, :func:`uniform`, :func:`bernoulli`;
* in influence diagrams, a decision node (:func:`decision`, chosen by a policy) and a
  utility node (:func:`utility`, deterministic, the agent's reward).

Probabilities are exact: ``int``, :class:`fractions.Fraction`, a string such as ``"1/6"``,
or a SymPy expression (possibly in symbolic parameters such as ``p``). A ``float``
probability is refused: ``0.1`` is not one tenth, and exact answers need exact inputs.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import math
import re
import sys
import unicodedata
from dataclasses import dataclass, replace as _dc_replace
from fractions import Fraction
from numbers import Rational as _RationalABC
from typing import Any, Callable, Literal, Mapping

import numpy as np
import sympy

from ..errors import DistributionError, DomainError, FunctionError, SpecError

__all__ = ["call_user", "bounded_tuple", "check_distribution", 
    "StructuralFunction",
    "fn",
    "dist",
    "uniform",
    "const",
    "bernoulli",
    "decision",
    "utility",
    "to_exact",
    "normalize_name",
    "required_arity",
    "MAX_DOMAIN_SIZE",
    "polynomial_expr",
]

#: Largest number of values a node's declared domain (``cp.uniform``, ``cp.dist``,
#: ``cp.decision``) may have. Exact inference tabulates every value, so a larger domain
#: is refused up front; raise this (``cpspec.core.functions.MAX_DOMAIN_SIZE = ...``) if the
#: memory and time are really there.
MAX_DOMAIN_SIZE = 1_000_000

Kind = Literal["chance", "decision", "utility"]


#: The order SymPy sorts a product's factors (and a sum's terms) in.
_CANONICAL = functools.cmp_to_key(sympy.Basic.compare)


def polynomial_expr(poly, gens, den: int = 1):
    """``poly.as_expr() / den``, the same SymPy expression, for a polynomial ring element
    with integer coefficients in symbol generators ``gens``, built several times faster:
    each term (a rational coefficient times powers of distinct symbols) is assembled once
    in the order ``Mul`` gives it (the coefficient first, unless it is 1; the powers
    sorted with ``Basic.compare``), and the terms are sorted once with ``Basic.compare``
    after the constant, as ``Add`` orders them, instead of SymPy's general constructors
    working out every term's assumptions.

    >>> import sympy
    >>> p, q = sympy.symbols("p q")
    >>> R, x, y = sympy.ring("p q", sympy.ZZ)
    >>> f = 3 * x**2 * y - y + 4
    >>> polynomial_expr(f, (p, q)), polynomial_expr(f, (p, q)) == f.as_expr()
    (3*p**2*q - q + 4, True)
    """
    constant, terms = [], []
    for monom, coeff in poly.iterterms():
        c = sympy.Rational(int(coeff), den)
        factors = [sympy.Pow(g, m) for g, m in zip(gens, monom) if m]
        if not factors:
            constant.append(c)
            continue
        factors.sort(key=_CANONICAL)
        if c is not sympy.S.One:
            factors.insert(0, c)
        terms.append(factors[0] if len(factors) == 1 else sympy.Mul._from_args(factors, True))
    terms.sort(key=_CANONICAL)
    args = constant + terms
    if not args:
        return sympy.S.Zero
    return args[0] if len(args) == 1 else sympy.Add._from_args(args, True)


def show(x: Any) -> str:
    """``repr(x)`` for an error message; numbers too long for Python's int-to-str limit
    are summarised instead of raising ``ValueError`` while the message is formatted."""
    try:
        return str(x) if isinstance(x, (Fraction, sympy.Basic)) else repr(x)
    except ValueError:  # int -> str beyond sys.get_int_max_str_digits()
        if isinstance(x, sympy.Rational):
            x = Fraction(int(x.p), int(x.q))
        if isinstance(x, Fraction):
            x = abs(x.numerator) if abs(x.numerator) >= x.denominator else x.denominator
        bits = int(x).bit_length() if isinstance(x, int) else 0
        digits = f"about {int(bits * math.log10(2)) + 1} digits" if bits else "many digits"
        return f"<a number of {digits}>"


def is_inexact(x: Any) -> bool:
    """True for floating-point and complex numbers: Python's, NumPy's (``np.float32``,
    ``np.float16``, ... are not ``float`` subclasses) and SymPy ``Float``s."""
    if isinstance(x, (float, complex, np.floating, np.complexfloating)):
        return True
    return isinstance(x, sympy.Basic) and x.has(sympy.Float)


def _float_advice(x: Any, what: str) -> str:
    try:
        q = Fraction(float(x.real) if isinstance(x, (complex, np.complexfloating))
                     else float(x)).limit_denominator(10**6)
    except (ValueError, OverflowError, TypeError):  # nan, inf
        return (f"{what} {x!r} is not a finite exact number; exact inference needs exact "
                "numbers: int, Fraction(a, b), a string 'a/b' or a sympy.Rational")
    return (f"{what} {x!r} is a float ({type(x).__name__}); exact inference needs exact "
            f"numbers: write Fraction({q.numerator}, {q.denominator}) or the string "
            f"'{q}' or sympy.Rational({q.numerator}, {q.denominator}) "
            f"(Fraction({x!r}) would keep the float's binary value)")


def real_form(x: Any) -> Any:
    """``x`` with every parameter of unknown realness replaced by a real dummy of the same
    name: parameters of probabilities, rewards and discounts are real numbers.

    The stand-in is ``Symbol(name, real=True)``, which SymPy builds once and caches, so
    repeated checks of one expression reuse SymPy's cached assumptions (a fresh Dummy
    each time made every check cost milliseconds); a Dummy is used only where another
    parameter already has that name."""
    free = x.free_symbols
    if not free:
        return x
    names = [s.name for s in free]
    subs = {}
    for s in free:
        if isinstance(s, sympy.Symbol) and s.is_real is None:
            subs[s] = sympy.Symbol(s.name, real=True) if names.count(s.name) == 1 \
                else sympy.Dummy(s.name, real=True)
    return x.xreplace(subs) if subs else x


_NUMBER_TEXT = re.compile(r"\s*[+-]?[\d_]*\.?[\d_]*(?:[eE]([+-]?[\d_]+))?\s*(?:/\s*[\d_]+\s*)?")


def _parse_fraction(s: str, what: str) -> Fraction:
    """``Fraction(s)``, refusing texts whose value would take unbounded time to build
    (``'1e-400000000'`` makes Fraction compute a 400-million-digit power of ten)."""
    limit = sys.get_int_max_str_digits() or 10**6
    m = _NUMBER_TEXT.fullmatch(s)
    if m and m.group(1) and abs(int(m.group(1).replace("_", ""))) > limit:
        raise DistributionError(
            f"{what} {s[:40]!r}: its exponent {m.group(1)} has more than {limit} digits "
            "(Python's sys.get_int_max_str_digits()); write the number as 'a/b', or raise "
            "the limit with sys.set_int_max_str_digits")
    try:
        return Fraction(s.strip())
    except ZeroDivisionError:
        raise DistributionError(f"{what} {s[:40]!r} divides by zero") from None
    except ValueError as exc:
        if "digits" in str(exc):  # Python's int-to-str conversion limit
            raise DistributionError(
                f"{what} {s[:40]!r}... has more digits than Python's limit "
                f"sys.get_int_max_str_digits() = {limit}; raise it with "
                "sys.set_int_max_str_digits, or shorten the number") from None
        raise DistributionError(
            f"{what} {s[:40]!r} is not an exact number; write it as 'a/b' or pass a "
            "SymPy expression for a symbolic value") from None


def to_exact(x: Any, what: str = "value") -> Any:
    """Return ``x`` as an exact number: a :class:`Fraction` when rational, else a SymPy expr.

    Non-numbers (strings, tuples, booleans used as labels) are returned unchanged by
    :func:`exact_value`; this function is for quantities that must be numbers. Numbers are
    real: a SymPy expression that is not real for any real value of its parameters
    (``sympy.I``, ``sqrt(-1 - p**2)``) is refused.

    Raises
    ------
    DistributionError
        for floats (Python's and NumPy's), complex numbers, and things that are not
        numbers.

    Examples
    --------
    >>> to_exact(3), to_exact("1/6"), to_exact(sympy.Rational(1, 3))
    (Fraction(3, 1), Fraction(1, 6), Fraction(1, 3))
    >>> to_exact(sympy.sqrt(2))
    sqrt(2)
    """
    if isinstance(x, bool):
        return Fraction(int(x))
    if isinstance(x, Fraction):
        return x
    if isinstance(x, int):
        return Fraction(x)
    if isinstance(x, (float, np.floating)):
        raise DistributionError(_float_advice(x, what))
    if isinstance(x, (complex, np.complexfloating)):
        raise DistributionError(
            f"{what} {x!r} is a complex number; probabilities, rewards and parameters are "
            "real: give an exact real number (int, Fraction(a, b), 'a/b', sympy.Rational)")
    if isinstance(x, str):
        return _parse_fraction(x, what)
    if isinstance(x, sympy.Basic):
        if isinstance(x, sympy.Rational):
            return Fraction(int(x.p), int(x.q))
        if isinstance(x, sympy.Float) or (isinstance(x, sympy.Expr) and x.has(sympy.Float)):
            raise DistributionError(
                f"{what} {show(x)} contains a floating-point number; use sympy.Rational "
                "for exact inference")
        if isinstance(x, sympy.Expr):
            if real_form(x).is_extended_real is False:
                free = sorted(s.name for s in x.free_symbols)
                where = f" for every real value of {', '.join(free)}" if free else ""
                raise DistributionError(
                    f"{what} {show(x)} is not a real number{where}; probabilities, rewards "
                    "and parameters are real numbers")
            return x
    if isinstance(x, _RationalABC):  # e.g. gmpy2.mpq, numpy integers
        return Fraction(int(x.numerator), int(x.denominator))
    raise DistributionError(f"{what} {show(x)} is not a number (type {type(x).__name__})")


def check_probability(p: Any, what: str) -> Any:
    """``p`` (already exact) if it can lie in [0, 1]; a probability that is negative, or
    above 1, for every real value of its parameters is refused. One that leaves [0, 1]
    only for some values is kept: binding the parameters checks it again and names the
    values for which it is a probability."""
    if isinstance(p, Fraction):
        if p < 0:
            raise DistributionError(f"{what} is {show(p)}, which is negative, outside "
                                    "[0, 1]; probabilities lie in [0, 1]")
        if p > 1:
            raise DistributionError(f"{what} is {show(p)}, which is above 1, outside "
                                    "[0, 1]; probabilities lie in [0, 1]")
        return p
    r = real_form(p)
    free = sorted(s.name for s in p.free_symbols)
    always = f" for every real value of {', '.join(free)}" if free else ""
    if r.is_extended_negative:
        raise DistributionError(f"{what} is {show(p)}, which is negative{always}, "
                                "outside [0, 1]; probabilities lie in [0, 1]")
    if (r - 1).is_extended_positive:
        raise DistributionError(f"{what} is {show(p)}, which is above 1{always}, "
                                "outside [0, 1]; probabilities lie in [0, 1]")
    return p


def probability_region(p: Any) -> str | None:
    """For a probability in one parameter, the values of that parameter for which it lies
    in [0, 1], as text (``'0 <= p <= 1/2'``); ``None`` when not one parameter or when
    SymPy cannot say."""
    if not isinstance(p, sympy.Expr) or len(p.free_symbols) != 1:
        return None
    x = next(iter(p.free_symbols))
    xr = sympy.Dummy(x.name, real=True)
    e = p.xreplace({x: xr})
    try:
        region = (sympy.solve_univariate_inequality(e >= 0, xr, relational=False)
                  & sympy.solve_univariate_inequality(e <= 1, xr, relational=False))
    except (NotImplementedError, ValueError, TypeError):  # SymPy cannot solve this one
        return None
    return _show_set(region, x.name)


def _show_set(region: Any, name: str) -> str:
    """A set of real numbers as inequalities: ``0 <= p <= 1/2 or p = 1``."""
    if region is sympy.S.EmptySet:
        return f"no real value of {name}"
    if isinstance(region, sympy.Union):
        return " or ".join(_show_set(part, name) for part in region.args)
    if isinstance(region, sympy.FiniteSet):
        return " or ".join(f"{name} = {v}" for v in region)
    if isinstance(region, sympy.Interval):
        lo = "" if region.start.is_infinite else \
            f"{region.start} {'<' if region.left_open else '<='} "
        hi = "" if region.end.is_infinite else \
            f" {'<' if region.right_open else '<='} {region.end}"
        return f"{lo}{name}{hi}" if lo or hi else f"every real {name}"
    return str(region)


def normalize_name(name: Any, what: str = "name") -> str:
    """A name as Python reads an identifier: NFKC-normalised, so that ``'Ｇ'`` (full
    width) and ``'G'``, or ``'ﬁ'`` and ``'fi'``, are the same name, as they are in a
    lambda's argument list.

    >>> normalize_name("Ｇ"), normalize_name("ﬁx")
    ('G', 'fix')
    """
    if not isinstance(name, str):
        raise SpecError(f"{what} {show(name)} is not a string; names are strings such as 'X'")
    return name if name.isascii() else unicodedata.normalize("NFKC", name)


def required_arity(f: Callable) -> int | None:
    """The number of positional parameters of ``f`` without defaults (what cpspec passes
    to a user's function), or ``None`` when it cannot be read (builtins) or ``f`` takes
    ``*args``. Parameters with defaults (``lambda s, q0=q0: ...``) are never filled.

    >>> q0 = 1
    >>> required_arity(lambda s, q0=q0: s), required_arity(lambda t, s: s)
    (1, 2)
    """
    try:
        sig = inspect.signature(f)
    except (TypeError, ValueError):
        return None
    n = 0
    for prm in sig.parameters.values():
        if prm.kind is prm.VAR_POSITIONAL:
            return None
        if prm.kind in (prm.POSITIONAL_ONLY, prm.POSITIONAL_OR_KEYWORD) \
                and prm.default is prm.empty:
            n += 1
    return n


def hashable(value: Any, what: str) -> Any:
    """``value`` if it is hashable; else a :class:`DomainError` saying what to use."""
    try:
        hash(value)
    except TypeError:
        fix = {"list": "a tuple", "set": "a frozenset", "dict": "a tuple of pairs or "
               "cp.State(...)"}.get(type(value).__name__, "a hashable value")
        raise DomainError(f"{what}: {show(value)} is unhashable (type "
                          f"{type(value).__name__}); values are dictionary keys, so use "
                          f"{fix} instead") from None
    return value


def exact_label(value: Any, what: str) -> Any:
    """A node value: hashable, and not a float (``0.1`` is not one tenth; values are
    compared and added exactly). Strings, tuples and other labels pass unchanged."""
    hashable(value, what)
    if is_inexact(value):
        raise DomainError(f"{what}: {show(value)} is a floating-point or complex number; "
                          "values must be exact: use int, Fraction(a, b), sympy.Rational "
                          "or a string label")
    return value


def bounded_tuple(items: Any, limit: int, refuse: Callable[[int | None], Exception]
                  ) -> tuple:
    """``tuple(items)``, refusing more than ``limit`` items before they are all built
    (``range(10**9)`` is refused at once): ``refuse(n)`` makes the error, with the size
    ``n`` when it is known beforehand (else None).

    >>> bounded_tuple(range(3), 5, lambda n: ValueError(n))
    (0, 1, 2)
    """
    try:
        size = len(items)
    except TypeError:
        size = None
    if size is not None and size > limit:
        raise refuse(size)
    out = tuple(itertools.islice(iter(items), limit + 1))
    if len(out) > limit:
        raise refuse(None)
    return out


def _collect_values(values: Any, who: str) -> tuple:
    """``tuple(values)`` for a node's domain, at most :data:`MAX_DOMAIN_SIZE` values."""
    def refuse(n):
        return DomainError(
            f"{who}: {n if n is not None else 'more than ' + str(MAX_DOMAIN_SIZE)} values, "
            f"above cpspec.core.functions.MAX_DOMAIN_SIZE = {MAX_DOMAIN_SIZE}; exact "
            "inference tabulates every value, so shrink the domain (or raise the limit)")
    if not hasattr(values, "__iter__"):
        raise DomainError(f"{who} needs a collection of values (a list, a range), got "
                          f"{show(values)}")
    return bounded_tuple(values, MAX_DOMAIN_SIZE, refuse)


def number_to_sympy(x: Any, what: str = "value") -> Any:
    """An exact number as a SymPy object; anything else (a string above all) raises
    ``TypeError``. Never parses text: spec-file strings must not reach ``sympify``."""
    if isinstance(x, bool):
        return sympy.Integer(int(x))
    if isinstance(x, (int, Fraction)):
        return as_sympy(x)
    if isinstance(x, sympy.Basic):
        return x
    if isinstance(x, _RationalABC):
        return sympy.Rational(int(x.numerator), int(x.denominator))
    raise TypeError(f"{what} {x!r} is not a number")


def as_sympy(x: Any) -> Any:
    """Exact number (Fraction or int or SymPy) -> SymPy; other values unchanged."""
    if isinstance(x, bool):
        return x
    if isinstance(x, Fraction):
        return sympy.Rational(x.numerator, x.denominator)
    if isinstance(x, int):
        return sympy.Integer(x)
    return x


def call_user(f: Callable, *args, what: str, fix: str | Callable[[], str] = "") -> Any:
    """Call a user's function ``f(*args)`` the way every cpspec entry point does: a cpspec
    error passes through; any other exception becomes a :class:`FunctionError` that says
    ``what`` raised what, and the ``fix``: never a deep traceback. ``KeyboardInterrupt``
    and other non-``Exception`` signals pass untouched. ``fix`` may be a callable giving
    the text, so that a message is formatted only when it is needed (tabulating calls
    this once per parent assignment).

    >>> call_user(lambda x: 1 / x, 0, what="f(0)", fix="make it total")
    Traceback (most recent call last):
    ...
    cpspec.errors.FunctionError: f(0) raised ZeroDivisionError: division by zero; make it total
    """
    try:
        return f(*args)
    except SpecError:
        raise
    except Exception as exc:  # a user's function: report, never a deep traceback
        fix = fix() if callable(fix) else fix
        raise FunctionError(f"{what} raised {type(exc).__name__}: {exc}"
                            + (f"; {fix}" if fix else "")) from None


@dataclass(frozen=True, slots=True)
class StructuralFunction:
    """A node's annotation: its kind, its callable or table, and its parents.

    ``impl`` is a callable of the parent values (positionally, in ``parents`` order) that
    returns the value (deterministic) or a mapping value -> probability (random), or for
    a parentless random node possibly the mapping itself. ``parents`` is ``None`` until
    read from the callable's argument names. ``label`` is the name drawn above the node
    (``pi``, ``S``, ``R``); nodes sharing a label share one input parameter.
    """

    kind: Kind
    random: bool
    impl: Any
    parents: tuple[str, ...] | None = None
    values: tuple | None = None
    label: str | None = None
    weight: Any = 1
    discount: tuple | None = None   # utility nodes: (gamma, t) when weight = gamma**t

    def resolve_parents(self, node: str) -> tuple[str, ...]:
        """The parent names: explicit ones, else the callable's argument names.

        Only the parameters without defaults are parents: ``lambda X, q0=q0: ...`` reads
        ``X`` (a default argument is the usual way to capture a value in a lambda).
        ``*args``, ``**kwargs`` and keyword-only parameters without defaults cannot be
        filled positionally, so they need ``parents=[...]``.
        """
        if self.parents is not None:
            return self.parents
        if not callable(self.impl):
            return ()
        try:
            sig = inspect.signature(self.impl)
        except (TypeError, ValueError):
            raise FunctionError(
                f"node {node!r}: cannot read the parents from {self.impl!r}; "
                "pass them with parents=[...]") from None
        names = []
        for prm in sig.parameters.values():
            if prm.kind is prm.VAR_POSITIONAL:
                raise FunctionError(
                    f"node {node!r}: the function takes *{prm.name}, so its parents "
                    "cannot be read from its argument names; pass parents=[...] (they "
                    "are passed positionally, in that order)")
            if prm.kind is prm.VAR_KEYWORD:
                raise FunctionError(
                    f"node {node!r}: the function takes **{prm.name}, but parents are "
                    "passed positionally, never by keyword; name them as arguments "
                    "(lambda X, Y: ...) or pass parents=[...]")
            if prm.default is not prm.empty:
                continue  # a captured value (lambda X, q0=q0: ...), not a parent
            if prm.kind is prm.KEYWORD_ONLY:
                raise FunctionError(
                    f"node {node!r}: keyword-only argument {prm.name!r} has no default; "
                    "parents are passed positionally, so make it a positional argument "
                    "(or give it a default)")
            names.append(prm.name)
        return _parents(names)

    def with_label(self, label: str) -> "StructuralFunction":
        """A copy carrying the shared-annotation name ``label``."""
        return _dc_replace(self, label=label)

    def distribution(self, node: str, args: tuple) -> dict:
        """The distribution of the node given parent values ``args``: value -> exact prob.

        Raises
        ------
        FunctionError
            when the user's callable raises or returns something unusable.
        DistributionError
            when the returned probabilities do not form a distribution.
        """
        if self.kind == "decision":
            raise FunctionError(
                f"node {node!r} is a decision node: it has no distribution until a policy "
                "is chosen; solve the diagram (cp.solve) or replace the node with a policy "
                f"(diagram.replace(name, {node}=cp.fn(policy)))")
        if callable(self.impl):
            out = call_user(self.impl, *args,
                            what=f"node {node!r}: its structural function",
                            fix=lambda: f"for parent values {_show_args(args)}; make it "
                                        "total on the parents' domains")
        else:
            out = self.impl
        if not self.random:
            try:
                hash(out)
            except TypeError:
                raise FunctionError(
                    f"node {node!r}: its function returned the unhashable value {show(out)} "
                    f"for parent values {_show_args(args)}; return a hashable value "
                    "(a tuple instead of a list, a frozenset instead of a set)") from None
            if is_inexact(out):
                raise FunctionError(
                    f"node {node!r}: its function returned the floating-point or complex "
                    f"number {show(out)} ({type(out).__name__}) for parent values "
                    f"{_show_args(args)}; use int, Fraction or SymPy values")
            return {_norm_value(out): Fraction(1)}
        return check_distribution(node, out, args)


def _show_args(args: tuple) -> str:
    return "(" + ", ".join(show(a) for a in args) + ")" if args else "(no parents)"


def _norm_value(v: Any) -> Any:
    """Values are kept as given, except that SymPy and NumPy integers become ints (one
    key per value)."""
    if isinstance(v, (bool, str)):
        return v
    if isinstance(v, sympy.Integer):
        return int(v)
    if isinstance(v, sympy.Rational):
        return Fraction(int(v.p), int(v.q))
    if isinstance(v, np.generic):
        if isinstance(v, np.bool_):
            return bool(v)
        if isinstance(v, np.integer):
            return int(v)
    return v


def _checked_rational_row(out: dict) -> dict | None:
    """The common row, checked in integer arithmetic: int or str values, Fraction
    probabilities that are >= 0 and sum to 1 (then each is <= 1). ``None`` for anything
    else, which :func:`check_distribution` checks (and explains) the general way."""
    den = 1
    for v, p in out.items():
        if type(p) is not Fraction or (type(v) is not int and type(v) is not str):
            return None
        den = math.lcm(den, p.denominator)
    total = 0
    for p in out.values():
        if p.numerator < 0:
            return None
        total += p.numerator * (den // p.denominator)
    if total != den:
        return None
    return {v: p for v, p in out.items() if p.numerator}


def check_distribution(node: str, out: Any, args: tuple) -> dict:
    """The row a random structural function gave for ``args``, checked: a mapping of
    hashable values to exact probabilities in [0, 1] that sum to 1 (else a
    :class:`DistributionError` naming the node and the parent values)."""
    if type(out) is dict:
        row = _checked_rational_row(out)
        if row is not None:
            return row
    if not isinstance(out, Mapping):
        raise DistributionError(
            f"node {node!r}: a random structural function must give a mapping "
            f"value -> probability, got {show(out)} for parent values {_show_args(args)}")
    result: dict = {}
    for value, prob in out.items():
        try:
            hash(value)
        except TypeError:
            raise DistributionError(
                f"node {node!r}: value {show(value)} is unhashable (type "
                f"{type(value).__name__}); use a tuple instead of a list, a frozenset "
                "instead of a set") from None
        if is_inexact(value):
            raise DistributionError(
                f"node {node!r}: value {show(value)} is a floating-point or complex number; "
                "values must be exact: use int, Fraction(a, b), sympy.Rational or a string")
        if type(prob) is Fraction and 0 <= prob <= 1:
            p = prob
        else:
            what = f"node {node!r}: probability of value {show(value)}"
            p = check_probability(to_exact(prob, what=what),
                                  f"{what} (parent values {_show_args(args)})")
        v = _norm_value(value)
        result[v] = result.get(v, Fraction(0)) + p if v in result else p
    total = sum(result.values(), Fraction(0))
    if isinstance(total, Fraction):
        if total != 1:
            raise DistributionError(
                f"node {node!r}: probabilities sum to {show(total)}, not 1, for parent "
                f"values {_show_args(args)}; fix them so they sum to 1")
    else:
        diff = sympy.cancel(sympy.together(as_sympy(total) - 1))
        if diff != 0 and sympy.simplify(diff) != 0:
            raise DistributionError(
                f"node {node!r}: probabilities sum to {sympy.simplify(as_sympy(total))}, "
                f"which cannot be shown to equal 1 (parent values {_show_args(args)}); "
                "write the last probability as 1 minus the others")
    return {v: p for v, p in result.items() if not (isinstance(p, Fraction) and p == 0)}


# ---- constructors -------------------------------------------------------------------

def fn(f: Callable, parents: list[str] | tuple[str, ...] | None = None,
       label: str | None = None) -> StructuralFunction:
    """A deterministic structural function ``X = f(parents)``.

    Parameters
    ----------
    f : callable
        Receives the parent values positionally.
    parents : list of str, optional
        The parent names, in the order ``f`` takes them; default: ``f``'s argument names
        (those without defaults: ``lambda X, k=k: ...`` reads ``X`` only).
    label : str, optional
        Name of the shared input parameter drawn above the node.

    Examples
    --------
    >>> import cpspec as cp
    >>> w = cp.world("w", X=cp.uniform([1, 2]), Y=cp.fn(lambda X: 2 * X))
    >>> cp.E(w.Y)
    3
    """
    if not callable(f):
        raise FunctionError(f"cp.fn needs a callable, got {show(f)}; for a constant use "
                            "cp.const")
    return StructuralFunction("chance", False, f, _parents(parents), None, label)


def dist(table_or_fn: Mapping | Callable, parents: list[str] | tuple[str, ...] | None = None,
         label: str | None = None) -> StructuralFunction:
    """A random structural function: a mapping value -> probability, or a callable of the
    parents returning one.

    Examples
    --------
    >>> import cpspec as cp
    >>> w = cp.world("w", C=cp.dist({"h": "1/3", "t": "2/3"}))
    >>> cp.P(w.C == "h")
    1/3
    >>> w2 = cp.world("w2", X=cp.uniform([0, 1]),
    ...               Y=cp.dist(lambda X: {X: "3/4", 1 - X: "1/4"}))
    >>> cp.P(w2.Y == 1)
    1/2
    """
    if callable(table_or_fn):
        return StructuralFunction("chance", True, table_or_fn, _parents(parents), None, label)
    if not isinstance(table_or_fn, Mapping):
        raise DistributionError(
            f"cp.dist needs a mapping value -> probability or a callable, got "
            f"{show(table_or_fn)}")
    if _parents(parents):
        raise DistributionError(
            "cp.dist with a fixed mapping has no parents; pass a callable of the parents")
    if len(table_or_fn) > MAX_DOMAIN_SIZE:
        raise DomainError(
            f"cp.dist: {len(table_or_fn)} values, above cpspec.core.functions.MAX_DOMAIN_SIZE "
            f"= {MAX_DOMAIN_SIZE}; shrink the domain (or raise the limit)")
    table = check_distribution("<dist>", dict(table_or_fn), ())
    values = tuple(dict.fromkeys(_norm_value(v) for v in table_or_fn))
    return StructuralFunction("chance", True, table, (), values, label)


def uniform(values) -> StructuralFunction:
    """The uniform distribution over a finite, non-empty collection of distinct values
    (at most :data:`MAX_DOMAIN_SIZE`).

    Examples
    --------
    >>> import cpspec as cp
    >>> cp.P(cp.world("d", G=cp.uniform(range(1, 7))).G >= 5)
    1/3
    """
    vals = _collect_values(values, "cp.uniform")
    if not vals:
        raise DistributionError("cp.uniform needs at least one value, got an empty "
                                "collection")
    vals = tuple(_norm_value(exact_label(v, "cp.uniform")) for v in vals)
    if len(set(vals)) != len(vals):
        seen: set = set()
        twice = next(v for v in vals if v in seen or seen.add(v))
        raise DistributionError(f"cp.uniform got the value {show(twice)} more than once; "
                                "list each value once")
    p = Fraction(1, len(vals))
    return StructuralFunction("chance", True, dict.fromkeys(vals, p), (), vals)


def const(value) -> StructuralFunction:
    """The constant structural function (deterministic, no parents).

    Examples
    --------
    >>> import cpspec as cp
    >>> cp.E(cp.world("k", X=cp.const(6)).X)
    6
    """
    value = exact_label(value, "cp.const")
    return StructuralFunction("chance", False, lambda: value, (), (_norm_value(value),))


def bernoulli(p) -> StructuralFunction:
    """1 with probability ``p``, else 0; ``p`` may be a symbol.

    Examples
    --------
    >>> import cpspec as cp, sympy
    >>> p = sympy.Symbol("p")
    >>> coins = cp.world("c", X=cp.bernoulli(p), Y=cp.bernoulli(p))
    >>> cp.E(coins.X + coins.Y)
    2*p
    """
    q = check_probability(to_exact(p, what="bernoulli probability"),
                          "bernoulli probability")
    return StructuralFunction("chance", True, {1: q, 0: 1 - q if isinstance(q, Fraction)
                                                else sympy.S.One - q}, (), (1, 0))


def decision(values, parents: list[str] | tuple[str, ...] = (),
             label: str | None = None) -> StructuralFunction:
    """A decision node (drawn as a square): its value is chosen by a policy from
    ``values``, seeing the ``parents`` (its information set).

    Examples
    --------
    >>> import cpspec as cp
    >>> cp.decision(["wait", "take"], parents=["S"]).kind
    'decision'
    """
    vals = tuple(_norm_value(exact_label(v, "cp.decision"))
                 for v in _collect_values(values, "cp.decision"))
    if not vals or len(set(vals)) != len(vals):
        raise DistributionError(f"a decision needs distinct actions, got {show(vals)}")
    return StructuralFunction("decision", False, None, _parents(parents) or (), vals, label)


def utility(f: Callable, parents: list[str] | tuple[str, ...] | None = None,
            label: str | None = None, weight: Any = 1, discount: tuple | None = None
            ) -> StructuralFunction:
    """A utility node (drawn as a diamond): a deterministic numeric function of its
    parents. The agent maximises ``U = sum_i weight_i * E(U_i)`` over its utility nodes.

    ``discount=(gamma, t)`` states a reward at time ``t`` discounted by ``gamma``: the
    weight is ``gamma**t``, and a decision compares its actions discounting from its own
    time (its earliest downstream reward), as backward induction on an MDP does. That is
    what decides ties when ``gamma = 0``: later rewards then weigh nothing from the
    start, yet each later decision still maximises its own next reward.

    Examples
    --------
    >>> import cpspec as cp
    >>> cp.utility(lambda A: 1 if A == "take" else 0).kind
    'utility'
    >>> cp.utility(lambda A: 1, discount=("1/2", 3)).weight
    1/8
    """
    if not callable(f):
        raise FunctionError(f"cp.utility needs a callable, got {show(f)}")
    if discount is not None:
        if weight != 1:
            raise SpecError("cp.utility: give weight= or discount=(gamma, t), not both")
        if not (isinstance(discount, tuple) and len(discount) == 2
                and isinstance(discount[1], int) and not isinstance(discount[1], bool)
                and discount[1] >= 0):
            raise SpecError(f"cp.utility: discount={show(discount)} must be (gamma, t) with "
                            "t an int >= 0, e.g. discount=(gamma, 2)")
        g = as_sympy(to_exact(discount[0], what="discount gamma"))
        discount = (g, discount[1])
        weight = g ** discount[1]
    return StructuralFunction("utility", False, f, _parents(parents), None, label,
                              as_sympy(to_exact(weight, what="utility weight")), discount)


def _parents(parents) -> tuple[str, ...] | None:
    """Explicit parent names, checked: strings, each once, NFKC-normalised."""
    if parents is None:
        return None
    if isinstance(parents, str):
        parents = (parents,)
    elif not isinstance(parents, (list, tuple)):
        raise SpecError(f"parents={show(parents)} must be a list of node names, e.g. "
                        "parents=['X', 'Y']")
    out = tuple(normalize_name(p, "parent name") for p in parents)
    if len(set(out)) != len(out):
        seen: set = set()
        twice = next(p for p in out if p in seen or seen.add(p))
        raise SpecError(f"parents={list(parents)!r} name {twice!r} twice (after Unicode "
                        "NFKC normalisation); a node reads each parent once")
    return out
