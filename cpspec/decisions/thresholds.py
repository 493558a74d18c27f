"""Exact plan thresholds over one parameter by line intersection.

When a parameter ``x`` enters an MDP so that the value of every fixed plan is *linear*
in ``x`` (a reward such as the car factory's ``r_e``; or a probability met at most once
on any world line, such as the "little arm" gamble's ``p_w``), the optimal start value
``V*(x) = max over plans of (a_plan + b_plan * x)`` is a convex piecewise-linear function
of ``x``, and the plan from the start changes exactly at its breakpoints. Parametric
solving (:func:`cp.solve` with ``x`` symbolic) splits on every comparison in every state
and step; this search needs only exact solves at chosen rational points, about two per
breakpoint: the classic exact "parametric LP by line intersection" (Eisner and
Severance's method):

1. solve at both ends of the interval; each optimal plan's value line is found exactly
   by evaluating that plan with ``x`` symbolic (:func:`cp.evaluate_policy`);
2. if the two lines are one, ``V*`` is that line in between (a convex function that
   touches a line at both ends of an interval and lies above it is that line there);
3. else solve at the lines' intersection ``x*``: if ``V*(x*)`` is on both lines, ``x*``
   is a breakpoint (``V*`` is the first line before it and the second after); else the
   plan optimal at ``x*`` is a new line above both there, and the search recurses on
   both halves with it.

Each probe finds a new line or a breakpoint, so the search ends after at most twice the
number of lines on ``V*``. Between breakpoints the plan along the start's world lines
(ties broken by the declared action order, as :func:`cp.solve` does) does not change: a
state's Q-values are convex piecewise-linear too, and two of them cannot start or stop
coinciding without a breakpoint of ``V*`` where the state is reached. At a breakpoint
the tie rule picks the plan reported at it.

Linearity is checked before the search (an upper bound on the degree in ``x`` of every
plan's value, from the degrees of the rewards and transition probabilities along the
world lines); a model where it fails is refused with the reason (solve it
parametrically instead).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import sympy

from ..budget import Deadline, check_timeout
from ..core.functions import as_sympy, show, to_exact
from ..errors import ParameterError, SpecError
from .mdp import MDP, check_horizon
from .solving import Solution, evaluate_policy, run_within, solve

__all__ = ["PlanPiece", "PlanThresholds", "plan_thresholds", "plan_along"]


def plan_along(solution: Solution) -> dict:
    """``{(t, s): action}`` of a finite-horizon solution for every step ``t`` and state
    ``s`` the start reaches with positive probability under its own policy: the plan
    along the start's world lines (decisions elsewhere never matter to the start).

    >>> import cpspec as cp
    >>> m = cp.MDP(["a", "b"], ["stay", "go"], lambda s, a: {"b": 1} if a == "go" else {s: 1},
    ...            lambda s, a, s2: 1 if s2 == "b" else 0, "a")
    >>> plan_along(cp.solve(m, 2))
    {(0, 'a'): 'go', (1, 'b'): 'stay'}
    """
    mdp = solution.mdp
    out: dict = {}
    layer = {s for s, p in mdp.mu0.items() if p != 0}
    for t in range(solution.horizon):
        nxt = set()
        for s in sorted(layer, key=repr):
            a = solution.policy(t, s)
            out[(t, s)] = a
            nxt.update(s2 for s2, p in mdp.P[(s, a)].items() if p != 0)
        layer = nxt
    return out


@dataclass(frozen=True, slots=True)
class PlanPiece:
    """One piece of :class:`PlanThresholds`: on ``interval`` the plan ``solution``
    (solved at the rational ``sample`` inside it) is optimal from the start, worth
    ``value`` (linear in the parameter)."""

    interval: sympy.Interval
    sample: Any
    value: Any
    solution: Solution

    @property
    def plan(self) -> dict:
        """The plan along the start's world lines (:func:`plan_along`)."""
        return plan_along(self.solution)


@dataclass(frozen=True, slots=True)
class PlanThresholds:
    """The exact values of ``parameter`` in ``interval`` where the optimal plan from the
    start changes (``thresholds``, increasing), the ``pieces`` between them, and the
    plan the tie rule picks exactly at each threshold (``at``: solutions, in the order
    of ``thresholds``). ``probes`` counts the exact solves the search made."""

    parameter: sympy.Symbol
    interval: sympy.Interval
    thresholds: tuple
    pieces: tuple
    at: tuple
    probes: int

    def piece(self, x: Any) -> PlanPiece:
        """The piece whose interval holds ``x`` (at a threshold: the one below it)."""
        x = as_sympy(to_exact(x, what=f"a value of {self.parameter}"))
        for p in self.pieces:
            if p.interval.contains(x) is sympy.true:
                return p
        raise ParameterError(f"{self.parameter} = {x} is outside the searched interval "
                             f"{self.interval}")

    def __str__(self):
        x = self.parameter
        lines = [f"the plan from the start over {x} in {self.interval}: "
                 f"{len(self.thresholds)} threshold(s)"]
        for i, p in enumerate(self.pieces):
            first = p.solution.policy(0, next(iter(p.solution.mdp.mu0)))
            lines.append(f"  {x} in {p.interval}: value {p.value}, first action {first!r}")
            if i < len(self.thresholds):
                lines.append(f"  threshold {x} = {self.thresholds[i]}")
        return "\n".join(lines)


#: What to do instead, for Python and for spec files.
_INSTEAD = ("solve with the parameter symbolic instead (cp.solve(mdp, horizon) in Python; "
            "thresholds(pi*) or pi*(t, s) in a spec file)")


def _degree(e: Any, x: sympy.Symbol, what: str) -> int:
    e = as_sympy(e)
    if x not in getattr(e, "free_symbols", ()):
        return 0
    try:
        return sympy.Poly(e, x).degree()
    except sympy.PolynomialError:
        raise ParameterError(f"plan_thresholds: {what} = {e} is not a polynomial in {x}, so "
                             f"a plan's value is not linear in it; {_INSTEAD}") from None


def _check_linear(mdp: MDP, horizon: int, x: sympy.Symbol) -> None:
    """Refuse unless every plan's value is at most linear in ``x``: a bound on the
    degree, by backward induction over the steps to go."""
    if x in getattr(as_sympy(mdp.gamma), "free_symbols", set()):
        raise ParameterError(f"plan_thresholds: the discount depends on {x}, so a plan's "
                             f"value is a polynomial of higher degree in it; {_INSTEAD}")
    dP = {(s, a, s2): _degree(p, x, f"P({s2!r} | {s!r}, {a!r})")
          for (s, a), row in mdp.P.items() for s2, p in row.items()}
    dR = {k: _degree(r, x, f"R{k!r}") for k, r in mdp.R.items()}
    if max(dP.values(), default=0) == 0 and max(dR.values(), default=0) <= 1:
        return  # the parameter only in rewards, linearly: every plan's value is linear
    D = {s: 0 for s in mdp.states}
    for _ in range(horizon):
        D = {s: max(dP[(s, a, s2)] + max(dR.get((s, a, s2), 0), D[s2])
                    for a in mdp.actions for s2 in mdp.P[(s, a)]) for s in mdp.states}
    worst = max(D[s] for s, p in mdp.mu0.items() if p != 0)
    if worst > 1:
        raise ParameterError(
            f"plan_thresholds: a plan's value can be a polynomial of degree {worst} in {x} "
            f"(it enters the rewards or probabilities more than once along a world line), "
            "so the optimal value is not piecewise linear in it and the line search does "
            f"not apply; {_INSTEAD}")


def _interval(interval: Any, x: sympy.Symbol) -> tuple:
    if isinstance(interval, sympy.Interval):
        ends = (interval.start, interval.end)
    elif isinstance(interval, (tuple, list)) and len(interval) == 2:
        ends = tuple(interval)
    else:
        raise SpecError(f"plan_thresholds: interval must be (low, high) or a "
                        f"sympy.Interval of exact numbers, got {show(interval)}")
    lo, hi = (to_exact(e, what=f"plan_thresholds: an end of the interval of {x}")
              for e in ends)
    if not (isinstance(lo, Fraction) and isinstance(hi, Fraction)) or lo >= hi:
        raise SpecError(f"plan_thresholds: the interval of {x} must have exact rational "
                        f"ends low < high, got ({show(lo)}, {show(hi)})")
    return lo, hi


def plan_thresholds(mdp: MDP, horizon: int, param: Any, interval: Any,
                    timeout: float | None = 60.0) -> PlanThresholds:
    """The exact values of one parameter where the optimal plan from the start changes,
    with the plans on each side, by line intersection (see the module docstring).

    Parameters
    ----------
    mdp : MDP
        A model whose only free symbol is ``param``, entering it so that every plan's
        value is linear in it (checked; otherwise :class:`ParameterError`).
    horizon : int
        The number of decisions.
    param : sympy.Symbol or str
        The parameter.
    interval : (low, high) or sympy.Interval
        Exact rational ends; the model must be valid at every value in between (a
        probability parameter: within [0, 1]).
    timeout : float or None
        Seconds for the whole call; when it runs out, :class:`BudgetError` (nothing is
        reported half-searched).

    Returns
    -------
    PlanThresholds

    Raises
    ------
    ParameterError
        When ``param`` is not the model's one free symbol, or a plan's value is not
        linear in it.
    BudgetError
        When ``timeout`` runs out.

    Examples
    --------
    ``take`` earns 1 now, ``wait`` earns ``r`` a step later; over ``r`` in [0, 4] the plan
    switches where ``r * gamma = 1``:

    >>> import cpspec as cp, sympy
    >>> r = sympy.Symbol("r")
    >>> m = cp.MDP(["start", "w", "done"], ["take", "wait"],
    ...     lambda s, a: {"w": 1} if (s, a) == ("start", "wait") else {"done": 1},
    ...     lambda s, a, s2: 1 if (s, a) == ("start", "take") else (r if s == "w" else 0),
    ...     "start", gamma="1/2")
    >>> found = cp.plan_thresholds(m, 2, r, (0, 4))
    >>> found.thresholds
    (2,)
    >>> [p.plan[(0, "start")] for p in found.pieces], found.at[0].policy(0, "start")
    (['take', 'wait'], 'take')
    >>> [p.value for p in found.pieces]
    [1, r/2]
    """
    deadline = Deadline(check_timeout(timeout))
    if not isinstance(mdp, MDP):
        raise SpecError(f"plan_thresholds: mdp must be a cp.MDP, got {show(mdp)}")
    horizon = check_horizon(horizon, allow_symbolic=False, mdp=mdp,
                            what="plan_thresholds: horizon")
    x = param if isinstance(param, sympy.Symbol) else sympy.Symbol(str(param))
    free = mdp.free_symbols()
    if x.name not in {s.name for s in free} or len(free) != 1:
        names = ", ".join(sorted(s.name for s in free)) or "none"
        raise ParameterError(f"plan_thresholds: {x} must be the model's one free parameter "
                             f"(its free parameters: {names}); bind the others first "
                             "(mdp.bind(...))")
    x = next(iter(free))
    lo, hi = _interval(interval, x)
    return run_within(deadline, "plan_thresholds", None,
                      lambda: _search(mdp, horizon, x, lo, hi))


def _search(mdp: MDP, horizon: int, x: sympy.Symbol, lo: Fraction, hi: Fraction
            ) -> PlanThresholds:
    _check_linear(mdp, horizon, x)
    probes = [0]

    def probe(v: Fraction):
        probes[0] += 1
        try:
            bound = mdp.bind(**{x.name: v})
        except SpecError as exc:  # a probability outside [0, 1] there
            raise ParameterError(f"plan_thresholds: the model is not valid at {x} = {v} "
                                 f"({exc}); search an interval where it is") from None
        sol = solve(bound, horizon, timeout=None)
        value = sympy.expand(as_sympy(evaluate_policy(mdp, sol.decision_rule, horizon,
                                                      timeout=None).value))
        # linear in x: _check_linear bounds every plan's degree by 1
        return (value.coeff(x, 1), value.coeff(x, 0)), sol

    def at(line, v):
        return line[0] * v + line[1]

    breaks: list = []  # (threshold, solution there)

    def search(a, b, left, right):
        # left is optimal at a, right at b; V* between them is found here
        if left == right:
            return
        v = (right[1] - left[1]) / (left[0] - right[0])
        line, sol = probe(Fraction(int(v.p), int(v.q)))
        if at(line, v) == at(left, v):  # on both lines: a breakpoint
            breaks.append((v, sol))
            return
        search(a, v, left, line)
        search(v, b, line, right)

    first, _ = probe(lo)
    last, _ = probe(hi)
    search(lo, hi, first, last)
    breaks.sort(key=lambda bp: bp[0])
    ends = [sympy.Rational(lo.numerator, lo.denominator)] + [v for v, _ in breaks] + \
        [sympy.Rational(hi.numerator, hi.denominator)]
    pieces = []
    for a, b in zip(ends, ends[1:]):
        mid = (a + b) / 2
        line, sol = probe(Fraction(int(mid.p), int(mid.q)))
        pieces.append(PlanPiece(sympy.Interval(a, b, left_open=a != ends[0]), mid,
                                line[0] * x + line[1], sol))
    return PlanThresholds(x, sympy.Interval(ends[0], ends[-1]),
                          tuple(v for v, _ in breaks), tuple(pieces),
                          tuple(sol for _, sol in breaks), probes[0])
