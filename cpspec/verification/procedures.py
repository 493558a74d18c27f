"""Decision procedures for agent properties: honest verdicts and concrete counterexamples.

``verify(agent, prop)`` returns a :class:`Verdict` whose ``status`` is ``"holds"``,
``"fails"`` (with a :class:`Counterexample`) or ``"unknown"`` (with the reason, e.g. a
timeout). Z3's three answers are kept apart all the way: ``unknown`` is never reported
as ``holds``. Every counterexample is replayed in exact arithmetic before it is reported;
one that does not reproduce turns the verdict into ``unknown``. ``Verdict.method`` names
the procedure that decided.

Procedures (all numbers are exact rationals; the Z3 encodings use ``z3.RealVal("p/q")``
and one ``z3.Context`` per call, no global state):

* ``myopic(N)``: the planning world's backward induction for steps ``< N`` over Z3 reals,
  with the continuation values at step ``N`` left free (they stand for any rewards and
  transitions at steps ``>= N``); ``V_t(x) >= Q_t(x, a)`` for every ``a`` and equal to
  one of them. Query: can the first action in some start state differ from the planned
  one (ties to the first declared action)? An agent whose planning horizon ``H <= N``
  has nothing free and is proven myopic.
* ``no_incentive(node)``: the dynamics of state variable ``node`` in the planning world
  become free probability tables (reals >= 0 summing to 1); the planning values satisfy
  the Bellman optimality equations (``gamma < 1``: their unique solution) or finite-horizon
  backward induction. Query: can the planned action differ from the nominal one?
  Before Z3, deterministic tables for the node are tried by exact solving in every state
  (all of them when there are few, else the constant and one-row changes); a state whose
  Z3 query times out does not stop the others, and *unknown* is answered only when no
  state gave a counterexample.
* ``obeys_stop_button(K)``, ``always``, ``eventually``, ``policy_unmodified(policy_var)``:
  no Z3: an exact breadth-first search of the learning world's reachable (record, state)
  nodes over ``K`` steps with a small monitor per property (method ``"search"``, see
  :mod:`cpspec.verification.traces`); its graph is bounded by
  :data:`~cpspec.verification.traces.MAX_TRACE_NODES`. SI's stop button holds for every
  ``K`` without search when a pressed button stays pressed (method ``"structure"``).
* ``policy_unmodified()`` and ``no_self_knowledge()`` without a modelled policy variable
  are structural checks of the agent definition (method ``"structure"``).
"""

from __future__ import annotations

import time

from ..agents.base import Agent
from ..budget import Deadline, Expired, check_timeout, time_limit
from ..errors import BudgetError, SpecError
from .encoding import require_concrete
from .incentives import check_no_incentive
from .myopia import check_myopic
from .properties import KINDS, Property
from .records import Verdict
from .structure import check_no_self_knowledge
from .traces import check_policy_unmodified, check_stop_button, check_temporal

__all__ = ["verify", "PROCEDURES"]

#: The decision procedure for each kind of property: ``(agent, property, deadline) ->
#: Outcome`` (``deadline``: the call's :class:`~cpspec.budget.Deadline`).
PROCEDURES = {
    "myopic": check_myopic, "no_incentive": check_no_incentive,
    "obeys_stop_button": check_stop_button, "always": check_temporal,
    "eventually": check_temporal, "policy_unmodified": check_policy_unmodified,
    "no_self_knowledge": check_no_self_knowledge,
}
# the method still running when a budget runs out: the one each procedure ends with
_LAST_METHOD = {"obeys_stop_button": "search", "always": "search", "eventually": "search",
                "policy_unmodified": "search", "no_self_knowledge": "structure"}

if set(PROCEDURES) != set(KINDS):  # every kind of property has its procedure
    raise ImportError(f"verification procedures {sorted(PROCEDURES)} do not match the "
                      f"property kinds {sorted(KINDS)}")


def verify(agent: Agent, prop: Property, timeout: float | None = 60.0) -> Verdict:
    """Check ``prop`` for ``agent``: a :class:`Verdict` (holds / fails with a
    counterexample / unknown with the reason).

    Parameters
    ----------
    agent : cp.agents.Agent
    prop : Property
        From :mod:`cpspec.verification.properties` (``cp.myopic(3)``, ``cp.no_incentive("button")``...).
    timeout : float or None
        Seconds for the whole call (None: no limit); when they run out the verdict is
        ``unknown``, never ``holds``.

    Examples
    --------
    >>> import cpspec as cp
    >>> from cpspec.examples import delayed_reward
    >>> env = delayed_reward(delay=2)
    >>> cp.verify(cp.agents.STH(env, horizon=2), cp.myopic(2)).status
    'holds'
    >>> v = cp.verify(cp.agents.FP(env), cp.myopic(2))
    >>> v.status, v.counterexample.data["flipped"]
    ('fails', 'take')
    """
    if not isinstance(agent, Agent):
        raise SpecError(f"verify() needs an agent (cp.agents.FP(...), ...), got {agent!r}")
    if not isinstance(prop, Property):
        raise SpecError(f"verify() needs a property (cp.myopic(N), ...), got {prop!r}")
    timeout = check_timeout(timeout)
    if prop.name in ("myopic", "no_incentive"):
        require_concrete(agent)
    t0 = time.perf_counter()
    deadline = Deadline(timeout)
    try:
        with time_limit(deadline):
            out = PROCEDURES[prop.name](agent, prop, deadline)
    except Expired:
        return Verdict("unknown", str(prop), repr(agent), None,
                       f"the time budget timeout={timeout:g} s ran out before an answer; "
                       "pass a larger timeout", time.perf_counter() - t0,
                       _LAST_METHOD.get(prop.name, "z3"))
    except BudgetError as exc:  # a computation inside ran out of its own budget
        return Verdict("unknown", str(prop), repr(agent), None, str(exc),
                       time.perf_counter() - t0, _LAST_METHOD.get(prop.name, "z3"))
    seconds = time.perf_counter() - t0
    cex = out.counterexample
    if out.status == "fails" and cex is not None and not cex.evidence.get("confirmed", False):
        return Verdict("unknown", str(prop), repr(agent), cex,
                       f"{out.method} found a violation that did not reproduce in exact replay "
                       f"({cex.evidence}); not reporting it as a failure", seconds, out.method)
    return Verdict(out.status, str(prop), repr(agent), cex, out.reason, seconds, out.method)
