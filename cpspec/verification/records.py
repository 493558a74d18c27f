"""The records of verification: a :class:`Counterexample`, the :class:`Verdict` a user
gets, the :class:`Outcome` each decision procedure returns, and the typed statuses."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Status", "Counterexample", "Verdict", "Outcome", "STATUS_COLORS"]

#: What a verdict says: the property holds, fails (with a counterexample), or is unknown.
Status = Literal["holds", "fails", "unknown"]


@dataclass(frozen=True)
class Counterexample:
    """A concrete violation: ``data`` (plain values) and a readable ``text``, with the
    exact replay that confirmed it (``evidence``)."""

    kind: str
    data: dict
    text: str
    evidence: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        return (f"<div><b>counterexample ({html.escape(self.kind)})</b>"
                f"<pre>{html.escape(self.text)}</pre></div>")


#: The colour of each status in a notebook.
STATUS_COLORS = {"holds": "#1e8449", "fails": "#c0392b", "unknown": "#b9770e"}


@dataclass(frozen=True)
class Verdict:
    """The outcome of :func:`verify`."""

    status: Status
    property: str
    agent: str
    counterexample: Counterexample | None = None
    reason: str | None = None
    seconds: float = 0.0
    method: str = "z3"

    @property
    def holds(self) -> bool:
        return self.status == "holds"

    def __bool__(self) -> bool:
        return self.holds

    def _repr_html_(self) -> str:
        """The verdict with its status in colour, and the counterexample or reason.

        Examples
        --------
        >>> v = Verdict("fails", "myopic(1)", "FP", Counterexample("trace", {}, "A_0 = b"))
        >>> '<b style="color:#c0392b">FAILS</b>' in v._repr_html_()
        True
        """
        color = STATUS_COLORS[self.status]
        out = (f'<div><b style="color:{color}">{self.status.upper()}</b> '
               f"{html.escape(self.property)} of {html.escape(self.agent)} "
               f"<small>({html.escape(self.method)}, {self.seconds:.3f} s)</small>")
        if self.status == "fails" and self.counterexample is not None:
            out += f"<pre>{html.escape(str(self.counterexample))}</pre>"
        elif self.reason:
            label = "reason" if self.status == "unknown" else "why"
            out += f"<div><i>{label}:</i> {html.escape(self.reason)}</div>"
        return out + "</div>"

    def __str__(self) -> str:
        head = f"{self.status.upper()}  {self.property} of {self.agent} " \
               f"({self.method}, {self.seconds:.3f} s)"
        if self.status == "fails" and self.counterexample is not None:
            return head + "\n  counterexample: " + str(self.counterexample).replace(
                "\n", "\n  ")
        if self.reason:
            return head + f"\n  {'reason' if self.status == 'unknown' else 'why'}: " \
                          f"{self.reason}"
        return head


@dataclass(frozen=True)
class Outcome:
    """What one decision procedure found, before timing and replay checks make it a
    :class:`Verdict`: ``status``, the ``counterexample`` (for *fails*), the ``reason``
    (for *unknown*, or why it holds) and the ``method`` that decided it."""

    status: Status
    counterexample: Counterexample | None = None
    reason: str | None = None
    method: str = "z3"
