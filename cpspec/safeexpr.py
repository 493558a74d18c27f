"""cpspec's safe expression language for spec files.

A spec file is data: it must not be able to run code. Expressions are parsed with
Python's ``ast`` module and then *interpreted* by this module over a whitelist of node
types; nothing is passed to ``eval``, ``exec``, ``compile``, ``sympify`` or
``parse_expr``. Allowed: integer and string literals, names (resolved by the caller to
parents, parameters or random variables), ``+ - * / // % **``, comparisons (chained),
``and or not``, ``x if c else y``, tuples, and calls of the few whitelisted functions the
caller provides (``min``, ``max``, ``abs``, and in claims ``P``, ``E``). Attribute access,
subscripts, lambdas, comprehensions, keyword splats and every other construct are
rejected before anything is evaluated. Exponents and string repetition are bounded, so an
expression cannot exhaust memory either.
"""

from __future__ import annotations

import ast
import operator
from fractions import Fraction
from typing import Any, Callable, Mapping

import sympy

from .errors import SpecFileError, UnsafeExpressionError
from .expressions import Expr, ifelse, lift, maximum, minimum
from .functions import number_to_sympy

__all__ = ["SafeExpression", "parse", "MAX_EXPONENT"]

#: Largest exponent allowed in a spec expression (``9**9**9`` would hang the checker).
MAX_EXPONENT = 10_000
MAX_LENGTH = 10_000


def _num(x):
    return isinstance(x, (int, Fraction)) and not isinstance(x, bool)


def _div(a, b):
    if isinstance(a, Expr) or isinstance(b, Expr):
        return lift(a) / b
    if _num(a) and _num(b):
        if b == 0:
            raise ZeroDivisionError("division by zero")
        return Fraction(a) / Fraction(b)
    # never sympify: a string here is data, and sympify would evaluate it
    return number_to_sympy(a) / number_to_sympy(b)


def _pow(a, b):
    if isinstance(b, (int, Fraction)) and not isinstance(b, bool) and abs(b) > MAX_EXPONENT:
        raise ValueError(f"exponent {b} is above the limit {MAX_EXPONENT}")
    if _num(a) and isinstance(b, int) and not isinstance(b, bool):
        a = Fraction(a)
        bits = abs(b) * (a.numerator.bit_length() + a.denominator.bit_length())
        if bits > 64 * MAX_EXPONENT:
            raise ValueError(f"the power {a}**{b} is too large to compute")
        r = a ** b
        return int(r) if r.denominator == 1 else r
    return a ** b


def _mul(a, b):
    if isinstance(a, (str, tuple)) or isinstance(b, (str, tuple)):
        raise ValueError("repeating strings or tuples with * is not allowed")
    return a * b


_BINOPS: dict[type, Callable] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: _mul, ast.Div: _div,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: _pow,
}
_CMPOPS: dict[type, Callable] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt,
    ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
}

_SYMCMP: dict[type, Callable] = {
    ast.Eq: sympy.Eq, ast.NotEq: sympy.Ne, ast.Lt: sympy.Lt, ast.LtE: sympy.Le,
    ast.Gt: sympy.Gt, ast.GtE: sympy.Ge,
}

#: Functions every expression may call.
BASE_FUNCTIONS: dict[str, Callable] = {
    "min": lambda a, b: minimum(a, b) if isinstance(a, Expr) or isinstance(b, Expr)
    else min(a, b),
    "max": lambda a, b: maximum(a, b) if isinstance(a, Expr) or isinstance(b, Expr)
    else max(a, b),
    "abs": abs,
    "sqrt": lambda x: sympy.sqrt(x) if not isinstance(x, Expr) else _no_sqrt(),
}


def _no_sqrt():
    raise ValueError("sqrt of a random variable is not supported; use it on numbers")


def _and(a, b):
    if isinstance(a, Expr) or isinstance(b, Expr):
        return lift(a) & b
    return a and b


def _or(a, b):
    if isinstance(a, Expr) or isinstance(b, Expr):
        return lift(a) | b
    return a or b


def _not(a):
    return ~a if isinstance(a, Expr) else not a


def _piece(v):
    """A branch value of a parametric expected answer: a name ('take') becomes a symbol
    (built, never parsed); numbers stay numbers."""
    return sympy.Symbol(v) if isinstance(v, str) else number_to_sympy(v)


def _ifexp(c, a, b):
    if isinstance(c, Expr):
        return ifelse(c, a, b)
    return a if c else b


class SafeExpression:
    """A parsed, validated spec expression; :meth:`evaluate` interprets it."""

    __slots__ = ("text", "tree", "names", "where")

    def __init__(self, text: str, tree: ast.AST, names: frozenset[str], where: str):
        self.text = text
        self.tree = tree
        self.names = names
        self.where = where

    def __repr__(self):
        return f"SafeExpression({self.text!r})"

    def evaluate(self, env: Mapping[str, Any],
                 functions: Mapping[str, Callable] | None = None,
                 relational_if: bool = False) -> Any:
        """Interpret the expression with names bound by ``env`` and the given functions.

        With ``relational_if``, ``x if cond else y`` on a symbolic condition (``gamma >
        1/2``) becomes a ``sympy.Piecewise`` instead of an error.
        """
        funcs = dict(BASE_FUNCTIONS)
        funcs.update(functions or {})
        try:
            return _Interp(env, funcs, self.where, relational_if).visit(self.tree.body)
        except SpecFileError:
            raise
        except (ArithmeticError, TypeError, ValueError) as exc:
            raise SpecFileError(f"{self.where}: cannot evaluate {self.text!r}: "
                                f"{type(exc).__name__}: {exc}") from None


class _Interp:
    def __init__(self, env, funcs, where, relational_if=False):
        self.env, self.funcs, self.where = env, funcs, where
        self.relational_if = relational_if

    def visit(self, node):
        m = getattr(self, "v_" + type(node).__name__)
        return m(node)

    def v_Constant(self, node):
        return node.value

    def v_Name(self, node):
        if node.id not in self.env:
            raise SpecFileError(f"{self.where}: unknown name {node.id!r}")
        return self.env[node.id]

    def v_Tuple(self, node):
        return tuple(self.visit(e) for e in node.elts)

    def v_BinOp(self, node):
        return _BINOPS[type(node.op)](self.visit(node.left), self.visit(node.right))

    def v_UnaryOp(self, node):
        v = self.visit(node.operand)
        if isinstance(node.op, ast.USub):
            return -v
        if isinstance(node.op, ast.UAdd):
            return +v
        return _not(v)

    def v_BoolOp(self, node):
        vals = [self.visit(v) for v in node.values]
        if self.relational_if and any(isinstance(v, sympy.Basic) for v in vals):
            return (sympy.And if isinstance(node.op, ast.And) else sympy.Or)(*vals)
        out = vals[0]
        for v in vals[1:]:
            out = _and(out, v) if isinstance(node.op, ast.And) else _or(out, v)
        return out

    def v_Compare(self, node):
        left = self.visit(node.left)
        result = None
        for op, comp in zip(node.ops, node.comparators):
            right = self.visit(comp)
            if self.relational_if and any(isinstance(v, sympy.Basic) and v.free_symbols
                                          for v in (left, right)):
                r = _SYMCMP[type(op)](number_to_sympy(left), number_to_sympy(right))
                result = r if result is None else sympy.And(result, r)
                left = right
                continue
            r = _CMPOPS[type(op)](left, right)
            result = r if result is None else _and(result, r)
            left = right
        return result

    def v_IfExp(self, node):
        c = self.visit(node.test)
        if isinstance(c, Expr):
            return _ifexp(c, self.visit(node.body), self.visit(node.orelse))
        if self.relational_if and isinstance(c, sympy.Basic) and c not in (
                sympy.true, sympy.false):
            return sympy.Piecewise((_piece(self.visit(node.body)), c),
                                   (_piece(self.visit(node.orelse)), True))
        return self.visit(node.body) if c else self.visit(node.orelse)

    def v_Call(self, node):
        f = self.funcs[node.func.id]
        args = [self.visit(a) for a in node.args]
        kwargs = {k.arg: self.visit(k.value) for k in node.keywords}
        return f(*args, **kwargs)


_ALLOWED = (ast.Expression, ast.Constant, ast.Name, ast.Load, ast.Tuple, ast.BinOp,
            ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Call, ast.keyword,
            ast.USub, ast.UAdd, ast.Not, ast.And, ast.Or) + tuple(_BINOPS) + tuple(_CMPOPS)


def parse(text: Any, where: str, functions: frozenset[str] = frozenset(),
          keywords: frozenset[str] = frozenset()) -> SafeExpression:
    """Parse and validate a spec expression without running any of it.

    Parameters
    ----------
    text : str
        The expression (an int or bool from TOML is accepted as its literal).
    where : str
        Where it came from (file and line), for error messages.
    functions : set of str
        Names callable in this context besides ``min``, ``max``, ``abs``.
    keywords : set of str
        Keyword-argument names allowed in calls (``given``).

    Raises
    ------
    UnsafeExpressionError
        for any construct outside the whitelist (calls of other names, attributes,
        subscripts, lambdas, comprehensions, ...), before anything is evaluated.
    SpecFileError
        for syntax errors.

    Examples
    --------
    >>> parse("G + R", "demo").evaluate({"G": 2, "R": 3})
    5
    >>> parse("__import__('os').system('echo hi')", "demo")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cpspec.errors.UnsafeExpressionError: demo: calling 'attribute access' is not allowed ...
    """
    if isinstance(text, float):
        raise SpecFileError(f"{where}: {text!r} is a float; write it as a fraction 'a/b'")
    if isinstance(text, (bool, int)):
        text = str(text)
    if not isinstance(text, str):
        raise SpecFileError(f"{where}: expected an expression string, got {text!r}")
    if len(text) > MAX_LENGTH:
        raise SpecFileError(f"{where}: expression longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise SpecFileError(f"{where}: cannot parse {text!r}: {exc.msg} (column "
                            f"{exc.offset})") from None
    allowed_funcs = set(BASE_FUNCTIONS) | set(functions)
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise UnsafeExpressionError(
                f"{where}: {_describe(node)!r} is not allowed in spec expressions "
                f"(in {text!r}); only arithmetic, comparisons, and/or/not, if-else and "
                f"the functions {', '.join(sorted(allowed_funcs))} are")
        if isinstance(node, ast.Constant):
            if isinstance(node.value, float):
                raise SpecFileError(f"{where}: {node.value!r} in {text!r} is a float; "
                                    "exact values need fractions: write e.g. 1/10")
            if not isinstance(node.value, (int, str, bool)) or node.value is None:
                raise UnsafeExpressionError(f"{where}: literal {node.value!r} is not allowed "
                                            f"in {text!r}")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in allowed_funcs:
                shown = node.func.id if isinstance(node.func, ast.Name) else _describe(node.func)
                raise UnsafeExpressionError(
                    f"{where}: calling {shown!r} is not allowed in {text!r}; callable here: "
                    f"{', '.join(sorted(allowed_funcs))}")
            for k in node.keywords:
                if k.arg is None or k.arg not in keywords:
                    raise UnsafeExpressionError(
                        f"{where}: keyword argument {k.arg or '**'!r} is not allowed in "
                        f"{text!r}; allowed: {', '.join(sorted(keywords)) or 'none'}")
    callees = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in callees}
    return SafeExpression(text, tree, frozenset(names), where)


def _describe(node: ast.AST) -> str:
    return {
        "Attribute": "attribute access", "Subscript": "subscript", "Lambda": "lambda",
        "ListComp": "list comprehension", "GeneratorExp": "generator expression",
        "DictComp": "dict comprehension", "SetComp": "set comprehension",
        "NamedExpr": "assignment expression", "Starred": "starred expression",
        "JoinedStr": "f-string", "Await": "await", "Yield": "yield", "List": "list",
        "Dict": "dict", "Set": "set", "Slice": "slice",
    }.get(type(node).__name__, type(node).__name__)

