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
    env = "<mdp name>"          learner = "perfect" | "counting" | "counting:stay"
    horizon = 3                 (planning horizon; omitted: infinite)
    epsilon = "1/10"            (FPX)
    stop = "<expr of the state>"  null_action = "null"  T_max = 5  U_max = "8"  (SI, SIF)
    terminal = "<variable>"     rewards.<content> = "<reward expr>"  (ITF, ITC)

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

import re
from dataclasses import dataclass, replace
from typing import Any

import sympy

from .diagram import Diagram
from .mdp import MDP
from .errors import SpecError, SpecFileError
from .safeexpr import parse
from .specfile import Spec, _node, _value, _where, evaluate_text, reject_unknown_keys

# the builders (build_mdp, build_agents, build_properties, check_properties,
# model_names, query_functions) are the spec-file loader's; the records are public
__all__ = ["PolicyRef", "PropertyEntry", "PropertyResult"]


_MDP_KEYS = {"states", "actions", "start", "gamma", "horizon", "transition",
             "transition_prob", "reward", "variables", "dynamics"}

#: ``pi*`` and ``pi_NAME*`` in a query are rewritten to the names ``pi_star``,
#: ``pi_NAME_star`` before parsing (``pi*(s)`` is not Python syntax).
STAR = re.compile(r"\b(pi(?:_[A-Za-z_]\w*)?)\*")


def build_mdp(name, md, params, path, lines):
    """An ``[mdp.NAME]`` table -> ``(MDP, horizon)``."""
    where = _where(path, lines, f"mdp.{name}", label=f"mdp {name}")
    reject_unknown_keys(md, _MDP_KEYS, path, lines, f"mdp {name}")
    if "variables" in md:
        return _build_factored(name, md, params, path, lines, where)
    for k in ("states", "actions", "start", "reward"):
        if k not in md:
            raise SpecFileError(f"{where}: missing {k} = ...")
    states = _value(md["states"], where)
    actions = _value(md["actions"], where)
    if not isinstance(states, tuple) or not isinstance(actions, tuple):
        raise SpecFileError(f"{where}: states and actions must be lists")
    penv = dict(params)
    by_key = {str(x): x for x in states}
    by_act = {str(x): x for x in actions}

    def expr(text, names, what):
        e = parse(text, f"{where}, {what}")
        bad = sorted(e.names - set(names) - set(params) - set(state_env()))
        if bad:
            raise SpecFileError(f"{where}: unknown name {bad[0]!r} in {what} = {text!r}; "
                                f"use {', '.join(names)} and declared params")
        return e

    def state_env():  # bare state and action names stand for themselves
        return {x: x for x in states + actions if isinstance(x, str) and x.isidentifier()}

    if ("transition" in md) == ("transition_prob" in md):
        raise SpecFileError(f"{where}: give exactly one of transition (a table "
                            "transition.STATE.ACTION = {NEXT = \"p\"}) or transition_prob "
                            "(an expression in s, a, s2)")
    if "transition" in md:
        table = md["transition"]
        rows: dict = {}
        for sk, by_a in table.items():
            if sk not in by_key:
                raise SpecFileError(f"{_where(path, lines, sk, label=f'mdp {name}')}: "
                                    f"transition from unknown state {sk!r}")
            for ak, nxt in by_a.items():
                if ak not in by_act:
                    raise SpecFileError(f"{_where(path, lines, ak, label=f'mdp {name}')}: "
                                        f"unknown action {ak!r} in transition.{sk}")
                if not isinstance(nxt, dict):
                    raise SpecFileError(f"{where}: transition.{sk}.{ak} must be a table "
                                        "NEXT_STATE = \"probability\"")
                row = {}
                for s2k, ptext in nxt.items():
                    if s2k not in by_key:
                        raise SpecFileError(f"{where}: transition.{sk}.{ak} leads to unknown "
                                            f"state {s2k!r}")
                    row[by_key[s2k]] = expr(ptext, (), f"transition.{sk}.{ak}.{s2k}"
                                            ).evaluate(penv)
                rows[(by_key[sk], by_act[ak])] = row

        def transition(s, a):
            if (s, a) not in rows:
                raise SpecFileError(f"{where}: no transition.{s}.{a} row; give one for every "
                                    "state and action")
            return rows[(s, a)]
    else:
        te = expr(md["transition_prob"], ("s", "a", "s2"), "transition_prob")

        def transition(s, a):
            return {s2: te.evaluate({**penv, **state_env(), "s": s, "a": a, "s2": s2})
                    for s2 in states}
    re_ = expr(md["reward"], ("s", "a", "s2"), "reward")

    def reward(s, a, s2):
        return re_.evaluate({**penv, **state_env(), "s": s, "a": a, "s2": s2})
    start = md["start"]
    if isinstance(start, dict):
        start = {by_key.get(k, k): expr(v, (), f"start.{k}").evaluate(penv)
                 for k, v in start.items()}
    gamma = expr(md.get("gamma", "1"), (), "gamma").evaluate(penv)
    try:
        mdp = MDP(states, actions, transition, reward, start, gamma)
    except SpecFileError:
        raise
    except SpecError as exc:
        raise SpecFileError(f"{where}: {exc}") from None
    return mdp, _horizon(md.get("horizon"), params, where)


def _horizon(horizon, params, where):
    if isinstance(horizon, str):
        if horizon.strip() in ("oo", "inf", "infinity"):
            return sympy.oo
        if horizon.strip() in params:
            return params[horizon.strip()]
        raise SpecFileError(f"{where}: horizon {horizon!r} must be an integer, \"oo\", or "
                            "a declared parameter such as N")
    return horizon


def _build_factored(name, md, params, path, lines, where):
    """A factored MDP: ``variables.X = [values]``, ``dynamics.X = {fn|probs|prob|dist}``
    (expressions of the current variables and the action ``a``), ``reward`` (an
    expression of the current variables, ``a``, and ``X_next``), ``start = {X = v}``."""
    for k in ("actions", "start", "reward", "dynamics"):
        if k not in md:
            raise SpecFileError(f"{where}: a factored MDP needs {k} = ...")
    if "states" in md or "transition" in md or "transition_prob" in md:
        raise SpecFileError(f"{where}: a factored MDP (with variables) takes dynamics, not "
                            "states/transition")
    variables = md["variables"]
    if not isinstance(variables, dict) or not variables:
        raise SpecFileError(f"{where}: variables must be a table NAME = [values]")
    domains = {v: _value(vals, where) for v, vals in variables.items()}
    actions = _value(md["actions"], where)
    names = set(domains) | {"a"}
    words = {x: x for vals in list(domains.values()) + [actions] for x in vals
             if isinstance(x, str) and x.isidentifier()}
    dynamics = {}
    for v in domains:
        if v not in md["dynamics"]:
            raise SpecFileError(f"{where}: variable {v!r} has no dynamics.{v}")
        nd = md["dynamics"][v]
        if isinstance(nd, str):
            nd = {"fn": nd}
        if not isinstance(nd, dict):
            raise SpecFileError(f"{where}: dynamics.{v} must be an expression or a table")
        nd = {"values": list(domains[v]), **nd}
        # bare value and action names (pressed, disable) stand for themselves
        f = _node(f"mdp {name}", v, nd, names, {**words, **params}, path, lines)
        if f.parents is not None and "a" in f.parents:
            f = replace(f, parents=tuple("A" if p == "a" else p for p in f.parents))
        dynamics[v] = f
    extra = set(md["dynamics"]) - set(domains)
    if extra:
        raise SpecFileError(f"{where}: dynamics for unknown variable {sorted(extra)[0]!r}")
    allowed = set(domains) | {f"{v}_next" for v in domains} | {"a"} | set(params) | set(words)
    re_ = parse(md["reward"], f"{where}, reward")
    bad = sorted(re_.names - allowed)
    if bad:
        raise SpecFileError(f"{where}: unknown name {bad[0]!r} in reward; use the variables, "
                            "a, VARIABLE_next and declared params")
    penv = {**words, **params}

    def reward(s, a, s2):
        env = dict(penv)
        env.update(s)
        env.update({f"{k}_next": v for k, v in s2.items()})
        env["a"] = a
        return re_.evaluate(env)
    start = md["start"]
    if not isinstance(start, dict):
        raise SpecFileError(f"{where}: start must be a table VARIABLE = value")
    gamma = parse(md.get("gamma", "1"), f"{where}, gamma").evaluate(dict(params))
    try:
        mdp = MDP.factored(domains, dynamics, actions, reward, start, gamma)
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
        from .expressions import RV
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

_AGENT_KEYS = {"kind", "env", "learner", "horizon", "epsilon", "stop", "null_action",
               "T_max", "U_max", "terminal", "rewards", "o0"}


def build_agents(data: dict, mdps: dict, params: dict, path, lines) -> dict:
    """``[agent.NAME]`` tables -> agents (:mod:`cpspec.agents`)."""
    from . import agents as ag
    from .learning import counting
    out = {}
    kinds = {"FP": ag.FP, "FPX": ag.FPX, "STH": ag.STH, "SI": ag.SI, "SIF": ag.SIF,
             "ITF": ag.ITF, "ITC": ag.ITC}
    for name, ad in data.items():
        where = _where(path, lines, f"agent.{name}", label=f"agent {name}")
        reject_unknown_keys(ad, _AGENT_KEYS, path, lines, f"agent {name}")
        kind = ad.get("kind")
        if kind not in kinds:
            raise SpecFileError(f"{where}: kind must be one of {', '.join(kinds)}, not "
                                f"{kind!r}")
        if ad.get("env") not in mdps:
            raise SpecFileError(f"{where}: env = {ad.get('env')!r} names no [mdp.NAME]; "
                                f"MDPs: {', '.join(mdps) or 'none'}")
        env, _ = mdps[ad["env"]]
        learner = ad.get("learner", "perfect")
        if isinstance(learner, str) and learner.startswith("counting:"):
            learner = counting(default=learner.split(":", 1)[1])
        kw: dict[str, Any] = {"learner": learner}
        if "horizon" in ad:
            kw["horizon"] = _horizon(ad["horizon"], params, where)
        penv = dict(params)
        state_words = _state_words(env)

        def num(key):
            return parse(ad[key], f"{where}, {key}").evaluate(penv)
        if kind == "FPX":
            kw["epsilon"] = num("epsilon") if "epsilon" in ad else sympy.Rational(1, 10)
        if kind in ("SI", "SIF"):
            if "stop" not in ad or "null_action" not in ad:
                raise SpecFileError(f"{where}: {kind} needs stop = \"<expr>\" and "
                                    "null_action = \"...\"")
            kw["stop_pressed"] = _state_predicate(ad["stop"], env, penv, state_words,
                                                  f"{where}, stop")
            kw["null_action"] = ad["null_action"]
            if "T_max" in ad:
                kw["T_max"] = ad["T_max"]
            if "U_max" in ad:
                kw["U_max"] = num("U_max")
        if kind in ("ITF", "ITC"):
            if "terminal" not in ad or not isinstance(ad.get("rewards"), dict):
                raise SpecFileError(f"{where}: {kind} needs terminal = \"<variable>\" and "
                                    "rewards.<content> = \"<expr>\"")
            kw["terminal"] = ad["terminal"]
            kw["rewards"] = {c: _state_reward(text, env, penv, state_words,
                                              f"{where}, rewards.{c}")
                             for c, text in ad["rewards"].items()}
        try:
            out[name] = kinds[kind](env, **kw)
        except SpecError as exc:
            raise SpecFileError(f"{where}: {exc}") from None
    return out


def _state_words(env) -> dict:
    vals = list(env.actions)
    if env.variables is None:
        vals += list(env.states)
    else:
        vals += [v for s in env.states for v in s.values()]
    return {x: x for x in vals if isinstance(x, str) and x.isidentifier()}


def _state_env(env, s) -> dict:
    return dict(s) if env.variables is not None else {"s": s}


def _state_predicate(text, env, penv, words, where):
    e = parse(text, where)
    allowed = set(env.variables or ("s",)) | set(penv) | set(words)
    bad = sorted(e.names - allowed)
    if bad:
        raise SpecFileError(f"{where}: unknown name {bad[0]!r} in {text!r}")
    return lambda s: bool(e.evaluate({**words, **penv, **_state_env(env, s)}))


def _state_reward(text, env, penv, words, where):
    e = parse(text, where)
    names = set(env.variables or ("s",)) | {"a"} | set(penv) | set(words)
    names |= {f"{v}_next" for v in (env.variables or ())} | {"s2"}
    bad = sorted(e.names - names)
    if bad:
        raise SpecFileError(f"{where}: unknown name {bad[0]!r} in {text!r}")

    def r(s, a, s2):
        nxt = ({f"{k}_next": v for k, v in s2.items()} if env.variables is not None
               else {"s2": s2})
        return e.evaluate({**words, **penv, **_state_env(env, s), **nxt, "a": a})
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
                    env.setdefault(st, st)
        for a in mdp.actions:
            if isinstance(a, str) and a.isidentifier():
                env.setdefault(a, a)
    env.update(spec.agents)
    return env


def query_functions(spec: Spec, env: dict) -> dict:
    """The claim functions (see the module docstring)."""
    from .agents import Agent, STH
    from .mdp import State

    def agent_of(x, fname):
        if not isinstance(x, Agent):
            raise SpecFileError(f"{fname}(): the first argument must be an agent name "
                                f"([agent.NAME]), got {x!r}")
        return x

    def act(agent, state, t=0):
        a = agent_of(agent, "act")
        return a.act(a.o0, state, t)

    def value(agent, T):
        return agent_of(agent, "value").value(T)

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

    @property
    def passed(self) -> bool:
        return self.error is None and self.verdict.status == self.entry.expect

    def __str__(self) -> str:
        if self.error:
            return f"ERROR {self.entry.prop} of {self.entry.agent_name}: {self.error}"
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
    from .diagram import world
    from .functions import const
    names = list(env.variables or ("s",)) + ["a"]
    return world("trace", [(n, const(0)) for n in names])


def _as_predicate(x, env, where):
    from .expressions import Expr
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
    from . import properties as pr
    from .expressions import RV
    if not isinstance(entries, list):
        raise SpecFileError(f"{_where(path, lines, 'property')}: write properties as "
                            "[[property]] tables")
    out = []
    for k, ent in enumerate(entries):
        where = f"{path}, [[property]] #{k + 1}"
        if not isinstance(ent, dict):
            raise SpecFileError(f"{where}: must be a table with agent and check")
        extra = set(ent) - _PROPERTY_KEYS
        if extra:
            raise SpecFileError(f"{where}: unknown key {sorted(extra)[0]!r}; expected "
                                f"{', '.join(sorted(_PROPERTY_KEYS))}")
        name, text = ent.get("agent"), ent.get("check")
        if name not in agents:
            raise SpecFileError(f"{where}: agent = {name!r} names no [agent.NAME]; agents: "
                                f"{', '.join(agents) or 'none'}")
        if not isinstance(text, str):
            raise SpecFileError(f"{where}: check = \"myopic(3)\" (a property) is missing")
        where = _where(path, lines, text, label="property")
        expect = ent.get("expect", "holds")
        if expect not in ("holds", "fails", "unknown"):
            raise SpecFileError(f"{where}: expect must be holds, fails or unknown")
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
        timeout = ent.get("timeout", 60)
        out.append(PropertyEntry(name, prop, expect, where, float(timeout)))
    return tuple(out)


def check_properties(spec: Spec) -> list:
    """Verify every ``[[property]]`` of ``spec``."""
    from .verification import verify
    results = []
    for ent in spec.properties:
        try:
            v = verify(spec.agents[ent.agent_name], ent.prop, timeout=ent.timeout)
        except SpecError as exc:
            results.append(PropertyResult(ent, None, str(exc)))
            continue
        results.append(PropertyResult(ent, v))
    return results
