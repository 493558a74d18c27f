"""Pictures in the paper's notation: SVG text (pure Python) and PNG (Pillow).

Chance nodes are round, decision nodes square, utility nodes diamonds. The structural
function's name is written above each node, in brackets when it is nondeterministic
(``[S]``); the diagram's name stands in its upper-left corner. Time series (``S_0, A_0,
S_1, ...``) are laid out left to right, one row per series; other diagrams by depth.
An agent is drawn as its learning world and its planning world side by side. Each kind
of counterexample has its picture (:func:`counterexample_scene`): a trace as the
learning world with the trace's values and the violating step highlighted; a
``myopic`` continuation as the planning world cut at step ``N``, with the nonzero
continuation values beside ``S_N`` and the flipped first action highlighted; a
``no_incentive`` dynamics counterexample as the planning world with the changed rows of
the node's dynamics listed under it and the state nodes they drive highlighted; a
structural one as the agent's two worlds with the named node highlighted; an
observation as its diagram with the observed values and the forbidding node.

A picture is first a small scene (shapes with coordinates), rendered either to SVG or to
PNG, so both show the same thing.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.diagram import Diagram
from ..decisions.mdp import influence_diagram
from ..core.display import register_svg
from ..errors import SpecError

__all__ = ["Scene", "scene", "draw", "to_svg", "to_png", "agent_scene", "trace_scene",
           "continuation_scene", "dynamics_scene", "structure_scene", "observation_scene",
           "counterexample_scene", "DRAWABLE_KINDS", "MAX_NOTE_LINES"]

R = 24            # node radius
DX, DY = 110, 95  # grid spacing
MARGIN = 30
TOP = 46          # room for the title


@dataclass(frozen=True)
class Scene:
    """Shapes to draw (immutable): ``("circle"|"rect"|"diamond", x, y, style)``,
    ``("text", x, y, s, style)``, ``("arrow", x1, y1, x2, y2, style)``."""

    width: float
    height: float
    items: tuple = ()

    def shifted(self, dx: float, dy: float) -> list:
        out = []
        for it in self.items:
            kind = it[0]
            if kind == "arrow":
                out.append((kind, it[1] + dx, it[2] + dy, it[3] + dx, it[4] + dy, it[5]))
            elif kind == "text":
                out.append((kind, it[1] + dx, it[2] + dy, it[3], it[4]))
            else:
                out.append((kind, it[1] + dx, it[2] + dy, it[3]))
        return out

    def _repr_svg_(self) -> str:
        return to_svg(self)


_SERIES = re.compile(r"^(.*)_(\d+)$")


def _layout(d: Diagram) -> dict[str, tuple[float, float]]:
    series: dict[str, dict[int, str]] = {}
    for n in d.order:
        m = _SERIES.match(n)
        if m:
            series.setdefault(m.group(1), {})[int(m.group(2))] = n
    if {"S", "C", "T", "tau", "U"} <= set(series) and len(series) == 5:
        return _chunk_layout(series)
    timed = {n for s in series.values() for n in s.values()}
    if timed and len(timed) >= len(d.order) // 2 and any(len(s) > 1 for s in series.values()):
        top = max(max(s) for s in series.values())
        # state series first, then actions, rewards, records (the paper's reading order)
        rank = {"A": 1, "R": 2, "O": 3}
        rows = sorted(series, key=lambda k: (rank.get(k, 0), list(series).index(k)))
        pos = {}
        for r, name in enumerate(rows):
            half = 0.5 if max(series[name]) < top else 0.0   # actions/rewards between states
            for t, n in series[name].items():
                pos[n] = (t + half, r)
        extra = [n for n in d.order if n not in pos]
        for i, n in enumerate(extra):
            pos[n] = (-1, i)
        return pos
    depth: dict[str, int] = {}
    for n in d.order:
        depth[n] = 1 + max((depth[p] for p in d.parents(n)), default=-1)
    rows: dict[int, int] = {}
    pos = {}
    for n in d.order:
        k = depth[n]
        pos[n] = (k, rows.get(k, 0))
        rows[k] = rows.get(k, 0) + 1
    return pos


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


def scene(d: Diagram, values: dict | None = None, highlight: set | None = None,
          title: str | None = None) -> Scene:
    """The scene of a diagram; ``values`` (node -> value) are written in the nodes and
    ``highlight`` nodes are outlined in red."""
    if not isinstance(d, Diagram):
        raise SpecError(f"draw needs a diagram, got {d!r}")
    values = values or {}
    highlight = highlight or set()
    grid = _layout(d)
    minx = min(x for x, _ in grid.values())
    pts = {n: (MARGIN + R + (x - minx) * DX, TOP + R + 14 + y * DY) for n, (x, y) in grid.items()}
    width = max(x for x, _ in pts.values()) + R + MARGIN + 20
    height = max(y for _, y in pts.values()) + R + MARGIN + (14 if values else 0)
    title = title or d.name
    width = max(width, 10 + 0.62 * 16 * len(title) + MARGIN)  # bold: wider letters
    items: list = [("text", 10, 22, title, {"weight": "bold", "size": 16})]
    for n in d.order:
        for p in d.parents(n):
            (x1, y1), (x2, y2) = pts[p], pts[n]
            items.append(("arrow", x1, y1, x2, y2, {}))
    for n in d.order:
        node = d.node(n)
        x, y = pts[n]
        style = {"stroke": "#c0392b" if n in highlight else "#222",
                 "width": 3 if n in highlight else 1.5,
                 "fill": "#fdecea" if n in highlight else "#fff"}
        shape = {"chance": "circle", "decision": "rect", "utility": "diamond"}[node.kind]
        items.append((shape, x, y, style))
        items.append(("text", x, y + 4 if n not in values else y - 3, n, {"size": 12,
                                                                          "anchor": "middle"}))
        if n in values:
            items.append(("text", x, y + 12, _short(values[n]), {"size": 10, "anchor": "middle",
                                                                 "color": "#1a5276"}))
        f = node.function
        label = f.label or f"f_{n}"
        if node.kind == "decision":
            label = f.label or "pi"
        elif f.random:
            label = f"[{label}]"
        elif f.label is None and f.values is not None and len(f.values) == 1:
            label = _short(f.values[0])  # a constant: the paper writes its value
        # above the node, as in the paper; moved aside when an arrow comes from straight above
        from_above = any(abs(pts[p][0] - x) < 1 and pts[p][1] < y for p in node.parents)
        if from_above:
            items.append(("text", x + 0.6 * R, y - R - 8, label,
                          {"size": 11, "anchor": "start", "style": "italic", "color": "#555"}))
        else:
            items.append(("text", x, y - R - 7, label,
                          {"size": 11, "anchor": "middle", "style": "italic", "color": "#555"}))
    return Scene(width, height, tuple(items))


def _short(v) -> str:
    if hasattr(v, "items") and not isinstance(v, dict):
        v = ",".join(str(x) for x in dict(v).values())
    s = str(v)
    return s if len(s) <= 14 else s[:13] + "…"


def beside(*scenes: Scene, gap: float = 40) -> Scene:
    """Scenes side by side (learning world, planning world)."""
    items: list = []
    x, height = 0.0, 0.0
    for sc in scenes:
        items += sc.shifted(x, 0)
        x += sc.width + gap
        height = max(height, sc.height)
    return Scene(x - gap, height, tuple(items))


def agent_scene(agent, T: int = 2, planning_horizon: int = 2) -> Scene:
    """An agent's learning world (``T`` steps) and its planning world, side by side."""
    s0 = next(iter(agent.env.mu0))
    lw = agent.learning_world(T)
    pw = agent.planning_world(agent.o0, s0, horizon=planning_horizon)
    title = f"p  (planning world from {_short(s0)})"
    if getattr(agent, "chunks", None) is not None:
        title = f"p  (chunk planning world from {_short(s0)}, N = {agent.horizon})"
    return beside(scene(lw, title=f"l  ({agent.kind}: learning world)"), scene(pw, title=title))


def trace_scene(agent, counterexample) -> Scene:
    """A counterexample trace: the learning world with the trace's values, the violating
    step in red. A trace from :func:`cp.conforms` (one step: ``step``, ``state`` and
    the ``action`` or ``next`` state the agent or the environment rules out) is drawn up
    to that step."""
    data = counterexample.data
    if "states" not in data:  # cp.conforms: the one step that deviates
        t = data["step"]
        lw = agent.learning_world(t + 1)
        values = {f"S_{t}": data["state"]}
        if "action" in data:
            values[f"A_{t}"] = data["action"]
        if "next" in data:
            values[f"S_{t + 1}"] = data["next"]
        hl = {f"S_{t + 1}"} if "next" in data else ({f"A_{t}"} if "action" in data
                                                     else {f"S_{t}"})
        sc = scene(lw, values, hl, title=f"l  (counterexample: {counterexample.kind})")
        return _with_lines(sc, MARGIN, sc.height + 4,
                           [(line.strip(), RED) for line in str(counterexample).splitlines()])
    states, acts = data["states"], data["actions"]
    T = len(acts)
    lw = agent.learning_world(T)
    values = {f"S_{t}": s for t, s in enumerate(states)}
    values.update({f"A_{t}": a for t, a in enumerate(acts)})
    values.update({f"R_{t}": agent.learning_reward(states[t], acts[t], states[t + 1])
                   for t in range(T)})
    bad = data.get("violation_at")
    hl = {f"A_{bad}"} if bad is not None and bad < T else ({f"S_{T}"} if T else {"S_0"})
    return scene(lw, values, hl, title=f"l  (counterexample: {counterexample.kind})")


#: Longest list of values or rows written beside a counterexample picture; the rest is
#: counted in one more line.
MAX_NOTE_LINES = 12

RED, BLUE = "#c0392b", "#1a5276"


def _notes(lines: list) -> list:
    if len(lines) <= MAX_NOTE_LINES:
        return lines
    rest = len(lines) - MAX_NOTE_LINES + 1
    return lines[:MAX_NOTE_LINES - 1] + [(f"... and {rest} more", "#555")]


def _text_width(s: str, size: float) -> float:
    return 0.56 * size * len(s)  # DejaVu Sans: about 0.55 em per character


def _with_lines(sc: Scene, x: float, y: float, lines: list, size: float = 11) -> Scene:
    """``sc`` with text ``lines`` (a string, or ``(string, color)``) from ``(x, y)`` down,
    grown to hold them."""
    items = list(sc.items)
    width, height = sc.width, sc.height
    for i, line in enumerate(lines):
        text, color = (line, "#111") if isinstance(line, str) else line
        yy = y + i * (size + 5)
        items.append(("text", x, yy, text, {"size": size, "anchor": "start",
                                            "color": color}))
        width = max(width, x + _text_width(text, size) + MARGIN)
        height = max(height, yy + MARGIN)
    return Scene(width, height, tuple(items))


def _node_point(sc: Scene, name: str) -> tuple:
    """Where node ``name`` stands in a scene (its label's anchor)."""
    for it in sc.items:
        if it[0] == "text" and it[3] == name and it[4].get("anchor") == "middle" \
                and it[4].get("size") == 12:
            return it[1], it[2]
    raise SpecError(f"the picture has no node {name!r}")


def _show(v) -> str:
    if hasattr(v, "items") and not isinstance(v, dict):  # a factored state
        return "(" + ", ".join(f"{k}={x!r}" for k, x in dict(v).items()) + ")"
    return repr(v) if isinstance(v, str) else str(v)


def _row_text(row) -> str:
    return ", ".join(f"{v!r}: {p}" for v, p in row.items())


def continuation_scene(agent, counterexample) -> Scene:
    """A ``myopic(N)`` counterexample: the planning world from the state, cut at step
    ``N``, with the nonzero continuation values written beside ``S_N`` and the flipped
    first action in red."""
    d = counterexample.data
    s, N = d["state"], d["step"]
    pw = influence_diagram(agent.planning_mdp(agent.o0, s), max(N, 1), name="p")
    values = {"S_0": s, "A_0": d["flipped"]}
    sc = scene(pw, values, {"A_0", f"S_{max(N, 1)}"},
               title=f"p  (counterexample: continuation values at step {N})")
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
    pw = influence_diagram(agent.planning_mdp(agent.o0, s), h, name="p")
    hl = {"A_0"} | {f"S_{t}" for t in range(1, h + 1)}
    sc = scene(pw, {"S_0": s, "A_0": d["flipped"]}, hl,
               title=f"p  (counterexample: dynamics of {node})")
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
    s0 = next(iter(agent.env.mu0))
    lw = agent.learning_world(2)
    pw = agent.planning_world(agent.o0, s0, horizon=2)
    hl_l = {node} & set(lw.order) if world in (None, "learning") else set()
    hl_p = {node} & set(pw.order) if world in (None, "planning") else set()
    if not hl_l and not hl_p:
        hl_p = {n for n in pw.order if n.startswith("A_")}
    sc = beside(scene(lw, None, hl_l, title=f"l  ({agent.kind}: learning world)"),
                scene(pw, None, hl_p, title=f"p  (planning world from {_short(s0)})"))
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
        raise SpecError(f"a {kind!r} counterexample is drawn on its agent "
                        "(cp.draw(agent, counterexample=...)); only an observation "
                        "counterexample is drawn on a diagram")
    scenes = {"trace": trace_scene, "continuation": continuation_scene,
              "dynamics": dynamics_scene, "structure": structure_scene}
    if kind not in scenes:
        hint = " (draw it on its diagram: cp.draw(diagram, counterexample=...))" \
            if kind == "observation" else ""
        raise SpecError(f"cannot draw a {kind!r} counterexample on an agent{hint}; the "
                        f"kinds drawn on agents are {', '.join(DRAWABLE_KINDS)}")
    return scenes[kind](obj, cex)


def draw(obj: Any, values: dict | None = None, highlight: set | None = None,
         counterexample=None) -> str:
    """SVG text of a diagram (optionally with ``values`` in the nodes and ``highlight``
    nodes in red), of an agent (learning and planning world side by side), or of a
    ``counterexample`` (a :class:`~cpspec.verification.records.Counterexample` or a
    failing verdict) on its agent or diagram: see :func:`counterexample_scene`.

    Examples
    --------
    >>> import cpspec as cp
    >>> from cpspec.examples import dice_world, delayed_reward
    >>> svg = cp.draw(dice_world())
    >>> svg.startswith("<svg") and "[f_G]" in svg and ">f<" in svg
    True
    >>> fp = cp.agents.FP(delayed_reward())
    >>> svg = cp.draw(fp, counterexample=cp.verify(fp, cp.myopic(1)))
    >>> "continuation values at step 1" in svg
    True
    """
    if isinstance(obj, Scene):
        return to_svg(obj)
    if counterexample is not None:
        return to_svg(counterexample_scene(obj, counterexample))
    if is_agent(obj):
        return to_svg(agent_scene(obj))
    return to_svg(scene(obj, values, highlight))


def is_agent(obj: Any) -> bool:
    """Whether ``obj`` is an agent of the paper's kind: recognised by what it offers (a
    learning world and a planning world), so that drawing needs no agent module."""
    return callable(getattr(obj, "learning_world", None)) and \
        callable(getattr(obj, "planning_world", None))


register_svg(lambda obj: draw(obj))


def to_svg(sc: Scene) -> str:
    """Render a scene as SVG text."""
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{sc.width:.0f}" '
           f'height="{sc.height:.0f}" viewBox="0 0 {sc.width:.0f} {sc.height:.0f}" '
           'font-family="DejaVu Sans, Helvetica, Arial, sans-serif">',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
           'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
           'fill="#222"/></marker></defs>',
           '<rect width="100%" height="100%" fill="white"/>']
    for it in sc.items:
        kind = it[0]
        if kind == "arrow":
            x1, y1, x2, y2 = _trim(*it[1:5])
            out.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                       'stroke="#222" stroke-width="1.3" marker-end="url(#arrow)"/>')
        elif kind == "text":
            _, x, y, s, st = it
            anchor = st.get("anchor", "start")
            extra = ""
            if st.get("weight"):
                extra += f' font-weight="{st["weight"]}"'
            if st.get("style"):
                extra += f' font-style="{st["style"]}"'
            out.append(f'<text x="{x:.1f}" y="{y:.1f}" font-size="{st.get("size", 12)}" '
                       f'text-anchor="{anchor}" fill="{st.get("color", "#111")}"{extra}>'
                       f'{html.escape(str(s))}</text>')
        else:
            _, x, y, st = it
            common = (f'fill="{st["fill"]}" stroke="{st["stroke"]}" '
                      f'stroke-width="{st["width"]}"')
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


def _trim(x1, y1, x2, y2, r1=R + 1, r2=R + 4):
    dx, dy = x2 - x1, y2 - y1
    dist = max((dx * dx + dy * dy) ** 0.5, 1e-9)
    ux, uy = dx / dist, dy / dist
    return x1 + ux * r1, y1 + uy * r1, x2 - ux * r2, y2 - uy * r2


def to_png(sc: Scene, path: str | Path, scale: float = 2.0) -> Path:
    """Render a scene to a PNG file with Pillow (no system binary needed)."""
    from PIL import Image, ImageDraw, ImageFont
    W, H = int(sc.width * scale), int(sc.height * scale)
    img = Image.new("RGB", (W, H), "white")
    g = ImageDraw.Draw(img)

    def font(size, bold=False):
        name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
        try:
            return ImageFont.truetype(name, int(size * scale))
        except OSError:
            return ImageFont.load_default(size=int(size * scale))
    s = scale
    for it in sc.items:
        kind = it[0]
        if kind == "arrow":
            x1, y1, x2, y2 = (v * s for v in _trim(*it[1:5]))
            g.line([(x1, y1), (x2, y2)], fill="#222222", width=max(1, int(1.3 * s)))
            dx, dy = x2 - x1, y2 - y1
            dist = max((dx * dx + dy * dy) ** 0.5, 1e-9)
            ux, uy = dx / dist, dy / dist
            L, Wd = 9 * s, 4.5 * s
            g.polygon([(x2, y2), (x2 - ux * L - uy * Wd, y2 - uy * L + ux * Wd),
                       (x2 - ux * L + uy * Wd, y2 - uy * L - ux * Wd)], fill="#222222")
        elif kind == "text":
            _, x, y, txt, st = it
            f = font(st.get("size", 12), bool(st.get("weight")))
            anchor = {"middle": "ms", "start": "ls"}.get(st.get("anchor", "start"), "ls")
            g.text((x * s, y * s), str(txt), fill=st.get("color", "#111111"), font=f,
                   anchor=anchor)
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
