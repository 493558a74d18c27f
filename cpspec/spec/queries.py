"""Queries of spec files: the names and functions a query may use, and :func:`derive`.

In a query ``X_w`` is node ``X`` of world ``w``; ``P(event, given=event)`` and
``E(expr, given=event)`` are exact. The claim functions about models are ``pi*(s)``,
``pi*(t, s)``, ``U(pi*)``, ``V(pi*, s)``, ``threshold(pi*)``, ``thresholds(pi*)`` for MDPs
(``pi_NAME*`` with several MDPs), ``plan_thresholds(pi*, low, high)`` (the values of the
MDP's one parameter in ``[low, high]`` where the plan from the start changes, found by
:func:`cpspec.decisions.thresholds.plan_thresholds` without solving parametrically),
``trace(pi*)`` and ``trace(pi*, value)`` for a car factory (its world lines in the
paper's notation, joined by `` | ``; at a value of its one parameter); ``U(w)`` and ``pi*(D_w, info...)`` for a world with
decision nodes; and ``act(agent, state)``, ``act(agent, state, t)``, ``value(agent, T)``,
``plan_threshold(agent, state)``, ``switch(agent, state)`` for agents, and for an STH
agent with chunks ``chunk(agent, state)`` (the chunk it plans first) and
``reach(agent, state, H)`` (the probability that its plan's world line ends at step
``H``) (see
:mod:`cpspec.spec.models`). A factored state is written ``S(button='armed')``.

MDPs and influence diagrams are solved on first use by a :class:`Solutions` object, which
one :func:`derive` creates (or is given, so that the claims of one check share it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial
from types import MappingProxyType
from typing import Any, Callable, Mapping

import sympy

from ..agents.base import Agent
from ..agents.paper import STH
from ..core.diagram import Diagram
from ..core.expressions import RV, Expr
from ..core.functions import as_sympy
from ..decisions.mdp import State
from ..decisions.solving import solve
from ..decisions.thresholds import plan_thresholds
from ..examples import car_factory_traces
from ..errors import SpecFileError
from ..inference.exact import E, P
from .base import Spec, evaluate_text, normal_name
from .models import read_steps

__all__ = ["STAR", "PolicyRef", "Solutions", "query_names", "query_functions", "derive"]

#: ``pi*`` and ``pi_NAME*`` in a query are rewritten to the names ``pi_star``,
#: ``pi_NAME_star`` before parsing (``pi*(s)`` is not Python syntax).
STAR = re.compile(r"\b(pi(?:_[A-Za-z_]\w*)?)\*")


@dataclass(frozen=True, slots=True)
class PolicyRef:
    """``pi*`` of an MDP in claims (``mdp`` is None when ``pi*`` is ambiguous)."""

    mdp: str | None


class Solutions:
    """The solutions of one spec's MDPs and influence diagrams, each solved on first use
    and kept as long as this object (one :func:`derive`, or every claim of one check).

    >>> from cpspec.spec.loader import load
    >>> spec = load("m.toml", text='''
    ... [mdp.m]
    ... states = ["s"]
    ... actions = ["a"]
    ... start = "s"
    ... reward = "1"
    ... horizon = 2
    ... transition.s.a = { s = "1" }
    ... ''')
    >>> sols = Solutions(spec)
    >>> sols.get(("mdp", "m")).value, sols.get(("mdp", "m")) is sols.get(("mdp", "m"))
    (2, True)
    """

    def __init__(self, spec: Spec):
        self.spec = spec
        self._solved: dict = {}

    def get(self, key: tuple):
        """The solution of ``("mdp", name)`` or ``("world", name)`` (see
        :meth:`Spec.solution`)."""
        if key not in self._solved:
            self._solved[key] = self.spec.solution(key)
        return self._solved[key]

    def of_policy(self, ref: PolicyRef):
        """The solved MDP a ``pi*`` names."""
        if ref.mdp is None:
            raise SpecFileError(f"pi* is ambiguous with {len(self.spec.mdps)} MDPs in the file; "
                                "write pi_NAME* for [mdp.NAME] (or pi*(D_w, ...) for a "
                                "decision node D of world w)")
        mdp, horizon = self.spec.mdps[ref.mdp]
        if horizon is None:
            raise SpecFileError(
                f"mdp {ref.mdp}: claims about pi* need a planning horizon; add to "
                f"[mdp.{ref.mdp}] horizon = 3 (steps), \"oo\" (infinite, with gamma < 1) "
                "or a declared parameter such as \"N\"")
        return self.get(("mdp", ref.mdp))


def query_names(path: str, params: Mapping, worlds: Mapping, mdps: Mapping,
                agents: Mapping) -> MappingProxyType:
    """Names usable in queries: ``X_w`` for every node, the parameters, the worlds, and
    the models' names (:class:`PolicyRef` records, state and action words, agents);
    read-only. Two meanings of one name are an error."""
    env: dict[str, Any] = dict(params)
    owner: dict[str, str] = {}
    for w, d in worlds.items():
        for n in d.order:
            key = f"{n}_{w}"
            if key in owner and owner[key] != f"{n} of {w}":
                raise SpecFileError(f"{path}: {key} names both {owner[key]} and "
                                    f"{n} of {w}; rename a node or a world")
            if key in params:
                raise SpecFileError(f"{path}: {key} is both a parameter and node "
                                    f"{n} of world {w}; rename one")
            owner[key] = f"{n} of {w}"
            env[key] = d[n]
    for w, d in worlds.items():
        if w not in env:
            env[w] = d
    for k, v in _model_names(mdps, agents).items():
        if k in env and k in agents:
            raise SpecFileError(f"{path}: agent name {k!r} clashes with another "
                                "name; rename the agent")
        env.setdefault(k, v)
    return MappingProxyType(env)


def _model_names(mdps: Mapping, agents: Mapping) -> dict:
    """Names a query may use for the spec's MDPs, agents and states."""
    env: dict = {"pi_star": PolicyRef(next(iter(mdps)) if len(mdps) == 1 else None)}
    for m, (mdp, _) in mdps.items():
        env[f"pi_{m}_star"] = PolicyRef(m)
        if mdp.variables is None:
            for st in mdp.states:  # bare state names, where they are free identifiers
                if isinstance(st, str) and st.isidentifier():
                    env.setdefault(normal_name(st), st)  # as the query's parser reads it
        else:  # bare values of state variables: S(reg=honest), unless the name is taken
            for v in {st[k] for st in mdp.states for k in mdp.variables}:
                if isinstance(v, str) and v.isidentifier() and v not in mdp.variables:
                    env.setdefault(normal_name(v), v)
        for a in mdp.actions:
            if isinstance(a, str) and a.isidentifier():
                env.setdefault(normal_name(a), a)
    env.update(agents)
    return env


def _agent_of(x, fname):
    if not isinstance(x, Agent):
        raise SpecFileError(f"{fname}(): the first argument must be an agent name "
                            f"([agent.NAME]), got {x!r}")
    return x


def _act(agent, state, t=0):
    a = _agent_of(agent, "act")
    return a.act(a.o0, state, read_steps(t, "act(agent, state, t)", "t"))


def _value(agent, T):
    return _agent_of(agent, "value").value(read_steps(T, "value(agent, T)", "T"))


def _plan_threshold(agent, state):
    a = _agent_of(agent, "plan_threshold")
    sol = a.plan(a.o0, state)
    ts = sol.thresholds() if hasattr(sol, "thresholds") else []
    if len(ts) != 1:
        raise SpecFileError(f"plan_threshold: the planned action changes at {len(ts)} "
                            "parameter values; it needs exactly one")
    return ts[0]


def _switch(agent, state):
    a = _agent_of(agent, "switch")
    if not isinstance(a, STH):
        raise SpecFileError("switch(agent, state) is for STH agents")
    return a.switching_horizon(state, a.o0)


def _chunked(agent, fname):
    a = _agent_of(agent, fname)
    if a.chunks is None:
        raise SpecFileError(f"{fname}(agent, state): the agent does not plan with chunks "
                            "(give it chunks.<name> = ...)")
    return a


def _chunk(agent, state):
    a = _chunked(agent, "chunk")
    return a.planned_chunk(a.o0, state)


def _reach(agent, state, H):
    a = _chunked(agent, "reach")
    h = a.effective_horizon(state, a.o0)
    return h.probabilities.get(read_steps(H, "reach(agent, state, H)", "H"), 0)


def _policy(sols: Solutions, ref: PolicyRef, *args):
    """``pi*(s)``, ``pi*(t, s)``, or ``pi*(D_w, info...)`` of an influence diagram."""
    if args and isinstance(args[0], RV):
        return sols.get(("world", args[0].world)).policy(args[0].node, *args[1:])
    sol = sols.of_policy(ref)
    if len(args) == 1 and not isinstance(sols.spec.mdps[ref.mdp][1], sympy.Basic):
        args = (0,) + args  # pi*(s) of a finite horizon: the first decision
    return sol.policy(*args)


def _U(sols: Solutions, ref):
    if isinstance(ref, PolicyRef):
        return sols.of_policy(ref).value
    if isinstance(ref, Diagram):
        return sols.get(("world", ref.name)).value
    raise SpecFileError(f"U() takes pi* (an MDP's optimal policy) or a world with "
                        f"decision nodes, got {ref!r}")


def _V(sols: Solutions, ref, state):
    if not isinstance(ref, PolicyRef):
        raise SpecFileError("V(pi*, state): the first argument must be pi*")
    return sols.of_policy(ref).values[state]


def _thresholds(sols: Solutions, ref):
    if isinstance(ref, Diagram):
        sol = sols.get(("world", ref.name))
    elif isinstance(ref, PolicyRef):
        sol = sols.of_policy(ref)
    else:
        raise SpecFileError("thresholds(pi*) or thresholds(w): pi* of an MDP, or a world "
                            "with decision nodes")
    return tuple(sol.thresholds()) if hasattr(sol, "thresholds") else ()


def _trace(sols: Solutions, ref, *at):
    if not isinstance(ref, PolicyRef):
        raise SpecFileError("trace(pi*): pi* of a car factory ([mdp.NAME] with example = "
                            "\"car_factory\")")
    if len(at) > 1:
        raise SpecFileError("trace(pi*) or trace(pi*, value): at most one parameter value")
    sol = sols.of_policy(ref) if not at else _solved_at(sols, ref, at[0])
    if not (sol.mdp.variables or ()) or "timer" not in sol.mdp.variables:
        raise SpecFileError("trace(pi*) writes a car factory's world lines; this MDP is not "
                            "one (example = \"car_factory\")")
    return " | ".join(car_factory_traces(sol))


def _one_parameter(sols: Solutions, ref, fname):
    """The MDP ``pi*`` names, its horizon and its one free parameter."""
    if not isinstance(ref, PolicyRef):
        raise SpecFileError(f"{fname}: the first argument must be pi* (pi_NAME*)")
    if ref.mdp is None:
        raise SpecFileError(f"{fname}: pi* is ambiguous with several MDPs; write pi_NAME*")
    mdp, horizon = sols.spec.mdps[ref.mdp]
    free = mdp.free_symbols()
    if len(free) != 1 or not isinstance(horizon, int):
        raise SpecFileError(f"{fname}: mdp {ref.mdp} needs exactly one parameter (it has "
                            f"{len(free)}) and a finite horizon")
    return mdp, horizon, next(iter(free))


def _solved_at(sols: Solutions, ref, value):
    mdp, horizon, x = _one_parameter(sols, ref, "trace(pi*, value)")
    return solve(mdp.bind(**{x.name: value}), horizon, timeout=None)


def _plan_thresholds(sols: Solutions, ref, low, high):
    mdp, horizon, x = _one_parameter(sols, ref, "plan_thresholds(pi*, low, high)")
    return plan_thresholds(mdp, horizon, x, (low, high), timeout=None).thresholds


def _threshold(sols: Solutions, ref):
    ts = _thresholds(sols, ref)
    if len(ts) != 1:
        raise SpecFileError(f"threshold(): the policy changes at {len(ts)} parameter "
                            f"values {ts}; use thresholds(...)")
    return ts[0]


def query_functions(spec: Spec, sols: Solutions) -> dict:
    """The claim functions (see the module docstring), solving through ``sols``."""
    funcs = {"U": partial(_U, sols), "V": partial(_V, sols),
             "plan_thresholds": partial(_plan_thresholds, sols),
             "thresholds": partial(_thresholds, sols), "threshold": partial(_threshold, sols),
             "trace": partial(_trace, sols),
             "act": _act, "value": _value, "plan_threshold": _plan_threshold,
             "switch": _switch, "chunk": _chunk, "reach": _reach,
             "S": lambda **kw: State(**kw)}
    funcs.update({k: partial(_policy, sols, v) for k, v in spec.names.items()
                  if isinstance(v, PolicyRef)})
    return funcs


def derive(spec: Spec, query: str, where: str = "query",
           overrides: dict[str, Callable] | None = None,
           solutions: Solutions | None = None) -> Any:
    """Evaluate a query such as ``"E(S_c) - E(S_f)"`` against the spec's worlds, exactly.

    Parameters
    ----------
    spec : Spec
        A loaded spec file (:func:`cpspec.spec.loader.load`).
    query : str
        The query; its names are those of :attr:`Spec.names`.
    where : str
        Where the query is written, for messages.
    overrides : dict, optional
        Query functions to use instead of cpspec's (``P``, ``E``, ``act``, ...).
    solutions : Solutions, optional
        Solved models to reuse (default: a new :class:`Solutions` of ``spec``).

    Raises
    ------
    SpecFileError
        for unknown names, bad syntax, or a query that is a random quantity.

    Examples
    --------
    >>> from cpspec.spec.loader import load
    >>> spec = load("coin.toml", text='''
    ... params = ["p"]
    ... [world.f.node.X]
    ... dist = "bernoulli"
    ... p = "p"
    ... [world.f.node.Y]
    ... dist = "bernoulli"
    ... p = "p"
    ... ''')
    >>> derive(spec, "E(X_f + Y_f)"), derive(spec, "P(X_f == 1 and Y_f == 1)")
    (2*p, p**2)
    """
    sols = Solutions(spec) if solutions is None else solutions
    funcs: dict[str, Callable] = {"P": P, "E": E}
    funcs.update(query_functions(spec, sols))
    funcs.update(overrides or {})
    query = STAR.sub(lambda mt: mt.group(1) + "_star", query)
    keywords = {"given"} | {v for m, _ in spec.mdps.values() for v in (m.variables or ())}
    out = evaluate_text(query, where, spec.names, funcs, keywords,
                        "variables are written NODE_WORLD (e.g. S_f), parameters must be "
                        "declared")
    if isinstance(out, Expr):
        raise SpecFileError(f"{where}: {query!r} is a random quantity, not a number; wrap it "
                            "in P(...) or E(...)")
    return as_sympy(out)
