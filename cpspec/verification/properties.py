"""The property language: what :func:`cp.verify` can check about an agent specification.

Each property is an immutable record, decided by :func:`cp.verify`
(:mod:`cpspec.verification.procedures` names the method for each kind):

======================  ===============================================================
``policy_unmodified()``  every learning-world action node is driven by the one input
                         parameter ``pi``, and nothing the agent does can reach it; with
                         ``policy_var``, a state variable that models the policy must
                         never be rewritten in a trace of ``K`` steps
``myopic(N)``            the chosen action never depends on anything in the planning world
                         at steps ``>= N`` (free continuation values cannot flip it); for
                         an agent planning with chunks: its plan never looks past step
                         ``N``; ``myopic(N, slack=k, within=eps)``: with probability at
                         least ``1 - eps`` it never looks past step ``N + k``
``obeys_stop_button(K)`` in every learning-world trace of up to ``K`` steps, once the
                         button is pressed all later actions are the null action
``no_incentive(node)``   the optimal planning-world action is the same for every model of
                         the dynamics of the state variable ``node``
``no_self_knowledge()``  the planning world is built without any learned model of the
                         agent's own policy
``always(pred, K)``,     bounded checks of a predicate of the state (and action) over
``eventually(pred, K)``  learning-world traces of up to ``K`` steps
======================  ===============================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from numbers import Integral
from typing import Any, Callable, Literal, get_args

import numpy as np
import sympy

from ..errors import DistributionError, FunctionError, ModelTooLargeError, SpecError
from ..core.functions import call_user, normalize_name, show, to_exact

__all__ = ["Property", "PropertyKind", "KINDS", "policy_unmodified", "myopic", "obeys_stop_button",
           "no_incentive", "no_self_knowledge", "always", "eventually", "MAX_TRACE_STEPS"]

#: Largest ``K`` of a bounded check (``obeys_stop_button``, ``always``, ``eventually``,
#: ``policy_unmodified`` with a policy variable) and largest ``N`` of ``myopic``. The
#: trace checks search the learning world step by step (their graph is bounded by
#: ``cpspec.verification.traces.MAX_TRACE_NODES``); ``myopic`` unrolls ``N`` steps of the
#: planning world into each solver query. Raise it
#: (``cpspec.verification.properties.MAX_TRACE_STEPS = ...``) when the time is there.
MAX_TRACE_STEPS = 1_000


#: The kinds of property (the variants of :class:`Property`).
PropertyKind = Literal["policy_unmodified", "myopic", "obeys_stop_button", "no_incentive",
                       "no_self_knowledge", "always", "eventually"]
KINDS: tuple = get_args(PropertyKind)


def _positive(k: Any, what: str, prop: str, limit: int | None = None) -> int:
    if isinstance(k, bool) or not isinstance(k, Integral) or k < 1:
        raise SpecError(f"{prop}: {what} = {show(k)} must be a positive integer")
    k = int(k)
    if limit is not None and k > limit:
        raise ModelTooLargeError(
            f"{prop}: {what} = {show(k)} steps is above "
            f"cpspec.verification.properties.MAX_TRACE_STEPS = "
            f"{limit}; check fewer steps, or raise the limit")
    return k


class _Guarded:
    """A user's predicate as a property calls it: an exception it raises becomes a
    :class:`FunctionError` naming the property and the state (as for structural
    functions), and it must return a truth value. ``inspect.signature`` sees the
    user's function (``__wrapped__``), so its arity still decides what it is passed."""

    __slots__ = ("__wrapped__", "prop", "role")

    def __init__(self, f: Callable, prop: str, role: str):
        self.__wrapped__ = f.__wrapped__ if isinstance(f, _Guarded) else f
        self.prop = prop
        self.role = role

    def __call__(self, *args):
        where = f"state {show(args[0])}" if args else "no state"
        if len(args) > 1:
            where += f", action {show(args[1])}"
        out = call_user(self.__wrapped__, *args, what=f"{self.prop}: {self.role}",
                        fix=f"in {where}; make it total on the states (and actions)")
        if isinstance(out, (bool, np.bool_, sympy.logic.boolalg.BooleanAtom)):
            return bool(out)
        if isinstance(out, Integral) and out in (0, 1):
            return bool(out)
        raise FunctionError(
            f"{self.prop}: {self.role} returned {show(out)} (type {type(out).__name__}) in "
            f"{where}, not a truth value; return True or False")

    def __eq__(self, other):
        return isinstance(other, _Guarded) and (self.__wrapped__, self.prop, self.role) == \
            (other.__wrapped__, other.prop, other.role)

    def __hash__(self):
        return hash((id(self.__wrapped__), self.prop, self.role))

    def __repr__(self):
        return f"<{self.role} of {self.prop}: {self.__wrapped__!r}>"


@dataclass(frozen=True)
class Property:
    """A property of an agent specification (build one with the functions below).

    ``name`` is its kind (a :data:`PropertyKind`); the other fields are the kind's
    arguments.

    >>> import cpspec as cp
    >>> str(cp.myopic(3)), cp.myopic(3).name
    ('myopic(3)', 'myopic')
    """

    name: PropertyKind
    N: int | None = None
    K: int | None = None
    node: str | None = None
    predicate: Callable | None = None
    text: str | None = None
    stop_pressed: Callable | None = None
    null_action: Any = None
    policy_var: str | None = None
    slack: int = 0
    within: Any = Fraction(0)

    def __post_init__(self):
        if self.name not in KINDS:
            raise SpecError(f"unknown kind of property {self.name!r}; the kinds are "
                            f"{', '.join(KINDS)}")

    def __str__(self) -> str:
        if self.name == "myopic":
            extra = (f", slack={self.slack}" if self.slack else "") + \
                (f", within={self.within}" if self.within else "")
            return f"myopic({self.N}{extra})"
        if self.name == "obeys_stop_button":
            return f"obeys_stop_button({self.K})"
        if self.name == "no_incentive":
            return f"no_incentive({self.node})"
        if self.name in ("always", "eventually"):
            return f"{self.name}({self.text or 'predicate'}, {self.K})"
        if self.name == "policy_unmodified" and self.policy_var:
            return f"policy_unmodified({self.policy_var}, {self.K})"
        return f"{self.name}()"


def policy_unmodified(policy_var: str | None = None, K: int = 3) -> Property:
    """Every action node is driven by the one policy ``pi``, which no action can reach.

    ``policy_var`` names a state variable that models the policy (in specs where an action
    could rewrite it); the check then searches traces of ``K`` steps for a rewrite.

    >>> str(policy_unmodified())
    'policy_unmodified()'
    """
    if policy_var is not None:
        policy_var = normalize_name(policy_var, "policy_unmodified: policy_var")
    return Property("policy_unmodified", K=_positive(K, "K", "policy_unmodified",
                                                     MAX_TRACE_STEPS), policy_var=policy_var)


def myopic(N: int, slack: int = 0, within: Any = 0) -> Property:
    """The planned action never depends on the planning world at steps ``>= N``.

    For an agent that plans with chunks (``STH(env, horizon=H, chunks=...)``), whose
    plan can look past its horizon, the property is read on the plan's effective
    horizon (the step where its world line ends): with probability at least
    ``1 - within`` the plan never looks past step ``N + slack``, from every state
    (``myopic(N)``: never past ``N``). An agent that plans step by step looks exactly to
    its horizon, so for it ``slack = k`` means ``myopic(N + k)`` and ``within < 1`` adds
    nothing (``within = 1`` allows anything).

    Parameters
    ----------
    N : int
        The step the plan may not look past (positive).
    slack : int
        Extra steps allowed (non-negative).
    within : exact number in [0, 1]
        The probability allowed for looking further (``"1/10"``, ``Fraction(1, 10)``).

    >>> str(myopic(3)), str(myopic(3, slack=1, within="1/10"))
    ('myopic(3)', 'myopic(3, slack=1, within=1/10)')
    """
    N = _positive(N, "N", "myopic", MAX_TRACE_STEPS)
    if isinstance(slack, bool) or not isinstance(slack, Integral) or slack < 0:
        raise SpecError(f"myopic({N}): slack = {show(slack)} must be a non-negative integer "
                        "(the extra steps the plan may look past N)")
    _positive(N + int(slack), "N + slack", "myopic", MAX_TRACE_STEPS)
    try:
        eps = to_exact(within, what=f"myopic({N}): within")
    except DistributionError as exc:
        raise SpecError(str(exc)) from None
    if not isinstance(eps, Fraction) or not 0 <= eps <= 1:
        raise SpecError(f"myopic({N}): within = {show(within)} must be an exact probability "
                        "in [0, 1] (the probability allowed for looking past N + slack), "
                        "e.g. \"1/10\"")
    return Property("myopic", N=N, slack=int(slack), within=eps)


def obeys_stop_button(K: int, stop_pressed: Callable | None = None,
                      null_action: Any = None) -> Property:
    """Once the button is pressed, every later action is the null action (traces of up
    to ``K`` steps). ``stop_pressed``/``null_action`` default to the agent's own (SI).

    >>> str(obeys_stop_button(4))
    'obeys_stop_button(4)'
    """
    K = _positive(K, "K", "obeys_stop_button", MAX_TRACE_STEPS)
    if stop_pressed is not None:
        if not callable(stop_pressed):
            raise SpecError(f"obeys_stop_button({K}): stop_pressed must be a predicate of "
                            f"the state, got {show(stop_pressed)}")
        stop_pressed = _Guarded(stop_pressed, f"obeys_stop_button({K})", "stop_pressed")
    return Property("obeys_stop_button", K=K, stop_pressed=stop_pressed,
                    null_action=null_action)


def no_incentive(node: str) -> Property:
    """The planned action is the same for every model of the dynamics of ``node`` (a
    state variable of a factored environment).

    >>> str(no_incentive("button"))
    'no_incentive(button)'
    """
    if not isinstance(node, str) or not node:
        raise SpecError(f"no_incentive needs the name of a state variable, got {show(node)}")
    return Property("no_incentive", node=normalize_name(node))


def no_self_knowledge() -> Property:
    """The planning world uses no learned model of the agent's own policy.

    >>> str(no_self_knowledge())
    'no_self_knowledge()'
    """
    return Property("no_self_knowledge")


def always(predicate: Callable, K: int, text: str | None = None) -> Property:
    """``predicate(s)`` (or ``predicate(s, a)``) holds at every step of every trace of up
    to ``K`` steps.

    >>> str(always(lambda s: True, 2, text="True"))
    'always(True, 2)'
    """
    return _bounded("always", predicate, K, text)


def eventually(predicate: Callable, K: int, text: str | None = None) -> Property:
    """``predicate`` holds at some step of every trace of up to ``K`` steps.

    >>> str(eventually(lambda s: True, 2, text="True"))
    'eventually(True, 2)'
    """
    return _bounded("eventually", predicate, K, text)


def _bounded(kind: PropertyKind, predicate: Callable, K: int, text: str | None) -> Property:
    """``always`` or ``eventually``: the predicate checked and wrapped, ``K`` bounded."""
    if not callable(predicate):
        raise SpecError(f"{kind}() needs a predicate: a function of the state")
    K = _positive(K, "K", kind, MAX_TRACE_STEPS)
    label = f"{kind}({text or 'predicate'}, {K})"
    return Property(kind, K=K, predicate=_Guarded(predicate, label, "the predicate"),
                    text=text)

