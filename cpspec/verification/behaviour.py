"""The regions of an agent's behaviour over its environment's parameters.

The trace properties (``obeys_stop_button``, ``always``, ``eventually``,
``policy_unmodified(var)``) are read off the learning world's reachable (record, state)
nodes over ``K`` steps, and those depend on the parameters only through

* the actions the agent takes at each reachable node: its planning decisions (the first
  action of the planning world's optimal policy, which stays the same wherever that
  policy stays optimal: its own Q-value differences under the tie rule,
  :func:`cpspec.decisions.solving.optimal_at`) and, for SI, the power interlock's
  comparison ``E(U_p) >= U_max``;
* the support of each transition probability met on the way (where a probability
  becomes 0 the trace graph loses an edge).

:func:`behaviour_conditions` gives, at an exact point, the conjunction of these
conditions as met there: wherever it holds the reachable graph and the agent's actions on
it are the same as at the point, so the verdict of any trace property is too. It covers
the paper's agents (FP, FPX, STH step by step, SI, SIF, ITF, ITC); for anything else
:func:`behaviour_obstacle` says why not, and synthesis reports *unknown*.
"""

from __future__ import annotations

import sympy

from ..agents.base import Agent
from ..agents.learners import append
from ..agents.paper import FP, FPX, ITC, ITF, SI, SIF, STH
from ..budget import Deadline
from ..core.functions import number_to_sympy
from ..core.partition import Point, sign_condition
from ..decisions.solving import optimal_at
from ..errors import ModelTooLargeError, SpecError
from .traces import MAX_TRACE_NODES

__all__ = ["behaviour_obstacle", "behaviour_conditions", "support_condition"]

#: The agent definitions whose actions :func:`behaviour_conditions` reads exactly.
_READABLE = (FP, FPX, STH, SI, SIF, ITF, ITC)


def behaviour_obstacle(agent: Agent) -> str | None:
    """Why the regions of ``agent``'s behaviour cannot be derived, or None when they can.

    >>> import cpspec as cp
    >>> from cpspec.examples import delayed_reward
    >>> behaviour_obstacle(cp.agents.FP(delayed_reward())) is None
    True
    """
    if type(agent) not in _READABLE:
        return (f"{agent.kind} is not one of the paper's agents (FP, FPX, STH, SI, SIF, "
                "ITF, ITC), whose actions cpspec reads off their planning decisions; its "
                "behaviour may depend on the parameters in other ways")
    if agent.chunks is not None:
        return "STH with chunks: the regions of chunk plans are not derived"
    if isinstance(agent.horizon, sympy.Symbol):
        return f"the planning horizon {agent.horizon} is symbolic; give a number"
    if isinstance(agent, SI) and agent.U_max is not None and agent.U_max.free_symbols:
        return f"U_max = {agent.U_max} is symbolic; bind it"
    return None


def support_condition(p, point: Point):
    """``p > 0`` or ``p = 0`` (a probability, a rational function of the parameters) as
    it is at ``point``; ``True`` for a number.

    >>> import sympy
    >>> p = sympy.Symbol("p")
    >>> support_condition(1 - p, Point([p], {p: 1})), support_condition(p, Point([p], {p: 1}))
    (Eq(1 - p, 0), p > 0)
    """
    p = number_to_sympy(p)
    return sign_condition(p, point.sign(p)) if p.free_symbols else sympy.true


def behaviour_conditions(agent: Agent, point: Point, K: int,
                         deadline: Deadline | None = None) -> list:
    """The conditions (SymPy relations in the parameters) under which ``agent``'s
    learning world over ``K`` steps has the same reachable (record, state) nodes and the
    same action support at each of them as at ``point`` (see the module docstring).

    Examples
    --------
    >>> import cpspec as cp, sympy
    >>> from cpspec.examples import delayed_reward
    >>> g = sympy.Symbol("gamma")
    >>> fp = cp.agents.FP(delayed_reward(gamma=g))
    >>> conds = behaviour_conditions(fp, Point([g], {g: sympy.Rational(1, 2)}), 2)
    >>> sorted(map(str, set(conds) - {sympy.true}))
    ['gamma > 1/3']
    """
    why = behaviour_obstacle(agent)
    if why is not None:
        raise SpecError(why)
    deadline = deadline or Deadline(None)
    env, key = agent.env, agent.learner.key
    conds: list = []
    plans: dict = {}

    def plan(o, s):
        k = (key(o), s if agent.planning_depends_on_state else None)
        if k not in plans:
            sol, cs = optimal_at(agent.planning_mdp(o, s), agent.horizon, point, deadline)
            conds.extend(cs)
            plans[k] = sol
        return plans[k]

    def support(o, s, t):
        if isinstance(agent, SI):
            if agent.pressed(s) or (agent.T_max is not None and t >= agent.T_max):
                return [agent.null_action]
            if agent.U_max is not None:
                d = plan(o, s).values[s] - agent.U_max
                power = point.sign(d) >= 0
                conds.append(sign_condition(d, point.sign(d)))
                if power:
                    return [agent.null_action]
        sol = plan(o, s)
        best = sol.policy(s) if agent.horizon is sympy.oo else sol.policy(0, s)
        if isinstance(agent, FPX) and agent.epsilon > 0:
            return list(env.actions)
        return [best]

    frontier = {}
    for s0, p in env.mu0.items():
        conds.append(support_condition(p, point))
        if point.sign(p) > 0:
            frontier[(key(agent.o0), s0)] = (agent.o0, s0)
    count = len(frontier)
    for t in range(K):
        nxt: dict = {}
        for o, s in frontier.values():
            deadline.check()
            for a in support(o, s, t):
                for s2, p in env.P[(s, a)].items():
                    conds.append(support_condition(p, point))
                    if point.sign(p) == 0:
                        continue
                    o2 = append(o, s, a, s2)
                    if (key(o2), s2) not in nxt:
                        nxt[(key(o2), s2)] = (o2, s2)
                        count += 1
        if count > MAX_TRACE_NODES:
            raise ModelTooLargeError(
                f"the learning world of {agent!r} has more than cpspec.verification.traces."
                f"MAX_TRACE_NODES = {MAX_TRACE_NODES} (record, state) nodes by step {t + 1} "
                f"of {K}; lower K, or raise the limit")
        frontier = nxt
    for o, s in frontier.values():   # the actions at the last step are part of the trace
        support(o, s, K)
    return list(dict.fromkeys(conds))
