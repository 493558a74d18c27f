"""The common base of the paper's agents: an agent definition couples a learning world
(the agent in its environment, with its observational record ``O_t``) and a planning
world ``p(o, s)`` built from the learned prediction function; :class:`Agent` holds what
every definition shares (planning, acting, the learning world as a diagram, its exact
value, simulation and cross-checks) and the size limits that bound them. The paper's
definitions themselves are in :mod:`cpspec.agents.paper`.
"""

from __future__ import annotations

import copy
from fractions import Fraction
from numbers import Integral
from typing import Any, Callable, Mapping

import numpy as np
import sympy

from ..core.diagram import Diagram, world
from ..core.display import svg
from ..core.functions import as_sympy, const, dist, fn, hashable, show
from ..decisions.mdp import (MDP, action_distribution, check_horizon, influence_diagram,
                             start_function)
from ..decisions.solving import ParametricSolution, Solution, solve
from ..errors import DomainError, ModelTooLargeError, ParameterError, SpecError
from ..inference.crosscheck import CrossCheck, hoeffding_bound
from ..inference.exact import E
from ..progress import progress
from .learners import Learner, append, resolve_learner

__all__ = ["Agent", "MAX_LEARNING_STEPS", "MAX_VALUE_STEPS", "MAX_SIMULATION_STEPS"]

#: Largest ``T`` of an exact learning world (:meth:`Agent.learning_world`; verification
#: replays counterexample traces in it). Its records ``O_t`` may also outgrow
#: ``cpspec.core.diagram.MAX_TABLE_ROWS`` sooner, which is then reported with the node.
MAX_LEARNING_STEPS = 1_000

#: Largest ``T`` of :meth:`Agent.value`: ``T`` exact expectations over a world of ``4T``
#: nodes, whose cost grows about as ``T**3`` (``T = 100`` takes seconds). Longer runs are
#: what :meth:`Agent.simulate` is for; raise the limit (``cpspec.agents.base.MAX_VALUE_STEPS =
#: ...``) when the time is there.
MAX_VALUE_STEPS = 100

#: Largest ``n x T`` (runs times steps) of one :meth:`Agent.simulate` call; each step is
#: a few Python calls (about 10 microseconds or more).
MAX_SIMULATION_STEPS = 10_000_000


def _steps(T: Any, what: str, limit: int, limit_name: str, hint: str = "") -> int:
    if isinstance(T, bool) or not isinstance(T, Integral) or T < 0:
        raise SpecError(f"{what}: T = {show(T)} must be a non-negative integer (a number of "
                        "steps)")
    T = int(T)
    if T > limit:
        raise ModelTooLargeError(f"{what}: T = {show(T)} steps is above "
                                 f"cpspec.agents.base.{limit_name} "
                                 f"= {limit}; {hint}use fewer steps, or raise the limit")
    return T


class Agent:
    """Base of the paper's agents; see the module docstring.

    Parameters
    ----------
    env : MDP
        The learning world's environment: its true ``S``, ``R``, start, ``gamma``.
    learner : "perfect", "counting", a Learner, or a callable ``L(O)``
    horizon : int, sympy.Symbol, or None
        The planning world's horizon; None means infinite (discounted, ``gamma < 1``).
    o0 : tuple
        The initial observational record.
    """

    kind = "agent"

    def __init__(self, env: MDP, learner: Any = "perfect", horizon: Any = None,
                 o0: tuple = ()):
        if not isinstance(env, MDP):
            raise SpecError(f"{self.kind}: env must be a cp.MDP, got {show(env)}")
        self.env = env
        self.learner: Learner = resolve_learner(learner)
        if horizon is None:
            g = env.gamma
            if isinstance(g, Fraction) and g >= 1:
                raise ParameterError(f"{self.kind}: gamma = {show(g)} with an infinite planning "
                                     "horizon diverges; give horizon=N or gamma < 1")
            horizon = sympy.oo
        elif not (isinstance(horizon, sympy.Symbol) or horizon is sympy.oo):
            if isinstance(horizon, bool) or not isinstance(horizon, (Integral, sympy.Integer)) \
                    or horizon < 1:
                raise SpecError(f"{self.kind}: planning horizon {show(horizon)} must be a "
                                "positive integer, a symbol, or None (infinite)")
            # every plan is a backward induction over this many steps: estimate it now
            horizon = check_horizon(horizon, mdp=env, what=f"{self.kind}: planning horizon")
        self.horizon = horizon
        self.o0 = _record(o0, self.kind)
        self._plans: dict = {}

    def with_env(self, env: MDP) -> "Agent":
        """The same agent definition (its kind, learner, planning horizon, record and
        settings such as the stop button) over another environment ``env``, planning
        afresh. This agent is unchanged.

        Examples
        --------
        >>> import cpspec as cp
        >>> from cpspec.examples import delayed_reward
        >>> sth = cp.agents.STH(delayed_reward(), horizon=1)
        >>> sth.with_env(delayed_reward(late=0)).planned_action((), "start")
        'take'
        """
        if not isinstance(env, MDP):
            raise SpecError(f"{self.kind}.with_env: env must be a cp.MDP, got {show(env)}")
        if isinstance(self.horizon, int):
            check_horizon(self.horizon, mdp=env, what=f"{self.kind}: planning horizon")
        twin = copy.copy(self)
        twin.env = env
        twin._plans = {}
        return twin

    def __getstate__(self) -> dict:
        # pickled (sent to a worker) as its definition; the solved plans are derived,
        # made again where they are needed, and may be growing while this runs
        return {**self.__dict__, "_plans": {}}

    def _repr_svg_(self) -> str | None:
        """The learning world and the planning world side by side, for notebooks."""
        return svg(self)

    def __repr__(self):
        h = "oo" if self.horizon is sympy.oo else self.horizon
        return f"{self.kind}(learner={self.learner!r}, horizon={h})"

    # ---- the planning world ---------------------------------------------------------
    def learned(self, o: tuple) -> Callable:
        """``L(o)``: the learned prediction function for record ``o``."""
        return self.learner(tuple(o), self.env)

    #: True when the planning world's reward depends on the current state (ITC)
    planning_depends_on_state = False

    #: True when the planning world's states carry the planning step, ``(t, x)``
    #: starting at ``(0, s)`` (UPD with a finite horizon: its correction depends on the
    #: steps to go)
    stamped_planning = False

    #: The chunk model the agent plans with (:mod:`cpspec.decisions.chunks`; STH), or
    #: None for step-by-step planning
    chunks = None

    def planning_action(self, x, a):
        """The action that takes effect at planning state ``x`` when ``a`` is chosen
        (``a`` itself, except for agents whose planning world overrides it: SIF)."""
        return a

    def planning_parts(self, o, s):
        """(transition, reward) of the planning world; subclasses change them."""
        return self.learned(o), self.env.reward_of

    def planning_mdp(self, o: tuple, s: Any) -> MDP:
        """The planning world ``p(o, s)`` as an MDP starting in ``s``."""
        hashable(s, f"{self.kind}: the state")
        if (s, self.env.actions[0]) not in self.env.P:  # P has a row for every state
            raise DomainError(f"{self.kind}: {show(s)} is not a state of the environment")
        transition, reward = self.planning_parts(tuple(o), s)
        try:
            return MDP(self.env.states, self.env.actions, transition, reward, s,
                       self.env.gamma)
        except SpecError as exc:
            raise type(exc)(f"{self.kind}: the planning world built by learner "
                            f"{self.learner!r} is invalid: {exc}") from None

    def planning_world(self, o: tuple, s: Any, horizon: int | None = None) -> Diagram:
        """The planning world ``p(o, s)`` as an influence diagram named ``p`` (decision
        nodes ``A_t``, utility nodes ``R_t``). An infinite planning horizon is drawn
        with ``horizon`` steps (default 3)."""
        h = self.horizon if isinstance(self.horizon, int) else (horizon or 3)
        return influence_diagram(self.planning_mdp(o, s), h, name="p")

    def plan(self, o: tuple, s: Any) -> Solution | ParametricSolution:
        """The solved planning world ``p(o, s)`` (kept per learned model and state)."""
        try:
            key = (self.learner.key(tuple(o)), s)
            known = key in self._plans
        except TypeError:  # a bad record or an unhashable state: say which
            _record(o, self.kind)
            hashable(s, f"{self.kind}: the state")
            raise
        if not known:
            o = _record(o, self.kind)  # checked once per learned model, not per step
            # no budget of its own: the call that plans (verify, value, ...) bounds it
            self._plans[key] = solve(self.planning_mdp(o, s), self.horizon, timeout=None)
        return self._plans[key]

    def planned_action(self, o: tuple, s: Any):
        """``pi*_p(s)``: the first action of the planning world's optimal policy."""
        return self._first_action(self.plan(o, s), s)

    def planned_actions(self, o: tuple) -> dict:
        """``pi*_p(s)`` for every state ``s`` of the environment. When the planning world
        does not depend on the current state (all but ITC), it differs between states
        only in where it starts, so its optimal policy is one: solved once.

        Examples
        --------
        >>> import cpspec as cp
        >>> from cpspec.examples import delayed_reward
        >>> cp.agents.FP(delayed_reward()).planned_actions(())
        {'start': 'wait', 'w1': 'take', 'done': 'take'}
        """
        states = self.env.states
        if self.planning_depends_on_state:
            return {s: self.planned_action(o, s) for s in states}
        sol = self.plan(o, states[0])
        return {s: self._first_action(sol, s) for s in states}

    def _first_action(self, sol, s):
        if isinstance(sol, ParametricSolution):
            return sol.policy(0, s) if not _stationary(self.horizon) else sol.policy(s)
        return sol.policy(s) if sol.stationary and _stationary(self.horizon) else \
            sol.policy(0, s)

    def act(self, o: tuple, s: Any, t: int = 0):
        """The agent's action in the learning world at time ``t`` (an action, or a
        distribution over actions)."""
        return self.planned_action(o, s)

    # ---- the learning world ---------------------------------------------------------
    def learning_reward(self, s, a, s2):
        """``R_t`` of the learning world (the node's table also spans impossible
        transitions, which have probability 0 and get reward 0)."""
        return self.env.R.get((s, a, s2), 0)

    def policy_row(self, o, s, t) -> dict:
        """The agent's action distribution at time ``t`` in state ``s`` with record ``o``
        (one action with probability 1 for a deterministic agent): the learning world's
        ``A_t`` row, used to replay traces exactly."""
        env = self.env
        if t >= 1 and o and o[-1][2] != s:
            return {env.actions[0]: Fraction(1)}  # unreachable (record, state) pair
        return action_distribution(env, self.act(o, s, t), t, s, who=f"{self.kind}: the policy")

    def learning_world(self, T: int, name: str = "l") -> Diagram:
        """The learning world over ``T`` steps: ``S_0, O_0, A_t = pi(O_t, S_t),
        S_{t+1} ~ S(S_t, A_t), O_{t+1} = O_t ++ [(S_t, A_t, S_{t+1})], R_t``.

        Examples
        --------
        >>> import cpspec as cp
        >>> env = cp.MDP(["x", "y"], ["stay", "go"],
        ...              lambda s, a: {"y": 1} if a == "go" else {s: 1},
        ...              lambda s, a, s2: 1 if s2 == "y" else 0, "x", gamma="1/2")
        >>> l = cp.agents.FP(env).learning_world(2)
        >>> cp.P(l.A_0 == "go"), cp.E(l.R_0 + l.R_1)
        (1, 2)
        >>> cp.P(l.O_2 == (("x", "go", "y"), ("y", "stay", "y")))
        1
        """
        T = _steps(T, f"{self.kind}.learning_world", MAX_LEARNING_STEPS, "MAX_LEARNING_STEPS")
        env = self.env
        nodes: list = [("S_0", start_function(env).with_label("S_0")),
                       ("O_0", const(self.o0).with_label("O_0"))]
        for t in range(T):
            nodes.append((f"A_{t}", dist(lambda o, s, t=t: self.policy_row(o, s, t),
                                         parents=[f"O_{t}", f"S_{t}"], label="pi")))
            nodes.append((f"S_{t + 1}", dist(lambda s, a: env.P[(s, a)],
                                             parents=[f"S_{t}", f"A_{t}"], label="S")))
            if t == 0:
                nodes.append(("O_1", fn(lambda o, s, a, s2: append(o, s, a, s2),
                                        parents=["O_0", "S_0", "A_0", "S_1"], label="O")))
            else:
                nodes.append((f"O_{t + 1}", fn(lambda o, a, s2: append(o, o[-1][2], a, s2),
                                               parents=[f"O_{t}", f"A_{t}", f"S_{t + 1}"],
                                               label="O")))
            nodes.append((f"R_{t}", fn(self.learning_reward,
                                       parents=[f"S_{t}", f"A_{t}", f"S_{t + 1}"],
                                       label="R")))
        return world(name, nodes)

    def value(self, T: int):
        """The exact expected discounted reward ``E(sum_{t<T} gamma^t R_t)`` of the
        learning world (exact; for short ``T``: the record is part of the state)."""
        T = _steps(T, f"{self.kind}.value", MAX_VALUE_STEPS, "MAX_VALUE_STEPS",
                   "for long runs estimate the value with agent.simulate(T, n, seed); ")
        lw = self.learning_world(T)
        g = as_sympy(self.env.gamma)
        return E(sum((g ** t * lw[f"R_{t}"] for t in range(T)), sympy.Integer(0)))

    def reward_range(self) -> tuple:
        """The smallest and largest learning-world reward (for simulation bounds)."""
        rs = [float(self.learning_reward(s, a, s2)) for (s, a), row in self.env.P.items()
              for s2 in row]
        return min(rs), max(rs)

    def simulate(self, T: int, n: int, seed: int, params: Mapping | None = None):
        """Run the agent ``n`` times for ``T`` steps (seeded); return the per-run
        discounted rewards as a NumPy array. No tabulation: long runs are cheap."""
        return np.array([run["total"] for run in self._runs(T, n, seed, params, "simulate",
                                                             keep=False)], dtype=float)

    def traces(self, T: int, n: int, seed: int) -> list[dict]:
        """The same seeded runs as :meth:`simulate`, with their traces: per run the
        ``states`` (``T + 1``), ``actions``, ``rewards`` (exact) and the discounted
        ``total`` (a float).

        Examples
        --------
        >>> import cpspec as cp
        >>> from cpspec.examples import delayed_reward
        >>> run, = cp.agents.FP(delayed_reward()).traces(3, 1, seed=0)
        >>> run["states"], run["actions"], run["rewards"]
        (['start', 'w1', 'done', 'done'], ['wait', 'take', 'take'], [0, 3, 0])
        >>> bool(run["total"] == cp.agents.FP(delayed_reward()).simulate(3, 1, seed=0)[0])
        True
        """
        return list(self._runs(T, n, seed, None, "traces", keep=True))

    def _runs(self, T, n, seed, params, what: str, keep: bool):
        T = _steps(T, f"{self.kind}.{what}", MAX_SIMULATION_STEPS, "MAX_SIMULATION_STEPS")
        if isinstance(n, bool) or not isinstance(n, Integral) or n <= 0:
            raise SpecError(f"{self.kind}.{what}: n = {show(n)} must be a positive integer "
                            "(the number of runs)")
        n = int(n)
        if n * max(T, 1) > MAX_SIMULATION_STEPS:
            raise ModelTooLargeError(
                f"{self.kind}.{what}: {show(n)} runs x {T} steps = {show(n * max(T, 1))} "
                f"steps, above cpspec.agents.base.MAX_SIMULATION_STEPS = "
                f"{MAX_SIMULATION_STEPS}; simulate fewer runs or steps, or raise the limit")
        if isinstance(seed, bool) or not isinstance(seed, Integral) or seed < 0:
            raise SpecError(f"{self.kind}.{what}: seed = {show(seed)} must be a "
                            "non-negative integer (the same seed gives the same runs)")
        if params:
            raise SpecError(f"{self.kind}.{what}: params= is not supported for agents; "
                            "build the agent over env.bind(name=value) instead")
        free = self.env.free_symbols() | getattr(as_sympy(getattr(self, "epsilon", 0)),
                                                 "free_symbols", set())
        if free:
            raise ParameterError(
                f"{self.kind}.{what}: the agent has the symbolic parameters "
                f"{', '.join(sorted(s.name for s in free))}; simulation needs numbers: build "
                "the agent over env.bind(name=value) (and a number for epsilon)")
        env = self.env
        rng = np.random.default_rng(int(seed))
        g = float(env.gamma)
        starts = list(env.mu0.items())
        for _ in progress(range(n), n * max(T, 1), f"simulating {self.kind}",
                          min_total=20000):
            s = _draw(rng, starts)
            o = self.o0
            total, disc = 0.0, 1.0
            states, actions, rewards = [s], [], []
            for t in range(T):
                a = _draw(rng, list(self.policy_row(o, s, t).items()))
                s2 = _draw(rng, list(env.P[(s, a)].items()))
                r = self.learning_reward(s, a, s2)
                total += disc * float(r)
                disc *= g
                o = append(o, s, a, s2)
                if keep:
                    states.append(s2)
                    actions.append(a)
                    rewards.append(as_sympy(r))
                s = s2
            yield ({"states": states, "actions": actions, "rewards": rewards, "total": total}
                   if keep else {"total": total})

    def crosscheck(self, T: int, n: int = 2000, seed: int = 0,
                   confidence: float = 0.999) -> CrossCheck:
        """The exact learning-world value against ``n`` seeded simulated runs
        (Hoeffding bound over the range of discounted reward sums)."""
        exact = self.value(T)
        runs = self.simulate(T, n, seed)
        lo, hi = self.reward_range()
        g = float(self.env.gamma)
        span = (hi - lo) * sum(g ** t for t in range(T))
        bound = hoeffding_bound(span, n, confidence)
        est = float(runs.mean())
        return CrossCheck(f"E(sum gamma^t R_t, T={T}) of {self!r}", exact, est, bound, n,
                          seed, confidence, abs(est - float(exact)) <= bound + 1e-12)


def _record(o0: Any, kind: str) -> tuple:
    """The initial record: a tuple of ``(s, a, s2)`` observations."""
    if isinstance(o0, (str, bytes)) or not hasattr(o0, "__iter__"):
        raise SpecError(f"{kind}: the record {show(o0)} must be a tuple of (s, a, s2) "
                        "observations (the initial record o0 defaults to ())")
    out = tuple(o0)
    for obs in out:
        if not (isinstance(obs, tuple) and len(obs) == 3):
            raise SpecError(f"{kind}: the record contains {show(obs)}, not an observation "
                            "(s, a, s2)")
        hashable(obs, f"{kind}: the record's observation")
    return out


def _draw(rng, items):
    u = rng.random()
    acc = 0.0
    for v, p in items:
        acc += float(p)
        if u < acc:
            return v
    return items[-1][0]


def _stationary(horizon) -> bool:
    return horizon is sympy.oo


