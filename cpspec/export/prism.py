"""Export to the PRISM language, so a model can be checked with Storm or PRISM.

``to_prism(mdp)`` writes an MDP module with one integer state variable ``s`` (the
states in declaration order; a comment maps indices to names), one command per state
and action with exact rational probabilities, and a reward structure ``"r"`` whose
transition rewards are the expected immediate rewards ``sum_s2 P(s2|s,a) R(s,a,s2)``
(the same expected totals as cpspec's ``R(s, a, s2)``). ``prism_property(mdp, horizon)``
gives the matching query, e.g. ``Rmax=? [ C<=3 discount=9/10 ]``.
"""

from __future__ import annotations

import re
from fractions import Fraction

import sympy

from ..errors import ParameterError, SpecError
from ..core.functions import as_sympy
from ..decisions.mdp import MDP

__all__ = ["to_prism", "prism_property"]


def _ident(x, used: set) -> str:
    base = re.sub(r"[^A-Za-z0-9_]", "_", str(x)) or "x"
    if not base[0].isalpha():
        base = "a_" + base
    name, k = base, 1
    while name in used:
        k += 1
        name = f"{base}_{k}"
    used.add(name)
    return name


def _num(x) -> str:
    x = as_sympy(x)
    if isinstance(x, sympy.Basic) and x.free_symbols:
        raise ParameterError(f"PRISM export needs numbers; {x} has free parameters: bind them "
                             "(mdp.bind(...)) first")
    x = sympy.Rational(x)
    out = str(x.p) if x.q == 1 else f"{x.p}/{x.q}"
    return f"({out})" if x < 0 else out  # Storm's reward grammar wants negatives in parentheses


def to_prism(mdp: MDP, name: str = "cpspec") -> str:
    """The MDP in the PRISM language.

    Examples
    --------
    >>> import cpspec as cp
    >>> from cpspec.examples import delayed_reward
    >>> print(cp.to_prism(delayed_reward()).splitlines()[0])
    mdp
    """
    if not isinstance(mdp, MDP):
        raise SpecError(f"to_prism needs a cp.MDP, got {mdp!r}")
    if len(mdp.mu0) != 1:
        raise SpecError("PRISM MDPs have one initial state; this MDP starts in a "
                        "distribution: export it once per start state (MDP(..., start=s))")
    index = {s: i for i, s in enumerate(mdp.states)}
    used: set = set()
    acts = {a: _ident(a, used) for a in mdp.actions}
    s0 = index[next(iter(mdp.mu0))]
    lines = ["mdp", "", f"// cpspec export of {name}: s = index of the state", ""]
    for s, i in index.items():
        lines.append(f"//   {i}: {s!r}")
    lines += ["", f"module {_ident(name, set())}",
              f"  s : [0..{len(mdp.states) - 1}] init {s0};"]
    for s, i in index.items():
        for a in mdp.actions:
            row = mdp.P[(s, a)]
            rhs = " + ".join(f"{_num(p)}:(s'={index[s2]})" for s2, p in row.items())
            lines.append(f"  [{acts[a]}] s={i} -> {rhs};")
    lines += ["endmodule", "", 'rewards "r"']
    for s, i in index.items():
        for a in mdp.actions:
            r = sum((as_sympy(p) * as_sympy(mdp.R[(s, a, s2)])
                     for s2, p in mdp.P[(s, a)].items()), sympy.Integer(0))
            if r != 0:
                lines.append(f"  [{acts[a]}] s={i} : {_num(r)};")
    if lines[-1] == 'rewards "r"':
        lines.append("  true : 0;")  # Storm refuses an empty reward structure
    lines += ["endrewards", ""]
    used_labels: set = set()
    for s, i in index.items():
        lines.append(f'label "{_ident(s, used_labels)}" = s={i};')
    return "\n".join(lines) + "\n"


def prism_property(mdp: MDP, horizon) -> str:
    """The PRISM/Storm query for the optimal expected (discounted) reward.

    >>> import cpspec as cp
    >>> from cpspec.examples import delayed_reward
    >>> cp.prism_property(delayed_reward(), 2)
    'Rmax=? [ C<=2 discount=9/10 ]'
    """
    g = _num(mdp.gamma)
    if horizon is sympy.oo:
        if Fraction(g.strip("()")) >= 1:
            raise ParameterError("an infinite horizon needs gamma < 1")
        return f"Rmax=? [ Cdiscount={g} ]"
    if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 0:
        raise SpecError(f"horizon {horizon!r} must be a non-negative integer or sympy.oo")
    return f"Rmax=? [ C<={horizon} ]" if g == "1" else f"Rmax=? [ C<={horizon} discount={g} ]"
