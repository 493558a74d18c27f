"""``[[property]]`` entries: a property of an agent (``check = "myopic(3)"``), the verdict
expected (``expect``, default ``holds``) and a time budget, verified by
:func:`cpspec.verification.procedures.verify`.

The property functions are those of :mod:`cpspec.verification.properties`: ``myopic``,
``no_incentive``, ``policy_unmodified``, ``no_self_knowledge``, ``obeys_stop_button``,
``always``, ``eventually``; conditions on the state are written in the MDP's variables
(or ``s``), the action ``a``, its values and actions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..core.diagram import world
from ..core.expressions import RV, Expr
from ..core.functions import const
from ..errors import SpecError, SpecFileError
from ..verification import procedures
from ..verification import properties as pr
from .base import Spec, brief, evaluate_text, internal_error, locate, read_ref
from .models import state_words

__all__ = ["PropertyEntry", "PropertyResult", "MAX_TIMEOUT", "build_properties",
           "check_properties", "check_property"]


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
        if self.error:
            head = "INTERNAL ERROR" if self.internal else "ERROR"
            return f"{head} {self.entry.prop} of {self.entry.agent_name}: {self.error}"
        v = self.verdict
        mark = "PASS " if self.passed else "FAIL "
        over = f" over {self.entry.over.name}" if self.entry.over is not None else ""
        head = (f"{mark} {self.entry.prop} of {self.entry.agent_name}{over}: {v.status} "
                f"({v.method}, {v.seconds:.3f} s)")
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
        "always": lambda cond, K: pr.always(_as_predicate(cond, env, where), K, str(cond)),
        "eventually": lambda cond, K: pr.eventually(_as_predicate(cond, env, where), K,
                                                    str(cond)),
    }


def build_properties(entries, agents: dict, mdps: dict, params: dict, path, lines,
                     classes: dict | None = None) -> tuple:
    """``[[property]]`` tables -> :class:`PropertyEntry` records (parsed, not yet run)."""
    if not isinstance(entries, list):
        raise SpecFileError(f"{locate(path, lines, 'property')}: write properties as "
                            "[[property]] tables")
    out = []
    for k, ent in enumerate(entries):
        where = f"{path}, [[property]] #{k + 1}"
        if not isinstance(ent, dict):
            raise SpecFileError(f"{where}: must be a table with agent and check")
        if isinstance(ent.get("check"), str):
            where = locate(path, lines, ent["check"], label=f"[[property]] #{k + 1}")
        extra = set(ent) - _PROPERTY_KEYS
        if extra:
            raise SpecFileError(f"{where}: unknown key {sorted(extra)[0]!r}; expected "
                                f"{', '.join(sorted(_PROPERTY_KEYS))}")
        text = ent.get("check")
        name = read_ref(ent.get("agent"), where, "agent", agents, "[agent.NAME]")
        if not isinstance(text, str):
            raise SpecFileError(f"{where}: check = \"myopic(3)\" (a property, in quotes) is "
                                "missing")
        expect = ent.get("expect", "holds")
        if not isinstance(expect, str) or expect not in ("holds", "fails", "unknown"):
            raise SpecFileError(f'{where}: expect must be "holds", "fails" or "unknown", not '
                                f"{brief(expect)}")
        timeout = _timeout(ent.get("timeout", 60), where)
        over = None
        if "over" in ent:
            over = (classes or {})[read_ref(ent["over"], where, "over", classes or {},
                                            "[class.NAME]")]
        env = agents[name].env
        tw = _trace_world(env)
        names = {**state_words(env), **params, **{n: tw[n] for n in tw.order}}
        funcs = _property_functions(env, where)
        prop = evaluate_text(text, where, names, funcs,
                             {"stop", "null_action", "K", "var", "slack", "within"},
                             "use state variables (or s), a, values and actions")
        out.append(PropertyEntry(name, prop, expect, where, timeout, over))
    return tuple(out)


#: The longest ``timeout`` a ``[[property]]`` may ask for, in seconds (a week).
MAX_TIMEOUT = 7 * 24 * 3600


def _timeout(t, where) -> float:
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
    """Verify one ``[[property]]`` of ``spec``; an error is its result (a cpspec error, or
    an internal one marked as such)."""
    try:
        v = procedures.verify(spec.agents[ent.agent_name], ent.prop, timeout=ent.timeout,
                              over=ent.over)
    except SpecError as exc:
        return PropertyResult(ent, None, str(exc))
    except Exception as exc:  # one property's failure never hides the others
        return PropertyResult(ent, None, internal_error(exc), internal=True)
    return PropertyResult(ent, v)
