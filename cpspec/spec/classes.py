"""``[class.NAME]``: a class of worlds in a spec file, for properties proved over every
member (``over = "NAME"`` in a ``[[property]]``)::

    [class.button_worlds]
    template = "button"               # an [mdp.NAME] (factored): variables, values,
                                      # actions, start, and the dynamics not made free
    free.pos = ["pos", "a"]           # pos's dynamics: any table over pos and the action
    reward = ["pos", "a"]             # the reward: any function of these (X_next: after
                                      # the step); omit to keep the template's reward
    gamma = "0 <= gamma < 1"          # any discount in this range (or one number);
                                      # omit to keep the template's

The class is :class:`cpspec.verification.classes.WorldClass`.
"""

from __future__ import annotations

from fractions import Fraction

import sympy

from ..errors import SpecError, SpecFileError
from ..verification.classes import WorldClass
from .base import brief, locate, read_ref, reject_unknown_keys
from .safeexpr import parse

__all__ = ["build_classes"]

_KEYS = {"template", "free", "reward", "gamma"}


def _name(word: str, variables, where: str, what: str, after: bool = False) -> str:
    """A spec-file name (``a``, a variable, ``X_next``) as the class names it."""
    if word == "a":
        return "A"
    if after and word.endswith("_next") and word[:-5] in variables:
        return word[:-5] + "'"
    if word in variables:
        return word
    allowed = "a, the variables" + (" or VARIABLE_next" if after else "")
    raise SpecFileError(f"{where}: {what} names {word!r}; use {allowed} "
                        f"({', '.join(variables)})")


def _words(raw, variables, where, what, after=False) -> list:
    if not isinstance(raw, list) or not all(isinstance(w, str) for w in raw):
        raise SpecFileError(f'{where}: {what} must be a list of names, e.g. ["pos", "a"], '
                            f"not {brief(raw)}")
    return [_name(w, variables, where, what, after) for w in raw]


def _gamma(text, where):
    if not isinstance(text, str):
        raise SpecFileError(f'{where}: gamma is a condition or a number in quotes, e.g. '
                            f'gamma = "0 <= gamma < 1", not {brief(text)}')
    e = parse(text, where)
    if e.names - {"gamma"}:
        raise SpecFileError(f"{where}: gamma = {text!r} may only mention gamma")
    g = sympy.Symbol("gamma", real=True)
    value = e.evaluate({"gamma": g}, {}, relational_if=True)
    if isinstance(value, (Fraction, int)) and not isinstance(value, bool):
        value = sympy.Rational(value.numerator, value.denominator)
    if isinstance(value, sympy.Basic) and value.is_number:
        return sympy.FiniteSet(value)
    try:
        return value.as_set()
    except (NotImplementedError, ValueError, TypeError, AttributeError):
        raise SpecFileError(f"{where}: cannot read gamma = {text!r} as a range; write e.g. "
                            '"0 <= gamma < 1" or "9/10"') from None


def build_classes(tables: dict, mdps: dict, path, lines) -> dict:
    """``[class.NAME]`` tables -> :class:`WorldClass` objects."""
    out = {}
    for name, raw in tables.items():
        where = locate(path, lines, name, label=f"[class.{name}]")
        if not isinstance(raw, dict):
            raise SpecFileError(f"{where}: [class.{name}] must be a table with template = "
                                '"<mdp name>"')
        reject_unknown_keys(raw, _KEYS, path, lines, f"[class.{name}]")
        tname = read_ref(raw.get("template"), where, "template", mdps, "[mdp.NAME]")
        template = mdps[tname][0]
        if template.variables is None:
            raise SpecFileError(f"{where}: the template [mdp.{tname}] must be factored "
                                "(variables.X = [...], dynamics.X = ...)")
        variables = template.variables
        free = raw.get("free", {})
        if not isinstance(free, dict):
            raise SpecFileError(f'{where}: write free.VARIABLE = ["parent", "a"] for each '
                                "variable whose dynamics may be any table")
        free = {_name(k, variables, where, "free"): _words(v, variables, where, f"free.{k}")
                for k, v in free.items()}
        reads = raw.get("reward")
        if reads is not None:
            reads = _words(reads, variables, where, "reward", after=True)
        gamma = _gamma(raw["gamma"], where) if "gamma" in raw else None
        try:
            out[name] = WorldClass(template, free, reads, gamma, name)
        except SpecError as exc:
            raise SpecFileError(f"{where}: {exc}") from None
    return out
