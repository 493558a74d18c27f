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

from ..core.partition import ParameterRegion
from ..errors import SpecError

__all__ = ["region_picture", "save_picture", "box_ranges"]

_COLOURS = ["#cfe3f7", "#f8d9c4", "#d4eccf", "#eadcf2", "#f6efbf", "#d9d9d9", "#f4cfd9"]


def _polys(cond) -> set:
    """The polynomials whose sign the condition reads."""
    out = set()
    for rel in cond.atoms(sympy.core.relational.Relational):
        e = sympy.expand(rel.lhs - rel.rhs)
        if e.free_symbols:
            out.add(e)
    return out


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
    funcs = [sympy.lambdify(params, r.condition, "numpy") for r in regions]
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
    where: dict = {}
    for j, yv in enumerate(ys):
        for i, xv in enumerate(xs):
            k = which(xv, yv)
            if k is None:
                continue
            where.setdefault(k, []).append((xv, yv))
            cy = py(yv) - H / rows / 2 if len(params) == 2 else pad
            items.append(f'<rect x="{px(xv) - W / cells / 2:.2f}" y="{cy:.2f}" '
                         f'width="{W / cells + 0.3:.2f}" height="{H / rows + 0.3:.2f}" '
                         f'fill="{_COLOURS[k % len(_COLOURS)]}"/>')
    polys = set().union(*(_polys(r.condition) for r in regions)) if regions else set()
    for e in polys:
        items += _curve(e, params, (x0, x1), (y0, y1), px, py, H, which)
    for k, r in enumerate(regions):   # the label at the middle of the region's cells
        if k not in where:
            continue
        pts = np.array(where[k])
        mid = pts.mean(axis=0)
        near = pts[np.argmin(((pts - mid) ** 2).sum(axis=1))]
        x = float(near[0])
        y = float(near[1]) if len(params) == 2 else None
        items.append(f'<text x="{px(x):.1f}" y="{(py(y) if y is not None else pad + 25):.1f}" '
                     f'font-family="sans-serif" font-size="12" text-anchor="middle">'
                     f'{escape(str(r.answer))}</text>')
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
    w, h = W + 2 * pad, H + 2 * pad
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
            f'viewBox="0 0 {w} {h}"><rect width="{w}" height="{h}" fill="white"/>'
            + "".join(items) + "".join(axes) + "</svg>")


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
    x, y = params
    if y not in e.free_symbols:       # a vertical line x = root, where it separates
        for root in sympy.Poly(e, x).real_roots():
            v = float(root)
            if not xr[0] <= v <= xr[1]:
                continue
            d = (xr[1] - xr[0]) / 200
            ys = np.linspace(yr[0], yr[1], 241)
            keep = [which(v - d, yv) != which(v + d, yv) for yv in ys]
            seg: list = []
            for yv, k in zip(list(ys) + [None], keep + [False]):
                if k:
                    seg.append((v, yv))
                    continue
                if len(seg) > 1:
                    out.append('<polyline points="' + " ".join(
                        f"{px(a):.2f},{py(b):.2f}" for a, b in seg)
                        + '" stroke="#222" stroke-width="1.6" fill="none"/>')
                seg = []
        return out
    poly = sympy.Poly(e, y)
    coeffs = [sympy.lambdify(x, c, "numpy") for c in poly.all_coeffs()]
    branches: list[list] = []
    for xv in np.linspace(xr[0], xr[1], 241):
        cs = [float(c(xv)) for c in coeffs]
        while cs and abs(cs[0]) < 1e-12:
            cs = cs[1:]
        roots = sorted(r.real for r in np.roots(cs) if abs(r.imag) < 1e-9) if len(cs) > 1 \
            else []
        d = (yr[1] - yr[0]) / 200
        dx = (xr[1] - xr[0]) / 200
        roots = [r for r in roots if yr[0] - 1e-9 <= r <= yr[1] + 1e-9
                 and (which(xv, r + d) != which(xv, r - d)
                      or which(xv + dx, r) != which(xv - dx, r))]
        while len(branches) < len(roots):
            branches.append([])
        for k in range(len(branches)):
            branches[k].append((xv, roots[k]) if k < len(roots) else None)
    for br in branches:
        seg: list = []
        for pt in br + [None]:
            if pt is None:
                if len(seg) > 1:
                    out.append('<polyline points="' + " ".join(
                        f"{px(a):.2f},{py(b):.2f}" for a, b in seg)
                        + '" stroke="#222" stroke-width="1.6" fill="none"/>')
                seg = []
            else:
                seg.append(pt)
    return out


def box_ranges(params: Sequence[sympy.Symbol], box) -> dict:
    """``{x: (low, high)}``: the extent of each parameter in a box (a SymPy Boolean), for
    :func:`region_picture`.

    >>> import sympy
    >>> p, q = sympy.symbols("p q")
    >>> box_ranges([p, q], sympy.And(p >= 0, p <= 1, q > 0, q < 2, p + q <= 2))
    {p: (0, 1), q: (0, 2)}
    """
    parts = box.args if isinstance(box, sympy.And) else (box,)
    out = {}
    for x in params:
        s = sympy.And(*[c for c in parts if c.free_symbols == {x}]).as_set()
        lo, hi = s.inf, s.sup
        if not (lo.is_finite and hi.is_finite):
            raise SpecError(f"the box gives {x} no finite range ({s}); give it a domain "
                            "to draw the regions")
        out[x] = (lo, hi)
    return out


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
    for m in re.finditer(r'<polyline points="([^"]+)"', svg):
        pts = [tuple(float(v) * s for v in p.split(",")) for p in m.group(1).split()]
        g.line(pts, fill="#222222", width=2 * s)
    for m in re.finditer(r'<text x="([\d.-]+)" y="([\d.-]+)"[^>]*>([^<]*)</text>', svg):
        x, y = float(m.group(1)) * s, float(m.group(2)) * s
        text = unescape(m.group(3))
        g.text((x, y), text, fill="#111111", font=font, anchor="ms")
    img.save(path)
    return path
