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

import itertools
import math
from dataclasses import dataclass, field
from fractions import Fraction
from numbers import Integral
from typing import Any, Callable, Iterable, Mapping, NamedTuple

import sympy

from ..core.diagram import Diagram, world
from ..errors import (DistributionError, DomainError, DuplicateNodeError, FunctionError,
                     ModelTooLargeError, ParameterError, SpecError)
from ..core.functions import (StructuralFunction, as_sympy, bounded_tuple, call_user,
                              check_distribution, check_probability, const, decision, dist,
                              fn, hashable, normalize_name, probability_region,
                              required_arity, show, to_exact, utility)

__all__ = ["action_distribution", "start_function", "policy_function", "MDP", "State", "Factored",
           "unroll", "influence_diagram", "check_horizon", "MAX_HORIZON_WORK",
           "MAX_STATE_ACTION_PAIRS", "MAX_TRANSITIONS"]

#: Largest ``horizon x transitions`` (one unit: one ``(s, a, s2)`` term of one step of
#: backward induction or of an unrolled diagram's tables) that a finite horizon may
#: cost. Exact values grow by some digits per step, so even this is seconds to minutes;
#: raise it (``cpspec.decisions.mdp.MAX_HORIZON_WORK = ...``) when that is acceptable.
MAX_HORIZON_WORK = 1_000_000

#: Largest number of state-action pairs of an MDP (the transition function is called
#: once per pair when the MDP is built). A factored MDP's state count is the product of
#: its variables' domain sizes, computed before any state is built.
MAX_STATE_ACTION_PAIRS = 1_000_000

#: Largest number of transitions ``(s, a, s2)`` with nonzero probability an MDP may
#: have (each is stored with its exact probability and reward).
MAX_TRANSITIONS = 2_000_000


class State(Mapping):
    """A state of a factored MDP: an immutable, hashable record of variable values.

    >>> s = State(pos=0, button="up")
    >>> s.pos, s["button"], s
    (0, 'up', State(pos=0, button='up'))
    """

    __slots__ = ("_items",)

    def __init__(self, **values):
        items = []
        seen: dict = {}
        for k, v in values.items():
            name = normalize_name(k, "state variable name")  # as Python reads s.Ｇ
            if name in seen:
                raise DuplicateNodeError(
                    f"State: variables {seen[name]!r} and {k!r} are one name after Unicode "
                    "NFKC normalisation (as Python reads identifiers); rename one")
            seen[name] = k
            items.append((name, hashable(v, f"State: variable {name!r}")))
        object.__setattr__(self, "_items", tuple(items))

    def __getitem__(self, k):
        for name, v in self._items:
            if name == k:
                return v
        if isinstance(k, str) and not k.isascii():
            norm = normalize_name(k)
            for name, v in self._items:
                if name == norm:
                    return v
        raise KeyError(k)

    def __getattr__(self, k):
        try:
            return self[k]
        except KeyError:
            raise AttributeError(k) from None

    def __setattr__(self, k, v):
        raise AttributeError("a State is immutable")

    def __reduce__(self):  # pickled (for a worker process) as its values
        return (_unpickled_state, (self._items,))

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


def _unpickled_state(items: tuple) -> State:
    """A :class:`State` again from its ``(name, value)`` pairs (unpickling)."""
    return State(**dict(items))


def check_horizon(horizon: Any, allow_symbolic: bool = True, *, mdp: "MDP | None" = None,
                  per_step: int | None = None, what: str = "horizon") -> Any:
    """Validate a horizon: a non-negative int, a SymPy symbol, or ``sympy.oo``.

    A finite horizon is refused, before any work, when ``horizon x per_step`` exceeds
    :data:`MAX_HORIZON_WORK`. ``per_step`` is the work of one step: by default the
    number of transitions of ``mdp`` (at least 1 without an MDP, so that
    ``solve(m, 10**9)`` is refused at once).

    Examples
    --------
    >>> check_horizon(3), check_horizon(sympy.oo)
    (3, oo)
    >>> check_horizon(10**9)
    Traceback (most recent call last):
    ...
    cpspec.errors.ModelTooLargeError: horizon 1000000000 would take about 1000000000 work units (1000000000 steps x 1 per step), above cpspec.decisions.mdp.MAX_HORIZON_WORK = 1000000; lower the horizon, use a symbolic horizon or sympy.oo, or raise cpspec.decisions.mdp.MAX_HORIZON_WORK
    """
    if isinstance(horizon, bool):
        raise SpecError(f"{what} {horizon!r} is not a number of steps")
    if isinstance(horizon, sympy.Integer):
        horizon = int(horizon)
    if isinstance(horizon, Integral):
        horizon = int(horizon)
        if horizon < 0:
            raise SpecError(f"{what} {show(horizon)} is negative; use a non-negative integer")
        if per_step is None:
            per_step = 1 if mdp is None else max(1, mdp.n_transitions)
        work = horizon * per_step
        if work > MAX_HORIZON_WORK:
            raise ModelTooLargeError(
                f"{what} {show(horizon)} would take about {show(work)} work units "
                f"({show(horizon)} steps x "
                f"{per_step} per step), above cpspec.decisions.mdp.MAX_HORIZON_WORK = "
                f"{MAX_HORIZON_WORK}; lower the horizon, use a symbolic horizon or "
                "sympy.oo, or raise cpspec.decisions.mdp.MAX_HORIZON_WORK")
        return horizon
    if allow_symbolic and (horizon is sympy.oo or isinstance(horizon, sympy.Symbol)):
        return horizon
    kind = "a non-negative integer, a SymPy symbol or sympy.oo" if allow_symbolic else \
        "a non-negative integer"
    raise SpecError(f"{what} {show(horizon)} is not {kind}")


class Factored(NamedTuple):
    """How a factored MDP was stated: each variable's ``domains``, its ``dynamics`` (a
    structural function of its ``parents``, which may include the action ``"A"``)."""

    domains: dict
    dynamics: dict
    parents: dict


def _checked_items(xs: Any, what: str) -> tuple:
    """An MDP's states or actions as a tuple: iterable, not above
    :data:`MAX_STATE_ACTION_PAIRS` (refused before all are built), hashable, each once."""
    if not hasattr(xs, "__iter__"):
        raise SpecError(f"the MDP's {what} must be a list of {what}, got {show(xs)}")
    xs = bounded_tuple(xs, MAX_STATE_ACTION_PAIRS, lambda n: ModelTooLargeError(
        f"the MDP has {n if n is not None else f'more than {MAX_STATE_ACTION_PAIRS}'} "
        f"{what}, above "
        f"cpspec.decisions.mdp.MAX_STATE_ACTION_PAIRS = {MAX_STATE_ACTION_PAIRS}; shrink "
        "the model or raise the limit"))
    if not xs:
        raise SpecError(f"an MDP needs at least one of its {what}")
    for x in xs:
        hashable(x, f"the MDP's {what}")
    if len(set(xs)) != len(xs):
        seen: set = set()
        twice = next(x for x in xs if x in seen or seen.add(x))
        raise SpecError(f"the MDP's {what} repeat the value {show(twice)}; list each once")
    return xs


def _factored_domains(variables: Mapping) -> dict:
    """Each variable's values as a tuple, the number of states estimated before any is
    built (and refused above :data:`MAX_STATE_ACTION_PAIRS`)."""
    sizes: dict = {}
    for k, v in variables.items():
        if isinstance(v, (str, bytes)) or not hasattr(v, "__iter__"):
            raise SpecError(f"factored MDP: the values of variable {k!r} must be a list, "
                            f"got {show(v)}")
        sizes[k] = len(v) if hasattr(v, "__len__") else None
    _check_state_count(sizes, math.prod(n for n in sizes.values() if n is not None))
    domains = {}
    for k, v in variables.items():  # no more than the limit is ever drawn from v
        domains[k] = tuple(itertools.islice(v, MAX_STATE_ACTION_PAIRS + 1))
        if not domains[k]:
            raise SpecError(f"factored MDP: variable {k!r} has no values")
        for x in domains[k]:
            hashable(x, f"factored MDP: the values of variable {k!r}")
        if len(set(domains[k])) != len(domains[k]):
            raise SpecError(f"factored MDP: the values of variable {k!r} repeat a value; "
                            "list each once")
        sizes[k] = len(domains[k])
        _check_state_count(sizes, math.prod(len(d) for d in domains.values()))
    return domains


def _factored_parents(domains: Mapping, dynamics: Mapping) -> dict:
    """The parents each variable's dynamics reads (variables and the action ``A``),
    checked: every variable has dynamics, and no dynamics reads an unknown name."""
    names = tuple(domains)
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
    return parents


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
    factors : :class:`Factored` or None
        For an MDP built with :meth:`MDP.factored`: its variables' domains, dynamics and
        parents (what verification and drawing read); None for a flat MDP.

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
    factors: Factored | None = field(default=None, repr=False)
    P: dict = field(init=False, repr=False)
    R: dict = field(init=False, repr=False)
    mu0: dict = field(init=False, repr=False)

    def __post_init__(self):
        # frozen: the checked and tabulated fields are set once, here
        set_ = object.__setattr__
        for what in ("states", "actions"):
            set_(self, what, _checked_items(getattr(self, what), what))
        pairs = len(self.states) * len(self.actions)
        if pairs > MAX_STATE_ACTION_PAIRS:
            raise ModelTooLargeError(
                f"the MDP has {len(self.states)} states x {len(self.actions)} actions = "
                f"{pairs} state-action pairs, above "
                f"cpspec.decisions.mdp.MAX_STATE_ACTION_PAIRS = {MAX_STATE_ACTION_PAIRS}; "
                "shrink the model or raise the limit")
        set_(self, "gamma", _check_gamma(self.gamma))
        P, R = self._tabulate()
        set_(self, "P", P)
        set_(self, "R", R)
        set_(self, "mu0", self._start_distribution())

    def _tabulate(self) -> tuple[dict, dict]:
        """The transition rows ``P[(s, a)]`` and rewards ``R[(s, a, s2)]``, checked."""
        known = set(self.states)
        P: dict = {}
        R: dict = {}
        count = 0
        for s in self.states:
            for a in self.actions:
                row = call_user(self.transition, s, a, what=f"transition({s!r}, {a!r})",
                                fix="make it total on states x actions")
                try:
                    row = check_distribution(f"transition({s!r}, {a!r})", row, ())
                except DistributionError as exc:
                    raise DistributionError(f"{exc} (in state {s!r}, action {a!r}: the "
                                            "transition row must be a distribution)") from None
                for s2 in row:
                    if s2 not in known:
                        raise DomainError(f"transition({s!r}, {a!r}) leads to {s2!r}, which is "
                                          "not among the MDP's states; add it to states")
                    R[(s, a, s2)] = self._call_reward(s, a, s2)
                P[(s, a)] = row
                count += len(row)
                if count > MAX_TRANSITIONS:
                    raise ModelTooLargeError(
                        f"the MDP has more than cpspec.decisions.mdp.MAX_TRANSITIONS = "
                        f"{MAX_TRANSITIONS} transitions (s, a, s2) with nonzero probability "
                        f"(reached at state {s!r}, action {a!r}); shrink the model or raise "
                        "the limit")
        return P, R

    def _start_distribution(self) -> dict:
        if isinstance(self.start, Mapping) and not isinstance(self.start, State):
            mu0 = check_distribution("start", self.start, ())
        else:
            mu0 = {hashable(self.start, "the start state"): Fraction(1)}
        known = set(self.states)
        for s in mu0:
            if s not in known:
                raise DomainError(f"start state {s!r} is not among the MDP's states")
        return mu0

    @property
    def n_transitions(self) -> int:
        """The number of transitions ``(s, a, s2)`` with nonzero probability."""
        return len(self.R)

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
        if not isinstance(variables, Mapping) or not variables:
            raise SpecError(f"factored MDP: variables must map each variable's name to its "
                            f"values, got {show(variables)}")
        if not isinstance(dynamics, Mapping):
            raise SpecError(f"factored MDP: dynamics must map each variable's name to "
                            f"cp.fn(...) or cp.dist(...), got {show(dynamics)}")
        domains = _factored_domains(_normalized_keys(variables, "variables"))
        dynamics = _normalized_keys(dynamics, "dynamics")
        names = tuple(domains)
        parents = _factored_parents(domains, dynamics)
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

        if isinstance(start, Mapping) and not isinstance(start, State):
            start = _normalized_keys(start, "start")
        if not isinstance(start, Mapping) or set(start) != set(names):
            raise SpecError(f"factored MDP: start must give every variable a value: "
                            f"{', '.join(names)}")
        s0 = State(**{k: start[k] for k in names})
        return cls(states, tuple(actions), transition, reward, s0, gamma, names,
                   Factored(domains, dict(dynamics), parents))

    def bind(self, **values) -> "MDP":
        """The MDP with symbolic parameters (in probabilities, rewards, gamma) bound.

        >>> import cpspec as cp, sympy
        >>> p = sympy.Symbol("p")
        >>> m = cp.MDP(["a", "b"], ["go"], lambda s, a: {"a": p, "b": 1 - p},
        ...            lambda s, a, s2: 1, "a")
        >>> m.bind(p="1/4").P[("a", "go")]
        {'a': Fraction(1, 4), 'b': Fraction(3, 4)}
        """
        syms = {normalize_name(s.name): s for s in self.free_symbols()}
        subs = {}
        for k, v in values.items():
            norm = normalize_name(k, "parameter name")
            if norm not in syms:
                raise ParameterError(f"the MDP has no free parameter {k!r}; its parameters "
                                     f"are {sorted(syms) or 'none'}")
            if syms[norm] in subs:
                raise ParameterError(f"bind() got parameter {k!r} twice (names are equal "
                                     "after Unicode NFKC normalisation); give it once")
            try:
                subs[syms[norm]] = as_sympy(to_exact(v, what=f"parameter {k!r}"))
            except DistributionError as exc:
                raise ParameterError(str(exc)) from None
        shown = ", ".join(f"{s} = {show(v)}" for s, v in subs.items())

        def sub(x):
            if not isinstance(x, sympy.Basic):
                return x
            return to_exact(sympy.sympify(as_sympy(x)).subs(subs),
                            what=f"with {shown}, {show(x)}")

        for (s, a), row in self.P.items():  # name the parameter values that are valid
            for s2, p in row.items():
                if isinstance(p, sympy.Basic):
                    what = (f"with {shown}, the probability {show(p)} of transition({s!r}, "
                            f"{a!r}) -> {s2!r}")
                    try:
                        check_probability(sub(p), what)
                    except DistributionError as exc:
                        region = probability_region(p)
                        where = f"; it lies in [0, 1] only for {region}" if region else ""
                        raise ParameterError(f"{exc}{where}; bind the parameters to values "
                                             "for which every probability is in [0, 1]"
                                             ) from None

        def reward(s, a, s2):
            return sub(self.reward_of(s, a, s2))
        fac = self.factors
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
        r = call_user(self.reward, s, a, s2, what=f"reward({s!r}, {a!r}, {s2!r})",
                      fix=why.lstrip("; "))
        try:
            return to_exact(r, what=f"reward({s!r}, {a!r}, {s2!r})")
        except DistributionError as exc:
            raise FunctionError(f"{exc}; a reward must be an exact number") from None


def _check_gamma(gamma: Any) -> Any:
    """The discount as an exact real number in [0, 1] (a symbolic one must be able to lie
    there for some real value of its parameters)."""
    try:
        return check_probability(to_exact(gamma, what="gamma"), "gamma")
    except DistributionError as exc:
        raise ParameterError(f"{str(exc).replace('probabilities', 'a discount gamma')}"
                             ) from None


def _normalized_keys(mapping: Mapping, what: str) -> dict:
    """The mapping with NFKC-normalised names as keys; two keys that normalise to one
    name are reported."""
    out: dict = {}
    given: dict = {}
    for k, v in mapping.items():
        norm = normalize_name(k, f"factored MDP: {what} name")
        if norm in out:
            raise DuplicateNodeError(
                f"factored MDP: {what} names {given[norm]!r} and {k!r} are one name after "
                "Unicode NFKC normalisation (as Python reads identifiers); rename one")
        out[norm] = v
        given[norm] = k
    return out


def _check_state_count(sizes: dict, count: int) -> None:
    if count > MAX_STATE_ACTION_PAIRS:
        shown = " x ".join(f"{k}:{'?' if n is None else n}" for k, n in sizes.items())
        raise ModelTooLargeError(
            f"factored MDP: the variables ({shown}) make at least {count} states, above "
            f"cpspec.decisions.mdp.MAX_STATE_ACTION_PAIRS = {MAX_STATE_ACTION_PAIRS}; shrink the "
            "domains or raise the limit")


def _table_work(mdp: MDP) -> int:
    """The work of one step of an unrolled diagram, in the units of
    :data:`MAX_HORIZON_WORK`: 10 per node (building and checking a node costs about as
    much as ten table entries) plus the reward node's table, which spans every
    ``(s, a, s2)``."""
    nodes = 2 + (1 if mdp.variables is None else len(mdp.variables))
    return 10 * nodes + len(mdp.states) ** 2 * len(mdp.actions)


def policy_function(mdp: MDP, policy: Any) -> Callable[[int, Any], Any]:
    """Normalise a policy to ``(t, s) -> action or {action: prob}``."""
    if hasattr(policy, "decision_rule"):  # a Solution
        return policy.decision_rule
    if isinstance(policy, Mapping):
        table = dict(policy)
        return lambda t, s: table[s] if s in table else _missing(s)
    if not callable(policy):
        raise SpecError(f"a policy must be a callable (s) or (t, s), a mapping state -> "
                        f"action, or a Solution; got {show(policy)}")
    n = required_arity(policy)  # parameters with defaults (lambda s, k=k: ...) are not read
    if n == 2:
        return policy
    if n not in (None, 1):
        raise SpecError(f"a policy takes (s) or (t, s), but {policy!r} needs {n} arguments")
    return lambda t, s: policy(s)


def _missing(s):
    raise DomainError(f"the policy gives no action for state {s!r}; add it to the mapping")


def action_distribution(mdp: MDP, out: Any, t: int, s: Any, who: str = "the policy") -> dict:
    """A policy's output (an action or a distribution) as a checked distribution."""
    if isinstance(out, Mapping):
        row = check_distribution(f"{who} at t={t}, state {s!r}", out, ())
    else:
        row = {out: Fraction(1)}
    for a in row:
        if a not in mdp.actions:
            raise DomainError(f"{who} chose {a!r} at t={t} in state {s!r}, which is not an "
                              f"action; actions are {', '.join(map(repr, mdp.actions))} (if "
                              "it depends on a parameter, bind the parameter first)")
    return row


def start_function(mdp: MDP) -> StructuralFunction:
    """The structural function of ``S_0``: the start state (a const) or the start
    distribution."""
    if len(mdp.mu0) == 1:
        return const(next(iter(mdp.mu0)))
    return dist(dict(mdp.mu0))


def _slices(mdp: MDP, horizon: int, action_node: Callable[[int, tuple], StructuralFunction]
            ) -> list[tuple[str, StructuralFunction]]:
    """The nodes of a time-unrolled agent model, with the action nodes supplied."""
    nodes: list[tuple[str, StructuralFunction]] = []
    fac = mdp.factors
    if fac is None:
        nodes.append(("S_0", start_function(mdp).with_label("S_0")))
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
    if mdp.factors is None:  # one state node (also for named variables without dynamics)
        return args[0]
    return State(**dict(zip(mdp.variables, args)))


def _reward_node(mdp: MDP, t: int, parents: list[str]) -> StructuralFunction:
    n = 1 if mdp.factors is None else len(mdp.variables)

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
    horizon = check_horizon(horizon, allow_symbolic=False, mdp=mdp,
                            per_step=_table_work(mdp))
    pol = policy_function(mdp, policy)

    def action(t, parents):
        def a(*args):
            s = _state_of(mdp, args)
            return action_distribution(mdp, pol(t, s), t, s)
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
    horizon = check_horizon(horizon, allow_symbolic=False, mdp=mdp,
                            per_step=_table_work(mdp))
    g = as_sympy(mdp.gamma)
    nodes = _slices(mdp, horizon, lambda t, parents: decision(mdp.actions, parents=parents,
                                                              label="pi"))
    out = []
    for n, f in nodes:
        if n.startswith("R_"):
            t = int(n[2:])
            f = utility(f.impl, parents=f.parents, label="R", discount=(g, t))
        out.append((n, f))
    return world(name, out)
