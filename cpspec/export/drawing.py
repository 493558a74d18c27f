"""Pictures in the paper's notation: SVG text (pure Python) and PNG (Pillow).

Chance nodes are round, decision nodes square, utility nodes diamonds. The annotation
above each node says what the paper writes there (:mod:`cpspec.export.notation`): the
structural function, in brackets when it is random (``[S]``, ``[pi]``), the constant of
a constant node, ``L(O_t)`` on a planning world's transitions; names are set with Greek
letters and subscripts. The diagram's name stands in its upper-left corner, and caption
lines under a picture state what the annotations mean (an agent's policy, its
interlocks, the horizon). Time series (``S_0, A_0, S_1, ...``) are laid out left to
right, one row per series; other diagrams by depth. An arrow that would pass through
another node is bent around it.

An agent is drawn as its learning world and its planning world side by side, read off
its definition (so agents with symbolic parameters draw too, with their parametric
choices); two agents (``draw(a, b)``) are drawn one above the other with what
distinguishes them outlined in orange (SI's interlock, ITC's reward reading ``I_0``,
STH's cut at ``N``, SIF's foreseen interlock). A counterfactual world's replaced nodes
(surgery) are outlined dashed in purple. Each kind of counterexample has its picture
(:func:`counterexample_scene`): a trace as the learning world with the trace's values and
the violating step highlighted; a ``myopic`` continuation as the planning world cut at
step ``N``, with the nonzero continuation values beside ``S_N`` and the flipped first
action highlighted; a ``no_incentive`` dynamics counterexample as the planning world with
the changed rows of the node's dynamics listed under it and the state nodes they drive
highlighted; a structural one as the agent's two worlds with the named node highlighted;
an observation as its diagram with the observed values and the forbidding node.

A picture is first a small scene (shapes with coordinates), rendered either to SVG or to
PNG, so both show the same thing. :func:`draw` returns a :class:`Drawing`: the SVG text,
which shows itself in a notebook and saves to SVG or PNG. A diagram of more than
:data:`MAX_DRAW_NODES` nodes is refused with the advice to draw its summary (one node per
time series: ``summary=True``).
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass, replace as _dc_replace
from pathlib import Path
from typing import Any

from ..core.diagram import Diagram
from ..core.display import register_svg
from ..decisions.influence import IDSolution, ParametricIDSolution
from ..decisions.mdp import influence_diagram
from ..errors import ModelTooLargeError, SpecError
from .notation import (Mark, Sketch, diagram_sketch, differences, learning_sketch,
                       planning_sketch, runs, short)
from .regions import picture_of

__all__ = ["Scene", "Drawing", "scene", "sketch_scene", "summary_sketch", "draw", "to_svg",
           "to_png", "beside", "above", "agent_scene", "agents_scene", "trace_scene",
           "continuation_scene", "dynamics_scene", "decision_scene", "structure_scene",
           "observation_scene", "counterexample_scene", "is_agent", "DRAWABLE_KINDS",
           "MAX_NOTE_LINES", "MAX_DRAW_NODES"]

R = 24            # node radius
DX, DY = 110, 95  # grid spacing
MARGIN = 30
TOP = 46          # room for the title
RED, BLUE, ORANGE, PURPLE = "#c0392b", "#1a5276", "#d35400", "#8e44ad"

#: Most nodes drawn in one picture; a larger diagram is refused with the advice to draw
#: its summary (``summary=True``, one node per time series), which stays readable.
MAX_DRAW_NODES = 60


@dataclass(frozen=True)
class Scene:
    """Shapes to draw (immutable): ``("circle"|"rect"|"diamond", x, y, style)``,
    ``("text", x, y, s, style)`` (``style["rich"]``: Greek letters and subscripts),
    ``("arrow", x1, y1, x2, y2, style)`` (``style["via"]``: the control point of a bent
    arrow) and ``("line", x1, y1, x2, y2, style)`` (dashed)."""

    width: float
    height: float
    items: tuple = ()

    def shifted(self, dx: float, dy: float) -> list:
        """The items moved by ``(dx, dy)``."""
        out = []
        for it in self.items:
            kind = it[0]
            if kind in ("arrow", "line"):
                st = dict(it[5])
                if "via" in st:
                    st["via"] = (st["via"][0] + dx, st["via"][1] + dy)
                out.append((kind, it[1] + dx, it[2] + dy, it[3] + dx, it[4] + dy, st))
            elif kind == "text":
                out.append((kind, it[1] + dx, it[2] + dy, it[3], it[4]))
            else:
                out.append((kind, it[1] + dx, it[2] + dy, it[3]))
        return out

    def _repr_svg_(self) -> str:
        return to_svg(self)


class Drawing(str):
    """A picture: its SVG text (a ``str``), which shows itself in a notebook
    (``_repr_svg_``) and saves to ``.svg`` or ``.png`` (:meth:`save`). ``scene`` is the
    scene it was rendered from.

    Examples
    --------
    >>> import cpspec as cp, pathlib, tempfile
    >>> from cpspec.examples import dice_world
    >>> pic = cp.draw(dice_world())
    >>> pic.startswith("<svg"), pic._repr_svg_() == pic
    (True, True)
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> pic.save(folder / "f.png").suffix, pic.save(folder / "f.svg").suffix
    ('.png', '.svg')
    """

    scene: Scene

    def __new__(cls, sc: Scene) -> "Drawing":
        out = super().__new__(cls, to_svg(sc))
        out.scene = sc
        return out

    def _repr_svg_(self) -> str:
        return str(self)

    def __repr__(self) -> str:  # the plain-text fallback: what it is, not 40 kB of SVG
        title = next((it[3] for it in self.scene.items if it[0] == "text"), "")
        return (f"<Drawing {title!r}, {self.scene.width:.0f} x {self.scene.height:.0f}: "
                ".save('out.svg' or 'out.png')>")

    def save(self, path: str | Path, scale: float = 2.0) -> Path:
        """Write the picture to ``path``: SVG text for ``.svg``, a PNG image (rendered
        with Pillow at ``scale``) for ``.png``."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".png":
            return to_png(self.scene, path, scale)
        if suffix == ".svg":
            path.write_text(str(self), encoding="utf-8")
            return path
        raise SpecError(f"{path}: a picture is saved as .svg or .png; name the file so")


_SERIES = re.compile(r"^(.*)_(\d+)$")


#: Where the nodes of chunk slot ``k`` sit (grid units, ``x`` from the slot's start
#: ``2 k``): the states in a row with the end state ``S_{k+1}`` two columns on, the
#: duration above them, the chunk decision and its utility below, the elapsed step
#: ``tau`` along the bottom; placed so that no arrow runs through a node.
_CHUNK_SLOT = {"T": (1.2, 0), "S": (0, 1), "C": (1.0, 2), "U": (1.0, 3.2), "tau": (0, 4)}


def _chunk_layout(series: dict) -> dict:
    """The approximate chunk planning world (:meth:`ChunkModel.planning_world
    <cpspec.decisions.chunks.ChunkModel.planning_world>`): one slot of two columns per
    chunk, so that no arrow runs through a node."""
    pos = {}
    for name, nodes in series.items():
        dx, y = _CHUNK_SLOT[name]
        for k, n in nodes.items():
            pos[n] = (2 * k + dx, y)
    return pos


def _layout(marks: tuple) -> dict[str, tuple[float, float]]:
    names = [m.name for m in marks]
    parents = {m.name: m.parents for m in marks}
    series: dict[str, dict[int, str]] = {}
    for n in names:
        m = _SERIES.match(n)
        if m:
            series.setdefault(m.group(1), {})[int(m.group(2))] = n
    if {"S", "C", "T", "tau", "U"} <= set(series) and len(series) == 5:
        return _chunk_layout(series)
    timed = {n for s in series.values() for n in s.values()}
    if timed and len(timed) >= len(names) // 2 and any(len(s) > 1 for s in series.values()):
        top = max(max(s) for s in series.values())
        # state series first, then actions, rewards, records (the paper's reading order)
        rank = {"A": 1, "R": 2, "O": 3}
        rows = sorted(series, key=lambda k: (rank.get(k, 0), list(series).index(k)))
        pos = {}
        for r, name in enumerate(rows):
            half = 0.5 if max(series[name]) < top else 0.0   # actions/rewards between states
            for t, n in series[name].items():
                pos[n] = (t + half, r)
        extra = [n for n in names if n not in pos]
        for i, n in enumerate(extra):
            pos[n] = (-1, i)
        return pos
    depth: dict[str, int] = {}
    for n in names:
        depth[n] = 1 + max((depth[p] for p in parents[n] if p in depth), default=-1)
    rows: dict[int, int] = {}
    pos = {}
    for n in names:
        k = depth[n]
        pos[n] = (k, rows.get(k, 0))
        rows[k] = rows.get(k, 0) + 1
    return pos


def _near(px, py, pts, skip, gap) -> bool:
    return any(n not in skip and (px - x) ** 2 + (py - y) ** 2 < gap * gap
               for n, (x, y) in pts.items())


def _bezier(p1, c, p2, k: float) -> tuple[float, float]:
    u = 1 - k
    return (u * u * p1[0] + 2 * u * k * c[0] + k * k * p2[0],
            u * u * p1[1] + 2 * u * k * c[1] + k * k * p2[1])


def _route(a: str, b: str, pts: dict) -> tuple | None:
    """None when the straight arrow ``a -> b`` passes clear of every other node, else the
    control point of a curve that does (the clearest one tried)."""
    p1, p2 = pts[a], pts[b]
    skip, gap = {a, b}, R + 7
    ks = [i / 24 for i in range(2, 23)]
    mid = ((p1[0] + p2[0]) / 2, (p1[1] + p2[1]) / 2)
    if not any(_near(*_bezier(p1, mid, p2, k), pts, skip, gap) for k in ks):
        return None
    dx, dy = p2[0] - p1[0], p2[1] - p1[1]
    dist = max(math.hypot(dx, dy), 1e-9)
    nx, ny = -dy / dist, dx / dist
    best, best_gap = None, -1.0
    for step in (1, -1, 2, -2, 3, -3, 4, -4, 5, -5):
        c = (mid[0] + nx * 32 * step, mid[1] + ny * 32 * step)
        samples = [_bezier(p1, c, p2, k) for k in ks]
        if min(y for _, y in samples) < TOP:  # never over the title
            continue
        worst = min((math.hypot(sx - x, sy - y) for sx, sy in samples
                     for n, (x, y) in pts.items() if n not in skip), default=1e9)
        if worst >= gap:
            return c
        if worst > best_gap:
            best, best_gap = c, worst
    return best


def _check_size(sk: Sketch, what: str) -> None:
    if len(sk.marks) > MAX_DRAW_NODES:
        raise ModelTooLargeError(
            f"{what} has {len(sk.marks)} nodes, too many to read in one picture (above "
            f"cpspec.export.drawing.MAX_DRAW_NODES = {MAX_DRAW_NODES}); draw its summary, "
            "one node per time series (cp.draw(..., summary=True); cpspec draw --summary), "
            "fewer steps, or raise the limit")


def summary_sketch(sk: Sketch) -> Sketch:
    """``sk`` with each time series ``X_0, X_1, ...`` folded into one node ``X_t``
    (annotated as its members, with the range of ``t``): a readable picture of a large
    diagram. An arc from ``X_t`` to ``Y_{t+1}`` is drawn ``X_t -> Y_t``; one within a
    series is listed in the caption.

    Examples
    --------
    >>> import cpspec as cp
    >>> from cpspec.examples import delayed_reward
    >>> from cpspec.export.notation import diagram_sketch
    >>> sk = summary_sketch(diagram_sketch(cp.influence_diagram(delayed_reward(), 40)))
    >>> [m.name for m in sk.marks], sk.mark("A_t").parents
    (['S_t', 'A_t', 'R_t'], ('S_t',))
    """
    counts: dict[str, list] = {}
    for m in sk.marks:
        hit = _SERIES.match(m.name)
        if hit:
            counts.setdefault(hit.group(1), []).append(int(hit.group(2)))

    def group(name: str) -> str:
        hit = _SERIES.match(name)
        return f"{hit.group(1)}_t" if hit and len(counts[hit.group(1)]) > 1 else name
    marks: dict[str, Mark] = {}
    parents: dict[str, list] = {}
    loops: set = set()
    for m in sk.marks:
        g = group(m.name)
        ps = parents.setdefault(g, [])
        for p in m.parents:
            gp = group(p)
            if gp == g:
                loops.add(g)
            elif gp not in ps:
                ps.append(gp)
        if g not in marks:
            hit = _SERIES.match(m.name)
            value = None
            if g != m.name:
                ts = counts[hit.group(1)]
                value = f"t={min(ts)}..{max(ts)}"
            marks[g] = Mark(g, m.kind, (), m.label, value, m.surgery)
    out = tuple(_dc_replace(m, parents=tuple(parents[g])) for g, m in marks.items())
    caption = sk.caption + tuple(f"{g} reads {g.replace('_t', '_{t-1}')}"
                                 for g in sorted(loops))
    return Sketch(sk.title + "  (summary)", out, caption)


def sketch_scene(sk: Sketch, highlight: set | None = None, marked: set | None = None,
                 marked_lines: set | None = None) -> Scene:
    """The scene of a sketch: ``highlight`` nodes outlined in red (a counterexample),
    ``marked`` nodes and ``marked_lines`` of the caption in orange (what differs from
    another picture), surgery dashed in purple."""
    highlight, marked = highlight or set(), marked or set()
    marked_lines = marked_lines or set()
    _check_size(sk, f"the picture {sk.title!r}")
    grid = dict(sk.grid) if sk.grid else _layout(sk.marks)
    for i, m in enumerate(sk.marks):
        grid.setdefault(m.name, (-1, i))
    minx = min(x for x, _ in grid.values())
    pts = {n: (MARGIN + R + (x - minx) * DX, TOP + R + 14 + y * DY) for n, (x, y) in grid.items()}
    right = max(x for x, _ in pts.values()) + R
    width = right + MARGIN + 20
    bottom = max(y for _, y in pts.values()) + R
    width = max(width, 10 + _text_width(sk.title, 16) * 1.1 + MARGIN)
    items: list = [("text", 10, 22, sk.title, {"weight": "bold", "size": 16})]
    for m in sk.marks:
        for p in m.parents:
            if p not in pts:
                continue
            via = _route(p, m.name, pts)
            st = {"via": via} if via is not None else {}
            if m.name in marked or p in marked:
                st["color"] = ORANGE
            items.append(("arrow", *pts[p], *pts[m.name], st))
    for m in sk.marks:
        x, y = pts[m.name]
        if m.name in highlight:
            style = {"stroke": RED, "width": 3, "fill": "#fdecea"}
        elif m.surgery:
            style = {"stroke": PURPLE, "width": 2.5, "fill": "#f5eef8", "dash": True}
        elif m.name in marked:
            style = {"stroke": ORANGE, "width": 3, "fill": "#fef5e7"}
        else:
            style = {"stroke": "#222", "width": 1.5, "fill": "#fff"}
        shape = {"chance": "circle", "decision": "rect", "utility": "diamond"}[m.kind]
        items.append((shape, x, y, {**style, "node": m.name}))
        items.append(("text", x, y + 4 if m.value is None else y - 3, m.name,
                      {"size": 12, "anchor": "middle", "rich": True, "node": m.name}))
        if m.value is not None:
            items.append(("text", x, y + 12, m.value, {"size": 10, "anchor": "middle",
                                                      "color": BLUE}))
        color = PURPLE if m.surgery else "#555"
        # above the node, as in the paper; moved aside when an arrow comes from straight above
        from_above = any(abs(pts[p][0] - x) < 1 and pts[p][1] < y for p in m.parents
                         if p in pts)
        if from_above:
            items.append(("text", x + 0.6 * R, y - R - 8, m.label,
                          {"size": 11, "anchor": "start", "style": "italic", "color": color,
                           "rich": True}))
        else:
            lift = R + (12 if m.kind == "utility" else 7)  # a diamond reaches higher
            items.append(("text", x, y - lift, m.label,
                          {"size": 11, "anchor": "middle", "style": "italic",
                           "color": color, "rich": True}))
    if sk.cut:
        cx = right + 22
        items.append(("line", cx, TOP, cx, bottom + 6,
                      {"color": ORANGE if "cut" in marked else "#555"}))
        items.append(("text", cx + 6, TOP + 10, sk.cut, {"size": 11, "color": "#555",
                                                          "rich": True}))
        width = max(width, cx + 10 + _text_width(sk.cut, 11) + MARGIN)
    if sk.more:
        items.append(("text", right + 10, TOP + R + 18, sk.more, {"size": 12,
                                                                   "color": "#555"}))
        width = max(width, right + 14 + _text_width(sk.more, 12) + MARGIN)
    for it in items:  # bent arrows may reach below the lowest node
        if it[0] == "arrow" and "via" in it[5]:
            peak = _bezier(it[1:3], it[5]["via"], it[3:5], 0.5)
            bottom, width = max(bottom, peak[1] + 4), max(width, peak[0] + MARGIN)
    sc = Scene(width, bottom + MARGIN, tuple(items))
    lines = [(line, ORANGE if line in marked_lines else "#333") for line in sk.caption]
    return _with_lines(sc, MARGIN, bottom + MARGIN + 4, lines, rich=True) if lines else sc


def scene(d: Diagram, values: dict | None = None, highlight: set | None = None,
          title: str | None = None, summary: bool = False) -> Scene:
    """The scene of a diagram; ``values`` (node -> value) are written in the nodes,
    ``highlight`` nodes are outlined in red, and ``summary`` folds time series."""
    sk = diagram_sketch(d, values, title)
    if summary:
        sk = summary_sketch(sk)
    else:
        _check_size(sk, f"world {d.name!r}")
    return sketch_scene(sk, highlight)


def _rich_width(text: str, size: float) -> float:
    return sum(0.56 * size * len(t) * (0.75 if w != "base" else 1.0) for t, w in runs(text))


def _text_width(s: str, size: float) -> float:
    return 0.56 * size * len(s)  # DejaVu Sans: about 0.55 em per character


def beside(*scenes: Scene, gap: float = 40) -> Scene:
    """Scenes side by side (learning world, planning world)."""
    items: list = []
    x, height = 0.0, 0.0
    for sc in scenes:
        items += sc.shifted(x, 0)
        x += sc.width + gap
        height = max(height, sc.height)
    return Scene(x - gap, height, tuple(items))


def above(*scenes: Scene, gap: float = 20) -> Scene:
    """Scenes one above the other (two agents), separated by a rule."""
    items: list = []
    y, width = 0.0, max(sc.width for sc in scenes)
    for i, sc in enumerate(scenes):
        if i:
            items.append(("line", 10, y - gap / 2, width - 10, y - gap / 2,
                          {"color": "#bbb", "solid": True}))
        items += sc.shifted(0, y)
        y += sc.height + gap
    return Scene(width, y - gap, tuple(items))


def agent_scene(agent, T: int = 2, planning_horizon: int | None = None) -> Scene:
    """An agent's learning world (``T`` steps) and its planning world, side by side, read
    off the agent definition (``planning_horizon`` steps of the planning world when it is
    infinite or long)."""
    lw, pw = learning_sketch(agent, T), planning_sketch(agent, planning_horizon)
    return beside(sketch_scene(lw), sketch_scene(pw))


def agents_scene(*agents, T: int = 2) -> Scene:
    """Agents one above the other, each as its learning and planning world, with what
    distinguishes each from the others outlined in orange (nodes, annotations, arcs and
    caption lines)."""
    sketches = [(learning_sketch(a, T), planning_sketch(a)) for a in agents]
    rows = []
    for i, (lw, pw) in enumerate(sketches):
        marks_l, marks_p, lines = set(), set(), set()
        for j, (lw2, pw2) in enumerate(sketches):
            if i == j:
                continue
            nl, ll = differences(lw, lw2)
            np_, lp = differences(pw, pw2)
            marks_l |= nl
            marks_p |= np_
            lines |= ll | lp
            if pw.cut != pw2.cut and pw.cut:
                marks_p.add("cut")
        rows.append(beside(sketch_scene(lw, None, marks_l, lines),
                           sketch_scene(pw, None, marks_p, lines)))
    return above(*rows)


def _diagrams_scene(*diagrams, summary: bool = False) -> Scene:
    sks = [diagram_sketch(d) for d in diagrams]
    if summary:
        sks = [summary_sketch(s) for s in sks]
    out = []
    for i, sk in enumerate(sks):
        marked = set()
        for j, other in enumerate(sks):
            if i != j:
                marked |= differences(sk, other)[0]
        out.append(sketch_scene(sk, None, marked))
    return beside(*out)


def _with_values(sk: Sketch, values: dict) -> Sketch:
    marks = tuple(_dc_replace(m, value=short(values[m.name])) if m.name in values else m
                  for m in sk.marks)
    return _dc_replace(sk, marks=marks)


def _solution_values(d: Diagram, sol) -> tuple[dict, list]:
    """What a solved influence diagram writes into its picture: each decision's action
    where it is one for every information, its rules in the caption otherwise, and the
    expected utility."""
    if isinstance(sol, ParametricIDSolution):
        lines = [f"E(U) = {sol.value}" if hasattr(sol, "value") else "E(U): parametric"]
        values = {}
        for D in sol.pieces[0][1].rules:
            info = list(sol.pieces[0][1].rules[D])
            for key in info[:MAX_NOTE_LINES]:
                lines.append(f"{D}({', '.join(map(str, key))}) = {sol.policy(D, *key)}")
        return values, lines
    if not isinstance(sol, IDSolution):
        raise SpecError("values= takes a dict of node values or the solution of this "
                        f"influence diagram (cp.solve(diagram)), got {type(sol).__name__}")
    values, lines = {}, [f"E(U) = {sol.value}  (the optimal expected utility)"]
    for D, rules in sol.rules.items():
        if D not in d:
            raise SpecError(f"values=: the solution's decision {D!r} is not a node of world "
                            f"{d.name!r}; draw the diagram that was solved")
        acts = set(rules.values())
        if len(acts) == 1:
            values[D] = next(iter(acts))
        else:
            ps = d.parents(D)
            rows = [f"{D}: " + ", ".join(f"{p}={v}" for p, v in zip(ps, k)) + f" -> {a}"
                    for k, a in rules.items()]
            lines += _notes([(r, BLUE) for r in rows])
    return values, lines
def trace_scene(agent, counterexample) -> Scene:
    """A counterexample trace: the learning world with the trace's values, the violating
    step in red. A trace from :func:`cp.conforms` (one step: ``step``, ``state`` and
    the ``action`` or ``next`` state the agent or the environment rules out) is drawn up
    to that step."""
    data = counterexample.data
    title = f"l  (counterexample: {counterexample.kind})"
    if "states" not in data:  # cp.conforms: the one step that deviates
        t = data["step"]
        values = {f"S_{t}": data["state"]}
        if "action" in data:
            values[f"A_{t}"] = data["action"]
        if "next" in data:
            values[f"S_{t + 1}"] = data["next"]
        hl = {f"S_{t + 1}"} if "next" in data else ({f"A_{t}"} if "action" in data
                                                     else {f"S_{t}"})
        sk = _dc_replace(_with_values(learning_sketch(agent, t + 1), values), title=title,
                         caption=())
        sc = sketch_scene(sk, hl)
        return _with_lines(sc, MARGIN, sc.height + 4,
                           [(line.strip(), RED) for line in str(counterexample).splitlines()])
    states, acts = data["states"], data["actions"]
    T = len(acts)
    values = {f"S_{t}": s for t, s in enumerate(states)}
    values.update({f"A_{t}": a for t, a in enumerate(acts)})
    values.update({f"R_{t}": agent.learning_reward(states[t], acts[t], states[t + 1])
                   for t in range(T)})
    bad = data.get("violation_at")
    hl = {f"A_{bad}"} if bad is not None and bad < T else ({f"S_{T}"} if T else {"S_0"})
    sk = _dc_replace(_with_values(learning_sketch(agent, T), values), title=title)
    return sketch_scene(sk, hl)


#: Longest list of values or rows written beside a counterexample picture; the rest is
#: counted in one more line.
MAX_NOTE_LINES = 12

def _notes(lines: list) -> list:
    if len(lines) <= MAX_NOTE_LINES:
        return lines
    rest = len(lines) - MAX_NOTE_LINES + 1
    return lines[:MAX_NOTE_LINES - 1] + [(f"... and {rest} more", "#555")]


def _with_lines(sc: Scene, x: float, y: float, lines: list, size: float = 11,
                rich: bool = False) -> Scene:
    """``sc`` with text ``lines`` (a string, or ``(string, color)``) from ``(x, y)`` down,
    grown to hold them (``rich``: in the paper's notation)."""
    items = list(sc.items)
    width, height = sc.width, sc.height
    for i, line in enumerate(lines):
        text, color = (line, "#111") if isinstance(line, str) else line
        yy = y + i * (size + 5)
        items.append(("text", x, yy, text, {"size": size, "anchor": "start",
                                            "color": color, "rich": rich}))
        width = max(width, x + (_rich_width if rich else _text_width)(text, size) + MARGIN)
        height = max(height, yy + MARGIN)
    return Scene(width, height, tuple(items))


def _node_point(sc: Scene, name: str) -> tuple:
    """Where node ``name`` stands in a scene (its label's anchor)."""
    for it in sc.items:
        if it[0] == "text" and it[4].get("node") == name:
            return it[1], it[2]
    raise SpecError(f"the picture has no node {name!r}")


def _show(v) -> str:
    if hasattr(v, "items") and not isinstance(v, dict):  # a factored state
        return "(" + ", ".join(f"{k}={x!r}" for k, x in dict(v).items()) + ")"
    return repr(v) if isinstance(v, str) else str(v)


def _row_text(row) -> str:
    return ", ".join(f"{v!r}: {p}" for v, p in row.items())


def _planning_scene(agent, s, steps: int, values: dict, highlight: set, title: str) -> Scene:
    """The planning world ``p(o_0, s)`` for ``steps`` steps, its transitions annotated
    ``L(O_t)`` as the paper writes them (bracketed when the learned rows are random)."""
    mdp = agent.planning_mdp(agent.o0, s)
    sk = diagram_sketch(influence_diagram(mdp, steps, name="p"), values, title)
    learned = "[L(O_t)]" if any(len(row) > 1 for row in mdp.P.values()) else "L(O_t)"
    marks = tuple(_dc_replace(m, label=learned)
                  if m.name.startswith("S_") and m.name != "S_0" else m for m in sk.marks)
    sk = _dc_replace(sk, marks=marks)
    _check_size(sk, "the planning world")
    return sketch_scene(sk, highlight)


def continuation_scene(agent, counterexample) -> Scene:
    """A ``myopic(N)`` counterexample: the planning world from the state, cut at step
    ``N``, with the nonzero continuation values written beside ``S_N`` and the flipped
    first action in red."""
    d = counterexample.data
    s, N = d["state"], d["step"]
    sc = _planning_scene(agent, s, max(N, 1), {"S_0": s, "A_0": d["flipped"]},
                         {"A_0", f"S_{max(N, 1)}"},
                         f"p  (counterexample: continuation values at step {N})")
    x, y = _node_point(sc, f"S_{max(N, 1)}")
    shown = [(f"{_show(x2)}: {v}", BLUE) for x2, v in d["continuation_values"].items() if v]
    lines = [f"V_{N} (nonzero; all others 0):"] + _notes(shown) if shown else \
        [f"V_{N} = 0 in every state"]
    sc = _with_lines(sc, x + R + 14, y - R, lines)
    return _with_lines(sc, MARGIN, sc.height - MARGIN + 18, [
        (f"in {_show(s)} the planned first action is {d['nominal']!r}; with these values at "
         f"step {N} it is {d['flipped']!r}", RED)])


def dynamics_scene(agent, counterexample) -> Scene:
    """A ``no_incentive(node)`` counterexample: the planning world from the state (two
    steps), the flipped first action in red, the state nodes the node's dynamics drives
    outlined in red, and the changed rows of those dynamics listed under the picture
    (learned -> counterexample)."""
    d = counterexample.data
    s, node = d["state"], d["node"]
    H = agent.horizon if isinstance(agent.horizon, int) else 2
    h = min(H, 2)
    hl = {"A_0"} | {f"S_{t}" for t in range(1, h + 1)}
    sc = _planning_scene(agent, s, h, {"S_0": s, "A_0": d["flipped"]}, hl,
                         f"p  (counterexample: dynamics of {node})")
    parents = d.get("parents", ())
    learned = d.get("learned", {})
    changed = d.get("changed", d["dynamics"])
    lines = [(f"in {_show(s)} the planned action is {d['nominal']!r}; with these rows of "
              f"{node}'s dynamics it is {d['flipped']!r}", RED),
             f"{node}'s dynamics, rows changed from the learned ones (the others as "
             "learned):"]
    rows = []
    for c, row in changed.items():
        where = ", ".join(f"{p}={v!r}" for p, v in zip(parents, c)) or "every step"
        was = f"   (learned: {_row_text(learned[c])})" if c in learned else ""
        rows.append((f"  {where}  ->  {_row_text(row)}{was}", RED))
    return _with_lines(sc, MARGIN, sc.height - MARGIN + 18, lines + _notes(rows))


def structure_scene(agent, counterexample) -> Scene:
    """A structural counterexample: the agent's learning and planning worlds with the
    named node outlined in red (in the world ``data["world"]`` names, else wherever it
    stands; "the planning world" outlines the planning world's actions)."""
    d = counterexample.data
    node, world = d.get("node"), d.get("world")
    lw, pw = learning_sketch(agent, 2), planning_sketch(agent, 2)
    names_l, names_p = {m.name for m in lw.marks}, {m.name for m in pw.marks}
    hl_l = {node} & names_l if world in (None, "learning") else set()
    hl_p = {node} & names_p if world in (None, "planning") else set()
    if not hl_l and not hl_p:
        hl_p = {n for n in names_p if n.startswith("A_")}
    sc = beside(sketch_scene(lw, hl_l), sketch_scene(pw, hl_p))
    text = str(counterexample.text).splitlines()[0]
    return _with_lines(sc, MARGIN, sc.height + 4, [(text, RED)])


def observation_scene(diagram: Diagram, counterexample) -> Scene:
    """An observation :func:`cp.conforms` rules out: the diagram with the observed values
    of the node and its parents, the node whose structural function forbids it in red."""
    d = counterexample.data
    values = {**d.get("parents", {}), d["node"]: d["value"]}
    sc = scene(diagram, values, {d["node"]}, title=f"{diagram.name}  (counterexample: "
                                                 "observation)")
    return _with_lines(sc, MARGIN, sc.height + 4, [(str(counterexample.text), RED)])


def decision_scene(diagram: Diagram, counterexample) -> Scene:
    """A ``no_incentive(X)`` counterexample of an influence diagram: the diagram with the
    decision's information, the decision (its action chosen for its effect on ``X``) and
    ``X`` in red, and what it would choose were ``X`` not to respond."""
    d = counterexample.data
    values = {**d["information"], d["decision"]: d["nominal"]}
    sc = scene(diagram, values, {d["decision"], d["node"]},
               title=f"{diagram.name}  (counterexample: control incentive on {d['node']})")
    return _with_lines(sc, MARGIN, sc.height + 4, [(str(counterexample.text), RED)])


#: The counterexample kinds :func:`counterexample_scene` draws on an agent.
DRAWABLE_KINDS = ("trace", "continuation", "dynamics", "structure")


def counterexample_scene(obj, counterexample) -> Scene:
    """The picture of ``counterexample`` (a :class:`~cpspec.verification.records.Counterexample`
    or a verdict that has one) on ``obj``: an agent for the kinds in
    :data:`DRAWABLE_KINDS`, a diagram for an ``"observation"``. Anything else is a
    :class:`~cpspec.errors.SpecError` naming the kind and what can be drawn."""
    cex = counterexample
    if hasattr(cex, "status") and hasattr(cex, "counterexample"):  # a verdict
        if cex.counterexample is None:
            raise SpecError(f"the verdict is {cex.status!r} and has no counterexample to "
                            "draw; draw a failing verdict, or the agent itself")
        cex = cex.counterexample
    kind, data = getattr(cex, "kind", None), getattr(cex, "data", None)
    if not isinstance(data, dict):
        raise SpecError(f"counterexample= must be a failing verdict or a Counterexample, "
                        f"got {cex!r}")
    if not is_agent(obj):
        if kind == "observation" and isinstance(obj, Diagram):
            return observation_scene(obj, cex)
        if kind == "decision" and isinstance(obj, Diagram):
            return decision_scene(obj, cex)
        raise SpecError(f"a {kind!r} counterexample is drawn on its agent "
                        "(cp.draw(agent, counterexample=...)); only observation and "
                        "decision counterexamples are drawn on a diagram")
    scenes = {"trace": trace_scene, "continuation": continuation_scene,
              "dynamics": dynamics_scene, "structure": structure_scene}
    if kind not in scenes:
        hint = " (draw it on its diagram: cp.draw(diagram, counterexample=...))" \
            if kind == "observation" else ""
        raise SpecError(f"cannot draw a {kind!r} counterexample on an agent{hint}; the "
                        f"kinds drawn on agents are {', '.join(DRAWABLE_KINDS)}")
    return scenes[kind](obj, cex)


def draw(obj: Any, *others: Any, values: Any = None, highlight: set | None = None,
         counterexample=None, summary: bool = False, steps: int = 2) -> Drawing:
    """The picture of a diagram, an agent, or several of them, in the paper's notation.

    Parameters
    ----------
    obj : Diagram, agent or Scene
        A diagram (``values`` written in the nodes, ``highlight`` nodes in red), an agent
        (its learning world over ``steps`` steps and its planning world side by side).
    *others : Diagram or agent
        More of the same kind: drawn with ``obj`` (agents one above the other, diagrams
        side by side), what distinguishes each from the others outlined in orange.
    values : dict or IDSolution, optional
        Node values, or the solution of an influence diagram (``cp.solve(diagram)``):
        each decision's action (its rule when it depends on the information) and the
        optimal expected utility.
    highlight : set of str, optional
        Nodes outlined in red.
    counterexample : Verdict or Counterexample, optional
        Draw it on ``obj`` (see :func:`counterexample_scene`).
    summary : bool
        Fold each time series into one node: the readable picture of a diagram of more
        than :data:`MAX_DRAW_NODES` nodes, which is otherwise refused.
    steps : int
        Learning-world steps drawn for agents.

    Returns
    -------
    Drawing
        The SVG text; shows itself in notebooks and saves to ``.svg`` or ``.png``.

    Examples
    --------
    >>> import cpspec as cp
    >>> from cpspec.examples import dice_world, delayed_reward, stop_button
    >>> pic = cp.draw(dice_world())
    >>> pic.startswith("<svg") and 'data-node="G"' in pic
    True
    >>> fp = cp.agents.FP(delayed_reward())
    >>> "continuation values at step 1" in cp.draw(fp, counterexample=cp.verify(fp, cp.myopic(1)))
    True
    >>> stop = dict(stop_pressed=lambda s: s.button == "pressed", null_action="null")
    >>> both = cp.draw(cp.agents.FP(stop_button()), cp.agents.SI(stop_button(), **stop))
    >>> 'stroke="#d35400"' in both          # SI's interlock, outlined
    True
    """
    if isinstance(obj, Scene):
        return Drawing(obj)
    if others:
        if counterexample is not None or values is not None:
            raise SpecError("draw(a, b, ...) compares pictures; draw a counterexample or "
                            "values on one model at a time")
        every = (obj, *others)
        if all(is_agent(o) for o in every):
            return Drawing(agents_scene(*every, T=steps))
        if all(isinstance(o, Diagram) for o in every):
            return Drawing(_diagrams_scene(*every, summary=summary))
        raise SpecError("draw(a, b, ...) compares agents with agents or diagrams with "
                        "diagrams; got " + ", ".join(type(o).__name__ for o in every))
    if counterexample is not None:
        return Drawing(counterexample_scene(obj, counterexample))
    if is_agent(obj):
        return Drawing(agent_scene(obj, T=steps))
    if not isinstance(obj, Diagram):
        raise SpecError(f"draw needs a diagram or an agent, got {type(obj).__name__}")
    lines: list = []
    if values is not None and not isinstance(values, dict):
        values, lines = _solution_values(obj, values)
    sc = scene(obj, values, highlight, summary=summary)
    return Drawing(_with_lines(sc, MARGIN, sc.height + 4, lines, rich=True) if lines else sc)


def is_agent(obj: Any) -> bool:
    """Whether ``obj`` is an agent of the paper's kind: recognised by what it offers (a
    learning world and a planning world)."""
    return callable(getattr(obj, "learning_world", None)) and \
        callable(getattr(obj, "planning_world", None))


def _display(obj) -> str:
    if callable(getattr(obj, "regions", None)) and hasattr(obj, "box"):
        return picture_of(obj)      # regions over one or two parameters
    try:
        return str(draw(obj))
    except ModelTooLargeError:  # a notebook shows the summary rather than nothing
        return str(draw(obj, summary=True)) if isinstance(obj, Diagram) else None


register_svg(_display)


_SHIFT = {"base": 0.0, "sub": 0.32, "sup": -0.42}


def _svg_text(x, y, s, st) -> str:
    anchor = st.get("anchor", "start")
    size = st.get("size", 12)
    extra = ""
    if st.get("weight"):
        extra += f' font-weight="{st["weight"]}"'
    if st.get("style"):
        extra += f' font-style="{st["style"]}"'
    if st.get("node"):
        extra += f' data-node="{html.escape(st["node"])}"'
    head = (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'fill="{st.get("color", "#111")}"{extra}>')
    if not st.get("rich"):
        return head + html.escape(str(s)) + "</text>"
    body, at = [], 0.0
    for text, where in runs(s):
        shift = _SHIFT[where] * size
        fs = "" if where == "base" else ' font-size="75%"'
        body.append(f'<tspan dy="{shift - at:.1f}"{fs}>{html.escape(text)}</tspan>')
        at = shift
    return head + "".join(body) + "</text>"


def to_svg(sc: Scene) -> str:
    """Render a scene as SVG text."""
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{sc.width:.0f}" '
           f'height="{sc.height:.0f}" viewBox="0 0 {sc.width:.0f} {sc.height:.0f}" '
           'font-family="DejaVu Sans, Helvetica, Arial, sans-serif">',
           '<defs>' + "".join(
               f'<marker id="arrow{i}" viewBox="0 0 10 10" refX="10" refY="5" '
               f'markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path '
               f'd="M 0 0 L 10 5 L 0 10 z" fill="{c}"/></marker>'
               for i, c in enumerate(("#222", ORANGE))) + '</defs>',
           '<rect width="100%" height="100%" fill="white"/>']
    for it in sc.items:
        kind = it[0]
        if kind == "arrow":
            st = it[5]
            color = st.get("color", "#222")
            marker = "url(#arrow1)" if color == ORANGE else "url(#arrow0)"
            x1, y1, x2, y2, via = _trim(*it[1:5], st.get("via"))
            if via is None:
                out.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                           f'stroke="{color}" stroke-width="1.3" marker-end="{marker}"/>')
            else:
                out.append(f'<path d="M {x1:.1f} {y1:.1f} Q {via[0]:.1f} {via[1]:.1f} '
                           f'{x2:.1f} {y2:.1f}" fill="none" stroke="{color}" '
                           f'stroke-width="1.3" marker-end="{marker}"/>')
        elif kind == "line":
            st = it[5]
            dash = "" if st.get("solid") else ' stroke-dasharray="6 4"'
            out.append(f'<line x1="{it[1]:.1f}" y1="{it[2]:.1f}" x2="{it[3]:.1f}" '
                       f'y2="{it[4]:.1f}" stroke="{st.get("color", "#555")}" '
                       f'stroke-width="1.5"{dash}/>')
        elif kind == "text":
            out.append(_svg_text(*it[1:]))
        else:
            _, x, y, st = it
            common = (f'fill="{st["fill"]}" stroke="{st["stroke"]}" '
                      f'stroke-width="{st["width"]}"')
            if st.get("dash"):
                common += ' stroke-dasharray="5 3"'
            if st.get("node"):
                common += f' data-node="{html.escape(st["node"])}"'
            if kind == "circle":
                out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{R}" {common}/>')
            elif kind == "rect":
                out.append(f'<rect x="{x - R:.1f}" y="{y - R:.1f}" width="{2 * R}" '
                           f'height="{2 * R}" {common}/>')
            else:
                d = R + 5
                out.append(f'<polygon points="{x},{y - d} {x + d},{y} {x},{y + d} {x - d},{y}" '
                           f'{common}/>')
    out.append("</svg>")
    return "\n".join(out)


def _trim(x1, y1, x2, y2, via=None, r1=R + 1, r2=R + 4):
    """The arrow's ends moved from the node centres to their rims (along the tangents
    of a bent arrow)."""
    ax, ay = via if via is not None else (x2, y2)
    bx, by = via if via is not None else (x1, y1)
    d1 = max(math.hypot(ax - x1, ay - y1), 1e-9)
    d2 = max(math.hypot(x2 - bx, y2 - by), 1e-9)
    return (x1 + (ax - x1) / d1 * r1, y1 + (ay - y1) / d1 * r1,
            x2 - (x2 - bx) / d2 * r2, y2 - (y2 - by) / d2 * r2, via)


def to_png(sc: Scene, path: str | Path, scale: float = 2.0) -> Path:
    """Render a scene to a PNG file with Pillow (no system binary needed)."""
    from PIL import Image, ImageDraw, ImageFont
    W, H = int(sc.width * scale), int(sc.height * scale)
    img = Image.new("RGB", (W, H), "white")
    g = ImageDraw.Draw(img)
    fonts: dict = {}

    def font(size, bold=False, italic=False):
        key = (size, bold, italic)
        if key not in fonts:
            name = "DejaVuSans" + ("-Bold" if bold else "-Oblique" if italic else "")
            try:
                fonts[key] = ImageFont.truetype(name + ".ttf", max(1, int(size * scale)))
            except OSError:
                fonts[key] = ImageFont.load_default(size=max(1, int(size * scale)))
        return fonts[key]
    s = scale
    for it in sc.items:
        kind = it[0]
        if kind == "arrow":
            st = it[5]
            color = st.get("color", "#222222")
            x1, y1, x2, y2, via = _trim(*it[1:5], st.get("via"))
            if via is None:
                pts = [(x1, y1), (x2, y2)]
            else:
                pts = [_bezier((x1, y1), via, (x2, y2), k / 20) for k in range(21)]
            g.line([(px * s, py * s) for px, py in pts], fill=color,
                   width=max(1, int(1.3 * s)))
            (ax, ay), (bx, by) = pts[-2], pts[-1]
            dist = max(math.hypot(bx - ax, by - ay), 1e-9)
            ux, uy = (bx - ax) / dist, (by - ay) / dist
            L, Wd = 9 * s, 4.5 * s
            X2, Y2 = bx * s, by * s
            g.polygon([(X2, Y2), (X2 - ux * L - uy * Wd, Y2 - uy * L + ux * Wd),
                       (X2 - ux * L + uy * Wd, Y2 - uy * L - ux * Wd)], fill=color)
        elif kind == "line":
            st = it[5]
            x1, y1, x2, y2 = (v * s for v in it[1:5])
            n = 1 if st.get("solid") else max(1, int(math.hypot(x2 - x1, y2 - y1) / (10 * s)))
            for k in range(n):
                a, b = k / n, (k + (1 if st.get("solid") else 0.6)) / n
                g.line([(x1 + (x2 - x1) * a, y1 + (y2 - y1) * a),
                        (x1 + (x2 - x1) * b, y1 + (y2 - y1) * b)],
                       fill=st.get("color", "#555555"), width=max(1, int(1.5 * s)))
        elif kind == "text":
            _, x, y, txt, st = it
            size = st.get("size", 12)
            bold, italic = bool(st.get("weight")), st.get("style") == "italic"
            parts = runs(txt) if st.get("rich") else [(str(txt), "base")]
            widths = [font(size * (1 if w == "base" else 0.75), bold, italic).getlength(t)
                      for t, w in parts]
            cx = x * s - (sum(widths) / 2 if st.get("anchor") == "middle" else 0)
            for (t, w), wd in zip(parts, widths):
                f = font(size * (1 if w == "base" else 0.75), bold, italic)
                g.text((cx, (y + _SHIFT[w] * size) * s), t,
                       fill=st.get("color", "#111111"), font=f, anchor="ls")
                cx += wd
        else:
            _, x, y, st = it
            w = max(1, int(st["width"] * s))
            if kind == "circle":
                g.ellipse([(x - R) * s, (y - R) * s, (x + R) * s, (y + R) * s],
                          fill=st["fill"], outline=st["stroke"], width=w)
            elif kind == "rect":
                g.rectangle([(x - R) * s, (y - R) * s, (x + R) * s, (y + R) * s],
                            fill=st["fill"], outline=st["stroke"], width=w)
            else:
                d = R + 5
                g.polygon([(x * s, (y - d) * s), ((x + d) * s, y * s), (x * s, (y + d) * s),
                           ((x - d) * s, y * s)], fill=st["fill"], outline=st["stroke"],
                          width=w)
    path = Path(path)
    img.save(path)
    return path
