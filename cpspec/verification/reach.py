"""``myopic(N, slack=k, within=eps)`` for an agent that plans with chunks: with
probability at least ``1 - eps`` its plan never looks past step ``N + k``.

A chunked plan (:mod:`cpspec.decisions.chunks`) looks as far as its world line reaches:
a chunk started before the planning horizon ``H`` runs to its end. Two tiers:

``structure``
    Every world line ends before ``H - 1 + L`` steps, ``L`` the longest any chunk can
    take: when that is at most ``N + k`` the property holds in every state, whatever
    chunks the plan picks.
``exact``
    The exact distribution of the effective horizon under the plan, from every state
    (:meth:`~cpspec.decisions.chunks.ChunkPlan.effective_horizon`). It fails in the
    state where looking past ``N + k`` is most probable, if that probability is above
    ``eps``; the counterexample is that probability with the most probable world line
    that looks past ``N + k``, replayed from the chunk model's tables.
"""

from __future__ import annotations

from fractions import Fraction

from ..agents.base import Agent
from ..budget import Deadline
from .properties import Property
from .records import Counterexample, Outcome

__all__ = ["check_reach"]


def check_reach(agent: Agent, prop: Property, deadline: Deadline) -> Outcome:
    """The decision procedure of ``myopic`` for an agent planning with chunks (see the
    module docstring).

    Examples
    --------
    >>> import cpspec as cp
    >>> from cpspec.budget import Deadline
    >>> from cpspec.examples import delayed_reward
    >>> env = delayed_reward(delay=2)
    >>> walk = {"walk": lambda s: "end" if s == "done" else "wait"}
    >>> sth = cp.agents.STH(env, horizon=1, chunks=cp.chunks(env, walk, primitive=True))
    >>> out = check_reach(sth, cp.myopic(1, slack=1), Deadline(None))
    >>> out.status, out.method, out.counterexample.data["probability"]
    ('fails', 'exact', Fraction(1, 1))
    >>> check_reach(sth, cp.myopic(1, slack=2), Deadline(None)).method
    'structure'
    """
    N, k, eps = prop.N, prop.slack, prop.within
    limit = N + k
    H = agent.horizon
    plan = agent.plan(agent.o0, agent.env.states[0])
    longest = plan.model.longest()
    if H - 1 + longest <= limit:
        return Outcome("holds", None, (
            f"every world line of the plan ends by step {H - 1 + longest} <= {limit}: a "
            f"chunk starts before step {H} (the planning horizon) and takes at most "
            f"{longest} steps; this holds in every state, whatever chunks the plan picks"),
            method="structure")
    worst = None
    for s in agent.env.states:
        deadline.check()
        h = agent.effective_horizon(s, agent.o0)
        p = sum((q for n, q in h.probabilities.items() if n > limit), Fraction(0))
        if worst is None or p > worst[0]:
            worst = (p, s, h)
    p, s, h = worst
    if p <= eps:
        return Outcome("holds", None, (
            f"from every state the plan looks past step {limit} with probability at most "
            f"{p} <= {eps} (the exact distribution of its effective horizon; the worst "
            f"state is {s!r})"), method="exact")
    return Outcome("fails", _counterexample(agent, prop, s, h, p), None, method="exact")


def _counterexample(agent, prop, s, h, p) -> Counterexample:
    """The state, the exact probability, and the most probable world line past
    ``N + k``, its probability replayed from the chunk model's tables."""
    limit = prop.N + prop.slack
    end = max((n for n in h.probabilities if n > limit), key=lambda n: h.lines[n][0])
    q, steps = h.lines[end]
    plan = agent.plan(agent.o0, s)
    model = plan.model
    replay, x, t, follows = Fraction(1), s, 0, True
    for x0, t0, c, n, lands in steps:
        follows = follows and (x0, t0) == (x, t) and plan.policy(t0, x0) == c
        replay *= model.kernel[(x0, c)].get((lands, n), Fraction(0))
        x, t = lands, t0 + n
    shown = "; ".join(f"at step {t0} in {x0!r} chunk {c!r} runs {n} step{'s' * (n != 1)}"
                      for x0, t0, c, n, _ in steps)
    text = (f"from state {s!r} the plan looks past step {limit} with probability {p} > "
            f"{prop.within}: the effective planning horizon is "
            + ", ".join(f"{n} with probability {v}" for n, v in h.probabilities.items())
            + f"; e.g. the world line [{shown}] (probability {q}) ends at step {end}")
    return Counterexample("reach", {"state": s, "probability": p, "limit": limit,
                                    "line": steps, "line_probability": q, "end": end,
                                    "effective_horizon": dict(h.probabilities)},
                          text, {"replayed_probability": replay,
                                 "confirmed": follows and replay == q and q > 0
                                 and t == end > limit})
