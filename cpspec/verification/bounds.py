"""Interval bounds for ``no_incentive(node)`` (method ``"bounds"``): exact lower and
upper planning values over every dynamics of the state variable ``node`` at once.

With ``node``'s rows free, the planning world's value in each state lies between two
exact numbers:

* the **upper** value ``V^U``: a helper picks, at every state, action and step, the
  node's next-value distribution that is best for the planner. ``Q(x, a)`` is linear in
  that distribution, so the best one puts all mass on one value: ``V^U`` is the optimal
  value of an ordinary MDP whose actions are the pairs (action, node's next value);
* the **lower** value ``V^L``: an adversary picks the worst distribution *after* seeing
  the action, ``V^L(x) = max_a min_v Q_v(x, a)`` (a turn-based game, again with
  deterministic rows at the extremes).

Both relax the problem: a real dynamics table has one row per parent configuration of
``node``, shared by every state, action and step that reads it, while the bounds choose
per state, action and step. So for every table ``theta``, ``V^L <= V*_theta <= V^U``
(the lower and upper Bellman operators bound the table's own operator, and all three
are monotone), and the same for the Q-values built from them. If in a state ``s``

    Q^L(s, nominal) >= Q^U(s, b)   for every action b declared after the nominal one,
    Q^L(s, nominal) >  Q^U(s, b)   for every action b declared before it (ties go to the
                                   first declared action),

no table changes the planned action in ``s``. The converse fails (the relaxation is not
tight), so undecided states go on to the witness and Z3 tiers; the helper's and the
adversary's choices there give candidate tables (:attr:`IncentiveBounds.candidates`),
which the caller replays exactly.

Exact rationals throughout (``Fraction``). A finite planning horizon is solved by robust
backward induction. An infinite (discounted) horizon is solved exactly, not by value
iteration: ``V^U`` by exact policy iteration of the helper's MDP (:func:`cp.solve`), and
``V^L`` by Hoffman-Karp strategy iteration: fix the planner's rule, solve the
adversary's minimising MDP exactly, switch the rule where some action is strictly
better, and stop when none is; then ``V^L`` satisfies its Bellman equation exactly, and
as that equation has one solution for ``gamma < 1``, it is the game's value.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from fractions import Fraction

import sympy

from ..agents.base import Agent
from ..decisions.mdp import MDP, State
from ..decisions.solving import solve
from . import encoding

__all__ = ["RobustSteps", "IncentiveBounds", "robust_steps", "robust_values",
           "is_decided", "incentive_bounds", "MAX_GAME_ROUNDS", "MAX_CANDIDATES"]

#: Strategy-iteration rounds of the lower bound (infinite horizon) before the bounds tier
#: gives up and leaves the question to the next tier; each round solves one MDP exactly.
MAX_GAME_ROUNDS = 200

#: Candidate tables the bounds tier proposes for exact replay (two per undecided state).
MAX_CANDIDATES = 16


def _frac(x) -> Fraction:
    if isinstance(x, Fraction):
        return x
    if isinstance(x, int):
        return Fraction(x)
    x = sympy.Rational(x)
    return Fraction(int(x.p), int(x.q))


@dataclass(frozen=True)
class RobustSteps:
    """One step of the planning world from start ``s``, split by the node's next value:
    ``rows[(x, a)] = (config, {v: ((x2, p, r), ...)})``, where ``config`` is the node's
    parent configuration read at ``(x, a)`` (its dynamics row), ``p`` the probability of
    ``x2`` under the other variables' dynamics given that the node takes value ``v``, and
    ``r`` the planning reward. Exact fractions."""

    states: tuple
    actions: tuple
    values: tuple
    gamma: Fraction
    rows: dict

    def q(self, x, a, v, V) -> Fraction:
        """``Q_v(x, a)``: the node's next value is ``v``; ``V`` the values after."""
        g = self.gamma
        return sum((p * (r + g * V[x2]) for x2, p, r in self.rows[(x, a)][1][v]),
                   Fraction(0))

    def extreme(self, x, a, V, upper: bool) -> tuple:
        """``(v, Q)``: the node's next value best (``upper``) or worst for ``Q(x, a)``,
        the first such in the node's declared order."""
        best = None
        for v in self.values:
            q = self.q(x, a, v, V)
            if best is None or (q > best[1] if upper else q < best[1]):
                best = (v, q)
        return best


def robust_steps(agent: Agent, node: str, s) -> RobustSteps:
    """The planning world from ``s`` (reward as the agent plans from ``s``; transitions
    from the environment's factored dynamics, with the action that takes effect,
    ``agent.planning_action``), split by the next value of ``node``."""
    env = agent.env
    domains, dynamics, parents = env.factors
    _, reward = agent.planning_parts(agent.o0, s)
    others = [k for k in env.variables if k != node]
    rows = {}
    for x in env.states:
        for a in env.actions:
            env_vals = dict(x)
            env_vals["A"] = agent.planning_action(x, a)
            config = tuple(env_vals[p] for p in parents[node])
            parts = [dynamics[k].distribution(k, tuple(env_vals[p] for p in parents[k])).items()
                     for k in others]
            split = {}
            for v in domains[node]:
                out = []
                for combo in itertools.product(*parts):
                    prob = Fraction(1)
                    for _, p in combo:
                        prob *= _frac(p)
                    nxt = dict(zip(others, (w for w, _ in combo)))
                    nxt[node] = v
                    x2 = State(**{k: nxt[k] for k in env.variables})
                    out.append((x2, prob, _frac(reward(x, a, x2))))
                split[v] = tuple(out)
            rows[(x, a)] = (config, split)
    return RobustSteps(env.states, env.actions, tuple(domains[node]), _frac(env.gamma), rows)


def robust_values(steps: RobustSteps, horizon, start_rule: dict | None = None):
    """The exact bounds: ``(VL, VU, low, up)`` where ``VL``/``VU`` are the lower/upper
    values after the first decision (``horizon - 1`` steps to go; the stationary values
    for ``sympy.oo``), and ``low``/``up`` the adversary's/helper's choices as functions
    ``(t, x, a) -> v`` with the planner's rules ``(t, x) -> a`` (``t`` ignored for an
    infinite horizon). None when the lower bound's strategy iteration does not settle
    within :data:`MAX_GAME_ROUNDS`. ``start_rule`` (state -> action, e.g. the nominal
    plan) is where that iteration starts; by default the first action everywhere."""
    if horizon is sympy.oo:
        return _stationary_values(steps, start_rule)
    zero = {x: Fraction(0) for x in steps.states}
    VL, VU = zero, zero
    lows, ups = [], []   # per step to go, last step first
    for t in reversed(range(horizon)):
        low, up = _rules(steps, VL, upper=False), _rules(steps, VU, upper=True)
        lows.append(low)
        ups.append(up)
        if t:
            VL, VU = low[2], up[2]
    lows.reverse()
    ups.reverse()
    return (VL, VU, _timed(lows), _timed(ups))


def _timed(per_step):
    def choice(t, x, a):
        return per_step[t][0][(x, a)]

    def rule(t, x):
        return per_step[t][1][x]
    return choice, rule


def _rules(steps: RobustSteps, V, upper: bool):
    """One robust Bellman step from ``V``: the extreme node value per (x, a), the
    planner's best action per x (first in declared order), and the new values."""
    choice, rule, newV = {}, {}, {}
    for x in steps.states:
        best = None
        for a in steps.actions:
            v, q = steps.extreme(x, a, V, upper)
            choice[(x, a)] = v
            if best is None or q > best[1]:
                best = (a, q)
        rule[x], newV[x] = best
    return choice, rule, newV


def _solved_values(states, actions, transition, reward, gamma) -> dict:
    m = MDP(states, actions, transition, reward, states[0], gamma)
    return {x: _frac(v) for x, v in solve(m, sympy.oo, timeout=None).values.items()}


def _stationary_values(steps: RobustSteps, start_rule: dict | None):
    pairs = [(a, v) for a in steps.actions for v in steps.values]
    rows = {(x, a, v): {x2: (p, r) for x2, p, r in steps.rows[(x, a)][1][v]}
            for x in steps.states for a in steps.actions for v in steps.values}
    # the helper's MDP: actions are (action, node's next value)
    VU = _solved_values(
        steps.states, pairs, lambda x, av: {x2: p for x2, (p, _) in rows[(x, *av)].items()},
        lambda x, av, x2: rows[(x, *av)][x2][1], steps.gamma)
    up = _rules(steps, VU, upper=True)
    # the adversary's game: strategy iteration over the planner's stationary rule
    # (from the nominal plan, which is often close: from the first action everywhere,
    # a corridor would gain one state per round)
    rule = dict(start_rule) if start_rule else {x: steps.actions[0] for x in steps.states}
    for _ in range(MAX_GAME_ROUNDS):
        VL = _solved_values(  # the adversary minimises: maximise the negated reward
            steps.states, steps.values,
            lambda x, v: {x2: p for x2, (p, _) in rows[(x, rule[x], v)].items()},
            lambda x, v, x2: -rows[(x, rule[x], v)][x2][1],
            steps.gamma)
        VL = {x: -w for x, w in VL.items()}
        changed = False
        for x in steps.states:
            best = steps.extreme(x, rule[x], VL, upper=False)[1]
            for a in steps.actions:
                q = steps.extreme(x, a, VL, upper=False)[1]
                if q > best:  # strict improvement only: the values rise, so it ends
                    rule[x], best, changed = a, q, True
        if not changed:  # VL solves its Bellman equation exactly: the game's value
            low = _rules(steps, VL, upper=False)
            return (VL, VU, _stationary(low), _stationary(up))
    return None


def _stationary(rules):
    choice, rule, _ = rules

    def pick(t, x, a):
        return choice[(x, a)]

    def act(t, x):
        return rule[x]
    return pick, act


def is_decided(QL: dict, QU: dict, actions: tuple, nominal) -> bool:
    """Whether the bounds prove that ``nominal`` stays the planned action: its lower
    Q-value ``QL[nominal]`` beats the upper Q-value ``QU[b]`` of every other action ``b``,
    strictly for the actions declared before it (they would win a tie).

    Examples
    --------
    >>> is_decided({"a": 1}, {"a": 5, "b": 1}, ("a", "b"), "a")
    True
    >>> is_decided({"b": 1}, {"a": 1, "b": 5}, ("a", "b"), "b")
    False
    """
    k = actions.index(nominal)
    low = QL[nominal]
    for i, b in enumerate(actions):
        if b == nominal:
            continue
        if (QU[b] >= low) if i < k else (QU[b] > low):
            return False
    return True


@dataclass(frozen=True)
class IncentiveBounds:
    """What the bounds tier found: the states whose planned action no dynamics of the
    node can change (``decided``), the others (``undecided``), and ``candidates``:
    ``(state, rows)`` pairs, ``rows`` a partial table ``{config: value}`` of
    deterministic rows (the others stay as learned) for exact replay."""

    decided: frozenset
    undecided: tuple
    candidates: tuple


def incentive_bounds(agent: Agent, node: str, nominals: dict) -> IncentiveBounds | None:
    """Exact interval bounds on every state's Q-values over all dynamics of ``node``
    (see the module docstring), checked against the planned actions ``nominals``
    (state -> action); None when the work would exceed
    :data:`~cpspec.verification.encoding.MAX_TERMS` or the strategy iteration does not
    settle.

    Examples
    --------
    >>> import cpspec as cp
    >>> from fractions import Fraction
    >>> m = cp.MDP.factored(
    ...     variables={"x": [0, 1], "b": [0, 1]},
    ...     dynamics={"x": cp.fn(lambda A: 1 if A == "go" else 0),
    ...               "b": cp.dist({0: "1/2", 1: "1/2"})},
    ...     actions=["stay", "go"], reward=lambda s, a, s2: s2.x + Fraction(s2.b, 100),
    ...     start={"x": 0, "b": 0}, gamma="1/2")
    >>> fp = cp.agents.FP(m)
    >>> incentive_bounds(fp, "b", fp.planned_actions(())).undecided
    ()
    """
    env = agent.env
    work = sum(len(r) for r in env.P.values()) * len(env.factors[0][node])
    if work > encoding.MAX_TERMS:
        return None
    starts = list(env.states) if agent.planning_depends_on_state else [env.states[0]]
    decided, undecided, candidates = set(), [], []
    for start in starts:
        steps = robust_steps(agent, node, start)
        found = robust_values(steps, agent.horizon,
                              None if agent.planning_depends_on_state else nominals)
        if found is None:
            return None
        VL, VU, low, up = found
        mine = [start] if agent.planning_depends_on_state else list(env.states)
        for s in mine:
            nominal = nominals[s]
            QL = {a: steps.extreme(s, a, VL, upper=False)[1] for a in env.actions}
            QU = {a: steps.extreme(s, a, VU, upper=True)[1] for a in env.actions}
            if is_decided(QL, QU, env.actions, nominal):
                decided.add(s)
                continue
            undecided.append(s)
            if len(candidates) >= MAX_CANDIDATES:
                continue
            # the alternative that comes closest to winning, and the paths that make it
            rival = max((b for b in env.actions if b != nominal), key=lambda b: QU[b])
            helped = _path_rows(steps, agent.horizon, s, rival, *up)
            hurt = _path_rows(steps, agent.horizon, s, nominal, *low)
            candidates.append((s, {**hurt, **helped}))
            candidates.append((s, {**helped, **hurt}))
    return IncentiveBounds(frozenset(decided), tuple(undecided), tuple(candidates))


def _path_rows(steps: RobustSteps, horizon, s, a, choice, rule) -> dict:
    """The rows ``{config: value}`` the helper (or adversary) uses on the paths from
    ``(s, a)`` when both sides follow their choices; a row met again keeps its first
    value (a real table has one value per row)."""
    H = None if horizon is sympy.oo else horizon
    rows: dict = {}
    seen = set()
    frontier = [(0, s, a)]
    while frontier:
        nxt = []
        for t, x, b in frontier:
            key = (x, b) if H is None else (t, x, b)
            if key in seen:
                continue
            seen.add(key)
            config, split = steps.rows[(x, b)]
            v = choice(t, x, b)
            rows.setdefault(config, v)
            if H is not None and t + 1 >= H:
                continue
            for x2, _, _ in split[v]:
                nxt.append((t + 1, x2, rule(t + 1, x2)))
        frontier = nxt
    return rows
