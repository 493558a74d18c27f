"""The property language: what :func:`cp.verify` can check about an agent specification.

Each property is an immutable record; :mod:`cpspec.verify` encodes it. See DESIGN.md
("Properties") for the meaning of each.

======================  ===============================================================
``policy_unmodified()``  every learning-world action node is driven by the one input
                         parameter ``pi``, and nothing the agent does can reach it; with
                         ``policy_var``, a state variable that models the policy must
                         never be rewritten in a trace of ``K`` steps
``myopic(N)``            the chosen action never depends on anything in the planning world
                         at steps ``>= N`` (free continuation values cannot flip it)
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
from typing import Any, Callable

from .errors import SpecError

__all__ = ["Property", "policy_unmodified", "myopic", "obeys_stop_button", "no_incentive",
           "no_self_knowledge", "always", "eventually"]


def _positive(k: Any, what: str) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise SpecError(f"{what} = {k!r} must be a positive integer")
    return k


@dataclass(frozen=True)
class Property:
    """A property of an agent specification (build one with the functions below)."""

    name: str
    N: int | None = None
    K: int | None = None
    node: str | None = None
    predicate: Callable | None = None
    text: str | None = None
    stop_pressed: Callable | None = None
    null_action: Any = None
    policy_var: str | None = None

    def __str__(self) -> str:
        if self.name == "myopic":
            return f"myopic({self.N})"
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
    return Property("policy_unmodified", K=_positive(K, "K"), policy_var=policy_var)


def myopic(N: int) -> Property:
    """The planned action never depends on the planning world at steps ``>= N``.

    >>> str(myopic(3))
    'myopic(3)'
    """
    return Property("myopic", N=_positive(N, "N"))


def obeys_stop_button(K: int, stop_pressed: Callable | None = None,
                      null_action: Any = None) -> Property:
    """Once the button is pressed, every later action is the null action (traces of up
    to ``K`` steps). ``stop_pressed``/``null_action`` default to the agent's own (SI).

    >>> str(obeys_stop_button(4))
    'obeys_stop_button(4)'
    """
    return Property("obeys_stop_button", K=_positive(K, "K"), stop_pressed=stop_pressed,
                    null_action=null_action)


def no_incentive(node: str) -> Property:
    """The planned action is the same for every model of the dynamics of ``node`` (a
    state variable of a factored environment).

    >>> str(no_incentive("button"))
    'no_incentive(button)'
    """
    if not isinstance(node, str) or not node:
        raise SpecError(f"no_incentive needs the name of a state variable, got {node!r}")
    return Property("no_incentive", node=node)


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
    if not callable(predicate):
        raise SpecError("always() needs a predicate: a function of the state")
    return Property("always", K=_positive(K, "K"), predicate=predicate, text=text)


def eventually(predicate: Callable, K: int, text: str | None = None) -> Property:
    """``predicate`` holds at some step of every trace of up to ``K`` steps.

    >>> str(eventually(lambda s: True, 2, text="True"))
    'eventually(True, 2)'
    """
    if not callable(predicate):
        raise SpecError("eventually() needs a predicate: a function of the state")
    return Property("eventually", K=_positive(K, "K"), predicate=predicate, text=text)
