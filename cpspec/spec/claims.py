"""Claims: one ``"query" = "expected"`` line of ``[claims]`` each, checked by deriving
the query (:func:`cpspec.spec.queries.derive`), reading the expected value, and comparing
the two exactly (:func:`cpspec.spec.equality.values_equal`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy

from ..core.functions import as_sympy
from ..errors import SpecError, SpecFileError
from .base import Claim, Spec, brief, internal_error, show
from .equality import values_equal
from .queries import Solutions, derive
from .safeexpr import parse

__all__ = ["ClaimResult", "check_claims", "expected_value"]


@dataclass(frozen=True, slots=True)
class ClaimResult:
    """The outcome of checking one claim. ``internal`` marks an error inside cpspec (a
    bug to report) rather than in the spec file."""

    claim: Claim
    passed: bool
    derived: Any = None
    expected: Any = None
    error: str | None = None
    internal: bool = False

    def __str__(self) -> str:
        if self.error:
            head = "INTERNAL ERROR" if self.internal else "ERROR"
            return f"{head} {self.claim.query}: {self.error}"
        mark = "PASS " if self.passed else "FAIL "
        tail = "" if self.passed else f", expected {show(self.expected)}"
        return f"{mark} {self.claim.query} = {show(self.derived)}{tail}"


def check_claims(spec: Spec, solutions: Solutions | None = None) -> list[ClaimResult]:
    """Every claim on its own: an error in one (a cpspec error, or an exception from
    inside cpspec) is that claim's result, and the others are still checked. The claims
    share ``solutions`` (default: one new :class:`~cpspec.spec.queries.Solutions`), so
    each model is solved once.

    >>> from cpspec.spec.loader import load
    >>> spec = load("w.toml", text='[world.w.node.X]\\nfn = "2"\\n[claims]\\n"E(X_w)" = "2"\\n')
    >>> [str(r) for r in check_claims(spec)]
    ['PASS  E(X_w) = 2']
    """
    sols = Solutions(spec) if solutions is None else solutions
    results = []
    for claim in spec.claims:
        try:
            derived = derive(spec, claim.query, claim.where, solutions=sols)
            expected = expected_value(spec, claim)
            try:
                same = values_equal(derived, expected)
            except TypeError as exc:  # e.g. SymPy: "Invalid comparison of non-real I"
                raise SpecFileError(f"{claim.where}: cannot compare {show(derived)} with the "
                                    f"expected {show(expected)}: {exc}; write an expected "
                                    "value that is real for every value of the parameters") \
                    from None
        except SpecError as exc:
            results.append(ClaimResult(claim, False, error=str(exc)))
            continue
        except Exception as exc:
            results.append(ClaimResult(claim, False, error=internal_error(exc),
                                       internal=True))
            continue
        results.append(ClaimResult(claim, same, derived, expected))
    return results


def expected_value(spec: Spec, claim: Claim) -> Any:
    """The value a claim expects: true/false, a bare word (an action name) as a string,
    or an exact expression in the parameters (``x if cond else y`` of action names becomes
    a piecewise expression of symbols)."""
    raw = claim.expected
    if isinstance(raw, bool):
        return raw
    if not isinstance(raw, (str, int)):
        raise SpecFileError(f'{claim.where}: the expected value must be a string such as '
                            f'"1/36", an integer or true/false, not {brief(raw)}')
    e = parse(raw, claim.where + " (expected value)")
    if isinstance(raw, str) and raw.strip().isidentifier() and raw.strip() not in spec.params:
        return raw.strip()  # a bare word such as an action name is compared as a string
    words = {n for n in e.names if n not in spec.params}
    env: dict[str, Any] = dict(spec.params)
    env.update({w: sympy.Symbol(w) for w in words})  # action names inside if-else
    out = e.evaluate(env, {}, relational_if=True)
    return as_sympy(out)
