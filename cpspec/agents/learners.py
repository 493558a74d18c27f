"""Observational records, learning functions, and the learning world of the paper.

The learning world ``l`` models an online learning agent in its environment:
``O_{t+1} = O_t ++ [(S_t, A_t, S_{t+1})]``, ``A_t = pi(O_t, S_t)``, and a learning
function ``L`` turns a record into a learned prediction function ``L(O_t)`` that
approximates the environment's transition function ``S``.

Learning functions here (also available as ``cp.learners``):

* :func:`perfect` returns the true ``S`` whatever the record (a perfect learner that has
  already converged);
* :func:`counting` estimates ``P(s2 | s, a)`` by the frequencies in the record. Unseen
  state-action pairs get the stated ``default``: ``"uniform"`` over all states (the
  default), ``"stay"`` (the state does not change), or a callable ``(s, a) -> dist``;
* any callable ``L(O)`` or ``L(O, env)`` returning a transition function ``(s, a) -> dist``.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Callable

from ..errors import FunctionError, SpecError
from ..core.functions import call_user, required_arity, show

__all__ = ["PerfectLearner", "perfect", "counting", "resolve_learner", "append", "Learner"]

Record = tuple  # a tuple of (s, a, s2) observations


def append(o: Record, s, a, s2) -> Record:
    """``O ++ [(s, a, s2)]``: the record with one more observation.

    >>> append((), "x", "go", "y")
    (('x', 'go', 'y'),)
    """
    return tuple(o) + ((s, a, s2),)


class Learner:
    """A learning function ``L``: ``L(o, env)`` is the learned transition function.

    ``key(o)`` says which records give the same learned function (so plans can be
    shared between them); by default the record itself.
    """

    name = "learner"

    def __call__(self, o: Record, env) -> Callable:
        raise NotImplementedError

    def key(self, o: Record):
        return o

    def __repr__(self):
        return self.name


class PerfectLearner(Learner):
    """The perfect learner: ``L(O) = S`` whatever the record (the planning world uses
    the environment's own dynamics)."""
    name = "perfect"

    def __call__(self, o, env):
        return env.successors

    def key(self, o):
        return ()


class _Counting(Learner):
    def __init__(self, default):
        if not (isinstance(default, str) and default in ("uniform", "stay")
                or callable(default)):
            raise SpecError(f"counting(default={show(default)}): the default for unseen "
                            "state-action pairs must be 'uniform', 'stay' or a callable "
                            "(s, a) -> distribution")
        self.default = default
        self.name = f"counting(default={default!r})" if not callable(default) else \
            "counting(default=<fn>)"

    def key(self, o):
        counts: dict = {}
        for obs in o:
            counts[obs] = counts.get(obs, 0) + 1
        return frozenset(counts.items())

    def __call__(self, o, env):
        counts: dict = {}
        totals: dict = {}
        for s, a, s2 in o:
            counts[(s, a, s2)] = counts.get((s, a, s2), 0) + 1
            totals[(s, a)] = totals.get((s, a), 0) + 1
        default = self.default
        states = env.states

        def learned(s, a):
            n = totals.get((s, a), 0)
            if n:
                return {s2: Fraction(counts[(s, a, s2)], n) for s2 in states
                        if (s, a, s2) in counts}
            if default == "uniform":
                return {s2: Fraction(1, len(states)) for s2 in states}
            if default == "stay":
                return {s: Fraction(1)}
            return default(s, a)
        return learned


def perfect() -> Learner:
    """The perfect learner: ``L(O) = S`` for every record.

    >>> import cpspec as cp
    >>> env = cp.MDP(["x", "y"], ["go"], lambda s, a: {"y": 1}, lambda s, a, s2: 0, "x")
    >>> cp.learners.perfect()((), env)("x", "go")
    {'y': Fraction(1, 1)}
    """
    return PerfectLearner()


def counting(default: Any = "uniform") -> Learner:
    """The counting learner: frequency estimates of ``P(s2 | s, a)`` from the record,
    and ``default`` for pairs never seen (``"uniform"`` over the states, ``"stay"``, or a
    callable ``(s, a) -> distribution``).

    >>> import cpspec as cp
    >>> env = cp.MDP(["x", "y"], ["go"], lambda s, a: {"y": 1}, lambda s, a, s2: 0, "x")
    >>> L = cp.learners.counting()
    >>> L((("x", "go", "y"), ("x", "go", "x")), env)("x", "go")
    {'x': Fraction(1, 2), 'y': Fraction(1, 2)}
    >>> L((), env)("y", "go")
    {'x': Fraction(1, 2), 'y': Fraction(1, 2)}
    """
    return _Counting(default)


class _UserLearner(Learner):
    def __init__(self, f: Callable):
        self.f = f
        self.name = getattr(f, "__name__", "user learner")
        # parameters with defaults are never filled: L(o, k=k) is L(o), L(o, env) gets env
        arity = required_arity(f)
        self.arity = 1 if arity is None else arity
        if self.arity not in (1, 2):
            raise SpecError(f"learning function {self.name} takes {self.arity} arguments; "
                            "a learning function is L(O) or L(O, env)")

    def __call__(self, o, env):
        out = call_user(self.f, *((o, env) if self.arity >= 2 else (o,)),
                        what=f"learning function {self.name}",
                        fix=f"on a record of {len(o)} observations")
        if not callable(out):
            raise FunctionError(f"learning function {self.name} must return a transition "
                                f"function (s, a) -> distribution, got {out!r}")
        return out


def resolve_learner(learner: Any) -> Learner:
    """``"perfect"``, ``"counting"``, a :class:`Learner`, or a callable ``L(O)``."""
    if isinstance(learner, Learner):
        return learner
    if isinstance(learner, str) and learner == "perfect":
        return perfect()
    if isinstance(learner, str) and learner == "counting":
        return counting()
    if callable(learner):
        return _UserLearner(learner)
    raise SpecError(f"learner {show(learner)}: use 'perfect', 'counting', "
                    "cp.learners.counting(default=...), or a callable L(O) -> transition")

