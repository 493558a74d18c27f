"""TOML spec files: worlds, counterfactual worlds, and claims about them.

A spec file is data. Its expressions go through :mod:`cpspec.spec.safeexpr`, never through
``eval`` or ``sympify``. Layout::

    params = ["p"]                      # optional symbolic parameters (real numbers)

    [world.f.node.G]                    # a node: one of
    values = [1, 2, 3, 4, 5, 6]         #   dist = "uniform" with values
    dist = "uniform"                    #   dist = "bernoulli" with p = "<expr>"
    [world.f.node.S]                    #   probs = {"1" = "<expr>", ...} (exprs may read
    fn = "G + R"                        #     parents and params)
                                        #   prob = "<expr in the node and its parents>"
    [world.c]                           #     with values
    from = "f"                          #   fn = "<expr of parents>"   (deterministic)
    replace.R = "6"                     #   kind = "decision" with values and parents
                                        #   kind = "utility" with fn
    [claims]                            # optional on any node: parents, values, label
    "P(S_f == 12)" = "1/36"
    "E(S_c) - E(S_f)" = "5/2"

In queries the variable ``X_w`` is node ``X`` of world ``w``; ``P(event, given=event)``
and ``E(expr, given=event)`` are exact. A claim passes when the derived value equals the
expected one exactly (``sympy.simplify`` of the difference is 0).

Names (worlds, nodes, parameters, MDPs, agents, state variables) are normalised with
NFKC, as Python normalises identifiers, so the name a TOML key gives and the name an
expression reads are the same; two keys that normalise alike (``G`` and the fullwidth
``Ｇ``) are reported as one name defined twice. Parameters are real. A probability is an
exact real number or expression: one that can never lie in [0, 1] is an error, and where
one lies in [0, 1] only for some values of a parameter, the spec's ``validity`` says for
which (``cpspec check`` prints it; a ``[domains]`` entry outside it is an error).

Files: ``uses`` files and ``[[observations]]`` files are resolved relative to the file
that names them and must lie inside the spec's tree: the enclosing project (the nearest
folder above the spec with ``.git`` or ``pyproject.toml``), or else the spec's own folder
(``load(..., allow_outside=True)``, ``cpspec --allow-outside``, lifts this). Only regular
files of at most :data:`MAX_FILE_BYTES` bytes, in UTF-8, are read; each ``uses`` file is
read once however often it is reached, and a cycle is an error.
"""

from __future__ import annotations

import bisect
import keyword
import math
import os
import re
import stat as _stat
import tomllib
import types
import unicodedata
from dataclasses import dataclass, field, replace as _dc_replace
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable

import sympy

from ..core.diagram import Diagram, world as _world
from ..errors import DuplicateNameError, SpecError, SpecFileError
from ..inference.exact import E, P
from ..core.functions import (StructuralFunction, decision, dist, fn, uniform, utility,
                        as_sympy)
from ..core.regions import Choice
from .safeexpr import MAX_DIGITS, parse

__all__ = ["Spec", "Claim", "ClaimResult", "ObservationResult", "load", "derive", "check",
           "show", "read_text_file", "MAX_FILE_BYTES"]

#: Largest spec, ``uses`` or observation file read, in bytes.
MAX_FILE_BYTES = 16 * 2**20

_NODE_KEYS = {"values", "dist", "p", "probs", "prob", "fn", "parents", "kind", "label"}
_SECTIONS = ("params", "world", "mdp", "agent", "claims", "property", "uses", "theorem",
             "observations", "domains")
_OBSERVATION_SUFFIXES = (".csv", ".jsonl", ".json", ".ndjson")


@dataclass(frozen=True, slots=True)
class Claim:
    """One ``"query" = "expected"`` line of a ``[claims]`` table."""

    query: str
    expected: Any
    where: str


@dataclass(frozen=True, slots=True)
class ClaimResult:
    """The outcome of checking one claim. ``internal`` marks an error inside cpspec (a
    bug to report) rather than in the spec file."""

    claim: Claim
    passed: bool
    derived: Any = None
    expected: Any = None
    error: str | None = None
    internal: bool = False

    def __str__(self) -> str:
        if self.error:
            head = "INTERNAL ERROR" if self.internal else "ERROR"
            return f"{head} {self.claim.query}: {self.error}"
        mark = "PASS " if self.passed else "FAIL "
        tail = "" if self.passed else f", expected {show(self.expected)}"
        return f"{mark} {self.claim.query} = {show(self.derived)}{tail}"


@dataclass(frozen=True)
class Spec:
    """A loaded spec file: its parameters, worlds and claims.

    ``validity`` maps a parameter to the set of its values for which every probability of
    the file lies in [0, 1], where that is not every real number and no ``[domains]``
    entry states it.
    """

    path: str
    params: dict[str, sympy.Symbol]
    worlds: dict[str, Diagram]
    claims: tuple[Claim, ...]
    lines: tuple[str, ...] = field(repr=False, default=())
    mdps: dict = field(default_factory=dict)   # name -> (MDP, horizon)
    agents: dict = field(default_factory=dict)  # name -> cp.agents.Agent
    properties: tuple = ()                      # specmodels.PropertyEntry
    theorem: str | None = None
    observations: tuple = ()                    # (world, file path, where)
    domains: dict = field(default_factory=dict)  # parameter symbol -> sympy.Set
    validity: dict = field(default_factory=dict)  # parameter symbol -> sympy.Set
    _solved: dict = field(default_factory=dict, repr=False, compare=False)
    _names: dict = field(default_factory=dict, repr=False, compare=False)

    def solution(self, key: tuple):
        """Solve an MDP (by name) or an influence diagram (by world name), once."""
        if key not in self._solved:
            from ..decisions.solving import solve
            kind, name = key
            if kind == "mdp":
                mdp, horizon = self.mdps[name]
                dom = self._domain_for(mdp.free_symbols())
                self._solved[key] = solve(mdp, horizon, domain=dom)
            else:
                d = self.worlds[name]
                syms = d.free_symbols() | {x for n in d.order for x in sympy.sympify(
                    d.node(n).function.weight).free_symbols}
                self._solved[key] = solve(d, domain=self._domain_for(syms))
        return self._solved[key]

    def _domain_for(self, syms) -> dict | None:
        """The declared ``[domains]`` entry of the one parameter that has one, if any."""
        given = [x for x in syms if x in self.domains]
        if len(given) > 1:
            raise SpecFileError(f"{self.path}: [domains] gives ranges for "
                                f"{sorted(map(str, given))}; cpspec derives regions over one "
                                "parameter at a time")
        return {given[0]: self.domains[given[0]]} if given else None

    def namespace(self) -> types.MappingProxyType:
        """Names usable in queries: ``X_w`` for every node, and the parameters (computed
        once; read-only)."""
        if "env" in self._names:
            return self._names["env"]
        env: dict[str, Any] = dict(self.params)
        owner: dict[str, str] = {}
        for w, d in self.worlds.items():
            for n in d.order:
                key = f"{n}_{w}"
                if key in owner and owner[key] != f"{n} of {w}":
                    raise SpecFileError(f"{self.path}: {key} names both {owner[key]} and "
                                        f"{n} of {w}; rename a node or a world")
                if key in self.params:
                    raise SpecFileError(f"{self.path}: {key} is both a parameter and node "
                                        f"{n} of world {w}; rename one")
                owner[key] = f"{n} of {w}"
                env[key] = d[n]
        for w, d in self.worlds.items():
            if w not in env:
                env[w] = d
        from .models import model_names
        for k, v in model_names(self).items():
            if k in env and k in self.agents:
                raise SpecFileError(f"{self.path}: agent name {k!r} clashes with another "
                                    "name; rename the agent")
            env.setdefault(k, v)
        self._names["env"] = types.MappingProxyType(env)
        return self._names["env"]


# ---- the text of a spec file: lines, located fast -----------------------------------

class _Lines(tuple):
    """The lines of a spec file, indexed so that finding the line of a key costs one
    lookup, not a scan of the file per lookup (a file of 6,000 claims would otherwise
    take quadratic time). Also collects the file's symbolic probabilities while it loads
    (``probes``: expression -> (where, what)), for the range check at the end."""

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
        self.probes: dict = {}
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


def _line_of(lines, *needles: str) -> int | None:
    """The first line containing every needle, or None."""
    needles = tuple(str(nd) for nd in needles)
    if not isinstance(lines, _Lines):
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


def _where(path: str, lines, *needles: str, label: str = "") -> str:
    line = _line_of(lines, *needles)
    loc = f"{path}, line {line}" if line else path
    return f"{loc} ({label})" if label else loc


# ---- reading files --------------------------------------------------------------------

def read_text_file(path: str | Path, what: str = "a spec file",
                   limit: int | None = None) -> str:
    """The UTF-8 text of a regular file of at most ``limit`` bytes (default
    :data:`MAX_FILE_BYTES`); devices, pipes and directories are refused before anything
    is read, and a file in another encoding is an error naming the line.

    >>> read_text_file("/dev/zero")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cpspec.errors.SpecFileError: /dev/zero: not a regular file (a device, ...
    """
    limit = MAX_FILE_BYTES if limit is None else limit
    try:
        st = os.stat(path)
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise SpecFileError(f"{path}: cannot read {what}: {reason}") from None
    if not _stat.S_ISREG(st.st_mode):
        raise SpecFileError(f"{path}: not a regular file (a device, a pipe or a directory); "
                            f"{what} must be an ordinary file")
    if st.st_size > limit:
        raise SpecFileError(f"{path}: {st.st_size:,} bytes, above the limit of {limit:,} for "
                            f"{what} (cpspec.spec.loader.MAX_FILE_BYTES)")
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise SpecFileError(f"{path}: cannot read {what}: {exc.strerror}") from None
    if len(data) > limit:
        raise SpecFileError(f"{path}: more than {limit:,} bytes, the limit for {what} "
                            "(cpspec.spec.loader.MAX_FILE_BYTES)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SpecFileError(f"{path}, line {line}: byte 0x{data[exc.start]:02x} is not "
                            f"UTF-8; {what} must be UTF-8 text (re-save it as UTF-8, e.g. "
                            "iconv -f latin1 -t utf-8)") from None
    return text[1:] if text.startswith("\ufeff") else text


def _parse_toml(path: str, text: str) -> tuple[dict, _Lines]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecFileError(f"{path}: malformed TOML: {exc}") from None
    except ValueError:  # an integer over Python's 4,300-digit limit
        m = re.search(r"[0-9_]{%d,}" % (MAX_DIGITS + 1), text)
        line = f", line {text.count(chr(10), 0, m.start()) + 1}" if m else ""
        raise SpecFileError(f"{path}{line}: a number of more than {MAX_DIGITS:,} digits; "
                            "numbers in spec files are shorter (write a power such as "
                            "\"10**5000\" in an expression)") from None
    except RecursionError:
        raise SpecFileError(f"{path}: malformed TOML: arrays or tables nest too deeply") \
            from None
    return data, _Lines(text)


def project_dir(folder: str | Path) -> Path:
    """The project a folder belongs to: the nearest folder at or above it holding
    ``.git`` or ``pyproject.toml``, or else the folder itself; never the file system's
    root or the home folder."""
    here = Path(folder).resolve()
    stops = {Path(here.anchor), Path.home().resolve()}
    for d in (here, *here.parents):
        if d in stops:
            break
        if (d / ".git").exists() or (d / "pyproject.toml").is_file():
            return d
    return here


def spec_root(spec_path: str | Path) -> Path:
    """The folder tree a spec file may read ``uses`` and observation files from: its
    project (:func:`project_dir` of its folder)."""
    return project_dir(Path(spec_path).resolve().parent)


def _inside(target: str, base: Path, fence, where: str, what: str) -> Path:
    """``target`` resolved against ``base``; it must lie in one of the folders of
    ``fence`` (any folder when ``fence`` is None)."""
    if not isinstance(target, str) or not target.strip() or "\x00" in target:
        raise SpecFileError(f"{where}: {what} must be a file name (a string), not "
                            f"{_brief(target)}")
    p = (base / target).resolve()
    if fence is not None and not any(p.is_relative_to(r) for r in fence):
        raise SpecFileError(f"{where}: {what} {target!r} lies outside "
                            f"{' and '.join(map(str, fence))}, the spec's tree; spec files "
                            "read only files inside it (cpspec --allow-outside, or load(..., "
                            "allow_outside=True), lifts this)")
    return p


# ---- names and values ---------------------------------------------------------------

def normal_name(name: str) -> str:
    """``name`` as Python reads an identifier: NFKC-normalised.

    >>> normal_name("Ｇ"), normal_name("ﬁle")
    ('G', 'file')
    """
    return unicodedata.normalize("NFKC", name)


def _names(table: dict, what: str, path, lines) -> dict:
    """``table`` with NFKC-normalised keys; two keys that normalise alike are a duplicate."""
    out: dict = {}
    raw: dict = {}
    for k, v in table.items():
        n = normal_name(k)
        if n in out:
            raise DuplicateNameError(
                f"{_where(path, lines, k)}: {k!r} and {raw[n]!r} both name the {what} {n!r} "
                "(names are NFKC-normalised, as Python normalises identifiers), so it is "
                "defined twice; rename one")
        out[n] = v
        raw[n] = k
    return out


def _ref(x: Any, where: str, what: str, known=None, kind: str = "") -> str:
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


def _values(v: Any, where: str, what: str = "values") -> tuple:
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


def _key_value(k: str, where: str = "") -> Any:
    """A table key read as a value: decimal digits (ASCII) are an integer, true/false a
    truth value, anything else the string itself."""
    s = k.strip()
    if re.fullmatch(r"-?[0-9]+", s):
        if len(s.lstrip("-")) > MAX_DIGITS:
            raise SpecFileError(f"{where}: the key {s[:20]}... has {len(s):,} digits, above "
                                f"the limit of {MAX_DIGITS:,} digits")
        return int(s)
    return {"true": True, "false": False}.get(s, k)


def _number(x: Any, where: str, what: str) -> Any:
    """An exact real number or expression (a probability, reward, discount): a
    ``Fraction`` or a SymPy expression. Strings, truth values, floats and non-real numbers
    are errors, never read as numbers."""
    from ..core.expressions import Expr
    if isinstance(x, bool):
        raise SpecFileError(f"{where}: {what} is the truth value {x}, not a number; write "
                            "(1 if CONDITION else 0)")
    if isinstance(x, int):
        return Fraction(x)
    if isinstance(x, Fraction):
        return x
    if isinstance(x, str):
        raise SpecFileError(f"{where}: {what} is the string {_brief(x)}, not a number; write "
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
    raise SpecFileError(f"{where}: {what} {_brief(x)} is not a number")


def _probability(x: Any, where: str, what: str, probes: dict | None = None) -> Any:
    """A probability of a spec file: an exact real number in [0, 1], or an expression in
    the (real) parameters that is not outside [0, 1] for every value; the symbolic ones are
    collected in ``probes`` for the range check at the end of the file."""
    if probes is not None and isinstance(x, sympy.Expr) and x in probes:
        return x
    x = _number(x, where, what)
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
        probes.setdefault(x, (where, what))
    return x


def _real_value(v: Any, where: str, what: str) -> Any:
    """A node value computed by ``fn``: anything hashable, but not a float or a non-real
    number."""
    if isinstance(v, sympy.Basic) and (v.has(sympy.Float) or v.has(sympy.I) or (
            v.is_number and v.is_extended_real is False)):
        raise SpecFileError(f"{where}: {what} is {v}, which is not an exact real number")
    return v


def _brief(x: Any, limit: int = 60) -> str:
    r = repr(x)
    return r if len(r) <= limit else r[:limit] + f"... ({len(r):,} characters)"


def show(x: Any) -> str:
    """``str(x)``, except that numbers too long for Python to print (over 4,300 digits)
    are shown by their size and leading digits.

    >>> show(10**5000 + 1)
    '[a 5,001-digit integer, about 1.000e+5000]'
    """
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


# ---- loading ------------------------------------------------------------------------

def load(path: str | Path, text: str | None = None, *, root=None,
         allow_outside: bool = False) -> Spec:
    """Read a spec file (TOML) into worlds and claims; nothing in it is executed.

    Parameters
    ----------
    path : str or Path
        The spec file (named in messages; read unless ``text`` is given).
    text : str, optional
        The file's contents, when they do not come from ``path``.
    root : str, Path or a list of them, optional
        The folder trees ``uses`` and observation files must lie in; default
        :func:`spec_root` of ``path``.
    allow_outside : bool
        Read ``uses`` and observation files wherever they are.

    Raises
    ------
    SpecFileError
        with the file and line for malformed TOML, unknown keys, values of the wrong
        type, bad expressions, files outside the spec's tree.

    Examples
    --------
    >>> spec = load("dice.toml", text='''
    ... [world.f.node.G]
    ... dist = "uniform"
    ... values = [1, 2, 3, 4, 5, 6]
    ... [world.f.node.R]
    ... dist = "uniform"
    ... values = [1, 2, 3, 4, 5, 6]
    ... [world.f.node.S]
    ... fn = "G + R"
    ... [claims]
    ... "P(S_f == 12)" = "1/36"
    ... ''')
    >>> [str(r) for r in check(spec)]
    ['PASS  P(S_f == 12) = 1/36']
    """
    shown = str(path)
    if text is None:
        text = read_text_file(shown, "a spec file")
    if not isinstance(text, str):
        raise SpecFileError(f"{shown}: the text of a spec file must be a string")
    top = str(Path(shown).resolve())
    if allow_outside:
        fence = None
    elif root is None:
        fence = (spec_root(shown),)
    else:
        fence = tuple(Path(r).resolve() for r in (
            root if isinstance(root, (list, tuple)) else [root]))
    data, lines = _parse_toml(shown, text)
    files = {top: (shown, data, lines)}
    order, deps = _uses_order(top, files, fence)
    built: dict[str, Spec] = {}
    for key in order:  # every file once, those it uses first
        name, d, ls = files[key]
        built[key] = _build_spec(name, d, ls, [built[k] for k in deps[key]], fence)
    return built[top]


def _uses_targets(key: str, files: dict, fence) -> list[str]:
    """The resolved files named by ``uses`` in one file, read and parsed into ``files``."""
    shown, data, lines = files[key]
    target = data.get("uses")
    if target is None:
        return []
    where = _where(shown, lines, "uses", label="uses")
    targets = target if isinstance(target, list) else [target]
    if not all(isinstance(t, str) for t in targets) or not targets:
        raise SpecFileError(f'{where}: uses must be a file name or a list of them, e.g. uses '
                            f'= "base.toml", not {target!r}')
    out = []
    for t in targets:
        if not t.endswith(".toml"):
            raise SpecFileError(f"{where}: uses {t!r}: spec files end in .toml")
        p = _inside(t, Path(shown).parent, fence, where, "uses")
        k = str(p)
        if k not in files:
            if not p.exists():
                raise SpecFileError(f"{where}: no such spec file {t!r} (looked for {p})")
            try:
                text = read_text_file(p, "a spec file")
            except SpecFileError as exc:
                raise SpecFileError(f"{where}: uses {t!r}: {exc}") from None
            d, ls = _parse_toml(k, text)
            files[k] = (k, d, ls)
        out.append(k)
    return out


def _uses_order(top: str, files: dict, fence) -> tuple[list[str], dict]:
    """Every file reachable by ``uses``, those used first (an iterative depth-first
    search: a chain of any length, each file read once, cycles reported)."""
    deps: dict[str, list[str]] = {}
    state = {top: 1}
    order: list[str] = []
    deps[top] = _uses_targets(top, files, fence)
    stack = [(top, iter(deps[top]))]
    while stack:
        key, it = stack[-1]
        nxt = next(it, None)
        if nxt is None:
            state[key] = 2
            order.append(key)
            stack.pop()
            continue
        if state.get(nxt) == 1:
            chain = [k for k, _ in stack]
            chain = chain[chain.index(nxt):] + [nxt]
            shown, _, lines = files[key]
            raise SpecFileError(f"{_where(shown, lines, 'uses', label='uses')}: the files use "
                                "each other in a cycle: " + " -> ".join(
                                    Path(k).name for k in chain) + "; remove one uses")
        if state.get(nxt) == 2:
            continue
        state[nxt] = 1
        deps[nxt] = _uses_targets(nxt, files, fence)
        stack.append((nxt, iter(deps[nxt])))
    return order, deps


def _build_spec(path: str, data: dict, lines: _Lines, bases: list, fence) -> Spec:
    """One spec file's tables -> a :class:`Spec`, on top of the specs it uses."""
    unknown = set(data) - set(_SECTIONS)
    if unknown:
        k = sorted(unknown)[0]
        raise SpecFileError(f"{_where(path, lines, k)}: unknown section {k!r}; expected "
                            f"{', '.join(_SECTIONS)}")
    params: dict = {}
    worlds: dict = {}
    mdps: dict = {}
    agents: dict = {}
    domains: dict = {}
    for b in bases:  # later files win on a repeated name
        params.update(b.params)
        worlds.update(b.worlds)
        mdps.update(b.mdps)
        agents.update(b.agents)
        domains.update(b.domains)
    params.update(_params(data.get("params", []), path, lines))
    domains.update(_domains(data.get("domains", {}), params, path, lines))
    worlds = _build_worlds(data.get("world", {}), worlds, params, path, lines)
    claims_data = data.get("claims", {})
    if not isinstance(claims_data, dict):
        raise SpecFileError(f"{_where(path, lines, 'claims')}: [claims] must be a table of "
                            '"query" = "expected value"')
    claims = tuple(Claim(q, v, _where(path, lines, q, label="claim"))
                   for q, v in claims_data.items())
    from .models import build_agents, build_mdp, build_properties
    mdps_data = data.get("mdp", {})
    if not isinstance(mdps_data, dict) or not all(isinstance(v, dict)
                                                  for v in mdps_data.values()):
        raise SpecFileError(f"{_where(path, lines, '[mdp')}: MDPs are tables [mdp.NAME]")
    mdps_data = _names(mdps_data, "mdp", path, lines)
    mdps.update({n: build_mdp(n, md, params, path, lines) for n, md in mdps_data.items()})
    agents_data = data.get("agent", {})
    if not isinstance(agents_data, dict) or not all(isinstance(v, dict)
                                                    for v in agents_data.values()):
        raise SpecFileError(f"{_where(path, lines, '[agent')}: agents are tables "
                            "[agent.NAME]")
    agents_data = _names(agents_data, "agent", path, lines)
    agents.update(build_agents(agents_data, mdps, params, path, lines))
    props = build_properties(data.get("property", []), agents, mdps, params, path, lines)
    theorem = data.get("theorem")
    if theorem is not None and not isinstance(theorem, str):
        raise SpecFileError(f"{_where(path, lines, 'theorem')}: theorem must be a string")
    observations = _observations(data.get("observations", []), worlds, path, lines, fence)
    validity = _ranges(lines.probes, domains)
    lines.probes.clear()
    spec = Spec(path, params, worlds, claims, lines, mdps, agents, props, theorem,
                observations, domains, validity)
    spec.namespace()  # name clashes are reported at load time
    return spec


#: At most this many distinct one-parameter probabilities get their exact range computed
#: per file (each takes SymPy a few milliseconds); the solvers check the rest.
MAX_RANGE_CHECKS = 64


def _ranges(probes: dict, domains: dict) -> dict:
    """For every parameter, the values for which all its one-parameter probabilities lie
    in [0, 1]: an error when there are none, or when ``[domains]`` allows values outside;
    else the set, when it is not every real number."""
    sets: dict = {}
    done = 0
    for e, (where, what) in probes.items():
        if len(e.free_symbols) != 1 or done >= MAX_RANGE_CHECKS:
            continue
        (x,) = e.free_symbols
        ok = _unit_range(e, x)
        if ok is None:
            continue
        done += 1
        if ok is sympy.S.EmptySet:
            raise SpecFileError(f"{where}: {what} = {e} lies outside [0, 1] for every real "
                                f"value of {x}; a probability lies in [0, 1]")
        if x in domains:
            bad = domains[x] - ok
            if bad is not sympy.S.EmptySet:
                raise SpecFileError(
                    f"{where}: {what} = {e} leaves [0, 1] for {x} in {_set_text(bad, x)}, "
                    f"which [domains] allows; narrow [domains] {x} to "
                    f"{_set_text(domains[x] & ok, x)}")
        before = sets.get(x, sympy.S.Reals)
        sets[x] = before & ok
        if sets[x] is sympy.S.EmptySet:
            raise SpecFileError(f"{where}: {what} = {e} needs {x} in {_set_text(ok, x)}, but "
                                f"other probabilities need {x} in {_set_text(before, x)}: no "
                                f"value of {x} makes them all probabilities")
    return {x: s for x, s in sets.items() if s != sympy.S.Reals and x not in domains}


def _unit_range(e, x):
    """The set of real ``x`` with ``0 <= e <= 1``, or None when it is not cheap to find."""
    try:
        poly = sympy.Poly(e, x)
    except sympy.PolynomialError:
        poly = None
    try:
        if poly is not None and poly.degree() == 1:
            a, b = (sympy.Rational(c) if c.is_Rational else c for c in poly.all_coeffs())
            lo, hi = sorted([(0 - b) / a, (1 - b) / a], key=lambda v: sympy.N(v, 30))
            return sympy.Interval(lo, hi)
        from .safeexpr import _degree
        if _degree(e) > 4 or e.has(sympy.Piecewise):
            return None
        return (sympy.solve_univariate_inequality(e >= 0, x, relational=False)
                & sympy.solve_univariate_inequality(e <= 1, x, relational=False))
    except (NotImplementedError, ValueError, TypeError, AttributeError):
        return None


def _set_text(s, x) -> str:
    """A set of values of ``x`` as conditions: ``0 <= p <= 1``, ``p < 0 or 1 < p``."""
    if isinstance(s, sympy.Union):
        return " or ".join(_set_text(part, x) for part in s.args)
    if isinstance(s, sympy.Interval):
        lo = "" if s.start == -sympy.oo else f"{s.start} {'<' if s.left_open else '<='} "
        hi = "" if s.end == sympy.oo else f" {'<' if s.right_open else '<='} {s.end}"
        return f"{lo}{x}{hi}" if lo or hi else f"every real {x}"
    if isinstance(s, sympy.FiniteSet):
        return " or ".join(f"{x} = {v}" for v in s)
    return str(s)


def _observations(raw, worlds, path, lines, fence) -> tuple:
    """``[[observations]]`` entries: ``world = "f"``, ``file = "rows.csv"`` (relative to
    the spec file; CSV with a header of node names, or JSON lines)."""
    if not isinstance(raw, list):
        raise SpecFileError(f"{_where(path, lines, 'observations')}: write [[observations]] "
                            "tables with world and file")
    out = []
    for k, ent in enumerate(raw):
        where = f"{_where(path, lines, 'observations')} ([[observations]] #{k + 1})"
        if isinstance(ent, dict) and isinstance(ent.get("file"), str):
            where = _where(path, lines, ent["file"], label="observations")
        if not isinstance(ent, dict) or set(ent) - {"world", "file"} or "file" not in ent:
            raise SpecFileError(f"{where}: [[observations]] needs file = \"...\" and "
                                "world = \"...\" (and nothing else)")
        w = _ref(ent.get("world"), where, "world", worlds, "world")
        f = ent["file"]
        if not isinstance(f, str) or not f.lower().endswith(_OBSERVATION_SUFFIXES):
            raise SpecFileError(f"{where}: file = {_brief(f)}: observation files are CSV "
                                "(.csv) or JSON lines (.jsonl, .json, .ndjson)")
        p = _inside(f, Path(path).parent, fence, where, "file")
        out.append((w, str(p), where))
    return tuple(out)


def _domains(raw, params, path, lines) -> dict:
    """``[domains]``: a parameter's range as a condition, ``N = "N >= 1"``."""
    if not isinstance(raw, dict):
        raise SpecFileError(f"{_where(path, lines, 'domains')}: [domains] maps parameters "
                            "to conditions such as \"N >= 1\"")
    out = {}
    for name, text in _names(raw, "domain", path, lines).items():
        where = _where(path, lines, text if isinstance(text, str) else name, label="domain")
        if name not in params:
            raise SpecFileError(f"{where}: {name!r} is not a declared parameter")
        if not isinstance(text, str):
            raise SpecFileError(f'{where}: the domain of {name} is a condition in quotes, '
                                f'e.g. {name} = "{name} >= 1", not {text!r}')
        e = parse(text, where)
        if e.names - {name}:
            raise SpecFileError(f"{where}: the domain of {name} may only mention {name}")
        cond = e.evaluate(dict(params), {}, relational_if=True)
        try:
            out[params[name]] = sympy.solve_univariate_inequality(cond, params[name],
                                                                  relational=False)
        except (NotImplementedError, ValueError, TypeError, AttributeError):
            raise SpecFileError(f"{where}: cannot read {text!r} as a condition on "
                                f"{name}") from None
    return out


def _params(raw, path, lines) -> dict[str, sympy.Symbol]:
    if not isinstance(raw, list) or not all(isinstance(p, str) for p in raw):
        raise SpecFileError(f"{_where(path, lines, 'params')}: params must be a list of "
                            'names, e.g. params = ["p", "gamma"]')
    out: dict = {}
    for p in raw:
        n = normal_name(p)
        if not n.isidentifier() or n in _KEYWORDS:
            raise SpecFileError(f"{_where(path, lines, 'params')}: parameter name {p!r} is "
                                "not an identifier")
        if n in out:
            raise DuplicateNameError(f"{_where(path, lines, 'params')}: parameter {p!r} is "
                                     f"listed twice (as {out[n].name!r} once NFKC-"
                                     "normalised); list each once")
        out[n] = sympy.Symbol(n, real=True)
    return out


_KEYWORDS = frozenset(keyword.kwlist)


def _build_worlds(raw, inherited: dict, params, path, lines) -> dict:
    """The ``[world.NAME]`` tables, each built after the world it derives ``from`` (an
    iterative walk: a chain of any length); a world defined here replaces one of the
    same name from a used file."""
    if not isinstance(raw, dict):
        raise SpecFileError(f"{_where(path, lines, 'world')}: [world.NAME...] tables expected")
    data = _names(raw, "world", path, lines)
    for name, wd in data.items():
        if not isinstance(wd, dict):
            raise SpecFileError(f"{_where(path, lines, f'world.{name}')}: [world.{name}] "
                                "must be a table with node, from or replace")
    worlds = dict(inherited)
    built: set = set()
    for name in data:
        chain: list = []
        cur = name
        while cur in data and cur not in built:
            if cur in chain:
                raise SpecFileError(f"{_where(path, lines, 'from', cur)}: worlds "
                                    f"{' -> '.join(chain[chain.index(cur):] + [cur])} derive "
                                    "from each other in a cycle")
            chain.append(cur)
            base = data[cur].get("from")
            if base is None:
                break
            where = _where(path, lines, f"world.{cur}", label=f"world {cur}")
            cur = _ref(base, where, "from")
            if cur not in data and cur not in inherited:
                known = list(data) + [w for w in inherited if w not in data]
                raise SpecFileError(f"{where}: from = {base!r} names no world; defined worlds: "
                                    f"{', '.join(known)}")
        for nm in reversed(chain):
            worlds[nm] = _make_world(nm, data[nm], worlds, params, path, lines)
            built.add(nm)
    return worlds


def _make_world(name, wd, worlds, params, path, lines) -> Diagram:
    header = f"world.{name}"
    where = _where(path, lines, header, label=f"world {name}")
    extra = set(wd) - {"node", "from", "replace"}
    if extra:
        k = sorted(extra)[0]
        raise SpecFileError(f"{_where(path, lines, k)}: unknown key {k!r} in [world.{name}]; "
                            "expected node, from, replace")
    nodes_data = wd.get("node", {})
    if not isinstance(nodes_data, dict) or not all(isinstance(v, dict)
                                                   for v in nodes_data.values()):
        raise SpecFileError(f"{where}: node must hold tables [world.{name}.node.X], not "
                            f"{_brief(nodes_data)}")
    nodes_data = _names(nodes_data, f"node of world {name}", path, lines)
    base_name = wd.get("from")
    if base_name is None:
        if wd.get("replace"):
            raise SpecFileError(f"{where}: world {name!r} has replace but no from = \"...\" "
                                "naming the world it changes")
        node_names = set(nodes_data)
        fns = [(n, _node(name, n, nd, node_names, params, path, lines))
               for n, nd in nodes_data.items()]
        try:
            return _world(name, fns)
        except SpecFileError:
            raise
        except SpecError as exc:
            raise SpecFileError(f"{where}: {exc}") from None
    base = worlds[normal_name(base_name)]
    node_names = set(base.order) | set(nodes_data)
    new: dict[str, StructuralFunction] = {}
    for n, nd in nodes_data.items():
        new[n] = _node(name, n, nd, node_names, params, path, lines)
    repl = wd.get("replace", {})
    if not isinstance(repl, dict):
        raise SpecFileError(f"{_where(path, lines, 'replace')}: replace must be a table "
                            'of node = "expression"')
    for n, text in _names(repl, f"replaced node of world {name}", path, lines).items():
        if n not in base:
            raise SpecFileError(f"{_where(path, lines, 'replace', n)}: world {base.name!r} "
                                f"has no node {n!r} to replace")
        if n in new:
            raise DuplicateNameError(f"{_where(path, lines, 'replace', n)}: node {n!r} of "
                                     f"world {name} is both replaced and defined; give one")
        new[n] = _node(name, n, {"fn": text}, node_names, params, path, lines,
                       where=_where(path, lines, "replace", n,
                                    label=f"replace.{n} of world {name}"))
    try:
        return base.replace(name, **new)
    except SpecFileError:
        raise
    except SpecError as exc:
        raise SpecFileError(f"{where}: {exc}") from None


def _parents(raw, where: str, node_names, n: str) -> tuple:
    if not isinstance(raw, list) or not all(isinstance(p, str) for p in raw):
        raise SpecFileError(f'{where}: parents must be a list of node names, e.g. parents = '
                            f'["X", "Y"], not {_brief(raw)}')
    out: list = []
    for p in raw:
        q = normal_name(p)
        if q in out:
            raise DuplicateNameError(f"{where}: parents lists {q!r} twice; list each once")
        if q == n:
            raise SpecFileError(f"{where}: node {n!r} cannot be its own parent")
        if q not in node_names:
            raise SpecFileError(f"{where}: parent {p!r} is not a node here; nodes: "
                                f"{', '.join(sorted(map(str, node_names)))}")
        out.append(q)
    return tuple(out)


def _node(w, n, nd, node_names, params, path, lines, where: str | None = None
          ) -> StructuralFunction:
    """One node table -> its structural function. ``params`` maps the names an
    expression may read besides the nodes (parameters; in a factored MDP also the value
    words) to their values."""
    where = where or _where(path, lines, f"world.{w}.node.{n}", label=f"node {n} of world {w}")
    if not isinstance(nd, dict):
        raise SpecFileError(f"{where}: a node must be a table with fn, dist, probs or prob")
    reject_unknown_keys(nd, _NODE_KEYS, path, lines, f"node {n} of world {w}")
    try:
        return _node_function(n, nd, node_names, params, lines, where)
    except SpecFileError:
        raise
    except SpecError as exc:
        raise SpecFileError(f"{where}: {exc}") from None


def _node_function(n, nd, node_names, params, lines, where) -> StructuralFunction:
    probes = getattr(lines, "probes", None)
    kinds = [k for k in ("fn", "dist", "probs", "prob") if k in nd]
    kind = nd.get("kind", "chance")
    if not isinstance(kind, str) or kind not in ("chance", "decision", "utility"):
        raise SpecFileError(f'{where}: kind must be "chance", "decision" or "utility", not '
                            f'{_brief(kind)}')
    values = _values(nd["values"], where) if "values" in nd else None
    explicit = _parents(nd["parents"], where, node_names, n) if "parents" in nd else None
    label = nd.get("label")
    if label is not None and not isinstance(label, str):
        raise SpecFileError(f"{where}: label must be a string, not {_brief(label)}")
    if kind == "decision":
        if kinds:
            raise SpecFileError(f"{where}: a decision node is chosen by a policy: give values "
                                f"and parents, not {kinds[0]}")
        if not values:
            raise SpecFileError(f"{where}: a decision node needs values = [...] (its actions)")
        return decision(values, parents=explicit or (), label=label)
    if len(kinds) != 1:
        raise SpecFileError(f"{where}: give exactly one of fn, dist, probs, prob "
                            f"(found {', '.join(kinds) or 'none'})")
    how = kinds[0]
    if kind == "utility" and how != "fn":
        raise SpecFileError(f'{where}: a utility node is deterministic: give fn = "...", not '
                            f"{how}")
    if "p" in nd and nd.get("dist") != "bernoulli":
        raise SpecFileError(f'{where}: p = ... is the probability of dist = "bernoulli"; '
                            "this node has none")
    penv = dict(params)

    def compile_(text, extra_names=(), what=how):
        e = parse(text, f"{where}, {what}")
        bad = sorted(x for x in e.names
                     if x not in node_names and x not in params and x not in extra_names)
        if bad:
            raise SpecFileError(f"{where}: unknown name {bad[0]!r} in {what} = {_brief(text)}; "
                                "names must be nodes of the world or declared params")
        return e

    def parents_of(exprs, own=()):
        used: list[str] = []
        for e in exprs:
            for name in sorted(e.names):
                if name in node_names and name not in own and name not in used:
                    used.append(name)
        if explicit is not None:
            missing = [u for u in used if u not in explicit]
            if missing:
                raise SpecFileError(f"{where}: the expression reads {missing[0]!r}, which is "
                                    f"not among parents = {list(explicit)}")
            return explicit
        return tuple(used)

    if how == "fn":
        e = compile_(nd["fn"])
        parents = parents_of([e])
        if kind == "utility":
            def value(*args):
                return _number(e.evaluate({**penv, **dict(zip(parents, args))}), where,
                               "the utility")
            return utility(value, parents=parents, label=label)

        def value(*args):
            return _real_value(e.evaluate({**penv, **dict(zip(parents, args))}), where,
                               "the value")
        f = fn(value, parents=parents, label=label)
        return _dc_replace(f, values=values) if values is not None else f
    if how == "dist":
        d = nd["dist"]
        if d == "uniform":
            if not values:
                raise SpecFileError(f'{where}: dist = "uniform" needs values = [...], a '
                                    "non-empty list")
            if explicit:
                raise SpecFileError(f'{where}: dist = "uniform" has no parents')
            return _dc_replace(uniform(values), label=label)
        if d == "bernoulli":
            if "p" not in nd:
                raise SpecFileError(f"{where}: dist = \"bernoulli\" needs p = \"<expr>\"")
            if values is not None and set(values) != {0, 1}:
                raise SpecFileError(f'{where}: dist = "bernoulli" has the values 0 and 1, not '
                                    f"{list(values)}; use probs = {{...}} for others")
            e = compile_(nd["p"], what="p")
            if not e.names & node_names and not explicit:
                q = _probability(e.evaluate(penv), where, "p", probes)
                return dist({1: q, 0: 1 - q}, label=label)
            parents = parents_of([e])

            def bern(*args):
                q = _probability(e.evaluate({**penv, **dict(zip(parents, args))}), where,
                                 "p", probes)
                return {1: q, 0: 1 - q}
            return _dc_replace(dist(bern, parents=parents, label=label), values=(1, 0))
        raise SpecFileError(f"{where}: unknown dist {_brief(d)}; use \"uniform\" or "
                            "\"bernoulli\" (or probs = {...} for a table)")
    if how == "probs":
        table = nd["probs"]
        if not isinstance(table, dict) or not table:
            raise SpecFileError(f"{where}: probs must be a table value = \"probability\"")
        by_text = {str(v): v for v in values} if values is not None else None
        items = []
        seen: dict = {}
        for k, text in table.items():
            if by_text is not None:
                if k not in by_text:
                    raise SpecFileError(f"{where}: probs.{k} names a value outside values = "
                                        f"{list(values)}")
                v = by_text[k]
            else:
                v = _key_value(k, where)
            if v in seen:
                raise SpecFileError(f"{where}: probs gives value {v!r} twice (as {seen[v]!r} "
                                    f"and {k!r}); give each value once")
            seen[v] = k
            items.append((v, k, compile_(text, what=f"probs.{k}")))
        parents = parents_of([e for _, _, e in items])

        def table_fn(*args):
            env = {**penv, **dict(zip(parents, args))}
            return {v: _probability(e.evaluate(env), where, f"probs.{k}", probes)
                    for v, k, e in items}
        f = dist(table_fn, parents=parents, label=label)
        return _dc_replace(f, values=values or tuple(v for v, _, _ in items))
    # prob: an expression in the node's own value and its parents
    if not values:
        raise SpecFileError(f"{where}: prob = \"...\" needs values = [...], a non-empty list")
    e = compile_(nd["prob"], extra_names=(n,))
    parents = parents_of([e], own=(n,))

    def prob_fn(*args):
        env = {**penv, **dict(zip(parents, args))}
        return {v: _probability(e.evaluate({**env, n: v}), where, f"prob at {n} = {v!r}",
                                probes) for v in values}
    return _dc_replace(dist(prob_fn, parents=parents, label=label), values=values)


def derive(spec: Spec, query: str, where: str = "query",
           overrides: dict[str, Callable] | None = None) -> Any:
    """Evaluate a query such as ``"E(S_c) - E(S_f)"`` against the spec's worlds, exactly.

    Examples
    --------
    >>> spec = load("coin.toml", text='''
    ... params = ["p"]
    ... [world.f.node.X]
    ... dist = "bernoulli"
    ... p = "p"
    ... [world.f.node.Y]
    ... dist = "bernoulli"
    ... p = "p"
    ... ''')
    >>> derive(spec, "E(X_f + Y_f)"), derive(spec, "P(X_f == 1 and Y_f == 1)")
    (2*p, p**2)
    """
    from .models import STAR, query_functions
    env = spec.namespace()
    funcs: dict[str, Callable] = {"P": P, "E": E}
    funcs.update(query_functions(spec, env))
    funcs.update(overrides or {})
    query = STAR.sub(lambda mt: mt.group(1) + "_star", query)
    keywords = {"given"} | {v for m, _ in spec.mdps.values() for v in (m.variables or ())}
    out = evaluate_text(query, where, env, funcs, keywords,
                        "variables are written NODE_WORLD (e.g. S_f), parameters must be "
                        "declared")
    from ..core.expressions import Expr
    if isinstance(out, Expr):
        raise SpecFileError(f"{where}: {query!r} is a random quantity, not a number; wrap it "
                            "in P(...) or E(...)")
    return as_sympy(out)


def evaluate_text(text: str, where: str, env: dict, funcs: dict, keywords=(),
                  hint: str = "") -> Any:
    """Parse ``text`` safely, check its names against ``env``, and evaluate it; any
    cpspec error is reported at ``where``."""
    e = parse(text, where, functions=frozenset(funcs), keywords=frozenset(keywords))
    bad = sorted(n for n in e.names if n not in env)
    if bad:
        raise SpecFileError(f"{where}: unknown name {bad[0]!r} in {_brief(text)}; {hint}")
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
        raise SpecFileError(f"{_where(path, lines, k, label=label)}: unknown key {k!r}; "
                            f"expected one of {', '.join(sorted(allowed))}")


def _equal(a, b) -> bool:
    if isinstance(a, Choice) or isinstance(b, Choice):
        return _choice_equal(a, b)
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, sympy.Basic) and isinstance(b, sympy.Basic) and (
            a.has(sympy.Piecewise) or b.has(sympy.Piecewise)):
        return _piecewise_equal(a, b)
    if isinstance(a, sympy.Basic) and isinstance(b, sympy.Basic):
        if a == b:
            return True
        try:
            return bool(sympy.simplify(a - b) == 0)
        except (TypeError, AttributeError):
            return False
    return bool(a == b)


def check(spec: Spec) -> list:
    """Evaluate every claim of ``spec`` (one :class:`ClaimResult` each), verify every
    ``[[property]]`` (one :class:`~cpspec.spec.models.PropertyResult` each), and check
    every ``[[observations]]`` file (one :class:`ObservationResult` each).

    >>> spec = load("w.toml", text='[world.w.node.X]\\nfn = "2"\\n[claims]\\n"E(X_w)" = "3"\\n')
    >>> [(r.passed, r.derived, r.expected) for r in check(spec)]
    [(False, 2, 3)]
    """
    from .models import check_properties
    return _check_claims(spec) + check_properties(spec) + check_observations(spec)


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


@dataclass(frozen=True)
class ObservationResult:
    """Conformance of every row of an observation file with a world."""

    world: str
    file: str
    rows: int
    failures: tuple = ()          # (line, message)
    error: str | None = None
    log_likelihood: Any = None
    internal: bool = False

    @property
    def passed(self) -> bool:
        return self.error is None and not self.failures

    def __str__(self) -> str:
        if self.error:
            head = "INTERNAL ERROR" if self.internal else "ERROR"
            return f"{head} {self.file}: {self.error}"
        if self.passed:
            tail = f", log-likelihood {self.log_likelihood}" if self.log_likelihood is not \
                None else ""
            return (f"PASS  {self.file}: all {self.rows} observations conform to world "
                    f"{self.world}{tail}")
        line, msg = self.failures[0]
        return (f"FAIL  {self.file}: {len(self.failures)} of {self.rows} observations do not "
                f"conform to world {self.world}; first at line {line}: {msg}")


def check_observations(spec: Spec) -> list:
    """Check every ``[[observations]]`` file against its world, row by row."""
    from ..verification.theory import conforms, read_observations
    out = []
    for w, file, where in spec.observations:
        d = spec.worlds[w]
        try:
            rows = read_observations(file)
            failures = []
            for line, row in rows:
                try:
                    v = conforms(d, row)
                except SpecError as exc:
                    raise SpecFileError(f"{file}, line {line}: {exc}") from None
                if v.status != "holds":
                    failures.append((line, str(v.counterexample)))
            logl = None
            if not failures and not d.free_symbols():
                from ..verification.theory import likelihood
                logl = sympy.N(likelihood(d, [r for _, r in rows], log=True), 8)
            out.append(ObservationResult(w, file, len(rows), tuple(failures),
                                         log_likelihood=logl))
        except SpecError as exc:
            out.append(ObservationResult(w, file, 0, error=str(exc)))
        except Exception as exc:  # one file's failure never hides the others
            out.append(ObservationResult(w, file, 0, error=internal_error(exc),
                                         internal=True))
    return out


def _check_claims(spec: Spec) -> list[ClaimResult]:
    """Every claim on its own: an error in one (a cpspec error, or an exception from
    inside cpspec) is that claim's result, and the others are still checked."""
    results = []
    for claim in spec.claims:
        try:
            derived = derive(spec, claim.query, claim.where)
            expected = _expected(spec, claim)
            try:
                same = _equal(derived, expected)
            except TypeError as exc:  # e.g. SymPy: "Invalid comparison of non-real I"
                raise SpecFileError(f"{claim.where}: cannot compare {show(derived)} with the "
                                    f"expected {show(expected)}: {exc}; write an expected "
                                    "value that is real for every value of the parameters") \
                    from None
        except SpecError as exc:
            results.append(ClaimResult(claim, False, error=str(exc)))
            continue
        except Exception as exc:
            results.append(ClaimResult(claim, False, error=internal_error(exc),
                                       internal=True))
            continue
        results.append(ClaimResult(claim, same, derived, expected))
    return results


def _expected(spec: Spec, claim: Claim) -> Any:
    raw = claim.expected
    if isinstance(raw, bool):
        return raw
    if not isinstance(raw, (str, int)):
        raise SpecFileError(f'{claim.where}: the expected value must be a string such as '
                            f'"1/36", an integer or true/false, not {_brief(raw)}')
    e = parse(raw, claim.where + " (expected value)")
    if isinstance(raw, str) and raw.strip().isidentifier() and raw.strip() not in spec.params:
        return raw.strip()  # a bare word such as an action name is compared as a string
    words = {n for n in e.names if n not in spec.params}
    env: dict[str, Any] = dict(spec.params)
    env.update({w: sympy.Symbol(w) for w in words})  # action names inside if-else
    out = e.evaluate(env, {}, relational_if=True)
    return as_sympy(out)


def _pieces(e, x):
    if isinstance(e, sympy.Piecewise):
        return [(v, c) for v, c in e.args]
    return [(e, sympy.true)]


def _active(e, x, c):
    for v, cond in _pieces(e, x):
        if cond is sympy.true or cond.subs(x, c) == sympy.true:
            return v
    return None


def _piecewise_equal(a, b) -> bool:
    """Equality of piecewise expressions in one parameter, on the derived (``a``)
    domain: the pieces are compared as expressions on every interval of the common
    refinement, and the values at every breakpoint."""
    a, b = sympy.piecewise_fold(a), sympy.piecewise_fold(b)
    pw_syms = set()
    for e in (a, b):
        for p in e.atoms(sympy.Piecewise):
            for _, c in p.args:
                pw_syms |= c.free_symbols
    if len(pw_syms) != 1:
        return sympy.simplify(a - b) == 0
    x = next(iter(pw_syms))
    domain = sympy.S.EmptySet
    for _, c in _pieces(a, x):
        domain = domain | (sympy.S.Reals if c is sympy.true else c.as_set())
    cuts = set()
    for e in (a, b):
        for _, c in _pieces(e, x):
            if c is not sympy.true:
                cuts |= {v for v in c.as_set().boundary if v.is_finite}
    cuts = sorted(cuts, key=lambda v: sympy.N(v, 50))
    from ..core.regions import rational_between
    tests = list(cuts)
    bounds = [-sympy.oo] + cuts + [sympy.oo]
    intervals = [(lo, hi) for lo, hi in zip(bounds, bounds[1:])]
    for lo, hi in intervals:
        c = rational_between(lo, hi)
        if domain.contains(c) != sympy.true:
            continue
        ea, eb = _active(a, x, c), _active(b, x, c)
        if ea is None or eb is None or sympy.simplify(ea - eb) != 0:
            return False
    for c in tests:
        if domain.contains(c) != sympy.true:
            continue
        ea, eb = _active(a, x, c), _active(b, x, c)
        if ea is None or eb is None or sympy.simplify((ea - eb).subs(x, c)) != 0:
            return False
    return True


def _choice_equal(a, b) -> bool:
    """A derived Choice against an expected value: a constant, another Choice, or a
    Piecewise of action symbols built from ``x if cond else y``."""
    if isinstance(a, Choice) and isinstance(b, Choice):
        a, b = a, _choice_as_piecewise(b)
    if not isinstance(a, Choice):
        a, b = b, a
    if isinstance(b, Choice):
        b = _choice_as_piecewise(b)
    if isinstance(b, sympy.Basic):
        b = sympy.piecewise_fold(b)
    if not isinstance(b, sympy.Piecewise):
        return False  # a genuinely parametric answer never equals a constant
    domain = sympy.Union(*(s for s, _ in a.pieces))
    taken: sympy.Set = sympy.S.EmptySet
    for val, cond in b.args:
        where = (cond.as_set() if cond is not sympy.true else sympy.S.Reals) - taken
        taken = taken | where
        for s, act in a.pieces:
            if str(val) != str(act) and (s & where & domain) is not sympy.S.EmptySet:
                return False
    return (domain - taken) is sympy.S.EmptySet


def _choice_as_piecewise(c: Choice):
    return sympy.Piecewise(*[(sympy.Symbol(str(v)), s.as_relational(c.x)) for s, v in c.pieces])
