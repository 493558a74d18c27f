"""Random variables, events and expressions over the nodes of one or more worlds.

``f.S`` is the random variable ``S_f``. Arithmetic and comparisons build expression
trees (``f.G + f.R``, ``f.S == 12``), combined with ``&``, ``|`` and ``~``. Python's
``and``/``or``/``not`` cannot be overloaded, so using them raises a clear error instead of
silently picking one operand.
"""

from __future__ import annotations

import numbers
import operator
from fractions import Fraction
from typing import Any, Callable

import numpy as np
import sympy

from ..errors import QueryError
from .functions import as_sympy, is_inexact, number_to_sympy, show

__all__ = ["Expr", "RV", "Const", "Op", "lift"]


def _div(a, b):
    if isinstance(a, (int, Fraction)) and isinstance(b, (int, Fraction)) \
            and not isinstance(a, bool) and not isinstance(b, bool):
        return Fraction(a) / Fraction(b)
    return number_to_sympy(a) / number_to_sympy(b)


def _pow(a, b):
    """``a ** b``, exact: Python computes ``4 ** Fraction(1, 2)`` as the float ``2.0``
    and ``2 ** -1`` as ``0.5``; here they are ``2`` and ``1/2`` (and ``2 ** (1/2)`` is
    ``sqrt(2)``)."""
    exact = (int, Fraction)
    if isinstance(a, bool) or isinstance(b, bool):
        return a ** b
    if isinstance(a, exact) and isinstance(b, int):
        return Fraction(a) ** b if b < 0 else a ** b
    if isinstance(a, exact) and isinstance(b, (Fraction, sympy.Basic)) or \
            isinstance(b, Fraction) and isinstance(a, sympy.Basic):
        out = as_sympy(a) ** as_sympy(b)
        if isinstance(out, sympy.Integer):
            return int(out)
        if isinstance(out, sympy.Rational):
            return Fraction(int(out.p), int(out.q))
        return out
    return a ** b


_OPS: dict[str, tuple[Callable, str]] = {
    "+": (operator.add, "{} + {}"),
    "-": (operator.sub, "{} - {}"),
    "*": (operator.mul, "{}*{}"),
    "/": (_div, "{}/{}"),
    "**": (_pow, "{}**{}"),
    "neg": (operator.neg, "-{}"),
    "abs": (abs, "abs({})"),
    "==": (operator.eq, "{} == {}"),
    "!=": (operator.ne, "{} != {}"),
    "<": (operator.lt, "{} < {}"),
    "<=": (operator.le, "{} <= {}"),
    ">": (operator.gt, "{} > {}"),
    ">=": (operator.ge, "{} >= {}"),
    "&": (lambda a, b: bool(a) and bool(b), "({}) & ({})"),
    "|": (lambda a, b: bool(a) or bool(b), "({}) | ({})"),
    "~": (lambda a: not a, "~({})"),
    "min": (min, "min({}, {})"),
    "max": (max, "max({}, {})"),
    "if": (lambda c, a, b: a if c else b, "({1} if {0} else {2})"),
}
_EVENT_OPS = {"==", "!=", "<", "<=", ">", ">=", "&", "|", "~"}


def lift(x: Any) -> "Expr":
    """Wrap a plain value as a constant expression; expressions pass through."""
    return x if isinstance(x, Expr) else Const(x)


#: plain values that may take part in arithmetic: exact numbers (and, for ``+`` only, the
#: labels, strings and tuples, that it concatenates)
_NUMBERS = (int, Fraction, numbers.Rational, sympy.Expr)


def _operand(x: Any, op: str, other: "Expr") -> "Expr":
    """``lift(x)`` for an arithmetic operator: ``None``, functions, ranges, lists... are
    refused here, with the expression named, not deep inside ``E``."""
    if isinstance(x, Expr):
        return x
    if isinstance(x, np.integer):
        x = int(x)
    if is_inexact(x):
        return Const(x)  # which refuses it, as a float
    if not isinstance(x, _NUMBERS + ((str, tuple) if op == "+" else ())):
        raise QueryError(f"cannot compute {other} {op} {show(x)}: {type(x).__name__} is not "
                         "a number; use int, Fraction(a, b) or a SymPy expression")
    return Const(x)


class Expr:
    """An expression over random variables. Build with operators; query with P and E."""

    __slots__ = ()
    __hash__ = object.__hash__  # == builds an event, so identity hashing

    # arithmetic
    def __add__(self, o): return Op("+", self, _operand(o, "+", self))
    def __radd__(self, o): return Op("+", _operand(o, "+", self), self)
    def __sub__(self, o): return Op("-", self, _operand(o, "-", self))
    def __rsub__(self, o): return Op("-", _operand(o, "-", self), self)
    def __mul__(self, o): return Op("*", self, _operand(o, "*", self))
    def __rmul__(self, o): return Op("*", _operand(o, "*", self), self)
    def __truediv__(self, o): return Op("/", self, _operand(o, "/", self))
    def __rtruediv__(self, o): return Op("/", _operand(o, "/", self), self)
    def __pow__(self, o): return Op("**", self, _operand(o, "**", self))
    def __rpow__(self, o): return Op("**", _operand(o, "**", self), self)
    def __neg__(self): return Op("neg", self)
    def __pos__(self): return self
    def __abs__(self): return Op("abs", self)

    # events
    def __eq__(self, o): return Op("==", self, lift(o))  # type: ignore[override]
    def __ne__(self, o): return Op("!=", self, lift(o))  # type: ignore[override]
    def __lt__(self, o): return Op("<", self, lift(o))
    def __le__(self, o): return Op("<=", self, lift(o))
    def __gt__(self, o): return Op(">", self, lift(o))
    def __ge__(self, o): return Op(">=", self, lift(o))
    def __and__(self, o): return Op("&", self, lift(o))
    def __rand__(self, o): return Op("&", lift(o), self)
    def __or__(self, o): return Op("|", self, lift(o))
    def __ror__(self, o): return Op("|", lift(o), self)
    def __invert__(self): return Op("~", self)

    def __bool__(self):
        raise QueryError(
            f"the truth value of the expression {self} is undefined: combine events with "
            "& | ~ instead of and/or/not, and query them with cp.P(...)")

    # structure
    def variables(self) -> frozenset[tuple[str, str]]:
        """The (world, node) pairs this expression reads."""
        raise NotImplementedError

    def worlds(self) -> frozenset[str]:
        """Names of the worlds this expression reads."""
        return frozenset(w for w, _ in self.variables())

    def evaluate(self, env: dict) -> Any:
        """The value under ``env``, a mapping ``(world, node) -> value``."""
        raise NotImplementedError

    @property
    def is_event(self) -> bool:
        """True when the expression is a truth value (a comparison or a combination)."""
        return False


class RV(Expr):
    """The random variable ``X_w``: node ``X`` of world ``w``."""

    __slots__ = ("world", "node", "diagram")

    def __init__(self, diagram, node: str):
        self.diagram = diagram
        self.world = diagram.name
        self.node = node

    def variables(self):
        return frozenset({(self.world, self.node)})

    def evaluate(self, env):
        return env[(self.world, self.node)]

    def __repr__(self):
        return f"{self.node}_{self.world}"


class Const(Expr):
    """A constant inside an expression."""

    __slots__ = ("value",)

    def __init__(self, value):
        if is_inexact(value):  # np.float32 is no float subclass, but just as inexact
            raise QueryError(f"the floating-point or complex number {show(value)} "
                             f"({type(value).__name__}) in an expression is not exact; use "
                             "int, Fraction(a, b) or sympy.Rational")
        try:
            hash(value)
        except TypeError:
            raise QueryError(f"the {type(value).__name__} {show(value)} in an expression is "
                             "unhashable, so no node value can equal it; use a tuple "
                             "instead of a list, a frozenset instead of a set") from None
        if isinstance(value, np.generic):  # one key per value: np.int64(1) is 1
            value = value.item()
        self.value = value

    def variables(self):
        return frozenset()

    def evaluate(self, env):
        return self.value

    @property
    def is_event(self):
        return isinstance(self.value, bool)

    def __repr__(self):
        return repr(self.value) if isinstance(self.value, str) else str(self.value)


class Op(Expr):
    """An operator applied to sub-expressions.

    Expressions may be deep (``sum(...)`` over thousands of terms nests thousands of
    ``+``); walking them recursively would exhaust Python's stack, so deep ones are
    walked with an explicit stack (``_depth`` says which).
    """

    __slots__ = ("op", "args", "_depth")

    #: below this depth, plain recursion (faster for the usual small expressions)
    _SHALLOW = 100

    def __init__(self, op: str, *args: Expr):
        self.op = op
        self.args = args
        self._depth = 1 + max((a._depth for a in args if isinstance(a, Op)), default=0)

    def variables(self):
        out: set = set()
        stack: list = [self]
        while stack:
            e = stack.pop()
            if isinstance(e, Op):
                stack.extend(e.args)
            else:
                out |= e.variables()
        return frozenset(out)

    def _fold(self, leaf: Callable, combine: Callable) -> Any:
        """Post-order over the expression with an explicit stack (sums of thousands of
        terms do not exhaust Python's): ``leaf(e)`` for a non-operator, ``combine(op,
        values of its arguments)`` for an operator."""
        values: list = []
        stack: list = [(self, False)]
        while stack:
            e, ready = stack.pop()
            if not isinstance(e, Op):
                values.append(leaf(e))
            elif not ready:
                stack.append((e, True))
                stack.extend((a, False) for a in reversed(e.args))
            else:
                n = len(e.args)
                args = values[-n:]
                del values[-n:]
                values.append(combine(e, args))
        return values[0]

    def evaluate(self, env):
        if self._depth < self._SHALLOW:
            return self._apply([a.evaluate(env) for a in self.args], env)
        return self._fold(lambda e: e.evaluate(env), lambda e, args: e._apply(args, env))

    def _apply(self, args: list, env):
        func = _OPS[self.op][0]
        try:
            return func(*args)
        except (TypeError, ZeroDivisionError, ValueError) as exc:
            shown = ", ".join(f"{w}.{n}={env[(w, n)]!r}" for w, n in sorted(self.variables()))
            text = repr(self)
            if len(text) > 200:
                text = text[:200] + "..."
            raise QueryError(f"cannot evaluate {text} at {shown}: {type(exc).__name__}: "
                             f"{exc}") from None

    @property
    def is_event(self):
        return self.op in _EVENT_OPS or (self.op == "if" and self.args[1].is_event
                                         and self.args[2].is_event)

    def __repr__(self):
        if self._depth < self._SHALLOW:
            return _OPS[self.op][1].format(*self.args)
        return self._fold(repr, lambda e, args: _OPS[e.op][1].format(*args))


def minimum(a, b) -> Expr:
    """``min(a, b)`` of expressions.

    >>> import cpspec as cp
    >>> f = cp.world("f", X=cp.uniform([1, 5]))
    >>> cp.E(cp.minimum(f.X, 3))
    2
    """
    return Op("min", lift(a), lift(b))


def maximum(a, b) -> Expr:
    """``max(a, b)`` of expressions.

    >>> import cpspec as cp
    >>> f = cp.world("f", X=cp.uniform([1, 5]))
    >>> cp.E(cp.maximum(f.X, 3))
    4
    """
    return Op("max", lift(a), lift(b))


def ifelse(cond, a, b) -> Expr:
    """``a if cond else b`` of expressions.

    >>> import cpspec as cp
    >>> f = cp.world("f", X=cp.uniform([1, 5]))
    >>> cp.E(cp.ifelse(f.X > 2, 10, 0))
    5
    """
    return Op("if", lift(cond), lift(a), lift(b))
