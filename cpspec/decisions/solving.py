"""Optimal policies, exactly: backward induction, policy iteration, parametric regions.

Semantics (the paper's helper diagram): decision nodes become chance nodes driven by a
candidate policy, and the optimal policy ``pi*`` maximises ``U = E(sum_t gamma^t R_t)``.
**Ties are broken by the declared action order**: among maximising actions the first one
is chosen, so ``pi*`` is a function.

* A finite horizon ``T`` is solved by backward induction over the MDP's states, linear in
  ``T``; ``policy(t, s)`` is the decision rule at time ``t``.
* ``horizon = sympy.oo`` (discounted, ``gamma < 1``) is solved by policy iteration with
  exact linear solves (over ``QQ``: integer systems, python-flint's ``fmpz_mat`` when
  installed; SymPy ``DomainMatrix`` over ``QQ(gamma)``); ``policy(s)`` is stationary.
* Over ``QQ`` both run on integers over one common denominator (with python-flint, one
  ``fmpz_mat`` product per step); floats decide only the argmaxes won by more than
  their proven error bound, and the rest is compared exactly.
* A symbolic horizon ``N``: backward induction finds the decision rules for the first
  steps-to-go; once they repeat, the stationary tail is written in closed form
  (matrix powers and ``summation``) and its optimality for *every* larger ``N`` is proven
  by solving the inequalities ``Q(s, pi(s)) >= Q(s, a)`` in ``N``. Where that proof or the
  closed form cannot be had, :class:`ClosedFormError` says so; no formula is guessed.
* With one symbolic parameter (``gamma``, a probability ``p``), every argmax is decided
  exactly on regions of the parameter (:mod:`cpspec.core.regions`), and the result is a
  :class:`ParametricSolution`: the regions and the optimal policy in each.

General influence diagrams (:func:`solve` on a :class:`Diagram` with decision and utility
nodes) assume a single agent whose decisions are totally ordered and who has *sufficient
recall*: each decision's parents d-separate the utility nodes it can influence from the
earlier decisions and their information (perfect recall is the special case in which
everything earlier is a parent). Diagrams that break this are rejected with the decision
and the earlier node named.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import repeat
from fractions import Fraction
from math import gcd, lcm
from operator import mul
from typing import Any, Callable, Mapping

import numpy as np
import sympy
from gmpy2 import gcd as gmpy_gcd, mpz
from sympy.matrices.exceptions import MatrixError
from sympy.polys.constructor import construct_domain
from sympy.polys.polyerrors import PolynomialError
from sympy.polys.domains import QQ, ZZ
from sympy.polys.matrices import DomainMatrix
from sympy.polys.matrices.exceptions import DMNonInvertibleMatrixError

try:  # optional (the ``flint`` extra): exact integer matrix products in C
    from flint import fmpz as _FlintInteger, fmpz_mat as _FlintMatrix
except ImportError:  # pragma: no cover - depends on the installation
    _FlintInteger = _FlintMatrix = None

from ..budget import Deadline, check_timeout, within
from ..core.diagram import Diagram
from ..errors import ClosedFormError, ParameterError, SpecError
from ..core.functions import as_sympy
from .mdp import MDP, action_distribution, policy_function, check_horizon
from ..core.display import html_table
from ..core.regions import (Choice, Region, Sign, over_regions, piecewise,
                            merge_adjacent,
                            valid_domain)
from ..core.partition import (Point, RegionSolution, check_rational,
                              interval_regions, parse_point, parameter_box, solve_regions,
                              tie_rule)
from .influence import solve_diagram
from .margins import FlintModel, flint_model

__all__ = ["ExactModel", "backward_induction", "Solution", "ParametricSolution", "solve",
           "evaluate_policy", "run_within", "optimal_at", "MAX_SHOWN", "show_state"]


# ---- exact numbers ---------------------------------------------------------------------

def _domain(values) -> Any:
    if all(map(isinstance, values, repeat(Fraction))):
        return QQ
    K = construct_domain(list({as_sympy(v) for v in values}), field=True)[0]
    gens = getattr(getattr(K, "field", None), "symbols", None)
    if getattr(K, "is_FractionField", False) and K.dom == ZZ and gens is not None and \
            all(isinstance(x, sympy.Symbol) for x in gens):
        # generators in the order of their names: a condition's polynomials are read in
        # that order (its leading coefficient decides how it is written), which the
        # fast paths (element_condition, python-flint) then share
        ordered = tuple(sorted(gens, key=str))
        if ordered != tuple(gens):
            K = ZZ.frac_field(*ordered)
    return K


def _conv(K, v):
    if isinstance(v, Fraction) and K is QQ:
        return QQ(v.numerator, v.denominator)
    return K.from_sympy(as_sympy(v))


@dataclass(frozen=True, eq=False)
class ExactModel:
    """An MDP's numbers converted once into one exact domain K.

    ``rows`` maps ``(s, a)`` to ``[(s2, p, r)]`` in K; it is built when first read (the
    integer solvers over QQ read the MDP's fractions directly and never need it)."""

    mdp: MDP
    K: Any
    gamma: Any
    #: symbolic evaluations kept between calls (:func:`optimal_at`): a finite-horizon
    #: step's values and tie conditions depend only on the decision rules from it on
    memo: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, mdp: MDP, extra=()) -> "ExactModel":
        vals = [mdp.gamma, *mdp.R.values(), *(p for r in mdp.P.values() for p in r.values()),
                *extra]
        K = _domain(vals)
        return cls(mdp, K, _conv(K, mdp.gamma))

    @cached_property
    def rows(self) -> dict:
        """``(s, a) -> [(s2, p, r)]``: the transitions with their numbers in K."""
        mdp, K = self.mdp, self.K
        return {(s, a): [(s2, _conv(K, p), _conv(K, mdp.R[(s, a, s2)]))
                         for s2, p in mdp.P[(s, a)].items()]
                for s in mdp.states for a in mdp.actions}

    def bound(self, values: Mapping) -> MDP:
        """The MDP at a rational point of its parameters (``{symbol: rational}``), its
        numbers read off K's elements: what ``mdp.bind`` gives, without SymPy's
        substitution (``mdp.bind`` itself where K has no parameters or a value is
        missing or a denominator vanishes, so that its errors name the problem)."""
        mdp, K = self.mdp, self.K
        ring = getattr(getattr(K, "field", None), "ring", None)
        own = mdp.free_symbols()

        def bind():
            return mdp.bind(**{str(x): v for x, v in values.items() if x in own})
        if ring is None or ring.domain != sympy.ZZ or \
                any(x not in values for x in ring.symbols):
            return bind()
        xs = [Fraction(int(sympy.numer(values[x])), int(sympy.denom(values[x])))
              for x in ring.symbols]

        def at(e):
            return _poly_at(K.numer(e), xs) / _poly_at(K.denom(e), xs)
        try:
            P = {k: {s2: at(p) for s2, p, _ in row} for k, row in self.rows.items()}
            R = {(s, a, s2): at(r) for (s, a), row in self.rows.items() for s2, _, r in row}
            gamma = at(self.gamma)
        except ZeroDivisionError:
            return bind()
        if any(not 0 <= v <= 1 for row in P.values() for v in row.values()):
            return bind()                # its error names the probability and its range
        return MDP(mdp.states, mdp.actions, lambda s, a: P[(s, a)],
                   lambda s, a, s2: R[(s, a, s2)],
                   mdp.mu0 if len(mdp.mu0) > 1 else next(iter(mdp.mu0)), gamma,
                   mdp.variables)

    @cached_property
    def flint(self) -> FlintModel | None:
        """The same numbers in python-flint's polynomials
        (:class:`~cpspec.decisions.margins.FlintModel`), for evaluating policies
        symbolically; None without python-flint or where ``K`` is not a field of
        rational functions over the integers in generators sorted by name."""
        return flint_model(self.mdp, self.K, self.rows, self.gamma)

    def q(self, s, a, V) -> Any:
        K, g = self.K, self.gamma
        total = K.zero
        for s2, p, r in self.rows[(s, a)]:
            total += p * (r + g * V[s2])
        return total

    def start_value(self, V) -> Any:
        K = self.K
        return sum((_conv(K, p) * V[s] for s, p in self.mdp.mu0.items()), K.zero)


def _poly_at(f, xs) -> Fraction:
    """A polynomial over the integers (a ring element) at a point of Fractions."""
    total = Fraction(0)
    for monom, c in f.items():
        t = Fraction(int(c))
        for x, e in zip(xs, monom):
            if e:
                t *= x ** e
        total += t
    return total


# ---- results --------------------------------------------------------------------------

#: Most states a rich display lists (notebooks); the text forms are not cut.
MAX_SHOWN = 50


def show_state(s) -> str:
    """A state as a short text: a factored state as ``button=armed``."""
    if hasattr(s, "items") and not isinstance(s, dict):
        return ", ".join(f"{k}={v}" for k, v in dict(s).items())
    return str(s)


@dataclass(frozen=True, eq=False)
class Solution:
    """An optimal (or evaluated) policy with its exact values.

    Attributes
    ----------
    horizon : int, sympy.Symbol or sympy.oo
    value : exact expected discounted utility from the start distribution
    values : dict state -> exact value (at t = 0)
    rules : list of dict state -> action (one per time step; one entry when stationary)
    """

    mdp: MDP
    horizon: Any
    rules: tuple
    _V: tuple = field(repr=False)
    _K: Any = field(repr=False)
    _model: Any = field(repr=False, default=None)
    tail: Any = field(repr=False, default=None)  # symbolic horizon: (k0, closed forms)

    @property
    def stationary(self) -> bool:
        """Whether the decision rule is the same at every step: an infinite horizon, or a
        symbolic horizon whose optimal rule never changes. A finite horizon is never
        stationary, even a horizon of 1 (its values are those with no step to go)."""
        if self.tail is not None:
            return self.tail.k0 == 1
        return self.horizon is sympy.oo

    def policy(self, *args):
        """``policy(s)`` when stationary, ``policy(t, s)`` for a finite horizon.

        For a symbolic horizon ``N``, ``policy(t, s)`` is a :class:`Choice` over ``N``
        where the rule depends on the steps to go ``N - t``: at ``t = 1`` the pieces read
        ``N = 2``, ``N = 3``, ... (the horizons at which step 1 exists).
        """
        if len(args) == 1:
            if not self.stationary:
                raise SpecError("this policy depends on time: call policy(t, s)")
            return self._lookup(self.rules[0], args[0])
        if len(args) != 2:
            raise SpecError("policy(s) or policy(t, s)")
        t, s = args
        if self.tail is not None:
            return self.tail.policy(t, s)
        if self.horizon is sympy.oo:
            return self._lookup(self.rules[0], s)
        self._check_time(t)
        return self._lookup(self.rules[t], s)

    def _check_time(self, t):
        if isinstance(t, bool) or not isinstance(t, int):
            raise SpecError(f"t = {t!r}: the time step is an int in 0..{self.horizon - 1}")
        if not 0 <= t < self.horizon:
            what = (f"0..{self.horizon - 1}" if self.horizon else
                    "nothing: a horizon of 0 has no decisions")
            raise SpecError(f"t = {t} is outside the decision times {what} (horizon "
                            f"{self.horizon})")

    def decision_rule(self, t, s):
        """``(t, s) -> action`` (for :func:`cp.unroll`)."""
        return self.policy(t, s) if not self.stationary else self.policy(s)

    def _lookup(self, rule, s):
        if s not in rule:
            raise SpecError(f"{s!r} is not a state of the MDP; states are "
                            f"{', '.join(map(repr, self.mdp.states))}")
        return rule[s]

    @property
    def values(self) -> dict:
        """Exact value of each state at t = 0."""
        if self.tail is not None:
            return dict(self.tail.values)
        return {s: self._K.to_sympy(v) for s, v in self._V[0].items()}

    @property
    def value(self):
        """Exact expected (discounted) utility from the start distribution."""
        if self.tail is not None:
            return self.tail.value
        if isinstance(self._V, _Steps):   # integers over one denominator: one gcd
            v = self._V.start_value(self.mdp.mu0)
            if v is not None:
                return v
        return self._K.to_sympy(self._model.start_value(self._V[0]))

    def _after(self, t: int, what: str) -> dict:
        if self.tail is not None:
            raise SpecError(f"{what} of a symbolic horizon: solve for a concrete horizon")
        if self.horizon is sympy.oo:
            return self._V[0]
        self._check_time(t)
        return self._V[t + 1]

    def next_values(self, t: int = 0) -> dict:
        """Exact value of each state *after* the decision at time ``t`` (the values with
        ``horizon - t - 1`` steps to go; for an infinite horizon, the stationary values):
        the ``V`` of ``Q_t(s, a) = sum_s' P(s' | s, a) (R(s, a, s') + gamma V(s'))``."""
        return {s: self._K.to_sympy(v) for s, v in self._after(t, "values").items()}

    def q(self, s, t: int = 0) -> dict:
        """Exact ``Q(s, a)`` at time ``t`` for each action (finite or infinite horizon).

        Examples
        --------
        >>> import cpspec as cp
        >>> m = cp.MDP(["s"], ["a"], lambda s, a: {"s": 1}, lambda s, a, s2: 1, "s",
        ...            gamma="1/2")
        >>> cp.solve(m, 1).q("s", 0), cp.solve(m, 2).q("s", 0), cp.solve(m, 2).q("s", 1)
        ({'a': 1}, {'a': 3/2}, {'a': 1})
        """
        V = self._after(t, "Q-values")
        self._lookup(V, s)
        return {a: self._K.to_sympy(self._model.q(s, a, V)) for a in self.mdp.actions}

    def __repr__(self) -> str:
        h = "oo" if self.horizon is sympy.oo else self.horizon
        return (f"Solution(horizon={h}, value={self.value}, "
                f"{len(self.mdp.states)} states, {len(self.mdp.actions)} actions)")

    def _rule_rows(self) -> tuple[list, list]:
        """The policy as a table: one column per decision time (up to 6 shown)."""
        states = list(self.mdp.states)[:MAX_SHOWN]
        if self.stationary or self.tail is not None:
            times = [None]
        else:
            times = list(range(min(self.horizon, 6)))
        head = ["state"] + (["pi*(s)"] if times == [None] else [f"pi*({t}, s)" for t in times])
        head.append("V(s)")
        values = self.values
        rows = [[show_state(s)] + [self.policy(s) if t is None else self.policy(t, s)
                                   for t in times] + [values[s]] for s in states]
        return head, rows

    def _repr_html_(self) -> str:
        """The value, and the optimal policy and values per state, as a table."""
        head, rows = self._rule_rows()
        h = "infinite" if self.horizon is sympy.oo else self.horizon
        return html_table(head, rows, f"U(pi*) = {self.value}  (horizon {h})")

    def _repr_latex_(self) -> str:
        return f"$U(\\pi^*) = {sympy.latex(self.value)}$"


@dataclass(frozen=True, eq=False)
class ParametricSolution:
    """Solutions on the regions of one symbolic parameter.

    ``pieces`` lists ``(set, Solution)`` in increasing parameter order; ``policy(...)``
    returns a :class:`~cpspec.core.regions.Choice` (or a plain action where it is the same
    everywhere), ``value`` a ``Piecewise``.
    """

    parameter: sympy.Symbol
    pieces: tuple

    def policy(self, *args):
        c = Choice(self.parameter, [(s, sol.policy(*args)) for s, sol in self.pieces])
        return c.pieces[0][1] if c.is_constant else c

    def decision_rule(self, t, s):
        raise ParameterError(f"the optimal policy depends on {self.parameter}; bind it "
                             "(solution.at(value)) before unrolling")

    def regions(self, get: Callable | None = None) -> list:
        """The regions of the parameter with ``get(solution)`` as their answer (default:
        the decision rules), equal answers merged into one record (``.condition``: a
        SymPy Boolean; ``.answer``); each region is checked by solving the MDP exactly at
        a rational point of it.

        Examples
        --------
        >>> import cpspec as cp, sympy
        >>> from cpspec.examples import delayed_reward
        >>> g = sympy.Symbol("gamma")
        >>> sol = cp.solve(delayed_reward(gamma=g), 2)
        >>> [(r.answer, r.condition) for r in sol.regions(lambda s: s.policy(0, "start"))]
        [('take', (0 <= gamma) & (gamma <= 1/3)), ('wait', (gamma <= 1) & (1/3 < gamma))]
        """
        x, horizon = self.parameter, self.pieces[0][1].horizon
        return interval_regions(x, self.pieces, lambda v: _run(
            self.pieces[0][1].mdp.bind(**{x.name: v}), horizon, None, None, Deadline(None)),
            get or _rules_answer)

    def at(self, value) -> Solution:
        """The solution for one value of the parameter (``value`` or ``{p: value}``)."""
        value = parse_point((self.parameter,), value)[self.parameter]
        for s, sol in self.pieces:
            if s.contains(value) == sympy.true:
                return sol
        raise ParameterError(f"{self.parameter} = {value} lies outside the solved domain "
                             f"{sympy.Union(*(s for s, _ in self.pieces))}")

    def piecewise(self, get: Callable) -> Any:
        """``get(solution)`` over the parameter: a ``Piecewise`` (equal neighbours merged)
        or a plain value where it is the same on every region."""
        return piecewise(self.parameter, [(s, get(sol)) for s, sol in self.pieces])

    @cached_property
    def value(self):
        """The optimal value as a ``Piecewise`` over the parameter (built once)."""
        return self.piecewise(lambda sol: sol.value)

    @cached_property
    def values(self) -> dict:
        states = self.pieces[0][1].mdp.states
        return {s: self.piecewise(lambda sol, s=s: sol.values[s]) for s in states}

    def __repr__(self) -> str:
        return (f"ParametricSolution({self.parameter}: the policy changes at "
                f"{self.thresholds()})")

    def _repr_html_(self) -> str:
        """The optimal value, and each state's first action over the parameter."""
        first = self.pieces[0][1]
        states = list(first.mdp.states)[:MAX_SHOWN]
        rows = [[show_state(s), self.policy(s) if first.stationary else self.policy(0, s)]
                for s in states]
        return html_table(["state", "pi* (first step)"], rows,
                          f"U(pi*) = {self.value}; thresholds {self.thresholds()}")

    def _repr_latex_(self) -> str:
        return f"$U(\\pi^*) = {sympy.latex(self.value)}$"

    def thresholds(self) -> list:
        """The exact parameter values where the optimal policy changes."""
        out = []
        for (s1, a), (s2, b) in zip(self.pieces, self.pieces[1:]):
            if a.rules != b.rules:
                out.append(s1.sup)
        return sorted(set(out), key=lambda v: sympy.N(v, 50))


# ---- finite horizon --------------------------------------------------------------------

def backward_induction(model: ExactModel, T: int, sign: Sign, fixed=None, V_end: Mapping | None = None,
              deadline: Deadline | None = None):
    """Backward induction. ``fixed``: (t, s) -> {action: prob} to evaluate a policy;
    ``V_end``: the values after the last step (exact numbers; default 0); ``deadline``
    is checked once per step."""
    mdp, K = model.mdp, model.K
    deadline = deadline or Deadline(None)
    if fixed is None and K is QQ:
        return _backward_integer(model, T, deadline, V_end)
    V = {s: (K.zero if V_end is None else _conv(K, V_end[s])) for s in mdp.states}
    Vs = [V]
    rules = []
    for t in reversed(range(T)):
        deadline.check()
        newV, rule = {}, {}
        for s in mdp.states:
            if fixed is not None:
                row = fixed(t, s)
                newV[s] = sum((_conv(K, p) * model.q(s, a, V) for a, p in row.items()), K.zero)
                rule[s] = next(iter(row)) if len(row) == 1 else dict(row)
                continue
            best, bq = None, None
            for a in mdp.actions:
                qa = model.q(s, a, V)
                if best is None or sign.greater(qa, bq):
                    best, bq = a, qa
            newV[s], rule[s] = bq, best
        V = newV
        Vs.append(V)
        rules.append(rule)
    rules.reverse()
    Vs.reverse()
    return tuple(rules), tuple(Vs)


class _IntegerMDP:
    """An MDP over QQ scaled to integers, for backward induction and policy iteration.

    Read from the MDP's fractions directly. Row ``k = state * m + action`` keeps its
    probabilities as small integers ``a_kj`` over the row's own denominator ``d_k``, and
    ``c_k = sum_j P R`` (fixed). Values are integers over one common denominator,
    ``V = W / D``. For a set of rows (one per state where the floats decide the action),
    with ``L`` the lcm of their ``d_k`` and of the denominators of their ``c_k``,

        ``Q(s, a) * (gd * L * D) = ck_k * D + mk_k * (a_k . W)``,

    with ``ck_k = gd * L * c_k`` and ``mk_k = gn * L / d_k`` (``gamma = gn / gd``): a
    step brings into the denominator only the factors of the rows it uses, and the
    growing integers are multiplied only by the small ``mk_k * a_kj`` (one machine word
    on most models). With python-flint installed a dense table runs a step as one
    ``fmpz_mat`` product ``[[mk A, ck], [0, gd L]] @ [W; D]``; without it, the same
    product over a NumPy object array of gmpy2 integers (sparse tables: per row).

    Floats decide an argmax where the best action leads by more than their proven error
    bound (:meth:`decide`); the other states are compared exactly, and an exact tie
    always goes to the first action in the declared order.
    """

    def __init__(self, mdp: MDP):
        index = {s: i for i, s in enumerate(mdp.states)}
        self.n, self.m = n, m = len(mdp.states), len(mdp.actions)
        g = mdp.gamma
        self.gn, self.gd = g.numerator, g.denominator
        self.gf = g.numerator / g.denominator      # correctly rounded
        succ, nums, dens, cnum, cden, pf = [], [], [], [], [], []
        R = mdp.R
        for s in mdp.states:
            for a in mdp.actions:
                row = mdp.P[(s, a)]
                ps = [p.as_integer_ratio() for p in row.values()]
                d = lcm(*[q for _, q in ps])
                a_k = [x * (d // q) for x, q in ps]
                rs = [R[(s, a, s2)].as_integer_ratio() for s2 in row]
                rd = lcm(*[q for _, q in rs])
                if rd == 1:
                    cn = sum(map(mul, a_k, [x for x, _ in rs]))
                else:
                    cn = sum(x * r * (rd // q) for x, (r, q) in zip(a_k, rs))
                cd = d * rd
                h = gcd(cn, cd)
                succ.append([index[s2] for s2 in row])
                nums.append(a_k)
                dens.append(d)
                cnum.append(cn // h)
                cden.append(cd // h)
                pf.append([x / d for x in a_k])   # correctly rounded: x <= d
        self.succ, self.nums, self.dens, self.cnum, self.cden = succ, nums, dens, cnum, cden
        self.dense = sum(map(len, succ)) * 2 > n * m * n  # mostly non-zero: products
        self.flint = self.dense and _FlintMatrix is not None
        self.objects = self.dense and not self.flint   # NumPy object arrays of mpz
        self._scaled: dict = {}
        P = np.zeros((n * m, n))
        for k, (js, xs) in enumerate(zip(succ, pf)):
            P[k, js] = xs
        self.pf = P
        self.gpf = self.gf * P
        cf = []
        for cn, cd in zip(cnum, cden):
            try:
                cf.append(cn / cd)            # correctly rounded
            except OverflowError:             # past floats: every argmax exact
                cf.append(float("inf"))
        self.cf = np.array(cf, dtype=float)
        with np.errstate(all="ignore"):
            self.cmax = float(np.abs(self.cf).max(initial=0))
        self.eps = 4 * (n + 16) * 2.0**-52

    # -- exact vectors [W; D]: a flint column, a NumPy object array of gmpy2 integers
    # (dense tables), or (list of gmpy2 integers W, D) (sparse tables) ---------------

    def start(self, ws: list, D: int):
        """The engine's form of the values ``ws / D``."""
        if self.flint:
            return _FlintMatrix(len(ws) + 1, 1, [int(x) for x in ws] + [int(D)])
        if self.objects:
            X = np.empty(len(ws) + 1, dtype=object)
            X[:] = [mpz(int(x)) for x in ws] + [mpz(int(D))]
            return X
        return [mpz(int(x)) for x in ws], mpz(int(D))

    def split(self, X) -> tuple:
        """``(W, D)`` of an engine vector: the numerators (a list) and the denominator."""
        if self.flint:
            e = X.entries()
            return e[:-1], e[-1]
        if self.objects:
            e = X.tolist()
            return e[:-1], e[-1]
        return X

    # -- floats ---------------------------------------------------------------------------

    @staticmethod
    def floats(ws, D):
        """``ws / D`` as floats and a bound on their absolute error, or ``(None, 0)``
        when a value lies beyond floats."""
        k = max(D.bit_length() - 60, 0)  # ~60 bits of D
        Df = float(D >> k)
        try:
            vl = np.array([float(w >> k) for w in ws]) / Df
        except OverflowError:  # a value beyond floats
            return None, 0.0
        # the truncation to ~60 bits of D (below 2**-59 absolute) and four roundings
        # (w, D, the quotient: relative)
        return vl, 2.0**-58 + 2.0**-50 * float(np.abs(vl).max(initial=0))

    def decide(self, vl, err: float):
        """The float argmax per state over values ``vl`` known to within ``err``, the
        states the floats cannot decide with their candidate actions (those within
        twice the float error bound of the float maximum; every action past float
        range), and the chosen actions' float Q-values with their error bound (the next
        step's ``vl`` and ``err``)."""
        n, m = self.n, self.m
        if vl is None:
            return [0] * n, {i: range(m) for i in range(n)}, None, 0.0
        g = abs(self.gf)
        vmax = float(np.abs(vl).max(initial=0)) + err
        # |qf - Q| <= rounding of c, of gamma * P, of the products and sums (relative:
        # (n + 5) units, eps has eight times that) + gamma * the error of vl
        size = self.cmax + g * vmax
        if not size < 2.0**1000:   # floats could overflow (or are inf): decide exactly
            return [0] * n, {i: range(m) for i in range(n)}, None, 0.0
        tol = self.eps * size + g * err
        qf = (self.cf + self.gpf @ vl).reshape(n, m)
        top = qf.max(axis=1, keepdims=True)     # the next values' floats (within tol)
        near = qf >= top - 2 * tol
        best = qf.argmax(axis=1).tolist()
        nxt = top.ravel()
        if np.count_nonzero(near) == n:  # one candidate per state: all decided
            return best, {}, nxt, tol
        return best, {i: np.flatnonzero(near[i]).tolist()
                      for i in np.flatnonzero(near.sum(axis=1) > 1).tolist()}, nxt, tol

    # -- exact ---------------------------------------------------------------------------

    def scaled(self, rows: tuple):
        """What the exact Q-values of the pairs ``rows`` need: ``S = gd * L_rows``
        (``L_rows``: the lcm of the rows' denominators, so a step brings in only the
        factors of the rows it uses), and with flint the matrix
        ``[[diag(mk) A, ck], [0, S]]`` (``mk_k = gn * L_rows / d_k``, ``ck_k = gd *
        L_rows * c_k``, ``A`` the numerators), without it the lists ``mk`` and ``ck``.
        The last few sets of rows are kept: a policy repeats from step to step."""
        got = self._scaled.get(rows)
        if got is None:
            Lr = lcm(*[self.dens[k] for k in rows], *[self.cden[k] for k in rows])
            gn, gd = self.gn, self.gd
            mk = [gn * (Lr // self.dens[k]) for k in rows]
            ck = [gd * self.cnum[k] * (Lr // self.cden[k]) for k in rows]
            S = gd * Lr
            if self.flint:
                n, r = self.n, len(rows)
                B = [0] * ((r + 1) * (n + 1))
                for i, k in enumerate(rows):
                    x = mk[i]
                    for j, a in zip(self.succ[k], self.nums[k]):
                        B[i * (n + 1) + j] = x * a
                    B[i * (n + 1) + n] = ck[i]
                B[-1] = S
                got = (S, _FlintMatrix(r + 1, n + 1, B))
            elif self.objects:
                n, r = self.n, len(rows)
                B = np.empty((r + 1, n + 1), dtype=object)
                B[...] = mpz(0)
                for i, k in enumerate(rows):
                    B[i, self.succ[k]] = [mpz(mk[i] * a) for a in self.nums[k]]
                    B[i, n] = mpz(ck[i])
                B[r, n] = mpz(S)
                got = (S, B)
            else:
                got = (mpz(S), [mpz(x) for x in mk], [mpz(x) for x in ck])
            if len(self._scaled) >= 8:
                self._scaled.clear()
            self._scaled[rows] = got
        return got

    def exact(self, X, rows: list):
        """The exact ``Q * S * D`` of the pairs ``rows`` (``state * m + action``
        indices), with ``S * D`` after them: a flint column, or (list, ``S * D``)."""
        got = self.scaled(tuple(rows))
        if self.flint:
            return got[1] * X
        if self.objects:
            return got[1].dot(X)
        S, mk, ck = got
        W, D = X
        dots = [sum(map(mul, self.nums[k], [W[j] for j in self.succ[k]]), mpz(0))
                for k in rows]
        return [c * D + x * y for c, x, y in zip(ck, mk, dots)], S * D

    def step(self, X, acts: list, open_: dict, keep=None):
        """One exact step from the values ``X``: ``(acts, moved, X')`` with, per state,
        the first action attaining the largest Q-value (``acts``: the float argmaxes,
        exact where ``open_`` lists the candidates), the actions policy iteration moves
        to (``keep[state]`` unless an action is strictly better; ``moved`` is ``acts``
        without ``keep``) and the new values ``X'`` along ``acts``."""
        n, m = self.n, self.m
        if keep is not None:
            for i in range(n):
                if keep[i] != acts[i]:
                    open_[i] = sorted(set(open_.get(i, ())) | {acts[i], keep[i]})
        if not open_:   # the floats decided every state: one product per state
            return acts, acts, self.exact(X, [i * m + k for i, k in enumerate(acts)])
        rows = [i * m + acts[i] for i in range(n) if i not in open_]
        for i in sorted(open_):
            rows.extend(i * m + k for k in open_[i])
        qs, SD = self.split(self.exact(X, rows))
        qs = dict(zip(rows, qs))
        acts, moved, vals = list(acts), list(acts), []
        for i in range(n):
            if i in open_:
                best = bq = None
                for k in open_[i]:   # ascending: ties go to the first declared action
                    qk = qs[i * m + k]
                    if best is None or qk > bq:
                        best, bq = k, qk
                acts[i] = best
                if keep is not None:
                    mv = keep[i]
                    moved[i] = best if bq > qs[i * m + mv] else mv
            vals.append(qs[i * m + acts[i]])
        return acts, (moved if keep is not None else acts), self.start(vals, SD)

    def lowest(self, X, M):
        """The values ``X`` with the common factor of ``M`` (a divisor of ``D``: the
        factors the last steps brought in) and of the values removed. Lowest terms are
        not needed for exactness, only for the size of the integers."""
        W, D = self.split(X)
        if self.flint:
            g = _FlintInteger(M)
            for w in W:
                g = w.gcd(g)
                if g == 1:
                    return X
            return X / g
        g = mpz(M)
        for w in W:
            g = gmpy_gcd(g, w)
            if g == 1:
                return X
        if self.objects:
            return X // g
        return [w // g for w in W], D // g


#: Steps of backward induction between two exact reads of the values into floats (in
#: between, the floats follow the chosen actions' float Q-values with their growing
#: error bound).
_RESYNC_EVERY = 4

#: Steps between two removals of the common factors the steps' scales left (a gcd per
#: state each time; the scales bring in only the factors of the rows used, so little is
#: left: 7-8 % of the digits on the random MDPs of bench/bench_mdp.py).
_REDUCE_EVERY = 16


def _backward_integer(model: ExactModel, T: int, deadline: Deadline,
                      V_end: Mapping | None = None):
    """Backward induction over rationals with integer arithmetic (``V_end``: rational
    values after the last step, default 0), on :class:`_IntegerMDP`. The factors the
    steps add to the common denominator are removed again every few steps where the
    values allow (``_REDUCE_EVERY``); the floats deciding the argmaxes are read from
    the exact values every ``_RESYNC_EVERY`` steps. The exact values grow by a few
    digits per step (the discount and the probabilities' denominators compound), which
    no exact method avoids; they become rationals only when read (:class:`_Steps`).
    """
    mdp = model.mdp
    im = _IntegerMDP(mdp)
    if V_end is None:
        X = im.start([0] * im.n, 1)
    else:
        end = [_conv(QQ, V_end[s]) for s in mdp.states]
        D = lcm(1, *(int(QQ.denom(v)) for v in end))
        X = im.start([int(QQ.numer(v)) * (D // int(QQ.denom(v))) for v in end], D)
    steps = [X]
    rules = []
    actions, states = mdp.actions, mdp.states
    D_reduced = im.split(X)[1]
    vl, err = im.floats(*im.split(X))
    last = None
    for t in range(1, T + 1):
        deadline.check()
        acts, open_, vl, err = im.decide(vl, err)
        acts, _, X = im.step(X, acts, open_)
        if t % _REDUCE_EVERY == 0:
            D = im.split(X)[1]
            X = im.lowest(X, D // D_reduced)
            D_reduced = im.split(X)[1]
        if vl is None or t % _RESYNC_EVERY == 0:
            vl, err = im.floats(*im.split(X))
        steps.append(X)
        rule = [actions[k] for k in acts]
        if rule != last:
            last, rule_dict = rule, dict(zip(states, rule))
        rules.append(dict(rule_dict))
    rules.reverse()
    steps.reverse()
    return tuple(rules), _Steps(mdp.states, steps, im)


class _Plain:
    """The split of values kept as tuples of Python integers, numerators then
    denominator (:class:`_Steps` after pickling)."""

    @staticmethod
    def split(X) -> tuple:
        return list(X[:-1]), X[-1]


class _Steps(Sequence):
    """The values of backward induction per step, kept as integers over a common
    denominator and turned into a dict state -> rational only when one step is read
    (building |S| rationals per step was most of a long horizon's time)."""

    def __init__(self, states, steps, im):
        self._states, self._steps, self._im, self._read = states, steps, im, {}

    def __reduce__(self):
        # flint's matrices do not pickle: ship the integers (a solution travels whole)
        plain = [tuple(map(int, W)) + (int(D),) for W, D in map(self._im.split, self._steps)]
        return _Steps, (self._states, plain, _Plain())

    def __len__(self):
        return len(self._steps)

    def __getitem__(self, t):
        if isinstance(t, slice):
            return [self[i] for i in range(*t.indices(len(self)))]
        t = range(len(self))[t]
        if t not in self._read:
            W, D = self._im.split(self._steps[t])
            D = int(D)
            self._read[t] = {s: QQ(int(w), D) for s, w in zip(self._states, W)}
        return self._read[t]

    def start_value(self, mu0: Mapping):
        """``sum_s mu0(s) V_0(s)`` as a SymPy rational, computed on the integers (one
        gcd, in SymPy, instead of one per state and addition); None unless every start probability
        is a fraction."""
        if not all(isinstance(p, Fraction) for p in mu0.values()):
            return None
        W, D = self._im.split(self._steps[0])
        index = {s: i for i, s in enumerate(self._states)}
        Lm = lcm(*[p.denominator for p in mu0.values()])
        num = sum((int(W[index[s]]) * (p.numerator * (Lm // p.denominator))
                   for s, p in mu0.items()), 0)
        return sympy.Rational(num, int(D) * Lm)


# ---- infinite horizon ------------------------------------------------------------------

def _evaluate_stationary(model: ExactModel, rule: Mapping) -> dict:
    mdp, K = model.mdp, model.K
    idx = {s: i for i, s in enumerate(mdp.states)}
    n = len(mdp.states)
    A = [[K.zero] * n for _ in range(n)]
    b = [[K.zero] for _ in range(n)]
    for s in mdp.states:
        i = idx[s]
        A[i][i] += K.one
        row = rule[s] if isinstance(rule[s], Mapping) else {rule[s]: Fraction(1)}
        for a, pa in row.items():
            pa = _conv(K, pa)
            for s2, p, r in model.rows[(s, a)]:
                A[i][idx[s2]] -= pa * model.gamma * p
                b[i][0] += pa * p * r
    try:
        x = DomainMatrix(A, (n, n), K).lu_solve(DomainMatrix(b, (n, 1), K))
    except (DMNonInvertibleMatrixError, ZeroDivisionError) as exc:  # gamma = 1, a cycle
        raise ParameterError(f"the infinite-horizon values are not finite ({exc}); "
                             "use gamma < 1 or a finite horizon") from None
    col = x.to_list()
    return {s: col[idx[s]][0] for s in mdp.states}


def _float_policy(im: _IntegerMDP) -> list:
    """A start for exact policy iteration: the policy float policy iteration settles on
    (all first actions where floats fail). Only the number of exact solves depends on
    it; every decision after it is exact."""
    n, m = im.n, im.m
    pol = np.zeros(n, dtype=int)
    idx = np.arange(n)
    P = im.pf.reshape(n, m, n)
    c = im.cf.reshape(n, m)
    if not (np.isfinite(c).all() and abs(im.gf) < 1):
        return pol.tolist()
    with np.errstate(all="ignore"):
        for _ in range(100):
            try:
                V = np.linalg.solve(np.eye(n) - im.gf * P[idx, pol], c[idx, pol])
            except np.linalg.LinAlgError:
                return [0] * n
            Q = c + im.gf * (P @ V)
            if not np.isfinite(Q).all():
                return [0] * n
            new = Q.argmax(axis=1)
            if (Q[idx, new] <= Q[idx, pol] + 1e-12 * (1 + np.abs(Q[idx, pol]))).all():
                break
            pol = new
    return pol.tolist()


def _solve_policy(im: _IntegerMDP, pol: list):
    """The exact values of the stationary policy ``pol`` as an engine vector: one exact
    solve of ``(I - gamma P_pol) V = c_pol`` with each row scaled to integers on its own
    (integer coefficients; flint's ``fmpz_mat.solve`` when installed, SymPy's ``DomainMatrix``
    otherwise)."""
    n, m = im.n, im.m
    A = [[0] * n for _ in range(n)]
    b = []
    for i in range(n):
        # row i times gd * lcm(d_k, c_k's denominator) only: small integers, so the
        # elimination starts from numbers of a few digits
        k = i * m + pol[i]
        e = lcm(im.dens[k], im.cden[k])
        A[i][i] += im.gd * e
        x = im.gn * (e // im.dens[k])
        for j, a in zip(im.succ[k], im.nums[k]):
            A[i][j] -= x * a
        b.append(im.gd * im.cnum[k] * (e // im.cden[k]))
    try:
        if _FlintMatrix is not None:
            col = _FlintMatrix(A).solve(_FlintMatrix(n, 1, b)).entries()
            nums, dens = [int(v.p) for v in col], [int(v.q) for v in col]
        else:
            x = DomainMatrix([[QQ(v) for v in row] for row in A], (n, n), QQ) \
                .lu_solve(DomainMatrix([[QQ(v)] for v in b], (n, 1), QQ))
            col = [r[0] for r in x.to_list()]
            nums = [int(QQ.numer(v)) for v in col]
            dens = [int(QQ.denom(v)) for v in col]
    except (DMNonInvertibleMatrixError, ZeroDivisionError) as exc:  # gamma = 1
        raise ParameterError(f"the infinite-horizon values are not finite ({exc}); "
                             "use gamma < 1 or a finite horizon") from None
    D = lcm(1, *dens)
    return im.start([x * (D // d) for x, d in zip(nums, dens)], D)


def _policy_iteration_integer(model: ExactModel, deadline: Deadline):
    """Policy iteration over QQ on :class:`_IntegerMDP`, started from the policy float
    policy iteration finds (usually optimal already: one exact solve and one exact
    improvement step). Each policy is evaluated by one exact solve
    (:func:`_solve_policy`) and improved on exact integer Q-values (floats only skip
    actions that cannot win); a policy changes only on a strict improvement."""
    mdp = model.mdp
    im = _IntegerMDP(mdp)
    pol = _float_policy(im)
    for _ in range(10_000):
        deadline.check()
        X = _solve_policy(im, pol)
        acts, open_, _, _ = im.decide(*im.floats(*im.split(X)))
        final, new, _ = im.step(X, acts, open_, keep=pol)
        if new == pol:
            break
        pol = new
    # pi*: the first action attaining the optimal Q-value (``final``, from the same Qs)
    return ({s: mdp.actions[k] for s, k in zip(mdp.states, final)},), \
        _Steps(mdp.states, [X], im)


def _policy_iteration(model: ExactModel, sign: Sign, deadline: Deadline):
    mdp = model.mdp
    if model.K is QQ:
        return _policy_iteration_integer(model, deadline)
    rule = {s: mdp.actions[0] for s in mdp.states}
    for _ in range(10_000):
        deadline.check()
        V = _evaluate_stationary(model, rule)
        changed = False
        for s in mdp.states:
            bq = model.q(s, rule[s], V)
            for a in mdp.actions:
                qa = model.q(s, a, V)
                if sign.greater(qa, bq):  # switch only on strict improvement: terminates
                    rule[s], bq, changed = a, qa, True
        if not changed:
            break
    # pi*: the first action attaining the (unique) optimal Q-value
    final = {}
    for s in mdp.states:
        qs = [(a, model.q(s, a, V)) for a in mdp.actions]
        top = qs[0][1]
        for _, qa in qs[1:]:
            if sign.greater(qa, top):
                top = qa
        final[s] = next(a for a, qa in qs if not sign.greater(top, qa))
    return (final,), (V,)


# ---- symbolic horizon ------------------------------------------------------------------

@dataclass(frozen=True)
class _Tail:
    """Closed forms for a symbolic horizon: explicit decision rules for the last
    ``k0 - 1`` steps-to-go, one stationary rule before them."""

    N: sympy.Symbol
    k0: int
    rules_by_togo: dict     # steps-to-go k (< k0) -> rule
    stationary: dict
    values: dict
    value: Any

    def policy(self, t, s):
        """The rule at time ``t`` as a :class:`Choice` over the horizon ``N`` (for the
        horizons ``N > t`` at which step ``t`` exists): ``N - t`` steps are left to go."""
        if self.k0 == 1:
            return self.stationary[s]
        if isinstance(t, bool) or not isinstance(t, int) or t < 0:
            raise SpecError(f"t = {t!r}: the time step is an int >= 0")
        c = Choice(self.N, [(sympy.FiniteSet(k + t), r[s]) for k, r in
                            sorted(self.rules_by_togo.items())]
                   + [(sympy.Interval(self.k0 + t, sympy.oo), self.stationary[s])])
        return c.pieces[0][1] if c.is_constant else c


def _closed_form_values(model: ExactModel, rule: Mapping, V_init: dict, m: sympy.Symbol,
                        deadline: Deadline) -> dict:
    """``V_m = sum_{t<m} A^t c + A^m V_init`` with ``A = gamma P_rule``, in closed form."""
    mdp, K = model.mdp, model.K
    idx = {s: i for i, s in enumerate(mdp.states)}
    n = len(mdp.states)
    A = sympy.zeros(n, n)
    c = sympy.zeros(n, 1)
    g = K.to_sympy(model.gamma)
    for s in mdp.states:
        for s2, p, r in model.rows[(s, rule[s])]:
            A[idx[s], idx[s2]] += g * K.to_sympy(p)
            c[idx[s]] += K.to_sympy(p) * K.to_sympy(r)
    v0 = sympy.Matrix([K.to_sympy(V_init[s]) for s in mdp.states])
    _check_eigenvalues(A, n)
    deadline.check()
    t = sympy.Dummy("t", integer=True, nonnegative=True)
    try:
        At = A ** t
        terms = At * c
        summed = terms.applyfunc(lambda e: sympy.summation(e, (t, 0, m - 1)))
        V = summed + (A ** m) * v0
    except _SYMPY_CANNOT as exc:  # what SymPy raises for "cannot"; nothing else is hidden
        raise ClosedFormError(f"no closed form for the {n}-state chain under the stationary "
                              f"policy ({type(exc).__name__}: {exc}); solve for a concrete "
                              "horizon") from None
    out = {}
    for s in mdp.states:
        e = sympy.simplify(V[idx[s]])
        if e.has(sympy.Sum):
            raise ClosedFormError(f"the value of state {s!r} has no closed form found by "
                                  f"SymPy: {e}; solve for a concrete horizon")
        out[s] = e
    return out


#: What SymPy raises when it cannot compute a matrix power, a sum or a solution.
_SYMPY_CANNOT = (NotImplementedError, ValueError, TypeError, ZeroDivisionError,
                 MatrixError, PolynomialError)


def _check_eigenvalues(A: sympy.Matrix, n: int) -> None:
    """Refuse quickly when ``A**t`` has no closed form in radicals that cpspec can use.

    The closed form of ``A**t`` is written with the eigenvalues of ``A``; cpspec accepts
    chains whose characteristic polynomial factors into linear factors over the rationals
    (or the parameters' rational functions): absorbing, deterministic and triangular
    chains, and every chain of one or two states. An irreducible factor of higher degree
    makes SymPy's matrix power work for minutes on radicals (and then usually fail), so
    it is refused at once.
    """
    try:
        _, factors = A.charpoly(sympy.Dummy("lambda")).factor_list()
    except _SYMPY_CANNOT:
        return
    worst = max((f.degree() for f, _ in factors), default=0)
    if worst > 1:
        raise ClosedFormError(
            f"no closed form for the {n}-state chain under the stationary policy: its "
            f"transition matrix has eigenvalues that are roots of an irreducible polynomial "
            f"of degree {worst} (cpspec writes closed forms when the characteristic "
            "polynomial splits into linear factors); solve for concrete horizons")


def _symbolic_horizon(model: ExactModel, N: sympy.Symbol, sign: Sign, deadline: Deadline,
                      fixed_rule=None):
    mdp, K = model.mdp, model.K
    n = len(mdp.states)
    depth = max(2 * n + 2, 8)
    if fixed_rule is None:
        rules, Vs = backward_induction(model, depth, sign, deadline=deadline)
        by_togo = {depth - t: rules[t] for t in range(depth)}  # steps-to-go -> rule
        final = by_togo[depth]
        k0 = depth
        while k0 - 1 >= 1 and by_togo[k0 - 1] == final:
            k0 -= 1
        if depth - k0 < n + 1:
            raise ClosedFormError(
                f"the optimal decision rule did not settle within {depth} steps-to-go, so "
                "cpspec cannot write the optimal policy for a symbolic horizon; solve for "
                "concrete horizons instead")
        V_before = Vs[depth - (k0 - 1)]  # values with k0 - 1 steps to go
    else:
        final, k0, by_togo = dict(fixed_rule), 1, {}
        depth = n
        _, Vs = backward_induction(model, depth, sign, lambda t, s: {final[s]: Fraction(1)},
                          deadline=deadline)
        V_before = {s: K.zero for s in mdp.states}
    m = sympy.Symbol("m", integer=True, nonnegative=True)
    Vm = _closed_form_values(model, final, V_before, m, deadline)   # values with k0 - 1 + m to go
    if fixed_rule is None and len(mdp.actions) > 1:
        deadline.check()
        _prove_tail_optimal(model, final, Vm, m, depth - (k0 - 1))
    # The closed form is written for m >= n, where the nilpotent part of the chain (the
    # KroneckerDelta terms of A**m) has died out; shorter horizons are listed explicitly,
    # and dropped again where the closed form happens to agree with them.
    j = sympy.Symbol("j", integer=True, nonnegative=True)
    first = k0 - 1 + n                   # the smallest N the closed form is written for

    def piecewise(closed_m, explicit_at):
        closed = sympy.simplify(sympy.piecewise_fold(closed_m.subs(m, n + j)))
        closed = closed.subs(j, N - first)
        pieces = [(explicit_at(k), sympy.Eq(N, k)) for k in range(first)
                  if sympy.simplify(closed.subs(N, k) - explicit_at(k)) != 0]
        return sympy.Piecewise(*pieces, (closed, True)) if pieces else closed

    def explicit(k, s):  # exact value with k steps to go
        return K.to_sympy(Vs[depth - k][s])

    vals = {s: piecewise(Vm[s], lambda k, s=s: explicit(k, s)) for s in mdp.states}
    mu = [(as_sympy(p), s) for s, p in mdp.mu0.items()]
    start = piecewise(sum((p * Vm[s] for p, s in mu), sympy.Integer(0)),
                      lambda k: sum((p * explicit(k, s) for p, s in mu), sympy.Integer(0)))
    tail = _Tail(N, k0, {k: by_togo[k] for k in range(1, k0)}, final, vals, start)
    return Solution(mdp, N, (final,), (), K, model, tail)


def _prove_tail_optimal(model: ExactModel, rule, Vm, m, checked: int):
    """Prove that ``rule`` stays optimal (with the tie-break) for every m >= checked."""
    mdp, K = model.mdp, model.K
    g = K.to_sympy(model.gamma)
    x = sympy.Symbol("x", real=True)
    k = sympy.Symbol("k", integer=True, nonnegative=True)
    order = {a: i for i, a in enumerate(mdp.actions)}
    for s in mdp.states:
        def Q(a):
            return sum((K.to_sympy(p) * (K.to_sympy(r) + g * Vm[s2])
                        for s2, p, r in model.rows[(s, a)]), sympy.Integer(0))
        best = rule[s]
        qb = Q(best)
        for a in mdp.actions:
            if a == best:
                continue
            # only m >= checked matters (smaller m were compared exactly): shifting makes
            # the KroneckerDelta/Piecewise terms of nilpotent chains vanish
            diff = sympy.simplify(sympy.piecewise_fold((qb - Q(a)).subs(m, checked + k)))
            if diff == 0:
                if order[a] < order[best]:
                    raise ClosedFormError(f"internal: tie-break violated in state {s!r}")
                continue
            strict = order[a] < order[best]
            rel = (diff <= 0) if strict else (diff < 0)
            bad = _violations(rel.subs(k, x), x, 0)
            if bad is None:
                raise ClosedFormError(
                    f"cannot prove that action {best!r} stays optimal in state {s!r} for "
                    f"every horizon (against {a!r}: Q difference {diff}); solve for "
                    "concrete horizons")
            if bad:
                raise ClosedFormError(
                    f"action {best!r} stops being optimal in state {s!r} at {bad} more "
                    "steps-to-go than were checked; the optimal policy is not eventually "
                    "stationary in the way cpspec can express: solve for concrete horizons")


def _violations(rel, x, start: int):
    """None if undecidable; else [] when ``rel`` holds for no real x >= start (so no
    integer), or the first integers where it holds."""
    if rel.free_symbols - {x}:
        return None
    try:
        bad = sympy.solve_univariate_inequality(rel, x, relational=False)
    except (NotImplementedError, ValueError, TypeError):
        return None
    bad = bad & sympy.Interval(start, sympy.oo)
    if bad is sympy.S.EmptySet:
        return []
    ints = [i for i in range(start, start + 50) if bad.contains(i) == sympy.true]
    if ints:
        return ints[:3]
    return None


# ---- parameters ------------------------------------------------------------------------

def _parameter(mdp: MDP, horizon, domain):
    syms = mdp.free_symbols() - ({horizon} if isinstance(horizon, sympy.Symbol) else set())
    if domain is not None:
        extra = sorted({str(k) for k in domain} - {str(x) for x in syms}) \
            if isinstance(domain, Mapping) else []
        if extra:
            raise ParameterError(
                f"domain gives {', '.join(extra)}, which the model does not have (its "
                f"parameters: {', '.join(sorted(map(str, syms))) or 'none'}); leave "
                f"{'them' if len(extra) > 1 else 'it'} out of domain")
        if not isinstance(domain, Mapping) or len(domain) != 1:
            raise ParameterError("domain must map one parameter to its set, e.g. "
                                 "{gamma: sympy.Interval(0, 1)}")
        (x, dom), = domain.items()
        x = x if isinstance(x, sympy.Symbol) else sympy.Symbol(str(x))
        return x, dom
    if len(syms) != 1:
        return None, None
    x = next(iter(syms))
    probs = [as_sympy(p) for row in mdp.P.values() for p in row.values()]
    dom = valid_domain(x, probs, as_sympy(mdp.gamma), infinite=horizon is sympy.oo)
    return x, dom


# ---- entry points ----------------------------------------------------------------------

def solve(model: MDP | Diagram, horizon: Any = None, domain: Mapping | None = None,
          timeout: float | None = 60.0):
    """The optimal policy and its exact value.

    Parameters
    ----------
    model : MDP or Diagram
        An MDP, or an influence diagram with decision and utility nodes.
    horizon : int, sympy.Symbol or sympy.oo
        For an MDP: the number of decisions (``oo``: discounted, ``gamma < 1``).
    domain : {symbol: sympy.Set}, optional
        The range of each symbolic parameter (``{p: sympy.Interval(0, 1), r:
        sympy.Interval(0, 10)}``); by default the values where the probabilities that
        read it lie in [0, 1] and ``gamma`` in [0, 1] ([0, 1) for ``oo``). A parameter
        nothing bounds (a reward) needs one. With one parameter the answer is a
        :class:`ParametricSolution` over intervals, with several a
        :class:`~cpspec.core.partition.RegionSolution` over the exact regions of their box.
    timeout : float or None
        Seconds for the whole call (None: no limit). A symbolic horizon whose closed form
        is not found in time raises :class:`ClosedFormError`; any other solve that runs
        out of time raises :class:`BudgetError`. Nothing is guessed either way.

    Returns
    -------
    Solution, ParametricSolution or RegionSolution

    Examples
    --------
    >>> import cpspec as cp, sympy
    >>> g = sympy.Symbol("gamma")
    >>> m = cp.MDP(states=["start", "waiting", "done"], actions=["take", "wait"],
    ...            transition=lambda s, a: {"done": 1} if s != "start" or a == "take"
    ...                                    else {"waiting": 1},
    ...            reward=lambda s, a, s2: {("start", "take"): 1, ("waiting", "take"): 2,
    ...                                     ("waiting", "wait"): 2}.get((s, a), 0),
    ...            start="start", gamma=g)
    >>> sol = cp.solve(m, 2)
    >>> print(sol.policy(0, "start"))
    take if 0 <= gamma <= 1/2; wait if 1/2 < gamma <= 1
    >>> sol.value
    Piecewise((1, (gamma >= 0) & (gamma <= 1/2)), (2*gamma, (gamma <= 1) & (gamma > 1/2)))
    >>> sol.thresholds()
    [1/2]
    """
    deadline = Deadline(check_timeout(timeout))
    if isinstance(model, Diagram):
        if horizon is not None:
            raise SpecError("an influence diagram carries its own horizon; call solve(diagram)")
        return run_within(deadline, "solve", None, lambda: solve_diagram(model, domain))
    if not isinstance(model, MDP):
        raise SpecError(f"solve() needs a cp.MDP or an influence diagram, got {model!r}")
    if horizon is None:
        raise SpecError("solve(mdp, horizon): give the horizon (an int, a symbol N, or "
                        "sympy.oo)")
    horizon = check_horizon(horizon, mdp=model)
    return run_within(deadline, "solve", horizon,
                   lambda: _run(model, horizon, domain, None, deadline))


def run_within(deadline: Deadline, verb: str, horizon, work):
    """Run ``work()`` within the call's time budget ``deadline``; its expiry becomes a
    :class:`~cpspec.errors.BudgetError` naming ``verb`` (a
    :class:`~cpspec.errors.ClosedFormError` for a symbolic ``horizon``), and an
    enclosing call's budget is left to that call.

    >>> from cpspec.budget import Deadline
    >>> run_within(Deadline(None), "solve", None, lambda: 42)
    42
    """
    def no_closed_form():
        return ClosedFormError(
            f"{verb}: no closed form for the horizon {horizon} within "
            f"timeout={deadline.seconds:g} s; pass a larger timeout (or None), or "
            "solve for concrete horizons")
    return within(deadline, verb, work,
                  no_closed_form if isinstance(horizon, sympy.Symbol) else None)


def evaluate_policy(mdp: MDP, policy: Any, horizon: Any, domain: Mapping | None = None,
                    timeout: float | None = 60.0):
    """The exact value of a given policy (no optimisation): a :class:`Solution`.

    With a symbolic horizon the policy must be stationary; the values are closed forms.
    ``timeout`` is the budget of the whole call, as in :func:`solve`.

    Examples
    --------
    >>> import cpspec as cp, sympy
    >>> N, g, r = sympy.symbols("N gamma r")
    >>> m = cp.MDP(states=["s"], actions=["a"], transition=lambda s, a: {"s": 1},
    ...            reward=lambda s, a, s2: r, start="s", gamma=g)
    >>> cp.evaluate_policy(m, lambda s: "a", N).value
    Piecewise((N*r, Eq(gamma, 1)), (r*(gamma**N - 1)/(gamma - 1), True))
    """
    deadline = Deadline(check_timeout(timeout))
    horizon = check_horizon(horizon, mdp=mdp)
    pol = policy_function(mdp, policy)
    return run_within(deadline, "evaluate_policy", horizon, lambda: _run(
        mdp, horizon, domain, lambda t, s: action_distribution(mdp, pol(t, s), t, s), deadline))


def _run(mdp: MDP, horizon, domain, fixed, deadline: Deadline):
    if horizon is sympy.oo:
        g = mdp.gamma
        if isinstance(g, Fraction) and g >= 1:
            raise ParameterError(f"gamma = {g}: an infinite horizon needs gamma < 1 (the "
                                 "discounted sum diverges otherwise); use a finite horizon")
    model = ExactModel.of(mdp)

    def run(region: Region | None):
        sign = Sign(model.K, region)
        if isinstance(horizon, int):
            rules, Vs = backward_induction(model, horizon, sign, fixed, deadline=deadline)
            return Solution(mdp, horizon, rules, Vs, model.K, model)
        if horizon is sympy.oo:
            if fixed is not None:
                rule = {s: _single(fixed(0, s)) for s in mdp.states}
                return Solution(mdp, horizon, (rule,), (_evaluate_stationary(model, rule),),
                                model.K, model)
            rules, Vs = _policy_iteration(model, sign, deadline)
            return Solution(mdp, horizon, rules, Vs, model.K, model)
        if fixed is not None:
            rule = {s: _single(fixed(0, s)) for s in mdp.states}
            if any(_single(fixed(1, s)) != rule[s] for s in mdp.states):
                raise ClosedFormError("with a symbolic horizon the policy must be stationary")
            return _symbolic_horizon(model, horizon, sign, deadline, rule)
        return _symbolic_horizon(model, horizon, sign, deadline)

    needs_regions = len(mdp.actions) > 1 and fixed is None and not model.K.is_QQ
    params = (mdp.free_symbols() - ({horizon} if isinstance(horizon, sympy.Symbol) else set())
              if needs_regions else set())
    if needs_regions and len(params) > 1 and (domain is None or len(domain) > 1):
        return _solve_regions(mdp, horizon, params, domain, deadline)
    if needs_regions and len(params) > 1:   # one domain given: the others may cancel out
        try:
            return _one_parameter(mdp, horizon, domain, fixed, deadline, run, model)
        except ParameterError:
            return _solve_regions(mdp, horizon, params, domain, deadline)
    return _one_parameter(mdp, horizon, domain, fixed, deadline, run, model)


def _one_parameter(mdp, horizon, domain, fixed, deadline, run, model):
    """The solve over one parameter (or none), on the regions of :mod:`cpspec.core.regions`."""
    needs_regions = len(mdp.actions) > 1 and fixed is None and not model.K.is_QQ
    x, dom = _parameter(mdp, horizon, domain) if needs_regions or domain else (None, None)
    if x is None:
        return run(None)
    # neighbours with the same rules are one region (their exact values are then equal)
    pieces = merge_adjacent(over_regions(x, dom, run), lambda a, b: a.rules == b.rules)
    rules = pieces[0][1].rules
    if not isinstance(horizon, sympy.Symbol) and all(p.rules == rules for _, p in pieces):
        # one policy on the whole domain: report it once, its values as closed forms
        return _run(mdp, horizon, None,
                    lambda t, s: {rules[0 if len(rules) == 1 else t][s]: Fraction(1)},
                    deadline)
    return ParametricSolution(x, tuple(pieces))


def _solve_regions(mdp: MDP, horizon, params, domain, deadline: Deadline) -> RegionSolution:
    """The optimal policy over several parameters: a partition of their box into the
    regions of each optimal policy (:func:`cpspec.core.partition.solve_regions`, with
    :func:`optimal_at` locating each region)."""
    if isinstance(horizon, sympy.Symbol):
        raise ParameterError(
            f"a symbolic horizon {horizon} with several parameters "
            f"({', '.join(sorted(map(str, params)))}): cpspec derives closed forms in the "
            "horizon for at most one other parameter; bind the others (mdp.bind(...))")
    probs = [p for row in mdp.P.values() for p in row.values()]
    params, box = parameter_box(params, domain, probs, mdp.gamma, horizon is sympy.oo)
    model = ExactModel.of(mdp)

    def solve_at(values):
        return _run(mdp.bind(**{str(x): v for x, v in values.items()}), horizon, None,
                    None, deadline)
    return solve_regions(params, box, lambda point: optimal_at(mdp, horizon, point, deadline,
                                                               model=model),
                         solve_at, _rules_answer, deadline)


def optimal_at(mdp: MDP, horizon, point: Point, deadline: Deadline | None = None,
               V_end: Mapping | None = None, model: ExactModel | None = None) -> tuple:
    """``(solution, conditions)``: the optimal policy of a parametric MDP at an exact
    point of its parameters, evaluated symbolically, and the conditions under which it
    stays optimal (its own Q-value differences under the tie rule,
    :func:`cpspec.core.partition.tie_rule`).

    At a rational point the MDP is bound and solved exactly; on a boundary (algebraic
    coordinates) the comparisons are decided exactly by Z3. ``V_end``: exact values after
    the last step of a finite horizon (default 0).

    Examples
    --------
    >>> import cpspec as cp, sympy
    >>> from cpspec.core.partition import Point
    >>> g, r = sympy.symbols("gamma r")
    >>> m = cp.MDP(["s", "w"], ["take", "wait"],
    ...            lambda s, a: {"w": 1} if (s, a) == ("s", "wait") else {"s": 1},
    ...            lambda s, a, s2: 1 if a == "take" else (r if s == "w" else 0), "s", gamma=g)
    >>> sol, conds = optimal_at(m, 2, Point([g, r], {g: sympy.Rational(1, 2), r: 4}))
    >>> sol.policy(0, "s"), sorted(map(str, set(conds) - {sympy.true}))
    ('wait', ['gamma*r - gamma - 1 > 0', 'r > 1'])
    """
    deadline = deadline or Deadline(None)
    infinite = horizon is sympy.oo
    params = tuple(point.params)
    check_rational(params, [mdp.gamma, *mdp.R.values(), *(V_end or {}).values()],
                   "the reward or discount")
    model = model or ExactModel.of(mdp)
    if point.is_rational:
        exact = ExactModel.of(model.bound(point.values))
        sign = Sign(exact.K, None)
    else:
        exact, sign = model, Sign(model.K, point)   # exact algebraic comparisons (Z3)
    fast = model.flint      # the same values and conditions, in python-flint
    if infinite:
        rules = _policy_iteration(exact, sign, deadline)[0]
        key = ("oo", tuple(rules[0][s] for s in mdp.states))
        if key not in model.memo:
            if fast is not None:
                W = fast.stationary_values(rules[0])
                model.memo[key] = ({s: fast.to_field(W[s]) for s in mdp.states},
                                   fast.tie_conditions(rules[0], W))
            else:
                V = _evaluate_stationary(model, rules[0])
                model.memo[key] = (V, _tie_conditions(model, rules[0], V))
        V, conds = model.memo[key]
        return Solution(mdp, horizon, rules, (V,), model.K, model), list(conds)
    rules = backward_induction(exact, horizon, sign, V_end=V_end, deadline=deadline)[0]
    # V_t and step t's conditions depend only on rules[t:] (and V_end): regions that
    # differ in their early steps share the evaluation of the later ones
    K = model.K
    V = {s: (K.zero if V_end is None else _conv(K, V_end[s])) for s in mdp.states}
    W = None if fast is None else {s: fast.of(V[s]) for s in mdp.states}
    # (states and actions are hashable: the MDP keys its tables by them)
    key = ("end", None if V_end is None else tuple(as_sympy(V_end[s]) for s in mdp.states))
    Vs, steps = [V], []
    for t in reversed(range(horizon)):
        deadline.check()
        rule = rules[t]
        key = (key, tuple(rule[s] for s in mdp.states))
        got = model.memo.get(key)
        if got is None and fast is not None:
            # values kept as fractions too (the next step computes on them)
            Wt = {s: fast.q(s, rule[s], W) for s in mdp.states}
            got = model.memo[key] = ({s: fast.to_field(Wt[s]) for s in mdp.states},
                                     fast.tie_conditions(rule, W), Wt)
        elif got is None:
            got = model.memo[key] = ({s: model.q(s, rule[s], V) for s in mdp.states},
                                     _tie_conditions(model, rule, V), None)
        V, W = got[0], got[2]
        Vs.append(V)
        steps.append(got[1])
    Vs.reverse()
    conds = [c for step in reversed(steps) for c in step]
    return Solution(mdp, horizon, rules, tuple(Vs), model.K, model), conds


def _tie_conditions(model: ExactModel, rule: Mapping, V: Mapping) -> tuple:
    """The conditions (:func:`tie_rule`) under which each state's action of ``rule``
    stays optimal given the values ``V`` after the step."""
    conds: list = []
    for s in model.mdp.states:
        qb = model.q(s, rule[s], V)
        conds += tie_rule(rule[s], model.mdp.actions, lambda a: qb - model.q(s, a, V),
                          K=model.K)
    return tuple(conds)


def _rules_answer(sol: Solution):
    """The decision rules as a region's answer: one dict when stationary, else a tuple
    of dicts (one per time step)."""
    return dict(sol.rules[0]) if sol.stationary else tuple(dict(r) for r in sol.rules)


def _single(row):
    if isinstance(row, Mapping):
        if len(row) != 1:
            return dict(row)
        return next(iter(row))
    return row
