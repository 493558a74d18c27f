"""A seeded sampler that traverses a diagram in topological order.

Nodes whose tables are small enough are sampled all at once with NumPy (one uniform draw
per sample, looked up in the cumulative table row of the sample's parent values); nodes
too large to tabulate fall back to calling their structural function once per sample.
Simulation needs numbers: symbolic parameters must be bound first (``params=`` or
:meth:`Diagram.bind`).
"""

from __future__ import annotations

from concurrent.futures import Executor
from numbers import Integral
from typing import Any, Mapping

import numpy as np

from ..core.diagram import Diagram
from ..errors import (ExecutorError, FactorTooLargeError, ModelTooLargeError, ParameterError,
                      QueryError)
from ..executors import Lost, run_ordered
from ..core.expressions import Const, Expr, Op, RV
from ..core.functions import show
from ..progress import progress

__all__ = ["parameters_of", "simulate", "evaluate_samples", "retarget", "MAX_SIMULATION_BYTES",
           "SHARD_SAMPLES", "shard_plan", "draw_shard"]

#: Largest memory (bytes) the samples of one :func:`simulate` call may take, estimated
#: before any sample is drawn: 16 bytes per node and sample (its value and its code)
#: plus 16 per sample of working arrays. Raise it (``cpspec.inference.sampling.MAX_SIMULATION_BYTES
#: = ...``) on a machine with the memory, or draw fewer samples per call.
MAX_SIMULATION_BYTES = 2 * 1024**3

#: Samples are drawn in blocks of this size, so the temporary arrays of the table
#: look-up stay small whatever ``n`` is.
_BLOCK = 1 << 16


def _float_rows(diagram: Diagram, name: str) -> np.ndarray:
    t = diagram.table(name)
    index = {v: i for i, v in enumerate(t.domain)}
    out = np.zeros((len(t.rows), len(t.domain)))
    for k, row in enumerate(t.rows):
        for v, p in row.items():
            try:
                out[k, index[v]] = float(p)
            except TypeError:
                raise ParameterError(
                    f"world {diagram.name!r}: node {name!r} has the symbolic probability "
                    f"{p}; simulation needs numbers: pass params={{...}} or use "
                    "diagram.bind(name=value)") from None
    return out


def _as_array(values: list | tuple) -> np.ndarray:
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return np.array(values, dtype=np.int64)
    if all(isinstance(v, bool) for v in values):
        return np.array(values, dtype=bool)
    arr = np.empty(len(values), dtype=object)
    arr[:] = list(values)
    return arr


def simulate(diagram: Diagram, n: int, seed: int, params: Mapping[str, Any] | None = None,
             executor: Executor | None = None) -> dict[str, np.ndarray]:
    """Draw ``n`` joint samples of every node of ``diagram``, reproducibly from ``seed``.

    The samples are drawn in shards of at most :data:`SHARD_SAMPLES` (see
    :func:`shard_plan`): one shard draws from ``numpy.random.default_rng(seed)``, several
    from the children ``numpy.random.SeedSequence(seed).spawn(k)``. The shards depend on
    ``n`` and ``seed`` only, so the samples are the same on one worker or on many.

    Parameters
    ----------
    diagram : Diagram
    n : int
        Number of samples (positive).
    seed : int
        Seed of NumPy's default generator; the same seed gives the same samples.
    params : mapping, optional
        Values for the diagram's symbolic parameters (by name).
    executor : concurrent.futures.Executor, optional
        Where to draw the shards (a Dask ``Client(...).get_executor()``, a process or
        thread pool); default here. See :mod:`cpspec.executors`.

    Returns
    -------
    dict
        Node name -> NumPy array of ``n`` values (integer arrays where the domain is
        integers, object arrays otherwise).

    Examples
    --------
    >>> import cpspec as cp
    >>> f = cp.world("f", G=cp.uniform(range(1, 7)), R=cp.uniform(range(1, 7)),
    ...              S=cp.fn(lambda G, R: G + R))
    >>> s = cp.simulate(f, 1000, seed=1)
    >>> bool((s["S"] == s["G"] + s["R"]).all()), len(s["S"])
    (True, 1000)
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> with ThreadPoolExecutor(2) as ex:
    ...     t = cp.simulate(f, 1000, seed=1, executor=ex)
    >>> bool((t["S"] == s["S"]).all())
    True
    """
    if isinstance(n, bool) or not isinstance(n, Integral) or n <= 0:
        raise QueryError(f"simulate needs a positive integer number of samples, got "
                         f"n={show(n)}")
    n = int(n)
    if isinstance(seed, bool) or not isinstance(seed, Integral) or seed < 0:
        raise QueryError(f"simulate needs a non-negative integer seed (the same seed gives "
                         f"the same samples), got seed={show(seed)}; e.g. seed=1")
    need = n * (16 * len(diagram.order) + 16)
    if need > MAX_SIMULATION_BYTES:
        raise ModelTooLargeError(
            f"simulating {show(n)} samples of world {diagram.name!r} ({len(diagram.order)} nodes) "
            f"would take about {_gib(need)} of memory, above "
            f"cpspec.inference.sampling.MAX_SIMULATION_BYTES = {_gib(MAX_SIMULATION_BYTES)}; draw "
            "fewer samples (several seeded calls), or raise the limit")
    if params is not None:
        params = parameters_of(params)     # (a mapping checked before its truth is read)
        if params:
            diagram = diagram.bind(**params)
    _check_simulable(diagram)
    shards = list(run_ordered(executor, draw_shard, shard_plan(n, seed), diagram,
                              what=f"world {diagram.name!r}"))
    lost = next((s for s in shards if isinstance(s, Lost)), None)
    if lost is not None:
        raise ExecutorError(f"simulating world {diagram.name!r}: a shard did not come back: "
                            f"{lost.reason}; run again (the same seed gives the same samples)")
    if len(shards) == 1:
        return shards[0]
    return {name: np.concatenate([s[name] for s in shards]) for name in diagram.order}


#: Most samples in one shard of :func:`simulate` and :func:`cpspec.crosscheck`: the unit
#: of work sent to a worker. The shards (and so the samples) depend on ``n``, ``seed`` and
#: this number only, never on the number of workers.
SHARD_SAMPLES = 1_000_000


def shard_plan(n: int, seed: int) -> list[tuple[int, np.random.SeedSequence]]:
    """The shards of ``n`` seeded samples: ``(count, seed sequence)`` pairs, ``k =
    ceil(n / SHARD_SAMPLES)`` of them with counts as equal as can be. One shard uses
    ``SeedSequence(seed)`` itself (the generator ``default_rng(seed)``), several the
    independent children ``SeedSequence(seed).spawn(k)``.

    Examples
    --------
    >>> [count for count, _ in shard_plan(2_500_001, 7)]
    [833334, 833334, 833333]
    >>> shard_plan(10, 7)[0][1].entropy
    7
    """
    k = -(-n // SHARD_SAMPLES)
    root = np.random.SeedSequence(seed)
    seeds = [root] if k == 1 else root.spawn(k)
    return [(n // k + (i < n % k), s) for i, s in enumerate(seeds)]


def _check_simulable(diagram: Diagram) -> None:
    for name in diagram.order:
        if diagram.node(name).kind == "decision":
            raise QueryError(f"world {diagram.name!r}: decision node {name!r} has no policy; "
                             "replace it with one (cp.fn) before simulating")


def draw_shard(diagram: Diagram, shard: tuple[int, np.random.SeedSequence]
               ) -> dict[str, np.ndarray]:
    """The samples of one shard of :func:`shard_plan` (a worker's piece of
    :func:`simulate`); ``diagram`` has no free parameters and no decision nodes."""
    n, seq = shard
    rng = np.random.Generator(np.random.PCG64(seq))
    codes: dict[str, np.ndarray] = {}
    values: dict[str, np.ndarray] = {}
    for name in diagram.order:
        node = diagram.node(name)
        try:
            t = diagram.table(name)
            tabulated = all(p in codes for p in node.parents)
        except FactorTooLargeError:
            tabulated = False
        if tabulated:
            rows = np.cumsum(_float_rows(diagram, name), axis=1)
            row_index = np.zeros(n, dtype=np.int64)
            for p in node.parents:
                row_index = row_index * len(diagram.domain(p)) + codes[p]
            u = rng.random(n)
            code = np.empty(n, dtype=np.int64)
            for lo in range(0, n, _BLOCK):  # blocks: the comparison is n x |domain|
                hi = min(n, lo + _BLOCK)
                code[lo:hi] = (u[lo:hi, None] >= rows[row_index[lo:hi]]).sum(axis=1)
            np.minimum(code, len(t.domain) - 1, out=code)  # float rounding at the top
            codes[name] = code
            values[name] = _as_array(t.domain)[code]
        else:
            values[name] = _sample_one_by_one(diagram, name, values, rng, n)
    return values


def parameters_of(params: Any) -> dict:
    """``params=`` as keyword arguments for :meth:`Diagram.bind`."""
    if not isinstance(params, Mapping) or not all(isinstance(k, str) for k in params):
        raise ParameterError(f"params={show(params)} must map parameter names (strings) to "
                             "exact values, e.g. params={'p': '1/3'}")
    return dict(params)


def _gib(nbytes: int) -> str:
    if nbytes > 10**15:
        return f"about 10^{len(str(nbytes // 1024**3)) - 1} GiB" if nbytes < 10**4000 \
            else "an astronomical amount"
    return f"{nbytes / 1024**3:.3g} GiB"


def _sample_one_by_one(diagram, name, values, rng, n) -> np.ndarray:
    node = diagram.node(name)
    out = []
    u = rng.random(n)
    for i in progress(range(n), n, f"simulating {name}"):
        args = tuple(values[p][i] for p in node.parents)
        args = tuple(a.item() if isinstance(a, np.generic) else a for a in args)
        row = node.function.distribution(name, args)
        acc = 0.0
        chosen = None
        for v, p in row.items():
            try:
                acc += float(p)
            except TypeError:
                raise ParameterError(f"node {name!r} has the symbolic probability {p}; "
                                     "bind the parameters before simulating") from None
            chosen = v
            if u[i] < acc:
                break
        out.append(chosen)
    return _as_array(out)


_VEC = {
    "+": np.add, "-": np.subtract, "*": np.multiply, "/": np.true_divide,
    "**": np.power, "neg": np.negative, "abs": np.abs,
    "==": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal,
    ">": np.greater, ">=": np.greater_equal,
    "&": np.logical_and, "|": np.logical_or, "~": np.logical_not,
    "min": np.minimum, "max": np.maximum, "if": np.where,
}


def evaluate_samples(expr: Expr, samples: Mapping[str, np.ndarray], world: str) -> np.ndarray:
    """Evaluate ``expr`` on every sample at once (vectorised over NumPy arrays).

    Examples
    --------
    >>> import cpspec as cp
    >>> f = cp.world("f", X=cp.uniform([1, 2]))
    >>> s = cp.simulate(f, 4, seed=0)
    >>> bool((cp.evaluate_samples(f.X * 2, s, "f") == 2 * s["X"]).all())
    True
    """
    if isinstance(expr, RV):
        if expr.world != world:
            raise QueryError(f"{expr} belongs to world {expr.world!r}, not {world!r}")
        return samples[expr.node]
    if isinstance(expr, Const):
        return expr.value
    if isinstance(expr, Op):
        args = [evaluate_samples(a, samples, world) for a in expr.args]
        if expr.op == "/":
            args = [np.asarray(a, dtype=float) if not isinstance(a, np.ndarray) or
                    a.dtype != object else a.astype(float) for a in args]
        return _VEC[expr.op](*args)
    raise QueryError(f"cannot evaluate {expr!r} on samples")


def retarget(expr: Expr, diagram: Diagram) -> Expr:
    """The same expression with every variable read from ``diagram`` (same world name),
    e.g. after binding parameters."""
    if isinstance(expr, RV):
        return RV(diagram, expr.node)
    if isinstance(expr, Op):
        return Op(expr.op, *(retarget(a, diagram) for a in expr.args))
    return expr
