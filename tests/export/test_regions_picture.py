"""Region pictures: the 2-D plot and the 1-D strip, as SVG and PNG."""

import re

import sympy

import cpspec as cp
from conftest import cliff_mdp
from cpspec.core.partition import ParameterRegion
from cpspec.export.regions import save_picture

p, q = sympy.symbols("p q")


def test_plane_draws_only_the_separating_boundaries(tmp_path):
    regs = [ParameterRegion(q > p, "wait", {p: 0, q: 1}),
            ParameterRegion(q <= p, "act", {p: 1, q: 0})]
    svg = cp.region_picture(regs, [p, q], {p: (0, 1), q: (0, 1)}, title="t")
    assert svg.count("<polyline") == 1 and ">wait<" in svg and ">act<" in svg
    # a condition that separates nothing draws no curve
    same = [ParameterRegion(sympy.Or(q > p, q <= p), "all", {p: 0, q: 0})]
    assert "<polyline" not in cp.region_picture(same, [p, q], {p: (0, 1), q: (0, 1)})
    png = save_picture(svg, tmp_path / "r.png")
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_strip_marks_the_threshold():
    regs = [ParameterRegion(p <= sympy.Rational(1, 3), "take", {p: 0}),
            ParameterRegion(p > sympy.Rational(1, 3), "wait", {p: 1})]
    svg = cp.region_picture(regs, [p], {p: (0, 1)})
    assert svg.count("<polyline") == 1 and ">take<" in svg


R = sympy.Rational


def _polyline_points(svg, colour="#222"):
    return [[tuple(map(float, pt.split(","))) for pt in m.split()]
            for m in re.findall(rf'<polyline points="([^"]+)" stroke="{colour}"', svg)]


def test_each_part_of_a_region_is_labelled_and_a_product_draws_each_factor():
    # (2p - 1)(2q - 1) > 0: two opposite quadrants each; both lines p = 1/2 and q = 1/2
    sign = (2 * p - 1) * (2 * q - 1)
    regs = [ParameterRegion(sign > 0, "same", {p: 0, q: 0}),
            ParameterRegion(sign <= 0, "differ", {p: 0, q: 1})]
    svg = cp.region_picture(regs, [p, q], {p: (0, 1), q: (0, 1)})
    assert svg.count(">same<") == 2 and svg.count(">differ<") == 2
    labels = [(float(x), float(y)) for x, y in
              re.findall(r'<text x="([\d.]+)" y="([\d.]+)"[^>]*>(?:same|differ)<', svg)]
    assert len(set(labels)) == 4       # four places, one per quadrant
    lines = _polyline_points(svg)
    vertical = [ln for ln in lines if max(x for x, _ in ln) - min(x for x, _ in ln) < 0.5]
    horizontal = [ln for ln in lines if max(y for _, y in ln) - min(y for _, y in ln) < 0.5]
    assert vertical and horizontal


def test_a_region_on_a_curve_is_drawn_in_colour_and_labelled(tmp_path):
    on_line = sympy.And(sympy.Eq(p + q - 1, 0), p > R(1, 4))
    regs = [ParameterRegion(on_line, "tie", {p: R(1, 2), q: R(1, 2)}),
            ParameterRegion(p + q > 1, "act", {p: 1, q: 1}),
            ParameterRegion(sympy.Or(p + q < 1, sympy.And(sympy.Eq(p + q, 1), p <= R(1, 4))),
                            "wait", {p: 0, q: 0})]
    svg = cp.region_picture(regs, [p, q], {p: (0, 1), q: (0, 1)})
    red = _polyline_points(svg, "#c0392b")
    # back from pixels (50 px margin, 360 px square) to (p, q)
    on = [((X - 50) / 360, (410 - Y) / 360) for ln in red for X, Y in ln]
    assert on and all(abs(x + y - 1) < 1e-3 and x > 0.25 - 1e-2 for x, y in on)
    assert min(x for x, _ in on) < 0.27 and max(x for x, _ in on) > 0.99
    assert ">tie<" in svg
    # no cell takes the curve's colour: the first region's colour is never a fill
    assert 'fill="#cfe3f7"' not in svg
    png = save_picture(svg, tmp_path / "tie.png")
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_a_notebook_shows_a_region_solution_as_a_picture_above_its_table():
    w = cp.world("w", A=cp.decision(["x", "y", "z"]),
                 U=cp.utility(lambda A: {"x": p, "y": q, "z": R(1, 2)}[A]))
    sol = cp.solve(w, domain={p: sympy.Interval(0, 1), q: sympy.Interval(0, 1)})
    html = sol._repr_html_()
    assert html.startswith("<svg") and "</svg><table>" in html
    regs = sol.regions()
    # the picture numbers the regions as the table does
    for i, r in enumerate(regs):
        assert f">{i + 1}<" in html[:html.index("</svg>")]
        assert f"<td>{i + 1}</td>" in html
    assert "x where" not in html and "{A: z}" in html

    syn = cp.synthesize(cp.agents.FP(cliff_mdp(sympy.Symbol("s"), sympy.Symbol("r"))),
                        cp.always(lambda st, a: a == "safe", 1, "a == safe"),
                        over=[sympy.Symbol("s"), sympy.Symbol("r")],
                        domain={sympy.Symbol("s"): sympy.Interval(0, 1),
                                sympy.Symbol("r"): sympy.Interval(0, 10)})
    html = syn._repr_html_()
    picture = html[:html.index("</svg>")]
    assert ">holds<" in picture and ">fails<" in picture
    assert "<td>holds</td><td>10*r*s - r + 50*s - 10 &gt;= 0</td>" in html


def test_no_picture_over_three_parameters():
    g = sympy.Symbol("g")
    w = cp.world("w", A=cp.decision(["x", "y"]),
                 U=cp.utility(lambda A: p * q if A == "x" else g))
    unit = sympy.Interval(0, 1)
    sol = cp.solve(w, domain={p: unit, q: unit, g: unit})
    html = sol._repr_html_()
    assert html.startswith("<table>") and "<svg" not in html



def test_long_answers_are_numbered_with_a_legend_below():
    """A value's formula does not fit in its region: the regions are numbered and the
    formulas written out under the picture (cut to its width); short answers stay in
    their regions, with no legend."""
    import sympy
    from cpspec.core.partition import ParameterRegion
    from cpspec.export.regions import region_picture
    p, q = sympy.symbols("p q")
    long_a = (540 * q + 60) / (9 * p + 9 * q + 1)
    long_b = sum(k * p ** k * q for k in range(1, 12)) / (p + 1)
    regs = [ParameterRegion(q > p, long_a, {p: 0, q: 1}),
            ParameterRegion(q <= p, long_b, {p: 1, q: 0})]
    svg = region_picture(regs, [p, q], {p: (0, 1), q: (0, 1)})
    assert ">1<" in svg and ">2<" in svg
    assert f">1: {long_a}<" in svg
    assert ">2: " in svg and "...<" in svg and str(long_b) not in svg
    short = region_picture([ParameterRegion(q > p, "wait", {p: 0, q: 1})], [p, q],
                           {p: (0, 1), q: (0, 1)})
    assert ">wait<" in short and ">1: " not in short
