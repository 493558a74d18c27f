"""``myopic(N)``: can anything the planning world holds at steps ``>= N`` change the
planned first action?

Whatever happens at steps ``>= N`` reaches the first decision only through the values
``V_N(x)`` of the states ``x`` at step ``N``; any table of values can be made by some
rewards and transitions there, so the question is whether some ``V_N`` makes the
optimal first action (ties to the first declared action) differ from the planned one.
Three tiers, cheapest first; ``Outcome.method`` names the one that decided:

``structure``
    A planning horizon ``H <= N`` (STH's cut) means the planning world has no steps
    ``>= N``: the property holds for every state and every dynamics, with no computation.
``witness``
    Exact counterexamples. First ``V_N = 0``. Then *spikes* ``V_N = c`` at one state
    ``x`` and 0 elsewhere: for each target ``x`` one backward induction with ``V_N`` the
    indicator of ``x`` and the rewards kept as a second, lower-order component gives, for
    every start state at once and every first action ``a``, the line
    ``Q_0(s, a; c) = alpha_a + gamma^N p_a c`` that holds for all large ``c``, where
    ``p_a`` is the largest probability of being at ``x`` at step ``N`` after ``a`` (for
    ``c -> -oo``: the smallest, the avoidance spike). When an action ``b`` has
    ``p_b > p_a`` for the planned ``a``, a large enough ``c`` flips the action: surely
    once ``c > span / (gamma^N (p_b - p_a))`` (``span``: the reward range over ``N``
    steps), and usually already just above the crossing of the two lines. Values are
    readable: the smallest integer (above 1000, the smallest two-digit round number)
    above the crossing, confirmed by an exact backward induction; where it does not flip
    (the optimal continuation changes beyond the crossing), the one above the sure bound
    does, and a few more exact backward inductions close in between the two on a small
    value that flips. A float pass over all targets at once orders them (the most
    promising first, those that cannot flip any start skipped); every verdict is
    exact.
``z3``
    What is left: the planning world's backward induction for steps ``< N`` over Z3
    reals with ``V_N`` free, per start state, over the states reachable from it.

Spikes are not complete: a value may flip the action only in a middle range (the lines
for large ``|c|`` do not cross, but the optimal continuation changes in between), and a
flip may need values at several states. Neither is missed: Z3 decides them. With
``N = 1`` and no planning choice after the first action, ``V_N = 0`` and the spikes
together are complete (two first-step distributions that differ put more mass on some
state).

An agent that plans with chunks is checked on its plan's reach instead
(:mod:`cpspec.verification.reach`); for a step-by-step agent ``myopic(N, slack=k)`` is
``myopic(N + k)``, and ``within < 1`` changes nothing (its plan reaches its horizon with
probability 1).

The whole call runs within the caller's :class:`~cpspec.budget.Deadline`, checked
between states and steps; when it runs out the verdict is *unknown*, never *holds*.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction
from math import isqrt, lcm
from numbers import Integral

import numpy as np
import sympy
import z3

from ..agents.base import Agent
from ..budget import Deadline
from ..core.partition import to_z3
from ..core.regions import Sign
from ..decisions.mdp import MDP
from ..decisions.solving import backward_induction, ExactModel
from ..errors import ModelTooLargeError
from ..progress import progress
from . import encoding
from .encoding import check_z3, differs, fraction, max_var, new_solver, real
from .properties import Property
from .reach import check_reach
from .records import Counterexample, Outcome

__all__ = ["check_myopic", "ContinuationWitness", "find_witness", "find_z3_continuation",
           "readable_above", "continuation_problem"]

#: Float reach probabilities closer than this are treated as possibly equal (the exact
#: pass decides them); farther apart, their sign is trusted to skip a target.
_FLOAT_NOISE = 1e-9

#: Crossings of the large-``|c|`` lines tried per target before the sure bound.
_TRIES_PER_TARGET = 3

#: Exact backward inductions spent closing in on the smallest flipping value when the
#: crossing of the lines does not flip (each halves the gap on a log scale).
_BISECTIONS = 8


@dataclass(frozen=True)
class ContinuationWitness:
    """Continuation values at step ``N`` that flip the planned first action in
    ``state`` from ``nominal`` to ``flipped``, confirmed by exact backward induction.
    ``values`` holds the nonzero values only (0 elsewhere); ``threshold`` is, for a
    spike, the exact value of ``c`` where the planned and the flipped action's lines for
    large ``|c|`` cross (beyond it and beyond the last change of the optimal
    continuation, ``c`` flips the action); None for ``V_N = 0`` and Z3's values."""

    state: object
    nominal: object
    flipped: object
    values: dict
    threshold: Fraction | None = None


def check_myopic(agent: Agent, prop: Property, deadline: Deadline) -> Outcome:
    """The decision procedure of ``myopic(N)`` (see the module docstring): ``structure``,
    then exact witnesses, then Z3 for what is left, all within ``deadline``.

    Examples
    --------
    >>> import cpspec as cp
    >>> from cpspec.budget import Deadline
    >>> from cpspec.examples import delayed_reward
    >>> env = delayed_reward(delay=2)
    >>> check_myopic(cp.agents.STH(env, horizon=2), cp.myopic(3), Deadline(None)).method
    'structure'
    >>> out = check_myopic(cp.agents.FP(env), cp.myopic(2), Deadline(None))
    >>> out.status, out.method, out.counterexample.data["flipped"]
    ('fails', 'witness', 'take')
    """
    if agent.chunks is not None:  # the plan can look past its horizon: read its reach
        return check_reach(agent, prop, deadline)
    if agent.stamped_planning:
        return Outcome("unknown", None, (
            f"myopic is encoded for planning worlds over the environment's states; "
            f"{agent.kind}'s planning world is stamped with the planning step (its "
            "correction depends on the steps to go)"))
    if prop.within == 1:
        return Outcome("holds", None, "within = 1 allows the plan to look anywhere",
                       method="structure")
    if prop.slack:  # a step-by-step plan looks exactly to its horizon, with probability 1
        prop = replace(prop, N=prop.N + prop.slack, slack=0)
    N = prop.N
    env = agent.env
    H = agent.horizon
    if isinstance(H, sympy.Symbol):
        return Outcome("unknown", None, f"the planning horizon {H} is symbolic; give a number")
    if isinstance(H, Integral) and H <= N:
        return Outcome("holds", None,
                       f"the planning world of {agent.kind} ends at step {H} <= {N} (its "
                       f"planning horizon: STH's cut), so nothing at steps >= {N} exists in it; "
                       "this holds in every state, for any dynamics",
                       method="structure")
    n_terms = N * sum(len(r) for r in env.P.values())
    if n_terms > encoding.MAX_TERMS:
        raise ModelTooLargeError(f"myopic({N}) of {agent!r} would need about {n_terms} "
                                 f"terms (limit {encoding.MAX_TERMS}); lower N or the model size")
    nominal = agent.planned_actions(agent.o0)
    groups = _planning_groups(agent)
    for mdp, starts in groups:
        deadline.check()
        w = find_witness(mdp, {s: nominal[s] for s in starts}, N, deadline)
        if w is not None:
            return Outcome("fails", _counterexample(mdp, w, N), None, method="witness")
    left = [(mdp, s) for mdp, starts in groups for s in starts]
    for mdp, s in progress(left, len(left), f"myopic({N}) z3", min_total=50):
        res, why, vals = find_z3_continuation(mdp, s, nominal[s], N, deadline)
        if res == "unknown":
            return Outcome("unknown", None, f"state {s!r}: {why}")
        if res == "sat":
            w = _minimised(mdp, s, nominal[s], vals, N, deadline)
            return Outcome("fails", _counterexample(mdp, w, N), None)
    return Outcome("holds", None, f"no continuation values at step {N} change the first "
                                  "action in any state (no spike flips it; Z3 proves it)")


def _planning_groups(agent: Agent) -> list:
    """``[(planning MDP, start states)]``: one planning world for all states, unless it
    depends on the current state (ITC)."""
    states = agent.env.states
    if agent.planning_depends_on_state:
        return [(agent.planning_mdp(agent.o0, s), [s]) for s in states]
    return [(agent.planning_mdp(agent.o0, states[0]), list(states))]


# ---- exact witnesses -------------------------------------------------------------------

@dataclass(frozen=True)
class _Tables:
    """The planning MDP in integers: probabilities ``pn / L``, rewards ``rn / LR``,
    ``gamma = gn / gd``; ``rows[i][k]`` lists ``(j, pn, rn)`` for state ``i``, action
    ``k``."""

    states: tuple
    L: int
    LR: int
    gn: int
    gd: int
    rows: tuple
    span: Fraction     # largest minus smallest reward of a possible transition

    @classmethod
    def of(cls, mdp: MDP) -> "_Tables | None":
        nums = [mdp.gamma, *mdp.R.values(), *(p for r in mdp.P.values() for p in r.values())]
        if not all(isinstance(v, Fraction) for v in nums):
            return None  # irrational numbers: Z3 decides (or says why it cannot)
        idx = {s: i for i, s in enumerate(mdp.states)}
        L = lcm(*(p.denominator for r in mdp.P.values() for p in r.values()))
        LR = lcm(*(r.denominator for r in mdp.R.values()))
        rows = tuple(tuple(tuple((idx[s2], int(p * L), int(mdp.R[(s, a, s2)] * LR))
                                 for s2, p in mdp.P[(s, a)].items())
                           for a in mdp.actions) for s in mdp.states)
        rs = list(mdp.R.values())
        return cls(tuple(mdp.states), L, LR, mdp.gamma.numerator, mdp.gamma.denominator,
                   rows, max(rs) - min(rs))


def _lines(T: _Tables, x: int, N: int, sense: int, deadline: Deadline):
    """For ``V_N = c * [x]`` and ``sense * c`` large: ``Q_0(s, a; c) = alpha + gamma^N p c``
    for every state ``s`` and action ``a``, as ``(P, A)`` integer matrices and the
    denominators ``(Dp, Da)`` with ``p = P / Dp``, ``alpha = A / Da``. Below step 0 the
    states pick the action with the largest ``sense * p``, ties to the largest
    ``alpha``: the optimal line once ``sense * c`` is beyond every kink."""
    n = len(T.states)
    Wp = [0] * n
    Wp[x] = 1
    Wa = [0] * n
    Dp = Da = 1
    L, B, G = T.L, T.gd, T.gn * T.LR
    for step in range(N):
        deadline.check()
        RB = B * Da
        GA = [G * w for w in Wa]
        Qp = [[sum(p * Wp[j] for j, p, _ in row) for row in rows] for rows in T.rows]
        Qa = [[sum(p * (r * RB + GA[j]) for j, p, r in row) for row in rows] for rows in T.rows]
        Dp, Da = L * Dp, L * T.LR * T.gd * Da
        if step == N - 1:
            return Qp, Qa, Dp, Da
        Wp, Wa = [], []
        for qp, qa in zip(Qp, Qa):
            k = max(range(len(qp)), key=lambda k: (sense * qp[k], qa[k]))
            Wp.append(qp[k])
            Wa.append(qa[k])
    raise ValueError("N must be positive")


def _float_reach(T: _Tables, N: int, sense: int, deadline: Deadline):
    """Float ``p[s, a, x]``: the largest (``sense = 1``) or smallest (``-1``) probability
    of being at ``x`` at step ``N`` after first action ``a`` in ``s``, for all targets
    ``x`` at once, yielded as ``(first target, p)`` in chunks of targets that keep memory
    bounded. Only orders the exact pass."""
    n, m = len(T.states), len(T.rows[0])
    edges = []
    for k in range(m):
        cols = np.array([j for rows in T.rows for j, _, _ in rows[k]], dtype=np.int64)
        probs = np.array([p / T.L for rows in T.rows for _, p, _ in rows[k]])
        starts = np.cumsum([0] + [len(rows[k]) for rows in T.rows[:-1]])
        edges.append((cols, probs, starts))
    width = max(1, 1_000_000 // max(len(edges[0][0]) * m, n * m))
    pick = np.max if sense > 0 else np.min
    for lo in range(0, n, width):
        hi = min(n, lo + width)
        V = np.zeros((n, hi - lo))
        V[np.arange(lo, hi), np.arange(hi - lo)] = 1.0
        for step in range(N):
            deadline.check()
            Q = np.stack([np.add.reduceat(probs[:, None] * V[cols], starts, axis=0)
                          for cols, probs, starts in edges], axis=1)
            V = pick(Q, axis=1)
        yield lo, Q


def readable_above(t: Fraction) -> int:
    """A readable number strictly above ``t >= 0``: the smallest integer when ``t < 1000``,
    else the smallest number with two significant digits.

    Examples
    --------
    >>> readable_above(Fraction(7, 2)), readable_above(Fraction(4)), readable_above(0)
    (4, 5, 1)
    >>> readable_above(Fraction(123456, 7))
    18000
    """
    f = int(t // 1)
    if f < 1000:
        return f + 1
    e = len(str(f)) - 2
    return (f // 10 ** e + 1) * 10 ** e


def find_witness(mdp: MDP, nominal: dict, N: int,
                 deadline: Deadline | None = None) -> ContinuationWitness | None:
    """Exact continuation values at step ``N`` of the planning world ``mdp`` that flip
    the first action of some start state ``s`` away from ``nominal[s]``: ``V_N = 0``,
    then spikes at one state (see the module docstring); each confirmed by exact
    backward induction. None when no such witness is found (which proves nothing).

    Examples
    --------
    >>> import cpspec as cp
    >>> m = cp.MDP(["s", "x", "y"], ["a", "b"],
    ...            lambda s, a: {"x": 1} if (s, a) == ("s", "b") else {"y": 1},
    ...            lambda s, a, s2: 1 if (s, a) == ("s", "a") else 0, "s", gamma="1/2")
    >>> w = find_witness(m, {"s": "a"}, 1)
    >>> w.flipped, w.values == {"x": 3}, w.threshold       # c > 2 flips; 3 is shown
    ('b', True, Fraction(2, 1))
    """
    deadline = deadline or Deadline(None)
    model = ExactModel.of(mdp)
    sign = Sign(model.K, None)
    rules, _ = backward_induction(model, N, sign, deadline=deadline)
    for s, a in nominal.items():
        if rules[0][s] != a:
            return ContinuationWitness(s, a, rules[0][s], {})
    T = _Tables.of(mdp)
    if T is None:
        return None
    index = {s: i for i, s in enumerate(T.states)}
    starts = [(index[s], mdp.actions.index(a)) for s, a in nominal.items()]
    gN = Fraction(T.gn, T.gd) ** N
    if gN == 0:
        return None  # gamma = 0: nothing after the first step matters
    span = T.span * sum(Fraction(T.gn, T.gd) ** t for t in range(N))
    for x, sense in _targets(T, N, starts, deadline):
        Qp, Qa, Dp, Da = _lines(T, x, N, sense, deadline)
        cands = []
        for i, k in starts:
            for b in range(len(mdp.actions)):
                dp = sense * (Qp[i][b] - Qp[i][k])
                if b == k or dp <= 0:
                    continue
                slope = gN * Fraction(dp, Dp)
                cross = Fraction(Qa[i][k] - Qa[i][b], Da) / slope
                sure = readable_above(span / slope)
                near = readable_above(max(cross, Fraction(0)))
                cands.append((near, False, i, cross))
                cands.append((sure, True, i, cross))
        def flip_at(c: int, prefer):
            """The start that ``V_N = sense * c`` at ``x`` flips (``prefer`` first)."""
            vals = {x2: Fraction(0) for x2 in mdp.states}
            vals[T.states[x]] = Fraction(sense * c)
            rules, _ = backward_induction(model, N, sign, V_end=vals, deadline=deadline)
            flips = [s for s, a in nominal.items() if rules[0][s] != a]
            s = prefer if prefer in flips else next(iter(flips), None)
            return None if s is None else (s, rules[0][s])

        failed = []
        for c, sure, i, cross in sorted(cands, key=lambda c: (c[0], c[2])):
            if c in failed or (len(failed) >= _TRIES_PER_TARGET and not sure):
                continue
            hit = flip_at(c, T.states[i])
            if hit is None:
                failed.append(c)
                if sure:
                    break  # cannot happen (the bound is a proof); the other targets remain
                continue
            # a crossing that did not flip lies below: close in on the smallest value
            # that does (a kink of the optimal continuation lies between them)
            lo = max((f for f in failed if f < c), default=None)
            for _ in range(_BISECTIONS if lo is not None else 0):
                mid = readable_above(Fraction(isqrt(lo * c)) if c > 2 * lo
                                     else Fraction(lo + c, 2))
                if mid >= c:
                    break
                h = flip_at(mid, hit[0])
                if h is None:
                    lo = mid
                else:
                    c, hit = mid, h
            return ContinuationWitness(hit[0], nominal[hit[0]], hit[1],
                                       {T.states[x]: Fraction(sense * c)},
                                       sense * cross if hit[0] == T.states[i] else None)
    return None


def _targets(T: _Tables, N: int, starts: list, deadline: Deadline) -> list:
    """``(x, sense)`` pairs worth an exact pass, the most promising first: float reach
    probabilities say where some action may reach ``x`` more (``sense = 1``) or less
    (``-1``) than the planned one; pairs where every start's planned action clearly
    wins are skipped (skipping only costs a witness, never a verdict)."""
    rows = np.array([i for i, _ in starts])
    noms = np.array([k for _, k in starts])
    scored = []
    for sense in (1, -1):
        for lo, p in _float_reach(T, N, sense, deadline):
            nom = p[rows, noms, :]                              # (starts, targets)
            gain = sense * (p[rows, :, :] - nom[:, None, :])    # (starts, actions, targets)
            for x, best in enumerate(gain.max(axis=(0, 1)).tolist(), start=lo):
                if best > -_FLOAT_NOISE:
                    # the larger the gain, the smaller the sure bound; possible ties last
                    scored.append((-best if best > _FLOAT_NOISE else 1.0, sense < 0, x, sense))
    scored.sort()
    return [(x, sense) for *_, x, sense in scored]


# ---- Z3 --------------------------------------------------------------------------------

def _reach(mdp, s, N) -> list[set]:
    levels = [{s}]
    for _ in range(N):
        levels.append({x2 for x in levels[-1] for a in mdp.actions for x2 in mdp.P[(x, a)]})
    return levels


def find_z3_continuation(mdp: MDP, s, nominal, N: int, deadline: Deadline | None = None):
    """The full Z3 encoding for start ``s``, over the states reachable from it: the
    backward induction for steps ``< N`` with ``V_N`` free. Returns ``(status, reason,
    values)``: ``"sat"`` with values for every state (0 where unreachable), ``"unsat"``
    (no continuation values flip ``nominal``), or ``"unknown"`` with Z3's reason.

    Examples
    --------
    >>> import cpspec as cp
    >>> m = cp.MDP(["x", "y"], ["a", "b"], lambda s, a: {"x": "1/2", "y": "1/2"},
    ...            lambda s, a, s2: 1, "x", gamma="1/2")
    >>> find_z3_continuation(m, "x", "a", 2)[0]
    'unsat'
    """
    ctx = z3.Context()
    solver = new_solver(ctx, deadline or Deadline(None))
    Vend = continuation_problem(mdp, s, nominal, N, ctx, solver)
    res, why = check_z3(solver)
    if res != "sat":
        return res, why, None
    m = solver.model()
    vals = {x: Fraction(0) for x in mdp.states}
    vals.update({x: fraction(m.eval(v, model_completion=True)) for x, v in Vend.items()})
    return res, why, vals


def continuation_problem(mdp: MDP, s, nominal, N: int, ctx, solver, params=None) -> dict:
    """Add to ``solver``: the planning world's backward induction for steps ``< N`` from
    ``s`` (over the states reachable from it) with the values ``V_N`` free, and "the
    first action in ``s`` is not ``nominal``". ``params`` maps the MDP's symbolic
    parameters to Z3 variables (synthesis; probabilities, rewards and the discount must be
    polynomial in them). Returns the free ``V_N`` as ``{state: z3 variable}``."""
    def num(x):
        if params and isinstance(x, sympy.Basic) and x.free_symbols:
            return to_z3(x, params, ctx)
        return real(ctx, x)
    levels = _reach(mdp, s, N)
    g = num(mdp.gamma)
    V = {x: z3.Real(f"V_{N}[{x}]", ctx) for x in levels[N]}
    Vend = dict(V)
    for t in reversed(range(N)):
        Q = {x: {a: z3.Sum(*[num(p) * (num(mdp.R[(x, a, x2)]) + g * V[x2])
                             for x2, p in mdp.P[(x, a)].items()])
                 for a in mdp.actions} for x in levels[t]}
        if t == 0:
            break
        V = {x: max_var(ctx, solver, f"V_{t}[{x}]", list(Q[x].values())) for x in levels[t]}
    solver.add(differs(ctx, Q[s], mdp.actions, nominal))
    return Vend


def _minimised(mdp, s, nominal, vals, N, deadline) -> ContinuationWitness:
    """Z3's values made readable: each nonzero value set to 0, else rounded away from 0
    to an integer, wherever an exact backward induction confirms the flip still holds."""
    model = ExactModel.of(mdp)
    sign = Sign(model.K, None)

    def flipped(v):
        rules, _ = backward_induction(model, N, sign, V_end=v, deadline=deadline)
        return rules[0][s] if rules[0][s] != nominal else None

    best = dict(vals)
    for x in sorted((x for x, v in vals.items() if v), key=lambda x: -abs(vals[x])):
        v = best[x]
        for simpler in (Fraction(0), Fraction(-((-v) // 1) if v > 0 else v // 1)):
            if simpler == v:
                break
            trial = {**best, x: simpler}
            if flipped(trial) is not None:
                best = trial
                break
    return ContinuationWitness(s, nominal, flipped(best),
                               {x: v for x, v in best.items() if v})


# ---- the counterexample ----------------------------------------------------------------

def _show(v: Fraction) -> str:
    """An exact value; a large round integer as ``1.3*10^8``.

    >>> _show(Fraction(130_000_000)), _show(Fraction(-7, 2)), _show(Fraction(1_234_567))
    ('1.3*10^8', '-7/2', '1234567')
    """
    if v.denominator == 1 and abs(v) >= 10 ** 6:
        digits = str(abs(v.numerator))
        mantissa = digits.rstrip("0")
        if len(digits) - len(mantissa) >= 3:
            m = mantissa[0] + ("." + mantissa[1:] if len(mantissa) > 1 else "")
            return f"{'-' if v < 0 else ''}{m}*10^{len(digits) - 1}"
    return str(v)


def _counterexample(mdp: MDP, w: ContinuationWitness, N: int) -> Counterexample:
    """The witness replayed by exact backward induction, its text listing only the
    nonzero values."""
    vals = {x: Fraction(0) for x in mdp.states}
    vals.update(w.values)
    model = ExactModel.of(mdp)
    rules, _ = backward_induction(model, N, Sign(model.K, None), V_end=vals)
    flipped = rules[0][w.state]
    if w.values:
        shown = ", ".join(f"{_show(v)} in state {x!r}" for x, v in w.values.items())
        worth = f"{shown} and 0 elsewhere"
    else:
        worth = "0 in every state"
    text = (f"in state {w.state!r} the planned first action is {w.nominal!r}; if the planning "
            f"world from step {N} on is worth {worth} (any rewards or transitions there "
            f"can make it so), the optimal first action becomes {flipped!r}")
    evidence = {"replayed_action": flipped, "confirmed": flipped != w.nominal}
    if w.threshold is not None:
        evidence["threshold"] = w.threshold
    return Counterexample("continuation", {"state": w.state, "nominal": w.nominal,
                                           "flipped": flipped, "step": N,
                                           "continuation_values": vals},
                          text, evidence)
