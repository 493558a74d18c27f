"""Agent models: an MDP-style world stated once, unrolled into the paper's diagrams.

:class:`MDP` holds the states, actions, transition function ``S``, reward function ``R``,
start state (or distribution) and discount ``gamma``. From it, :func:`unroll` builds the
time-unrolled agent model ``S_0 -> A_0 -> S_1 -> ...`` of the paper (one shared annotation
per time series: ``pi``, ``S``, ``R``), and :func:`influence_diagram` the causal
influence diagram in which the ``A_t`` are decision nodes and the ``R_t`` utility nodes.

A **factored** MDP (:meth:`MDP.factored`) has states made of named variables, each with its
own structural function of the previous state's variables and the action ``A``: the
two-slice diagram of the paper. Its states are :class:`State` records, and its unrolled
diagrams have one node per variable and time step (``button_3``), which is what later
properties use to name a part of the state.
"""

from __future__ import annotations

import inspect
import itertools
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Iterable, Mapping

import sympy

from .diagram import Diagram, world
from .errors import DistributionError, DomainError, FunctionError, ParameterError, SpecError
from .functions import (StructuralFunction, _check_distribution, as_sympy, const, decision,
                        dist, fn, to_exact, utility)

__all__ = ["MDP", "State", "unroll", "influence_diagram", "check_horizon"]


class State(Mapping):
    """A state of a factored MDP: an immutable, hashable record of variable values.

    >>> s = State(pos=0, button="up")
    >>> s.pos, s["button"], s
    (0, 'up', State(pos=0, button='up'))
    """

    __slots__ = ("_items",)

    def __init__(self, **values):
        object.__setattr__(self, "_items", tuple(values.items()))

    def __getitem__(self, k):
        for name, v in self._items:
            if name == k:
                return v
        raise KeyError(k)

    def __getattr__(self, k):
        try:
            return self[k]
        except KeyError:
            raise AttributeError(k) from None

    def __setattr__(self, k, v):
        raise AttributeError("a State is immutable")

    def __iter__(self):
        return (k for k, _ in self._items)

    def __len__(self):
        return len(self._items)

    def __hash__(self):
        return hash(self._items)

    def __eq__(self, other):
        return isinstance(other, State) and self._items == other._items

    def __lt__(self, other):  # a stable order for printing
        return tuple(map(repr, self._items)) < tuple(map(repr, other._items))

    def __repr__(self):
        return "State(" + ", ".join(f"{k}={v!r}" for k, v in self._items) + ")"


def check_horizon(horizon: Any, allow_symbolic: bool = True) -> Any:
    """Validate a horizon: a non-negative int, a SymPy symbol, or ``sympy.oo``."""
    if isinstance(horizon, bool):
        raise SpecError(f"horizon {horizon!r} is not a number of steps")
    if isinstance(horizon, int):
        if horizon < 0:
            raise SpecError(f"horizon {horizon} is negative; use a non-negative integer")
        return horizon
    if allow_symbolic and (horizon is sympy.oo or isinstance(horizon, sympy.Symbol)):
        return horizon
    if isinstance(horizon, sympy.Integer) and horizon >= 0:
        return int(horizon)
    what = "a non-negative integer, a SymPy symbol or sympy.oo" if allow_symbolic else \
        "a non-negative integer"
    raise SpecError(f"horizon {horizon!r} is not {what}")


@dataclass(frozen=True, eq=False)
class MDP:
    """A Markov decision process with exact probabilities and rewards.

    Parameters
    ----------
    states, actions : iterables
        Finite, in a fixed order; the action order is the tie-breaking order of optimal
        policies (the first maximising action is chosen).
    transition : callable ``(s, a) -> {s2: probability}``
    reward : callable ``(s, a, s2) -> number`` (exact; may be symbolic)
    start : a state, or a mapping state -> probability
    gamma : the discount (exact number in [0, 1] or a symbol); default 1

    Examples
    --------
    >>> import cpspec as cp
    >>> m = cp.MDP(states=["s"], actions=["a"], transition=lambda s, a: {"s": 1},
    ...            reward=lambda s, a, s2: 1, start="s", gamma="1/2")
    >>> m.P[("s", "a")], m.R[("s", "a", "s")]
    ({'s': Fraction(1, 1)}, Fraction(1, 1))
    """

    states: tuple
    actions: tuple
    transition: Callable
    reward: Callable
    start: Any
    gamma: Any = 1
    variables: tuple | None = None
    P: dict = field(init=False, repr=False)
    R: dict = field(init=False, repr=False)
    mu0: dict = field(init=False, repr=False)

    def __post_init__(self):
        set_ = object.__setattr__
        set_(self, "states", tuple(self.states))
        set_(self, "actions", tuple(self.actions))
        for what, xs in (("states", self.states), ("actions", self.actions)):
            if not xs:
                raise SpecError(f"an MDP needs at least one of its {what}")
            if len(set(xs)) != len(xs):
                raise SpecError(f"the MDP's {what} repeat a value: {xs!r}; list each once")
        g = to_exact(self.gamma, what="gamma")
        if isinstance(g, Fraction) and not 0 <= g <= 1:
            raise ParameterError(f"gamma = {g} lies outside [0, 1]")
        set_(self, "gamma", g)
        known = set(self.states)
        P: dict = {}
        R: dict = {}
        for s in self.states:
            for a in self.actions:
                try:
                    row = self.transition(s, a)
                except SpecError:
                    raise
                except Exception as exc:
                    raise FunctionError(f"transition({s!r}, {a!r}) raised {type(exc).__name__}: "
                                        f"{exc}; make it total on states x actions") from None
                try:
                    row = _check_distribution(f"transition({s!r}, {a!r})", row, ())
                except DistributionError as exc:
                    raise DistributionError(f"{exc} (in state {s!r}, action {a!r}: the "
                                            "transition row must be a distribution)") from None
                for s2 in row:
                    if s2 not in known:
                        raise DomainError(f"transition({s!r}, {a!r}) leads to {s2!r}, which is "
                                          "not among the MDP's states; add it to states")
                    R[(s, a, s2)] = self._call_reward(s, a, s2)
                P[(s, a)] = row
        set_(self, "P", P)
        set_(self, "R", R)
        if isinstance(self.start, Mapping) and not isinstance(self.start, State):
            mu0 = _check_distribution("start", self.start, ())
        else:
            mu0 = {self.start: Fraction(1)}
        for s in mu0:
            if s not in known:
                raise DomainError(f"start state {s!r} is not among the MDP's states")
        set_(self, "mu0", mu0)

    # ---- construction ---------------------------------------------------------------
    @classmethod
    def factored(cls, variables: Mapping[str, Iterable], dynamics: Mapping[str, StructuralFunction],
                 actions: Iterable, reward: Callable, start: Mapping[str, Any],
                 gamma: Any = 1) -> "MDP":
        """An MDP whose state is a record of named variables (a two-slice diagram).

        ``dynamics[X]`` is a structural function (``cp.fn``/``cp.dist``) of the previous
        state's variables (by name) and the action ``A``, giving the next value of ``X``.
        States are :class:`State` records; ``reward(s, a, s2)`` receives them.

        Examples
        --------
        >>> import cpspec as cp
        >>> m = cp.MDP.factored(
        ...     variables={"pos": [0, 1], "button": ["up", "down"]},
        ...     dynamics={"pos": cp.fn(lambda pos, A: min(pos + (A == "go"), 1)),
        ...               "button": cp.dist({"up": "1/2", "down": "1/2"})},
        ...     actions=["stay", "go"], reward=lambda s, a, s2: s2.pos,
        ...     start={"pos": 0, "button": "up"}, gamma="9/10")
        >>> len(m.states), m.P[(m.states[0], "go")][State(pos=1, button="down")]
        (4, Fraction(1, 2))
        """
        names = tuple(variables)
        domains = {k: tuple(v) for k, v in variables.items()}
        missing = [k for k in names if k not in dynamics]
        if missing:
            raise SpecError(f"factored MDP: variable {missing[0]!r} has no dynamics; give "
                            f"dynamics[{missing[0]!r}] = cp.fn(...) or cp.dist(...)")
        extra = [k for k in dynamics if k not in domains]
        if extra:
            raise SpecError(f"factored MDP: dynamics for unknown variable {extra[0]!r}; "
                            f"variables are {', '.join(names)}")
        parents = {}
        for k in names:
            f = dynamics[k]
            if not isinstance(f, StructuralFunction):
                raise SpecError(f"factored MDP: dynamics[{k!r}] must be cp.fn(...) or cp.dist(...)")
            ps = f.resolve_parents(k)
            for p in ps:
                if p != "A" and p not in domains:
                    raise SpecError(f"factored MDP: dynamics of {k!r} reads {p!r}, which is "
                                    f"neither a variable ({', '.join(names)}) nor the action A")
            parents[k] = ps
        states = tuple(State(**dict(zip(names, vals)))
                       for vals in itertools.product(*(domains[k] for k in names)))

        def transition(s, a):
            env = dict(s)
            env["A"] = a
            out: dict = {}
            rows = [dynamics[k].distribution(k, tuple(env[p] for p in parents[k])) for k in names]
            for combo in itertools.product(*(r.items() for r in rows)):
                prob = Fraction(1)
                for _, p in combo:
                    prob = prob * p
                s2 = State(**{k: v for k, (v, _) in zip(names, combo)})
                out[s2] = out.get(s2, 0) + prob
            return out

        if not isinstance(start, Mapping) or set(start) != set(names):
            raise SpecError(f"factored MDP: start must give every variable a value: "
                            f"{', '.join(names)}")
        s0 = State(**{k: start[k] for k in names})
        m = cls(states, tuple(actions), transition, reward, s0, gamma, names)
        object.__setattr__(m, "_factored", (domains, dict(dynamics), parents))
        return m

    def bind(self, **values) -> "MDP":
        """The MDP with symbolic parameters (in probabilities, rewards, gamma) bound."""
        subs = {sympy.Symbol(k): as_sympy(to_exact(v, what=f"parameter {k}"))
                for k, v in values.items()}
        syms = {s.name for s in self.free_symbols()}
        for k in values:
            if k not in syms:
                raise ParameterError(f"the MDP has no free parameter {k!r}; its parameters "
                                     f"are {sorted(syms) or 'none'}")

        def sub(x):
            return to_exact(sympy.sympify(as_sympy(x)).subs(subs)) if isinstance(
                x, sympy.Basic) else x

        def reward(s, a, s2):
            return sub(self.reward_of(s, a, s2))
        fac = getattr(self, "_factored", None)
        if fac is not None:  # stay factored: bind inside each variable's dynamics
            domains, dynamics, parents = fac
            new_dyn = {}
            for k, f in dynamics.items():
                def row(*args, _f=f, _k=k):
                    return {v: sub(p) for v, p in _f.distribution(_k, args).items()}
                new_dyn[k] = dist(row, parents=list(parents[k]))
            return MDP.factored(domains, new_dyn, self.actions, reward,
                                dict(next(iter(self.mu0))), sub(self.gamma))
        P = {k: {s2: sub(p) for s2, p in row.items()} for k, row in self.P.items()}
        return MDP(self.states, self.actions, lambda s, a: P[(s, a)], reward,
                   self.mu0 if len(self.mu0) > 1 else next(iter(self.mu0)),
                   sub(self.gamma), self.variables)

    def free_symbols(self) -> set:
        """The symbolic parameters of the MDP."""
        out: set = set()
        for x in itertools.chain([self.gamma], self.R.values(),
                                 (p for row in self.P.values() for p in row.values())):
            if isinstance(x, sympy.Basic):
                out |= x.free_symbols
        return out

    def successors(self, s, a) -> dict:
        """``{s2: P(s2 | s, a)}``."""
        return self.P[(s, a)]

    def reward_of(self, s, a, s2):
        """``R(s, a, s2)`` for any triple, also one the true dynamics never produce (a
        planning world built from a learned or hypothetical model may reach it)."""
        if (s, a, s2) in self.R:
            return self.R[(s, a, s2)]
        return self._call_reward(s, a, s2, "; a planning world reached this transition, so "
                                           "the reward function must be total")

    def _call_reward(self, s, a, s2, why: str = ""):
        """The user's reward function at one transition, as an exact number."""
        try:
            r = self.reward(s, a, s2)
        except SpecError:
            raise
        except Exception as exc:
            raise FunctionError(f"reward({s!r}, {a!r}, {s2!r}) raised {type(exc).__name__}: "
                                f"{exc}{why}") from None
        try:
            return to_exact(r, what=f"reward({s!r}, {a!r}, {s2!r})")
        except DistributionError as exc:
            raise FunctionError(f"{exc}; a reward must be an exact number") from None


def _policy_fn(mdp: MDP, policy: Any) -> Callable[[int, Any], Any]:
    """Normalise a policy to ``(t, s) -> action or {action: prob}``."""
    if hasattr(policy, "decision_rule"):  # a Solution
        return policy.decision_rule
    if isinstance(policy, Mapping):
        table = dict(policy)
        return lambda t, s: table[s] if s in table else _missing(s)
    if not callable(policy):
        raise SpecError(f"a policy must be a callable (s) or (t, s), a mapping state -> "
                        f"action, or a Solution; got {policy!r}")
    try:
        n = len(inspect.signature(policy).parameters)
    except (TypeError, ValueError):
        n = 1
    if n == 2:
        return policy
    return lambda t, s: policy(s)


def _missing(s):
    raise DomainError(f"the policy gives no action for state {s!r}; add it to the mapping")


def _action_dist(mdp: MDP, out: Any, t: int, s: Any, who: str = "the policy") -> dict:
    """A policy's output (an action or a distribution) as a checked distribution."""
    if isinstance(out, Mapping):
        row = _check_distribution(f"{who} at t={t}, state {s!r}", out, ())
    else:
        row = {out: Fraction(1)}
    for a in row:
        if a not in mdp.actions:
            raise DomainError(f"{who} chose {a!r} at t={t} in state {s!r}, which is not an "
                              f"action; actions are {', '.join(map(repr, mdp.actions))} (if "
                              "it depends on a parameter, bind the parameter first)")
    return row


def _start_fn(mdp: MDP) -> StructuralFunction:
    if len(mdp.mu0) == 1:
        return const(next(iter(mdp.mu0)))
    return dist(dict(mdp.mu0))


def _slices(mdp: MDP, horizon: int, action_node: Callable[[int, tuple], StructuralFunction]
            ) -> list[tuple[str, StructuralFunction]]:
    """The nodes of a time-unrolled agent model, with the action nodes supplied."""
    nodes: list[tuple[str, StructuralFunction]] = []
    fac = getattr(mdp, "_factored", None)
    if fac is None:
        nodes.append(("S_0", _start_fn(mdp).with_label("S_0")))
        for t in range(horizon):
            nodes.append((f"A_{t}", action_node(t, (f"S_{t}",))))
            nodes.append((f"S_{t + 1}", dist(lambda s, a: mdp.P[(s, a)],
                                              parents=[f"S_{t}", f"A_{t}"], label="S")))
            nodes.append((f"R_{t}", _reward_node(mdp, t, [f"S_{t}", f"A_{t}", f"S_{t + 1}"])))
        return nodes
    domains, dynamics, parents = fac
    names = mdp.variables
    s0 = next(iter(mdp.mu0)) if len(mdp.mu0) == 1 else None
    for k in names:
        if s0 is not None:
            nodes.append((f"{k}_0", const(s0[k]).with_label(f"{k}_0")))
        else:
            nodes.append((f"{k}_0", dist(_marginal_start(mdp, k)).with_label(f"{k}_0")))
    for t in range(horizon):
        now = [f"{k}_{t}" for k in names]
        nodes.append((f"A_{t}", action_node(t, tuple(now))))
        for k in names:
            ps = [f"{p}_{t}" if p != "A" else f"A_{t}" for p in parents[k]]
            f = dynamics[k]
            maker = dist if f.random else fn
            nodes.append((f"{k}_{t + 1}", maker(_positional(f, k), parents=ps, label=f"S_{k}")))
        nxt = [f"{k}_{t + 1}" for k in names]
        nodes.append((f"R_{t}", _reward_node(mdp, t, now + [f"A_{t}"] + nxt)))
    return nodes


def _marginal_start(mdp: MDP, k: str) -> dict:
    out: dict = {}
    for s, p in mdp.mu0.items():
        out[s[k]] = out.get(s[k], 0) + p
    return out


def _positional(f: StructuralFunction, name: str) -> Callable:
    def call(*args):
        row = f.distribution(name, args)
        return row if f.random else next(iter(row))
    return call


def _state_of(mdp: MDP, args: tuple):
    if mdp.variables is None:
        return args[0]
    return State(**dict(zip(mdp.variables, args)))


def _reward_node(mdp: MDP, t: int, parents: list[str]) -> StructuralFunction:
    n = 1 if mdp.variables is None else len(mdp.variables)

    def r(*args):
        s, a, s2 = _state_of(mdp, args[:n]), args[n], _state_of(mdp, args[n + 1:])
        # the table spans every (s, a, s2); impossible transitions (probability 0) get 0
        return mdp.R.get((s, a, s2), 0)
    return fn(r, parents=parents, label="R")


def unroll(mdp: MDP, policy: Any, horizon: int, name: str = "a") -> Diagram:
    """The paper's agent model: ``S_0, A_0, R_0, S_1, ..., S_horizon`` with
    ``A_t = pi(S_t)`` (or a distribution over actions), ``S_{t+1} ~ S(S_t, A_t)`` and
    ``R_t = R(S_t, A_t, S_{t+1})``; one annotation per time series (``pi``, ``S``, ``R``).

    ``policy`` is a callable of ``s`` or of ``(t, s)`` returning an action or a
    distribution over actions, a mapping state -> action, or a :class:`Solution`.

    Examples
    --------
    >>> import cpspec as cp
    >>> m = cp.MDP(states=[0, 1], actions=["stay", "go"],
    ...            transition=lambda s, a: {1: 1} if a == "go" else {s: 1},
    ...            reward=lambda s, a, s2: s2, start=0)
    >>> d = cp.unroll(m, lambda s: "go", 3)
    >>> cp.E(d.R_0 + d.R_1 + d.R_2)
    3
    """
    horizon = check_horizon(horizon, allow_symbolic=False)
    pol = _policy_fn(mdp, policy)

    def action(t, parents):
        def a(*args):
            s = _state_of(mdp, args)
            return _action_dist(mdp, pol(t, s), t, s)
        return dist(a, parents=list(parents), label="pi")
    return world(name, _slices(mdp, horizon, action))


def influence_diagram(mdp: MDP, horizon: int, name: str = "i") -> Diagram:
    """The causal influence diagram of the agent model: decision nodes ``A_t`` (seeing
    ``S_t``) and utility nodes ``R_t`` weighted ``gamma**t``, so that
    ``U = E(sum_t gamma**t R_t)``.

    Examples
    --------
    >>> import cpspec as cp
    >>> m = cp.MDP(states=[0, 1], actions=["stay", "go"],
    ...            transition=lambda s, a: {1: 1} if a == "go" else {s: 1},
    ...            reward=lambda s, a, s2: s2, start=0, gamma="1/2")
    >>> d = cp.influence_diagram(m, 2)
    >>> d.node("A_1").kind, d.node("R_1").function.weight
    ('decision', 1/2)
    """
    horizon = check_horizon(horizon, allow_symbolic=False)
    g = as_sympy(mdp.gamma)
    nodes = _slices(mdp, horizon, lambda t, parents: decision(mdp.actions, parents=parents,
                                                              label="pi"))
    out = []
    for n, f in nodes:
        if n.startswith("R_"):
            t = int(n[2:])
            f = utility(f.impl, parents=f.parents, label="R", weight=g ** t)
        out.append((n, f))
    return world(name, out)
