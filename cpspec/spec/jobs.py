"""Checking spec files as jobs that ship as data (``cpspec check -j 4``, ``--scheduler``).

A spec file's checks are cut into jobs: its claims (one job), each ``[[property]]`` and
each ``[[synthesize]]`` (one job each) and its observation files (one job). A :class:`Job` is data only: the file's
path and text, which part to check and the file policy, never a model, so any worker can
take it; the worker reads the text again (spec files are data, read by the whitelisting
interpreter) and builds its own models and its own Z3 contexts. Paths are absolute, so
that workers with another current folder (or on other machines with a shared file
system) read the files named by ``uses`` and ``[[observations]]`` from the same place. :func:`run_jobs` runs the
jobs on any executor (:mod:`cpspec.executors`) and gives their results in submission
order. A job whose worker is lost, or that is still out when the budget runs out, is
reported as such: a property's verdict is then *unknown*, never *holds*.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from ..errors import SpecError
from ..executors import Lost, run_ordered
from .base import Spec, internal_error, phrase_for
from .claims import check_claims
from .loader import load
from .observations import check_observations
from .properties import check_property
from .queries import Solutions
from .synthesis import check_syntheses

__all__ = ["Job", "Line", "plan_jobs", "run_job", "run_jobs"]


@dataclass(frozen=True, slots=True)
class Job:
    """One piece of checking, as data: the file (``path``, ``text``), the ``part``
    (``"claims"``, ``"property"`` with its ``index``, ``"observations"``), the file
    policy (``root`` folders, ``allow_outside``), and for a property its ``label`` and
    expected verdict, to report it if its worker is lost."""

    path: str
    text: str
    part: str
    index: int = 0
    root: tuple[str, ...] | None = None
    allow_outside: bool = False
    label: str = ""
    expect: str = "holds"
    bind: tuple = ()   # (name, value) pairs of --param, bound on top of [bind]


@dataclass(frozen=True, slots=True)
class Line:
    """One reported result of a job: the text ``cpspec check`` prints, whether it
    passed, whether cpspec itself failed on it, and a property's verdict (``status``)."""

    text: str
    passed: bool
    internal: bool = False
    status: str | None = None


def plan_jobs(path: str, text: str, spec: Spec, *, root=None,
              allow_outside: bool = False, bind: dict | None = None) -> list[Job]:
    """The jobs of one loaded spec file, in the order ``cpspec check`` reports them
    (claims, properties, syntheses, observations); ``bind`` is the ``--param`` values
    the file was loaded with (each worker loads it with them).

    Examples
    --------
    >>> text = '[world.w.node.X]\\nfn = "2"\\n[claims]\\n"E(X_w)" = "2"\\n'
    >>> [j.part for j in plan_jobs("w.toml", text, load("w.toml", text=text))]
    ['claims']
    """
    root = None if root is None else tuple(str(Path(r).resolve()) for r in root)
    # absolute: a worker's current folder is its own (files named by uses and
    # [[observations]] are read there, so a cluster needs them at the same paths)
    common = dict(path=str(Path(path).resolve()), text=text, root=root,
                  allow_outside=allow_outside, bind=tuple((bind or {}).items()))
    jobs = [Job(part="claims", **common)] if spec.claims else []
    jobs += [Job(part="property", index=k, label=f"{e.prop} of {e.agent_name}" + (
                 f" over {e.over.name}" if e.over is not None else ""),
                 expect=e.expect, **common)
             for k, e in enumerate(spec.properties)]
    jobs += [Job(part="synthesis", index=k, **common) for k in range(len(spec.syntheses))]
    if spec.observations:
        jobs.append(Job(part="observations", **common))
    return jobs


def run_job(_: object, job: Job) -> tuple[Line, ...]:
    """Run one job here (a worker's side of :func:`run_jobs`): read the file's text, check
    the part. The signature is ``run_ordered``'s ``fn(shared, item)``.

    Examples
    --------
    >>> text = '[world.w.node.X]\\nfn = "2"\\n[claims]\\n"E(X_w)" = "2"\\n'
    >>> run_job(None, Job("w.toml", text, "claims"))[0].text
    'PASS  E(X_w) = 2'
    """
    try:
        bind = dict(job.bind) or None
        if job.allow_outside:
            spec = load(job.path, text=job.text, allow_outside=True, bind=bind)
        else:
            spec = load(job.path, text=job.text,
                        root=list(job.root) if job.root is not None else None, bind=bind)
    except SpecError as exc:  # the file changed since it was planned, or reads others
        return (Line(f"ERROR {exc}", False),)
    except Exception as exc:
        return (Line(f"INTERNAL ERROR {internal_error(exc)}", False, internal=True),)
    if job.part == "claims":
        results = check_claims(spec, Solutions(spec))
    elif job.part == "observations":
        results = check_observations(spec)
    elif job.part == "synthesis":
        results = check_syntheses(dataclasses.replace(
            spec, syntheses=(spec.syntheses[job.index],)))
    else:
        r = _phrased(check_property(spec, spec.properties[job.index]))
        return (Line(str(r), r.passed, r.internal,
                     r.verdict.status if r.verdict is not None else None),)
    return tuple(Line(str(r), r.passed, r.internal) for r in map(_phrased, results))


def _phrased(r):
    """A result with its error's advice phrased for a spec file (as :func:`check` does)."""
    return dataclasses.replace(r, error=phrase_for(r.error, "spec")) if r.error else r


def _lost(job: Job, lost: Lost) -> tuple[Line, ...]:
    """What a job that did not come back reports: a property is *unknown* (which passes
    only where ``expect = "unknown"``), claims and observations are not checked."""
    if job.part == "property":
        passed = job.expect == "unknown"
        mark = "PASS " if passed else "FAIL "
        tail = "" if passed else f", expected {job.expect}"
        return (Line(f"{mark} {job.label}: unknown (not decided){tail}\n        reason: "
                     f"{lost.reason}", passed, status="unknown"),)
    return (Line(f"ERROR the {job.part} of {job.path} were not checked: {lost.reason}; "
                 "run again", False),)


def run_jobs(jobs: list[Job], executor: Executor | None = None, *,
             timeout: float | None = None,
             on_progress: Callable[[int, int], None] | None = None
             ) -> Iterator[tuple[Job, tuple[Line, ...]]]:
    """Each job with its result lines, in the order of ``jobs`` (whatever order the
    workers finish in). ``executor``: where to run (default here); ``timeout``: a budget
    in seconds for all of them, after which what is still out is reported as not
    decided; ``on_progress(done, total)`` is called as jobs finish.

    Examples
    --------
    >>> text = '[world.w.node.X]\\nfn = "2"\\n[claims]\\n"E(X_w)" = "3"\\n'
    >>> jobs = plan_jobs("w.toml", text, load("w.toml", text=text))
    >>> [(line.text, line.passed) for _, lines in run_jobs(jobs) for line in lines]
    [('FAIL  E(X_w) = 2, expected 3', False)]
    """
    results = run_ordered(executor, run_job, jobs, None, what="the checking jobs",
                          timeout=timeout, on_progress=on_progress)
    for job, out in zip(jobs, results):
        yield job, (_lost(job, out) if isinstance(out, Lost) else out)
