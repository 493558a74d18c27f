"""``[[synthesize]]`` entries: the exact regions of parameters where a property of an
agent holds, fails and is unknown (:func:`cpspec.verification.synthesis.synthesize`),
checked against the regions the file expects::

    [[synthesize]]
    agent = "sif"
    check = "no_incentive(button)"
    over = ["gamma", "b"]
    holds = "gamma <= 1/2"               # conditions over the parameters; a region left
    fails = "gamma > 1/2"                # out is expected empty ("unknown" likewise)
    timeout = 120                        # seconds for the whole synthesis (default 60)

An expected condition passes when it agrees with the derived one at every point of the
parameters' box (decided exactly by Z3, :func:`cpspec.core.partition.equivalent`), so it
may be written in any equivalent form. The box comes from the file's ``[domains]``
entries and the probabilities' ranges.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import sympy

from ..core.partition import equivalent, show_condition
from ..errors import SpecError, SpecFileError
from ..verification.synthesis import synthesize
from .base import Spec, brief, entry_tables, internal_error, read_ref
from .properties import read_check, read_timeout
from .safeexpr import parse

__all__ = ["SynthesisEntry", "SynthesisResult", "build_syntheses", "check_syntheses",
           "ANSWERS"]

#: The regions a ``[[synthesize]]`` entry may state.
ANSWERS = ("holds", "fails", "unknown")
_KEYS = {"agent", "check", "over", "timeout", *ANSWERS}


@dataclass(frozen=True)
class SynthesisEntry:
    """One ``[[synthesize]]`` of a spec file: the agent, the property, the parameters,
    the expected condition of each region (SymPy Booleans) and where it was written."""

    agent_name: str
    prop: Any
    over: tuple
    expected: dict
    where: str
    timeout: float


@dataclass(frozen=True)
class SynthesisResult:
    """A checked ``[[synthesize]]``: passed when every expected region is the derived
    one; ``wrong`` lists the regions that differ."""

    entry: SynthesisEntry
    synthesis: Any = None
    wrong: tuple = ()
    error: str | None = None
    internal: bool = False

    @property
    def passed(self) -> bool:
        return self.error is None and not self.wrong

    def __str__(self) -> str:
        e = self.entry
        what = f"synthesize {e.prop} of {e.agent_name} over {', '.join(map(str, e.over))}"
        if self.error:
            return f"{'INTERNAL ERROR' if self.internal else 'ERROR'} {what}: {self.error}"
        lines = [f"{'PASS ' if self.passed else 'FAIL '} {what}"]
        for answer in ANSWERS:
            cond = getattr(self.synthesis, answer)
            if cond is not sympy.false:
                lines.append(f"        {answer} " + ("everywhere" if cond is sympy.true else
                                                    f"where {show_condition(cond)}"))
        for answer, why in self.wrong:
            lines.append(f"        expected {answer} where "
                         f"{show_condition(e.expected[answer])}: {why}")
        return "\n".join(lines)


def build_syntheses(entries, agents: dict, params: dict, path, lines) -> tuple:
    """``[[synthesize]]`` tables -> :class:`SynthesisEntry` records (not yet run)."""
    out = []
    for ent, where in entry_tables(entries, path, lines, "synthesize", "syntheses", _KEYS,
                                   "agent, check and over", lambda e: e.get("check")):
        name = read_ref(ent.get("agent"), where, "agent", agents, "[agent.NAME]")
        text = ent.get("check")
        if not isinstance(text, str):
            raise SpecFileError(f'{where}: check = "no_incentive(button)" (a property, in '
                                "quotes) is missing")
        over = ent.get("over")
        if not isinstance(over, list) or not over or not all(isinstance(x, str) for x in over):
            raise SpecFileError(f'{where}: over = ["gamma", "b"] (the parameters, a list of '
                                f"names) is missing or not a list of names: {brief(over)}")
        bad = [x for x in over if not isinstance(params.get(x), sympy.Symbol)]
        if bad:
            raise SpecFileError(f"{where}: {bad[0]!r} in over is not a free parameter "
                                f"(declared in params = [...] and not in [bind])")
        expected = {}
        for answer in ANSWERS:
            cond = ent.get(answer, "False")
            if not isinstance(cond, str):
                raise SpecFileError(f'{where}: {answer} is a condition in quotes, e.g. '
                                    f'{answer} = "gamma <= 1/2", not {brief(cond)}')
            e = parse(cond, where)
            if e.names - set(over):
                raise SpecFileError(f"{where}: {answer} = {brief(cond)} may only mention "
                                    f"the parameters in over ({', '.join(over)})")
            expected[answer] = sympy.sympify(e.evaluate(dict(params), {}, relational_if=True))
        prop = read_check(text, agents[name].env, params, where)
        out.append(SynthesisEntry(name, prop, tuple(params[x] for x in over), expected,
                                  where, read_timeout(ent.get("timeout", 60), where)))
    return tuple(out)


def check_syntheses(spec: Spec) -> list:
    """Run every ``[[synthesize]]`` of ``spec`` and compare its regions with the
    expected ones, each entry on its own.

    >>> from cpspec.spec.loader import load
    >>> spec = load("s.toml", text='''
    ... params = ["r"]
    ... [domains]
    ... r = "r >= 0 and r <= 4"
    ... [mdp.m]
    ... states = ["home", "w"]
    ... actions = ["take", "wait"]
    ... start = "home"
    ... gamma = "1/2"
    ... transition.home = { take = { home = "1" }, wait = { w = "1" } }
    ... transition.w = { take = { home = "1" }, wait = { home = "1" } }
    ... reward = "1 if a == take else (r if s == w else 0)"
    ... [agent.sth]
    ... kind = "STH"
    ... env = "m"
    ... horizon = 2
    ... [[synthesize]]
    ... agent = "sth"
    ... check = "always(a == take, 2)"
    ... over = ["r"]
    ... holds = "r <= 3"
    ... fails = "r > 3"
    ... ''')
    >>> print(check_syntheses(spec)[0])
    PASS  synthesize always(a == 'take', 2) of sth over r
            holds where r <= 3
            fails where r > 3
    """
    results = []
    for ent in spec.syntheses:
        try:
            # a parameter bound since ([bind], --param) leaves over; the expected
            # conditions read its value
            fixed = {x: spec.params[str(x)] for x in ent.over
                     if not isinstance(spec.params.get(str(x)), sympy.Symbol)}
            over = [x for x in ent.over if x not in fixed]
            if not over:
                raise SpecError(f"every parameter in over ({', '.join(map(str, ent.over))}) "
                                "is bound; leave one free to synthesize over it")
            res = synthesize(spec.agents[ent.agent_name], ent.prop, over=over,
                             domain=spec.domain_for(over), timeout=ent.timeout)
            wrong = []
            for answer in ANSWERS:
                expected = sympy.sympify(ent.expected[answer]).subs(fixed)
                same = equivalent(res.parameters, res.box, expected, getattr(res, answer))
                if same is not True:
                    wrong.append((answer, "differs from the derived region" if same is False
                                  else "Z3 could not decide whether they agree"))
        except SpecError as exc:
            results.append(SynthesisResult(ent, None, (), str(exc)))
            continue
        except Exception as exc:  # one entry's failure never hides the others
            results.append(SynthesisResult(ent, None, (), internal_error(exc), True))
            continue
        if fixed:   # shown over the parameters it ran over, with the bound ones' values
            ent = dataclasses.replace(ent, over=tuple(over), expected={
                a: sympy.sympify(c).subs(fixed) for a, c in ent.expected.items()})
        results.append(SynthesisResult(ent, res, tuple(wrong)))
    return results
