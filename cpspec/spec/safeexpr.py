"""cpspec's safe expression language for spec files.

A spec file is data: it must not be able to run code. Expressions are parsed with
Python's ``ast`` module and then *interpreted* by this module over a whitelist of node
types; nothing is passed to ``eval``, ``exec``, ``compile``, ``sympify`` or
``parse_expr``. Allowed: integer and string literals, names (resolved by the caller to
parents, parameters or random variables), ``+ - * / // % **``, comparisons (chained),
``and or not``, ``x if c else y``, tuples, and calls of the few whitelisted functions the
caller provides (``min``, ``max``, ``abs``, and in claims ``P``, ``E``). Attribute access,
subscripts, lambdas, comprehensions, keyword splats and every other construct are
rejected before anything is evaluated.

Nor can an expression exhaust time or memory: its length (:data:`MAX_LENGTH`), nesting
depth (:data:`MAX_DEPTH`), exponents (:data:`MAX_EXPONENT`), the digits of every number it
computes (:data:`MAX_DIGITS`), the length of strings and tuples it builds
(:data:`MAX_STRING`) and the polynomial degree of symbolic results (:data:`MAX_DEGREE`)
are bounded, and each refusal names the limit. Arithmetic is exact: ``1/3`` is a
fraction, ``(9/4)**(1/2)`` is ``3/2`` and ``2**(1/2)`` is SymPy's ``sqrt(2)``; nothing
becomes a float, and nothing becomes a complex number (``sqrt(-1)`` is an error).
"""

from __future__ import annotations

import ast
import warnings
import math
import operator
from fractions import Fraction
from typing import Any, Callable, Mapping

import sympy

from ..errors import SpecFileError, UnsafeExpressionError
from ..core.expressions import Expr, ifelse, lift, maximum, minimum
from ..core.functions import number_to_sympy

__all__ = ["SafeExpression", "parse", "MAX_EXPONENT", "MAX_LENGTH", "MAX_DEPTH",
           "MAX_DIGITS", "MAX_STRING", "MAX_DEGREE", "degree"]

#: Largest exponent allowed in a spec expression (``9**9**9`` would hang the checker).
MAX_EXPONENT = 10_000
#: Longest expression text, in characters.
MAX_LENGTH = 10_000
#: Deepest nesting of an expression (``1+1+...+1`` with 500 terms nests 500 deep): the
#: interpreter recurses once per level, so this bounds its stack.
MAX_DEPTH = 100
#: Most decimal digits of a number an expression computes or writes (Python's own limit
#: for converting integers to text is 4,300 digits: a longer number could not even be
#: printed in a result or an error message).
MAX_DIGITS = 4_300
#: Longest string or tuple an expression builds (``X + X`` doubles a string per node).
MAX_STRING = 10_000
#: Highest polynomial degree of a symbolic result that is not a monomial:
#: ``(p + 1)**10000`` would make exact inference expand ten thousand terms with
#: thousand-digit coefficients.
MAX_DEGREE = 500

_MAX_BITS = int(MAX_DIGITS * 3.3219280948873626)  # log2(10)


def _num(x):
    return isinstance(x, (int, Fraction)) and not isinstance(x, bool)


def _plain(x):
    """SymPy rationals as Python ``int``/``Fraction``, so exact arithmetic stays in one
    number type and the guards below see every rational."""
    if isinstance(x, sympy.Integer):
        return int(x)
    if isinstance(x, sympy.Rational):
        return Fraction(int(x.p), int(x.q))
    return x


def _digits_of_bits(bits: int) -> int:
    return int(bits * 0.30103) + 1


def _bounded(x):
    """``x``, after checking that no number in it has more than :data:`MAX_DIGITS` digits
    and no string or tuple is longer than :data:`MAX_STRING`."""
    if isinstance(x, bool):
        return x
    if isinstance(x, int):
        bits = x.bit_length()
    elif isinstance(x, Fraction):
        bits = max(x.numerator.bit_length(), x.denominator.bit_length())
    elif isinstance(x, sympy.Basic):
        bits = max((max(int(r.p).bit_length(), int(r.q).bit_length())
                    for r in x.atoms(sympy.Rational)), default=0)
    elif isinstance(x, (str, tuple)):
        if len(x) > MAX_STRING:
            raise ValueError(f"the result has {len(x):,} elements, above the limit of "
                             f"{MAX_STRING:,} (cpspec.spec.safeexpr.MAX_STRING)")
        return x
    else:
        return x
    if bits > _MAX_BITS:
        raise ValueError(f"the result is a number of about {_digits_of_bits(bits):,} digits, "
                         f"above the limit of {MAX_DIGITS:,} digits "
                         "(cpspec.spec.safeexpr.MAX_DIGITS)")
    return x


def degree(e) -> int:
    """An upper bound of the polynomial degree of ``e`` in its symbols (cheap, without
    expanding anything).

    >>> import sympy
    >>> p = sympy.Symbol("p")
    >>> degree(p**3 + p), degree(sympy.Integer(5))
    (3, 0)
    """
    if not isinstance(e, sympy.Basic) or not e.free_symbols:
        return 0
    if e.is_Symbol:
        return 1
    if e.is_Add:
        return max(degree(a) for a in e.args)
    if e.is_Mul:
        return sum(degree(a) for a in e.args)
    if e.is_Pow and e.exp.is_Integer:
        return degree(e.base) * abs(int(e.exp))
    return 1 + max(degree(a) for a in e.args)


def _check_degree(e):
    if isinstance(e, sympy.Basic) and e.free_symbols and e.has(sympy.Add):
        d = degree(e)
        if d > MAX_DEGREE:
            raise ValueError(f"the result has polynomial degree up to {d:,}, above the limit "
                             f"of {MAX_DEGREE:,} (cpspec.spec.safeexpr.MAX_DEGREE): exact "
                             "inference would expand it term by term")
    return e


def _div(a, b):
    if isinstance(a, Expr) or isinstance(b, Expr):
        return lift(a) / b
    if _num(a) and _num(b):
        if b == 0:
            raise ZeroDivisionError("division by zero")
        return Fraction(a) / Fraction(b)
    # never sympify: a string here is data, and sympify would evaluate it
    return _plain(number_to_sympy(a) / number_to_sympy(b))


def _real_number(x, what: str):
    """Refuse a number that is not real (SymPy's ``I``): spec values are real."""
    if isinstance(x, sympy.Basic) and x.is_number and x.is_extended_real is False:
        raise ValueError(f"{what} is {x}, which is not a real number")
    return x


def _real_result(r, what: str):
    """Refuse a result that SymPy wrote with ``I`` (e.g. the root of an expression that
    is negative for some parameter values): spec values are real."""
    if isinstance(r, sympy.Basic) and r.has(sympy.I):
        raise ValueError(f"{what} is not a real number (SymPy gives {r})")
    return r


def _pow(a, b):
    a, b = _plain(a), _plain(b)
    a, b = (int(x) if isinstance(x, bool) else x for x in (a, b))  # True**(1/2) is 1
    if isinstance(b, sympy.Basic) and b.is_number:
        _real_number(b, "the exponent")
        if b.is_extended_real and abs(b) > MAX_EXPONENT:  # e.g. 10**4 * sqrt(2)
            raise ValueError(f"exponent {b} is above the limit {MAX_EXPONENT} "
                             "(cpspec.spec.safeexpr.MAX_EXPONENT)")
    if not _num(b):
        if isinstance(a, Expr) or isinstance(b, Expr):
            return lift(a) ** b
        return _check_degree(number_to_sympy(a) ** number_to_sympy(b))
    if abs(b) > MAX_EXPONENT:
        raise ValueError(f"exponent {b} is above the limit {MAX_EXPONENT} "
                         "(cpspec.spec.safeexpr.MAX_EXPONENT)")
    whole = isinstance(b, int) or b.denominator == 1
    if isinstance(a, Expr):
        if not whole:
            raise ValueError(f"the fractional power {a}**({b}) of a random variable is not "
                             "supported: it is not a real number for negative values")
        return a ** int(b)  # an int exponent keeps exact inference exact
    if _num(a):
        a = Fraction(a)
        bits = abs(b) * max(math.log2(abs(a.numerator) or 1), math.log2(a.denominator))
        if bits > _MAX_BITS + 64:
            raise ValueError(f"the power {a}**{b} is too large: about "
                             f"{_digits_of_bits(int(bits)):,} digits, above the limit of "
                             f"{MAX_DIGITS:,} (cpspec.spec.safeexpr.MAX_DIGITS)")
        if whole:
            if a == 0 and b < 0:
                raise ZeroDivisionError("0 to a negative power")
            r = a ** int(b)
            return int(r) if r.denominator == 1 else r
        if a < 0:
            raise ValueError(f"({a})**({b}) is not a real number: a fractional power of a "
                             "negative number")
        # exact: SymPy keeps roots as Rational or surds, never floats
        return _plain(sympy.Rational(a.numerator, a.denominator) ** sympy.Rational(
            b.numerator, b.denominator))
    if isinstance(a, sympy.Basic):
        _real_number(a, "the base")
        if not whole and a.is_number and a.is_negative:
            raise ValueError(f"({a})**({b}) is not a real number: a fractional power of a "
                             "negative number")
        exp = sympy.Integer(int(b)) if whole else sympy.Rational(b.numerator, b.denominator)
        return _plain(_check_degree(_real_result(a ** exp, f"({a})**({b})")))
    return a ** b  # a string: Python raises TypeError


def _mul(a, b):
    if isinstance(a, (str, tuple)) or isinstance(b, (str, tuple)):
        raise ValueError("repeating strings or tuples with * is not allowed")
    return _check_degree(a * b)


def _add(a, b):
    if isinstance(a, (str, tuple)) and isinstance(b, (str, tuple)) \
            and len(a) + len(b) > MAX_STRING:
        raise ValueError(f"the result would have {len(a) + len(b):,} elements, above the "
                         f"limit of {MAX_STRING:,} (cpspec.spec.safeexpr.MAX_STRING)")
    return a + b


def _mod(a, b):
    if isinstance(a, (str, bytes)) or isinstance(b, (str, bytes)):
        raise ValueError("string formatting with % is not allowed")
    return a % b


def _sqrt(x):
    if isinstance(x, Expr):
        raise ValueError("sqrt of a random variable is not supported; use it on numbers")
    x = _plain(x)
    if _num(x):
        if x < 0:
            raise ValueError(f"sqrt({x}) is not a real number")
        x = Fraction(x)
        return _plain(sympy.sqrt(sympy.Rational(x.numerator, x.denominator)))
    if isinstance(x, sympy.Basic):
        _real_number(x, "the argument of sqrt")
        if x.is_extended_negative:  # negative for every real value of the parameters
            raise ValueError(f"sqrt({x}) is not a real number")
        return _plain(_real_result(sympy.sqrt(x), f"sqrt({x})"))
    raise TypeError(f"sqrt needs a number, got {x!r}")


_BINOPS: dict[type, Callable] = {
    ast.Add: _add, ast.Sub: operator.sub, ast.Mult: _mul, ast.Div: _div,
    ast.FloorDiv: operator.floordiv, ast.Mod: _mod, ast.Pow: _pow,
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
    "sqrt": _sqrt,
}


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
            raise SpecFileError(f"{self.where}: cannot evaluate {_short(self.text)}: "
                                f"{type(exc).__name__}: {exc}") from None


class _Interp:
    def __init__(self, env, funcs, where, relational_if=False):
        self.env, self.funcs, self.where = env, funcs, where
        self.relational_if = relational_if

    def visit(self, node):
        m = getattr(self, "v_" + type(node).__name__)
        return m(node)

    def v_Constant(self, node):
        return _bounded(node.value)

    def v_Name(self, node):
        if node.id not in self.env:
            raise SpecFileError(f"{self.where}: unknown name {node.id!r}")
        return self.env[node.id]

    def v_Tuple(self, node):
        return tuple(self.visit(e) for e in node.elts)

    def v_BinOp(self, node):
        return _bounded(_BINOPS[type(node.op)](self.visit(node.left), self.visit(node.right)))

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
        # a result of P or E may be long (its cost is spent); arithmetic on it is bounded
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
        raise SpecFileError(f"{where}: expression of {len(text):,} characters, longer than "
                            f"the limit of {MAX_LENGTH:,} (cpspec.spec.safeexpr.MAX_LENGTH); "
                            "split it over several nodes")
    tree = _syntax_tree(text, where)
    _check_whitelist(tree, text, where, set(BASE_FUNCTIONS) | set(functions), keywords)
    callees = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in callees}
    return SafeExpression(text, tree, frozenset(names), where)


def _syntax_tree(text: str, where: str) -> ast.Expression:
    """The syntax tree of an expression, within the nesting limit."""
    try:
        with warnings.catch_warnings():  # Python's own warnings about the text ("1if")
            warnings.simplefilter("ignore", SyntaxWarning)  # are not the user's concern
            tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        if "Exceeds the limit" in str(exc.msg):
            raise SpecFileError(f"{where}: a number in {_short(text)} has more than "
                                f"{MAX_DIGITS:,} digits (cpspec.spec.safeexpr.MAX_DIGITS); write "
                                "it as a power such as 10**5000") from None
        raise SpecFileError(f"{where}: cannot parse {_short(text)}: {exc.msg} (column "
                            f"{exc.offset})") from None
    except ValueError as exc:  # null bytes (Python 3.11)
        raise SpecFileError(f"{where}: cannot parse {_short(text)}: {exc}") from None
    except (MemoryError, RecursionError):  # the parser's own stack
        raise SpecFileError(f"{where}: {_short(text)} nests too deeply to parse; the "
                            f"limit is {MAX_DEPTH} levels (cpspec.spec.safeexpr.MAX_DEPTH): "
                            "split it over several nodes or use parentheses") from None
    depth = _depth(tree.body)
    if depth > MAX_DEPTH:
        raise SpecFileError(f"{where}: {_short(text)} nests {depth} levels deep, above the "
                            f"limit of {MAX_DEPTH} (cpspec.spec.safeexpr.MAX_DEPTH); split it "
                            "over several nodes (a sum of 500 terms nests 500 deep)")
    return tree


def _check_whitelist(tree, text: str, where: str, allowed_funcs: set, keywords) -> None:
    """Every node of the tree is whitelisted: arithmetic, comparisons, and/or/not,
    if-else, exact literals, and calls of the allowed functions with allowed keywords."""
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise UnsafeExpressionError(
                f"{where}: {_describe(node)!r} is not allowed in spec expressions "
                f"(in {text!r}); only arithmetic, comparisons, and/or/not, if-else and "
                f"the functions {', '.join(sorted(allowed_funcs))} are")
        if isinstance(node, ast.Constant):
            if isinstance(node.value, float):
                shown = ast.get_source_segment(text.strip(), node) or repr(node.value)
                raise SpecFileError(f"{where}: {shown} in {_short(text)} is a float; exact "
                                    "values need fractions: write e.g. 1/10")
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


def _depth(root: ast.AST) -> int:
    """The nesting depth of an expression tree, computed without recursion (operator
    and context nodes do not count: the interpreter does not visit them)."""
    deepest = 0
    stack = [(root, 1)]
    while stack:
        node, d = stack.pop()
        deepest = max(deepest, d)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                stack.append((child, d + 1))
            elif isinstance(child, ast.keyword):
                stack.append((child.value, d + 1))
    return deepest


def _short(text: str, limit: int = 80) -> str:
    """``text`` quoted for a message, shortened in the middle when long."""
    if len(text) <= limit:
        return repr(text)
    return repr(text[: limit // 2]) + f" ... ({len(text):,} characters) ... " + \
        repr(text[-limit // 4:])


def _describe(node: ast.AST) -> str:
    return {
        "Attribute": "attribute access", "Subscript": "subscript", "Lambda": "lambda",
        "ListComp": "list comprehension", "GeneratorExp": "generator expression",
        "DictComp": "dict comprehension", "SetComp": "set comprehension",
        "NamedExpr": "assignment expression", "Starred": "starred expression",
        "JoinedStr": "f-string", "Await": "await", "Yield": "yield", "List": "list",
        "Dict": "dict", "Set": "set", "Slice": "slice",
    }.get(type(node).__name__, type(node).__name__)

