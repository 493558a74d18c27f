"""The counterfactual oracle: counterfactual planning put to a non-agent use.

An oracle answers a question; its answer is scored by how well it predicts an outcome.
When people read the answer and act on it, the answer can change the outcome, and an
oracle that plans in the factual world has an incentive to give the answer that makes
itself come true (to influence its reader). The counterfactual oracle of the sequence
scores its answer in the counterfactual world where nobody reads it: its planning world
is the environment with the ``reader`` variable held at its ``unread`` value (after every
step, and wherever the score reads it), so nothing it answers can pay through the reader.

======  =================================================================================
FO      the factual oracle: plans in the learned world, where its answer is read
CFO     the counterfactual oracle: plans in the world where ``reader`` is always
        ``unread``; ``no_incentive(reader)`` holds by the planning world's structure
======  =================================================================================

Both plan one answer ahead (``horizon=1``) unless told otherwise, and act in the real
(learning) world, where the answer is read and the score is the environment's reward.
``reader`` must be a state variable of a factored environment that no other variable's
dynamics reads: the reader's reaction reaches the outcome through the score (the reward)
only, so holding it at ``unread`` is "nobody reads the answer".
"""

from __future__ import annotations

from typing import Any

from ..core.functions import normalize_name, show
from ..decisions.mdp import MDP, State
from ..errors import SpecError
from .base import Agent

__all__ = ["FO", "CFO"]


class FO(Agent):
    """The factual oracle: its answer is scored in the learned world, where it is read.

    Parameters
    ----------
    env : MDP
        A factored environment with the state variable ``reader``.
    reader : str
        The variable holding what the reader does with the answer.
    unread : value
        ``reader``'s value when nobody reads the answer.
    learner, horizon, o0
        As for every agent; ``horizon`` defaults to 1 (one answer).

    Examples
    --------
    >>> import cpspec as cp
    >>> from cpspec.examples import oracle_world
    >>> env = oracle_world(erasure="1/4")
    >>> cp.agents.FO(env, reader="reader", unread="unread").act((), env.states[0])
    'up'
    >>> v = cp.verify(cp.agents.FO(env, reader="reader", unread="unread"),
    ...               cp.no_incentive("reader"))
    >>> v.status
    'fails'
    """

    kind = "FO"

    def __init__(self, env: MDP, reader: Any = None, unread: Any = None,
                 learner: Any = "perfect", horizon: Any = 1, o0: tuple = ()):
        super().__init__(env, learner, horizon, o0)
        if not isinstance(reader, str) or env.variables is None or \
                normalize_name(reader) not in env.variables:
            known = ", ".join(env.variables or ()) or "none (the environment is not factored)"
            raise SpecError(f"{self.kind}: reader={show(reader)} must name the state "
                            f"variable that holds what the reader does; variables: {known}")
        self.reader = reader = normalize_name(reader)
        domains, _, parents = env.factors
        if unread not in domains[reader]:
            raise SpecError(f"{self.kind}: unread={show(unread)} is not a value of {reader!r} "
                            f"({', '.join(map(repr, domains[reader]))}); give the value it "
                            "has when nobody reads the answer")
        readers = [k for k in env.variables if k != reader and reader in parents[k]]
        if readers:
            raise SpecError(f"{self.kind}: the dynamics of {readers[0]!r} read {reader!r}; "
                            f"the reader's reaction must reach the outcome through the score "
                            f"(the reward) only, so that holding {reader!r} at "
                            f"{unread!r} means nobody read the answer")
        self.unread = unread

    def __repr__(self):
        return f"{self.kind}(reader={self.reader}, learner={self.learner!r}, " \
               f"horizon={self.horizon})"


class CFO(FO):
    """The counterfactual oracle: its answer is scored in the planning world where
    nobody reads it (``reader`` held at ``unread``), so it has no incentive to
    influence the reader.

    Examples
    --------
    >>> import cpspec as cp
    >>> from cpspec.examples import oracle_world
    >>> env = oracle_world(erasure="1/4")
    >>> cfo = cp.agents.CFO(env, reader="reader", unread="unread")
    >>> cfo.act((), env.states[0]), cfo.plan((), env.states[0]).q(env.states[0])
    ('down', {'up': 1/3, 'down': 2/3})
    >>> v = cp.verify(cfo, cp.no_incentive("reader"))
    >>> v.status, v.method
    ('holds', 'structure')
    """

    kind = "CFO"

    def unread_state(self, x: State) -> State:
        """``x`` with the reader at ``unread``: what the state is when nobody reads."""
        return State(**{**dict(x), self.reader: self.unread})

    def planning_parts(self, o, s):
        learned, reward = super().planning_parts(o, s)
        quiet = self.unread_state

        def transition(x, a):
            out: dict = {}
            for x2, p in learned(x, a).items():
                out[quiet(x2)] = out.get(quiet(x2), 0) + p
            return out
        return transition, (lambda x, a, x2: reward(quiet(x), a, quiet(x2)))
