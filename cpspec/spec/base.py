"""The records and readers every part of a spec file's loading shares.

:class:`Spec` (a loaded file) and :class:`Claim` (one line of ``[claims]``); the text of a
file indexed by key (:class:`SpecLines`, :func:`line_of`, :func:`locate`) so that every
error names its line; readers that turn TOML values into names, values and exact numbers
(:func:`normal_name`, :func:`read_values`, :func:`read_number`, :func:`read_probability`,
...); :func:`evaluate_text` and :func:`reject_unknown_keys`; and :func:`show`,
:func:`brief` and :func:`internal_error` for messages.

Nothing here knows the sections of a file: the node compiler (:mod:`.nodes`), the models
(:mod:`.models`), the queries (:mod:`.queries`) and the loader (:mod:`.loader`) build on
this module, never the other way round.
"""

from __future__ import annotations

import bisect
import math
import re
import unicodedata
from dataclasses import dataclass, field
from fractions import Fraction
from types import MappingProxyType
from typing import Any, Mapping

import sympy

from ..core.diagram import Diagram
from ..core.expressions import Expr
from ..core.functions import as_sympy
from ..decisions.solving import solve
from ..errors import DuplicateNameError, SpecError, SpecFileError
from .safeexpr import MAX_DIGITS, parse

__all__ = ["decimal_integer", "Spec", "Claim", "SpecLines", "Probes", "line_of", "locate",
           "normal_name", "normal_names", "entry_tables", "read_ref", "read_values", "key_value", "read_number",
           "read_probability", "read_real_value", "evaluate_text", "reject_unknown_keys", "brief",
           "show", "internal_error", "phrase_for", "ADVICE", "CLI_ADVICE"]


# ---- records ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Claim:
    """One ``"query" = "expected"`` line of a ``[claims]`` table."""

    query: str
    expected: Any
    where: str


@dataclass(frozen=True)
class Spec:
    """A loaded spec file: its parameters, worlds and claims.

    ``validity`` maps a parameter to the set of its values for which every probability of
    the file lies in [0, 1], where that is not every real number and no ``[domains]``
    entry states it. ``names`` maps every name a query may use (``X_w`` for node ``X`` of
    world ``w``, parameters, worlds, ``pi*`` records, state and action words, agents) to
    its value; the loader computes it once, read-only.
    """

    path: str
    params: dict[str, sympy.Symbol]
    worlds: dict[str, Diagram]
    claims: tuple[Claim, ...]
    lines: tuple[str, ...] = field(repr=False, default=())
    mdps: dict = field(default_factory=dict)   # name -> (MDP, horizon)
    agents: dict = field(default_factory=dict)  # name -> cp.agents.Agent
    properties: tuple = ()                      # cpspec.spec.properties.PropertyEntry
    theorem: str | None = None
    observations: tuple = ()                    # (world, file path, where)
    domains: dict = field(default_factory=dict)  # parameter symbol -> sympy.Set
    validity: dict = field(default_factory=dict)  # parameter symbol -> sympy.Set
    names: Mapping = field(default_factory=lambda: MappingProxyType({}), repr=False,
                           compare=False)
    classes: dict = field(default_factory=dict)  # name -> cp.WorldClass
    syntheses: tuple = ()                        # cpspec.spec.synthesis.SynthesisEntry

    def solution(self, key: tuple):
        """Solve an MDP (``("mdp", name)``) or an influence diagram (``("world", name)``).

        Each call solves afresh; :class:`cpspec.spec.queries.Solutions` keeps the
        solutions of one check or query.
        """
        kind, name = key
        if kind == "mdp":
            mdp, horizon = self.mdps[name]
            return solve(mdp, horizon, domain=self.domain_for(mdp.free_symbols()))
        d = self.worlds[name]
        syms = d.free_symbols() | {x for n in d.order for x in sympy.sympify(
            d.node(n).function.weight).free_symbols}
        return solve(d, domain=self.domain_for(syms))

    def domain_for(self, syms) -> dict | None:
        """The declared ``[domains]`` entries of the parameters ``syms``, if any."""
        given = {x: self.domains[x] for x in syms if x in self.domains}
        return given or None


# ---- the text of a spec file: lines, located fast -----------------------------------


class SpecLines(tuple):
    """The lines of a spec file, indexed so that finding the line of a key costs one
    lookup, not a scan of the file per lookup (a file of 6,000 claims would otherwise
    take quadratic time). ``memo`` is its own cache of answered lookups; nothing else
    about it changes after it is made."""

    def __new__(cls, text: str):
        self = super().__new__(cls, text.splitlines())
        self.text = "\n".join(self)
        self.starts = []
        pos = 0
        for line in self:
            self.starts.append(pos)
            pos += len(line) + 1
        self.index: dict[str, int] = {}
        for i, line in enumerate(self, 1):
            for key in _keys_of(line):
                self.index.setdefault(key, i)
        self.memo: dict[tuple, int | None] = {}
        return self


def _keys_of(line: str) -> list[str]:
    """The table name or key a line of TOML starts with (unquoted), if any."""
    s = line.strip()
    if s.startswith("["):
        inner = s.strip("[]").strip()
        return [inner, "[" + inner, "[" + inner + "]"]
    if s.startswith('"'):
        j = s.find('"', 1)
        while j > 0 and s[j - 1] == "\\":
            j = s.find('"', j + 1)
        return [s[1:j]] if j > 0 else []
    if "=" in s:
        return [s.split("=", 1)[0].strip()]
    return []


def line_of(lines, *needles: str) -> int | None:
    """The number of the first line containing every needle, or None (one lookup in a
    :class:`SpecLines`, a scan of any other sequence of lines)."""
    needles = tuple(str(nd) for nd in needles)
    if not isinstance(lines, SpecLines):
        for i, line in enumerate(lines, 1):
            if all(nd in line for nd in needles):
                return i
        return None
    if needles in lines.memo:
        return lines.memo[needles]
    hit = lines.index.get(needles[0])
    if hit is None or not all(nd in lines[hit - 1] for nd in needles):
        hit = None
        pos = 0
        while needles and "\n" not in needles[0]:
            j = lines.text.find(needles[0], pos)
            if j < 0:
                break
            i = bisect.bisect_right(lines.starts, j)
            if all(nd in lines[i - 1] for nd in needles):
                hit = i
                break
            pos = lines.starts[i] if i < len(lines.starts) else len(lines.text)
    lines.memo[needles] = hit
    return hit


def locate(path: str, lines, *needles: str, label: str = "") -> str:
    """Where a key is written: ``"PATH, line N (label)"`` for the first line holding every
    needle, or the path alone when no line does.

    >>> locate("t.toml", SpecLines("[world.f]\\nx = 1"), "x", label="world f")
    't.toml, line 2 (world f)'
    """
    line = line_of(lines, *needles)
    loc = f"{path}, line {line}" if line else path
    return f"{loc} ({label})" if label else loc


def entry_tables(entries, path: str, lines, kind: str, plural: str, keys, shape: str,
                 anchor) -> list:
    """The ``[[kind]]`` tables of a spec file as ``(entry, where)`` pairs, checked to be
    tables with only ``keys``; ``where`` names the line of ``anchor(entry)`` (a text on
    that line, or None) and falls back to the entry's number.

    >>> entry_tables([{"check": "myopic(1)"}], "t.toml", SpecLines('check = "myopic(1)"'),
    ...              "property", "properties", {"check"}, "check", lambda e: e["check"])
    [({'check': 'myopic(1)'}, 't.toml, line 1 ([[property]] #1)')]
    """
    if not isinstance(entries, list):
        raise SpecFileError(f"{locate(path, lines, kind)}: write {plural} as [[{kind}]] "
                            "tables")
    out = []
    for k, ent in enumerate(entries):
        label = f"[[{kind}]] #{k + 1}"
        where = f"{path}, {label}"
        if not isinstance(ent, dict):
            raise SpecFileError(f"{where}: must be a table with {shape}")
        needle = anchor(ent)
        if isinstance(needle, str):
            where = locate(path, lines, needle, label=label)
        extra = set(ent) - set(keys)
        if extra:
            raise SpecFileError(f"{where}: unknown key {sorted(extra)[0]!r}; expected "
                                f"{', '.join(sorted(keys))}")
        out.append((ent, where))
    return out


# ---- symbolic probabilities met while a file loads ---------------------------------------

class Probes:
    """The symbolic probabilities met while one spec file loads (expression -> (where,
    what)), for the range check at the end of the file. The loader owns one per file and
    closes it when the file is built; distributions evaluated later record nothing.

    >>> import sympy
    >>> probes = Probes()
    >>> p = sympy.Symbol("p", real=True)
    >>> _ = read_probability(p / 2, "t.toml, line 3", "p", probes)
    >>> probes.close()
    {p/2: ('t.toml, line 3', 'p')}
    >>> _ = read_probability(p / 3, "t.toml, line 4", "p", probes)
    >>> p / 3 in probes
    False
    """

    __slots__ = ("_found", "_open")

    def __init__(self):
        self._found: dict = {}
        self._open = True

    def __contains__(self, x) -> bool:
        return x in self._found

    def add(self, x, where: str, what: str) -> None:
        """Record a probability (the first place it is met), while the file loads."""
        if self._open:
            self._found.setdefault(x, (where, what))

    def close(self) -> dict:
        """Stop recording; the probabilities met, expression -> (where, what)."""
        self._open = False
        return dict(self._found)


# ---- names and values ---------------------------------------------------------------


def normal_name(name: str) -> str:
    """``name`` as Python reads an identifier: NFKC-normalised.

    >>> normal_name("Ｇ"), normal_name("ﬁle")
    ('G', 'file')
    """
    return unicodedata.normalize("NFKC", name)


def normal_names(table: dict, what: str, path, lines) -> dict:
    """``table`` with NFKC-normalised keys; two keys that normalise alike are a duplicate."""
    out: dict = {}
    raw: dict = {}
    for k, v in table.items():
        n = normal_name(k)
        if n in out:
            raise DuplicateNameError(
                f"{locate(path, lines, k)}: {k!r} and {raw[n]!r} both name the {what} {n!r} "
                "(names are NFKC-normalised, as Python normalises identifiers), so it is "
                "defined twice; rename one")
        out[n] = v
        raw[n] = k
    return out


def read_ref(x: Any, where: str, what: str, known=None, kind: str = "") -> str:
    """A reference by name (``from``, ``env``, ``agent``, ``world``): a string, normalised,
    and (when ``known`` is given) one of the known names."""
    if not isinstance(x, str):
        example = f' = "{next(iter(known))}"' if known else ' = "name"'
        raise SpecFileError(f"{where}: {what} must be a name in quotes ({what}{example}), "
                            f"not {x!r}")
    n = normal_name(x.strip())
    if known is not None and n not in known:
        raise SpecFileError(f"{where}: {what} = {x!r} names no {kind}; "
                            f"{kind}s: {', '.join(known) or 'none'}")
    return n


def read_values(v: Any, where: str, what: str = "values") -> tuple:
    """A list of values (integers, strings, true/false, or lists of them) as a tuple."""
    if not isinstance(v, list):
        raise SpecFileError(f"{where}: {what} must be a list such as [1, 2, 3] or "
                            f'["a", "b"], not {v!r}')
    out = []
    for x in v:
        if isinstance(x, list):
            if not all(isinstance(y, (int, str, bool)) for y in x):
                raise SpecFileError(f"{where}: {what}: {x!r} may only hold integers, strings "
                                    "and true/false")
            out.append(tuple(x))
        elif isinstance(x, (int, str, bool)):
            out.append(x)
        elif isinstance(x, float):
            raise SpecFileError(f"{where}: {what}: {x!r} is a float; use integers or "
                                "strings")
        else:
            raise SpecFileError(f"{where}: {what}: {x!r} must be an integer, a string or a "
                                "list")
    seen: dict = {}
    for x in out:
        if x in seen:
            raise SpecFileError(f"{where}: {what} lists {seen[x]!r} and {x!r}, which are the "
                                "same value; list each once")
        seen[x] = x
    return tuple(out)


def decimal_integer(text: str, where: str) -> int | None:
    """``text`` as an integer when it is ASCII decimal digits (not superscripts such as
    ``²``, which ``str.isdigit`` accepts), within :data:`MAX_DIGITS` digits; None when it
    is something else.

    >>> decimal_integer(" -12 ", "here"), decimal_integer("1²", "here")
    (-12, None)
    """
    s = text.strip()
    if not re.fullmatch(r"-?[0-9]+", s):
        return None
    if len(s.lstrip("-")) > MAX_DIGITS:
        raise SpecFileError(f"{where}: a number of {len(s):,} digits ({s[:12]}...), above "
                            f"the limit of {MAX_DIGITS:,} digits")
    return int(s)


def key_value(k: str, where: str = "") -> Any:
    """A table key read as a value: decimal digits (ASCII) are an integer, true/false a
    truth value, anything else the string itself."""
    n = decimal_integer(k, where)
    if n is not None:
        return n
    return {"true": True, "false": False}.get(k.strip(), k)


def read_number(x: Any, where: str, what: str) -> Any:
    """An exact real number or expression (a probability, reward, discount): a
    ``Fraction`` or a SymPy expression. Strings, truth values, floats and non-real numbers
    are errors, never read as numbers."""
    if isinstance(x, bool):
        raise SpecFileError(f"{where}: {what} is the truth value {x}, not a number; write "
                            "(1 if CONDITION else 0)")
    if isinstance(x, int):
        return Fraction(x)
    if isinstance(x, Fraction):
        return x
    if isinstance(x, str):
        raise SpecFileError(f"{where}: {what} is the string {brief(x)}, not a number; write "
                            "numbers without quotes (1/2, not '1/2')")
    if isinstance(x, Expr):
        raise SpecFileError(f"{where}: {what} depends on the random variable(s) in {x}; "
                            "it must be a number or an expression in the parameters")
    if isinstance(x, sympy.Expr):
        if x.has(sympy.Float):
            raise SpecFileError(f"{where}: {what} {x} contains a float; use fractions")
        if x.is_number and x.is_extended_real is False or x.has(sympy.I):
            raise SpecFileError(f"{where}: {what} is {x}, which is not a real number")
        if isinstance(x, sympy.Rational):
            return Fraction(int(x.p), int(x.q))
        if x.has(sympy.zoo, sympy.oo, sympy.nan, -sympy.oo):
            raise SpecFileError(f"{where}: {what} is {x}, not a finite number")
        return x
    raise SpecFileError(f"{where}: {what} {brief(x)} is not a number")


def read_probability(x: Any, where: str, what: str, probes: Probes | None = None) -> Any:
    """A probability of a spec file: an exact real number in [0, 1], or an expression in
    the (real) parameters that is not outside [0, 1] for every value; the symbolic ones are
    collected in ``probes`` (:class:`Probes`) for the range check at the end of the file."""
    if probes is not None and isinstance(x, sympy.Expr) and x in probes:
        return x
    x = read_number(x, where, what)
    if isinstance(x, Fraction):
        if not 0 <= x <= 1:
            raise SpecFileError(f"{where}: {what} is {x}, outside [0, 1]; a probability lies "
                                "between 0 and 1")
        return x
    if not x.free_symbols:
        if (x < 0) == sympy.true or (x > 1) == sympy.true:
            raise SpecFileError(f"{where}: {what} is {x}, outside [0, 1]; a probability lies "
                                "between 0 and 1")
        return x
    names = ", ".join(sorted(map(str, x.free_symbols)))
    if x.is_extended_negative:
        raise SpecFileError(f"{where}: {what} = {x} is negative for every real value of "
                            f"{names}; a probability lies in [0, 1]")
    if (x - 1).is_extended_positive:
        raise SpecFileError(f"{where}: {what} = {x} is above 1 for every real value of "
                            f"{names}; a probability lies in [0, 1]")
    if probes is not None:
        probes.add(x, where, what)
    return x


def read_real_value(v: Any, where: str, what: str) -> Any:
    """A node value computed by ``fn``: anything hashable, but not a float or a non-real
    number."""
    if isinstance(v, sympy.Basic) and (v.has(sympy.Float) or v.has(sympy.I) or (
            v.is_number and v.is_extended_real is False)):
        raise SpecFileError(f"{where}: {what} is {v}, which is not an exact real number")
    return v


def evaluate_text(text: str, where: str, env: dict, funcs: dict, keywords=(),
                  hint: str = "") -> Any:
    """Parse ``text`` safely, check its names against ``env``, and evaluate it; any
    cpspec error is reported at ``where``."""
    e = parse(text, where, functions=frozenset(funcs), keywords=frozenset(keywords))
    bad = sorted(n for n in e.names if n not in env)
    if bad:
        raise SpecFileError(f"{where}: unknown name {bad[0]!r} in {brief(text)}; {hint}")
    try:
        return e.evaluate(env, funcs)
    except SpecFileError:
        raise
    except SpecError as exc:
        raise SpecFileError(f"{where}: {exc}") from None


def reject_unknown_keys(table: dict, allowed: set, path, lines, label: str) -> None:
    """A clear error (file, line) for a key the table does not accept."""
    extra = set(table) - allowed
    if extra:
        k = sorted(extra)[0]
        raise SpecFileError(f"{locate(path, lines, k, label=label)}: unknown key {k!r}; "
                            f"expected one of {', '.join(sorted(allowed))}")


# ---- messages ------------------------------------------------------------------------

def brief(x: Any, limit: int = 60) -> str:
    """``repr(x)`` cut to ``limit`` characters, with the full length, for messages that quote
    a bad value."""
    r = repr(x)
    return r if len(r) <= limit else r[:limit] + f"... ({len(r):,} characters)"


def show(x: Any) -> str:
    """``str(x)``, except that numbers too long for Python to print (over 4,300 digits)
    are shown by their size and leading digits.

    >>> show(10**5000 + 1)
    '[a 5,001-digit integer, about 1.000e+5000]'
    """
    if isinstance(x, list) and x and all(hasattr(r, "condition") for r in x):
        return "; ".join(str(r) for r in x)     # parameter regions
    try:
        return str(x)
    except ValueError:
        pass
    if isinstance(x, (int, Fraction)) and not isinstance(x, bool):
        x = as_sympy(x)
    if isinstance(x, sympy.Basic):
        big = {r: sympy.Symbol(_size_of(r)) for r in x.atoms(sympy.Rational)
               if max(abs(int(r.p)), int(r.q)).bit_length() > 3 * MAX_DIGITS}
        try:
            return str(x.xreplace(big))
        except ValueError:
            pass
    return f"[a {type(x).__name__} too large to print]"


def _size_of(r) -> str:
    p, q = abs(int(r.p)), int(r.q)
    lg = math.log10(p) - math.log10(q) if p else 0.0
    exp = math.floor(lg)
    sign = "-" if r < 0 else ""
    if q == 1:
        return f"[a {exp + 1:,}-digit integer, about {sign}{10 ** (lg - exp):.3f}e+{exp}]"
    return f"[a fraction of about {sign}{10 ** (lg - exp):.3f}e{exp:+d}]"


def internal_error(exc: BaseException) -> str:
    """The message for an exception that is not a cpspec error: a bug inside cpspec (or
    SymPy, NumPy, Z3) met on this input, reported for the one claim it concerns."""
    try:
        text = str(exc)
    except ValueError:  # e.g. a number too long to print
        text = ""
    text = text if len(text) <= 300 else text[:300] + " ..."
    return (f"{type(exc).__name__}: {text} (an error inside cpspec, not in the spec file; "
            "please report it with the spec file)")


#: Advice the library writes for Python callers (``env.bind(...)``, ``domain={...}``),
#: and how a spec file and the command line say it: ``(pattern, spec, cli)`` triples
#: applied in order by :func:`phrase_for`; ``spec`` None leaves a spec file's message as
#: it is, ``cli`` None says it as the spec file does.
ADVICE = (
    (re.compile(r"build the agent over env\.bind\(name=value\)"),
     None, "give --param NAME=VALUE"),
    (re.compile(r"pass params=\{\.\.\.\} or use diagram\.bind\(name=value\)"),
     None, "give --param NAME=VALUE"),
    (re.compile(r"domain=\{(\w+): sympy\.Interval\(([^,()]+), ([^,()]+)\)(?:, \.\.\.)?\}"),
     r'a [domains] entry \1 = "\1 >= \2 and \1 <= \3"', None),
    (re.compile(r"domain=\{[^{}]*\}"), "[domains] entries", None),
    (re.compile(r"\(?\b(?:mdp|env|diagram)?\.?bind\((?:\.\.\.|name=value)\)\)?"),
     '(a [bind] entry NAME = "VALUE")', "(--param NAME=VALUE, or a [bind] entry)"),
    (re.compile(r"\b(?:diagram|env|mdp)\.bind\((\w+)=\.\.\.\)"), None, r"--param \1=VALUE"),
    (re.compile(r"\b(?:diagram|env|mdp)\.bind\((?:name=value|\.\.\.)\)"),
     None, "--param NAME=VALUE"),
    (re.compile(r"bind the (?:model's )?parameters"), None,
     "bind the parameters (--param NAME=VALUE)"),
    (re.compile(r"pass stop_pressed=\.\.\. and null_action=\.\.\."), None,
     'give the check obeys_stop_button(K, stop = "<condition>", null_action = '
     '"<action>"), or use an agent with stop and null_action'),
    (re.compile(r"cp\.draw\(\.\.\., summary=True\); cpspec draw --summary"), None,
     "--summary"),
    (re.compile(r"use cp\.synthesize to derive"), None, "use cp.synthesize (Python) to derive"),
    (re.compile(r" or give symbols assumptions \(positive=True\)"), None, ""),
    (re.compile(r"where\(\.\.\., enclosure=1/64\)"),
     "cpspec derive FILE QUERY --regions --enclosure 1/64", "--enclosure 1/64"),
    # a factored state as spec files and the command line write it
    (re.compile(r"(?<![.\w])State\((?=\w+=)"), "S(", None),   # not cp.State(...) in code
)

#: The command line's ``(pattern, replacement)`` pairs of :data:`ADVICE`, in order.
CLI_ADVICE = tuple((pattern, spec if cli is None else cli) for pattern, spec, cli in ADVICE)


def phrase_for(message: str, interface: str = "cli") -> str:
    """``message`` with the advice phrased for ``interface``: ``"cli"`` (the ``cpspec``
    command: ``--param`` for ``diagram.bind(...)``, the spec file's ``stop =`` for
    ``stop_pressed=``), ``"spec"`` (a spec file: ``[bind]``, ``[domains]``) or
    ``"python"`` (unchanged).

    Examples
    --------
    >>> phrase_for("simulation needs numbers: build the agent over env.bind(name=value)")
    'simulation needs numbers: give --param NAME=VALUE'
    >>> phrase_for("bind them (diagram.bind(p=...))")
    'bind them (--param p=VALUE)'
    >>> phrase_for("bind the others (mdp.bind(...))", "spec")
    'bind the others (a [bind] entry NAME = "VALUE")'
    >>> phrase_for("give it, e.g. domain={r: sympy.Interval(0, 10)}", "cli")
    'give it, e.g. a [domains] entry r = "r >= 0 and r <= 10"'
    >>> phrase_for("states are State(mood='fine'), State(mood='slump')", "spec")
    "states are S(mood='fine'), S(mood='slump')"
    >>> phrase_for("write cp.State(mood='fine')", "spec")
    "write cp.State(mood='fine')"
    """
    if interface == "python" or not message:
        return message
    if interface == "cli":
        for pattern, replacement in CLI_ADVICE:
            message = pattern.sub(replacement, message)
        return message
    if interface != "spec":
        raise SpecError(f"phrase_for: interface {interface!r} is 'cli', 'spec' or 'python'")
    for pattern, spec, _ in ADVICE:
        if spec is not None:
            message = pattern.sub(spec, message)
    return message
