"""TOML spec files: worlds, counterfactual worlds, and claims about them.

A spec file is data. Its expressions go through :mod:`cpspec.safeexpr`, never through
``eval`` or ``sympify``. Layout::

    params = ["p"]                      # optional symbolic parameters

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
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace as _dc_replace
from pathlib import Path
from typing import Any, Callable

import sympy

from .diagram import Diagram, world as _world
from .errors import SpecError, SpecFileError
from .exact import E, P
from .functions import (StructuralFunction, bernoulli, decision, dist, fn, uniform, utility,
                        as_sympy)
from .regions import Choice
from .safeexpr import parse

__all__ = ["Spec", "Claim", "ClaimResult", "load", "derive", "check"]

_NODE_KEYS = {"values", "dist", "p", "probs", "prob", "fn", "parents", "kind", "label"}


@dataclass(frozen=True, slots=True)
class Claim:
    """One ``"query" = "expected"`` line of a ``[claims]`` table."""

    query: str
    expected: Any
    where: str


@dataclass(frozen=True, slots=True)
class ClaimResult:
    """The outcome of checking one claim."""

    claim: Claim
    passed: bool
    derived: Any = None
    expected: Any = None
    error: str | None = None

    def __str__(self) -> str:
        if self.error:
            return f"ERROR {self.claim.query}: {self.error}"
        mark = "PASS " if self.passed else "FAIL "
        tail = "" if self.passed else f", expected {self.expected}"
        return f"{mark} {self.claim.query} = {self.derived}{tail}"


@dataclass(frozen=True)
class Spec:
    """A loaded spec file: its parameters, worlds and claims."""

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
    _solved: dict = field(default_factory=dict, repr=False, compare=False)

    def solution(self, key: tuple):
        """Solve an MDP (by name) or an influence diagram (by world name), once."""
        if key not in self._solved:
            from .decisions import solve
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


    def namespace(self) -> dict[str, Any]:
        """Names usable in queries: ``X_w`` for every node, and the parameters."""
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
        from .specmodels import model_names
        for k, v in model_names(self).items():
            if k in env and k in self.agents:
                raise SpecFileError(f"{self.path}: agent name {k!r} clashes with another "
                                    "name; rename the agent")
            env.setdefault(k, v)
        return env


def _line_of(lines: tuple[str, ...], *needles: str) -> int | None:
    for i, line in enumerate(lines, 1):
        if all(nd in line for nd in needles):
            return i
    return None


def _where(path: str, lines, *needles: str, label: str = "") -> str:
    line = _line_of(lines, *needles)
    loc = f"{path}, line {line}" if line else path
    return f"{loc} ({label})" if label else loc


def _value(v: Any, where: str) -> Any:
    if isinstance(v, float):
        raise SpecFileError(f"{where}: value {v!r} is a float; use integers or strings")
    if isinstance(v, list):
        return tuple(_value(x, where) for x in v)
    if isinstance(v, (int, str, bool)):
        return v
    raise SpecFileError(f"{where}: value {v!r} must be an integer, a string or a list")


def _key_value(k: str) -> Any:
    s = k.strip()
    if s.lstrip("-").isdigit():
        return int(s)
    return {"true": True, "false": False}.get(s, k)


def load(path: str | Path, text: str | None = None, _stack: tuple = ()) -> Spec:
    """Read a spec file (TOML) into worlds and claims; nothing in it is executed.

    Raises
    ------
    SpecFileError
        with the file and line for malformed TOML, unknown keys, bad expressions.

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
    path = str(path)
    if text is None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise SpecFileError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecFileError(f"{path}: malformed TOML: {exc}") from None
    lines = tuple(text.splitlines())
    unknown = set(data) - {"params", "world", "mdp", "agent", "claims", "property", "uses",
                           "theorem", "observations", "domains"}
    if unknown:
        k = sorted(unknown)[0]
        raise SpecFileError(f"{_where(path, lines, k)}: unknown section {k!r}; expected "
                            "params, world, mdp, agent, claims, property, uses, theorem, "
                            "observations, domains")
    base = _uses(data.get("uses"), path, lines, _stack)
    params = dict(base.params) if base else {}
    params.update(_params(data.get("params", []), path, lines))
    worlds_data = data.get("world", {})
    if not isinstance(worlds_data, dict):
        raise SpecFileError(f"{_where(path, lines, 'world')}: [world.NAME...] tables expected")
    worlds: dict[str, Diagram] = dict(base.worlds) if base else {}
    for name in worlds_data:
        _build_world(name, worlds_data, worlds, params, path, lines, ())
    claims_data = data.get("claims", {})
    if not isinstance(claims_data, dict):
        raise SpecFileError(f"{_where(path, lines, 'claims')}: [claims] must be a table of "
                            '"query" = "expected value"')
    claims = tuple(Claim(q, v, _where(path, lines, q, label="claim"))
                   for q, v in claims_data.items())
    mdps_data = data.get("mdp", {})
    if not isinstance(mdps_data, dict) or not all(isinstance(v, dict)
                                                  for v in mdps_data.values()):
        raise SpecFileError(f"{_where(path, lines, '[mdp')}: MDPs are tables [mdp.NAME]")
    from .specmodels import build_agents, build_mdp
    mdps = dict(base.mdps) if base else {}
    mdps.update({n: build_mdp(n, md, params, path, lines) for n, md in mdps_data.items()})
    agents_data = data.get("agent", {})
    if not isinstance(agents_data, dict) or not all(isinstance(v, dict)
                                                    for v in agents_data.values()):
        raise SpecFileError(f"{_where(path, lines, '[agent')}: agents are tables "
                            "[agent.NAME]")
    agents = dict(base.agents) if base else {}
    agents.update(build_agents(agents_data, mdps, params, path, lines))
    from .specmodels import build_properties
    props = build_properties(data.get("property", []), agents, mdps, params, path, lines)
    theorem = data.get("theorem")
    if theorem is not None and not isinstance(theorem, str):
        raise SpecFileError(f"{_where(path, lines, 'theorem')}: theorem must be a string")
    observations = _observations(data.get("observations", []), worlds, path, lines)
    domains = _domains(data.get("domains", {}), params, path, lines)
    spec = Spec(path, params, worlds, claims, lines, mdps, agents, props, theorem,
                observations, domains)
    spec.namespace()  # name clashes are reported at load time
    return spec


def _uses(target, path, lines, stack) -> "Spec | None":
    """``uses = "other.toml"`` (or a list of files): start from other specs' params,
    worlds, MDPs and agents (their claims and properties are not repeated). Paths are
    relative to this file; later files win on a repeated name."""
    if target is None:
        return None
    if isinstance(target, list):
        merged = None
        for t in target:
            one = _uses(t, path, lines, stack)
            if merged is None:
                merged = one
            else:
                for attr in ("params", "worlds", "mdps", "agents"):
                    getattr(merged, attr).update(getattr(one, attr))
        return merged
    if not isinstance(target, str):
        raise SpecFileError(f"{_where(path, lines, 'uses')}: uses must be a file name or a "
                            "list of them")
    other = (Path(path).parent / target).resolve()
    if str(other) in stack or other == Path(path).resolve():
        raise SpecFileError(f"{_where(path, lines, 'uses')}: {target} uses itself in a cycle")
    if not other.exists():
        raise SpecFileError(f"{_where(path, lines, 'uses')}: no such spec file {target!r} "
                            f"(looked for {other})")
    return load(other, _stack=stack + (str(Path(path).resolve()),))


def _observations(raw, worlds, path, lines) -> tuple:
    """``[[observations]]`` entries: ``world = "f"``, ``file = "rows.csv"`` (relative to
    the spec file; CSV with a header of node names, or JSON lines)."""
    if not isinstance(raw, list):
        raise SpecFileError(f"{_where(path, lines, 'observations')}: write [[observations]] "
                            "tables with world and file")
    out = []
    for k, ent in enumerate(raw):
        where = _where(path, lines, str(ent.get("file", "observations")) if isinstance(
            ent, dict) else "observations", label="observations")
        if not isinstance(ent, dict) or set(ent) - {"world", "file"} or "file" not in ent:
            raise SpecFileError(f"{where}: [[observations]] needs file = \"...\" and "
                                "world = \"...\" (and nothing else)")
        w = ent.get("world")
        if w not in worlds:
            raise SpecFileError(f"{where}: world = {w!r} names no world; worlds: "
                                f"{', '.join(worlds) or 'none'}")
        out.append((w, str(Path(path).parent / ent["file"]), where))
    return tuple(out)


def _domains(raw, params, path, lines) -> dict:
    """``[domains]``: a parameter's range as a condition, ``N = "N >= 1"``."""
    if not isinstance(raw, dict):
        raise SpecFileError(f"{_where(path, lines, 'domains')}: [domains] maps parameters "
                            "to conditions such as \"N >= 1\"")
    out = {}
    for name, text in raw.items():
        where = _where(path, lines, text if isinstance(text, str) else name, label="domain")
        if name not in params:
            raise SpecFileError(f"{where}: {name!r} is not a declared parameter")
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
    out = {}
    for p in raw:
        if not p.isidentifier():
            raise SpecFileError(f"{_where(path, lines, 'params')}: parameter name {p!r} is "
                                "not an identifier")
        out[p] = sympy.Symbol(p, real=True)
    return out


def _build_world(name, worlds_data, worlds, params, path, lines, stack) -> Diagram:
    if name in worlds:
        return worlds[name]
    if name in stack:
        raise SpecFileError(f"{path}: worlds {' -> '.join(stack + (name,))} derive from each "
                            "other in a cycle")
    if name not in worlds_data:
        raise SpecFileError(f"{_where(path, lines, 'from', name)}: unknown world {name!r}; "
                            f"defined worlds: {', '.join(worlds_data)}")
    wd = worlds_data[name]
    header = f"[world.{name}"
    if not isinstance(wd, dict):
        raise SpecFileError(f"{_where(path, lines, header)}: [world.{name}] must be a table")
    extra = set(wd) - {"node", "from", "replace"}
    if extra:
        k = sorted(extra)[0]
        raise SpecFileError(f"{_where(path, lines, k)}: unknown key {k!r} in [world.{name}]; "
                            "expected node, from, replace")
    nodes_data = wd.get("node", {})
    base_name = wd.get("from")
    if base_name is None:
        if wd.get("replace"):
            raise SpecFileError(f"{_where(path, lines, 'replace')}: world {name!r} has "
                                "replace but no from = \"...\" naming the world it changes")
        node_names = set(nodes_data)
        fns = [(n, _node(name, n, nd, node_names, params, path, lines))
               for n, nd in nodes_data.items()]
        try:
            d = _world(name, fns)
        except SpecFileError:
            raise
        except SpecError as exc:
            raise SpecFileError(f"{_where(path, lines, header)}: {exc}") from None
    else:
        base = _build_world(base_name, worlds_data, worlds, params, path, lines,
                            stack + (name,))
        node_names = set(base.order) | set(nodes_data)
        new: dict[str, StructuralFunction] = {}
        for n, nd in nodes_data.items():
            new[n] = _node(name, n, nd, node_names, params, path, lines)
        repl = wd.get("replace", {})
        if not isinstance(repl, dict):
            raise SpecFileError(f"{_where(path, lines, 'replace')}: replace must be a table "
                                'of node = "expression"')
        for n, text in repl.items():
            if n not in base:
                raise SpecFileError(f"{_where(path, lines, 'replace', n)}: world {base_name!r} "
                                    f"has no node {n!r} to replace")
            new[n] = _node(name, n, {"fn": text}, node_names, params, path, lines)
        try:
            d = base.replace(name, **new)
        except SpecError as exc:
            raise SpecFileError(f"{_where(path, lines, header)}: {exc}") from None
    worlds[name] = d
    return d


def _node(w, n, nd, node_names, params, path, lines) -> StructuralFunction:
    where = _where(path, lines, f"world.{w}.node.{n}", label=f"node {n} of world {w}")
    if not isinstance(nd, dict):
        raise SpecFileError(f"{where}: a node must be a table with fn, dist, probs or prob")
    reject_unknown_keys(nd, _NODE_KEYS, path, lines, f"node {n} of world {w}")
    kinds = [k for k in ("fn", "dist", "probs", "prob") if k in nd]
    kind = nd.get("kind", "chance")
    if kind not in ("chance", "decision", "utility"):
        raise SpecFileError(f"{where}: kind must be chance, decision or utility, not {kind!r}")
    values = _value(nd["values"], where) if "values" in nd else None
    explicit = tuple(nd["parents"]) if "parents" in nd else None
    label = nd.get("label")
    if kind == "decision":
        if values is None:
            raise SpecFileError(f"{where}: a decision node needs values = [...] (its actions)")
        return decision(values, parents=explicit or (), label=label)
    if len(kinds) != 1:
        raise SpecFileError(f"{where}: give exactly one of fn, dist, probs, prob "
                            f"(found {', '.join(kinds) or 'none'})")
    how = kinds[0]
    penv = dict(params)

    def compile_(text, extra_names=(), what=how):
        e = parse(text, f"{where}, {what}")
        allowed = set(node_names) | set(params) | set(extra_names)
        bad = sorted(e.names - allowed)
        if bad:
            raise SpecFileError(f"{where}: unknown name {bad[0]!r} in {what} = {text!r}; "
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
        f = (utility if kind == "utility" else fn)(
            lambda *args: e.evaluate({**penv, **dict(zip(parents, args))}),
            parents=parents, label=label)
        return _dc_replace(f, values=values) if values is not None else f
    if how == "dist":
        d = nd["dist"]
        if d == "uniform":
            if values is None:
                raise SpecFileError(f"{where}: dist = \"uniform\" needs values = [...]")
            return _dc_replace(uniform(values), label=label)
        if d == "bernoulli":
            if "p" not in nd:
                raise SpecFileError(f"{where}: dist = \"bernoulli\" needs p = \"<expr>\"")
            e = compile_(nd["p"], what="p")
            if not e.names & node_names:
                return _dc_replace(bernoulli(e.evaluate(penv)), label=label)
            parents = parents_of([e])

            def bern(*args):
                q = as_sympy(e.evaluate({**penv, **dict(zip(parents, args))}))
                return {1: q, 0: 1 - q}
            return dist(bern, parents=parents, label=label)
        raise SpecFileError(f"{where}: unknown dist {d!r}; use \"uniform\" or \"bernoulli\" "
                            "(or probs = {...} for a table)")
    if how == "probs":
        table = nd["probs"]
        if not isinstance(table, dict) or not table:
            raise SpecFileError(f"{where}: probs must be a table value = \"probability\"")
        items = [(_key_value(k), compile_(v, what=f"probs.{k}")) for k, v in table.items()]
        if values is not None and set(v for v, _ in items) - set(values):
            raise SpecFileError(f"{where}: probs names values outside values = {list(values)}")
        parents = parents_of([e for _, e in items])

        def table_fn(*args):
            env = {**penv, **dict(zip(parents, args))}
            return {v: e.evaluate(env) for v, e in items}
        f = dist(table_fn, parents=parents, label=label)
        return _dc_replace(f, values=values or tuple(v for v, _ in items))
    # prob: an expression in the node's own value and its parents
    if values is None:
        raise SpecFileError(f"{where}: prob = \"...\" needs values = [...]")
    e = compile_(nd["prob"], extra_names=(n,))
    parents = parents_of([e], own=(n,))

    def prob_fn(*args):
        env = {**penv, **dict(zip(parents, args))}
        return {v: e.evaluate({**env, n: v}) for v in values}
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
    from .specmodels import STAR, query_functions
    env = spec.namespace()
    funcs: dict[str, Callable] = {"P": P, "E": E}
    funcs.update(query_functions(spec, env))
    funcs.update(overrides or {})
    query = STAR.sub(lambda mt: mt.group(1) + "_star", query)
    keywords = {"given"} | {v for m, _ in spec.mdps.values() for v in (m.variables or ())}
    out = evaluate_text(query, where, env, funcs, keywords,
                        "variables are written NODE_WORLD (e.g. S_f), parameters must be "
                        "declared")
    from .expressions import Expr
    if isinstance(out, Expr):
        raise SpecFileError(f"{where}: {query!r} is a random quantity, not a number; wrap it "
                            "in P(...) or E(...)")
    return as_sympy(out)


def evaluate_text(text: str, where: str, env: dict, funcs: dict, keywords=(),
                  hint: str = "") -> Any:
    """Parse ``text`` safely, check its names against ``env``, and evaluate it; any
    cpspec error is reported at ``where``."""
    e = parse(text, where, functions=frozenset(funcs), keywords=frozenset(keywords))
    bad = sorted(e.names - set(env))
    if bad:
        raise SpecFileError(f"{where}: unknown name {bad[0]!r} in {text!r}; {hint}")
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
            return sympy.simplify(a - b) == 0
        except (TypeError, AttributeError):
            return False
    return a == b


def check(spec: Spec) -> list:
    """Evaluate every claim of ``spec`` (one :class:`ClaimResult` each), verify every
    ``[[property]]`` (one :class:`~cpspec.specmodels.PropertyResult` each), and check
    every ``[[observations]]`` file (one :class:`ObservationResult` each).

    >>> spec = load("w.toml", text='[world.w.node.X]\\nfn = "2"\\n[claims]\\n"E(X_w)" = "3"\\n')
    >>> [(r.passed, r.derived, r.expected) for r in check(spec)]
    [(False, 2, 3)]
    """
    from .specmodels import check_properties
    return _check_claims(spec) + check_properties(spec) + check_observations(spec)


@dataclass(frozen=True)
class ObservationResult:
    """Conformance of every row of an observation file with a world."""

    world: str
    file: str
    rows: int
    failures: tuple = ()          # (line, message)
    error: str | None = None
    log_likelihood: Any = None

    @property
    def passed(self) -> bool:
        return self.error is None and not self.failures

    def __str__(self) -> str:
        if self.error:
            return f"ERROR {self.file}: {self.error}"
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
    from .theory import conforms, read_observations
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
                from .theory import likelihood
                logl = sympy.N(likelihood(d, [r for _, r in rows], log=True), 8)
            out.append(ObservationResult(w, file, len(rows), tuple(failures),
                                         log_likelihood=logl))
        except SpecError as exc:
            out.append(ObservationResult(w, file, 0, error=str(exc)))
    return out


def _check_claims(spec: Spec) -> list[ClaimResult]:
    results = []
    for claim in spec.claims:
        try:
            derived = derive(spec, claim.query, claim.where)
            expected = _expected(spec, claim)
        except SpecError as exc:
            results.append(ClaimResult(claim, False, error=str(exc)))
            continue
        results.append(ClaimResult(claim, _equal(derived, expected), derived, expected))
    return results


def _expected(spec: Spec, claim: Claim) -> Any:
    raw = claim.expected
    if isinstance(raw, bool):
        return raw
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
    from .regions import rational_between
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
