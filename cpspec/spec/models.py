"""Spec-file sections for agent models: ``[mdp.NAME]`` and ``[agent.NAME]``.

``[mdp.NAME]`` (flat)::

    states = ["start", "w", "done"]     actions = ["take", "wait"]
    start = "start"                     gamma = "gamma"        horizon = 2 | "N" | "oo"
    reward = "<expr in s, a, s2>"
    transition.start.wait = { w = "1" } (or transition_prob = "<expr in s, a, s2>")

``[mdp.NAME]`` (factored: named state variables)::

    variables.button = ["armed", "pressed", "disabled"]
    dynamics.button = { probs = { pressed = "...", armed = "...", disabled = "..." } }
    actions = ["work", "disable", "null"]
    start = { button = "armed" }
    reward = "<expr in the variables, a, and VARIABLE_next>"

``[mdp.NAME]`` (a named example world of :mod:`cpspec.examples`)::

    example = "car_factory"     lobby_power = "6/10" (or "none")
    electric_after_press = "r_e"  correction = "fc"  gamble = "p_w"  horizon = 25
    gamma = "9/10"

``[agent.NAME]``::

    kind = "FP" | "FPX" | "STH" | "SI" | "SIF" | "ITF" | "ITC" | "UPD" | "FO" | "CFO"
    env = "<mdp name>"          learner = "perfect" | "counting" | "counting:uniform"
                                          | "counting:stay"
    horizon = 3                 (planning horizon; omitted: infinite)
    epsilon = "1/10"            (FPX)
    stop = "<expr of the state>"  null_action = "null"  T_max = 5  U_max = "8"  (SI, SIF)
    terminal = "<variable>"     rewards.<content> = "<reward expr>"  (ITF, ITC, UPD)
    chunks.<name> = "<expr of the state: an action or end>"   primitive_chunks = true
                                (STH planning with chunks: cpspec.decisions.chunks)
    chunk_tables.<name>.X.<state> = { <end state> = "p" }   (or the chunks as tables,
    chunk_tables.<name>.T.<state> = { "<steps>" = "p" }     over a flat MDP: the states
    chunk_tables.<name>.U.<state> = "<utility>"             with rows are where it starts)
    reader = "<variable>"       unread = "<its value when nobody reads>"  (FO, CFO)

In ``reward`` and ``transition_prob``, ``s`` is the state, ``a`` the action and ``s2``
the next state; states and actions are named bare (``s == start``). A state or action
whose name is also one of those names, or a parameter's, cannot be named in these
expressions (``s == s2`` would read the next state, not the state ``s2``): such an
expression is an error naming the value to rename.

Every key has one type (a key of the wrong type, or one the kind does not use, is an
error naming the line); transition probabilities, ``start`` probabilities, ``gamma`` and
``epsilon`` are exact real numbers in [0, 1] (or expressions in the parameters), rewards
exact real numbers. Finite horizons, and the ``T`` and ``t`` of claims, are at most
:data:`MAX_HORIZON` steps.

Claim functions (:mod:`cpspec.spec.queries`): ``pi*(s)``, ``pi*(t, s)``, ``U(pi*)``, ``V(pi*, s)``,
``threshold(pi*)``, ``thresholds(pi*)``, ``plan_thresholds(pi*, low, high)`` (exact
line search over the MDP's one parameter), ``trace(pi*)``, ``trace(pi*, value)`` for MDPs
(``pi_NAME*`` with several MDPs); ``U(w)`` and ``pi*(D_w, info...)`` for a world with decision nodes; and for agents
``act(agent, state)``, ``act(agent, state, t)``, ``value(agent, T)`` (exact expected
discounted learning-world reward), ``plan_threshold(agent, state)`` (where the planned
action changes with the one parameter), ``switch(agent, state)`` (an STH agent's planned
action as a function of its horizon ``N``). A factored state is written
``S(button='armed')``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import sympy

from .. import agents as ag
from ..examples import car_factory
from ..agents.learners import counting
from ..decisions.chunks import END
from ..decisions.chunks import chunks as make_chunks
from ..decisions.mdp import MDP
from ..errors import DuplicateNameError, SpecError, SpecFileError
from .base import (Probes, brief, locate, normal_name, normal_names, read_number,
                   read_probability, read_ref, read_values, reject_unknown_keys)
from .nodes import compile_node
from .safeexpr import SafeExpression, parse

__all__ = ["MAX_HORIZON", "build_mdp", "build_agents", "read_horizon", "read_steps",
           "word_names", "state_words", "no_clash"]

_MDP_KEYS = {"states", "actions", "start", "gamma", "horizon", "transition",
             "transition_prob", "reward", "variables", "dynamics", "example"}

#: The example worlds a spec file may name, with the keys each one reads.
_EXAMPLE_KEYS = {"car_factory": {"lobby_power", "electric_after_press", "correction",
                                 "gamble", "horizon", "gamma"}}

#: The longest finite horizon (in steps) a spec file may ask for, in ``horizon = ...`` or
#: in a claim such as ``value(agent, T)``: each step is one round of exact backward
#: induction over all states. Longer horizons: ``"oo"`` or a symbolic ``N``.
MAX_HORIZON = 10_000


def _atoms(raw, where, what) -> tuple:
    """States or actions: a non-empty list of distinct strings or integers."""
    xs = read_values(raw, where, what)
    if not xs:
        raise SpecFileError(f"{where}: {what} must list at least one")
    for x in xs:
        if isinstance(x, (tuple, bool)):
            raise SpecFileError(f"{where}: {what} are strings or integers, not {x!r}")
    return xs


def word_names(values, where) -> dict:
    """Value words that expressions may name bare (``s == start``): NFKC name -> value;
    two values with one name are an error.

    >>> word_names(["start", "ｗait", 3], "t.toml")
    {'start': 'start', 'wait': 'ｗait'}
    """
    out: dict = {}
    for x in values:
        if isinstance(x, str) and normal_name(x).isidentifier():
            n = normal_name(x)
            if n in out and out[n] != x:
                raise DuplicateNameError(f"{where}: the values {out[n]!r} and {x!r} are the "
                                         f"same name {n!r} in expressions (NFKC); rename one")
            out.setdefault(n, x)
    return out


_ROLES = {"s": "the state s", "a": "the action a", "s2": "the next state s2"}


def no_clash(e, words: dict, roles: dict, params, where, what, text) -> None:
    """Refuse an expression that names bare a value (a state, an action, a variable's
    value) whose name is also one of the expression's own names (``roles``: name ->
    what it is there, such as ``s2``, the next state) or a parameter: ``s == s2`` would
    silently read the other one."""
    for n in sorted(e.names):
        if n in words and (n in roles or n in params):
            role = roles.get(n) or f"the parameter {n}"
            raise SpecFileError(
                f"{where}: {what} = {brief(text)} names {n!r}, which is both {role} and "
                f"the value {words[n]!r}; rename that value (e.g. {n + '_'!r}) so that "
                "each name means one thing")


def _by_text(values, where, what) -> dict:
    """TOML keys are text: value text -> value, refusing two values with one text."""
    out: dict = {}
    for x in values:
        if str(x) in out:
            raise SpecFileError(f"{where}: the {what} {out[str(x)]!r} and {x!r} are written "
                                "alike as table keys; rename one")
        out[str(x)] = x
    return out


def _gamma(md, params, where, probes):
    raw = md.get("gamma", "1")
    g = parse(raw, f"{where}, gamma").evaluate(dict(params))
    return read_probability(g, f"{where}, gamma", "gamma (the discount)", probes)


def read_steps(t, where, what):
    """A number of steps from a claim: a non-negative integer up to :data:`MAX_HORIZON`."""
    if isinstance(t, bool) or not isinstance(t, int) or t < 0:
        raise SpecFileError(f"{where}: {what} = {brief(t)} must be a non-negative integer")
    if t > MAX_HORIZON:
        raise SpecFileError(f"{where}: {what} = {t:,} is above the limit of {MAX_HORIZON:,} "
                            "steps (cpspec.spec.models.MAX_HORIZON)")
    return t


def read_horizon(horizon, params, where):
    """A ``horizon``: None (omitted), a non-negative integer up to :data:`MAX_HORIZON`,
    ``oo`` (infinite), or a declared parameter."""
    if horizon is None:
        return None
    if isinstance(horizon, int) and not isinstance(horizon, bool) and horizon > MAX_HORIZON:
        raise SpecFileError(f"{where}: horizon = {horizon:,} is above the limit of "
                            f"{MAX_HORIZON:,} steps (cpspec.spec.models.MAX_HORIZON); for a "
                            "long horizon use \"oo\" (infinite) or a declared parameter N")
    if isinstance(horizon, str):
        h = normal_name(horizon.strip())
        if h in ("oo", "inf", "infinity"):
            return sympy.oo
        if h in params:
            return params[h]
    elif isinstance(horizon, int) and not isinstance(horizon, bool) and horizon >= 0:
        return horizon
    raise SpecFileError(f"{where}: horizon = {brief(horizon)} must be a non-negative integer, "
                        "\"oo\", or a declared parameter such as \"N\"")


def _make_mdp(make, where):
    """Build an MDP, its errors named at the ``[mdp.NAME]`` table."""
    try:
        return make()
    except SpecFileError:
        raise
    except SpecError as exc:
        raise SpecFileError(f"{where}: {exc}") from None


# ---- flat MDPs ------------------------------------------------------------------------

def build_mdp(name, md, params, path, lines, probes: Probes | None = None):
    """An ``[mdp.NAME]`` table -> ``(MDP, horizon)``; ``probes`` collects the symbolic
    probabilities (see :mod:`cpspec.spec.nodes`)."""
    where = locate(path, lines, f"mdp.{name}", label=f"mdp {name}")
    if "example" in md:
        return _build_example(name, md, params, path, lines, where, probes)
    reject_unknown_keys(md, _MDP_KEYS, path, lines, f"mdp {name}")
    if "variables" in md:
        return _build_factored(name, md, params, path, lines, where, probes)
    for k in ("states", "actions", "start", "reward"):
        if k not in md:
            raise SpecFileError(f"{where}: missing {k} = ...")
    states = _atoms(md["states"], where, "states")
    actions = _atoms(md["actions"], where, "actions")
    flat = _Flat(name, where, dict(params), states, actions,
                 _by_text(states, where, "states"), _by_text(actions, where, "actions"),
                 word_names(states + actions, where), probes)
    if ("transition" in md) == ("transition_prob" in md):
        raise SpecFileError(f"{where}: give exactly one of transition (a table "
                            "transition.STATE.ACTION = {NEXT = \"p\"}) or transition_prob "
                            "(an expression in s, a, s2)")
    if "transition" in md:
        transition = _table_transition(flat, md["transition"], path, lines)
    else:
        transition = _expr_transition(flat, md["transition_prob"])
    reward = _flat_reward(flat, md["reward"])
    start = _flat_start(flat, md["start"])
    gamma = _gamma(md, params, where, probes)
    mdp = _make_mdp(lambda: MDP(states, actions, transition, reward, start, gamma), where)
    return mdp, read_horizon(md.get("horizon"), params, where)


def _build_example(name, md, params, path, lines, where, probes):
    """``example = "car_factory"`` and its arguments -> ``(MDP, horizon)``."""
    kind = md["example"]
    if kind not in _EXAMPLE_KEYS:
        raise SpecFileError(f"{where}: example must be one of "
                            f"{', '.join(map(repr, _EXAMPLE_KEYS))}, not {brief(kind)}")
    reject_unknown_keys(md, _EXAMPLE_KEYS[kind] | {"example"}, path, lines,
                        f"mdp {name} (example {kind})")
    penv = dict(params)

    def number(key, what):
        raw = md[key]
        if isinstance(raw, str):
            raw = parse(raw, f"{where}, {key}").evaluate(penv)
        return read_number(raw, f"{where}, {key}", what)
    if "lobby_power" not in md:
        raise SpecFileError(f"{where}: car_factory needs lobby_power = \"<number>\" (or "
                            "\"none\": no lobbying actions)")
    kw: dict[str, Any] = {}
    kw["lobby_power"] = None if md["lobby_power"] == "none" else number(
        "lobby_power", "the lobbying power")
    if "electric_after_press" in md:
        kw["electric_after_press"] = number("electric_after_press", "the reward r_e")
    if "gamble" in md:
        kw["gamble"] = read_probability(number("gamble", "p_w"), f"{where}, gamble",
                                        "the probability p_w of winning", probes)
    if "correction" in md:
        c = md["correction"]
        if c not in ("none", "fc", "fcgc"):
            raise SpecFileError(f"{where}: correction must be \"none\", \"fc\" or "
                                f"\"fcgc\", not {brief(c)}")
        kw["correction"] = None if c == "none" else c
    horizon = read_steps(md.get("horizon", 25), where, "horizon")
    kw["horizon"] = horizon
    if "gamma" in md:
        kw["gamma"] = _gamma(md, params, where, probes)
    return _make_mdp(lambda: car_factory(**kw), where), horizon


@dataclass(frozen=True)
class _Flat:
    """A flat ``[mdp.NAME]`` being read: its states, actions and the names its expressions
    may use."""

    name: str
    where: str
    penv: dict
    states: tuple
    actions: tuple
    by_key: dict
    by_act: dict
    words: dict
    probes: Probes | None

    def expr(self, text, names, what) -> SafeExpression:
        e = parse(text, f"{self.where}, {what}")
        no_clash(e, self.words, {n: _ROLES.get(n, n) for n in names}, self.penv,
                 self.where, what, text)
        bad = sorted(n for n in e.names
                     if n not in names and n not in self.penv and n not in self.words)
        if bad:
            raise SpecFileError(f"{self.where}: unknown name {bad[0]!r} in {what} = "
                                f"{brief(text)}; use {', '.join(names) or 'numbers'} and "
                                "declared params")
        return e

    def env(self, s, a, s2) -> dict:
        return {**self.penv, **self.words, "s": s, "a": a, "s2": s2}


def _table_transition(flat: _Flat, table, path, lines):
    """``transition.STATE.ACTION = {NEXT = "p"}`` -> a transition function."""
    where, name = flat.where, flat.name
    if not isinstance(table, dict) or not all(
            isinstance(r, dict) and all(isinstance(n, dict) for n in r.values())
            for r in table.values()):
        raise SpecFileError(f"{where}: transition must be tables transition.STATE.ACTION "
                            "= {NEXT_STATE = \"probability\"}, not "
                            f"{brief(table)}")
    rows: dict = {}
    for sk, by_a in table.items():
        if sk not in flat.by_key:
            raise SpecFileError(f"{locate(path, lines, sk, label=f'mdp {name}')}: "
                                f"transition from unknown state {sk!r}")
        for ak, nxt in by_a.items():
            if ak not in flat.by_act:
                raise SpecFileError(f"{locate(path, lines, ak, label=f'mdp {name}')}: "
                                    f"unknown action {ak!r} in transition.{sk}")
            row = {}
            for s2k, ptext in nxt.items():
                if s2k not in flat.by_key:
                    raise SpecFileError(f"{where}: transition.{sk}.{ak} leads to unknown "
                                        f"state {s2k!r}")
                what = f"transition.{sk}.{ak}.{s2k}"
                row[flat.by_key[s2k]] = read_probability(
                    flat.expr(ptext, (), what).evaluate(flat.penv), f"{where}, {what}", what,
                    flat.probes)
            rows[(flat.by_key[sk], flat.by_act[ak])] = row

    def transition(s, a):
        if (s, a) not in rows:
            raise SpecFileError(f"{where}: no transition.{s}.{a} row; give one for every "
                                "state and action")
        return rows[(s, a)]
    return transition


def _expr_transition(flat: _Flat, text):
    """``transition_prob = "<expr in s, a, s2>"`` -> a transition function."""
    te = flat.expr(text, ("s", "a", "s2"), "transition_prob")

    def transition(s, a):
        return {s2: read_probability(te.evaluate(flat.env(s, a, s2)),
                                     f"{flat.where}, transition_prob",
                                     f"transition_prob at s = {s!r}, a = {a!r}, s2 = {s2!r}",
                                     flat.probes)
                for s2 in flat.states}
    return transition


def _flat_reward(flat: _Flat, text):
    re_ = flat.expr(text, ("s", "a", "s2"), "reward")

    def reward(s, a, s2):
        return read_number(re_.evaluate(flat.env(s, a, s2)), f"{flat.where}, reward",
                           f"the reward at s = {s!r}, a = {a!r}, s2 = {s2!r}")
    return reward


def _flat_start(flat: _Flat, start):
    """``start``: one state, or a table of start probabilities."""
    where, states = flat.where, flat.states
    if isinstance(start, dict):
        dist = {}
        for k, v in start.items():
            if k not in flat.by_key:
                raise SpecFileError(f"{where}: start.{k}: {k!r} is not a state")
            dist[flat.by_key[k]] = read_probability(
                flat.expr(v, (), f"start.{k}").evaluate(flat.penv), f"{where}, start.{k}",
                f"start.{k}", flat.probes)
        return dist
    if isinstance(start, (str, int)) and not isinstance(start, bool):
        if start not in states:
            raise SpecFileError(f"{where}: start = {start!r} is not one of the states "
                                f"{list(states)}")
        return start
    raise SpecFileError(f"{where}: start must be a state (start = \"{states[0]}\") or a "
                        f"table of start probabilities, not {brief(start)}")


# ---- factored MDPs ------------------------------------------------------------------

def _build_factored(name, md, params, path, lines, where, probes):
    """A factored MDP: ``variables.X = [values]``, ``dynamics.X = {fn|probs|prob|dist}``
    (expressions of the current variables and the action ``a``), ``reward`` (an
    expression of the current variables, ``a``, and ``X_next``), ``start = {X = v}``."""
    for k in ("actions", "start", "reward", "dynamics"):
        if k not in md:
            raise SpecFileError(f"{where}: a factored MDP needs {k} = ...")
    if "states" in md or "transition" in md or "transition_prob" in md:
        raise SpecFileError(f"{where}: a factored MDP (with variables) takes dynamics, not "
                            "states/transition")
    domains = _factored_domains(md["variables"], path, lines, where)
    actions = _atoms(md["actions"], where, "actions")
    words = word_names([x for vals in list(domains.values()) + [actions] for x in vals],
                       where)
    dynamics = _factored_dynamics(name, md["dynamics"], domains, words, params, path, lines,
                                  where, probes)
    reward = _factored_reward(md["reward"], domains, words, params, where)
    start = _factored_start(md["start"], domains, path, lines, where)
    gamma = _gamma(md, params, where, probes)
    mdp = _make_mdp(lambda: MDP.factored(domains, dynamics, actions, reward, start, gamma),
                    where)
    return mdp, read_horizon(md.get("horizon"), params, where)


def _factored_domains(variables, path, lines, where) -> dict:
    """``variables.X = [values]`` -> variable -> its values."""
    if not isinstance(variables, dict) or not variables:
        raise SpecFileError(f"{where}: variables must be a table NAME = [values]")
    variables = normal_names(variables, "state variable", path, lines)
    domains = {}
    for v, vals in variables.items():
        if not v.isidentifier() or v == "a":
            raise SpecFileError(f"{where}: state variable {v!r} must be an identifier other "
                                "than a (the action)")
        domains[v] = read_values(vals, f"{where}, variables.{v}", f"variables.{v}")
        if not domains[v]:
            raise SpecFileError(f"{where}: variables.{v} must list at least one value")
    return domains


def _factored_dynamics(name, raw_dyn, domains, words, params, path, lines, where,
                       probes) -> dict:
    """``dynamics.X``: each variable's next value as a node of the current variables and
    the action ``a`` (written ``A`` inside the MDP)."""
    if not isinstance(raw_dyn, dict):
        raise SpecFileError(f"{where}: dynamics must be a table dynamics.VARIABLE = "
                            f'"<expr>" or {{probs = ...}}, not {brief(raw_dyn)}')
    raw_dyn = normal_names(raw_dyn, "dynamics variable", path, lines)
    names = set(domains) | {"a"}
    dynamics = {}
    for v in domains:
        if v not in raw_dyn:
            raise SpecFileError(f"{where}: variable {v!r} has no dynamics.{v}")
        nd = raw_dyn[v]
        if isinstance(nd, str):
            nd = {"fn": nd}
        if not isinstance(nd, dict):
            raise SpecFileError(f"{where}: dynamics.{v} must be an expression or a table, "
                                f"not {brief(nd)}")
        if "values" in nd:
            raise SpecFileError(f"{where}: dynamics.{v} takes its values from variables.{v}; "
                                "remove values here")
        nd = {"values": list(domains[v]), **nd}
        # bare value and action names (pressed, disable) stand for themselves
        f = compile_node(f"mdp {name}", v, nd, names, {**words, **params}, path, lines,
                         where=locate(path, lines, f"dynamics.{v}",
                                      label=f"dynamics.{v} of mdp {name}"), probes=probes)
        if f.parents is not None and "a" in f.parents:
            f = replace(f, parents=tuple("A" if p == "a" else p for p in f.parents))
        dynamics[v] = f
    extra = set(raw_dyn) - set(domains)
    if extra:
        raise SpecFileError(f"{where}: dynamics for unknown variable {sorted(extra)[0]!r}")
    return dynamics


def _factored_reward(text, domains, words, params, where):
    """``reward``: an expression of the variables, ``a`` and ``VARIABLE_next``."""
    allowed = set(domains) | {f"{v}_next" for v in domains} | {"a"} | set(params) | set(words)
    re_ = parse(text, f"{where}, reward")
    no_clash(re_, words, {"a": "the action a", **{v: f"the variable {v}" for v in domains},
                          **{f"{v}_next": f"the next value of {v}" for v in domains}},
             {str(k) for k in params}, where, "reward", text)
    bad = sorted(n for n in re_.names if n not in allowed)
    if bad:
        raise SpecFileError(f"{where}: unknown name {bad[0]!r} in reward; use the variables, "
                            "a, VARIABLE_next and declared params")
    penv = {**words, **params}

    def reward(s, a, s2):
        env = {**penv, **s, **{f"{k}_next": v for k, v in s2.items()}, "a": a}
        return read_number(re_.evaluate(env), f"{where}, reward",
                           f"the reward at {s}, a = {a!r}")
    return reward


def _factored_start(start, domains, path, lines, where) -> dict:
    """``start = {X = v}``: every value one of its variable's values (as listed there)."""
    if not isinstance(start, dict):
        raise SpecFileError(f"{where}: start must be a table VARIABLE = value, e.g. start = "
                            f"{{ {next(iter(domains))} = {domains[next(iter(domains))][0]!r} }}")
    out = {}
    for k, v in normal_names(start, "start variable", path, lines).items():
        if k not in domains:
            raise SpecFileError(f"{where}: start.{k}: {k!r} is not a state variable")
        if isinstance(v, list):
            v = tuple(v)
        if v not in domains[k] or isinstance(v, bool) != any(
                isinstance(x, bool) and x == v for x in domains[k]):
            raise SpecFileError(f"{where}: start.{k} = {brief(v)} is not among "
                                f"variables.{k} = {list(domains[k])}")
        out[k] = next(x for x in domains[k] if x == v)
    return out


# ---- agents ---------------------------------------------------------------------------

_COMMON_AGENT_KEYS = {"kind", "env", "learner", "horizon"}
_AGENT_KEYS = {
    "FP": set(), "FPX": {"epsilon"}, "STH": {"chunks", "primitive_chunks", "chunk_tables"},
    "FO": {"reader", "unread"}, "CFO": {"reader", "unread"},
    "SI": {"stop", "null_action", "T_max", "U_max"},
    "SIF": {"stop", "null_action", "T_max", "U_max"},
    "ITF": {"terminal", "rewards"}, "ITC": {"terminal", "rewards"},
    "UPD": {"terminal", "rewards"},
}
_LEARNERS = ("perfect", "counting", "counting:uniform", "counting:stay")
_KINDS = {"FP": ag.FP, "FPX": ag.FPX, "STH": ag.STH, "SI": ag.SI, "SIF": ag.SIF,
          "ITF": ag.ITF, "ITC": ag.ITC, "UPD": ag.UPD, "FO": ag.FO, "CFO": ag.CFO}


def build_agents(data: dict, mdps: dict, params: dict, path, lines,
                 probes: Probes | None = None) -> dict:
    """``[agent.NAME]`` tables -> agents (:mod:`cpspec.agents.paper`), in order."""
    return {name: _build_agent(name, ad, mdps, params, path, lines, probes)
            for name, ad in data.items()}


def _build_agent(name, ad, mdps, params, path, lines, probes):
    where = locate(path, lines, f"agent.{name}", label=f"agent {name}")
    kind = ad.get("kind")
    if not isinstance(kind, str) or kind not in _KINDS:
        raise SpecFileError(f"{where}: kind must be one of {', '.join(_KINDS)} (in quotes), "
                            f"not {brief(kind)}")
    reject_unknown_keys(ad, _COMMON_AGENT_KEYS | _AGENT_KEYS[kind], path, lines,
                        f"agent {name} of kind {kind}")
    if "env" not in ad:
        raise SpecFileError(f"{where}: env = \"...\" (the [mdp.NAME] the agent acts in) "
                            "is missing")
    env, _ = mdps[read_ref(ad["env"], where, "env", mdps, "[mdp.NAME]")]
    learner = ad.get("learner", "perfect")
    if not isinstance(learner, str) or learner not in _LEARNERS:
        raise SpecFileError(f"{where}: learner must be one of "
                            f"{', '.join(map(repr, _LEARNERS))}, not {brief(learner)}")
    if learner.startswith("counting:"):
        learner = counting(default=learner.split(":", 1)[1])
    kw: dict[str, Any] = {"learner": learner}
    if "horizon" in ad:
        kw["horizon"] = read_horizon(ad["horizon"], params, where)
    penv = dict(params)
    words = state_words(env)
    if kind == "FPX":
        kw["epsilon"] = (read_probability(_agent_number(ad, "epsilon", penv, where),
                                          f"{where}, epsilon", "epsilon", probes)
                         if "epsilon" in ad else sympy.Rational(1, 10))
    if kind in ("SI", "SIF"):
        kw.update(_stop_options(kind, ad, env, penv, words, where))
    if kind in ("ITF", "ITC", "UPD"):
        kw.update(_terminal_options(kind, ad, env, penv, words, where))
    if kind in ("FO", "CFO"):
        kw.update(_reader_options(kind, ad, env, where))
    if kind == "STH" and "chunk_tables" in ad:
        if "chunks" in ad or "primitive_chunks" in ad:
            raise SpecFileError(f"{where}: give the chunks either as policies (chunks.<name>, "
                                "primitive_chunks) or as chunk_tables, not both")
        kw["chunks"] = _chunk_tables(ad["chunk_tables"], env, penv, where)
    elif kind == "STH" and ("chunks" in ad or "primitive_chunks" in ad):
        kw["chunks"] = _chunk_options(ad, env, penv, words, where)
    try:
        return _KINDS[kind](env, **kw)
    except SpecFileError:
        raise
    except SpecError as exc:
        raise SpecFileError(f"{where}: {exc}") from None


def _agent_number(ad, key, penv, where):
    return read_number(parse(ad[key], f"{where}, {key}").evaluate(penv), f"{where}, {key}",
                       key)


def _stop_options(kind, ad, env, penv, words, where) -> dict:
    """``stop``, ``null_action``, ``T_max`` and ``U_max`` of an SI or SIF agent."""
    if "stop" not in ad or "null_action" not in ad:
        raise SpecFileError(f"{where}: {kind} needs stop = \"<expr>\" and "
                            "null_action = \"...\"")
    kw: dict[str, Any] = {"stop_pressed": _state_predicate(ad["stop"], env, penv, words,
                                                           f"{where}, stop")}
    null = ad["null_action"]
    if isinstance(null, bool) or null not in env.actions:
        raise SpecFileError(f"{where}: null_action = {brief(null)} is not an action of "
                            f"mdp {ad['env']}; actions: {list(env.actions)}")
    kw["null_action"] = null
    if "T_max" in ad:
        t = ad["T_max"]
        if isinstance(t, bool) or not isinstance(t, int) or t < 0:
            raise SpecFileError(f"{where}: T_max = {brief(t)} must be a non-negative "
                                "integer (the runtime limit in steps)")
        kw["T_max"] = t
    if "U_max" in ad:
        kw["U_max"] = _agent_number(ad, "U_max", penv, where)
    return kw


def _terminal_options(kind, ad, env, penv, words, where) -> dict:
    """``terminal`` and ``rewards.<content>`` of an ITF or ITC agent."""
    if "terminal" not in ad or not isinstance(ad.get("rewards"), dict):
        raise SpecFileError(f"{where}: {kind} needs terminal = \"<variable>\" and "
                            "rewards.<content> = \"<expr>\"")
    term = read_ref(ad["terminal"], where, "terminal",
                    {v: v for v in (env.variables or ())}, "state variable")
    contents = _by_text(list(dict.fromkeys(s[term] for s in env.states)), where,
                        "terminal contents")
    rewards = {}
    for c, text in ad["rewards"].items():
        if c not in contents:
            raise SpecFileError(f"{where}: rewards.{c}: {c!r} is not a content of the "
                                f"terminal {term}; contents: {list(contents)}")
        rewards[contents[c]] = _state_reward(text, env, penv, words, f"{where}, rewards.{c}")
    return {"terminal": term, "rewards": rewards}


def _reader_options(kind, ad, env, where) -> dict:
    """``reader`` and ``unread`` of an FO or CFO agent."""
    if "reader" not in ad or "unread" not in ad:
        raise SpecFileError(f"{where}: {kind} needs reader = \"<variable>\" and "
                            "unread = \"<its value when nobody reads the answer>\"")
    reader = read_ref(ad["reader"], where, "reader", {v: v for v in (env.variables or ())},
                      "state variable")
    values = _by_text(env.factors.domains[reader], where, f"values of {reader}")
    if str(ad["unread"]) not in values or isinstance(ad["unread"], bool):
        raise SpecFileError(f"{where}: unread = {brief(ad['unread'])} is not a value of "
                            f"{reader}; values: {list(values)}")
    return {"reader": reader, "unread": values[str(ad["unread"])]}


def _chunk_options(ad, env, penv, words, where):
    """``chunks.<name> = "<expr>"`` (an action or ``end`` in each state) and
    ``primitive_chunks`` of an STH agent -> a chunk model."""
    table = ad.get("chunks", {})
    if not isinstance(table, dict):
        raise SpecFileError(f"{where}: chunks must be a table chunks.<name> = \"<expr of the "
                            "state giving an action or end>\"")
    prim = ad.get("primitive_chunks", False)
    if not isinstance(prim, bool):
        raise SpecFileError(f"{where}: primitive_chunks = {brief(prim)} must be true or false")
    if END in words and words[END] != END:
        raise SpecFileError(f"{where}: a value is named {END!r}, which chunks return to end; "
                            "rename the value")
    policies = {}
    for name, text in table.items():
        if not isinstance(text, str):
            raise SpecFileError(f"{where}: chunks.{name} = {brief(text)} must be an expression "
                                "(in quotes) giving an action or end")
        e = parse(text, f"{where}, chunks.{name}")  # unknown names: when chunks derive

        def policy(s, _e=e, _name=name):
            return _e.evaluate({**words, END: END, **penv, **_state_env(env, s)})
        policies[name] = policy
    try:
        return make_chunks(env, policies, primitive=prim)
    except SpecFileError:
        raise
    except SpecError as exc:
        raise SpecFileError(f"{where}: {exc}") from None


def _chunk_tables(raw, env, penv, where):
    """``chunk_tables.<name>.X.<state> = { <state> = "p" }``, ``...T.<state> = { "<steps>"
    = "p" }`` and ``...U.<state> = "<utility>"`` of an STH agent over a flat MDP (the
    states where a chunk has rows are where it is available) -> a chunk model."""
    if env.variables is not None:
        raise SpecFileError(f"{where}: chunk_tables are keyed by state names, so they need "
                            "a flat MDP (states = [...]); for a factored one give the chunks "
                            "as policies (chunks.<name> = \"<expr>\")")
    if not isinstance(raw, dict) or not raw:
        raise SpecFileError(f"{where}: chunk_tables must be tables chunk_tables.<name> with "
                            "X, T and U")
    states = _by_text(env.states, where, "states")
    X, T, U = {}, {}, {}
    for name, tab in raw.items():
        at = f"{where}, chunk_tables.{name}"
        if not isinstance(tab, dict) or set(tab) != {"X", "T", "U"} or not all(
                isinstance(tab[k], dict) for k in "XTU"):
            raise SpecFileError(f"{at} must have the three tables X, T and U (keyed by the "
                                "states where the chunk can start)")
        if not set(tab["X"]) == set(tab["T"]) == set(tab["U"]):
            raise SpecFileError(f"{at}: X, T and U must have rows for the same states")
        for key in tab["X"]:
            if key not in states:
                raise SpecFileError(f"{at}.X.{key}: {key!r} is not a state; states: "
                                    f"{list(states)}")
            s = states[key]
            X[(s, name)] = _chunk_row(tab["X"][key], f"{at}.X.{key}", penv,
                                      ("end state", "end states"), lambda k: states.get(k))
            T[(s, name)] = _chunk_row(tab["T"][key], f"{at}.T.{key}", penv,
                                      ("number of steps", "durations"),
                                      lambda k: int(k) if k.isdigit() else None)
            U[(s, name)] = read_number(parse(tab["U"][key], f"{at}.U.{key}").evaluate(penv)
                                       if isinstance(tab["U"][key], str) else tab["U"][key],
                                       f"{at}.U.{key}", "a chunk's utility")
    try:
        return make_chunks(env, X=X, T=T, U=U)
    except SpecError as exc:
        raise SpecFileError(f"{where}: {exc}") from None


def _chunk_row(row, at, penv, words, key_of) -> dict:
    """One row of X or T: ``{ <key> = "<probability>" }`` adding up to 1."""
    what, plural = words
    if not isinstance(row, dict) or not row:
        raise SpecFileError(f'{at} must be a table {{ <{what}> = "<probability>" }}')
    out = {}
    for k, p in row.items():
        v = key_of(k)
        if v is None:
            raise SpecFileError(f"{at}: {k!r} is not a valid {what}")
        out[v] = read_probability(parse(p, at).evaluate(penv) if isinstance(p, str) else p,
                                  at, f"the probability of {what} {k}")
    total = sum(out.values())
    if total != 1:
        raise SpecFileError(f"{at}: the probabilities add up to {total}, not 1; a row of "
                            f"{at.rsplit('.', 2)[-2]} is a distribution over the {plural}")
    return out


def state_words(env) -> dict:
    """The words naming an MDP's actions and state values, as expressions read them."""
    vals = list(env.actions)
    if env.variables is None:
        vals += list(env.states)
    else:
        vals += [v for s in env.states for v in s.values()]
    return word_names(dict.fromkeys(vals), "the MDP")


def _state_env(env, s) -> dict:
    return dict(s) if env.variables is not None else {"s": s}


def _state_predicate(text, env, penv, words, where):
    e = parse(text, where)
    allowed = set(env.variables or ("s",)) | set(penv) | set(words)
    bad = sorted(e.names - allowed)
    if bad:
        raise SpecFileError(f"{where}: unknown name {bad[0]!r} in {brief(text)}")

    def pred(s):
        v = e.evaluate({**words, **penv, **_state_env(env, s)})
        if not isinstance(v, bool):
            raise SpecFileError(f"{where}: {brief(text)} gives {brief(v)} in state {s}, not "
                                "true or false; write a condition such as button == pressed")
        return v
    return pred


def _state_reward(text, env, penv, words, where):
    e = parse(text, where)
    names = set(env.variables or ("s",)) | {"a"} | set(penv) | set(words)
    names |= {f"{v}_next" for v in (env.variables or ())} | {"s2"}
    bad = sorted(e.names - names)
    if bad:
        raise SpecFileError(f"{where}: unknown name {bad[0]!r} in {brief(text)}")

    def r(s, a, s2):
        nxt = ({f"{k}_next": v for k, v in s2.items()} if env.variables is not None
               else {"s2": s2})
        return read_number(e.evaluate({**words, **penv, **_state_env(env, s), **nxt, "a": a}),
                       where, f"the reward in {s}, a = {a!r}")
    return r
