"""Structural checks of an agent definition (method ``"structure"``): properties that
follow from how the planning world is built, decided without a solver."""

from __future__ import annotations

from ..agents.base import Agent
from .properties import Property
from .records import Counterexample, Outcome

__all__ = ["check_no_self_knowledge"]


def check_no_self_knowledge(agent: Agent, prop: Property, deadline):
    s0 = next(iter(agent.env.mu0))
    pw = agent.planning_world(agent.o0, s0, horizon=2)
    chance_actions = [n for n in pw.order if n.startswith("A_") and pw.node(n).kind != "decision"]
    if chance_actions or getattr(agent, "uses_self_model", False):
        node = chance_actions[0] if chance_actions else "the planning world"
        return Outcome("fails", Counterexample("structure", {"node": node},
                                       f"{node} is predicted by a learned model of the agent's "
                                       "own policy", {"confirmed": True}), None)
    return Outcome("holds", None, ("every action A_t of the planning world is a decision node; the "
                           f"learner {agent.learner!r} predicts only the environment's "
                           "transitions (s, a) -> s'"), method="structure")
