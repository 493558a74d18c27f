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
from concurrent.futures import Executor
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, Mapping

import numpy as np

from ..core.diagram import Diagram
from ..errors import DistributionError, ExecutorError, QueryError
from ..executors import Lost, run_ordered
from .exact import E, P, joint_weights
from ..core.expressions import Expr
from ..core.functions import as_sympy, show, to_exact
from .sampling import (draw_shard, evaluate_samples, parameters_of, retarget, shard_plan,
                       simulate)

__all__ = ["CrossCheck", "crosscheck", "hoeffding_bound", "shard_sums"]


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
               params: Mapping[str, Any] | None = None, claimed: Any = None,
               executor: Executor | None = None) -> CrossCheck:
    """Compare the exact value of ``query`` with its estimate from ``n`` seeded samples.

    An event is checked through ``P``, any other expression through ``E``. Symbolic
    parameters must be given values in ``params``. With ``claimed``, that value (a
    hand-derived one, say) is compared with the simulation instead of cpspec's own.

    The samples are the shards of :func:`cpspec.inference.sampling.shard_plan` (at most
    ``SHARD_SAMPLES`` each, seeded from ``seed`` alone); each shard returns only its
    count of samples and the sum of the query over them, and the merged counts give the
    same estimate and the same bound whatever ``executor`` runs the shards (a Dask
    ``Client(...).get_executor()``, a process or thread pool; default here).

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
    if params is not None:
        params = parameters_of(params)     # (a mapping checked before its truth is read)
        if params:
            diagram = diagram.bind(**params)
    query = retarget(query, diagram)
    given = retarget(given, diagram) if given is not None else None
    if diagram.free_symbols():
        raise QueryError(f"world {diagram.name!r} has free parameters "
                         f"{sorted(s.name for s in diagram.free_symbols())}; pass params=")
    exact = (P if query.is_event else E)(query, given=given) if claimed is None else claimed
    acc, _, _ = joint_weights(query, given, None, "E")
    support = [float(v) for v in acc]
    lo, hi = min(support), max(support)
    simulate(diagram, 1, seed)  # refuses what cannot be simulated, before any shard
    m, total = 0, 0.0
    for sums in run_ordered(executor, shard_sums, shard_plan(n, seed),
                            (diagram, query, given), what=f"world {diagram.name!r}"):
        if isinstance(sums, Lost):
            raise ExecutorError(f"crosscheck of world {diagram.name!r}: a shard of samples "
                                f"did not come back: {sums.reason}; run again (the same "
                                "seed gives the same estimate)")
        m, total = m + sums[0], total + sums[1]
    if m == 0:
        raise QueryError(f"no sample out of {n} satisfied {given}; raise n")
    estimate = total / m
    bound = hoeffding_bound(hi - lo, m, confidence)
    agrees = abs(estimate - float(exact)) <= bound + 1e-12
    label = f"{'P' if query.is_event else 'E'}({query}" + (f" | {given})" if given is not None else ")")
    return CrossCheck(label, exact, estimate, bound, m,
                      seed, confidence, agrees)


def shard_sums(model: tuple, shard: tuple) -> tuple[int, float]:
    """One shard's share of :func:`crosscheck`: the number of samples that satisfy the
    condition and the sum of the query over them. ``model`` is ``(diagram, query,
    given)``, ``shard`` a ``(count, SeedSequence)`` of
    :func:`~cpspec.inference.sampling.shard_plan`."""
    diagram, query, given = model
    n = shard[0]
    samples = draw_shard(diagram, shard)
    vals = np.broadcast_to(np.asarray(evaluate_samples(query, samples, diagram.name),
                                      dtype=float), (n,))
    if given is not None:
        mask = np.broadcast_to(np.asarray(evaluate_samples(given, samples, diagram.name),
                                          dtype=bool), (n,))
        vals = vals[mask]
    return len(vals), float(np.add.reduce(vals))
