"""Where a comparison of exact answers holds, over several parameters.

``cp.where(cp.E(c.S) > cp.E(f.S), domain=...)`` partitions the parameters' box into the
exact regions where the comparison (a SymPy relation between rational functions of the
parameters, or ``&``, ``|``, ``~`` of several) is true and where it is false, each with
its condition (polynomial relations), a sample point where it was evaluated exactly, and
for a single relation its margin ``lhs - rhs``. Each atom's sign is read at a point of the
box no region covers yet (:func:`cpspec.core.partition.partition`), and the region is
where every atom keeps that sign.
"""

from __future__ import annotations

from typing import Any, Mapping

import sympy
from sympy.core.relational import Relational

from ..budget import Deadline, check_timeout, within
from ..core.diagram import Diagram
from ..core.functions import number_to_sympy
from ..core.enclosure import enclose, truth_in
from ..core.partition import (ParameterRegion, merge_regions, parameter_box, parameter_ranges,
                              partition, polynomial_condition, show_condition, sign_condition,
                              simplify_condition)
from ..errors import ParameterError, QueryError

__all__ = ["where"]

_HOLDS = {sympy.StrictGreaterThan: lambda s: s > 0, sympy.GreaterThan: lambda s: s >= 0,
          sympy.StrictLessThan: lambda s: s < 0, sympy.LessThan: lambda s: s <= 0,
          sympy.Equality: lambda s: s == 0, sympy.Unequality: lambda s: s != 0}


def where(relation: Any, domain: Mapping | None = None, model: Diagram | None = None,
          timeout: float | None = 60.0, enclosure=None) -> list[ParameterRegion]:
    """The exact regions of the parameters where ``relation`` is true and where it is
    false.

    Parameters
    ----------
    relation : SymPy relation or Boolean
        A comparison of exact answers (``cp.E(...) > cp.E(...)``, ``cp.P(...) >= 1/2``),
        or ``&``, ``|``, ``~`` of several; each side a rational function of the
        parameters.
    domain : {symbol: sympy.Set}, optional
        The range of each parameter; a parameter that only appears as a probability of
        ``model`` may be left out (its range is where those probabilities lie in [0, 1]).
    model : Diagram, optional
        The world the answers come from, whose probabilities bound the parameters.
    timeout : float or None
        Seconds for the whole call.
    enclosure : rational, optional
        For a comparison that is not of rational functions (``sqrt(p) > q``), whose
        regions have no polynomial boundaries: a certified numeric enclosure instead of
        an error. The box is split into boxes decided by interval arithmetic (where the
        comparison provably holds throughout, provably fails throughout, or, once a box's
        sides are at most ``enclosure`` times the box's, undecided: answer None). Exact
        regions are derived whenever the comparison allows, whatever this says.

    Returns
    -------
    list of ParameterRegion
        ``.answer`` True or False (equal answers merged; None: undecided boxes of an
        enclosure), ``.condition``, ``.sample``, and ``.margin`` (``lhs - rhs`` for a
        single relation).

    Examples
    --------
    >>> import cpspec as cp, sympy
    >>> p, q = sympy.symbols("p q")
    >>> w = cp.world("w", X=cp.bernoulli(p), Y=cp.bernoulli(q))
    >>> for r in cp.where(cp.E(w.X + w.Y) > 1, model=w):
    ...     print(r, "| margin", r.margin)
    False where p + q - 1 <= 0 | margin p + q - 1
    True where p + q - 1 > 0 | margin p + q - 1
    """
    if isinstance(relation, bool):
        relation = sympy.true if relation else sympy.false
    if not isinstance(relation, sympy.logic.boolalg.Boolean):
        raise QueryError(f"where() needs a comparison (e.g. cp.E(X) > cp.E(Y)), got "
                         f"{relation!r}")
    margin = (number_to_sympy(relation.lhs - relation.rhs)
              if isinstance(relation, Relational) else None)
    params = relation.free_symbols
    if not params:
        return [ParameterRegion(sympy.true, bool(relation), {}, (), margin)]
    if model is not None and not isinstance(model, Diagram):
        raise QueryError(f"where(model=...) takes the world the answers come from, got "
                         f"{model!r}")
    probs = [] if model is None else [
        p for n in model.order for row in (model.table(n).rows or ()) for p in row.values()]
    params, box = parameter_box(params, domain, probs)
    deadline = Deadline(check_timeout(timeout))
    if enclosure is not None and not _rational(relation, params):
        return _enclosed(relation, params, box, enclosure, deadline, margin)

    # a Piecewise (an optimal value over regions) is read through its conditions first
    inner = sorted({a for pw in relation.atoms(sympy.Piecewise) for _, c in pw.args
                    for a in sympy.sympify(c).atoms(Relational)}, key=str)

    def truths(atoms, point) -> dict:
        out = {}
        for a in atoms:
            d = number_to_sympy(a.lhs - a.rhs)
            if d.free_symbols and not d.is_rational_function(*params):
                raise ParameterError(f"{a}: {d} is not a rational function of "
                                     f"{', '.join(map(str, params))}; cpspec derives exact "
                                     "regions bounded by polynomials only; where(..., "
                                     "enclosure=1/64) gives a certified numeric enclosure")
            out[a] = _HOLDS[type(a)](point.sign(d))
        return out

    folded = (sympy.piecewise_fold(number_to_sympy(relation.lhs - relation.rhs))
              if isinstance(relation, Relational) and inner else None)
    if isinstance(folded, sympy.Piecewise) and not any(
            e.has(sympy.Piecewise) for e, _ in folded.args):
        # one piece at a time: the region is where the first piece whose condition holds
        # is this one and its own comparison keeps its truth (not every cell of every
        # piece's relations)
        kind = type(relation)

        def locate(point):
            earlier = []
            for e, c in folded.args:
                c = sympy.sympify(c)
                here = truths(sorted(c.atoms(Relational), key=str), point)
                if c.xreplace({a: sympy.true if t else sympy.false
                               for a, t in here.items()}) is sympy.true:
                    break
                earlier.append(sympy.Not(c))
            else:
                raise ParameterError(f"{relation}: no piece of {folded} applies at {point}")
            rel = kind(e, 0)
            truth = bool(truths([rel], point)[rel]) if rel.free_symbols else bool(rel)
            conds = earlier + ([c] if c is not sympy.true else []) + (
                [_truth_condition(rel, truth)] if rel.free_symbols else [])
            return truth, simplify_condition(params, box, conds, deadline)
    else:
        locate = _cells(relation, inner, truths, params, box, deadline)

    regs = within(deadline, "where", lambda: merge_regions(
        partition(params, box, locate, deadline, what=show_condition(box)),
        within=(params, box), deadline=deadline))
    return sorted((ParameterRegion(r.condition, r.answer, r.sample, r.samples, margin)
                   for r in regs), key=lambda r: r.answer)


def _rational(relation, params) -> bool:
    """Whether every comparison in ``relation`` is between rational functions."""
    for a in relation.atoms(Relational):
        d = number_to_sympy(a.lhs - a.rhs)
        if d.free_symbols and not d.is_rational_function(*params):
            return False
    return not relation.has(sympy.Piecewise) or all(
        _rational(sympy.sympify(c), params) and number_to_sympy(e).is_rational_function(*params)
        for pw in relation.atoms(sympy.Piecewise) for e, c in pw.args)


def _enclosed(relation, params, box, resolution, deadline, margin) -> list:
    """The certified enclosure of a comparison (:func:`cpspec.core.enclosure.enclose`),
    its boxes merged by answer: True, False, None (undecided)."""
    ranges = parameter_ranges(params, box)
    boxes = enclose(params, ranges, lambda b: truth_in(relation, b), resolution, deadline)
    out = []
    for answer in (False, True, None):
        mine = [b for b, a in boxes if a is answer]
        if not mine:
            continue
        cond = sympy.Or(*[sympy.And(*[r for x in params
                                      for r in (x >= b[x][0], x <= b[x][1])])
                          for b in mine])
        samples = tuple({x: (b[x][0] + b[x][1]) / 2 for x in params} for b in mine)
        out.append(ParameterRegion(cond, answer, samples[0], samples, margin))
    return out


def _cells(relation, inner, truths, params, box, deadline=None):
    """``locate`` for :func:`partition`: the region of a point is where every relation of
    the comparison (and of the Piecewise conditions inside it) keeps its truth."""
    def locate(point):
        known = truths(inner, point)
        rel = relation.xreplace({a: sympy.true if t else sympy.false for a, t in known.items()})
        here = truths(sorted(rel.atoms(Relational), key=str), point)
        truth = bool(rel.xreplace({a: sympy.true if t else sympy.false
                                   for a, t in here.items()}))
        conds = [_truth_condition(a, t) for a, t in {**known, **here}.items()]
        return truth, simplify_condition(params, box, conds, deadline)
    return locate


def _truth_condition(atom, holds: bool):
    """Where ``atom`` (a relation) is true (``holds``) or false, as one polynomial
    relation."""
    d = number_to_sympy(atom.lhs - atom.rhs)
    if isinstance(atom, (sympy.Equality, sympy.Unequality)):
        eq = sign_condition(d, 0)
        return eq if holds == isinstance(atom, sympy.Equality) else sympy.Ne(eq.lhs, 0)
    positive = isinstance(atom, (sympy.StrictGreaterThan, sympy.GreaterThan))
    strict = isinstance(atom, (sympy.StrictGreaterThan, sympy.StrictLessThan))
    if not holds:
        positive, strict = not positive, not strict
    return polynomial_condition(d if positive else -d, strict)
