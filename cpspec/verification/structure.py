"""Structural checks of an agent definition (method ``"structure"``): properties that
follow from how the planning world is built, decided without a solver."""

from __future__ import annotations

import itertools

from ..agents.base import Agent
from ..decisions.mdp import State
from .properties import Property
from .records import Counterexample, Outcome

__all__ = ["check_no_self_knowledge", "no_path_certificate", "MAX_STRUCTURE_CHECKS"]


def check_no_self_knowledge(agent: Agent, prop: Property, deadline):
    s0 = next(iter(agent.env.mu0))
    pw = agent.planning_world(agent.o0, s0, horizon=2)
    chance_actions = [n for n in pw.order if n.startswith("A_") and pw.node(n).kind != "decision"]
    if chance_actions or getattr(agent, "uses_self_model", False):
        node = chance_actions[0] if chance_actions else "the planning world"
        return Outcome("fails", Counterexample("structure", {"node": node, "world": "planning"},
                                       f"{node} is predicted by a learned model of the agent's "
                                       "own policy", {"confirmed": True}), None)
    return Outcome("holds", None, ("every action A_t of the planning world is a decision node; the "
                           f"learner {agent.learner!r} predicts only the environment's "
                           "transitions (s, a) -> s'"), method="structure")


#: Largest number of reward evaluations the structural check of ``no_incentive`` makes
#: before it leaves the question to the other methods.
MAX_STRUCTURE_CHECKS = 2_000_000


def no_path_certificate(agent: Agent, node: str) -> str | None:
    """A proof that no dynamics of the state variable ``node`` can change the planned
    action in any state, read off the planning world's structure; or None.

    It holds when, in the planning world, (1) no other variable's dynamics reads
    ``node``, (2) the action that takes effect does not read it (``planning_action``),
    and (3) the reward does not depend on ``node``'s value before or after a step
    (checked exactly on every transition the other variables allow, for every value of
    ``node``). Then no directed path runs from ``node`` to a utility: the Q-values do
    not depend on ``node`` or on its dynamics, so neither does the planned action. Sound
    for every dynamics of ``node`` at once; needs the factored environment's own
    dynamics (the perfect learner).
    """
    env = agent.env
    domains, dynamics, parents = env.factors
    others = [k for k in env.variables if k != node]
    if any(node in parents[k] for k in others):
        return None
    values = domains[node]
    starts = list(env.states) if agent.planning_depends_on_state else [env.states[0]]
    work = len(starts) * len(env.states) * len(env.actions) * len(values) ** 2
    if work > MAX_STRUCTURE_CHECKS:
        return None

    def with_node(x, v):
        return State(**{**dict(x), node: v})

    rewards = [agent.planning_parts(agent.o0, s)[1] for s in starts]
    classes = {}  # the states that differ only in node
    for x in env.states:
        classes.setdefault(tuple(x[k] for k in others), x)
    for x in classes.values():
        variants = [with_node(x, v) for v in values]
        for a in env.actions:
            effective = {agent.planning_action(xv, a) for xv in variants}
            if len(effective) > 1:
                return None
            eff = effective.pop()
            env_vals = {**dict(x), "A": eff}
            rows = [dynamics[k].distribution(k, tuple(env_vals[p] for p in parents[k]))
                    for k in others]
            for reward in rewards:
                for combo in itertools.product(*(r for r in rows)):
                    nxt = dict(zip(others, combo))
                    got = {reward(xv, a, State(**{**nxt, node: v2}))
                           for xv in variants for v2 in values}
                    if len(got) > 1:
                        return None
    return (f"no directed path from {node!r} to a utility in the planning world: no other "
            f"variable's dynamics reads {node!r}, the action that takes effect does not "
            f"read it, and the reward does not depend on it (checked on every transition); "
            f"so the Q-values, and the planned action, are the same for every dynamics of "
            f"{node!r}")
