"""``[[observations]]``: conformance of observation files (CSV or JSON lines) with a
world, row by row, and their log-likelihood when every row conforms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy

from ..errors import SpecError, SpecFileError
from ..verification.theory import conforms, likelihood, read_observations
from .base import Spec, internal_error

__all__ = ["ObservationResult", "check_observations"]


@dataclass(frozen=True)
class ObservationResult:
    """Conformance of every row of an observation file with a world."""

    world: str
    file: str
    rows: int
    failures: tuple = ()          # (line, message)
    error: str | None = None
    log_likelihood: Any = None
    internal: bool = False

    @property
    def passed(self) -> bool:
        return self.error is None and not self.failures

    def __str__(self) -> str:
        if self.error:
            head = "INTERNAL ERROR" if self.internal else "ERROR"
            return f"{head} {self.file}: {self.error}"
        if self.passed:
            tail = f", log-likelihood {self.log_likelihood}" if self.log_likelihood is not \
                None else ""
            return (f"PASS  {self.file}: all {self.rows} observations conform to world "
                    f"{self.world}{tail}")
        line, msg = self.failures[0]
        return (f"FAIL  {self.file}: {len(self.failures)} of {self.rows} observations do not "
                f"conform to world {self.world}; first at line {line}: {msg}")


def check_observations(spec: Spec) -> list:
    """Check every ``[[observations]]`` file against its world, row by row."""
    out = []
    for w, file, where in spec.observations:
        d = spec.worlds[w]
        try:
            rows = read_observations(file)
            failures = []
            for line, row in rows:
                try:
                    v = conforms(d, row)
                except SpecError as exc:
                    raise SpecFileError(f"{file}, line {line}: {exc}") from None
                if v.status != "holds":
                    failures.append((line, str(v.counterexample)))
            logl = None
            if not failures and not d.free_symbols():
                logl = sympy.N(likelihood(d, [r for _, r in rows], log=True), 8)
            out.append(ObservationResult(w, file, len(rows), tuple(failures),
                                         log_likelihood=logl))
        except SpecError as exc:
            out.append(ObservationResult(w, file, 0, error=str(exc)))
        except Exception as exc:  # one file's failure never hides the others
            out.append(ObservationResult(w, file, 0, error=internal_error(exc),
                                         internal=True))
    return out
