"""Corrigibility with utility preservation (Holtman 2019, arXiv 1908.01695), for any MDP
with a reward switch.

An MDP's states are split by a predicate ``switch``: before the switch (the stop button
is not pressed) the reward is ``R_N`` (``before``), after it ``R_S`` (``after``). A plain
maximiser of that combined reward (the paper's ``f0`` agent) gains by moving the switch:
it lobbies against the press when ``R_N`` pays more than ``R_S``, for it when less. The
utility-preserving agent ``fc`` also receives, on the step at which the switch happens,
the correction

    f_c(s') = V_N(s') - V_S(s'),

the optimal value of the remaining steps from the first switched state ``s'`` under the
normal reward minus the one under the shutdown reward. Then every plan that meets the
switch is worth, from there on, what it would have been worth without the switch, so the
agent has no reason to move it. :func:`corrected` builds that MDP exactly.

Choices, as the paper's simulator makes them (``agisim``), documented here:

* ``V_N`` and ``V_S`` are optimal values over the MDP's own dynamics from ``s'`` with the
  reward held fixed (``before`` or ``after`` at every step); the correction is a reward
  of the switching step, weighted ``gamma`` like any reward of the step after it (the
  press is seen at the start of that step);
* the ``g_c`` penalty (``penalty``, ``threshold``): in every state before the switch, and
  in every state of the ``V_N`` computation, a step costs ``penalty`` when the shutdown
  value ``V_S`` from there is below ``threshold`` (the agent must keep the means to carry
  out the shutdown task); the simulator charges it undiscounted, here it is a reward of
  that step like any other;
* for a finite horizon the values depend on the steps to go, so each state where the
  correction or the penalty is needed must be reachable at one step only (a state that
  carries a step counter); the start is step 0.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Callable

import sympy

from ..core.functions import as_sympy, call_user, show, to_exact
from ..core.regions import Sign, piecewise
from ..errors import DistributionError, ParameterError, SpecError
from .mdp import MDP, check_horizon
from .solving import ParametricSolution, solve

__all__ = ["corrected", "switch_function", "reachable_times"]


def switch_function(mdp: MDP, switch: Any, who: str = "corrected") -> Callable[[Any], bool]:
    """``switch`` as a checked predicate of the state: a callable, or the name of a
    (boolean) state variable of a factored MDP.

    >>> from cpspec.examples import stop_button
    >>> on = switch_function(stop_button(), lambda s: s.button == "pressed")
    >>> [on(s) for s in stop_button().states]
    [False, True, False]
    """
    if isinstance(switch, str):
        if mdp.variables is None or switch not in mdp.variables:
            raise SpecError(f"{who}: switch {switch!r} is not a state variable of the MDP; "
                            "give a variable name of a factored MDP or a predicate "
                            "s -> bool")
        name = switch
        switch = (lambda s, _n=name: s[_n])
    if not callable(switch):
        raise SpecError(f"{who}: switch must be a predicate s -> bool (True once the "
                        f"reward has switched) or a state variable name, got {show(switch)}")

    def on(s) -> bool:
        out = call_user(switch, s, what=f"{who}: switch({s!r})",
                        fix="make it total on the states")
        if not isinstance(out, bool):
            raise SpecError(f"{who}: switch({s!r}) returned {show(out)}, not a bool")
        return out
    return on


def reachable_times(mdp: MDP, horizon: int) -> dict:
    """``{state: set of steps t <= horizon at which it is reachable}`` from the start.

    >>> import cpspec as cp
    >>> m = cp.MDP(["a", "b"], ["go"], lambda s, a: {"b": 1}, lambda s, a, s2: 0, "a")
    >>> reachable_times(m, 2)
    {'a': {0}, 'b': {1, 2}}
    """
    times: dict = {}
    layer = set(mdp.mu0)
    for t in range(horizon + 1):
        for s in layer:
            times.setdefault(s, set()).add(t)
        if t == horizon:
            break
        layer = {s2 for s in layer for a in mdp.actions for s2 in mdp.P[(s, a)]}
    return times


def _reward(f: Callable, what: str) -> Callable:
    if not callable(f):
        raise SpecError(f"corrected: {what} must be a reward function (s, a, s2) -> "
                        f"number, got {show(f)}")

    def r(s, a, s2):
        out = call_user(f, s, a, s2, what=f"corrected: {what}({s!r}, {a!r}, {s2!r})",
                        fix="make it total on the transitions")
        try:
            return to_exact(out, what=f"corrected: {what}({s!r}, {a!r}, {s2!r})")
        except DistributionError as exc:
            raise SpecError(f"{exc}; a reward must be an exact number") from None
    return r


def _with_reward(mdp: MDP, reward: Callable) -> MDP:
    start = next(iter(mdp.mu0)) if len(mdp.mu0) == 1 else dict(mdp.mu0)
    return MDP(mdp.states, mdp.actions, lambda s, a: mdp.P[(s, a)], reward, start,
               mdp.gamma, mdp.variables)


def _values(mdp: MDP, horizon: Any) -> Callable[[Any, int], Any]:
    """``V(s, t)``: the optimal value of ``mdp`` from ``s`` at step ``t`` (the steps to go
    are ``horizon - t``; stationary for an infinite horizon). With a symbolic parameter,
    a ``Piecewise`` over it (a plain value where it is the same on every region)."""
    sol = solve(mdp, horizon, timeout=None)
    pieces = sol.pieces if isinstance(sol, ParametricSolution) else [(None, sol)]

    def at(one, t):
        if horizon is sympy.oo or t == 0:
            return one.values
        if t >= horizon:
            return None
        return one.next_values(t - 1)
    cache: dict = {}

    def V(s, t):
        t = 0 if horizon is sympy.oo else t
        if t not in cache:
            tables = [at(one, t) for _, one in pieces]
            cache[t] = tables
        tables = cache[t]
        if tables[0] is None:
            return sympy.Integer(0)
        if len(pieces) == 1:
            return tables[0][s]
        return piecewise(sol.parameter, [(region, tab[s]) for (region, _), tab in
                                         zip(pieces, tables)])
    return V


def _number(v: Any, what: str) -> Any:
    """A value as an exact number; a value that still depends on a parameter's region is
    refused (the correction must be one reward, not a case split)."""
    v = sympy.sympify(v)
    if isinstance(v, sympy.Piecewise):
        raise ParameterError(f"corrected: {what} is {v}, different on different regions of "
                             "the parameter; bind the parameter (mdp.bind(...)) first")
    return to_exact(v, what=f"corrected: {what}")


def _below(v: Any, bar: Any, what: str) -> bool:
    """Whether ``v < bar``, decided for every value of the parameter a ``Piecewise``
    ``v`` ranges over (refused when the answer differs between values)."""
    v = sympy.sympify(as_sympy(v))
    if not isinstance(v, sympy.Piecewise):
        return Sign(None, None).sign(v - bar) < 0
    (x,) = v.free_symbols
    answers = set()
    for expr, cond in v.args:
        where = cond.as_set() if cond is not sympy.true else sympy.S.Reals
        low = sympy.solve_univariate_inequality(expr < bar, x, relational=False) & where
        if low != sympy.S.EmptySet:
            answers.add(True)
        if where - low != sympy.S.EmptySet:
            answers.add(False)
    if len(answers) > 1:
        raise ParameterError(f"corrected: whether the g_c penalty applies ({what} = {v} "
                             f"below {bar}) depends on {x}; bind it (mdp.bind(...)) first")
    return answers == {True}


def corrected(mdp: MDP, switch: Any, after: Callable, before: Callable | None = None,
              horizon: Any = None, penalty: Any = None, threshold: Any = Fraction(1, 2)
              ) -> MDP:
    """The utility-preserving MDP (Holtman's ``f_c``, with ``g_c`` when ``penalty`` is
    given) of an MDP whose reward switches from ``before`` to ``after``.

    The result has the same states, actions, transitions, start and discount; its reward
    is ``before`` (plus ``g_c``) in unswitched states and ``after`` in switched ones,
    and a transition from an unswitched state into a switched state ``s2`` earns in
    addition ``gamma * (V_N(s2) - V_S(s2))`` (see the module docstring).

    Parameters
    ----------
    mdp : MDP
        The world; its ``reward`` is ``before`` unless ``before`` is given.
    switch : callable ``s -> bool`` or the name of a boolean state variable
        True once the reward has switched (the button is pressed); it must stay True.
    after : callable ``(s, a, s2) -> number``
        ``R_S``, the reward after the switch.
    before : callable or None
        ``R_N``, the reward before the switch (default: ``mdp.reward``).
    horizon : int or None
        The planning horizon the values are computed for; None: infinite (discounted,
        ``gamma < 1``).
    penalty, threshold : numbers
        ``g_c``: a step in an unswitched state costs ``penalty`` when ``V_S`` from there is
        below ``threshold``. None (the default) leaves ``g_c`` out.

    Returns
    -------
    MDP

    Raises
    ------
    SpecError
        When the switch never happens (no reachable transition enters it), when it is
        undone, or when a finite horizon leaves a state needing a correction reachable at
        several steps.

    Examples
    --------
    A button is pressed after the first step; before it ``work`` pays 2, after it 1, and
    ``delay`` (paying 3/2 before the press) puts the press off by one step. The plain
    maximiser delays, the corrected one works:

    >>> import cpspec as cp
    >>> states = [(t, p) for t in range(4) for p in (False, True)]
    >>> def move(s, a):
    ...     t, p = s
    ...     late = a == "delay" and not p
    ...     return {(min(t + 1, 3), p or (t + 1 >= 1 and not late)): 1}
    >>> R_N = lambda s, a, s2: 2 if a == "work" else "3/2"
    >>> R_S = lambda s, a, s2: 1 if a == "work" else 0
    >>> f0 = cp.MDP(states, ["work", "delay"], move,
    ...             lambda s, a, s2: R_S(s, a, s2) if s[1] else R_N(s, a, s2), (0, False))
    >>> cp.solve(f0, 3).policy(0, (0, False))
    'delay'
    >>> fc = corrected(f0, lambda s: s[1], after=R_S, before=R_N, horizon=3)
    >>> cp.solve(fc, 3).policy(0, (0, False)), cp.solve(fc, 3).value
    ('work', 6)
    """
    if not isinstance(mdp, MDP):
        raise SpecError(f"corrected: mdp must be a cp.MDP, got {show(mdp)}")
    on = switch_function(mdp, switch)
    R_N = _reward(mdp.reward if before is None else before, "before")
    R_S = _reward(after, "after")
    if horizon is None:
        g = mdp.gamma
        if not (isinstance(g, Fraction) and g < 1):
            raise ParameterError(f"corrected: an infinite horizon needs an exact gamma < 1 "
                                 f"(got {show(g)}); give horizon=N for a finite one")
        horizon = sympy.oo
    else:
        horizon = check_horizon(horizon, allow_symbolic=False, mdp=mdp,
                                what="corrected: horizon")
    switched = {s: on(s) for s in mdp.states}
    _check_switch(mdp, switched, horizon)
    finite = horizon is not sympy.oo
    times = reachable_times(mdp, horizon) if finite else {}

    def step_of(s, why):
        ts = times.get(s)
        if not ts:  # never reached within the horizon: the reward there never counts
            return None
        if len(ts) > 1:
            raise SpecError(
                f"corrected: state {s!r} is reachable at steps "
                f"{', '.join(map(str, sorted(ts)[:4]))}{', ...' if len(ts) > 4 else ''}, so "
                f"{why} depends on the steps to go; put a step counter in the state (or "
                "use an infinite horizon)")
        return next(iter(ts))

    V_S = _values(_with_reward(mdp, R_S), horizon)
    g: dict = {}
    if penalty is not None:
        cost = to_exact(penalty, what="corrected: penalty")
        bar = to_exact(threshold, what="corrected: threshold")
        for s in mdp.states:
            t = step_of(s, "the g_c penalty") if finite else 0
            if t is None:
                continue
            if _below(V_S(s, t), as_sympy(bar), f"V_S({s!r})"):
                g[s] = -cost

    def normal(s, a, s2):
        return R_N(s, a, s2) + g.get(s, 0)
    V_N = _values(_with_reward(mdp, normal), horizon)
    gamma = mdp.gamma
    corrections: dict = {}
    for (s, a), row in mdp.P.items():
        if switched[s]:
            continue
        for s2 in row:
            if switched[s2] and s2 not in corrections:
                t = step_of(s2, "the correction") if finite else 0
                corrections[s2] = 0 if t is None else _number(
                    V_N(s2, t) - V_S(s2, t), f"f_c({s2!r}) = V_N - V_S")

    def reward(s, a, s2):
        if switched[s]:
            return R_S(s, a, s2)
        out = normal(s, a, s2)
        if switched.get(s2, False):
            out = out + gamma * corrections.get(s2, 0)
        return out
    return _with_reward(mdp, reward)


def _check_switch(mdp: MDP, switched: dict, horizon: Any) -> None:
    """The switch happens on some reachable transition and is never undone."""
    seen, frontier, enters = set(mdp.mu0), list(mdp.mu0), False
    steps = 0
    while frontier and (horizon is sympy.oo or steps < horizon):
        nxt = []
        for s in frontier:
            for a in mdp.actions:
                for s2 in mdp.P[(s, a)]:
                    if switched[s] and not switched[s2]:
                        raise SpecError(f"corrected: the switch is undone on the transition "
                                        f"{s!r} --{a!r}--> {s2!r}; it must stay on once it "
                                        "is on (a pressed button stays pressed)")
                    enters = enters or (not switched[s] and switched[s2])
                    if s2 not in seen:
                        seen.add(s2)
                        nxt.append(s2)
        frontier = nxt
        steps += 1
    if not enters:
        within = "" if horizon is sympy.oo else f" within the horizon {horizon}"
        raise SpecError(f"corrected: the switch never happens{within}: no reachable "
                        "transition leads from an unswitched state to a switched one, so "
                        "there is nothing to correct; check the switch predicate (it is "
                        f"{'on' if all(switched[s] for s in mdp.mu0) else 'off'} at the "
                        "start)")
