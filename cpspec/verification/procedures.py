"""Decision procedures for agent properties: honest verdicts and concrete counterexamples.

``verify(agent, prop)`` returns a :class:`Verdict` whose ``status`` is ``"holds"``,
``"fails"`` (with a :class:`Counterexample`) or ``"unknown"`` (with the reason, e.g. a
timeout). Z3's three answers are kept apart all the way: ``unknown`` is never reported
as ``holds``. Every counterexample is replayed in exact arithmetic before it is reported;
one that does not reproduce turns the verdict into ``unknown``. ``Verdict.method`` names
the procedure that decided.

Procedures (all numbers are exact rationals; the Z3 encodings use ``z3.RealVal("p/q")``
and one ``z3.Context`` per call, no global state):

* ``myopic(N)`` (:mod:`cpspec.verification.myopia`): a planning horizon ``H <= N``
  proves it at once (method ``"structure"``: the planning world has no steps ``>= N``).
  Otherwise exact witnesses first (method ``"witness"``): continuation values ``V_N = 0``,
  then a value ``c`` at one state ``x`` reachable at step ``N`` (0 elsewhere), where one
  backward induction per ``x`` gives every start state's largest (and smallest)
  probability of being at ``x`` at step ``N`` per first action, and ``c`` is derived from
  where the lines ``Q_0(c)`` cross and from the reward range; each is confirmed by exact
  backward induction. What is left goes to Z3: the planning world's backward induction
  for steps ``< N`` over Z3 reals, with the continuation values at step ``N`` left free
  (they stand for any rewards and transitions at steps ``>= N``); ``V_t(x) >= Q_t(x, a)``
  for every ``a`` and equal to one of them. Query: can the first action in some start
  state differ from the planned one (ties to the first declared action)?
* ``no_incentive(node)``: the dynamics of state variable ``node`` in the planning world
  become free probability tables (reals >= 0 summing to 1); the planning values satisfy
  the Bellman optimality equations (``gamma < 1``: their unique solution) or finite-horizon
  backward induction. Query: can the planned action differ from the nominal one?
  Before Z3, three cheaper tiers, each sound: the planning world's structure (no path
  from the node to a utility: method ``"structure"``); exact interval bounds
  (:mod:`cpspec.verification.bounds`, method ``"bounds"``): robust lower and upper
  values with the node's rows chosen worst / best per state and action (exact robust
  backward induction, or for ``gamma < 1`` exact policy iteration and strategy
  iteration), which prove the action in every state where the nominal action's worst
  case beats every alternative's best case (ties to the first declared action), and
  whose best / worst choices elsewhere are candidate tables replayed exactly (a flip
  confirmed there fails with method ``"bounds"``); then deterministic tables tried by
  exact solving in the states the bounds left open (all tables when there are few,
  fewest changed rows first, else the one-row changes and the constant tables: method
  ``"witness"``). Z3 asks only about the open states; a state whose query times out
  does not stop the others, and *unknown* is answered only when no state gave a
  counterexample. A counterexample is cut down to the rows that matter: rows no path
  from its state reads are put back to the learned ones, then each changed row is put
  back while the flip survives exact replay.
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
from ..core.diagram import Diagram
from ..budget import Deadline, Expired, check_timeout, time_limit
from ..errors import BudgetError, ModelTooLargeError, SpecError
from .encoding import require_concrete
from .classes import WorldClass, class_certificate, class_obstacle
from .diagrams import decide_diagram
from .incentives import check_no_incentive
from .myopia import check_myopic
from .properties import KINDS, Property
from .records import Counterexample, Outcome, Verdict
from .structure import check_no_self_knowledge
from .traces import check_policy_unmodified, check_stop_button, check_temporal

__all__ = ["verify", "PROCEDURES", "MEMBER_SECONDS"]

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


def verify(agent: Agent, prop: Property, timeout: float | None = 60.0,
           over: WorldClass | None = None) -> Verdict:
    """Check ``prop`` for ``agent``: a :class:`Verdict` (holds / fails with a
    counterexample / unknown with the reason); with ``over``, for ``agent``'s definition
    in every world of a class.

    Parameters
    ----------
    agent : cp.agents.Agent or Diagram
        An agent, or an influence diagram (``cp.decision`` and ``cp.utility`` nodes), on
        which ``no_incentive(node)`` is decided (:mod:`cpspec.verification.diagrams`).
    prop : Property
        From :mod:`cpspec.verification.properties` (``cp.myopic(3)``, ``cp.no_incentive("button")``...).
    timeout : float or None
        Seconds for the whole call (None: no limit); when they run out the verdict is
        ``unknown``, never ``holds``.
    over : cp.WorldClass, optional
        A class of environments. The verdict is *holds* with a structural certificate
        valid for every member (method ``"structure"``), *fails* with a member of the
        class and its counterexample (method ``"member"``), or *unknown* when no lemma
        applies and no member tried is a counterexample.

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
    if isinstance(agent, Diagram) and isinstance(prop, Property) and over is None:
        return _verify_diagram(agent, prop, check_timeout(timeout))
    if not isinstance(agent, Agent):
        raise SpecError(f"verify() needs an agent (cp.agents.FP(...), ...) or an influence "
                        f"diagram, got {agent!r}")
    if not isinstance(prop, Property):
        raise SpecError(f"verify() needs a property (cp.myopic(N), ...), got {prop!r}")
    if over is not None and not isinstance(over, WorldClass):
        raise SpecError(f"verify(over=...) needs a class of worlds (cp.WorldClass(...)), "
                        f"got {over!r}")
    timeout = check_timeout(timeout)
    who = repr(agent) if over is None else f"{agent!r} over {over.name}"
    if over is None and prop.name in ("myopic", "no_incentive"):
        require_concrete(agent)
    running = "member" if over is not None else _LAST_METHOD.get(prop.name, "z3")
    t0 = time.perf_counter()
    deadline = Deadline(timeout)
    try:
        with time_limit(deadline):
            out = (_confirmed(PROCEDURES[prop.name](agent, prop, deadline)) if over is None
                   else _over_class(agent, prop, over, deadline))
    except Expired:
        return Verdict("unknown", str(prop), who, None,
                       f"the time budget timeout={timeout:g} s ran out before an answer; "
                       "pass a larger timeout", time.perf_counter() - t0, running)
    except BudgetError as exc:  # a computation inside ran out of its own budget
        return Verdict("unknown", str(prop), who, None, str(exc),
                       time.perf_counter() - t0, running)
    return Verdict(out.status, str(prop), who, out.counterexample, out.reason,
                   time.perf_counter() - t0, out.method)


def _verify_diagram(d: Diagram, prop: Property, timeout: float | None) -> Verdict:
    t0 = time.perf_counter()
    deadline = Deadline(timeout)
    try:
        with time_limit(deadline):
            out = decide_diagram(d, prop)
    except Expired:
        return Verdict("unknown", str(prop), f"world {d.name!r}", None,
                       f"the time budget timeout={timeout:g} s ran out before an answer; "
                       "pass a larger timeout", time.perf_counter() - t0)
    return Verdict(out.status, str(prop), f"world {d.name!r}", out.counterexample,
                   out.reason, time.perf_counter() - t0, out.method)


#: The most seconds one member of a class gets when members are searched for a
#: counterexample (the whole call's ``timeout`` bounds them all).
MEMBER_SECONDS = 5.0


def _confirmed(out: Outcome) -> Outcome:
    """``out``, or *unknown* when its counterexample did not reproduce in exact replay."""
    cex = out.counterexample
    if out.status == "fails" and cex is not None and not cex.evidence.get("confirmed", False):
        return Outcome("unknown", cex, f"{out.method} found a violation that did not "
                       f"reproduce in exact replay ({cex.evidence}); not reporting it as a "
                       "failure", out.method)
    return out


def _over_class(agent: Agent, prop: Property, cls: WorldClass, deadline) -> Outcome:
    """``prop`` for every member of ``cls``: a structural lemma, else a member that is
    a counterexample, else *unknown*."""
    why = class_obstacle(agent, cls)
    if why is not None:
        return Outcome("unknown", None, why, method="structure")
    proof = class_certificate(agent, prop, cls)
    if proof is not None:
        return Outcome("holds", None, proof, method="structure")
    tried, skipped, undecided = 0, [], 0

    def run(member, budget):
        twin = agent.with_env(member.mdp)
        if prop.name in ("myopic", "no_incentive"):
            require_concrete(twin)
        try:
            return _confirmed(PROCEDURES[prop.name](twin, prop, budget))
        except Expired:
            if deadline.expired():
                raise
            return Outcome("unknown", None, "the member's share of the budget ran out")

    for member in cls.members():
        deadline.check()
        left = deadline.remaining()
        share = Deadline(MEMBER_SECONDS if left is None else min(MEMBER_SECONDS, left))
        try:
            out = run(member, share)
        except ModelTooLargeError as exc:
            skipped.append(str(exc))
            continue
        undecided += out.status == "unknown"
        tried += 1
        if out.status == "fails":
            left = deadline.remaining()
            shrinking = Deadline(10.0 if left is None else min(10.0, left / 2))
            seen = {id(member): out}

            def still_fails(m):
                seen[id(m)] = run(m, shrinking)
                return seen[id(m)].status == "fails"
            member = cls.shrink(member, still_fails, shrinking)
            out = seen[id(member)]
            inner = out.counterexample
            shown = cls.describe(member)
            text = (f"a member of {cls.name}:\n  " + shown.replace("\n", "\n  ") +
                    f"\nthere: {inner.text}")
            return Outcome("fails", Counterexample(
                "member", {"member": member.mdp, "description": shown,
                           "counterexample": inner}, text, dict(inner.evidence)),
                None, method=f"member ({out.method})")
    more = f"; {len(skipped)} members were too large to check ({skipped[0]})" if skipped else ""
    if undecided:
        more += (f"; in {undecided} of them the instance check was itself undecided within "
                 f"MEMBER_SECONDS = {MEMBER_SECONDS:g} s")
    return Outcome("unknown", None, (
        f"no structural lemma covers {prop} for {agent.kind} over {cls.name}, and none of "
        f"the {tried} members tried is a counterexample{more}; this proves nothing for "
        "the class"), method="member")
