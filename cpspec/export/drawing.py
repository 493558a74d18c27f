"""Pictures in the paper's notation: SVG text (pure Python) and PNG (Pillow).

Chance nodes are round, decision nodes square, utility nodes diamonds. The structural
function's name is written above each node, in brackets when it is nondeterministic
(``[S]``); the diagram's name stands in its upper-left corner. Time series (``S_0, A_0,
S_1, ...``) are laid out left to right, one row per series; other diagrams by depth.
An agent is drawn as its learning world and its planning world side by side; a
counterexample trace as the learning world with the trace's values in the nodes and the
violating step highlighted.

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
from ..core.display import register_svg
from ..errors import SpecError

__all__ = ["Scene", "scene", "draw", "to_svg", "to_png", "agent_scene", "trace_scene"]

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
    items: list = [("text", 10, 22, title or d.name, {"weight": "bold", "size": 16})]
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
    return beside(scene(lw, title=f"l  ({agent.kind}: learning world)"),
                  scene(pw, title=f"p  (planning world from {_short(s0)})"))


def trace_scene(agent, counterexample) -> Scene:
    """A counterexample trace: the learning world with the trace's values, the violating
    step in red."""
    data = counterexample.data
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


def draw(obj: Any, values: dict | None = None, highlight: set | None = None,
         counterexample=None) -> str:
    """SVG text of a diagram (optionally with ``values`` in the nodes and ``highlight``
    nodes in red), of an agent (learning and planning world side by side), or of an
    agent's ``counterexample`` trace (a :class:`~cpspec.verification.records.Counterexample` or a
    failing verdict).

    Examples
    --------
    >>> import cpspec as cp
    >>> from cpspec.examples import dice_world
    >>> svg = cp.draw(dice_world())
    >>> svg.startswith("<svg") and "[f_G]" in svg and ">f<" in svg
    True
    """
    if isinstance(obj, Scene):
        return to_svg(obj)
    if is_agent(obj):
        if counterexample is not None:
            cex = getattr(counterexample, "counterexample", counterexample)
            if cex is None or "states" not in cex.data:
                raise SpecError("only trace counterexamples can be drawn on the learning "
                                "world")
            return to_svg(trace_scene(obj, cex))
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
