"""Structural functions: what a node of a diagram computes from its parents.

A node is annotated with a structural function, as in the paper:

* deterministic, ``X = f_X(parents)``: :func:`fn`, :func:`const`;
* nondeterministic (drawn ``[f_X]``), ``P(X = x | parents) = f_X(x, parents)``:
  :func:`dist`, :func:`uniform`, :func:`bernoulli`;
* in influence diagrams, a decision node (:func:`decision`, chosen by a policy) and a
  utility node (:func:`utility`, deterministic, the agent's reward).

Probabilities are exact: ``int``, :class:`fractions.Fraction`, a string such as ``"1/6"``,
or a SymPy expression (possibly in symbolic parameters such as ``p``). A ``float``
probability is refused: ``0.1`` is not one tenth, and exact answers need exact inputs.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, replace as _dc_replace
from fractions import Fraction
from numbers import Rational as _RationalABC
from typing import Any, Callable, Literal, Mapping

import sympy

from .errors import DistributionError, FunctionError, SpecError

__all__ = [
    "StructuralFunction",
    "fn",
    "dist",
    "uniform",
    "const",
    "bernoulli",
    "decision",
    "utility",
    "to_exact",
]

Kind = Literal["chance", "decision", "utility"]


def to_exact(x: Any, what: str = "value") -> Any:
    """Return ``x`` as an exact number: a :class:`Fraction` when rational, else a SymPy expr.

    Non-numbers (strings, tuples, booleans used as labels) are returned unchanged by
    :func:`exact_value`; this function is for quantities that must be numbers.

    Raises
    ------
    DistributionError
        for floats and for things that are not numbers.

    Examples
    --------
    >>> to_exact(3), to_exact("1/6"), to_exact(sympy.Rational(1, 3))
    (Fraction(3, 1), Fraction(1, 6), Fraction(1, 3))
    """
    if isinstance(x, bool):
        return Fraction(int(x))
    if isinstance(x, Fraction):
        return x
    if isinstance(x, int):
        return Fraction(x)
    if isinstance(x, float):
        raise DistributionError(
            f"{what} {x!r} is a float; exact inference needs exact numbers: "
            f"write Fraction({Fraction(x).limit_denominator(10**6)}) or a string "
            f"'{Fraction(x).limit_denominator(10**6)}' or a sympy.Rational")
    if isinstance(x, str):
        try:
            return Fraction(x.strip())
        except (ValueError, ZeroDivisionError):
            raise DistributionError(
                f"{what} {x!r} is not an exact number; write it as 'a/b' or pass a "
                "SymPy expression for a symbolic value") from None
    if isinstance(x, sympy.Basic):
        if isinstance(x, sympy.Rational):
            return Fraction(int(x.p), int(x.q))
        if isinstance(x, sympy.Float) or (isinstance(x, sympy.Expr) and x.has(sympy.Float)):
            raise DistributionError(
                f"{what} {x} contains a floating-point number; use sympy.Rational "
                "for exact inference")
        if isinstance(x, sympy.Expr):
            return x
    if isinstance(x, _RationalABC):  # e.g. gmpy2.mpq
        return Fraction(int(x.numerator), int(x.denominator))
    raise DistributionError(f"{what} {x!r} is not a number (type {type(x).__name__})")


def number_to_sympy(x: Any, what: str = "value") -> Any:
    """An exact number as a SymPy object; anything else (a string above all) raises
    ``TypeError``. Never parses text: spec-file strings must not reach ``sympify``."""
    if isinstance(x, bool):
        return sympy.Integer(int(x))
    if isinstance(x, (int, Fraction)):
        return as_sympy(x)
    if isinstance(x, sympy.Basic):
        return x
    if isinstance(x, _RationalABC):
        return sympy.Rational(int(x.numerator), int(x.denominator))
    raise TypeError(f"{what} {x!r} is not a number")


def as_sympy(x: Any) -> Any:
    """Exact number (Fraction or int or SymPy) -> SymPy; other values unchanged."""
    if isinstance(x, bool):
        return x
    if isinstance(x, Fraction):
        return sympy.Rational(x.numerator, x.denominator)
    if isinstance(x, int):
        return sympy.Integer(x)
    return x


@dataclass(frozen=True, slots=True)
class StructuralFunction:
    """A node's annotation: its kind, its callable or table, and its parents.

    ``impl`` is a callable of the parent values (positionally, in ``parents`` order) that
    returns the value (deterministic) or a mapping value -> probability (random), or for
    a parentless random node possibly the mapping itself. ``parents`` is ``None`` until
    read from the callable's argument names. ``label`` is the name drawn above the node
    (``pi``, ``S``, ``R``); nodes sharing a label share one input parameter.
    """

    kind: Kind
    random: bool
    impl: Any
    parents: tuple[str, ...] | None = None
    values: tuple | None = None
    label: str | None = None
    weight: Any = 1

    def resolve_parents(self, node: str) -> tuple[str, ...]:
        """The parent names: explicit ones, else the callable's argument names."""
        if self.parents is not None:
            return self.parents
        if not callable(self.impl):
            return ()
        try:
            sig = inspect.signature(self.impl)
        except (TypeError, ValueError):
            raise FunctionError(
                f"node {node!r}: cannot read the parents from {self.impl!r}; "
                "pass them with parents=[...]") from None
        names = []
        for prm in sig.parameters.values():
            if prm.kind in (prm.VAR_POSITIONAL, prm.VAR_KEYWORD):
                raise FunctionError(
                    f"node {node!r}: the function takes *args/**kwargs, so its parents "
                    "cannot be read from its argument names; pass parents=[...]")
            if prm.kind is prm.KEYWORD_ONLY:
                raise FunctionError(
                    f"node {node!r}: keyword-only argument {prm.name!r}; parents are "
                    "passed positionally, so make it a positional argument")
            names.append(prm.name)
        return tuple(names)

    def with_label(self, label: str) -> "StructuralFunction":
        """A copy carrying the shared-annotation name ``label``."""
        return _dc_replace(self, label=label)

    def distribution(self, node: str, args: tuple) -> dict:
        """The distribution of the node given parent values ``args``: value -> exact prob.

        Raises
        ------
        FunctionError
            when the user's callable raises or returns something unusable.
        DistributionError
            when the returned probabilities do not form a distribution.
        """
        if self.kind == "decision":
            raise FunctionError(
                f"node {node!r} is a decision node: it has no distribution until a policy "
                "is chosen; solve the diagram (cp.solve) or replace the node with a policy "
                f"(diagram.replace(name, {node}=cp.fn(policy)))")
        if callable(self.impl):
            try:
                out = self.impl(*args)
            except SpecError:
                raise
            except Exception as exc:  # a user's function: report, never a deep traceback
                raise FunctionError(
                    f"node {node!r}: its structural function raised "
                    f"{type(exc).__name__}: {exc} for parent values {_show_args(args)}; "
                    "make it total on the parents' domains") from None
        else:
            out = self.impl
        if not self.random:
            try:
                hash(out)
            except TypeError:
                raise FunctionError(
                    f"node {node!r}: its function returned the unhashable value {out!r} "
                    f"for parent values {_show_args(args)}; return a hashable value "
                    "(a tuple instead of a list, a frozenset instead of a set)") from None
            if isinstance(out, float):
                raise FunctionError(
                    f"node {node!r}: its function returned the float {out!r} for parent "
                    f"values {_show_args(args)}; use int, Fraction or SymPy values")
            return {_norm_value(out): Fraction(1)}
        return _check_distribution(node, out, args)


def _show_args(args: tuple) -> str:
    return "(" + ", ".join(repr(a) for a in args) + ")" if args else "(no parents)"


def _norm_value(v: Any) -> Any:
    """Values are kept as given, except that SymPy integers become ints (one key per value)."""
    if isinstance(v, sympy.Integer):
        return int(v)
    if isinstance(v, sympy.Rational):
        return Fraction(int(v.p), int(v.q))
    return v


def _check_distribution(node: str, out: Any, args: tuple) -> dict:
    if not isinstance(out, Mapping):
        raise DistributionError(
            f"node {node!r}: a random structural function must give a mapping "
            f"value -> probability, got {out!r} for parent values {_show_args(args)}")
    result: dict = {}
    for value, prob in out.items():
        try:
            hash(value)
        except TypeError:
            raise DistributionError(
                f"node {node!r}: value {value!r} is unhashable; use tuples") from None
        p = prob if type(prob) is Fraction else to_exact(
            prob, what=f"node {node!r}: probability of value {value!r}")
        if isinstance(p, Fraction):
            if p < 0:
                raise DistributionError(
                    f"node {node!r}: probability {p} of value {value!r} is negative "
                    f"(parent values {_show_args(args)}); probabilities lie in [0, 1]")
        elif p.is_negative:
            raise DistributionError(
                f"node {node!r}: probability {p} of value {value!r} is negative "
                f"(parent values {_show_args(args)}); probabilities lie in [0, 1]")
        v = _norm_value(value)
        result[v] = result.get(v, Fraction(0)) + p if v in result else p
    total = sum(result.values(), Fraction(0))
    if isinstance(total, Fraction):
        if total != 1:
            raise DistributionError(
                f"node {node!r}: probabilities sum to {total}, not 1, for parent values "
                f"{_show_args(args)}; fix them so they sum to 1")
    else:
        diff = sympy.cancel(sympy.together(as_sympy(total) - 1))
        if diff != 0 and sympy.simplify(diff) != 0:
            raise DistributionError(
                f"node {node!r}: probabilities sum to {sympy.simplify(as_sympy(total))}, "
                f"which cannot be shown to equal 1 (parent values {_show_args(args)}); "
                "write the last probability as 1 minus the others")
    return {v: p for v, p in result.items() if not (isinstance(p, Fraction) and p == 0)}


# ---- constructors -------------------------------------------------------------------

def fn(f: Callable, parents: list[str] | tuple[str, ...] | None = None,
       label: str | None = None) -> StructuralFunction:
    """A deterministic structural function ``X = f(parents)``.

    Parameters
    ----------
    f : callable
        Receives the parent values positionally.
    parents : list of str, optional
        The parent names, in the order ``f`` takes them; default: ``f``'s argument names.
    label : str, optional
        Name of the shared input parameter drawn above the node.

    Examples
    --------
    >>> import cpspec as cp
    >>> w = cp.world("w", X=cp.uniform([1, 2]), Y=cp.fn(lambda X: 2 * X))
    >>> cp.E(w.Y)
    3
    """
    if not callable(f):
        raise FunctionError(f"cp.fn needs a callable, got {f!r}; for a constant use cp.const")
    return StructuralFunction("chance", False, f, _parents(parents), None, label)


def dist(table_or_fn: Mapping | Callable, parents: list[str] | tuple[str, ...] | None = None,
         label: str | None = None) -> StructuralFunction:
    """A random structural function: a mapping value -> probability, or a callable of the
    parents returning one.

    Examples
    --------
    >>> import cpspec as cp
    >>> w = cp.world("w", C=cp.dist({"h": "1/3", "t": "2/3"}))
    >>> cp.P(w.C == "h")
    1/3
    >>> w2 = cp.world("w2", X=cp.uniform([0, 1]),
    ...               Y=cp.dist(lambda X: {X: "3/4", 1 - X: "1/4"}))
    >>> cp.P(w2.Y == 1)
    1/2
    """
    if callable(table_or_fn):
        return StructuralFunction("chance", True, table_or_fn, _parents(parents), None, label)
    if not isinstance(table_or_fn, Mapping):
        raise DistributionError(
            f"cp.dist needs a mapping value -> probability or a callable, got {table_or_fn!r}")
    if parents:
        raise DistributionError(
            "cp.dist with a fixed mapping has no parents; pass a callable of the parents")
    table = dict(table_or_fn)
    _check_distribution("<dist>", table, ())
    return StructuralFunction("chance", True, table, (), tuple(table), label)


def uniform(values) -> StructuralFunction:
    """The uniform distribution over a finite, non-empty collection of distinct values.

    Examples
    --------
    >>> import cpspec as cp
    >>> cp.P(cp.world("d", G=cp.uniform(range(1, 7))).G >= 5)
    1/3
    """
    vals = tuple(values)
    if not vals:
        raise DistributionError("cp.uniform needs at least one value")
    if len(set(vals)) != len(vals):
        raise DistributionError(f"cp.uniform got repeated values {vals!r}; list each once")
    p = Fraction(1, len(vals))
    return StructuralFunction("chance", True, {v: p for v in vals}, (), vals)


def const(value) -> StructuralFunction:
    """The constant structural function (deterministic, no parents).

    Examples
    --------
    >>> import cpspec as cp
    >>> cp.E(cp.world("k", X=cp.const(6)).X)
    6
    """
    return StructuralFunction("chance", False, lambda: value, (), (value,))


def bernoulli(p) -> StructuralFunction:
    """1 with probability ``p``, else 0; ``p`` may be a symbol.

    Examples
    --------
    >>> import cpspec as cp, sympy
    >>> p = sympy.Symbol("p")
    >>> coins = cp.world("c", X=cp.bernoulli(p), Y=cp.bernoulli(p))
    >>> cp.E(coins.X + coins.Y)
    2*p
    """
    q = to_exact(p, what="bernoulli probability")
    if isinstance(q, Fraction) and not 0 <= q <= 1:
        raise DistributionError(f"bernoulli probability {q} lies outside [0, 1]")
    return StructuralFunction("chance", True, {1: q, 0: 1 - q if isinstance(q, Fraction)
                                                else sympy.S.One - q}, (), (1, 0))


def decision(values, parents: list[str] | tuple[str, ...] = (),
             label: str | None = None) -> StructuralFunction:
    """A decision node (drawn as a square): its value is chosen by a policy from
    ``values``, seeing the ``parents`` (its information set).

    Examples
    --------
    >>> import cpspec as cp
    >>> cp.decision(["wait", "take"], parents=["S"]).kind
    'decision'
    """
    vals = tuple(values)
    if not vals or len(set(vals)) != len(vals):
        raise DistributionError(f"a decision needs distinct actions, got {vals!r}")
    return StructuralFunction("decision", False, None, _parents(parents) or (), vals, label)


def utility(f: Callable, parents: list[str] | tuple[str, ...] | None = None,
            label: str | None = None, weight: Any = 1) -> StructuralFunction:
    """A utility node (drawn as a diamond): a deterministic numeric function of its
    parents. The agent maximises ``U = sum_i weight_i * E(U_i)`` over its utility nodes;
    the weight carries the discount ``gamma**t`` of a reward at time ``t``.

    Examples
    --------
    >>> import cpspec as cp
    >>> cp.utility(lambda A: 1 if A == "take" else 0).kind
    'utility'
    """
    if not callable(f):
        raise FunctionError(f"cp.utility needs a callable, got {f!r}")
    return StructuralFunction("utility", False, f, _parents(parents), None, label,
                              as_sympy(to_exact(weight, what="utility weight")))


def _parents(parents) -> tuple[str, ...] | None:
    if parents is None:
        return None
    if isinstance(parents, str):
        return (parents,)
    return tuple(parents)
