"""One seam for running independent pieces of work on an executor.

Simulation shards, cross-check shards, the points of a parameter sweep, the sample
verifications of a synthesis and the jobs of ``cpspec check -j`` are independent pieces
of work. Each entry point that has them takes ``executor=``: ``None`` runs them one after
the other in this process; any :class:`concurrent.futures.Executor` runs them there
(a ``ThreadPoolExecutor``, a ``ProcessPoolExecutor``, or the supported cluster engine,
``dask.distributed``: ``Client(...).get_executor()``, installed with the optional extra
``cpspec[distributed]``).

Rules the seam keeps:

* **The answer never depends on the executor.** How work is cut into pieces (shards,
  points, jobs) is decided before anything is submitted, from the inputs alone, never
  from the number of workers; results come back in submission order.
* **Models travel as data.** What is shared by the pieces (a diagram, an agent, a query)
  is pickled once, with ``cloudpickle`` where it is installed (it carries lambdas) and
  ``pickle`` otherwise; a part that cannot be pickled is named (``node 'S' of world
  'f'``) with the fix, before any work starts. A thread pool shares memory, so nothing
  is pickled for it.
* **A lost piece is reported, never guessed.** A worker that dies (or an executor that
  breaks) and a budget that runs out turn the piece into :class:`Lost` with the reason;
  the caller decides what that means (*unknown* for a verification, an error for an
  estimate). An exception raised by the work itself comes back as that exception.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import io
import pickle
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from .budget import Deadline, Expired, check_timeout, time_limit
from .errors import ExecutorError, SpecError

try:  # optional (it comes with cpspec[distributed]): pickles lambdas and closures
    import cloudpickle as _pickler
except ImportError:  # pragma: no cover - exercised where cloudpickle is absent
    _pickler = pickle

__all__ = ["Lost", "run_ordered", "ship", "connect", "local_processes",
           "CONNECT_TIMEOUT"]

#: Seconds :func:`connect` waits for a Dask scheduler to answer before giving up.
CONNECT_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class Lost:
    """A piece of work that did not come back: its worker was lost, the executor broke,
    or (``timed_out``) the call's budget ran out first. ``reason`` says which."""

    reason: str
    timed_out: bool = False


def _parts(obj: Any) -> list[tuple[str, Any]]:
    """The named parts of ``obj`` to search for the one that cannot be pickled: the
    nodes of a diagram, the fields of a record, the items of a container."""
    if hasattr(obj, "order") and hasattr(obj, "node") and hasattr(obj, "name"):
        try:  # a cpspec Diagram (duck-typed: this layer sits below the diagrams)
            return [(f"node {n!r} of world {obj.name!r}", obj.node(n).function)
                    for n in obj.order]
        except Exception:
            pass
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return [(f.name, getattr(obj, f.name, None)) for f in dataclasses.fields(obj)]
    if isinstance(obj, dict):
        return [(repr(k), v) for k, v in obj.items()]
    if isinstance(obj, (list, tuple)):
        return [(f"item {i}", v) for i, v in enumerate(obj)]
    if hasattr(obj, "__dict__"):
        return [(k, v) for k, v in vars(obj).items()]
    return [(k, getattr(obj, k)) for k in getattr(type(obj), "__slots__", ())
            if isinstance(k, str) and hasattr(obj, k)]


def _dumps(obj: Any) -> bytes:
    buf = io.BytesIO()
    _pickler.Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buf.getvalue()


def _culprit(obj: Any, path: tuple = (), depth: int = 0
             ) -> tuple[tuple, BaseException] | None:
    """The innermost named part of ``obj`` that cannot be pickled (its path of part
    names), with the error."""
    try:
        _dumps(obj)
        return None
    except Exception as exc:
        error = exc
    if depth < 6:
        for name, part in _parts(obj):
            found = _culprit(part, path + (name,), depth + 1)
            if found:
                return found
    return path, error


def _where(path: tuple, what: str) -> str:
    """A culprit's path for a user: the structural function of a node when one is on the
    path, else the attributes that lead to it (container positions left out)."""
    nodes = [p for p in path if p.startswith("node ")]
    if nodes:
        return f"the structural function of {nodes[-1]}"
    named = [p for p in path if not p.startswith("item ")]
    return f"{'.'.join(named)} of {what}" if named else what


def ship(obj: Any, what: str) -> bytes:
    """``obj`` pickled to send to workers, or an :class:`~cpspec.errors.ExecutorError`
    naming the part that cannot be sent (a node's function, an agent's field) and the fix.

    Examples
    --------
    >>> len(ship({"p": 1}, "the grid")) > 0
    True
    """
    try:
        return _dumps(obj)
    except Exception:
        found = _culprit(obj)
    path, error = found if found else ((), None)
    how = ("" if _pickler is not pickle else
           "; or install cloudpickle (pip install 'cpspec[distributed]'), which sends "
           "lambdas and closures")
    raise ExecutorError(
        f"{_where(path, what)} cannot be sent to worker processes "
        f"({type(error).__name__}: {str(error)[:200]}); define the function at module "
        "level in an importable module (def f(G, R): ...) or state the model in a spec "
        f"file{how}, or use executor=None or a ThreadPoolExecutor (nothing is sent)"
    ) from None


def _run_shipped(shipped: bytes, item: Any) -> tuple[str, Any]:
    """The worker's side: unpack the shared function and data, run one piece. What the
    work raises comes back as a value, so that only a lost worker or a broken executor
    makes ``future.result()`` raise."""
    try:
        fn, shared = pickle.loads(shipped)
    except Exception as exc:
        return "error", ExecutorError(
            f"a worker could not unpack the work ({type(exc).__name__}: {exc}); the "
            "workers need the same Python packages (and modules of the functions) as here")
    return _run_here(fn, shared, item)


def _run_here(fn: Callable, shared: Any, item: Any) -> tuple[str, Any]:
    try:
        return "ok", fn(shared, item)
    except Exception as exc:
        try:
            pickle.dumps(exc)
        except Exception:
            exc = SpecError(f"{type(exc).__name__}: {exc}")
        return "error", exc


def _outcome(future: cf.Future) -> Any:
    try:
        kind, value = future.result(timeout=0)
    except cf.CancelledError:
        return Lost("the piece was cancelled before it ran")
    except Exception as exc:  # the worker died, or the executor broke under it
        return Lost(f"the worker running it was lost ({type(exc).__name__}: "
                    f"{str(exc)[:200] or 'no message'})")
    if kind == "error":
        raise value
    return value


def run_ordered(executor: cf.Executor | None, fn: Callable[[Any, Any], Any],
                items: Iterable, shared: Any = None, *, what: str = "the model",
                timeout: float | None = None,
                on_progress: Callable[[int, int], None] | None = None) -> Iterator[Any]:
    """``fn(shared, item)`` for each item, yielded in the order of ``items`` whatever
    order the workers finish in; a piece that does not come back is a :class:`Lost`.

    Parameters
    ----------
    executor : concurrent.futures.Executor or None
        Where to run (``None``: here, one piece after the other).
    fn : callable
        A module-level function ``fn(shared, item)``.
    items : iterable
        The pieces' own (small, picklable) data.
    shared : object
        Data every piece needs (a model), shipped once with :func:`ship`.
    what : str
        How to name ``shared`` in an error (``"world 'f'"``).
    timeout : float, optional
        A budget in seconds for all the pieces: those not back when it runs out are
        cancelled and yielded as :class:`Lost`.
    on_progress : callable, optional
        Called as ``on_progress(done, total)`` whenever a piece finishes.

    Examples
    --------
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> def times(k, x):
    ...     return k * x
    >>> with ThreadPoolExecutor(2) as ex:
    ...     list(run_ordered(ex, times, [1, 2, 3], shared=10))
    [10, 20, 30]
    """
    items = list(items)
    deadline = Deadline(check_timeout(timeout))
    total = len(items)
    if executor is None:
        for k, item in enumerate(items):
            try:
                with time_limit(deadline):
                    kind, value = _run_here(fn, shared, item)
            except Expired:
                yield Lost("the call's time budget ran out", timed_out=True)
                continue
            if kind == "error":
                raise value
            if on_progress:
                on_progress(k + 1, total)
            yield value
        return
    if not isinstance(executor, cf.Executor):
        raise ExecutorError(f"executor={executor!r} is not a concurrent.futures.Executor; "
                            "give None, a ThreadPoolExecutor, a ProcessPoolExecutor or a "
                            "dask.distributed Client(...).get_executor()")
    if isinstance(executor, cf.ThreadPoolExecutor):  # shared memory: nothing to pickle
        futures = [executor.submit(_run_here, fn, shared, item) for item in items]
    else:
        shipped = ship((fn, shared), what)
        futures = [executor.submit(_run_shipped, shipped, item) for item in items]
    yield from _in_order(futures, deadline, on_progress)


def _in_order(futures: list, deadline: Deadline, on_progress) -> Iterator[Any]:
    pending = set(futures)
    done_count = 0
    try:
        for k, future in enumerate(futures):
            while not future.done():
                left = deadline.remaining()
                if left is not None and left <= 0:
                    for f in futures[k:]:
                        f.cancel()
                    for f in futures[k:]:
                        yield (_outcome(f) if f.done() and not f.cancelled() else
                               Lost("the call's time budget ran out before it came back",
                                    timed_out=True))
                    return
                done, _ = cf.wait(pending, timeout=left, return_when=cf.FIRST_COMPLETED)
                for f in done:
                    pending.discard(f)
                    done_count += 1
                    if on_progress:
                        on_progress(done_count, len(futures))
            if future in pending:  # finished between two waits
                pending.discard(future)
                done_count += 1
                if on_progress:
                    on_progress(done_count, len(futures))
            yield _outcome(future)
    finally:
        for f in pending:
            f.cancel()


def local_processes(workers: int) -> cf.Executor:
    """A pool of ``workers`` local processes (``cpspec check -j N``).

    Examples
    --------
    >>> with local_processes(1) as ex:
    ...     isinstance(ex, cf.ProcessPoolExecutor)
    True
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ExecutorError(f"-j {workers!r}: give a positive number of worker processes, "
                            "e.g. -j 4")
    return cf.ProcessPoolExecutor(max_workers=workers)


def connect(address: str, timeout: float | None = None):
    """A ``dask.distributed.Client`` of the running scheduler at ``address``
    (``tcp://host:port``); its ``get_executor()`` is the executor to pass. Raises
    :class:`~cpspec.errors.ExecutorError` when dask.distributed is not installed or no
    scheduler answers within ``timeout`` seconds (default :data:`CONNECT_TIMEOUT`).

    Examples
    --------
    >>> connect("tcp://127.0.0.1:1", timeout=0.5)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cpspec.errors.ExecutorError: no Dask scheduler answered at 'tcp://127.0.0.1:1' ...
    """
    seconds = CONNECT_TIMEOUT if timeout is None else check_timeout(timeout, "timeout")
    try:
        from distributed import Client
    except ImportError:
        raise ExecutorError("a Dask scheduler needs dask.distributed: pip install "
                            "'cpspec[distributed]'") from None
    if not isinstance(address, str) or not address.strip():
        raise ExecutorError(f"scheduler address {address!r}: give tcp://host:port")
    try:
        return Client(address, timeout=f"{seconds}s")
    except ValueError as exc:  # not an address at all
        raise ExecutorError(f"{address!r} is not a scheduler address ({exc}); give "
                            "tcp://host:port, e.g. tcp://127.0.0.1:8786") from None
    except Exception as exc:
        text = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise ExecutorError(
            f"no Dask scheduler answered at {address!r} within {seconds:g} s ({text}); "
            "start one (dask scheduler, or dask.distributed.LocalCluster) and give its "
            "address as tcp://host:port") from None

