"""Trace properties of the learning world: ``obeys_stop_button(K)``, ``always``,
``eventually`` and ``policy_unmodified(var, K)``, decided by an exact explicit-state
search (method ``"search"``), and for SI's stop button by a certificate read off the
agent definition and the environment (method ``"structure"``).

The search walks the learning world breadth-first, one step at a time. A node is a
reachable ``(record, state)`` pair together with a small *monitor* that remembers what
the property needs of the trace so far (the stop button: "pressed seen so far";
``eventually``: traces on which the predicate has held are dropped; ``always`` and
``policy_unmodified``: nothing). Nodes are merged per ``(learner.key(record), state,
monitor)`` at each step, so the work is linear in the size of that graph, not in the
number of traces. An edge is an action of positive probability under the agent's
policy and a successor of positive probability under the environment. Exhaustive search
without a violation proves the property for traces of ``K`` steps (sound and complete
for that horizon); a violation is a concrete trace, rebuilt by parent pointers and
replayed exactly along the trace (its probability in the learning world). Being
breadth-first, the search reports a violation at the earliest step one occurs.

The graph is bounded by :data:`MAX_TRACE_NODES`, checked as each node is added, and the
search checks the call's deadline at every node.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..agents.base import Agent
from ..agents.learners import append
from ..agents.paper import SI
from ..core.functions import as_sympy, required_arity
from ..errors import ModelTooLargeError, SpecError, UnknownNodeError
from .properties import Property
from .records import Counterexample, Outcome

__all__ = ["interlock_applies", "check_stop_button", "check_temporal", "check_policy_unmodified",
           "MAX_TRACE_NODES"]

#: Largest number of nodes (``(record key, state, monitor)`` per step, summed over the
#: steps) the trace search visits. Each node costs a policy row (a planning-world solve
#: the first time its learned model is seen) and its edges; a learner whose key grows
#: with the record (``counting``, a callable ``L(O)``) can make the graph grow
#: exponentially in ``K``, which this limit stops early. Raise it
#: (``cpspec.verification.traces.MAX_TRACE_NODES = ...``) when the time is there.
MAX_TRACE_NODES = 1_000_000

# what a monitor answers for a node or an edge, besides its next value
_BAD = object()   # the property is violated here
_DONE = object()  # the property holds on every continuation: drop this trace


@dataclass(frozen=True)
class _Monitor:
    """What one property needs of a trace: the monitor's value at the start, its update
    at each node ``(t, s, m)`` and each edge ``(t, s, m, a, s2)`` (a new value,
    ``_BAD`` or ``_DONE``), and whether reaching step ``K`` at all is a violation."""

    start: Any
    node: Callable
    edge: Callable
    end_bad: bool = False


@dataclass(frozen=True)
class _Found:
    """A violating trace: ``states`` and ``actions`` up to the violation, and its step."""

    states: list
    actions: list
    step: int


def _search(agent: Agent, prop: Property, mon: _Monitor, deadline) -> _Found | int:
    """Breadth-first search of the learning world for ``prop.K`` steps: the first
    violating trace, or the number of nodes visited when there is none."""
    env, K = agent.env, prop.K
    key = agent.learner.key
    history: list = []  # per step: (state, parent index, action) of each node
    frontier: dict = {}
    for s0 in env.mu0:  # the environment's rows hold no zero probabilities
        frontier[(key(agent.o0), s0, mon.start)] = (agent.o0, s0, mon.start, None, None)
    count = _grow(0, len(frontier), 0, agent, prop)
    for t in range(K + 1):
        alive = _visit(history, frontier.values(), t, mon)
        if isinstance(alive, _Found) or t == K:
            break
        frontier = {}
        for o, s, m, i in alive:
            deadline.check()
            for a, pa in agent.policy_row(o, s, t).items():
                if pa == 0:  # an agent's own policy row may list an action it never takes
                    continue
                for s2 in env.P[(s, a)]:
                    m2 = mon.edge(t, s, m, a, s2)
                    if m2 is _BAD:
                        return _rebuild(history, t, i, (a, s2))
                    if m2 is _DONE:
                        continue
                    o2 = append(o, s, a, s2)
                    k = (key(o2), s2, m2)
                    if k not in frontier:
                        frontier[k] = (o2, s2, m2, i, a)
                        count = _grow(count, 1, t + 1, agent, prop)
    if isinstance(alive, _Found):
        return alive
    return _rebuild(history, K, alive[0][3]) if mon.end_bad and alive else count


def _visit(history: list, nodes, t: int, mon: _Monitor) -> list | _Found:
    """Record step ``t``'s nodes in ``history`` and update their monitors: the nodes
    still to expand as ``(record, state, monitor, index)``, or a violation at a node."""
    here: list = []
    history.append(here)
    alive: list = []
    for o, s, m, parent, a in nodes:
        here.append((s, parent, a))
        m = mon.node(t, s, m)
        if m is _BAD:
            return _rebuild(history, t, len(here) - 1)
        if m is not _DONE:
            alive.append((o, s, m, len(here) - 1))
    return alive


def _grow(count: int, new: int, t: int, agent: Agent, prop: Property) -> int:
    """``count + new`` nodes, refused above :data:`MAX_TRACE_NODES` (as it is reached,
    before the search goes on)."""
    count += new
    if count > MAX_TRACE_NODES:
        raise ModelTooLargeError(
            f"{prop} of {agent!r}: the learning world's trace graph has more than "
            f"cpspec.verification.traces.MAX_TRACE_NODES = {MAX_TRACE_NODES} (record, state) "
            f"nodes by step {t} of {prop.K} (the learner {agent.learner!r} tells records "
            "apart by learner.key); lower K, or raise the limit")
    return count


def _rebuild(history: list, t: int, i: int, last: tuple | None = None) -> _Found:
    """The trace to node ``i`` of step ``t`` by parent pointers, plus the violating
    edge ``last = (action, successor)`` when there is one."""
    states, actions = [], []
    step = t
    while True:
        s, parent, a = history[t][i]
        states.append(s)
        if parent is None:
            break
        actions.append(a)
        t, i = t - 1, parent
    states.reverse()
    actions.reverse()
    if last is not None:
        actions.append(last[0])
        states.append(last[1])
    return _Found(states, actions, step)


def _trace_text(states, acts) -> str:
    parts = []
    for t, a in enumerate(acts):
        parts.append(f"S_{t}={states[t]!r} A_{t}={a!r}")
    parts.append(f"S_{len(acts)}={states[len(acts)]!r}")
    return ", ".join(parts)


def _trace_cex(agent, kind, states, acts, upto, text, extra=None) -> Counterexample:
    """A trace counterexample, replayed exactly along the trace: its probability in the
    learning world, ``mu0(s_0) * prod_t pi(a_t | o_t, s_t) * P(s_t+1 | s_t, a_t)`` with the
    records ``o_t`` rebuilt step by step (no table of the whole learning world is built,
    so a long trace replays in time linear in its length)."""
    env = agent.env
    prob = as_sympy(env.mu0.get(states[0], 0))
    o = agent.o0
    for t in range(upto):
        if not prob:
            break
        s, a, s2 = states[t], acts[t], states[t + 1]
        prob *= as_sympy(agent.policy_row(o, s, t).get(a, 0))
        prob *= as_sympy(env.P[(s, a)].get(s2, 0))
        o = append(o, s, a, s2)
    data = {"states": states[:upto + 1], "actions": acts[:upto]}
    data.update(extra or {})
    return Counterexample(kind, data, f"{text}\n  trace: {_trace_text(states[:upto + 1], acts[:upto])}"
                          f"\n  probability of this trace in the learning world: {prob}",
                          {"trace_probability": prob, "confirmed": prob != 0})


def _searched(prop: Property, nodes: int) -> Outcome:
    return Outcome("holds", None, f"exhaustive search of the learning world: no trace of "
                   f"{prop.K} steps violates it ({nodes} (record, state) nodes)",
                   method="search")


def _stop_button(agent: Agent, prop: Property) -> tuple:
    """The stop predicate and null action the property checks (the agent's own unless
    the property names them)."""
    pressed = prop.stop_pressed or getattr(agent, "pressed", None)
    null = prop.null_action if prop.null_action is not None else getattr(agent, "null_action",
                                                                          None)
    if pressed is None or null is None:
        raise SpecError(f"obeys_stop_button: {agent!r} has no stop button of its own; pass "
                        "stop_pressed=... and null_action=...")
    if null not in agent.env.actions:
        raise SpecError(f"obeys_stop_button: null action {null!r} is not an action")
    return pressed, null


def interlock_applies(agent: Agent, prop: Property) -> bool:
    """Whether SI's interlock decides ``prop`` (an ``obeys_stop_button``) by definition:
    the agent acts through SI's own interlock (SI and SIF, whose act, interlock, stop
    test and policy row are SI's: a subclass that acts differently does not count), and
    the property asks about the agent's own stop predicate and null action. Then the
    learning-world policy takes the null action in every state where the button is
    pressed (:meth:`SI.act` goes through :meth:`SI.interlock`, whose first test is the
    stop button)."""
    own = (getattr(agent.act, "__func__", None) is SI.act
           and getattr(agent.interlock, "__func__", None) is SI.interlock
           and getattr(agent.pressed, "__func__", None) is SI.pressed
           and getattr(agent.policy_row, "__func__", None) is Agent.policy_row)
    if not own:
        return False
    if prop.stop_pressed is not None and \
            getattr(prop.stop_pressed, "__wrapped__", None) is not agent.stop_pressed:
        return False
    return prop.null_action is None or prop.null_action == agent.null_action


def _interlock_certificate(agent: Agent, prop: Property) -> str | None:
    """Why SI obeys its stop button for every ``K``, or None when this cannot be read
    off the definition (then the search decides): the interlock applies
    (:func:`interlock_applies`) and a pressed state has only pressed successors under
    the null action (checked exactly on the environment), so every state after the first
    pressed one is pressed and every later action null, at any horizon."""
    if not interlock_applies(agent, prop):
        return None
    env = agent.env
    null = agent.null_action
    for s in env.states:
        if agent.pressed(s) and any(p != 0 and not agent.pressed(s2)
                                    for s2, p in env.P[(s, null)].items()):
            return None  # the button can be released: the search decides
    return (f"{agent.kind}'s interlock takes the null action {null!r} in every state where "
            "its stop predicate holds, and a pressed state has only pressed successors "
            "under the null action (checked on the environment): once pressed, every later "
            "action is null, for every K")


def check_stop_button(agent: Agent, prop: Property, deadline) -> Outcome:
    """``obeys_stop_button(K)``: SI's certificate when it applies, else the search with
    the monitor "pressed seen so far".

    Examples
    --------
    >>> import cpspec as cp
    >>> from cpspec.examples import stop_button
    >>> stop = dict(stop_pressed=lambda s: s.button == "pressed", null_action="null")
    >>> v = cp.verify(cp.agents.SI(stop_button(), **stop), cp.obeys_stop_button(200))
    >>> v.status, v.method
    ('holds', 'structure')
    >>> v = cp.verify(cp.agents.FP(stop_button()), cp.obeys_stop_button(200, **stop))
    >>> v.status, v.method, v.counterexample.data["violation_at"]
    ('fails', 'search', 1)
    """
    pressed, null = _stop_button(agent, prop)
    why = _interlock_certificate(agent, prop)
    if why is not None:
        return Outcome("holds", None, why, method="structure")
    mon = _Monitor(False, lambda t, s, m: m or pressed(s),
                   lambda t, s, m, a, s2: _BAD if m and a != null else m)
    found = _search(agent, prop, mon, deadline)
    if isinstance(found, int):
        return _searched(prop, found)
    states, acts, j = found.states, found.actions, found.step
    first = next(i for i in range(j + 1) if pressed(states[i]))
    return Outcome("fails", _trace_cex(
        agent, "trace", states, acts, j + 1,
        f"the button is pressed at step {first} but the agent takes {acts[j]!r} at step {j}",
        {"pressed_at": first, "violation_at": j}), method="search")


def _arity(pred) -> int:
    n = required_arity(pred)
    return 1 if n is None else n


def check_temporal(agent: Agent, prop: Property, deadline) -> Outcome:
    """``always(pred, K)`` and ``eventually(pred, K)`` by the search. A predicate of the
    state is checked at steps ``0..K``, one of the state and action at steps ``0..K-1``.

    Examples
    --------
    >>> import cpspec as cp
    >>> from cpspec.examples import stop_button
    >>> si = cp.agents.SI(stop_button(), stop_pressed=lambda s: s.button == "pressed",
    ...                   null_action="null")
    >>> cp.verify(si, cp.always(lambda s, a: a != "disable", 50)).method
    'search'
    >>> cp.verify(si, cp.eventually(lambda s: s.button == "pressed", 50)).status
    'fails'
    """
    K, pred = prop.K, prop.predicate
    two = _arity(pred) >= 2
    label = prop.text or "the predicate"

    if prop.name == "always":
        if two:
            mon = _Monitor(None, lambda t, s, m: m,
                           lambda t, s, m, a, s2: m if pred(s, a) else _BAD)
        else:
            mon = _Monitor(None, lambda t, s, m: m if pred(s) else _BAD,
                           lambda t, s, m, a, s2: m)
    elif two:
        mon = _Monitor(None, lambda t, s, m: m,
                       lambda t, s, m, a, s2: _DONE if pred(s, a) else m, end_bad=True)
    else:
        mon = _Monitor(None, lambda t, s, m: _DONE if pred(s) else m,
                       lambda t, s, m, a, s2: m, end_bad=True)
    found = _search(agent, prop, mon, deadline)
    if isinstance(found, int):
        return _searched(prop, found)
    states, acts, bad = found.states, found.actions, found.step
    if prop.name == "always":
        cex = _trace_cex(agent, "trace", states, acts, bad + 1 if two else bad,
                         f"{label} is false at step {bad}", {"violation_at": bad})
    else:
        cex = _trace_cex(agent, "trace", states, acts, K,
                         f"{label} never holds within {K} steps")
    return Outcome("fails", cex, method="search")


def check_policy_unmodified(agent: Agent, prop: Property, deadline) -> Outcome:
    """``policy_unmodified()``: a structural check of the learning world's action nodes;
    with a policy variable, the search for a step that rewrites it.

    Examples
    --------
    >>> import cpspec as cp
    >>> from cpspec.examples import delayed_reward
    >>> cp.verify(cp.agents.FP(delayed_reward()), cp.policy_unmodified()).method
    'structure'
    """
    lw = agent.learning_world(1)
    a0 = lw.node("A_0")
    if a0.label != "pi" or "pi" in lw or set(a0.parents) != {"O_0", "S_0"}:
        return Outcome("fails", Counterexample("structure", {"node": "A_0", "world": "learning"},
                                       f"A_0 is driven by {a0.label!r} with parents "
                                       f"{a0.parents}, not by the input parameter pi of "
                                       "(O_t, S_t)", {"confirmed": True}), None,
                       method="structure")
    var = prop.policy_var
    if var is None:
        return Outcome("holds", None, ("every A_t is annotated with the one input parameter pi, a "
                               "function fixed by the agent definition; pi is not a node of "
                               "the learning world, so no action can reach it"), method="structure")
    if agent.env.variables is None or var not in agent.env.variables:
        raise UnknownNodeError(f"policy_unmodified({var}): the environment has no state "
                               f"variable {var!r}; its variables: "
                               f"{', '.join(agent.env.variables or ()) or 'none'}")
    mon = _Monitor(None, lambda t, s, m: m,
                   lambda t, s, m, a, s2: _BAD if s2[var] != s[var] else m)
    found = _search(agent, prop, mon, deadline)
    if isinstance(found, int):
        return _searched(prop, found)
    states, acts, t = found.states, found.actions, found.step
    return Outcome("fails", _trace_cex(
        agent, "trace", states, acts, t + 1,
        f"the policy variable {var!r} is rewritten from {states[t][var]!r} to "
        f"{states[t + 1][var]!r} by action {acts[t]!r} at step {t}",
        {"violation_at": t}), method="search")
