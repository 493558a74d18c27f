"""Shared pieces of the Z3 encodings: exact numbers as Z3 reals and back, solvers with
a timeout, three-valued answers, "the planned action differs", and the size limit."""

from __future__ import annotations

from fractions import Fraction
import numbers

import sympy
import z3

from ..agents.base import Agent
from ..budget import Deadline
from ..errors import ParameterError
from ..core.functions import as_sympy

__all__ = ["MAX_TERMS", "real", "fraction", "check_z3", "new_solver", "differs", "max_var",
           "require_concrete"]

#: Refuse Z3 encodings (``myopic``, ``no_incentive``) estimated above this many
#: arithmetic terms.
MAX_TERMS = 3_000_000


def real(ctx, x) -> z3.ArithRef:
    if isinstance(x, bool):
        x = int(x)
    if isinstance(x, numbers.Rational) and not isinstance(x, (int, Fraction)):
        x = Fraction(int(x.numerator), int(x.denominator))  # gmpy2.mpq
    if isinstance(x, int):
        return z3.RealVal(str(x), ctx)
    if isinstance(x, Fraction):
        return z3.RealVal(f"{x.numerator}/{x.denominator}", ctx)
    x = as_sympy(x)
    if isinstance(x, sympy.Rational):
        return z3.RealVal(f"{x.p}/{x.q}", ctx)
    raise ParameterError(f"cannot encode the symbolic value {x} in Z3: bind the model's "
                         "parameters first (or use cp.synthesize for a parameter region)")


def fraction(v) -> Fraction:
    """A Z3 numeral (rational, or algebraic rounded to a nearby rational) as a Fraction."""
    if z3.is_rational_value(v):
        return Fraction(v.numerator_as_long(), v.denominator_as_long())
    if z3.is_algebraic_value(v):
        return Fraction(v.as_decimal(30).rstrip("?"))
    raise ParameterError(f"unexpected Z3 value {v}")


def check_z3(solver) -> tuple[str, str | None]:
    """Z3's answer kept three-valued: ``("sat" | "unsat" | "unknown", reason)``."""
    r = solver.check()
    if r == z3.sat:
        return "sat", None
    if r == z3.unsat:
        return "unsat", None
    return "unknown", solver.reason_unknown() or "Z3 returned unknown"


def new_solver(ctx, budget: Deadline | float | None):
    """A Z3 solver in the context ``ctx`` whose queries stop when the call's ``budget``
    runs out (a :class:`~cpspec.budget.Deadline`: the time left; a number: seconds per
    query, as :func:`cp.synthesize` uses). A spent budget raises
    :class:`~cpspec.budget.Expired` before any work."""
    s = z3.Solver(ctx=ctx)
    if isinstance(budget, Deadline):
        budget.check()
        budget = budget.remaining()
    if budget is not None:
        s.set("timeout", max(1, int(budget * 1000)))
    return s


def differs(ctx, Q: dict, actions: tuple, nominal) -> z3.BoolRef:
    """The first maximising action (ties to the first declared) is not ``nominal``."""
    k = actions.index(nominal)
    alts = []
    for i, a in enumerate(actions):
        if a == nominal:
            continue
        alts.append(Q[a] >= Q[nominal] if i < k else Q[a] > Q[nominal])
    return z3.Or(*alts) if alts else z3.BoolVal(False, ctx)


def max_var(ctx, solver, name: str, qs: list) -> z3.ArithRef:
    v = z3.Real(name, ctx)
    for q in qs:
        solver.add(v >= q)
    solver.add(z3.Or(*[v == q for q in qs]))
    return v




def require_concrete(agent: Agent) -> None:
    if agent.env.free_symbols():
        raise ParameterError(
            f"{agent!r}: the environment has free parameters "
            f"{sorted(map(str, agent.env.free_symbols()))}; verify needs numbers: bind them "
            "(env.bind(...)), or use cp.synthesize to derive the region where a property "
            "holds")
