import re
from pathlib import Path

import pytest
from PIL import Image

import cpspec as cp
from cpspec.cli import main
from cpspec.export.drawing import agent_scene, scene, to_png, trace_scene
from cpspec.examples import dice_world, stop_button
from conftest import REPO

SPECS = REPO / "specs"
STOP = dict(stop_pressed=lambda s: s.button == "pressed", null_action="null")


def test_dice_world_in_the_papers_notation():
    svg = cp.draw(dice_world())
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert svg.count("<circle") == 3 and svg.count("<line") == 2
    assert ">[f_G]<" in svg and ">[f_R]<" in svg and ">f_S<" in svg  # brackets: random
    assert re.search(r'<text x="10.0" y="22.0"[^>]*font-weight="bold">f</text>', svg)
    c = dice_world().replace("c", R=6)
    assert ">6<" in cp.draw(c)  # a constant is written as its value


def test_node_kinds_have_their_shapes():
    i = cp.influence_diagram(stop_button(), 2)
    svg = cp.draw(i)
    assert svg.count("<rect x=") == 2 and svg.count("<polygon") == 2  # A_t, R_t
    assert svg == i._repr_svg_()


def test_time_series_left_to_right():
    sc = scene(cp.influence_diagram(stop_button(), 3))
    xs = {it[3]: it[1] for it in sc.items if it[0] == "text" and str(it[3]).startswith("A_")}
    assert xs["A_0"] < xs["A_1"] < xs["A_2"]


def test_agent_side_by_side_and_trace_highlight(tmp_path):
    si = cp.agents.SI(stop_button(), **STOP)
    sc = agent_scene(si)
    titles = [it[3] for it in sc.items if it[0] == "text" and it[4].get("weight")]
    assert any("learning world" in t for t in titles) and any("planning" in t for t in titles)
    fp = cp.agents.FP(stop_button())
    v = cp.verify(fp, cp.obeys_stop_button(3, **STOP))
    svg = cp.draw(fp, counterexample=v)
    assert 'stroke="#c0392b"' in svg and ">pressed<" in svg and ">work<" in svg
    png = to_png(trace_scene(fp, v.counterexample), tmp_path / "t.png")
    img = Image.open(png)
    assert img.size[0] > 200 and len(img.convert("RGB").getcolors(1 << 20)) > 10  # not blank


def test_cli_draw(tmp_path, capsys):
    assert main(["draw", str(SPECS / "dice.toml"), "-o", str(tmp_path / "d.svg")]) == 0
    assert (tmp_path / "d.svg").read_text().count("<circle") == 6  # f and c side by side
    assert main(["draw", str(SPECS / "si.toml"), "--agent", "sif", "-o",
                 str(tmp_path / "a.png")]) == 0
    assert Image.open(tmp_path / "a.png").format == "PNG"
    assert main(["draw", str(SPECS / "dice.toml"), "-o", str(tmp_path / "d.gif")]) == 2
    assert main(["draw", str(SPECS / "dice.toml"), "--world", "zz", "-o",
                 str(tmp_path / "d.svg")]) == 2


def test_only_traces_draw_on_the_learning_world():
    si = cp.agents.SIF(stop_button(), **STOP)
    v = cp.verify(si, cp.no_incentive("button"))
    with pytest.raises(cp.SpecError, match="trace"):
        cp.draw(si, counterexample=v)
