"""Where a spec file is a model: the values of a parameter for which every symbolic
probability of the file lies in [0, 1].

The loader collects a file's symbolic probabilities while it compiles the file
(``probes``: expression -> (where, what)); :func:`validity_ranges` turns them into the
spec's ``validity``, or an error naming the probability that can never be one (or that
leaves [0, 1] where ``[domains]`` allows).
"""

from __future__ import annotations

import sympy

from ..errors import SpecFileError
from .safeexpr import degree

__all__ = ["MAX_RANGE_CHECKS", "validity_ranges", "unit_range", "describe_set"]


#: At most this many distinct one-parameter probabilities get their exact range computed
#: per file (each takes SymPy a few milliseconds); the solvers check the rest.
MAX_RANGE_CHECKS = 64


def validity_ranges(probes: dict, domains: dict) -> dict:
    """For every parameter, the values for which all its one-parameter probabilities lie
    in [0, 1]: an error when there are none, or when ``[domains]`` allows values outside;
    else the set, when it is not every real number."""
    sets: dict = {}
    done = 0
    for e, (where, what) in probes.items():
        if len(e.free_symbols) != 1 or done >= MAX_RANGE_CHECKS:
            continue
        (x,) = e.free_symbols
        ok = unit_range(e, x)
        if ok is None:
            continue
        done += 1
        if ok is sympy.S.EmptySet:
            raise SpecFileError(f"{where}: {what} = {e} lies outside [0, 1] for every real "
                                f"value of {x}; a probability lies in [0, 1]")
        if x in domains:
            bad = domains[x] - ok
            if bad is not sympy.S.EmptySet:
                raise SpecFileError(
                    f"{where}: {what} = {e} leaves [0, 1] for {x} in {describe_set(bad, x)}, "
                    f"which [domains] allows; narrow [domains] {x} to "
                    f"{describe_set(domains[x] & ok, x)}")
        before = sets.get(x, sympy.S.Reals)
        sets[x] = before & ok
        if sets[x] is sympy.S.EmptySet:
            raise SpecFileError(f"{where}: {what} = {e} needs {x} in {describe_set(ok, x)}, but "
                                f"other probabilities need {x} in {describe_set(before, x)}: no "
                                f"value of {x} makes them all probabilities")
    return {x: s for x, s in sets.items() if s != sympy.S.Reals and x not in domains}


def unit_range(e, x):
    """The set of real ``x`` with ``0 <= e <= 1``, or None when it is not cheap to find."""
    try:
        poly = sympy.Poly(e, x)
    except sympy.PolynomialError:
        poly = None
    try:
        if poly is not None and poly.degree() == 1:
            a, b = (sympy.Rational(c) if c.is_Rational else c for c in poly.all_coeffs())
            lo, hi = sorted([(0 - b) / a, (1 - b) / a], key=lambda v: sympy.N(v, 30))
            return sympy.Interval(lo, hi)
        if degree(e) > 4 or e.has(sympy.Piecewise):
            return None
        return (sympy.solve_univariate_inequality(e >= 0, x, relational=False)
                & sympy.solve_univariate_inequality(e <= 1, x, relational=False))
    except (NotImplementedError, ValueError, TypeError, AttributeError):
        return None


def describe_set(s, x) -> str:
    """A set of values of ``x`` as conditions: ``0 <= p <= 1``, ``p < 0 or 1 < p``.

    >>> import sympy
    >>> p = sympy.Symbol("p")
    >>> describe_set(sympy.Interval(0, 1), p), describe_set(sympy.Interval(0, 1).complement(
    ...     sympy.S.Reals), p)
    ('0 <= p <= 1', 'p < 0 or 1 < p')
    """
    if isinstance(s, sympy.Union):
        return " or ".join(describe_set(part, x) for part in s.args)
    if isinstance(s, sympy.Interval):
        lo = "" if s.start == -sympy.oo else f"{s.start} {'<' if s.left_open else '<='} "
        hi = "" if s.end == sympy.oo else f" {'<' if s.right_open else '<='} {s.end}"
        return f"{lo}{x}{hi}" if lo or hi else f"every real {x}"
    if isinstance(s, sympy.FiniteSet):
        return " or ".join(f"{x} = {v}" for v in s)
    return str(s)
