"""Region pictures: the 2-D plot and the 1-D strip, as SVG and PNG."""

import sympy

import cpspec as cp
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
