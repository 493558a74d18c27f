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
    # or a random replacement, any node table:
    # replace.R = {values = [5, 6], dist = "uniform"}
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

This module reads files and builds a :class:`Spec` from their sections; the pieces live
in their own modules: the shared records and readers (:mod:`.base`), nodes
(:mod:`.nodes`), MDPs and agents (:mod:`.models`), properties (:mod:`.properties`),
queries (:mod:`.queries`), claims (:mod:`.claims`), observations (:mod:`.observations`)
and the range check of probabilities (:mod:`.ranges`). :func:`load`, :func:`check`,
:func:`derive` and :func:`show` are the entry points.
"""

from __future__ import annotations

import dataclasses
import keyword
import re
import tomllib
from pathlib import Path

import sympy

from ..core.diagram import Diagram, world as _world
from ..core.functions import StructuralFunction, number_to_sympy, to_exact
from ..core.partition import show_condition
from ..errors import DuplicateNameError, SpecError, SpecFileError
from .base import (Claim, Probes, Spec, SpecLines, brief, locate, normal_name, normal_names,
                   phrase_for, read_ref, show)
from .claims import ClaimResult, check_claims
from .classes import build_classes
from .files import MAX_FILE_BYTES, read_text_file
from .models import build_agents, build_mdp
from .nodes import compile_node
from .observations import ObservationResult, check_observations
from .properties import build_equivalences, build_properties, check_properties
from .synthesis import build_syntheses, check_syntheses
from .queries import Solutions, derive, query_names
from .ranges import validity_ranges
from .safeexpr import MAX_DIGITS, parse

__all__ = ["Spec", "Claim", "ClaimResult", "ObservationResult", "load", "derive", "check",
           "show", "read_text_file", "project_dir", "spec_root", "MAX_FILE_BYTES", "bind_spec"]


_SECTIONS = ("params", "world", "mdp", "agent", "class", "claims", "property", "equivalent",
             "uses",
             "theorem",
             "observations", "domains", "bind", "synthesize")


_OBSERVATION_SUFFIXES = (".csv", ".jsonl", ".json", ".ndjson")


# ---- reading files --------------------------------------------------------------------


def _parse_toml(path: str, text: str) -> tuple[dict, SpecLines]:
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
    return data, SpecLines(text)


def project_dir(folder: str | Path) -> Path:
    """The project a folder belongs to: the nearest folder at or above it holding
    ``.git`` or ``pyproject.toml``, or else the folder itself; never the file system's
    root or the home folder.

    >>> project_dir("/") == Path("/").resolve()  # no project above: the folder itself
    True
    """
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
                            f"{brief(target)}")
    p = (base / target).resolve()
    if fence is not None and not any(p.is_relative_to(r) for r in fence):
        raise SpecFileError(f"{where}: {what} {target!r} lies outside "
                            f"{' and '.join(map(str, fence))}, the spec's tree; spec files "
                            "read only files inside it (cpspec --allow-outside, or load(..., "
                            "allow_outside=True), lifts this)")
    return p


# ---- loading ------------------------------------------------------------------------


def load(path: str | Path, text: str | None = None, *, root=None,
         allow_outside: bool = False, bind: dict | None = None) -> Spec:
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
    bind : {name: value}, optional
        Parameters bound to exact values (``{"p": "1/3"}``), on top of the file's
        ``[bind]`` table (``cpspec check FILE --param p=1/3``).

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
    if bind:
        if not isinstance(bind, dict):
            raise SpecError(f"load(bind=...) takes {{name: value}}, got {bind!r}")
        return bind_spec(built[top], {k: (v, f"{shown}: --param {k}={v}")
                                      for k, v in bind.items()}, "cli")
    return built[top]


def bind_spec(spec: Spec, values: dict, interface: str = "spec") -> Spec:
    """``spec`` with parameters bound: ``values`` maps a parameter's name to
    ``(value text or number, where it was given)``. Worlds, MDPs and agents are bound
    (``bind``), the parameter's name then reads its value in queries, and its
    ``[domains]`` entry is dropped. ``interface`` ("spec" or "cli") phrases the errors.

    >>> spec = load("b.toml", text='params = ["p"]\\n[bind]\\np = "1/3"\\n'
    ...             '[world.w.node.X]\\ndist = "bernoulli"\\np = "p"\\n'
    ...             '[claims]\\n"P(X_w == 1)" = "1/3"\\n')
    >>> [str(r) for r in check(spec)]
    ['PASS  P(X_w == 1) = 1/3']
    """
    bound = {}
    for name, (text, where) in values.items():
        n = normal_name(str(name))
        if n not in spec.params or not isinstance(spec.params[n], sympy.Symbol):
            how = ("--param NAME=VALUE" if interface == "cli" else "[bind] NAME = \"VALUE\"")
            free = sorted(k for k, v in spec.params.items() if isinstance(v, sympy.Symbol))
            raise SpecFileError(f"{where}: {name!r} is not a parameter: {spec.path} has no "
                                f"parameter {name!r}; its parameters are "
                                f"{', '.join(free) or 'none'} ({how} binds one of them)")
        if isinstance(text, str):
            v = parse(text, where).evaluate({}, {})
        else:
            v = text
        try:
            v = number_to_sympy(to_exact(v, what=f"the value of {n}"))
        except SpecError:
            v = None
        if not isinstance(v, sympy.Expr) or v.free_symbols or not v.is_real:
            raise SpecFileError(f"{where}: the value of {n} must be an exact real number "
                                f"such as \"1/3\", got {text!r}")
        dom = spec.domains.get(spec.params[n])
        if dom is not None and dom.contains(v) is not sympy.true:
            raise SpecFileError(f"{where}: {n} = {v} lies outside its domain "
                                f"({show_condition(dom.as_relational(spec.params[n]))}); "
                                "give a value in it, or widen the [domains] entry")
        if any(horizon == spec.params[n] for _, horizon in spec.mdps.values()) and not (
                v.is_Integer and v >= 0):
            raise SpecFileError(f"{where}: {n} = {v} is a horizon: give a non-negative "
                                "integer")
        bound[n] = v

    def pick(syms):
        return {n: v for n, v in bound.items() if spec.params[n] in syms}
    try:
        worlds = {w: (d.bind(**pick(d.free_symbols())) if pick(d.free_symbols()) else d)
                  for w, d in spec.worlds.items()}
        mdps = {}
        for m, (mdp, horizon) in spec.mdps.items():
            got = pick(mdp.free_symbols() | ({horizon} if isinstance(horizon, sympy.Symbol)
                                             else set()))
            if isinstance(horizon, sympy.Symbol) and horizon.name in got:
                horizon = int(got.pop(horizon.name))
            mdps[m] = (mdp.bind(**got) if got else mdp, horizon)
        agents = {a: (ag.with_env(ag.env.bind(**pick(ag.env.free_symbols())))
                      if pick(ag.env.free_symbols()) else ag) for a, ag in spec.agents.items()}
    except SpecError as exc:
        where = next(iter(values.values()))[1]
        raise SpecFileError(f"{where}: {exc}") from None
    params = {**spec.params, **bound}
    domains = {x: d for x, d in spec.domains.items() if x.name not in bound}
    validity = {x: d for x, d in spec.validity.items() if x.name not in bound}
    names = query_names(spec.path, params, worlds, mdps, agents)
    return dataclasses.replace(spec, params=params, worlds=worlds, mdps=mdps, agents=agents,
                               domains=domains, validity=validity, names=names)


def _uses_targets(key: str, files: dict, fence) -> list[str]:
    """The resolved files named by ``uses`` in one file, read and parsed into ``files``."""
    shown, data, lines = files[key]
    target = data.get("uses")
    if target is None:
        return []
    where = locate(shown, lines, "uses", label="uses")
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
            raise SpecFileError(f"{locate(shown, lines, 'uses', label='uses')}: the files use "
                                "each other in a cycle: " + " -> ".join(
                                    Path(k).name for k in chain) + "; remove one uses")
        if state.get(nxt) == 2:
            continue
        state[nxt] = 1
        deps[nxt] = _uses_targets(nxt, files, fence)
        stack.append((nxt, iter(deps[nxt])))
    return order, deps


def _build_spec(path: str, data: dict, lines: SpecLines, bases: list, fence) -> Spec:
    """One spec file's tables -> a :class:`Spec`, on top of the specs it uses (later
    files win on a repeated name). Every table is built into a new dict; the used specs
    are never changed. ``probes`` collects this file's symbolic probabilities for the
    range check at the end."""
    unknown = set(data) - set(_SECTIONS)
    if unknown:
        k = sorted(unknown)[0]
        raise SpecFileError(f"{locate(path, lines, k)}: unknown section {k!r}; expected "
                            f"{', '.join(_SECTIONS)}")
    probes = Probes()
    params = {**_inherited(bases, "params"),
              **_params(data.get("params", []), path, lines)}
    domains = {**_inherited(bases, "domains"),
               **_domains(data.get("domains", {}), params, path, lines)}
    worlds = _build_worlds(data.get("world", {}), _inherited(bases, "worlds"), params, path,
                           lines, probes)
    claims = _claims(data.get("claims", {}), path, lines)
    mdps_data = _tables(data.get("mdp", {}), "mdp", "[mdp", "MDPs are tables [mdp.NAME]",
                        path, lines)
    mdps = {**_inherited(bases, "mdps"),
            **{n: build_mdp(n, md, params, path, lines, probes)
               for n, md in mdps_data.items()}}
    agents_data = _tables(data.get("agent", {}), "agent", "[agent",
                          "agents are tables [agent.NAME]", path, lines)
    agents = {**_inherited(bases, "agents"),
              **build_agents(agents_data, mdps, params, path, lines, probes)}
    class_data = _tables(data.get("class", {}), "class", "[class",
                         "classes of worlds are tables [class.NAME]", path, lines)
    classes = {**_inherited(bases, "classes"), **build_classes(class_data, mdps, path, lines)}
    props = build_properties(data.get("property", []), agents, mdps, params, path, lines,
                             classes)
    props += build_equivalences(data.get("equivalent", []), agents, mdps, params, path,
                                lines, classes)
    syntheses = build_syntheses(data.get("synthesize", []), agents, params, path, lines)
    theorem = data.get("theorem")
    if theorem is not None and not isinstance(theorem, str):
        raise SpecFileError(f"{locate(path, lines, 'theorem')}: theorem must be a string")
    observations = _observations(data.get("observations", []), worlds, path, lines, fence)
    validity = validity_ranges(probes.close(), domains)
    names = query_names(path, params, worlds, mdps, agents)  # name clashes: load-time errors
    spec = Spec(path, params, worlds, claims, lines, mdps, agents, props, theorem,
                observations, domains, validity, names, classes, syntheses)
    raw = data.get("bind", {})
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise SpecFileError(f"{locate(path, lines, 'bind')}: [bind] maps parameters to exact "
                            'values in quotes, e.g. p = "1/3"')
    if raw:
        spec = bind_spec(spec, {k: (v, locate(path, lines, k, label="bind"))
                                for k, v in raw.items()})
    return spec


def _inherited(bases: list, table: str) -> dict:
    """One table of the used specs, merged into a new dict (later files win)."""
    out: dict = {}
    for b in bases:
        out.update(getattr(b, table))
    return out


def _claims(raw, path, lines) -> tuple:
    if not isinstance(raw, dict):
        raise SpecFileError(f"{locate(path, lines, 'claims')}: [claims] must be a table of "
                            '"query" = "expected value"')
    return tuple(Claim(q, v, locate(path, lines, q, label="claim")) for q, v in raw.items())


def _tables(raw, what: str, needle: str, hint: str, path, lines) -> dict:
    """``[mdp.NAME]`` or ``[agent.NAME]`` tables, their names NFKC-normalised."""
    if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
        raise SpecFileError(f"{locate(path, lines, needle)}: {hint}")
    return normal_names(raw, what, path, lines)


def _observations(raw, worlds, path, lines, fence) -> tuple:
    """``[[observations]]`` entries: ``world = "f"``, ``file = "rows.csv"`` (relative to
    the spec file; CSV with a header of node names, or JSON lines)."""
    if not isinstance(raw, list):
        raise SpecFileError(f"{locate(path, lines, 'observations')}: write [[observations]] "
                            "tables with world and file")
    out = []
    for k, ent in enumerate(raw):
        where = f"{locate(path, lines, 'observations')} ([[observations]] #{k + 1})"
        if isinstance(ent, dict) and isinstance(ent.get("file"), str):
            where = locate(path, lines, ent["file"], label="observations")
        if not isinstance(ent, dict) or set(ent) - {"world", "file"} or "file" not in ent:
            raise SpecFileError(f"{where}: [[observations]] needs file = \"...\" and "
                                "world = \"...\" (and nothing else)")
        w = read_ref(ent.get("world"), where, "world", worlds, "world")
        f = ent["file"]
        if not isinstance(f, str) or not f.lower().endswith(_OBSERVATION_SUFFIXES):
            raise SpecFileError(f"{where}: file = {brief(f)}: observation files are CSV "
                                "(.csv) or JSON lines (.jsonl, .json, .ndjson)")
        p = _inside(f, Path(path).parent, fence, where, "file")
        out.append((w, str(p), where))
    return tuple(out)


def _domains(raw, params, path, lines) -> dict:
    """``[domains]``: a parameter's range as a condition, ``N = "N >= 1"``."""
    if not isinstance(raw, dict):
        raise SpecFileError(f"{locate(path, lines, 'domains')}: [domains] maps parameters "
                            "to conditions such as \"N >= 1\"")
    out = {}
    for name, text in normal_names(raw, "domain", path, lines).items():
        where = locate(path, lines, text if isinstance(text, str) else name, label="domain")
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
            out[params[name]] = (cond.as_set() if isinstance(cond, (sympy.And, sympy.Or))
                                 else sympy.solve_univariate_inequality(
                                     cond, params[name], relational=False))
        except (NotImplementedError, ValueError, TypeError, AttributeError):
            raise SpecFileError(f"{where}: cannot read {text!r} as a condition on "
                                f"{name}") from None
    return out


def _params(raw, path, lines) -> dict[str, sympy.Symbol]:
    if not isinstance(raw, list) or not all(isinstance(p, str) for p in raw):
        raise SpecFileError(f"{locate(path, lines, 'params')}: params must be a list of "
                            'names, e.g. params = ["p", "gamma"]')
    out: dict = {}
    for p in raw:
        n = normal_name(p)
        if not n.isidentifier() or n in _KEYWORDS:
            raise SpecFileError(f"{locate(path, lines, 'params')}: parameter name {p!r} is "
                                "not an identifier")
        if n in out:
            raise DuplicateNameError(f"{locate(path, lines, 'params')}: parameter {p!r} is "
                                     f"listed twice (as {out[n].name!r} once NFKC-"
                                     "normalised); list each once")
        out[n] = sympy.Symbol(n, real=True)
    return out


_KEYWORDS = frozenset(keyword.kwlist)


def _build_worlds(raw, inherited: dict, params, path, lines, probes: Probes) -> dict:
    """The ``[world.NAME]`` tables, each built after the world it derives ``from`` (an
    iterative walk: a chain of any length); a world defined here replaces one of the
    same name from a used file."""
    if not isinstance(raw, dict):
        raise SpecFileError(f"{locate(path, lines, 'world')}: [world.NAME...] tables expected")
    data = normal_names(raw, "world", path, lines)
    for name, wd in data.items():
        if not isinstance(wd, dict):
            raise SpecFileError(f"{locate(path, lines, f'world.{name}')}: [world.{name}] "
                                "must be a table with node, from or replace")
    worlds = dict(inherited)
    built: set = set()
    for name in data:
        chain: list = []
        cur = name
        while cur in data and cur not in built:
            if cur in chain:
                raise SpecFileError(f"{locate(path, lines, 'from', cur)}: worlds "
                                    f"{' -> '.join(chain[chain.index(cur):] + [cur])} derive "
                                    "from each other in a cycle")
            chain.append(cur)
            base = data[cur].get("from")
            if base is None:
                break
            where = locate(path, lines, f"world.{cur}", label=f"world {cur}")
            cur = read_ref(base, where, "from")
            if cur not in data and cur not in inherited:
                known = list(data) + [w for w in inherited if w not in data]
                raise SpecFileError(f"{where}: from = {base!r} names no world; defined worlds: "
                                    f"{', '.join(known)}")
        for nm in reversed(chain):
            worlds[nm] = _make_world(nm, data[nm], worlds, params, path, lines, probes)
            built.add(nm)
    return worlds


def _make_world(name, wd, worlds, params, path, lines, probes: Probes) -> Diagram:
    """One ``[world.NAME]`` table -> its diagram (worlds it derives ``from`` are built)."""
    header = f"world.{name}"
    where = locate(path, lines, header, label=f"world {name}")
    extra = set(wd) - {"node", "from", "replace"}
    if extra:
        k = sorted(extra)[0]
        raise SpecFileError(f"{locate(path, lines, k)}: unknown key {k!r} in [world.{name}]; "
                            "expected node, from, replace")
    nodes_data = wd.get("node", {})
    if not isinstance(nodes_data, dict) or not all(isinstance(v, dict)
                                                   for v in nodes_data.values()):
        raise SpecFileError(f"{where}: node must hold tables [world.{name}.node.X], not "
                            f"{brief(nodes_data)}")
    nodes_data = normal_names(nodes_data, f"node of world {name}", path, lines)
    base_name = wd.get("from")
    if base_name is None:
        if wd.get("replace"):
            raise SpecFileError(f"{where}: world {name!r} has replace but no from = \"...\" "
                                "naming the world it changes")
        node_names = set(nodes_data)
        fns = [(n, compile_node(name, n, nd, node_names, params, path, lines,
                                probes=probes))
               for n, nd in nodes_data.items()]
        try:
            return _world(name, fns)
        except SpecFileError:
            raise
        except SpecError as exc:
            raise SpecFileError(f"{where}: {exc}") from None
    return _derived_world(name, wd, worlds[normal_name(base_name)], nodes_data, params,
                          path, lines, probes, where)


def _derived_world(name, wd, base, nodes_data, params, path, lines, probes, where):
    """A world ``from`` another: its own nodes, and ``replace.X = "expression"`` (a
    deterministic replacement) or ``replace.X = {...}`` (any node table: a random one)."""
    node_names = set(base.order) | set(nodes_data)
    new: dict[str, StructuralFunction] = {}
    for n, nd in nodes_data.items():
        new[n] = compile_node(name, n, nd, node_names, params, path, lines, probes=probes)
    repl = wd.get("replace", {})
    if not isinstance(repl, dict):
        raise SpecFileError(f"{locate(path, lines, 'replace')}: replace must be a table "
                            'of node = "expression" or node = {node table}')
    for n, text in normal_names(repl, f"replaced node of world {name}", path, lines).items():
        if n not in base:
            raise SpecFileError(f"{locate(path, lines, 'replace', n)}: world {base.name!r} "
                                f"has no node {n!r} to replace")
        if n in new:
            raise DuplicateNameError(f"{locate(path, lines, 'replace', n)}: node {n!r} of "
                                     f"world {name} is both replaced and defined; give one")
        if isinstance(text, dict):  # a node table: a random replacement, say
            table = text
        elif isinstance(text, str):
            table = {"fn": text}
        else:
            raise SpecFileError(
                f"{locate(path, lines, 'replace', n)}: replace.{n} must be an expression in "
                f'quotes (replace.{n} = "6") or a node table (replace.{n} = {{values = '
                f'[5, 6], dist = "uniform"}}), not {type(text).__name__}')
        new[n] = compile_node(name, n, table, node_names, params, path, lines,
                              where=locate(path, lines, "replace", n,
                                           label=f"replace.{n} of world {name}"),
                              probes=probes)
    try:
        return base.replace(name, **new)
    except SpecFileError:
        raise
    except SpecError as exc:
        raise SpecFileError(f"{where}: {exc}") from None


# ---- checking -----------------------------------------------------------------------

def check(spec: Spec) -> list:
    """Evaluate every claim of ``spec`` (one :class:`ClaimResult` each), verify every
    ``[[property]]`` (one :class:`~cpspec.spec.properties.PropertyResult` each), run every
    ``[[synthesize]]`` (one :class:`~cpspec.spec.synthesis.SynthesisResult` each), and check
    every ``[[observations]]`` file (one :class:`ObservationResult` each).

    >>> spec = load("w.toml", text='[world.w.node.X]\\nfn = "2"\\n[claims]\\n"E(X_w)" = "3"\\n')
    >>> [(r.passed, r.derived, r.expected) for r in check(spec)]
    [(False, 2, 3)]
    """
    results = (check_claims(spec, Solutions(spec)) + check_properties(spec)
               + check_syntheses(spec) + check_observations(spec))
    return [dataclasses.replace(r, error=phrase_for(r.error, "spec")) if r.error else r
            for r in results]
