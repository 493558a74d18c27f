"""Symbolic versus simulated: does the exact answer agree with a seeded simulation?

The comparison uses Hoeffding's inequality, which needs no assumption on the distribution
beyond a bounded range: with ``n`` independent samples of a quantity in ``[a, b]``,
``P(|mean - E| > (b - a) * sqrt(ln(2 / delta) / (2 n))) <= delta``. The exact value and
the range ``[a, b]`` both come from exact inference, so the bound is rigorous; with
``confidence = 1 - delta`` a correct exact value is rejected with probability at most
``delta`` (and, the run being seeded, reproducibly so).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, Mapping

import numpy as np

from ..core.diagram import Diagram
from ..errors import DistributionError, QueryError
from .exact import E, P, joint_weights
from ..core.expressions import Expr
from ..core.functions import as_sympy, show, to_exact
from .sampling import parameters_of, evaluate_samples, retarget, simulate

__all__ = ["CrossCheck", "crosscheck", "hoeffding_bound"]


def hoeffding_bound(span: float, n: int, confidence: float) -> float:
    """The half-width ``t`` with ``P(|mean - E| >= t) <= 1 - confidence`` for ``n``
    independent samples of a quantity whose range has width ``span`` (Hoeffding):
    ``span * sqrt(log(2 / (1 - confidence)) / (2 n))``.

    >>> round(hoeffding_bound(1, 20_000, 0.999), 5)
    0.01378
    """
    return span * math.sqrt(math.log(2 / (1 - confidence)) / (2 * n))


@dataclass(frozen=True, slots=True)
class CrossCheck:
    """The outcome of comparing an exact value with a simulated estimate."""

    query: str
    exact: Any
    estimate: float
    bound: float
    n: int
    seed: int
    confidence: float
    agrees: bool

    def __str__(self) -> str:
        verdict = "agrees" if self.agrees else "DISAGREES"
        return (f"{self.query}: exact {self.exact} = {float(self.exact):.6g}, simulated "
                f"{self.estimate:.6g} +- {self.bound:.3g} ({self.confidence:.4g} confidence, "
                f"n={self.n}, seed={self.seed}): {verdict}")


def crosscheck(diagram: Diagram, query: Expr, n: int = 20_000, seed: int = 0,
               confidence: float = 0.999, given: Expr | None = None,
               params: Mapping[str, Any] | None = None, claimed: Any = None) -> CrossCheck:
    """Compare the exact value of ``query`` with its estimate from ``n`` seeded samples.

    An event is checked through ``P``, any other expression through ``E``. Symbolic
    parameters must be given values in ``params``. With ``claimed``, that value (a
    hand-derived one, say) is compared with the simulation instead of cpspec's own.

    Examples
    --------
    >>> import cpspec as cp
    >>> f = cp.world("f", G=cp.uniform(range(1, 7)), R=cp.uniform(range(1, 7)),
    ...              S=cp.fn(lambda G, R: G + R))
    >>> r = cp.crosscheck(f, f.S, n=20000, seed=3)
    >>> r.exact, r.agrees
    (7, True)
    """
    if isinstance(confidence, bool) or not isinstance(confidence, Real) \
            or not 0 < confidence < 1:  # also refuses nan
        raise QueryError(f"confidence must be a number strictly between 0 and 1, got "
                         f"{show(confidence)}")
    # checked before the exact value is derived, which may take a while
    if isinstance(n, bool) or not isinstance(n, Integral) or n <= 0:
        raise QueryError(f"crosscheck needs a positive integer number of samples, got "
                         f"n={show(n)}")
    if isinstance(seed, bool) or not isinstance(seed, Integral) or seed < 0:
        raise QueryError(f"crosscheck needs a non-negative integer seed, got "
                         f"seed={show(seed)}")
    if claimed is not None:
        try:
            claimed = as_sympy(to_exact(claimed, what="claimed value"))
        except DistributionError as exc:
            raise QueryError(str(exc)) from None
        if getattr(claimed, "free_symbols", None):
            raise QueryError(f"claimed value {claimed} has free parameters; give a number")
    if not isinstance(query, Expr) or query.worlds() - {diagram.name} or (
            given is not None and given.worlds() - {diagram.name}):
        raise QueryError(f"crosscheck({diagram.name!r}, {query!r}): the query must read "
                         f"variables of world {diagram.name!r} only")
    if params:
        diagram = diagram.bind(**parameters_of(params))
    query = retarget(query, diagram)
    given = retarget(given, diagram) if given is not None else None
    if diagram.free_symbols():
        raise QueryError(f"world {diagram.name!r} has free parameters "
                         f"{sorted(s.name for s in diagram.free_symbols())}; pass params=")
    exact = (P if query.is_event else E)(query, given=given) if claimed is None else claimed
    acc, _, _ = joint_weights(query, given, None, "E")
    support = [float(v) for v in acc]
    lo, hi = min(support), max(support)
    samples = simulate(diagram, n, seed)
    vals = np.asarray(evaluate_samples(query, samples, diagram.name), dtype=float)
    vals = np.broadcast_to(vals, (n,))
    if given is not None:
        mask = np.broadcast_to(np.asarray(evaluate_samples(given, samples, diagram.name),
                                          dtype=bool), (n,))
        vals = vals[mask]
    m = len(vals)
    if m == 0:
        raise QueryError(f"no sample out of {n} satisfied {given}; raise n")
    estimate = float(vals.mean())
    bound = hoeffding_bound(hi - lo, m, confidence)
    agrees = abs(estimate - float(exact)) <= bound + 1e-12
    label = f"{'P' if query.is_event else 'E'}({query}" + (f" | {given})" if given is not None else ")")
    return CrossCheck(label, exact, estimate, bound, m,
                      seed, confidence, agrees)
