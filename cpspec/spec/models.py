"""Spec-file sections for agent models: ``[mdp.NAME]`` and ``[agent.NAME]``, and the
claim functions that talk about them.

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

``[agent.NAME]``::

    kind = "FP" | "FPX" | "STH" | "SI" | "SIF" | "ITF" | "ITC"
    env = "<mdp name>"          learner = "perfect" | "counting" | "counting:uniform"
                                          | "counting:stay"
    horizon = 3                 (planning horizon; omitted: infinite)
    epsilon = "1/10"            (FPX)
    stop = "<expr of the state>"  null_action = "null"  T_max = 5  U_max = "8"  (SI, SIF)
    terminal = "<variable>"     rewards.<content> = "<reward expr>"  (ITF, ITC)

Every key has one type (a key of the wrong type, or one the kind does not use, is an
error naming the line); transition probabilities, ``start`` probabilities, ``gamma`` and
``epsilon`` are exact real numbers in [0, 1] (or expressions in the parameters), rewards
exact real numbers. Finite horizons, and the ``T`` and ``t`` of claims, are at most
:data:`MAX_HORIZON` steps.

Claim functions: ``pi*(s)``, ``pi*(t, s)``, ``U(pi*)``, ``V(pi*, s)``,
``threshold(pi*)``, ``thresholds(pi*)`` for MDPs (``pi_NAME*`` with several MDPs);
``U(w)`` and ``pi*(D_w, info...)`` for a world with decision nodes; and for agents
``act(agent, state)``, ``act(agent, state, t)``, ``value(agent, T)`` (exact expected
discounted learning-world reward), ``plan_threshold(agent, state)`` (where the planned
action changes with the one parameter), ``switch(agent, state)`` (an STH agent's planned
action as a function of its horizon ``N``). A factored state is written
``S(button='armed')``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Any

import sympy

from ..core.diagram import Diagram
from ..decisions.mdp import MDP
from ..errors import SpecError, SpecFileError
from .safeexpr import parse
from ..errors import DuplicateNameError
from .loader import (Spec, _brief, _names, _node, _number, _probability, _ref, _values,
                       _where, evaluate_text, normal_name, reject_unknown_keys)

# the builders (build_mdp, build_agents, build_properties, check_properties,
# model_names, query_functions) are the spec-file loader's; the records are public
__all__ = ["PolicyRef", "PropertyEntry", "PropertyResult"]


_MDP_KEYS = {"states", "actions", "start", "gamma", "horizon", "transition",
             "transition_prob", "reward", "variables", "dynamics"}

#: ``pi*`` and ``pi_NAME*`` in a query are rewritten to the names ``pi_star``,
#: ``pi_NAME_star`` before parsing (``pi*(s)`` is not Python syntax).
STAR = re.compile(r"\b(pi(?:_[A-Za-z_]\w*)?)\*")


def _atoms(raw, where, what) -> tuple:
    """States or actions: a non-empty list of distinct strings or integers."""
    xs = _values(raw, where, what)
    if not xs:
        raise SpecFileError(f"{where}: {what} must list at least one")
    for x in xs:
        if isinstance(x, (tuple, bool)):
            raise SpecFileError(f"{where}: {what} are strings or integers, not {x!r}")
    return xs


def _word_names(values, where) -> dict:
    """Value words that expressions may name bare (``s == start``): NFKC name -> value;
    two values with one name are an error."""
    out: dict = {}
    for x in values:
        if isinstance(x, str) and normal_name(x).isidentifier():
            n = normal_name(x)
            if n in out and out[n] != x:
                raise DuplicateNameError(f"{where}: the values {out[n]!r} and {x!r} are the "
                                         f"same name {n!r} in expressions (NFKC); rename one")
            out.setdefault(n, x)
    return out


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
    return _probability(g, f"{where}, gamma", "gamma (the discount)", probes)


def build_mdp(name, md, params, path, lines):
    """An ``[mdp.NAME]`` table -> ``(MDP, horizon)``."""
    where = _where(path, lines, f"mdp.{name}", label=f"mdp {name}")
    reject_unknown_keys(md, _MDP_KEYS, path, lines, f"mdp {name}")
    probes = getattr(lines, "probes", None)
    if "variables" in md:
        return _build_factored(name, md, params, path, lines, where)
    for k in ("states", "actions", "start", "reward"):
        if k not in md:
            raise SpecFileError(f"{where}: missing {k} = ...")
    states = _atoms(md["states"], where, "states")
    actions = _atoms(md["actions"], where, "actions")
    penv = dict(params)
    by_key = _by_text(states, where, "states")
    by_act = _by_text(actions, where, "actions")
    words = _word_names(states + actions, where)

    def expr(text, names, what):
        e = parse(text, f"{where}, {what}")
        bad = sorted(n for n in e.names
                     if n not in names and n not in params and n not in words)
        if bad:
            raise SpecFileError(f"{where}: unknown name {bad[0]!r} in {what} = "
                                f"{_brief(text)}; use {', '.join(names) or 'numbers'} and "
                                "declared params")
        return e

    if ("transition" in md) == ("transition_prob" in md):
        raise SpecFileError(f"{where}: give exactly one of transition (a table "
                            "transition.STATE.ACTION = {NEXT = \"p\"}) or transition_prob "
                            "(an expression in s, a, s2)")
    if "transition" in md:
        table = md["transition"]
        if not isinstance(table, dict) or not all(
                isinstance(r, dict) and all(isinstance(n, dict) for n in r.values())
                for r in table.values()):
            raise SpecFileError(f"{where}: transition must be tables transition.STATE.ACTION "
                                "= {NEXT_STATE = \"probability\"}, not "
                                f"{_brief(table)}")
        rows: dict = {}
        for sk, by_a in table.items():
            if sk not in by_key:
                raise SpecFileError(f"{_where(path, lines, sk, label=f'mdp {name}')}: "
                                    f"transition from unknown state {sk!r}")
            for ak, nxt in by_a.items():
                if ak not in by_act:
                    raise SpecFileError(f"{_where(path, lines, ak, label=f'mdp {name}')}: "
                                        f"unknown action {ak!r} in transition.{sk}")
                row = {}
                for s2k, ptext in nxt.items():
                    if s2k not in by_key:
                        raise SpecFileError(f"{where}: transition.{sk}.{ak} leads to unknown "
                                            f"state {s2k!r}")
                    what = f"transition.{sk}.{ak}.{s2k}"
                    row[by_key[s2k]] = _probability(expr(ptext, (), what).evaluate(penv),
                                                    f"{where}, {what}", what, probes)
                rows[(by_key[sk], by_act[ak])] = row

        def transition(s, a):
            if (s, a) not in rows:
                raise SpecFileError(f"{where}: no transition.{s}.{a} row; give one for every "
                                    "state and action")
            return rows[(s, a)]
    else:
        te = expr(md["transition_prob"], ("s", "a", "s2"), "transition_prob")

        def transition(s, a):
            return {s2: _probability(te.evaluate({**penv, **words, "s": s, "a": a, "s2": s2}),
                                     f"{where}, transition_prob",
                                     f"transition_prob at s = {s!r}, a = {a!r}, s2 = {s2!r}",
                                     probes)
                    for s2 in states}
    re_ = expr(md["reward"], ("s", "a", "s2"), "reward")

    def reward(s, a, s2):
        return _number(re_.evaluate({**penv, **words, "s": s, "a": a, "s2": s2}),
                       f"{where}, reward", f"the reward at s = {s!r}, a = {a!r}, s2 = {s2!r}")
    start = md["start"]
    if isinstance(start, dict):
        dist = {}
        for k, v in start.items():
            if k not in by_key:
                raise SpecFileError(f"{where}: start.{k}: {k!r} is not a state")
            dist[by_key[k]] = _probability(expr(v, (), f"start.{k}").evaluate(penv),
                                           f"{where}, start.{k}", f"start.{k}", probes)
        start = dist
    elif isinstance(start, (str, int)) and not isinstance(start, bool):
        if start not in states:
            raise SpecFileError(f"{where}: start = {start!r} is not one of the states "
                                f"{list(states)}")
    else:
        raise SpecFileError(f"{where}: start must be a state (start = \"{states[0]}\") or a "
                            f"table of start probabilities, not {_brief(start)}")
    gamma = _gamma(md, params, where, probes)
    try:
        mdp = MDP(states, actions, transition, reward, start, gamma)
    except SpecFileError:
        raise
    except SpecError as exc:
        raise SpecFileError(f"{where}: {exc}") from None
    return mdp, _horizon(md.get("horizon"), params, where)


#: The longest finite horizon (in steps) a spec file may ask for, in ``horizon = ...`` or
#: in a claim such as ``value(agent, T)``: each step is one round of exact backward
#: induction over all states. Longer horizons: ``"oo"`` or a symbolic ``N``.
MAX_HORIZON = 10_000


def _steps(t, where, what):
    """A number of steps from a claim: a non-negative integer up to MAX_HORIZON."""
    if isinstance(t, bool) or not isinstance(t, int) or t < 0:
        raise SpecFileError(f"{where}: {what} = {_brief(t)} must be a non-negative integer")
    if t > MAX_HORIZON:
        raise SpecFileError(f"{where}: {what} = {t:,} is above the limit of {MAX_HORIZON:,} "
                            "steps (cpspec.spec.models.MAX_HORIZON)")
    return t


def _horizon(horizon, params, where):
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
    raise SpecFileError(f"{where}: horizon = {_brief(horizon)} must be a non-negative integer, "
                        "\"oo\", or a declared parameter such as \"N\"")


def _build_factored(name, md, params, path, lines, where):
    """A factored MDP: ``variables.X = [values]``, ``dynamics.X = {fn|probs|prob|dist}``
    (expressions of the current variables and the action ``a``), ``reward`` (an
    expression of the current variables, ``a``, and ``X_next``), ``start = {X = v}``."""
    probes = getattr(lines, "probes", None)
    for k in ("actions", "start", "reward", "dynamics"):
        if k not in md:
            raise SpecFileError(f"{where}: a factored MDP needs {k} = ...")
    if "states" in md or "transition" in md or "transition_prob" in md:
        raise SpecFileError(f"{where}: a factored MDP (with variables) takes dynamics, not "
                            "states/transition")
    variables = md["variables"]
    if not isinstance(variables, dict) or not variables:
        raise SpecFileError(f"{where}: variables must be a table NAME = [values]")
    variables = _names(variables, "state variable", path, lines)
    domains = {}
    for v, vals in variables.items():
        if not v.isidentifier() or v == "a":
            raise SpecFileError(f"{where}: state variable {v!r} must be an identifier other "
                                "than a (the action)")
        domains[v] = _values(vals, f"{where}, variables.{v}", f"variables.{v}")
        if not domains[v]:
            raise SpecFileError(f"{where}: variables.{v} must list at least one value")
    actions = _atoms(md["actions"], where, "actions")
    names = set(domains) | {"a"}
    words = _word_names([x for vals in list(domains.values()) + [actions] for x in vals],
                        where)
    raw_dyn = md["dynamics"]
    if not isinstance(raw_dyn, dict):
        raise SpecFileError(f"{where}: dynamics must be a table dynamics.VARIABLE = "
                            f'"<expr>" or {{probs = ...}}, not {_brief(raw_dyn)}')
    raw_dyn = _names(raw_dyn, "dynamics variable", path, lines)
    dynamics = {}
    for v in domains:
        if v not in raw_dyn:
            raise SpecFileError(f"{where}: variable {v!r} has no dynamics.{v}")
        nd = raw_dyn[v]
        if isinstance(nd, str):
            nd = {"fn": nd}
        if not isinstance(nd, dict):
            raise SpecFileError(f"{where}: dynamics.{v} must be an expression or a table, "
                                f"not {_brief(nd)}")
        if "values" in nd:
            raise SpecFileError(f"{where}: dynamics.{v} takes its values from variables.{v}; "
                                "remove values here")
        nd = {"values": list(domains[v]), **nd}
        # bare value and action names (pressed, disable) stand for themselves
        f = _node(f"mdp {name}", v, nd, names, {**words, **params}, path, lines,
                  where=_where(path, lines, f"dynamics.{v}",
                               label=f"dynamics.{v} of mdp {name}"))
        if f.parents is not None and "a" in f.parents:
            f = replace(f, parents=tuple("A" if p == "a" else p for p in f.parents))
        dynamics[v] = f
    extra = set(raw_dyn) - set(domains)
    if extra:
        raise SpecFileError(f"{where}: dynamics for unknown variable {sorted(extra)[0]!r}")
    allowed = set(domains) | {f"{v}_next" for v in domains} | {"a"} | set(params) | set(words)
    re_ = parse(md["reward"], f"{where}, reward")
    bad = sorted(n for n in re_.names if n not in allowed)
    if bad:
        raise SpecFileError(f"{where}: unknown name {bad[0]!r} in reward; use the variables, "
                            "a, VARIABLE_next and declared params")
    penv = {**words, **params}

    def reward(s, a, s2):
        env = dict(penv)
        env.update(s)
        env.update({f"{k}_next": v for k, v in s2.items()})
        env["a"] = a
        return _number(re_.evaluate(env), f"{where}, reward", f"the reward at {s}, a = {a!r}")
    start = md["start"]
    if not isinstance(start, dict):
        raise SpecFileError(f"{where}: start must be a table VARIABLE = value, e.g. start = "
                            f"{{ {next(iter(domains))} = {domains[next(iter(domains))][0]!r} }}")
    start = _names(start, "start variable", path, lines)
    for k, v in start.items():
        if k not in domains:
            raise SpecFileError(f"{where}: start.{k}: {k!r} is not a state variable")
        if isinstance(v, list):
            v = tuple(v)
        if v not in domains[k] or isinstance(v, bool) != any(
                isinstance(x, bool) and x == v for x in domains[k]):
            raise SpecFileError(f"{where}: start.{k} = {_brief(v)} is not among "
                                f"variables.{k} = {list(domains[k])}")
        start[k] = next(x for x in domains[k] if x == v)
    gamma = _gamma(md, params, where, probes)
    try:
        mdp = MDP.factored(domains, dynamics, actions, reward, start, gamma)
    except SpecFileError:
        raise
    except SpecError as exc:
        raise SpecFileError(f"{where}: {exc}") from None
    return mdp, _horizon(md.get("horizon"), params, where)


class PolicyRef:
    """``pi*`` of an MDP in claims: ``pi*(s)``, ``pi*(t, s)``, ``U(pi*)``, ``V(pi*, s)``."""

    def __init__(self, spec: Spec, mdp: str | None):
        self.spec, self.mdp = spec, mdp

    def solution(self):
        if self.mdp is None:
            raise SpecFileError(f"pi* is ambiguous with {len(self.spec.mdps)} MDPs in the file; "
                                "write pi_NAME* for [mdp.NAME] (or pi*(D_w, ...) for a "
                                "decision node D of world w)")
        mdp, horizon = self.spec.mdps[self.mdp]
        if horizon is None:
            raise SpecFileError(f"mdp {self.mdp}: claims about pi* need horizon = ...")
        return self.spec.solution(("mdp", self.mdp))

    def __call__(self, *args):
        from ..core.expressions import RV
        if args and isinstance(args[0], RV):  # pi*(D_w, info...): an influence diagram
            sol = self.spec.solution(("world", args[0].world))
            return sol.policy(args[0].node, *args[1:])
        sol = self.solution()
        if len(args) == 1 and not isinstance(self.spec.mdps[self.mdp][1], sympy.Basic):
            args = (0,) + args  # pi*(s) of a finite horizon: the first decision
        return sol.policy(*args)


def _U(spec: Spec):
    def U(ref):
        if isinstance(ref, PolicyRef):
            return ref.solution().value
        if isinstance(ref, Diagram):
            return spec.solution(("world", ref.name)).value
        raise SpecFileError(f"U() takes pi* (an MDP's optimal policy) or a world with "
                            f"decision nodes, got {ref!r}")
    return U


def _V(ref, state):
    if not isinstance(ref, PolicyRef):
        raise SpecFileError("V(pi*, state): the first argument must be pi*")
    return ref.solution().values[state]



# ---- agents ---------------------------------------------------------------------------

_COMMON_AGENT_KEYS = {"kind", "env", "learner", "horizon"}
_AGENT_KEYS = {
    "FP": set(), "FPX": {"epsilon"}, "STH": set(),
    "SI": {"stop", "null_action", "T_max", "U_max"},
    "SIF": {"stop", "null_action", "T_max", "U_max"},
    "ITF": {"terminal", "rewards"}, "ITC": {"terminal", "rewards"},
}
_LEARNERS = ("perfect", "counting", "counting:uniform", "counting:stay")


def build_agents(data: dict, mdps: dict, params: dict, path, lines) -> dict:
    """``[agent.NAME]`` tables -> agents (:mod:`cpspec.agents.paper`)."""
    from .. import agents as ag
    from ..agents.learners import counting
    out = {}
    kinds = {"FP": ag.FP, "FPX": ag.FPX, "STH": ag.STH, "SI": ag.SI, "SIF": ag.SIF,
             "ITF": ag.ITF, "ITC": ag.ITC}
    probes = getattr(lines, "probes", None)
    for name, ad in data.items():
        where = _where(path, lines, f"agent.{name}", label=f"agent {name}")
        kind = ad.get("kind")
        if not isinstance(kind, str) or kind not in kinds:
            raise SpecFileError(f"{where}: kind must be one of {', '.join(kinds)} (in quotes), "
                                f"not {_brief(kind)}")
        reject_unknown_keys(ad, _COMMON_AGENT_KEYS | _AGENT_KEYS[kind], path, lines,
                            f"agent {name} of kind {kind}")
        if "env" not in ad:
            raise SpecFileError(f"{where}: env = \"...\" (the [mdp.NAME] the agent acts in) "
                                "is missing")
        env, _ = mdps[_ref(ad["env"], where, "env", mdps, "[mdp.NAME]")]
        learner = ad.get("learner", "perfect")
        if not isinstance(learner, str) or learner not in _LEARNERS:
            raise SpecFileError(f"{where}: learner must be one of "
                                f"{', '.join(map(repr, _LEARNERS))}, not {_brief(learner)}")
        if learner.startswith("counting:"):
            learner = counting(default=learner.split(":", 1)[1])
        kw: dict[str, Any] = {"learner": learner}
        if "horizon" in ad:
            kw["horizon"] = _horizon(ad["horizon"], params, where)
        penv = dict(params)
        state_words = _state_words(env)

        def num(key):
            return _number(parse(ad[key], f"{where}, {key}").evaluate(penv), f"{where}, {key}",
                           key)
        if kind == "FPX":
            kw["epsilon"] = (_probability(num("epsilon"), f"{where}, epsilon", "epsilon",
                                          probes)
                             if "epsilon" in ad else sympy.Rational(1, 10))
        if kind in ("SI", "SIF"):
            if "stop" not in ad or "null_action" not in ad:
                raise SpecFileError(f"{where}: {kind} needs stop = \"<expr>\" and "
                                    "null_action = \"...\"")
            kw["stop_pressed"] = _state_predicate(ad["stop"], env, penv, state_words,
                                                  f"{where}, stop")
            null = ad["null_action"]
            if isinstance(null, bool) or null not in env.actions:
                raise SpecFileError(f"{where}: null_action = {_brief(null)} is not an action of "
                                    f"mdp {ad['env']}; actions: {list(env.actions)}")
            kw["null_action"] = null
            if "T_max" in ad:
                t = ad["T_max"]
                if isinstance(t, bool) or not isinstance(t, int) or t < 0:
                    raise SpecFileError(f"{where}: T_max = {_brief(t)} must be a non-negative "
                                        "integer (the runtime limit in steps)")
                kw["T_max"] = t
            if "U_max" in ad:
                kw["U_max"] = num("U_max")
        if kind in ("ITF", "ITC"):
            if "terminal" not in ad or not isinstance(ad.get("rewards"), dict):
                raise SpecFileError(f"{where}: {kind} needs terminal = \"<variable>\" and "
                                    "rewards.<content> = \"<expr>\"")
            term = _ref(ad["terminal"], where, "terminal",
                        {v: v for v in (env.variables or ())}, "state variable")
            contents = _by_text([s[term] for s in env.states], where, "terminal contents")
            kw["terminal"] = term
            rewards = {}
            for c, text in ad["rewards"].items():
                if c not in contents:
                    raise SpecFileError(f"{where}: rewards.{c}: {c!r} is not a content of the "
                                        f"terminal {term}; contents: {list(contents)}")
                rewards[contents[c]] = _state_reward(text, env, penv, state_words,
                                                     f"{where}, rewards.{c}")
            kw["rewards"] = rewards
        try:
            out[name] = kinds[kind](env, **kw)
        except SpecFileError:
            raise
        except SpecError as exc:
            raise SpecFileError(f"{where}: {exc}") from None
    return out


def _state_words(env) -> dict:
    vals = list(env.actions)
    if env.variables is None:
        vals += list(env.states)
    else:
        vals += [v for s in env.states for v in s.values()]
    return _word_names(dict.fromkeys(vals), "the MDP")


def _state_env(env, s) -> dict:
    return dict(s) if env.variables is not None else {"s": s}


def _state_predicate(text, env, penv, words, where):
    e = parse(text, where)
    allowed = set(env.variables or ("s",)) | set(penv) | set(words)
    bad = sorted(e.names - allowed)
    if bad:
        raise SpecFileError(f"{where}: unknown name {bad[0]!r} in {_brief(text)}")

    def pred(s):
        v = e.evaluate({**words, **penv, **_state_env(env, s)})
        if not isinstance(v, bool):
            raise SpecFileError(f"{where}: {_brief(text)} gives {_brief(v)} in state {s}, not "
                                "true or false; write a condition such as button == pressed")
        return v
    return pred


def _state_reward(text, env, penv, words, where):
    e = parse(text, where)
    names = set(env.variables or ("s",)) | {"a"} | set(penv) | set(words)
    names |= {f"{v}_next" for v in (env.variables or ())} | {"s2"}
    bad = sorted(e.names - names)
    if bad:
        raise SpecFileError(f"{where}: unknown name {bad[0]!r} in {_brief(text)}")

    def r(s, a, s2):
        nxt = ({f"{k}_next": v for k, v in s2.items()} if env.variables is not None
               else {"s2": s2})
        return _number(e.evaluate({**words, **penv, **_state_env(env, s), **nxt, "a": a}),
                       where, f"the reward in {s}, a = {a!r}")
    return r


# ---- names and functions in queries --------------------------------------------------

def model_names(spec: Spec) -> dict:
    """Names a query may use for the spec's MDPs, agents and states."""
    env: dict = {}
    env["pi_star"] = PolicyRef(spec, next(iter(spec.mdps)) if len(spec.mdps) == 1 else None)
    for m, (mdp, _) in spec.mdps.items():
        env[f"pi_{m}_star"] = PolicyRef(spec, m)
        if mdp.variables is None:
            for st in mdp.states:  # bare state names, where they are free identifiers
                if isinstance(st, str) and st.isidentifier():
                    env.setdefault(normal_name(st), st)  # as the query's parser reads it
        for a in mdp.actions:
            if isinstance(a, str) and a.isidentifier():
                env.setdefault(normal_name(a), a)
    env.update(spec.agents)
    return env


def query_functions(spec: Spec, env: dict) -> dict:
    """The claim functions (see the module docstring)."""
    from ..agents.paper import Agent, STH
    from ..decisions.mdp import State

    def agent_of(x, fname):
        if not isinstance(x, Agent):
            raise SpecFileError(f"{fname}(): the first argument must be an agent name "
                                f"([agent.NAME]), got {x!r}")
        return x

    def act(agent, state, t=0):
        a = agent_of(agent, "act")
        return a.act(a.o0, state, _steps(t, "act(agent, state, t)", "t"))

    def value(agent, T):
        return agent_of(agent, "value").value(_steps(T, "value(agent, T)", "T"))

    def plan_threshold(agent, state):
        a = agent_of(agent, "plan_threshold")
        sol = a.plan(a.o0, state)
        ts = sol.thresholds() if hasattr(sol, "thresholds") else []
        if len(ts) != 1:
            raise SpecFileError(f"plan_threshold: the planned action changes at {len(ts)} "
                                "parameter values; it needs exactly one")
        return ts[0]

    def switch(agent, state):
        a = agent_of(agent, "switch")
        if not isinstance(a, STH):
            raise SpecFileError("switch(agent, state) is for STH agents")
        return a.switching_horizon(state, a.o0)

    def thresholds(ref):
        if isinstance(ref, Diagram):
            sol = spec.solution(("world", ref.name))
        elif isinstance(ref, PolicyRef):
            sol = ref.solution()
        else:
            raise SpecFileError("thresholds(pi*) or thresholds(w): pi* of an MDP, or a world "
                                "with decision nodes")
        return tuple(sol.thresholds()) if hasattr(sol, "thresholds") else ()

    def threshold(ref):
        ts = thresholds(ref)
        if len(ts) != 1:
            raise SpecFileError(f"threshold(): the policy changes at {len(ts)} parameter "
                                f"values {ts}; use thresholds(...)")
        return ts[0]

    funcs = {"U": _U(spec), "V": _V, "thresholds": thresholds, "threshold": threshold,
             "act": act, "value": value, "plan_threshold": plan_threshold,
             "switch": switch, "S": lambda **kw: State(**kw)}
    funcs.update({k: v for k, v in env.items() if isinstance(v, PolicyRef)})
    return funcs


# ---- [[property]] entries ------------------------------------------------------------

@dataclass(frozen=True)
class PropertyEntry:
    """One ``[[property]]`` of a spec file: which agent, which property, the expected
    verdict (``holds`` unless ``expect`` says otherwise), and where it was written."""

    agent_name: str
    prop: Any
    expect: str
    where: str
    timeout: float


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
        head = (f"{mark} {self.entry.prop} of {self.entry.agent_name}: {v.status} "
                f"({v.method}, {v.seconds:.3f} s)")
        if not self.passed:
            head += f", expected {self.entry.expect}"
        if v.status == "fails" and v.counterexample is not None:
            head += "\n        counterexample: " + str(v.counterexample).replace(
                "\n", "\n        ")
        elif v.status == "unknown" and v.reason:
            head += f"\n        reason: {v.reason}"
        return head


_PROPERTY_KEYS = {"agent", "check", "expect", "timeout"}


def _trace_world(env):
    """A stand-in world whose variables name the state (and the action ``a``), so that a
    predicate written in a spec file becomes an expression tree evaluated per state."""
    from ..core.diagram import world
    from ..core.functions import const
    names = list(env.variables or ("s",)) + ["a"]
    return world("trace", [(n, const(0)) for n in names])


def _as_predicate(x, env, where):
    from ..core.expressions import Expr
    if not isinstance(x, Expr):
        raise SpecFileError(f"{where}: expected a condition on the state, got {x!r}")
    uses_action = ("trace", "a") in x.variables()

    def state_env(s):
        return {("trace", k): v for k, v in (dict(s) if env.variables else {"s": s}).items()}
    if uses_action:
        return lambda s, a: bool(x.evaluate({**state_env(s), ("trace", "a"): a}))
    return lambda s: bool(x.evaluate(state_env(s)))


def build_properties(entries, agents: dict, mdps: dict, params: dict, path, lines) -> tuple:
    """``[[property]]`` tables -> :class:`PropertyEntry` records (parsed, not yet run)."""
    from ..verification import properties as pr
    from ..core.expressions import RV
    if not isinstance(entries, list):
        raise SpecFileError(f"{_where(path, lines, 'property')}: write properties as "
                            "[[property]] tables")
    out = []
    for k, ent in enumerate(entries):
        where = f"{path}, [[property]] #{k + 1}"
        if not isinstance(ent, dict):
            raise SpecFileError(f"{where}: must be a table with agent and check")
        if isinstance(ent.get("check"), str):
            where = _where(path, lines, ent["check"], label=f"[[property]] #{k + 1}")
        extra = set(ent) - _PROPERTY_KEYS
        if extra:
            raise SpecFileError(f"{where}: unknown key {sorted(extra)[0]!r}; expected "
                                f"{', '.join(sorted(_PROPERTY_KEYS))}")
        text = ent.get("check")
        name = _ref(ent.get("agent"), where, "agent", agents, "[agent.NAME]")
        if not isinstance(text, str):
            raise SpecFileError(f"{where}: check = \"myopic(3)\" (a property, in quotes) is "
                                "missing")
        expect = ent.get("expect", "holds")
        if not isinstance(expect, str) or expect not in ("holds", "fails", "unknown"):
            raise SpecFileError(f'{where}: expect must be "holds", "fails" or "unknown", not '
                                f"{_brief(expect)}")
        timeout = _timeout(ent.get("timeout", 60), where)
        env = agents[name].env
        tw = _trace_world(env)
        names = {**_state_words(env), **params, **{n: tw[n] for n in tw.order}}

        def node_name(x):
            return x.node if isinstance(x, RV) else x

        funcs = {
            "myopic": pr.myopic,
            "no_incentive": lambda node: pr.no_incentive(node_name(node)),
            "policy_unmodified": lambda var=None, K=3: pr.policy_unmodified(
                node_name(var) if var is not None else None, K),
            "no_self_knowledge": pr.no_self_knowledge,
            "obeys_stop_button": lambda K, stop=None, null_action=None: pr.obeys_stop_button(
                K, _as_predicate(stop, env, where) if stop is not None else None,
                null_action),
            "always": lambda cond, K: pr.always(_as_predicate(cond, env, where), K, str(cond)),
            "eventually": lambda cond, K: pr.eventually(_as_predicate(cond, env, where), K,
                                                        str(cond)),
        }
        prop = evaluate_text(text, where, names, funcs, {"stop", "null_action", "K", "var"},
                             "use state variables (or s), a, values and actions")
        out.append(PropertyEntry(name, prop, expect, where, timeout))
    return tuple(out)


#: The longest ``timeout`` a ``[[property]]`` may ask for, in seconds (a week).
MAX_TIMEOUT = 7 * 24 * 3600


def _timeout(t, where) -> float:
    """A verification time budget in seconds: a finite positive number."""
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) \
            or t <= 0 or t > MAX_TIMEOUT:
        raise SpecFileError(f"{where}: timeout = {_brief(t)} must be a number of seconds "
                            f"above 0 and at most {MAX_TIMEOUT:,} (without quotes), e.g. "
                            "timeout = 60")
    return float(t)


def check_properties(spec: Spec) -> list:
    """Verify every ``[[property]]`` of ``spec``."""
    from ..verification.procedures import verify
    results = []
    from .loader import internal_error
    for ent in spec.properties:
        try:
            v = verify(spec.agents[ent.agent_name], ent.prop, timeout=ent.timeout)
        except SpecError as exc:
            results.append(PropertyResult(ent, None, str(exc)))
            continue
        except Exception as exc:  # one property's failure never hides the others
            results.append(PropertyResult(ent, None, internal_error(exc), internal=True))
            continue
        results.append(PropertyResult(ent, v))
    return results
