"""``[[property]]`` entries: a property of an agent (``check = "myopic(3)"``), the verdict
expected (``expect``, default ``holds``) and a time budget, verified by
:func:`cpspec.verification.procedures.verify`; and ``[[equivalent]]`` entries: two agents
that should (``expect = "holds"``) or should not (``"fails"``) choose alike in every world
of a finite class, decided by :func:`cpspec.verification.equivalence.equivalent`::

    [[equivalent]]
    a = "itc"                 # two [agent.NAME]s
    b = "upd"
    over = "terminal_worlds"  # a [class.NAME] (its deterministic members), or a list of
                              # [mdp.NAME]s: over = ["m1", "m2"]
    rewards = ["0", "1"]      # the values a free reward ranges over (default 0 and 1)
    expect = "holds"          # or "fails" (a distinguishing world) or "unknown"
    timeout = 60

The property functions are those of :mod:`cpspec.verification.properties`: ``myopic``,
``no_incentive``, ``policy_unmodified``, ``no_self_knowledge``, ``obeys_stop_button``,
``always``, ``eventually``; conditions on the state are written in the MDP's variables
(or ``s``), the action ``a``, its values and actions.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from ..core.diagram import world
from ..core.expressions import RV, Expr
from ..core.functions import const
from ..errors import SpecError, SpecFileError
from ..verification import procedures
from ..verification import properties as pr
from ..verification.equivalence import (MAX_EQUIVALENCE_WORLDS, count_deterministic_members,
                                        equivalent)
from .base import (Spec, brief, entry_tables, evaluate_text, internal_error, read_number,
                   read_ref)
from .safeexpr import parse
from .models import state_words

__all__ = ["PropertyEntry", "PropertyResult", "Equivalence", "MAX_TIMEOUT",
           "build_properties", "build_equivalences", "check_properties", "check_property",
           "read_check", "read_timeout"]


@dataclass(frozen=True)
class Equivalence:
    """The check of an ``[[equivalent]]`` entry: agent ``agent_name`` of its
    :class:`PropertyEntry` against agent ``other``, over the entry's class (or the
    listed environments ``worlds``), a free reward ranging over ``rewards``."""

    other: str
    worlds: tuple | None = None
    rewards: tuple = (0, 1)

    def describe(self, agent: str) -> str:
        """How a result names the check: ``equivalent(a, b)``."""
        return f"equivalent({agent}, {self.other})"


@dataclass(frozen=True)
class PropertyEntry:
    """One ``[[property]]`` of a spec file: which agent, which property, the expected
    verdict (``holds`` unless ``expect`` says otherwise), and where it was written."""

    agent_name: str
    prop: Any
    expect: str
    where: str
    timeout: float
    over: Any = None  # a cp.WorldClass: the property for every member


@dataclass(frozen=True)
class PropertyResult:
    """A verified ``[[property]]``: passed when the verdict is the expected one."""

    entry: PropertyEntry
    verdict: Any = None
    error: str | None = None
    internal: bool = False

    @property
    def passed(self) -> bool:
        return self.error is None and self.verdict.status == self.entry.expect

    def __str__(self) -> str:
        ent = self.entry
        over = f" over {ent.over.name}" if ent.over is not None else ""
        if isinstance(ent.prop, Equivalence):
            if ent.prop.worlds:
                over = f" over [{', '.join(ent.prop.worlds)}]"
            what = ent.prop.describe(ent.agent_name) + over
        else:
            what = f"{ent.prop} of {ent.agent_name}{over}"
        if self.error:
            head = "INTERNAL ERROR" if self.internal else "ERROR"
            return f"{head} {what}: {self.error}"
        v = self.verdict
        mark = "PASS " if self.passed else "FAIL "
        head = f"{mark} {what}: {v.status} ({v.method}, {v.seconds:.3f} s)"
        if not self.passed:
            head += f", expected {self.entry.expect}"
        if v.status == "fails" and v.counterexample is not None:
            head += "\n        counterexample: " + str(v.counterexample).replace(
                "\n", "\n        ")
        elif v.status == "unknown" and v.reason:
            head += f"\n        reason: {v.reason}"
        return head


_PROPERTY_KEYS = {"agent", "check", "expect", "timeout", "over"}


def _trace_world(env):
    """A stand-in world whose variables name the state (and the action ``a``), so that a
    predicate written in a spec file becomes an expression tree evaluated per state."""
    names = list(env.variables or ("s",)) + ["a"]
    return world("trace", [(n, const(0)) for n in names])


def _as_predicate(x, env, where):
    if not isinstance(x, Expr):
        raise SpecFileError(f"{where}: expected a condition on the state, got {x!r}")
    uses_action = ("trace", "a") in x.variables()

    def state_env(s):
        return {("trace", k): v for k, v in (dict(s) if env.variables else {"s": s}).items()}
    if uses_action:
        return lambda s, a: bool(x.evaluate({**state_env(s), ("trace", "a"): a}))
    return lambda s: bool(x.evaluate(state_env(s)))


def _shown(cond, env) -> str:
    """A condition on the states as the spec file names its variables (``a == 'take'``,
    not the stand-in world's ``a_trace == 'take'``)."""
    text = str(cond)
    for n in list(env.variables or ("s",)) + ["a"]:
        text = re.sub(rf"\b{re.escape(n)}_trace\b", n, text)
    return text


def _node_name(x):
    return x.node if isinstance(x, RV) else x


def _property_functions(env, where) -> dict:
    """The property functions a ``check`` may call, conditions read on ``env``'s states."""
    return {
        "myopic": pr.myopic,
        "no_incentive": lambda node: pr.no_incentive(_node_name(node)),
        "policy_unmodified": lambda var=None, K=3: pr.policy_unmodified(
            _node_name(var) if var is not None else None, K),
        "no_self_knowledge": pr.no_self_knowledge,
        "obeys_stop_button": lambda K, stop=None, null_action=None: pr.obeys_stop_button(
            K, _as_predicate(stop, env, where) if stop is not None else None,
            null_action),
        "always": lambda cond, K: pr.always(_as_predicate(cond, env, where), K,
                                            _shown(cond, env)),
        "eventually": lambda cond, K: pr.eventually(_as_predicate(cond, env, where), K,
                                                    _shown(cond, env)),
    }


def build_properties(entries, agents: dict, mdps: dict, params: dict, path, lines,
                     classes: dict | None = None) -> tuple:
    """``[[property]]`` tables -> :class:`PropertyEntry` records (parsed, not yet run)."""
    out = []
    for ent, where in entry_tables(entries, path, lines, "property", "properties",
                                   _PROPERTY_KEYS, "agent and check",
                                   lambda e: e.get("check")):
        text = ent.get("check")
        name = read_ref(ent.get("agent"), where, "agent", agents, "[agent.NAME]")
        if not isinstance(text, str):
            raise SpecFileError(f"{where}: check = \"myopic(3)\" (a property, in quotes) is "
                                "missing")
        expect = _expect(ent, where)
        timeout = read_timeout(ent.get("timeout", 60), where)
        over = None
        if "over" in ent:
            over = (classes or {})[read_ref(ent["over"], where, "over", classes or {},
                                            "[class.NAME]")]
        prop = read_check(text, agents[name].env, params, where)
        out.append(PropertyEntry(name, prop, expect, where, timeout, over))
    return tuple(out)


def read_check(text: str, env, params: dict, where: str):
    """A property written in a spec file (``"myopic(3)"``), conditions read on ``env``'s
    states."""
    tw = _trace_world(env)
    names = {**state_words(env), **params, **{n: tw[n] for n in tw.order}}
    return evaluate_text(text, where, names, _property_functions(env, where),
                         {"stop", "null_action", "K", "var", "slack", "within"},
                         "use state variables (or s), a, values and actions")


def _expect(ent: dict, where: str) -> str:
    expect = ent.get("expect", "holds")
    if not isinstance(expect, str) or expect not in ("holds", "fails", "unknown"):
        raise SpecFileError(f'{where}: expect must be "holds", "fails" or "unknown", not '
                            f"{brief(expect)}")
    return expect


_EQUIVALENT_KEYS = {"a", "b", "over", "rewards", "expect", "timeout"}


def build_equivalences(entries, agents: dict, mdps: dict, params: dict, path, lines,
                       classes: dict | None = None) -> tuple:
    """``[[equivalent]]`` tables -> :class:`PropertyEntry` records whose ``prop`` is an
    :class:`Equivalence` (parsed, not yet run)."""
    out = []
    for ent, where in entry_tables(
            entries, path, lines, "equivalent", "equivalence checks", _EQUIVALENT_KEYS,
            'a = "<agent>", b = "<agent>" and over = "<class>"',
            lambda e: f'a = "{e["a"]}"' if isinstance(e.get("a"), str) else None):
        a = read_ref(ent.get("a"), where, "a", agents, "[agent.NAME]")
        b = read_ref(ent.get("b"), where, "b", agents, "[agent.NAME]")
        raw = ent.get("over")
        over, worlds = None, None
        if isinstance(raw, list) and raw:
            worlds = tuple(read_ref(m, where, "over", mdps, "[mdp.NAME]") for m in raw)
        elif isinstance(raw, str):
            over = (classes or {})[read_ref(raw, where, "over", classes or {},
                                            "[class.NAME]")]
        else:
            raise SpecFileError(f'{where}: over = "<class>" (a [class.NAME]) or over = '
                                '["<mdp>", ...] (a list of [mdp.NAME]) is missing; it names '
                                "the worlds in which the agents are compared")
        rewards = ent.get("rewards", ["0", "1"])
        if not isinstance(rewards, list) or not rewards:
            raise SpecFileError(f'{where}: rewards must be a list of numbers, e.g. ["0", '
                                f'"1"], not {brief(rewards)}')
        values = tuple(read_number(parse(r, where).evaluate(dict(params)) if isinstance(
            r, str) else r, where, "a reward value") for r in rewards)
        out.append(PropertyEntry(a, Equivalence(b, worlds, values), _expect(ent, where),
                                 where, read_timeout(ent.get("timeout", 60), where), over))
    return tuple(out)


def _check_class_size(ent: PropertyEntry) -> None:
    """Refuse a class too large to enumerate, phrased for the spec file."""
    size = count_deterministic_members(ent.over, ent.prop.rewards)
    if size > MAX_EQUIVALENCE_WORLDS:
        raise SpecFileError(
            f"{ent.where}: the class {ent.over.name!r} has {size:,} deterministic worlds, "
            f"too many to enumerate (the limit is {MAX_EQUIVALENCE_WORLDS:,}); in "
            f"[class.{ent.over.name}] let free.X read fewer parents, or give the entry "
            "fewer rewards = [...] values")


#: The longest ``timeout`` a ``[[property]]`` may ask for, in seconds (a week).
MAX_TIMEOUT = 7 * 24 * 3600


def read_timeout(t, where) -> float:
    """A verification time budget in seconds: a finite positive number."""
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) \
            or t <= 0 or t > MAX_TIMEOUT:
        raise SpecFileError(f"{where}: timeout = {brief(t)} must be a number of seconds "
                            f"above 0 and at most {MAX_TIMEOUT:,} (without quotes), e.g. "
                            "timeout = 60")
    return float(t)


def check_properties(spec: Spec) -> list:
    """Verify every ``[[property]]`` of ``spec``, each on its own: an error in one is its
    result, and the others are still verified.

    >>> from cpspec.spec.loader import load
    >>> spec = load("fp.toml", text='''
    ... [mdp.m]
    ... states = ["s"]
    ... actions = ["a"]
    ... start = "s"
    ... reward = "1"
    ... gamma = "1/2"
    ... transition.s.a = { s = "1" }
    ... [agent.fp]
    ... kind = "FP"
    ... env = "m"
    ... [[property]]
    ... agent = "fp"
    ... check = "myopic(1)"
    ... ''')
    >>> [r.passed for r in check_properties(spec)]
    [True]
    """
    return [check_property(spec, ent) for ent in spec.properties]


def check_property(spec: Spec, ent: PropertyEntry) -> PropertyResult:
    """Verify one ``[[property]]`` (or ``[[equivalent]]``) of ``spec``; an error is its
    result (a cpspec error, or an internal one marked as such)."""
    try:
        if isinstance(ent.prop, Equivalence):
            worlds = ent.over if ent.over is not None else \
                [spec.mdps[m][0] for m in ent.prop.worlds]
            if ent.over is not None:
                _check_class_size(ent)
            v = equivalent(spec.agents[ent.agent_name], spec.agents[ent.prop.other],
                           worlds, ent.prop.rewards, timeout=ent.timeout)
        else:
            v = procedures.verify(spec.agents[ent.agent_name], ent.prop, timeout=ent.timeout,
                                  over=ent.over)
    except SpecError as exc:
        return PropertyResult(ent, None, str(exc))
    except Exception as exc:  # one property's failure never hides the others
        return PropertyResult(ent, None, internal_error(exc), internal=True)
    return PropertyResult(ent, v)
