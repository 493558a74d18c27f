"""Pictures of parameter regions: a 2-D region plot and a 1-D strip (SVG or PNG).

The regions' answers fill the plane (each small cell coloured by the region whose exact
condition holds at its centre), the boundaries are drawn as curves where a polynomial of
the conditions vanishes (its real roots traced along the horizontal axis), and each
region is labelled with its answer at its sample point. The picture is for reading; the
exact answer is the regions' conditions.
"""

from __future__ import annotations

import re
from html import escape, unescape
from pathlib import Path
from typing import Sequence

import numpy as np
import sympy

from ..core.partition import ParameterRegion, RegionSolution, parameter_ranges
from ..errors import ParameterError, SpecError

__all__ = ["region_picture", "save_picture", "box_ranges", "picture_of"]

_COLOURS = ["#cfe3f7", "#f8d9c4", "#d4eccf", "#eadcf2", "#f6efbf", "#d9d9d9", "#f4cfd9"]


def _polys(cond) -> set:
    """The irreducible polynomials whose signs the condition reads (a product such as
    ``(2p - 1)(2q - 1)`` is traced factor by factor, so each of its lines is drawn)."""
    out = set()
    for rel in cond.atoms(sympy.core.relational.Relational):
        e = sympy.expand(rel.lhs - rel.rhs)
        if e.free_symbols:
            out.update(f for f, _ in sympy.factor_list(e)[1] if f.free_symbols)
    return out


#: Answers longer than this many characters are numbered in their regions and written
#: out in a legend under the picture.
LABEL_CHARS = 24


def _label(answer) -> str:
    """A region's label: its answer (None: an enclosure's undecided boxes)."""
    return "undecided" if answer is None else str(answer)


def _with_area(cond):
    """The condition with its equations false and its inequations true: the part of
    the region with area, which is what a cell's centre can show."""
    rels = cond.atoms(sympy.Equality, sympy.Unequality)
    return cond.xreplace({r: sympy.false if isinstance(r, sympy.Equality) else sympy.true
                          for r in rels})


def _on_curves(cond) -> tuple:
    """For a region that is (part of) a curve - its condition requires an equation
    ``f = 0`` - the polynomials ``f`` and the condition with those equations taken as
    true (to be read at floating points on the curve); else ``((), None)``."""
    conj = sympy.And.make_args(cond)
    eqs = [c for c in conj if isinstance(c, sympy.Equality)]
    if not eqs:
        return (), None
    rest = sympy.And(*[c for c in conj if not isinstance(c, sympy.Equality)])
    return tuple(sympy.expand(c.lhs - c.rhs) for c in eqs), rest


def region_picture(regions: Sequence[ParameterRegion], params: Sequence[sympy.Symbol],
                   ranges: dict, title: str = "", size: int = 360, cells: int = 90) -> str:
    """An SVG picture of regions over one parameter (a strip) or two (a plane).

    ``ranges`` maps each parameter to ``(low, high)`` (exact numbers). Returns SVG text.

    Examples
    --------
    >>> import sympy
    >>> from cpspec.core.partition import ParameterRegion
    >>> p, q = sympy.symbols("p q")
    >>> regs = [ParameterRegion(q > p, "wait", {p: 0, q: 1}),
    ...         ParameterRegion(q <= p, "act", {p: 1, q: 0})]
    >>> svg = region_picture(regs, [p, q], {p: (0, 1), q: (0, 1)})
    >>> svg.startswith("<svg") and "wait" in svg and "polyline" in svg
    True
    """
    params = list(params)
    if len(params) not in (1, 2):
        raise SpecError(f"region pictures show one or two parameters; got {len(params)} "
                        f"({', '.join(map(str, params))}): bind the others first")
    # cells are coloured by the regions with area: an equation never holds at a float
    # point except by accident (regions on curves are drawn as curves)
    funcs = [sympy.lambdify(params, _with_area(r.condition), "numpy") for r in regions]
    (x0, x1) = (float(v) for v in ranges[params[0]])
    pad, W = 50, size
    H = size if len(params) == 2 else 40
    (y0, y1) = (float(v) for v in ranges[params[1]]) if len(params) == 2 else (0.0, 1.0)
    items = []

    def px(x):
        return pad + (x - x0) / (x1 - x0) * W

    def py(y):
        return pad + H - (y - y0) / (y1 - y0) * H if len(params) == 2 else pad
    rows = cells if len(params) == 2 else 1
    xs = x0 + (np.arange(cells) + 0.5) * (x1 - x0) / cells
    ys = y0 + (np.arange(rows) + 0.5) * (y1 - y0) / rows
    def which(xv, yv):
        args = (xv, yv) if len(params) == 2 else (xv,)
        return next((k for k, f in enumerate(funcs) if bool(f(*args))), None)
    where: dict = {}     # region -> its cells (i, j)
    for j, yv in enumerate(ys):
        for i, xv in enumerate(xs):
            k = which(xv, yv)
            if k is None:
                continue
            where.setdefault(k, []).append((i, j))
            cy = py(yv) - H / rows / 2 if len(params) == 2 else pad
            items.append(f'<rect x="{px(xv) - W / cells / 2:.2f}" y="{cy:.2f}" '
                         f'width="{W / cells + 0.3:.2f}" height="{H / rows + 0.3:.2f}" '
                         f'fill="{_COLOURS[k % len(_COLOURS)]}"/>')
    polys = set().union(*(_polys(r.condition) for r in regions)) if regions else set()
    for e in sorted(polys, key=str):
        items += _curve(e, params, (x0, x1), (y0, y1), px, py, H, which)
    labels = []
    # answers too long to write in a region (a value's formula) are numbered there and
    # written out in a legend below the picture
    names = [_label(r.answer) for r in regions]
    legend = any(len(n) > LABEL_CHARS for n in names)
    if legend:
        names = [str(k + 1) for k in range(len(regions))]
    for k, r in enumerate(regions):
        if k in where:   # each part of the region labelled at its deepest cell
            for (i, j) in _label_cells(where[k], cells, rows):
                x = float(xs[i])
                y = py(float(ys[j])) + 4 if len(params) == 2 else pad + 25
                labels.append((px(x), y, "middle", names[k]))
            continue
        # a region without area: a curve (or a point); drawn in colour and labelled
        # beside its sample point
        curve, mark = _region_curve(r, params, (x0, x1), (y0, y1), px, py, H)
        items += curve
        if mark is not None:
            labels.append((mark[0] + 6, mark[1] - 6, "start", names[k]))
    w, h = W + 2 * pad, H + 2 * pad
    if legend:
        width = int(w / 7) - 4           # characters of 12 px sans-serif that fit
        for k, r in enumerate(regions):
            text = f"{k + 1}: {_label(r.answer)}"
            labels.append((8, h + 16 * k, "start",
                           text if len(text) <= width else text[:width - 3] + "..."))
        h += 16 * len(regions)
    for x, y, anchor, text in labels:
        items.append(f'<text x="{x:.1f}" y="{y:.1f}" font-family="sans-serif" '
                     f'font-size="12" text-anchor="{anchor}">{escape(text)}</text>')
    axes = [f'<rect x="{pad}" y="{pad}" width="{W}" height="{H}" fill="none" stroke="#222"/>',
            f'<text x="{pad + W / 2}" y="{pad + H + 35}" font-family="sans-serif" '
            f'font-size="13" text-anchor="middle">{escape(str(params[0]))}</text>',
            f'<text x="{pad}" y="{pad + H + 18}" font-family="sans-serif" font-size="11" '
            f'text-anchor="middle">{escape(str(ranges[params[0]][0]))}</text>',
            f'<text x="{pad + W}" y="{pad + H + 18}" font-family="sans-serif" font-size="11" '
            f'text-anchor="middle">{escape(str(ranges[params[0]][1]))}</text>',
            f'<text x="{pad + W / 2}" y="25" font-family="sans-serif" font-size="14" '
            f'text-anchor="middle">{escape(title)}</text>']
    if len(params) == 2:
        # the vertical axis's name above its top end, where a long name fits
        axes += [f'<text x="{pad}" y="{pad - 10}" font-family="sans-serif" font-size="13" '
                 f'text-anchor="middle">{escape(str(params[1]))}</text>',
                 f'<text x="{pad - 8}" y="{pad + H}" font-family="sans-serif" font-size="11" '
                 f'text-anchor="end">{escape(str(ranges[params[1]][0]))}</text>',
                 f'<text x="{pad - 8}" y="{pad + 10}" font-family="sans-serif" '
                 f'font-size="11" text-anchor="end">{escape(str(ranges[params[1]][1]))}'
                 '</text>']
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
            f'viewBox="0 0 {w} {h}"><rect width="{w}" height="{h}" fill="white"/>'
            + "".join(items) + "".join(axes) + "</svg>")


def _label_cells(cells_of: list, nx: int, ny: int) -> list:
    """One cell per connected part of a region (4-neighbours on the cell grid), the one
    farthest from the part's edge, for its label; parts too small to hold a label are
    left out unless the region has no other."""
    own = set(cells_of)
    parts, seen = [], set()
    for c in cells_of:
        if c in seen:
            continue
        seen.add(c)
        part, todo = [], [c]
        while todo:
            i, j = todo.pop()
            part.append((i, j))
            for n in ((i + 1, j), (i - 1, j), (i, j + 1), (i, j - 1)):
                if n in own and n not in seen:
                    seen.add(n)
                    todo.append(n)
        parts.append(part)
    parts.sort(key=len, reverse=True)
    big = [pt for pt in parts if len(pt) >= max(6, nx * ny // 200)] or parts[:1]
    out = []
    for part in big:
        inside = set(part)
        # distance (in cells) to the nearest cell outside the part or the picture's edge
        depth, frontier = {}, []
        for (i, j) in part:
            if any(n not in inside for n in ((i + 1, j), (i - 1, j), (i, j + 1), (i, j - 1))):
                depth[(i, j)] = 0
                frontier.append((i, j))
        while frontier:
            nxt = []
            for (i, j) in frontier:
                for n in ((i + 1, j), (i - 1, j), (i, j + 1), (i, j - 1)):
                    if n in inside and n not in depth:
                        depth[n] = depth[(i, j)] + 1
                        nxt.append(n)
            frontier = nxt
        ci = sum(i for i, _ in part) / len(part)
        cj = sum(j for _, j in part) / len(part)
        # deepest first; among equally deep cells the one nearest the part's middle
        out.append(max(part, key=lambda c: (depth.get(c, 0), -abs(c[0] - ci) - abs(c[1] - cj))))
    return out


def _region_curve(r, params, xr, yr, px, py, H) -> tuple:
    """The polylines of a region without area (in colour) and where to label it."""
    mark = None
    if r.sample:
        try:
            v = [float(r.sample[x]) for x in params]
            mark = (px(v[0]), py(v[1]) if len(params) == 2 else py(0) + H / 2)
        except (KeyError, TypeError, ValueError):
            mark = None
    if len(params) == 1:
        return [], mark
    eqs, rest = _on_curves(r.condition)
    if not eqs:
        return [], mark
    holds = sympy.lambdify(params, rest, "numpy")
    out = []
    for e in eqs:
        for branch in _zero_set(e, params, xr, yr):
            pts = [pt if pt is not None and bool(holds(*pt)) else None for pt in branch]
            out += _polylines(pts, px, py, colour="#c0392b", width=2.4)
            if mark is None:
                on = [pt for pt in pts if pt is not None]
                if on:
                    mid = on[len(on) // 2]
                    mark = (px(mid[0]), py(mid[1]))
    return out, mark


def _zero_set(e, params, xr, yr) -> list:
    """Where the polynomial ``e`` vanishes in the picture: branches of points sampled
    along the horizontal axis (``None`` where a branch leaves the picture), or a
    vertical line for a polynomial in the horizontal parameter alone."""
    x, y = params
    if y not in e.free_symbols:
        return [[(float(root), float(yv)) for yv in np.linspace(yr[0], yr[1], 241)]
                for root in sympy.Poly(e, x).real_roots() if xr[0] <= float(root) <= xr[1]]
    poly = sympy.Poly(e, y)
    coeffs = [sympy.lambdify(x, c, "numpy") for c in poly.all_coeffs()]
    branches: list[list] = []
    xs = np.linspace(xr[0], xr[1], 241)
    for n, xv in enumerate(xs):
        cs = [float(c(xv)) for c in coeffs]
        while cs and abs(cs[0]) < 1e-12:
            cs = cs[1:]
        roots = sorted(r.real for r in np.roots(cs) if abs(r.imag) < 1e-9) if len(cs) > 1 \
            else []
        roots = [r for r in roots if yr[0] - 1e-9 <= r <= yr[1] + 1e-9]
        while len(branches) < len(roots):
            branches.append([None] * n)
        for k in range(len(branches)):
            branches[k].append((float(xv), float(roots[k])) if k < len(roots) else None)
    return branches


def _polylines(points: list, px, py, colour: str = "#222", width: float = 1.6,
               shortest: int = 2) -> list:
    """SVG polylines through the runs of at least ``shortest`` points between ``None``s."""
    out, seg = [], []
    for pt in list(points) + [None]:
        if pt is not None:
            seg.append(pt)
            continue
        if len(seg) >= shortest:
            out.append('<polyline points="' + " ".join(
                f"{px(a):.2f},{py(b):.2f}" for a, b in seg)
                + f'" stroke="{colour}" stroke-width="{width}" fill="none"/>')
        seg = []
    return out


def _curve(e, params, xr, yr, px, py, H, which) -> list:
    """Polylines where ``e`` vanishes inside the picture and separates two regions."""
    out = []
    if len(params) == 1:
        for root in sympy.Poly(e, params[0]).real_roots():
            v = float(root)
            if xr[0] <= v <= xr[1]:
                out.append(f'<polyline points="{px(v):.2f},{py(0) - 2:.2f} {px(v):.2f},'
                           f'{py(0) + H + 2:.2f}" stroke="#222" stroke-width="2" fill="none"/>')
        return out
    dx, dy = (xr[1] - xr[0]) / 200, (yr[1] - yr[0]) / 200

    def separates(pt) -> bool:
        a, b = pt
        return which(a, b + dy) != which(a, b - dy) or which(a + dx, b) != which(a - dx, b)
    for branch in _zero_set(e, params, xr, yr):
        # a run of one or two samples is where another curve crosses, not a boundary
        out += _polylines([pt if pt is not None and separates(pt) else None
                           for pt in branch], px, py, shortest=3)
    return out


def picture_of(obj) -> str | None:
    """The region picture of a solution or synthesis over one or two parameters (what a
    notebook shows): a :class:`~cpspec.core.partition.RegionSolution`'s regions numbered
    as in its table, a synthesis's labelled *holds* / *fails* / *unknown*; None when
    there is nothing to draw (more parameters, or a box without finite ranges).

    >>> import sympy, cpspec as cp
    >>> p, q = sympy.symbols("p q")
    >>> w = cp.world("w", A=cp.decision(["x", "y"]),
    ...              U=cp.utility(lambda A: p if A == "x" else q))
    >>> sol = cp.solve(w, domain={p: sympy.Interval(0, 1), q: sympy.Interval(0, 1)})
    >>> svg = picture_of(sol)
    >>> ">1<" in svg and ">2<" in svg
    True
    """
    params = list(getattr(obj, "parameters", ()))
    box = getattr(obj, "box", None)
    if len(params) not in (1, 2) or box is None or not callable(getattr(obj, "regions", None)):
        return None
    regs = obj.regions()
    if isinstance(obj, RegionSolution):
        regs = [ParameterRegion(r.condition, str(i + 1), r.sample, r.samples)
                for i, r in enumerate(regs)]
    try:
        ranges = box_ranges(params, box)
    except SpecError:
        return None
    return region_picture(regs, params, ranges, title=str(getattr(obj, "property", "")))


def box_ranges(params: Sequence[sympy.Symbol], box) -> dict:
    """``{x: (low, high)}``: the extent of each parameter in a box (a SymPy Boolean), for
    :func:`region_picture`.

    >>> import sympy
    >>> p, q = sympy.symbols("p q")
    >>> box_ranges([p, q], sympy.And(p >= 0, p <= 1, q > 0, q < 2, p + q <= 2))
    {p: (0, 1), q: (0, 2)}
    """
    try:
        return parameter_ranges(params, box)
    except ParameterError as exc:
        raise SpecError(f"{exc}, to draw the regions") from None


def save_picture(svg: str, path: str | Path) -> Path:
    """Write an SVG picture to ``path`` (``.svg``), or render it to ``.png`` with Pillow
    (rectangles, polylines and text: the elements :func:`region_picture` draws)."""
    path = Path(path)
    if path.suffix.lower() == ".svg":
        path.write_text(svg, encoding="utf-8")
        return path
    if path.suffix.lower() != ".png":
        raise SpecError(f"{path}: write a region picture as .svg or .png")

    from PIL import Image, ImageDraw, ImageFont
    w, h = (int(float(v)) for v in re.search(r'width="([\d.]+)" height="([\d.]+)"',
                                             svg).groups())
    s = 2
    img = Image.new("RGB", (w * s, h * s), "white")
    g = ImageDraw.Draw(img)
    try:
        font = ImageFont.truetype("DejaVuSans.ttf", 12 * s)
    except OSError:
        font = ImageFont.load_default(size=12 * s)
    for m in re.finditer(r'<rect x="([\d.-]+)" y="([\d.-]+)" width="([\d.]+)" '
                         r'height="([\d.]+)" fill="(#\w+)"', svg):
        x, y, ww, hh = (float(v) * s for v in m.groups()[:4])
        g.rectangle([x, y, x + ww, y + hh], fill=m.group(5))
    for m in re.finditer(r'<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" '
                         r'height="([\d.]+)" fill="none"', svg):
        x, y, ww, hh = (float(v) * s for v in m.groups())
        g.rectangle([x, y, x + ww, y + hh], outline="#222222", width=s)
    for m in re.finditer(r'<polyline points="([^"]+)" stroke="(#\w+)" stroke-width="([\d.]+)"',
                         svg):
        pts = [tuple(float(v) * s for v in p.split(",")) for p in m.group(1).split()]
        g.line(pts, fill=m.group(2), width=max(1, round(float(m.group(3)) * s)))
    for m in re.finditer(r'<text x="([\d.-]+)" y="([\d.-]+)"([^>]*)>([^<]*)</text>', svg):
        x, y = float(m.group(1)) * s, float(m.group(2)) * s
        text = unescape(m.group(4))
        anchor = "ls" if 'text-anchor="start"' in m.group(3) else (
            "rs" if 'text-anchor="end"' in m.group(3) else "ms")
        g.text((x, y), text, fill="#111111", font=font, anchor=anchor)
    img.save(path)
    return path
