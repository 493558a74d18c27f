"""Exact answers over a grid of parameter values: ``cp.sweep(model, grid, query)``.

Each point of the grid binds the model's symbolic parameters to exact values and asks the
query there: an event or expression of a world (``P`` / ``E``), or any function of the
bound model (``lambda m: cp.solve(m, 2).value``). The points are independent pieces of
work, so ``executor=`` runs them on a thread or process pool or a Dask cluster
(:mod:`cpspec.executors`); the table comes back in grid order whatever the workers do.
"""

from __future__ import annotations

import itertools
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Mapping

from ..budget import check_timeout
from ..core.expressions import Expr
from ..core.functions import as_sympy, is_inexact, show, to_exact
from ..errors import BudgetError, DistributionError, ExecutorError, ParameterError, QueryError
from ..executors import Lost, run_ordered
from .exact import E, P
from .sampling import retarget

__all__ = ["Sweep", "sweep", "sweep_point", "MAX_SWEEP_POINTS"]

#: Most points one :func:`sweep` may have (the grid is counted before any work); raise
#: it (``cpspec.inference.sweep.MAX_SWEEP_POINTS = ...``) for a larger cluster job.
MAX_SWEEP_POINTS = 1_000_000


@dataclass(frozen=True)
class Sweep:
    """The exact answers of a sweep: one row per grid point, the parameter values first
    (``parameters``), then the answers (``columns``). ``records()`` gives the rows as
    dicts, ready for ``pandas.DataFrame(s.records())``.

    Examples
    --------
    >>> import cpspec as cp, sympy
    >>> p = sympy.Symbol("p")
    >>> w = cp.world("w", X=cp.bernoulli(p), Y=cp.bernoulli(p))
    >>> s = cp.sweep(w, {"p": ["1/4", "1/2"]}, w.X + w.Y)
    >>> s.records()
    [{'p': 1/4, 'E(X_w + Y_w)': 1/2}, {'p': 1/2, 'E(X_w + Y_w)': 1}]
    >>> s.column("E(X_w + Y_w)")
    (1/2, 1)
    """

    parameters: tuple[str, ...]
    columns: tuple[str, ...]
    rows: tuple[tuple, ...]

    def records(self) -> list[dict]:
        """The rows as ``{parameter or column: value}`` dicts, in grid order."""
        names = self.parameters + self.columns
        return [dict(zip(names, row)) for row in self.rows]

    def column(self, name: str) -> tuple:
        """The values of one parameter or answer column, in grid order."""
        names = self.parameters + self.columns
        if name not in names:
            raise QueryError(f"the sweep has no column {name!r}; columns: "
                             f"{', '.join(names)}")
        k = names.index(name)
        return tuple(row[k] for row in self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __str__(self) -> str:
        names = self.parameters + self.columns
        cells = [[str(v) for v in row] for row in self.rows]
        width = [max([len(n)] + [len(r[k]) for r in cells]) for k, n in enumerate(names)]
        lines = ["  ".join(n.rjust(w) for n, w in zip(names, width))]
        lines += ["  ".join(c.rjust(w) for c, w in zip(r, width)) for r in cells]
        return "\n".join(lines)


def _label(query: Any) -> str:
    if isinstance(query, Expr):
        return f"{'P' if query.is_event else 'E'}({query})"
    return getattr(query, "__name__", "value")


def _queries(query: Any) -> dict[str, Any]:
    qs = dict(query) if isinstance(query, Mapping) else {_label(query): query}
    if not qs:
        raise QueryError("sweep needs a query: an event or expression of the world, a "
                         "function of the bound model, or a dict of them by column name")
    for name, q in qs.items():
        if not isinstance(name, str):
            raise QueryError(f"sweep: column names must be strings, got {show(name)}")
        if not isinstance(q, Expr) and not callable(q):
            raise QueryError(f"sweep: the query {name!r} is {show(q)}; give an event or "
                             "expression of the world (m.X == 1, m.X + m.Y) or a function "
                             "of the bound model (lambda m: cp.solve(m, 2).value)")
    return qs


def _exact(v: Any, where: str) -> Any:
    if is_inexact(v):
        raise ParameterError(f"sweep: {where} = {show(v)} is a floating-point number; "
                             "give exact values (\"1/10\", Fraction(1, 10), 1)")
    try:
        return as_sympy(to_exact(v, what=where))
    except DistributionError as exc:
        raise ParameterError(f"sweep: {exc}") from None


def _points(grid: Any) -> tuple[tuple[str, ...], list[tuple]]:
    """The parameter names and the points: a dict of value lists (every combination, the
    last parameter varying fastest) or a list of dicts (those points, in order)."""
    if isinstance(grid, Mapping):
        names = tuple(grid)
        axes = []
        for name in names:
            vals = grid[name]
            if isinstance(vals, (str, bytes)) or not hasattr(vals, "__iter__"):
                raise ParameterError(f"sweep: grid[{name!r}] = {show(vals)} must be a list "
                                     f"of values, e.g. {{{name!r}: ['1/4', '1/2']}}")
            axes.append([_exact(v, name) for v in vals])
        count = 1
        for a in axes:
            count *= len(a)
        _check_count(count)
        return names, list(itertools.product(*axes))
    if isinstance(grid, (list, tuple)) and grid and all(isinstance(g, Mapping) for g in grid):
        names = tuple(grid[0])
        _check_count(len(grid))
        points = []
        for k, g in enumerate(grid):
            if tuple(g) != names:
                raise ParameterError(f"sweep: point #{k + 1} names {list(g)}, point #1 "
                                     f"{list(names)}; every point binds the same parameters")
            points.append(tuple(_exact(g[n], n) for n in names))
        return names, points
    raise ParameterError(f"sweep: grid = {show(grid)}; give a dict of value lists "
                         "({'p': ['1/4', '1/2'], 'q': [0, 1]}: every combination) or a "
                         "list of dicts (those points)")


def _check_count(count: int) -> None:
    if count == 0:
        raise ParameterError("sweep: the grid has no point (an empty list of values)")
    if count > MAX_SWEEP_POINTS:
        raise ParameterError(f"sweep: the grid has {count:,} points, above "
                             f"cpspec.inference.sweep.MAX_SWEEP_POINTS = "
                             f"{MAX_SWEEP_POINTS:,}; sweep a coarser grid or raise the limit")


def _bind(model: Any, values: dict) -> Any:
    if hasattr(model, "bind"):
        return model.bind(**values)
    if hasattr(model, "with_env") and hasattr(model, "env"):  # an agent: bind its world
        return model.with_env(model.env.bind(**values))
    raise QueryError(f"sweep: {show(model)} has no parameters to bind; give a world "
                     "(cp.world), an MDP or an agent")


def sweep_point(model_and_queries: tuple, point: tuple) -> tuple:
    """The answers at one grid point (a worker's piece of :func:`sweep`):
    ``model_and_queries`` is ``(model, parameter names, {column: query})``."""
    model, names, queries = model_and_queries
    values = dict(zip(names, point))
    shown = ", ".join(f"{n} = {v}" for n, v in values.items())
    try:
        bound = _bind(model, values)
    except ParameterError as exc:
        raise ParameterError(f"sweep at {shown}: {exc}") from None
    out = []
    for name, q in queries.items():
        if isinstance(q, Expr):
            q = retarget(q, bound)
            value = (P if q.is_event else E)(q)
        else:
            value = q(bound)
            if is_inexact(value):
                raise QueryError(f"sweep at {shown}: the query {name!r} returned the "
                                 f"floating-point number {show(value)}; a sweep holds exact "
                                 "answers (return a Rational or SymPy expression)")
        out.append(value)
    return tuple(out)


def sweep(model: Any, grid: Any, query: Any, *, executor: Executor | None = None,
          timeout: float | None = None) -> Sweep:
    """Exact answers of ``query`` at every point of ``grid``.

    Parameters
    ----------
    model : Diagram, MDP or Agent
        A model with symbolic parameters; each point binds them (``model.bind``; an
        agent's environment for an agent).
    grid : dict or list of dict
        ``{"p": ["1/4", "1/2"], "q": [0, 1]}``: every combination, the last parameter
        varying fastest; or a list of ``{"p": ..., "q": ...}`` points. Values exact.
    query : Expr, callable, or dict of them
        An event (``P``) or expression (``E``) of the world ``model``; a function of the
        bound model (``lambda m: cp.solve(m, 2).value``, module-level for worker
        processes); or ``{column name: query}`` for several answers per point.
    executor : concurrent.futures.Executor, optional
        Where to compute the points (Dask ``Client(...).get_executor()``, a process or
        thread pool); default here, one after the other. The table is the same.
    timeout : float, optional
        A budget in seconds for the whole sweep; when it runs out the sweep raises
        :class:`~cpspec.errors.BudgetError` (never a partial table).

    Returns
    -------
    Sweep
        ``.parameters``, ``.columns``, ``.rows``; ``.records()`` for a DataFrame.

    Examples
    --------
    >>> import cpspec as cp, sympy
    >>> g = sympy.Symbol("gamma")
    >>> m = cp.MDP(["start", "w", "done"], ["take", "wait"],
    ...     lambda s, a: {"w": 1} if (s, a) == ("start", "wait") else {"done": 1},
    ...     lambda s, a, s2: 1 if (s, a) == ("start", "take") else (3 if s == "w" else 0),
    ...     "start", gamma=g)
    >>> def first(mdp):
    ...     return cp.solve(mdp, 2).policy(0, "start")
    >>> print(cp.sweep(m, {"gamma": ["1/4", "1/3", "1/2"]}, {"pi*": first}))
    gamma   pi*
      1/4  take
      1/3  take
      1/2  wait
    """
    timeout = check_timeout(timeout)
    queries = _queries(query)
    for name, q in queries.items():
        if isinstance(q, Expr) and q.worlds() - {getattr(model, "name", None)}:
            raise QueryError(f"sweep: the query {name!r} reads world(s) "
                             f"{sorted(q.worlds())}, the model is "
                             f"{getattr(model, 'name', show(model))!r}; query the model's "
                             "own variables")
    names, points = _points(grid)
    rows = []
    for point, answers in zip(points, run_ordered(
            executor, sweep_point, points, (model, names, queries), what="the swept model",
            timeout=timeout)):
        if isinstance(answers, Lost):
            if answers.timed_out:
                raise BudgetError(f"sweep: timeout={timeout:g} s ran out with "
                                  f"{len(rows)} of {len(points)} points done; raise timeout "
                                  "or sweep fewer points")
            raise ExecutorError(f"sweep: the point {dict(zip(names, point))} did not come "
                                f"back: {answers.reason}; run again")
        rows.append(tuple(point) + tuple(answers))
    return Sweep(names, tuple(queries), tuple(rows))

