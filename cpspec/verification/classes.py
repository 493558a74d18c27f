"""Classes of worlds: a property proved for every environment of a class at once by a
structural lemma, or refuted by a concrete member of the class.

A :class:`WorldClass` is every factored MDP with a template's variables, values, actions
and start state in which the ``free`` variables' dynamics are *any* probability tables
over the parents the class allows them to read, the reward is any function of the
variables it may read (or the template's reward), and the discount is any value of an
interval. The lemmas (:func:`class_certificate`) are sound for every member at once:

* ``no_incentive(node)``: no directed path from ``node`` to a utility in the planning
  world of any member (no variable's dynamics reads ``node`` in the class's graph, the
  action that takes effect does not read it, and the planning reward does not read it:
  checked on a probe member whose free rewards are symbols, so the check covers every
  reward of the class);
* ``myopic(N)``: the planning horizon is at most ``N`` (STH's cut);
* ``obeys_stop_button(K)``: the agent acts through SI's interlock, which takes the null
  action in every pressed state, and under the null action "pressed" is absorbing in
  every member (checked on every successor the class allows), so for every ``K``;
* ``policy_unmodified()``, ``no_self_knowledge()``: facts of the agent definition alone.

Where no lemma applies, :func:`cpspec.verification.procedures.verify` searches the
members (:meth:`WorldClass.members`) for a counterexample, checked exactly, and answers
*unknown* when it finds none.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Iterator, Mapping

import sympy

from ..agents.base import Agent
from ..agents.learners import PerfectLearner
from ..core.functions import dist, show, to_exact
from ..decisions.mdp import MDP, State
from ..errors import SpecError, UnknownNodeError
from .properties import Property
from .structure import MAX_STRUCTURE_CHECKS, check_no_self_knowledge
from .traces import check_policy_unmodified, interlock_applies

__all__ = ["WorldClass", "Member", "class_certificate", "class_obstacle", "MAX_MEMBERS",
           "MAX_CLASS_ROWS"]

#: How many members of a class are tried for a counterexample when no lemma applies.
MAX_MEMBERS = 40

#: Largest number of table rows (parent configurations) a class's free parts may have.
MAX_CLASS_ROWS = 100_000

_REWARDS = (-1, 0, 1, 2, 3)
_PROBS = (Fraction(1, 2), Fraction(1, 3), Fraction(2, 3), Fraction(1, 4), Fraction(3, 4))
_GAMMAS = (Fraction(1, 2), Fraction(9, 10), Fraction(99, 100), Fraction(1, 10), Fraction(0))


def _interval(gamma: Any) -> sympy.Set:
    if isinstance(gamma, sympy.Set):
        out = gamma
    else:
        try:
            out = sympy.FiniteSet(sympy.Rational(to_exact(gamma, what="gamma")))
        except SpecError as exc:
            raise SpecError(f"WorldClass: gamma must be a number or a sympy Interval, e.g. "
                            f"sympy.Interval.Ropen(0, 1): {exc}") from None
    if out.is_empty or not out.is_subset(sympy.Interval(0, 1)) or not (
            isinstance(out, (sympy.Interval, sympy.FiniteSet))):
        raise SpecError(f"WorldClass: gamma {out} must be a nonempty interval or number "
                        "within [0, 1]")
    return out


@dataclass(frozen=True)
class WorldClass:
    """A class of environments: every factored MDP built from ``template`` in which the
    dynamics of each variable named in ``free`` are any probability tables over the
    parents listed there (``"A"`` is the action), the reward is any function of
    ``reward_reads`` (variables of the state before the step, ``"X'"`` for the state
    after it, ``"A"`` for the action; None keeps the template's reward) and the discount
    any value in ``gamma`` (a number or a ``sympy.Interval``; None keeps the template's).

    Parameters
    ----------
    template : cp.MDP
        A factored MDP (``cp.MDP.factored``): its variables, values, actions, start state
        and the dynamics of the variables not in ``free``.
    free : mapping variable -> parents
    reward_reads : list of str or None
    gamma : number, sympy.Interval or None
    name : str

    Examples
    --------
    >>> import cpspec as cp, sympy
    >>> from cpspec.examples import stop_button
    >>> worlds = cp.WorldClass(stop_button(), free={"button": ["button", "A"]},
    ...                        reward_reads=["A"], gamma=sympy.Interval.Ropen(0, 1),
    ...                        name="button_worlds")
    >>> print(worlds)
    button_worlds: variables button; free dynamics button(button, A); reward any function of A; gamma in Interval.Ropen(0, 1)
    """

    template: MDP
    free: Mapping = field(default_factory=dict)
    reward_reads: tuple | None = None
    gamma: Any = None
    name: str = "the class"

    def __post_init__(self):
        t = self.template
        if not isinstance(t, MDP) or t.factors is None:
            raise SpecError("WorldClass: the template must be a factored MDP "
                            "(cp.MDP.factored(...)), whose variables name the parts of the "
                            f"state, got {show(t)}")
        names = set(t.variables) | {"A"}
        if not isinstance(self.free, Mapping):
            raise SpecError("WorldClass: free must map variables to the parents their "
                            f"dynamics may read, got {show(self.free)}")
        free = {}
        for k, ps in self.free.items():
            if k not in t.variables:
                raise UnknownNodeError(f"WorldClass: free names {k!r}, which is not a "
                                       f"variable; variables: {', '.join(t.variables)}")
            if isinstance(ps, str) or not hasattr(ps, "__iter__"):
                raise SpecError(f"WorldClass: free[{k!r}] must list the parents {k!r} may "
                                f"read (variables and 'A'), got {show(ps)}")
            ps = tuple(ps)
            bad = [p for p in ps if p not in names]
            if bad:
                raise UnknownNodeError(f"WorldClass: {k!r} may read {bad[0]!r}, which is "
                                       f"neither a variable ({', '.join(t.variables)}) nor "
                                       "the action A")
            free[k] = ps
        object.__setattr__(self, "free", free)
        if self.reward_reads is not None:
            reads = tuple(self.reward_reads) if not isinstance(self.reward_reads, str) \
                else (self.reward_reads,)
            bad = [r for r in reads if r.rstrip("'") not in names or r == "A'"]
            if bad:
                raise UnknownNodeError(f"WorldClass: the reward may read {bad[0]!r}, which is "
                                       f"neither a variable (X, or X' after the step) nor "
                                       "the action A")
            object.__setattr__(self, "reward_reads", reads)
        object.__setattr__(self, "gamma", _interval(t.gamma if self.gamma is None
                                                    else self.gamma))
        rows = sum(self._rows(ps) for ps in free.values())
        if self.reward_reads is not None:
            rows += self._rows(tuple(r.rstrip("'") for r in self.reward_reads))
        if rows > MAX_CLASS_ROWS:
            raise SpecError(f"WorldClass: the free parts have {rows} table rows, above "
                            f"cpspec.verification.classes.MAX_CLASS_ROWS = {MAX_CLASS_ROWS}; "
                            "let the free dynamics read fewer parents")

    # ---- the class's graph ----------------------------------------------------------
    def domain(self, name: str) -> tuple:
        """The values of a variable, or the actions for ``"A"``."""
        t = self.template
        return t.actions if name == "A" else t.factors.domains[name]

    def _rows(self, parents) -> int:
        return math.prod(len(self.domain(p)) for p in parents)

    def parents(self, k: str) -> tuple:
        """What variable ``k``'s dynamics may read in the class."""
        return self.free[k] if k in self.free else self.template.factors.parents[k]

    def __str__(self) -> str:
        t = self.template
        fixed = [k for k in t.variables if k not in self.free]
        parts = [f"{self.name}: variables {', '.join(t.variables)}"]
        if self.free:
            parts.append("free dynamics " + ", ".join(
                f"{k}({', '.join(ps)})" for k, ps in self.free.items()))
        if fixed:
            parts.append("template dynamics " + ", ".join(fixed))
        parts.append("reward " + ("of the template" if self.reward_reads is None else
                                  "any function of " + (", ".join(self.reward_reads)
                                                        or "nothing (a constant)")))
        parts.append(f"gamma in {self.gamma}")
        return "; ".join(parts)

    def free_reward(self, table: Mapping):
        """The reward function ``(s, a, s2) -> table[key]`` of a member, keyed by the
        values ``reward_reads`` names (in order)."""
        reads = self.reward_reads

        def reward(s, a, s2):
            key = tuple(a if r == "A" else (s2[r[:-1]] if r.endswith("'") else s[r])
                        for r in reads)
            return table[key]
        return reward

    def member(self, tables: Mapping, rewards: Mapping | None = None,
               gamma: Any = None) -> MDP:
        """The member with these free dynamics ``tables[k][parent values] = {value:
        probability}``, reward table (keyed by the ``reward_reads`` values) and discount.

        Examples
        --------
        >>> import cpspec as cp, sympy
        >>> from cpspec.examples import stop_button
        >>> worlds = cp.WorldClass(stop_button(), free={"button": ["button"]})
        >>> stay = {(b,): {b: 1} for b in ("armed", "pressed", "disabled")}
        >>> m = worlds.member({"button": stay})
        >>> set(m.P[(m.states[0], "disable")].values())
        {Fraction(1, 1)}
        """
        t = self.template
        domains, dynamics, _ = t.factors
        dyn = dict(dynamics)
        for k, ps in self.free.items():
            table = tables[k]
            dyn[k] = dist(lambda *args, _t=table, _k=k: _t[tuple(args)], parents=list(ps))
        reward = t.reward if self.reward_reads is None else self.free_reward(rewards)
        g = t.gamma if gamma is None else gamma
        if not self.gamma.contains(sympy.Rational(to_exact(g, what="gamma"))):
            raise SpecError(f"{self.name}: gamma = {show(g)} is outside the class's {self.gamma}")
        return MDP.factored(domains, dyn, t.actions, reward, t.start, g)

    def _configs(self, parents) -> list:
        return list(itertools.product(*(self.domain(p) for p in parents)))

    def _gammas(self) -> list:
        g = self.gamma
        if isinstance(g, sympy.FiniteSet):
            return [Fraction(str(x)) for x in g]
        out = [x for x in _GAMMAS if g.contains(sympy.Rational(x))]
        return out or [Fraction(str(g.inf if g.contains(g.inf) else (g.inf + g.sup) / 2))]

    def template_is_member(self) -> bool:
        """Whether the template itself is a member: each free variable's template dynamics
        reads only what the class allows, the reward (if free) reads only
        ``reward_reads`` (checked on every transition), and its discount is in range."""
        t = self.template
        if any(not set(t.factors.parents[k]) <= set(ps) for k, ps in self.free.items()):
            return False
        g = sympy.sympify(t.gamma)
        if not g.is_number or not self.gamma.contains(g):
            return False
        if self.reward_reads is not None:
            seen: dict = {}
            for (s, a, s2), r in t.R.items():
                key = tuple(a if x == "A" else (s2[x[:-1]] if x.endswith("'") else s[x])
                            for x in self.reward_reads)
                if seen.setdefault(key, r) != r:
                    return False
        return True

    def baseline(self, k: str, cfg: tuple) -> dict:
        """The simplest row of free variable ``k`` at parent values ``cfg``: it keeps its
        value when it reads itself, else takes its first value."""
        ps = self.free[k]
        v = cfg[ps.index(k)] if k in ps else self.domain(k)[0]
        return {v: Fraction(1)}

    def members(self, seed: int = 0, count: int = MAX_MEMBERS) -> Iterator["Member"]:
        """Members to search for a counterexample: the template first (when it is a
        member), then ``count`` members drawn from a seeded generator (every other one
        with deterministic rows only, the rest also with two-point rows; small integer
        rewards; the class's discounts)."""
        if self.template_is_member():
            yield Member(self.template, None, None, self.template.gamma)
        gammas = self._gammas()
        for i in range(count):
            rng = random.Random(f"{seed}:{i}")
            tables = {}
            for k, ps in self.free.items():
                vals = self.domain(k)
                table = {}
                for cfg in self._configs(ps):
                    if len(vals) == 1 or i % 2 == 0 or rng.random() < 0.5:
                        table[cfg] = {rng.choice(vals): Fraction(1)}
                    else:
                        a, b = rng.sample(vals, 2)
                        p = rng.choice(_PROBS)
                        table[cfg] = {a: p, b: 1 - p}
                tables[k] = table
            rewards = None
            if self.reward_reads is not None:
                rewards = {cfg: rng.choice(_REWARDS) for cfg in
                           self._configs(tuple(r.rstrip("'") for r in self.reward_reads))}
            g = gammas[i % len(gammas)]
            yield Member(self.member(tables, rewards, g), tables, rewards, g)

    def shrink(self, m: "Member", still_fails, deadline) -> "Member":
        """A simpler member that still fails: free rows set back to their
        :meth:`baseline` and rewards to 0 in ever smaller groups while ``still_fails``
        says so (delta debugging), until ``deadline`` (a
        :class:`~cpspec.budget.Deadline`) runs out. The template is kept as it is."""
        if m.tables is None:
            return m
        parts = [("row", k, cfg) for k, table in m.tables.items() for cfg in table
                 if table[cfg] != self.baseline(k, cfg)]
        if m.rewards is not None:
            parts += [("reward", None, cfg) for cfg, r in m.rewards.items() if r != 0]
        size = max(1, len(parts) // 2)
        while parts and not deadline.expired():
            changed = False
            for i in range(0, len(parts), size):
                group = set(parts[i:i + size])
                tables = {k: {cfg: (self.baseline(k, cfg) if ("row", k, cfg) in group
                                    else row) for cfg, row in t.items()}
                          for k, t in m.tables.items()}
                rewards = None if m.rewards is None else {
                    cfg: 0 if ("reward", None, cfg) in group else r
                    for cfg, r in m.rewards.items()}
                trial = Member(self.member(tables, rewards, m.gamma), tables, rewards,
                               m.gamma)
                if deadline.expired() or not still_fails(trial):
                    continue
                m, parts, changed = trial, [x for x in parts if x not in group], True
                break
            if not changed:
                if size == 1:
                    break
                size = max(1, size // 2)
        return m

    def describe(self, m: "Member") -> str:
        """A member in words: the rows that differ from the :meth:`baseline`, the
        nonzero rewards, the discount."""
        if m.tables is None:
            return f"the template itself (gamma = {m.gamma})"
        lines = []
        for k, table in m.tables.items():
            ps = self.free[k]
            for cfg, row in table.items():
                if row == self.baseline(k, cfg):
                    continue
                when = ", ".join(f"{p}={v!r}" for p, v in zip(ps, cfg)) or "always"
                shown = ", ".join(f"{v!r}: {p}" for v, p in row.items())
                lines.append(f"{k} next | {when}: {{{shown}}}")
            keeps = "keeps its value" if k in ps else f"becomes {self.domain(k)[0]!r}"
            lines.append(f"{k} otherwise {keeps}")
        if m.rewards is not None:
            for cfg, r in m.rewards.items():
                if r != 0:
                    when = ", ".join(f"{p}={v!r}" for p, v in zip(self.reward_reads, cfg))
                    lines.append(f"reward | {when or 'always'}: {r}")
            lines.append("reward 0 otherwise")
        lines.append(f"gamma = {m.gamma}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Member:
    """One world of a :class:`WorldClass`: its ``mdp``, and the free ``tables``,
    ``rewards`` and ``gamma`` it was built from (``tables`` None: the template)."""

    mdp: MDP
    tables: dict | None
    rewards: dict | None
    gamma: Any


# ---- the lemmas -----------------------------------------------------------------------


def class_obstacle(agent: Agent, cls: WorldClass) -> str | None:
    """Why the class is not a finite family of planning problems for ``agent`` (an
    infinite planning horizon with a discount of 1 in the class), or None."""
    if agent.horizon is sympy.oo and cls.gamma.contains(1):
        return (f"the class {cls.name} contains gamma = 1 and the agent plans over an "
                "infinite horizon, so its planning values are not finite; restrict gamma "
                "to [0, 1) or give the agent a planning horizon")
    return None


def class_certificate(agent: Agent, prop: Property, cls: WorldClass) -> str | None:
    """A structural proof that ``prop`` holds for ``agent`` in every member of ``cls``,
    or None when no lemma applies (which proves nothing either way)."""
    base = agent.with_env(cls.template)
    if prop.name == "no_incentive":
        return _no_incentive_lemma(base, prop.node, cls)
    if prop.name == "myopic":
        H = agent.horizon
        limit = prop.N + prop.slack
        if isinstance(H, int) and H <= limit and agent.chunks is None:
            return (f"the planning world of {agent!r} has {H} <= {limit} steps in every "
                    f"member of {cls.name}: nothing at steps >= {limit} exists in it, so "
                    "no rewards or transitions there can change an action (the horizon cut)")
        return None
    if prop.name == "obeys_stop_button":
        return _stop_lemma(base, prop, cls)
    if prop.name == "no_self_knowledge" or (prop.name == "policy_unmodified"
                                             and prop.policy_var is None):
        check = check_no_self_knowledge if prop.name == "no_self_knowledge" \
            else check_policy_unmodified
        out = check(base, prop, None)  # reads the agent definition, not the tables
        if out.status == "holds" and out.method == "structure":
            return f"for every member of {cls.name}, by the agent definition: {out.reason}"
    return None


def _no_incentive_lemma(agent: Agent, node: str, cls: WorldClass) -> str | None:
    t = cls.template
    if node not in t.variables:
        raise UnknownNodeError(f"no_incentive({node}): the class {cls.name} has no variable "
                               f"{node!r}; its variables: {', '.join(t.variables)}")
    if not isinstance(agent.learner, PerfectLearner):
        return None  # a learned model need not have the class's factors
    if any(k != node and node in cls.parents(k) for k in t.variables):
        return None
    others = [k for k in t.variables if k != node]
    states = t.states
    if len(states) * len(t.actions) * len(cls.domain(node)) > MAX_STRUCTURE_CHECKS:
        return None
    for x in states:
        variants = [State(**{**dict(x), node: v}) for v in cls.domain(node)]
        for a in t.actions:
            if len({agent.planning_action(xv, a) for xv in variants}) > 1:
                return None
    probe = _probe(cls)
    twin = agent.with_env(probe)
    starts = list(t.states) if agent.planning_depends_on_state else [t.states[0]]
    work = len(starts) * len(t.states) * len(t.actions) * len(cls.domain(node)) ** 2
    if work > MAX_STRUCTURE_CHECKS:
        return None
    classes: dict = {}
    for x in t.states:
        classes.setdefault(tuple(x[k] for k in others), x)
    for s in starts:
        reward = twin.planning_parts(twin.o0, s)[1]
        for x in classes.values():
            variants = [State(**{**dict(x), node: v}) for v in cls.domain(node)]
            for a in t.actions:
                for nxt in classes.values():
                    got = {sympy.sympify(reward(xv, a, State(**{**dict(nxt), node: v2})))
                           for xv in variants for v2 in cls.domain(node)}
                    if len(got) > 1:
                        return None
    graph = "; ".join(f"{k} <- {', '.join(cls.parents(k)) or 'nothing'}" for k in t.variables)
    reads = ("the template's reward, checked on every transition" if cls.reward_reads is None
             else f"a reward of {', '.join(cls.reward_reads) or 'nothing'}")
    return (f"for every member of {cls.name} (gamma in {cls.gamma}): no directed path runs "
            f"from {node!r} to a utility in {agent.kind}'s planning world. In the class's "
            f"graph ({graph}) no other variable's dynamics reads {node!r}; the action that "
            f"takes effect in the planning world does not read it; and the planning reward "
            f"({reads}, as the agent uses it) does not depend on it before or after a step "
            "(checked with every free reward a symbol). So the Q-values, and the planned "
            f"action, are the same for every dynamics of {node!r} and every table of the "
            "class; the planning world is the perfect learner's model of the member")


def _probe(cls: WorldClass) -> MDP:
    """A member with uniform free dynamics (every successor the class allows) and a
    distinct symbol as the reward of each ``reward_reads`` configuration."""
    tables = {k: {cfg: {v: Fraction(1, len(cls.domain(k))) for v in cls.domain(k)}
                  for cfg in cls._configs(ps)} for k, ps in cls.free.items()}
    rewards = None
    if cls.reward_reads is not None:
        cfgs = cls._configs(tuple(r.rstrip("'") for r in cls.reward_reads))
        rewards = {cfg: sympy.Symbol(f"r{i}") for i, cfg in enumerate(cfgs)}
    g = cls._gammas()[0]
    t = cls.template
    domains, dynamics, _ = t.factors
    dyn = dict(dynamics)
    for k, ps in cls.free.items():
        dyn[k] = dist(lambda *args, _t=tables[k]: _t[tuple(args)], parents=list(ps))
    reward = t.reward if rewards is None else cls.free_reward(rewards)
    return MDP.factored(domains, dyn, t.actions, reward, t.start, g)


def _stop_lemma(agent: Agent, prop: Property, cls: WorldClass) -> str | None:
    if not interlock_applies(agent, prop):
        return None
    t = cls.template
    domains, dynamics, parents = t.factors
    null = agent.null_action
    for x in t.states:
        if not agent.pressed(x):
            continue
        env = {**dict(x), "A": null}
        options = []
        for k in t.variables:
            if k in cls.free:
                options.append(cls.domain(k))
            else:
                row = dynamics[k].distribution(k, tuple(env[p] for p in parents[k]))
                options.append(tuple(v for v, p in row.items() if p != 0))
        for combo in itertools.product(*options):
            if not agent.pressed(State(**dict(zip(t.variables, combo)))):
                return None
    return (f"for every member of {cls.name} and every K: {agent.kind}'s learning-world "
            f"policy takes the null action {null!r} in every state where the button is "
            "pressed (its stop interlock, by definition), and under the null action a "
            "pressed button stays pressed in every member (checked on every successor the "
            "class allows); so once pressed, every later action is null")
