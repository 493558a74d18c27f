"""The paper's agent definitions as executable specifications.

Each agent couples a **learning world** (the agent in its real environment ``env``, with
its observational record ``O_t``) and a **planning world** ``p(o, s)`` (an MDP built from
the learned prediction function ``L(o)``, starting in the current state ``s``). The agent
acts ``pi*_p(s)``, the first action of the planning world's optimal policy, with the
changes each definition makes:

======  ==================================================================================
FP      plain planning; planning horizon infinite (discounted) unless ``horizon`` is given
FPX     FP, but with probability ``epsilon`` a uniformly random action
STH     the planning world is cut to ``horizon = N`` steps (myopia)
SI      safety interlocks in the learning world: ``null_action`` when ``stop_pressed(s)``,
        when ``t >= T_max`` (runtime limit), or when the planning value ``E(U_p) >= U_max``
        (power limit); the planning world has no interlock (as FP)
SIF     contrast to SI: the planning world *includes* the stop interlock, so the agent
        foresees being stopped (and may act to prevent it)
ITF     input terminal, factual: the planning reward at step ``t`` is read from the
        terminal content of the predicted state ``S'_t``
ITC     input terminal, counterfactual: every planning step uses the terminal content of
        the current state ``s``
UPD     the safety layer agent ``pi*_upd`` (Holtman 2020, arXiv 2007.05411): as ITF, the
        reward is read from the predicted terminal content, and a step on which the
        content changes from ``c`` to ``c2`` earns the correction
        ``gamma * (V_c(s') - V_c2(s'))`` (optimal values of the planning world with the
        reward held at ``c`` or ``c2``), which keeps the agent indifferent to the update
======  ==================================================================================

Choices where the paper leaves room (documented here, relied on by the tests):

* the record ``O_0`` is ``o0`` (empty by default); with the ``"perfect"`` learner the
  record does not matter;
* ties between actions go to the first action in ``env.actions`` (as in :func:`cp.solve`);
* in the learning world, ``O_{t+1}`` reads ``S_t`` through the last entry of ``O_t``
  (they are equal for ``t >= 1``), which keeps the record's domain to reachable records;
  the policy of an unreachable (record, state) pair is the first action;
* IT agents reward the learning world by the terminal's current content:
  ``R_t = rewards[terminal(S_t)](S_t, A_t, S_{t+1})`` (``env.reward`` is not used).
"""

from __future__ import annotations

from fractions import Fraction
from numbers import Integral
from typing import Any, Callable, Mapping

import numpy as np
import sympy

from ..core.functions import as_sympy, call_user, check_probability, normalize_name, to_exact
from ..core.regions import Sign
from ..decisions.chunks import ChunkModel, EffectiveHorizon
from ..decisions.chunks import chunks as make_chunks
from ..decisions.mdp import MDP
from ..decisions.solving import ParametricSolution, solve
from ..errors import DistributionError, FunctionError, ParameterError, SpecError
from .base import Agent

__all__ = ["FP", "FPX", "STH", "SI", "SIF", "ITF", "ITC", "UPD"]


class FP(Agent):
    """The factual planning agent: ``pi(o, s) = pi*_p(s)``.

    >>> import cpspec as cp
    >>> env = cp.MDP(["start", "w", "done"], ["take", "wait"],
    ...     lambda s, a: {"w": 1} if (s, a) == ("start", "wait") else {"done": 1},
    ...     lambda s, a, s2: 1 if (s, a) == ("start", "take") else (3 if s == "w" else 0),
    ...     "start", gamma="9/10")
    >>> cp.agents.FP(env).act((), "start")
    'wait'
    """

    kind = "FP"


class STH(Agent):
    """The short time horizon agent: the planning world is cut to ``horizon = N`` steps.

    With ``chunks`` (a :class:`~cpspec.decisions.chunks.ChunkModel` from
    :func:`cp.chunks`, or a mapping of chunk policies) the agent plans with multi-step
    chunks in the approximate ``N``-step planning world of the post's comment thread
    (:mod:`cpspec.decisions.chunks`): it plans which chunk to run, takes that chunk's
    first action, and plans afresh at the next step. A chunk started before ``N`` runs
    to its end, so the plan may look past ``N``
    (:meth:`effective_horizon`). Policy chunks are derived over the learned model
    ``L(o)``; chunks given as tables are the learned model themselves.

    >>> import cpspec as cp
    >>> env = cp.MDP(["start", "w", "done"], ["take", "wait"],
    ...     lambda s, a: {"w": 1} if (s, a) == ("start", "wait") else {"done": 1},
    ...     lambda s, a, s2: 1 if (s, a) == ("start", "take") else (3 if s == "w" else 0),
    ...     "start", gamma="9/10")
    >>> cp.agents.STH(env, horizon=1).act((), "start"), cp.agents.STH(env, horizon=2).act((), "start")
    ('take', 'wait')
    >>> walk = {"walk": lambda s: "end" if s == "done" else "wait"}
    >>> sth = cp.agents.STH(env, horizon=1, chunks=cp.chunks(env, walk, primitive=True))
    >>> sth.planned_chunk((), "start"), sth.act((), "start"), sth.effective_horizon("start").reach
    ('walk', 'wait', 1)
    """

    kind = "STH"

    def __init__(self, env: MDP, learner: Any = "perfect", horizon: Any = None,
                 o0: tuple = (), chunks: Any = None):
        if horizon is None:
            raise SpecError("STH needs its planning horizon: STH(env, horizon=N)")
        super().__init__(env, learner, horizon, o0)
        if chunks is not None and not isinstance(chunks, ChunkModel):
            chunks = make_chunks(env, chunks)  # a mapping of chunk policies
        if chunks is not None and not isinstance(self.horizon, int):
            raise SpecError(f"STH with chunks needs a whole number of planning steps, not "
                            f"horizon = {self.horizon}")
        self.chunks = chunks

    def __repr__(self):
        if self.chunks is None:
            return super().__repr__()
        return (f"STH(learner={self.learner!r}, horizon={self.horizon}, chunks="
                f"[{', '.join(map(str, self.chunks.names))}])")

    def switching_horizon(self, s: Any, o: tuple = ()):
        """The planned first action as a function of the symbolic horizon ``N``
        (a :class:`~cpspec.core.regions.Choice` over ``N``, or one action)."""
        if self.chunks is not None:
            raise SpecError("switching_horizon is for step-by-step STH; with chunks, "
                            "compare STH(env, horizon=N, chunks=...) for each N")
        N = sympy.Symbol("N", integer=True, positive=True)
        return solve(self.planning_mdp(o, s), N).policy(0, s)

    # ---- planning with chunks -------------------------------------------------------
    def plan(self, o: tuple, s: Any):
        """The solved planning world; with chunks a
        :class:`~cpspec.decisions.chunks.ChunkPlan` (one for every state)."""
        if self.chunks is None:
            return super().plan(o, s)
        mdp = self.planning_mdp(o, s)  # checks the record and the state
        key = (self.learner.key(tuple(o)), "chunks")
        if key not in self._plans:
            self._plans[key] = self.chunks.over(mdp).plan(self.horizon)
        return self._plans[key]

    def planning_world(self, o: tuple, s: Any, horizon: int | None = None):
        """The planning world as a diagram; with chunks the approximate ``N``-step
        chunk planning world (:meth:`~cpspec.decisions.chunks.ChunkModel.planning_world`:
        one slot per chunk with ``X``, ``T`` and ``U_C`` over the chunk's last nodes)."""
        if self.chunks is not None:
            mdp = self.planning_mdp(o, s)  # checks the record and the state
            return self.chunks.over(mdp).planning_world(s, self.horizon, name="p")
        return super().planning_world(o, s, horizon)

    def planned_chunk(self, o: tuple, s: Any):
        """The chunk the plan runs first in ``s`` (agents with chunks)."""
        if self.chunks is None:
            raise SpecError("planned_chunk is for STH with chunks; this STH plans step by "
                            "step (planned_action)")
        return self.plan(o, s).policy(0, s)

    def planned_action(self, o: tuple, s: Any):
        if self.chunks is None:
            return super().planned_action(o, s)
        return self.chunks.first_action(self.planned_chunk(o, s), s)

    def planned_actions(self, o: tuple) -> dict:
        if self.chunks is None:
            return super().planned_actions(o)
        return {s: self.planned_action(o, s) for s in self.env.states}

    def effective_horizon(self, s: Any, o: tuple = ()) -> EffectiveHorizon:
        """The exact distribution of the step where the plan's world line ends from
        ``s`` (:class:`~cpspec.decisions.chunks.EffectiveHorizon`); ``N`` with
        probability 1 without chunks."""
        if self.chunks is None:
            self.planning_mdp(o, s)
            N = self.horizon
            return EffectiveHorizon(s, N, {N: Fraction(1)}, {N: (Fraction(1), ())})
        return self.plan(o, s).effective_horizon(s)


class FPX(Agent):
    """FP with random exploration: with probability ``epsilon`` a uniformly random
    action, else ``pi*_p(s)``. ``epsilon`` may be a symbol.

    >>> import cpspec as cp
    >>> env = cp.MDP(["x"], ["a", "b"], lambda s, a: {"x": 1}, lambda s, a, s2: 1 if a == "a" else 0,
    ...              "x", gamma="1/2")
    >>> cp.agents.FPX(env, epsilon="1/10").act((), "x")
    {'a': Fraction(19, 20), 'b': Fraction(1, 20)}
    """

    kind = "FPX"

    def __init__(self, env: MDP, learner: Any = "perfect", horizon: Any = None,
                 o0: tuple = (), epsilon: Any = Fraction(1, 10)):
        super().__init__(env, learner, horizon, o0)
        try:
            eps = check_probability(to_exact(epsilon, what="FPX: epsilon"), "FPX: epsilon")
        except DistributionError as exc:
            raise ParameterError(f"{exc} (epsilon is the probability of a random action)"
                                 ) from None
        self.epsilon = eps

    def act(self, o, s, t=0):
        best = self.planned_action(o, s)
        acts = self.env.actions
        share = self.epsilon / len(acts)
        return {a: share + (1 - self.epsilon if a == best else 0) for a in acts}


class SI(Agent):
    """The safety interlock agent: FP's planning world, with three interlocks in the
    learning world that force ``null_action``: the emergency stop ``stop_pressed(s)``,
    the runtime limit ``t >= T_max``, and the power limit ``E(U_p) >= U_max``."""

    kind = "SI"

    def __init__(self, env: MDP, learner: Any = "perfect", horizon: Any = None,
                 o0: tuple = (), stop_pressed: Callable | None = None,
                 null_action: Any = None, T_max: int | None = None, U_max: Any = None):
        super().__init__(env, learner, horizon, o0)
        if stop_pressed is None or not callable(stop_pressed):
            raise SpecError(f"{self.kind}: stop_pressed must be a predicate of the state")
        if null_action not in env.actions:
            raise SpecError(f"{self.kind}: null_action {null_action!r} is not an action; "
                            f"actions are {', '.join(map(repr, env.actions))}")
        if T_max is not None and (isinstance(T_max, bool) or not isinstance(T_max, Integral)
                                  or T_max < 0):
            raise SpecError(f"{self.kind}: T_max = {T_max!r} must be a non-negative integer "
                            "(the number of steps before the runtime interlock stops it)")
        self.stop_pressed = stop_pressed
        self.null_action = null_action
        self.T_max = T_max
        self.U_max = None if U_max is None else as_sympy(to_exact(U_max, what="U_max"))

    def pressed(self, s) -> bool:
        """``stop_pressed(s)``, with a clear error if the predicate fails."""
        out = call_user(self.stop_pressed, s, what=f"{self.kind}: stop_pressed({s!r})",
                        fix="make it total on the states")
        if not isinstance(out, (bool, np.bool_)):
            raise FunctionError(f"{self.kind}: stop_pressed({s!r}) returned {out!r}, not a "
                                "bool")
        return bool(out)

    def interlock(self, o, s, t) -> str | None:
        """Which interlock (if any) stops the agent here: "stop", "runtime", "power"."""
        if self.pressed(s):
            return "stop"
        if self.T_max is not None and t >= self.T_max:
            return "runtime"
        if self.U_max is not None:
            v = self.plan(o, s).value
            if Sign(None, None).sign(sympy.sympify(v - self.U_max)) >= 0:
                return "power"
        return None

    def act(self, o, s, t=0):
        if self.interlock(o, s, t) is not None:
            return self.null_action
        return self.planned_action(o, s)


class SIF(SI):
    """Contrast to SI: the planning world includes the stop interlock (in states where
    the button is pressed, every planned action acts as ``null_action``), so the agent
    foresees being stopped."""

    kind = "SIF"

    def planning_action(self, x, a):
        return self.null_action if self.pressed(x) else a

    def planning_parts(self, o, s):
        learned, reward = super().planning_parts(o, s)

        def transition(x, a):
            return learned(x, self.planning_action(x, a))

        def stopped_reward(x, a, x2):
            return reward(x, self.planning_action(x, a), x2)
        return transition, stopped_reward


class _Terminal(Agent):
    def __init__(self, env: MDP, learner: Any = "perfect", horizon: Any = None,
                 o0: tuple = (), terminal: Any = None, rewards: Mapping | None = None):
        super().__init__(env, learner, horizon, o0)
        if isinstance(terminal, str):
            name = terminal = normalize_name(terminal)
            if env.variables is None or name not in env.variables:
                raise SpecError(f"{self.kind}: terminal {name!r} is not a state variable of "
                                "the (factored) environment; pass its name or a function "
                                "of the state")
            terminal = (lambda s, _n=name: s[_n])
        if not callable(terminal):
            raise SpecError(f"{self.kind}: terminal must name a state variable or be a "
                            "function of the state")
        if not isinstance(rewards, Mapping) or not rewards:
            raise SpecError(f"{self.kind}: rewards must map terminal contents to reward "
                            "functions (s, a, s2) -> number")
        self.terminal = terminal
        self.rewards = dict(rewards)
        for s in env.states:
            c = self._content(s)
            if c not in self.rewards:
                raise SpecError(f"{self.kind}: terminal content {c!r} (in state {s!r}) has "
                                "no reward function in rewards")

    def _content(self, s):
        return call_user(self.terminal, s, what=f"{self.kind}: terminal({s!r})",
                         fix="make it total on the states")

    def _reward(self, content, s, a, s2):
        r = call_user(self.rewards[content], s, a, s2,
                      what=f"{self.kind}: rewards[{content!r}]({s!r}, {a!r}, {s2!r})")
        return to_exact(r, what="reward")

    def learning_reward(self, s, a, s2):
        return self._reward(self._content(s), s, a, s2)


class ITF(_Terminal):
    """Input terminal, factual planning: the planning reward at each step is read from
    the terminal content of the predicted state, so changing the terminal pays."""

    kind = "ITF"

    def planning_parts(self, o, s):
        learned, _ = super().planning_parts(o, s)
        return learned, (lambda x, a, x2: self._reward(self._content(x), x, a, x2))


class ITC(_Terminal):
    """Input terminal, counterfactual planning: every planning step uses the terminal
    content of the current state ``s``, so changing the terminal gains nothing."""

    kind = "ITC"
    planning_depends_on_state = True

    def planning_parts(self, o, s):
        learned, _ = super().planning_parts(o, s)
        now = self._content(s)
        return learned, (lambda x, a, x2: self._reward(now, x, a, x2))


class UPD(_Terminal):
    """The safety layer agent ``pi*_upd`` (Holtman, "AGI Agent Safety by Iteratively
    Improving the Utility Function", 2020): the reward can be updated through an input
    terminal, and the correction term of utility preservation keeps the agent
    indifferent to the update.

    Its planning world is ITF's (the reward at each step is read from the terminal
    content of the predicted state), except that a transition on which the content
    changes from ``c`` to ``c2`` also earns ``gamma * (V_c(s2) - V_c2(s2))``, where
    ``V_x`` is the optimal value of the planning world with the reward held at ``x``
    throughout. With the infinite (discounted) horizon these values are stationary. With
    a finite planning horizon ``N`` they depend on the steps to go: a change on planning
    step ``t`` (0-based) earns ``gamma * (V_c(s2, m) - V_c2(s2, m))`` with
    ``m = N - t - 1`` steps left after it, computed exactly for every step; the planning
    world is then stamped with the step (its states are ``(t, x)``, starting at
    ``(0, s)``).

    >>> import cpspec as cp
    >>> from cpspec.examples import input_terminal
    >>> env, rewards = input_terminal()
    >>> cp.agents.UPD(env, terminal="terminal", rewards=rewards).act((), env.states[0])
    'work'
    >>> upd3 = cp.agents.UPD(env, terminal="terminal", rewards=rewards, horizon=3)
    >>> upd3.act((), env.states[0]), upd3.held_values((), to_go=1)["easy"][env.states[0]]
    ('work', 2)
    """

    kind = "UPD"

    def __init__(self, env: MDP, learner: Any = "perfect", horizon: Any = None,
                 o0: tuple = (), terminal: Any = None, rewards: Mapping | None = None):
        super().__init__(env, learner, horizon, o0, terminal, rewards)
        if isinstance(self.horizon, sympy.Symbol):
            raise SpecError(f"UPD: the planning horizon must be a number of steps or None "
                            f"(infinite), not the symbol {self.horizon}: the correction "
                            "depends on the steps to go, so each step needs its own value")
        # a finite horizon stamps the planning world with the step: one world per state
        self.stamped_planning = self.horizon is not sympy.oo
        self.planning_depends_on_state = self.stamped_planning

    def _held(self, o) -> dict:
        """``{content: solution}`` of the planning world with the reward held at each
        content (kept per learned model)."""
        key = ("held", self.learner.key(tuple(o)))
        if key not in self._plans:
            learned = self.learned(tuple(o))
            env = self.env
            out = {}
            for c in self.rewards:
                held = MDP(env.states, env.actions, learned,
                           lambda x, a, x2, _c=c: self._reward(_c, x, a, x2), env.states[0],
                           env.gamma)
                sol = solve(held, self.horizon, timeout=None)
                if isinstance(sol, ParametricSolution):
                    raise ParameterError(f"UPD: the correction depends on {sol.parameter}; "
                                         "build the agent over env.bind(...) with numbers")
                out[c] = sol
            self._plans[key] = out
        return self._plans[key]

    def held_values(self, o, to_go: int | None = None) -> dict:
        """``{content: {state: V_content(state)}}``: the optimal values of the planning
        world for record ``o`` with the reward held at each terminal content; with a
        finite planning horizon ``N``, those with ``to_go`` steps to go (0 to ``N``)."""
        sols = self._held(o)
        if self.horizon is sympy.oo:
            return {c: sol.values for c, sol in sols.items()}
        N = self.horizon
        if isinstance(to_go, bool) or not isinstance(to_go, int) or not 0 <= to_go <= N:
            raise SpecError(f"UPD.held_values: to_go = {to_go!r} must be a number of steps "
                            f"from 0 to the planning horizon {N}")
        if to_go == 0:
            return {c: {s: sympy.Integer(0) for s in self.env.states} for c in sols}
        return {c: sol.values if to_go == N else sol.next_values(N - to_go - 1)
                for c, sol in sols.items()}

    def planning_parts(self, o, s):
        learned, _ = super().planning_parts(o, s)
        if self.horizon is not sympy.oo:  # the corrections are per step: planning_mdp
            return learned, (lambda x, a, x2: self._reward(self._content(x), x, a, x2))
        V = self.held_values(o)
        g = self.env.gamma

        def reward(x, a, x2):
            c, c2 = self._content(x), self._content(x2)
            r = self._reward(c, x, a, x2)
            if c2 != c:
                r = r + g * (to_exact(V[c][x2]) - to_exact(V[c2][x2]))
            return r
        return learned, reward

    def planning_mdp(self, o: tuple, s: Any) -> MDP:
        """The planning world ``p(o, s)``; with a finite horizon ``N`` stamped with the
        planning step: states ``(t, x)`` for ``t`` from 0 to ``N``, start ``(0, s)``."""
        flat = super().planning_mdp(o, s)
        N = self.horizon
        if N is sympy.oo:
            return flat
        V = [self.held_values(o, m) for m in range(N)]
        g = self.env.gamma

        def transition(kx, a):
            k, x = kx
            return {(min(k + 1, N), x2): p for x2, p in flat.P[(x, a)].items()}

        def reward(kx, a, kx2):
            (k, x), (_, x2) = kx, kx2
            if k >= N:  # after the last planning step nothing counts
                return 0
            r = flat.R[(x, a, x2)]
            c, c2 = self._content(x), self._content(x2)
            if c2 != c:
                m = N - k - 1
                r = r + g * (to_exact(V[m][c][x2]) - to_exact(V[m][c2][x2]))
            return r
        states = [(k, x) for k in range(N + 1) for x in self.env.states]
        return MDP(states, self.env.actions, transition, reward, (0, s), self.env.gamma)

    def planned_action(self, o: tuple, s: Any):
        if self.horizon is sympy.oo:
            return super().planned_action(o, s)
        return self.plan(o, s).policy(0, (0, s))
