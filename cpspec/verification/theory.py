"""Models as theories and as specifications: checking observations against them.

Read as a *theory* of a world, a graphical model forbids observations of probability
zero: observing one falsifies it. Read as a *specification*, the same observation means
the system "is doing it wrong". This module checks both ways:

* :func:`conforms` — a full or partial assignment of a diagram's nodes (the first node
  whose structural function forbids it is named, with the values involved), or a
  recorded learning-world trace against an agent definition (the first step whose action
  the agent would not take, and what it would have taken);
* :func:`likelihood`, :func:`fit` (the exact maximum-likelihood value of one symbolic
  parameter, where SymPy finds it in closed form), :func:`gof` (Pearson's chi-square
  goodness of fit with its p-value);

Observation files are read by :func:`cpspec.spec.observations.read_observations`
(``cp.read_observations``); this module works on the rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import mpmath
import numpy as np
import sympy

from ..agents.learners import append
from ..agents.base import Agent
from ..core.diagram import Diagram
from ..core.functions import as_sympy
from ..core.regions import valid_domain
from ..errors import DomainError, ParameterError, SpecError, UnknownNodeError
from ..inference.exact import P, distribution, marginal
from .records import Counterexample, Verdict

__all__ = ["conforms", "likelihood", "fit", "gof", "GoodnessOfFit"]


def _check_observation(d: Diagram, obs: Mapping, where: str = "") -> dict:
    out = {}
    for k, v in obs.items():
        if k not in d:
            raise UnknownNodeError(f"{where}observation names {k!r}, which is not a node of "
                                   f"world {d.name!r} (nodes: {', '.join(d.order)})")
        dom = d.domain(k)
        if v not in dom:
            raise DomainError(f"{where}observed {k} = {v!r} lies outside the node's domain "
                              f"{list(dom)}")
        out[k] = v
    return out


def _event(d: Diagram, obs: Mapping):
    ev = None
    for k, v in obs.items():
        atom = d[k] == v
        ev = atom if ev is None else ev & atom
    return ev


def conforms(model, observation) -> Verdict:
    """Does an observation have non-zero probability under ``model``?

    ``model`` is a :class:`Diagram` (``observation``: node -> value, full or partial) or
    an agent (``observation``: a learning-world trace ``[s0, a0, s1, a1, ..., sT]``).

    Examples
    --------
    >>> import cpspec as cp
    >>> from cpspec.examples import dice_world
    >>> f = dice_world()
    >>> cp.conforms(f, {"G": 6, "S": 9}).status
    'holds'
    >>> v = cp.conforms(f, {"G": 1, "R": 1, "S": 12})
    >>> print(v.counterexample)
    S = 12 is impossible given G = 1, R = 1: the structural function of S gives 2
    """
    if isinstance(model, Agent):
        return _conforms_trace(model, observation)
    if not isinstance(model, Diagram):
        raise SpecError(f"conforms() needs a diagram or an agent, got {model!r}")
    obs = _check_observation(model, observation)
    label = "conforms(" + ", ".join(f"{k}={v!r}" for k, v in obs.items()) + ")"
    if not obs:
        return Verdict("holds", label, model.name, reason="an empty observation",
                       method="exact")
    p = P(_event(model, obs))
    if p != 0:
        reason = f"P = {p}" + (" (non-zero for generic parameter values)"
                               if getattr(p, "free_symbols", None) else "")
        return Verdict("holds", label, model.name, reason=reason, method="exact")
    # the first node, in topological order, whose observation cannot be added
    seen: dict = {}
    for n in model.order:
        if n not in obs:
            continue
        seen[n] = obs[n]
        if P(_event(model, seen)) == 0:
            break
    node = model.node(n)
    parents = {q: obs[q] for q in node.parents if q in obs}
    shown = ", ".join(f"{q} = {v!r}" for q, v in parents.items())
    text = f"{n} = {obs[n]!r} is impossible" + (f" given {shown}" if shown else "")
    data = {"node": n, "value": obs[n], "parents": parents}
    if len(parents) == len(node.parents) and not node.function.random:
        expected = next(iter(node.function.distribution(n, tuple(obs[q] for q in node.parents))))
        text += f": the structural function of {n} gives {expected!r}"
        data["expected"] = expected
    elif len(parents) == len(node.parents):
        row = node.function.distribution(n, tuple(obs[q] for q in node.parents))
        text += f": {n} can only be {sorted(row, key=repr)}"
        data["possible"] = list(row)
    else:
        text += " (together with the other observed values)"
    return Verdict("fails", label, model.name,
                   Counterexample("observation", data, text, {"confirmed": True}),
                   method="exact")


def _conforms_trace(agent, trace: Sequence) -> Verdict:
    env = agent.env
    trace = list(trace)
    if len(trace) % 2 != 1:
        raise SpecError("a trace is [s0, a0, s1, a1, ..., sT]: states and actions "
                        "alternating, starting and ending with a state")
    states, acts = trace[0::2], trace[1::2]
    label = f"conforms(trace of {len(acts)} steps)"
    known = set(env.states)
    for t, s in enumerate(states):
        if s not in known:
            raise DomainError(f"trace step {t}: {s!r} is not a state of the environment")
    for t, a in enumerate(acts):
        if a not in env.actions:
            raise DomainError(f"trace step {t}: {a!r} is not an action of the environment")
    if env.mu0.get(states[0], 0) == 0:
        return Verdict("fails", label, repr(agent), Counterexample(
            "trace", {"step": 0, "state": states[0]},
            f"the trace starts in {states[0]!r}, which the environment never starts in",
            {"confirmed": True}), method="exact")
    o = agent.o0
    for t, a in enumerate(acts):
        s, s2 = states[t], states[t + 1]
        row = agent.policy_row(o, s, t)
        if row.get(a, 0) == 0:
            would = next(iter(row)) if len(row) == 1 else row
            return Verdict("fails", label, repr(agent), Counterexample(
                "trace", {"step": t, "state": s, "action": a, "would": would},
                f"step {t}: in state {s!r} the trace shows {a!r}, but the agent's policy "
                f"would take {would!r} (the system is doing it wrong)", {"confirmed": True}),
                method="exact")
        if env.P[(s, a)].get(s2, 0) == 0:
            return Verdict("fails", label, repr(agent), Counterexample(
                "trace", {"step": t, "state": s, "action": a, "next": s2},
                f"step {t}: {s!r} --{a!r}--> {s2!r} has probability 0 in the environment "
                "model: the observation falsifies it as a theory", {"confirmed": True}),
                method="exact")
        o = append(o, s, a, s2)
    return Verdict("holds", label, repr(agent), reason="every action is one the agent "
                   "takes and every transition is possible", method="exact")


def likelihood(d: Diagram, data: Iterable[Mapping], log: bool = False):
    """The exact likelihood of independent observations (product of their exact
    probabilities), or its logarithm.

    >>> import cpspec as cp, sympy
    >>> p = sympy.Symbol("p")
    >>> coin = cp.world("c", X=cp.bernoulli(p))
    >>> cp.likelihood(coin, [{"X": 1}, {"X": 1}, {"X": 0}])
    -p**2*(p - 1)
    """
    counts: dict = {}
    for i, obs in enumerate(data):
        key = tuple(sorted(_check_observation(d, obs, f"row {i + 1}: ").items()))
        counts[key] = counts.get(key, 0) + 1
    if log:
        return sum((c * sympy.log(P(_event(d, dict(k)))) for k, c in counts.items()),
                   sympy.Integer(0))
    out = sympy.Integer(1)
    for k, c in counts.items():
        out *= P(_event(d, dict(k))) ** c
    return sympy.factor(out) if out.free_symbols else out


def fit(d: Diagram, data: Sequence[Mapping], parameter: sympy.Symbol, numeric: bool = False):
    """The maximum-likelihood value of one symbolic parameter, exactly where SymPy finds
    it in closed form (``numeric=True`` gives a float instead when it does not).

    >>> import cpspec as cp, sympy
    >>> p = sympy.Symbol("p")
    >>> coin = cp.world("c", X=cp.bernoulli(p))
    >>> cp.fit(coin, [{"X": 1}, {"X": 1}, {"X": 0}], p)
    2/3
    """
    logL = likelihood(d, data, log=True)
    if parameter not in logL.free_symbols:
        raise ParameterError(f"the likelihood does not depend on {parameter}")
    if logL.free_symbols - {parameter}:
        raise ParameterError(f"fit one parameter at a time: bind "
                             f"{sorted(map(str, logL.free_symbols - {parameter}))}")
    dL = sympy.together(sympy.diff(logL, parameter))
    num, _ = sympy.fraction(dL)
    lo, hi = _parameter_range(d, parameter)
    cands = []
    try:
        roots = sympy.Poly(num, parameter).real_roots()
    except (sympy.PolynomialError, sympy.GeneratorsNeeded, ValueError):
        roots = None
    if roots is None:
        if not numeric:
            raise ParameterError(f"no closed-form maximum-likelihood value of {parameter} "
                                 "(the score is not a polynomial equation); call "
                                 "fit(..., numeric=True) for the numeric one")
        return _golden_max(sympy.lambdify(parameter, logL, "mpmath"), lo, hi)
    cands = [r for r in roots if bool(r > lo) and bool(r < hi)]
    cands += [b for b in (lo, hi) if b.is_finite]

    def score(r):
        v = sympy.N(logL.subs(parameter, r), 30)
        return float(v) if v.is_real and v.is_finite else float("-inf")
    best = max(cands, key=score, default=None)
    if best is None or score(best) == float("-inf"):
        raise ParameterError(f"no maximum of the likelihood in ({lo}, {hi})")
    return best


def _golden_max(f, lo, hi) -> float:
    """The maximiser of a unimodal function on [lo, hi] by golden-section search."""
    if not (lo.is_finite and hi.is_finite):
        raise ParameterError("numeric fit needs a bounded parameter range")
    with mpmath.workdps(50):  # the maximum is flat: the argmax needs twice the digits
        return _golden(f, mpmath.mpf(float(lo)), mpmath.mpf(float(hi)))


def _golden(f, a, b) -> float:
    r = (mpmath.sqrt(5) - 1) / 2

    def val(x):
        try:
            v = f(x)
            return v.real if v.imag == 0 and mpmath.isfinite(v.real) else -mpmath.inf
        except (ZeroDivisionError, ValueError):
            return -mpmath.inf
    c, d = b - r * (b - a), a + r * (b - a)
    for _ in range(200):
        if val(c) >= val(d):
            b, d = d, c
            c = b - r * (b - a)
        else:
            a, c = c, d
            d = a + r * (b - a)
    return float((a + b) / 2)


def _parameter_range(d: Diagram, x):
    probs = [p for n in d.order for row in (d.table(n).rows or ()) for p in row.values()]
    dom = valid_domain(x, [as_sympy(p) for p in probs])
    if x.is_nonnegative:
        dom = dom & sympy.Interval(0, sympy.oo)
    elif x.is_positive:
        dom = dom & sympy.Interval.open(0, sympy.oo)
    if dom is sympy.S.EmptySet or not isinstance(dom, sympy.Interval):
        raise ParameterError(f"the valid values of {x} are {dom}; cannot maximise over them")
    return dom.start, dom.end


@dataclass(frozen=True)
class GoodnessOfFit:
    """Pearson's chi-square test of a model against observed frequencies."""

    statistic: Any      # exact rational
    df: int
    p_value: float
    n: int
    cells: int

    def __str__(self):
        return (f"chi-square = {self.statistic} (~{float(self.statistic):.4g}) with {self.df} "
                f"degrees of freedom on {self.n} observations: p = {self.p_value:.4g}")


def gof(d: Diagram, data: Sequence[Mapping], fitted: int = 0) -> GoodnessOfFit:
    """Pearson's chi-square goodness of fit over the joint values of the observed nodes
    (every row must observe the same nodes). ``fitted``: parameters estimated from the
    same data (each removes a degree of freedom). The statistic is exact; the p-value is
    the chi-square survival function (regularised upper incomplete gamma).

    >>> import cpspec as cp
    >>> coin = cp.world("c", X=cp.bernoulli("1/2"))
    >>> r = cp.gof(coin, [{"X": 1}] * 30 + [{"X": 0}] * 10)
    >>> r.statistic, r.df, round(r.p_value, 4)
    (10, 1, 0.0016)
    """
    data = [_check_observation(d, o, f"row {i + 1}: ") for i, o in enumerate(data)]
    if not data:
        raise SpecError("gof() needs at least one observation")
    nodes = tuple(sorted(data[0]))
    for i, o in enumerate(data):
        if tuple(sorted(o)) != nodes:
            raise SpecError(f"row {i + 1}: observes {sorted(o)}, the first row {list(nodes)}; "
                            "a goodness-of-fit test needs the same nodes in every row")
    if d.free_symbols():
        raise ParameterError("bind the model's parameters (or fit them) before gof()")
    n = len(data)
    counts: dict = {}
    for o in data:
        key = tuple(o[k] for k in nodes)
        counts[key] = counts.get(key, 0) + 1
    # expected cell probabilities: the exact joint of the observed nodes
    joint_expr = d[nodes[0]] if len(nodes) == 1 else None
    if joint_expr is not None:
        probs = {(v,): p for v, p in distribution(joint_expr).items()}
    else:
        names, arr, K = marginal(d, list(nodes))
        probs = {}
        for idx, p in np.ndenumerate(arr):
            key = tuple(d.domain(nm)[j] for nm, j in zip(names, idx))
            probs[tuple(key[names.index(k)] for k in nodes)] = K.to_sympy(p)
    stat = sympy.Integer(0)
    cells = 0
    for key, p in probs.items():
        if p == 0:
            if counts.get(key):
                return GoodnessOfFit(sympy.oo, 0, 0.0, n, len(probs))
            continue
        cells += 1
        e = n * p
        stat += (counts.get(key, 0) - e) ** 2 / e
    df = cells - 1 - fitted
    if df < 1:
        raise SpecError(f"{cells} cells and {fitted} fitted parameters leave no degrees of "
                        "freedom")
    pval = float(mpmath.gammainc(df / 2, float(stat) / 2, mpmath.inf, regularized=True))
    return GoodnessOfFit(stat, df, pval, n, cells)
