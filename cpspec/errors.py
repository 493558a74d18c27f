"""The cpspec exception hierarchy.

Every error a user can cause is a :class:`SpecError`. Its message names the node, the
world or the spec-file line involved, says what is wrong, and says how to fix it.
Nothing from deep inside SymPy, networkx or Z3 reaches the user for bad input.
"""

from __future__ import annotations

__all__ = [
    "SpecError",
    "CycleError",
    "UnknownNodeError",
    "DuplicateNodeError",
    "DistributionError",
    "DomainError",
    "FunctionError",
    "ConditioningError",
    "QueryError",
    "FactorTooLargeError",
    "ParameterError",
    "SpecFileError",
    "UnsafeExpressionError",
    "ModelTooLargeError",
    "BudgetError",
    "ClosedFormError",
    "DuplicateNameError",
    "InternalError",
    "ChunkError",
    "ExecutorError",
]


class SpecError(Exception):
    """Base class of every error caused by a model, a query or a spec file."""


class CycleError(SpecError):
    """The arcs of a diagram form a cycle; a world model must be a DAG."""


class UnknownNodeError(SpecError, KeyError):
    """A parent, a query or a replacement names a node the diagram does not have."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class DuplicateNodeError(SpecError):
    """Two nodes of one diagram have the same name."""


class DistributionError(SpecError):
    """A structural function's probabilities are not a distribution (sum, sign, type)."""


class DomainError(SpecError):
    """A value lies outside a node's finite domain, or a domain cannot be built."""


class FunctionError(SpecError):
    """A user's structural function raised or returned something unusable."""


class ConditioningError(SpecError):
    """A query conditions on an event of probability zero."""


class QueryError(SpecError):
    """A query is malformed: it mixes worlds, uses ``and``/``or``, or names no variable."""


class FactorTooLargeError(SpecError):
    """Exact inference would build a factor larger than the stated limit."""


class ParameterError(SpecError):
    """A symbolic parameter is unbound where a number is needed, or bound to a bad value."""


class SpecFileError(SpecError):
    """A spec file is malformed; the message names the file and line."""


class UnsafeExpressionError(SpecFileError):
    """A spec-file expression uses a construct outside the safe whitelist (calls, imports,
    attributes); it is rejected before anything runs."""


class ModelTooLargeError(SpecError):
    """A model, horizon, simulation, property bound or verification encoding would exceed
    a documented size limit; refused before any work, with the estimate and the name of
    the limit to raise (e.g. ``cpspec.decisions.mdp.MAX_HORIZON_WORK``)."""


class BudgetError(SpecError):
    """A call ran out of its time budget (``timeout=``) before it had an answer; the
    message names the budget and how to raise it. Never a partial or guessed result."""


class DuplicateNameError(SpecFileError, DuplicateNodeError):
    """A spec file names two things alike: the same key twice once names are normalised
    as Python normalises identifiers (NFKC: ``G`` and the fullwidth ``Ｇ``, ``fi`` and the
    ligature ``ﬁ``), or a list that repeats a name."""


class InternalError(SpecError):
    """Something went wrong inside cpspec itself (a bug to report, not a fault of the
    spec file); reported for the one claim, property or file it concerns, the rest of a
    run goes on."""


class ClosedFormError(SpecError):
    """No closed form (or no proof of one) could be derived, for example for a symbolic
    horizon; nothing was guessed. The message says why and suggests concrete values."""


class ChunkError(SpecError):
    """An action chunk that cannot be planned with: it never ends, or can run without
    bound (it can return to a state without ending), or no chunk can start in a state.
    The message names the chunk, the state and the loop."""


class ExecutorError(SpecError):
    """Work could not be sent to or run on an executor: a part of the model that cannot
    be pickled for worker processes (named, with the fix), a Dask scheduler that does not
    answer, a worker lost while computing a value that has no *unknown*."""
