"""Observation files: reading them (:func:`read_observations`, CSV or JSON lines, with
the line in every error) and, for ``[[observations]]``, their conformance with a world,
row by row, and their log-likelihood when every row conforms."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sympy

from ..errors import SpecError, SpecFileError
from ..verification.theory import conforms, likelihood
from .base import Spec, decimal_integer, internal_error, normal_name
from .files import read_text_file

__all__ = ["ObservationResult", "check_observations", "read_observations", "MAX_FIELD"]


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


#: Longest CSV field read, in characters (the csv module's own default limit).
MAX_FIELD = 131_072


def _parse_value(v: str, where: str = ""):
    """A CSV cell: ASCII decimal digits are an integer, anything else the text itself."""
    n = decimal_integer(v, where.rstrip(": "))
    return v.strip() if n is None else n


def _cell(v, limit: int = 40) -> str:
    r = repr(v)
    return r if len(r) <= limit else r[:limit] + "..."


def read_observations(path: str | Path) -> list[tuple[int, dict]]:
    """``(line number, row)`` pairs from a CSV file (a header of node names; empty cells
    are unobserved) or a JSON-lines file (one object per line, ``.jsonl``). Errors name
    the file and line. Only regular UTF-8 files up to
    :data:`cpspec.spec.files.MAX_FILE_BYTES` are read; node names are NFKC-normalised as in
    spec files.

    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "rolls.csv"
    >>> _ = f.write_text("G,R,S\\n1,2,3\\n6,,\\n")
    >>> read_observations(f)
    [(2, {'G': 1, 'R': 2, 'S': 3}), (3, {'G': 6})]
    """
    path = Path(path)
    text = read_text_file(path, "an observation file")
    rows = []
    if path.suffix.lower() in (".jsonl", ".json", ".ndjson"):
        for i, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise SpecFileError(f"{path}, line {i}: malformed JSON: {exc.msg}") from None
            except RecursionError:
                raise SpecFileError(f"{path}, line {i}: malformed JSON: nested too deeply; "
                                    "a row is one flat object of node values") from None
            except ValueError as exc:  # a number over Python's 4,300-digit limit
                raise SpecFileError(f"{path}, line {i}: malformed JSON: "
                                    f"{str(exc).split(';')[0]}") from None
            if not isinstance(obj, dict):
                raise SpecFileError(f"{path}, line {i}: expected an object of node values")
            row = {}
            for k, v in obj.items():
                if isinstance(v, float) or not isinstance(v, (int, str, bool)):
                    raise SpecFileError(f"{path}, line {i}: value {_cell(v)} of {_cell(k)} must "
                                        "be an integer or a string")
                n = normal_name(k)
                if n in row:
                    raise SpecFileError(f"{path}, line {i}: node {n!r} is observed twice")
                row[n] = v
            rows.append((i, row))
        return rows
    reader = csv.reader(text.splitlines())
    try:
        try:
            header = next(reader)
        except StopIteration:
            raise SpecFileError(f"{path}: empty file; the first line names the nodes") from None
        header = [normal_name(h.strip()) for h in header]
        for h in header:
            if header.count(h) > 1:
                raise SpecFileError(f"{path}, line 1: column {_cell(h)} appears twice")
        for i, rec in enumerate(reader, 2):
            if not rec or all(not c.strip() for c in rec):
                continue
            if len(rec) != len(header):
                raise SpecFileError(f"{path}, line {i}: {len(rec)} values for {len(header)} "
                                    f"columns ({', '.join(map(_cell, header))})")
            rows.append((i, {h: _parse_value(c, f"{path}, line {i}: ")
                             for h, c in zip(header, rec) if c.strip()}))
    except csv.Error as exc:
        raise SpecFileError(f"{path}, line {reader.line_num}: malformed CSV: {exc} (fields "
                            f"are limited to {MAX_FIELD:,} characters)") from None
    return rows
