"""What a picture shows, in the paper's notation, before any coordinates: a
:class:`Sketch` is a titled list of :class:`Mark` s (node name, kind, parents, the
annotation written above it) with caption lines under it.

* A diagram's sketch (:func:`diagram_sketch`) annotates each node with its structural
  function: ``f_X`` when deterministic, ``[f_X]`` when random (the paper's brackets), the
  value of a constant, the shared label (``pi``, ``S``, ``R``) where the node has one. A
  counterfactual world's replaced nodes (``Diagram.surgery``) are marked and annotated
  ``f_X^c`` (or their constant value).
* An agent's sketches (:func:`learning_sketch`, :func:`planning_sketch`) are read off the
  agent definition, not off evaluated diagrams, so agents with symbolic parameters draw
  too: the learning world with its record ``O_t``, its policy ``pi`` (``[pi]`` when it
  explores at random), SI's and SIF's interlock ``IL_t`` and the input terminal ``I_t``;
  the planning world with transitions ``L(O_t)``, the utilities the agent plans with
  (ITF's ``R`` reads ``I_t``, ITC's reads ``I_0``), SIF's foreseen interlock, STH's cut
  at ``N``, and the planned first action (a parametric choice when a parameter is
  symbolic).
* :func:`differences` names what distinguishes two sketches (nodes, annotations, arcs,
  captions), which pictures of two agents side by side highlight.

Text is written in plain notation (``pi``, ``S_0``, ``gamma^t``); :func:`runs` turns it
into the runs a renderer draws (Greek letters, subscripts, superscripts).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace as _dc_replace
from typing import Any

import sympy

from ..agents.base import Agent
from ..core.diagram import Diagram
from ..core.functions import show
from ..core.regions import Choice
from ..errors import SpecError

__all__ = ["Mark", "Sketch", "diagram_sketch", "learning_sketch", "planning_sketch",
           "differences", "runs", "short", "GREEK", "PLANNING_STEPS", "MAX_TABULATED"]

#: Words written as Greek letters.
GREEK = {"sum": "Σ", "pi": "π", "gamma": "γ", "epsilon": "ε", "mu": "μ", "theta": "θ",
         "sigma": "σ",
         "alpha": "α", "beta": "β", "delta": "δ", "lambda": "λ", "rho": "ρ", "tau": "τ"}

#: Steps of a planning world drawn when its horizon is infinite, symbolic or long.
PLANNING_STEPS = 3


@dataclass(frozen=True)
class Mark:
    """One node of a sketch: its ``name``, ``kind`` (``chance``, ``decision``,
    ``utility``), ``parents``, the annotation ``label`` written above it, an optional
    ``value`` written inside it, and whether diagram ``surgery`` changed it."""

    name: str
    kind: str
    parents: tuple
    label: str
    value: str | None = None
    surgery: bool = False


@dataclass(frozen=True)
class Sketch:
    """What one world's picture shows: a ``title``, its :class:`Mark` s, ``caption``
    lines written under it, an optional ``cut`` (text of a dashed line after the last
    step: STH's horizon) and ``more`` (a note that the series goes on)."""

    title: str
    marks: tuple
    caption: tuple = ()
    cut: str | None = None
    more: str | None = None
    grid: dict = field(default_factory=dict)

    def mark(self, name: str) -> Mark:
        """The mark of node ``name``."""
        for m in self.marks:
            if m.name == name:
                return m
        raise SpecError(f"the picture {self.title!r} has no node {name!r}")


# ---- text ---------------------------------------------------------------------------

_WORD = re.compile(r"[A-Za-z]+")
_SCRIPT = re.compile(r"([_^])(\{[^{}]*\}|[A-Za-z0-9*'′+\-]+)")


def _greek(text: str) -> str:
    return _WORD.sub(lambda m: GREEK.get(m.group(0), m.group(0)), text)


def runs(text: str) -> list[tuple[str, str]]:
    """``text`` in plain notation as runs ``(text, where)``, ``where`` one of
    ``"base"``, ``"sub"``, ``"sup"``: Greek words become letters, ``X_t`` and ``X_{t+1}``
    subscripts, ``gamma^t`` superscripts. A ``_`` inside a word that is not an index
    (``stop_pressed``) stays.

    Examples
    --------
    >>> runs("S_0")
    [('S', 'base'), ('0', 'sub')]
    >>> runs("[L(O_t)]")
    [('[L(O', 'base'), ('t', 'sub'), (')]', 'base')]
    >>> runs("gamma^t R_{t+1}")
    [('γ', 'base'), ('t', 'sup'), (' R', 'base'), ('t+1', 'sub')]
    """
    out: list[tuple[str, str]] = []
    pos = 0
    text = str(text)
    for m in _SCRIPT.finditer(text):
        body = m.group(2).strip("{}")
        # an index is short (t, 0, t+1, p, max); longer tails are words joined by _
        if m.group(1) == "_" and len(body) > 4 and not m.group(2).startswith("{"):
            continue
        if m.start() == 0:
            continue
        if m.start() > pos:
            out.append((_greek(text[pos:m.start()]), "base"))
        out.append((_greek(body), "sub" if m.group(1) == "_" else "sup"))
        pos = m.end()
    if pos < len(text):
        out.append((_greek(text[pos:]), "base"))
    merged: list[tuple[str, str]] = []
    for t, w in out:
        if merged and merged[-1][1] == w:
            merged[-1] = (merged[-1][0] + t, w)
        elif t:
            merged.append((t, w))
    return merged


def short(v: Any, width: int = 14) -> str:
    """A value as the short text written in a node: a factored state as its values
    joined by commas, anything longer than ``width`` cut with an ellipsis.

    >>> short("a rather long state name")
    'a rather long…'
    """
    if hasattr(v, "items") and not isinstance(v, dict):  # a factored state
        v = ",".join(str(x) for x in dict(v).values())
    s = str(v)
    return s if len(s) <= width else s[:width - 1] + "…"


# ---- diagrams -----------------------------------------------------------------------

def _constant(d: Diagram, name: str):
    """The value of a node that can take only one (no parents, one value), else None."""
    node = d.node(name)
    f = node.function
    if f.values is not None and len(f.values) == 1:
        return f.values[0]
    if node.parents or node.kind != "chance":
        return None
    try:
        dom = d.domain(name)
    except SpecError:
        return None
    return dom[0] if len(dom) == 1 else None


#: Largest diagram whose random nodes are tabulated to see whether every row is a
#: point mass (then the node is drawn as deterministic, as it truly is).
MAX_TABULATED = 60


def _point_masses(d: Diagram, name: str) -> bool:
    """Whether every row of a random node's table puts all its probability on one value
    (a ``dist`` that is deterministic in this world)."""
    if len(d) > MAX_TABULATED:
        return False
    try:
        rows = d.table(name).rows
    except SpecError:
        return False
    return rows is not None and all(sum(1 for p in row.values() if p != 0) <= 1
                                    for row in rows)


def diagram_sketch(d: Diagram, values: dict | None = None, title: str | None = None
                   ) -> Sketch:
    """The sketch of a diagram: every node with its structural function's annotation.

    Examples
    --------
    >>> import cpspec as cp
    >>> from cpspec.examples import dice_world
    >>> f = dice_world()
    >>> [m.label for m in diagram_sketch(f).marks]
    ['[f_G]', '[f_R]', 'f_S']
    >>> m = diagram_sketch(f.replace("c", R=cp.fn(lambda: 6))).mark("R")
    >>> m.label, m.surgery
    ('6', True)
    """
    if not isinstance(d, Diagram):
        raise SpecError(f"draw needs a diagram or an agent, got {show(d)}")
    values = values or {}
    marks = []
    for n in d.order:
        node = d.node(n)
        f = node.function
        cut = n in d.surgery
        if node.kind == "decision":
            label = f.label or "pi"
        else:
            sub = n if n.isalnum() and len(n) <= 4 else f"{{{n}}}"
            label = f.label or (f"f_{sub}^{d.name}" if cut else f"f_{sub}")
            if f.label is None or cut:
                c = _constant(d, n) if node.kind == "chance" else None
                if c is not None:
                    label = short(c)
            if f.random and not label.startswith("[") and not _point_masses(d, n):
                label = f"[{label}]"
        value = short(values[n]) if n in values else None
        marks.append(Mark(n, node.kind, tuple(node.parents), label, value, cut))
    caption = ()
    if d.surgery:
        caption = (f"surgery: {', '.join(sorted(d.surgery))} replaced "
                   f"(world {d.name} is a counterfactual)",)
    return Sketch(title or d.name, tuple(marks), caption)


# ---- agents -------------------------------------------------------------------------

def _random_rows(P: dict) -> bool:
    return any(len(row) > 1 for row in P.values())


def _interlocks(agent) -> list[str]:
    if not hasattr(agent, "null_action"):
        return []
    out = ["stop button pressed"]
    if getattr(agent, "T_max", None) is not None:
        out.append(f"t >= T_max = {agent.T_max}")
    if getattr(agent, "U_max", None) is not None:
        out.append(f"E(U_p) >= U_max = {show(agent.U_max)}")
    return out


def _terminal(agent) -> bool:
    return hasattr(agent, "terminal") and hasattr(agent, "rewards")


def _explores(agent) -> bool:
    eps = getattr(agent, "epsilon", None)
    return eps is not None and not eps == 0  # a symbolic epsilon may explore


def _start(agent) -> tuple[str, Any]:
    starts = list(agent.env.mu0)
    if len(starts) == 1:
        return short(starts[0]), starts[0]
    return "[mu_0]", starts[0]


def learning_sketch(agent, T: int = 2) -> Sketch:
    """The learning world of ``agent`` over ``T`` steps as its definition has it.

    Examples
    --------
    >>> import cpspec as cp
    >>> from cpspec.examples import stop_button
    >>> si = cp.agents.SI(stop_button(), stop_pressed=lambda s: s.button == "pressed",
    ...                   null_action="null")
    >>> sk = learning_sketch(si, 1)
    >>> [m.name for m in sk.marks]
    ['S_0', 'O_0', 'IL_0', 'A_0', 'S_1', 'R_0', 'O_1']
    >>> sk.mark("A_0").label, sk.mark("A_0").parents
    ('pi', ('O_0', 'S_0', 'IL_0'))
    """
    env = agent.env
    start, _ = _start(agent)
    marks = [Mark("S_0", "chance", (), start), Mark("O_0", "chance", (), "o_0")]
    # rewards above the states, interlock / terminal and actions below, records lowest:
    # every arc then runs between neighbouring rows
    grid = {"S_0": (0, 1), "O_0": (0, 3)}
    step = "[S]" if _random_rows(env.P) else "S"
    locks = _interlocks(agent)
    side = bool(locks) or _terminal(agent)  # a node beside each action: wider steps
    w = 1.5 if side else 1.0
    for t in range(T):
        S, A, O, R = f"S_{t}", f"A_{t}", f"O_{t}", f"R_{t}"
        a_parents: tuple = (O, S)
        reward_parents: tuple = (S, A, f"S_{t + 1}")
        if locks:
            marks.append(Mark(f"IL_{t}", "chance", (S,), "IL"))
            grid[f"IL_{t}"] = (w * t + 0.35, 2)
            a_parents += (f"IL_{t}",)
        if _terminal(agent):
            marks.append(Mark(f"I_{t}", "chance", (S,), "terminal"))
            grid[f"I_{t}"] = (w * t + 0.35, 2)
            reward_parents += (f"I_{t}",)
        marks.append(Mark(A, "chance", a_parents, "[pi]" if _explores(agent) else "pi"))
        marks.append(Mark(f"S_{t + 1}", "chance", (S, A), step))
        marks.append(Mark(R, "chance", reward_parents, "R"))
        o_parents = (O, S, A, f"S_{t + 1}") if t == 0 else (O, A, f"S_{t + 1}")
        marks.append(Mark(f"O_{t + 1}", "chance", o_parents, "O"))
        grid.update({A: (w * t + (1.0 if side else 0.6), 2), f"S_{t + 1}": (w * (t + 1), 1),
                     R: (w * (t + 0.5), 0), f"O_{t + 1}": (w * (t + 1), 3)})
    caption = [_policy_line(agent), "O_{t+1} = O_t ++ [(S_t, A_t, S_{t+1})]: the record "
               "the learner L reads"]
    if locks:
        caption.append(f"IL_t: the interlock is on when {' or '.join(locks)}")
    if _terminal(agent):
        caption.append("I_t: the input terminal's content; R_t is the reward it holds")
    return Sketch(f"l  ({agent.kind}: learning world)", tuple(marks), tuple(caption),
                  grid=grid)


def _policy_line(agent) -> str:
    if _explores(agent):
        eps = show(agent.epsilon)
        return (f"pi(o, s) = pi*_p(s) with probability 1 - epsilon, a uniformly random "
                f"action with probability epsilon = {eps}")
    if hasattr(agent, "null_action"):
        return f"A_t = {agent.null_action} if IL_t, else pi*_p(S_t)"
    return "pi(o, s) = pi*_p(s): the planning world's first action"


def _planned(agent, s) -> Any:
    """The planned first action from ``s`` (a Choice when a parameter is symbolic), or
    None when it cannot be had cheaply."""
    if len(agent.env.P) > 2_000:
        return None
    try:
        return agent.planned_action(agent.o0, s)
    except SpecError:
        return None


def planning_sketch(agent, steps: int | None = None) -> Sketch:
    """The planning world ``p(o_0, s_0)`` of ``agent`` as its definition has it: STH cut
    at ``N``, FP and the others drawn for :data:`PLANNING_STEPS` steps and marked as going
    on, with the planned first action.

    Examples
    --------
    >>> import cpspec as cp, sympy
    >>> from cpspec.examples import input_terminal
    >>> env, rewards = input_terminal()
    >>> sk = planning_sketch(cp.agents.ITC(env, terminal="terminal", rewards=rewards))
    >>> sk.mark("R_1").parents, sk.mark("R_1").label
    (('S_1', 'A_1', 'S_2', 'I_0'), 'R')
    >>> sk.mark("S_1").label
    'L(O_t)'
    """
    if getattr(agent, "chunks", None) is not None:  # the approximate chunk planning world
        s0 = _start(agent)[1]
        return diagram_sketch(agent.planning_world(agent.o0, s0), title=(
            f"p  (chunk planning world from {short(s0)}, N = {agent.horizon})"))
    H = agent.horizon
    finite = isinstance(H, int)
    n = steps or (min(H, PLANNING_STEPS) if finite else PLANNING_STEPS)
    start, s0 = _start(agent)
    try:
        learned = "[L(O_t)]" if _random_rows(agent.planning_mdp(agent.o0, s0).P) \
            else "L(O_t)"
    except SpecError:
        learned = "[L(O_t)]"
    # an agent whose planning world overrides the action taken (SIF) foresees its interlock
    foresees = type(agent).planning_action is not Agent.planning_action
    marks = [Mark("S_0", "chance", (), "s")]
    grid = {"S_0": (0, 1)}
    terminal = _terminal(agent)
    fixed = terminal and getattr(agent, "planning_depends_on_state", False)
    side = foresees or terminal
    w = 1.5 if side else 1.0
    if fixed:
        marks.append(Mark("I_0", "chance", ("S_0",), "terminal"))
        grid["I_0"] = (0.35, 2)
    for t in range(n):
        S, A, R = f"S_{t}", f"A_{t}", f"R_{t}"
        marks.append(Mark(A, "decision", (S,), "pi"))
        effect: tuple = (S, A)
        reward: tuple = (S, A, f"S_{t + 1}")
        if foresees:
            marks.append(Mark(f"IL_{t}", "chance", (S,), "IL"))
            grid[f"IL_{t}"] = (w * t + 0.35, 2)
            effect += (f"IL_{t}",)
            reward += (f"IL_{t}",)
        if terminal and not fixed:
            marks.append(Mark(f"I_{t}", "chance", (S,), "terminal"))
            grid[f"I_{t}"] = (w * t + 0.35, 2)
            reward += (f"I_{t}",)
        elif fixed:
            reward += ("I_0",)
        marks.append(Mark(f"S_{t + 1}", "chance", effect, learned))
        marks.append(Mark(R, "utility", reward, "R"))
        grid.update({A: (w * t + (1.0 if side else 0.6), 2), f"S_{t + 1}": (w * (t + 1), 1),
                     R: (w * (t + 0.5), 0)})
    caption = [f"S_{{t+1}} ~ L(O_t): the model learned from the record by {agent.learner!r}",
               _horizon_line(H)]
    if foresees:
        caption.append(f"IL_t: the planning world includes the interlock: where the "
                       f"button is pressed every action acts as {agent.null_action}")
    if terminal:
        caption.append("R_t reads I_0, the terminal content now (counterfactual)" if fixed
                       else "R_t reads I_t, the terminal content predicted at step t")
    plan = _planned(agent, s0)
    free = sorted(x.name for x in agent.env.free_symbols())
    if plan is None and len(free) > 1:
        caption.append(f"pi*_p({short(s0, 30)}) depends on {', '.join(free)} together: "
                       "bind all but one to see it")
    if plan is not None:
        caption.append(f"pi*_p({short(s0, 30)}) = {_choice(plan)}")
        if not isinstance(plan, Choice):
            marks = [_dc_replace(m, value=short(plan)) if m.name == "A_0" else m
                     for m in marks]
    cut = more = None
    if finite:
        cut = f"N = {H}" if n == H else None
        more = None if n == H else f"... to N = {H}"
    elif H is sympy.oo:
        more = "... (infinite)"
    else:
        more = f"... to {H}"
    return Sketch(f"p  (planning world from {start})", tuple(marks), tuple(caption),
                  cut=cut, more=more, grid=grid)


def _choice(plan) -> str:
    return str(plan) if isinstance(plan, Choice) else repr(plan)


def _horizon_line(H) -> str:
    if H is sympy.oo:
        return "U_p = sum_t gamma^t R_t over an infinite horizon"
    return f"U_p = sum_{{t<N}} gamma^t R_t, cut at N = {H}: nothing from step N on counts"


def differences(a: Sketch, b: Sketch) -> tuple[set, set]:
    """The node names and caption lines of ``a`` that ``b`` does not have alike: absent
    from ``b``, or there with another kind or annotation, or reading other parents among
    the nodes both have (an arc from a node only ``a`` has is part of that node's
    difference).

    Examples
    --------
    >>> x = Sketch("x", (Mark("A", "chance", (), "f"), Mark("B", "chance", ("A",), "g")))
    >>> y = Sketch("y", (Mark("A", "chance", (), "f"), Mark("B", "chance", (), "g")))
    >>> differences(x, y)
    ({'B'}, set())
    """
    other = {m.name: m for m in b.marks}
    both = {m.name for m in a.marks} & set(other)
    nodes = {m.name for m in a.marks
             if m.name not in other or (m.kind, m.label) != (other[m.name].kind,
                                                             other[m.name].label)
             or set(m.parents) & both != set(other[m.name].parents) & both}
    lines = set(a.caption) - set(b.caption)
    return nodes, lines
