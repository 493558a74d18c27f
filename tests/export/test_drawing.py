import html
import re
from pathlib import Path

import pytest
from PIL import Image

import cpspec as cp
from cpspec.cli import main
from cpspec.export.drawing import agent_scene, dynamics_scene, scene, to_png, trace_scene
from cpspec.verification.records import Counterexample
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


def test_a_no_incentive_counterexample_draws_its_changed_rows(tmp_path):
    si = cp.agents.SIF(stop_button(), **STOP)
    v = cp.verify(si, cp.no_incentive("button"))
    d = v.counterexample.data
    for cex in (v, v.counterexample):  # a verdict or its counterexample
        svg = cp.draw(si, counterexample=cex)
        assert "counterexample: dynamics of button" in svg
        (config, row), = d["changed"].items()
        shown = ", ".join(f"{p}={x!r}" for p, x in zip(d["parents"], config))
        assert html.escape(shown) in svg                      # the changed row, labelled
        assert html.escape(f"(learned: {', '.join(f'{k!r}: {q}' for k, q in d['learned'][config].items())})") in svg
        assert f">{d['flipped']}<" in svg                     # the flipped first action
        assert re.search(r'<rect x="[\d.]+" y="[\d.]+" width="48" height="48" '
                         r'fill="#fdecea" stroke="#c0392b"', svg)   # A_0 outlined in red
    img = Image.open(to_png(dynamics_scene(si, v.counterexample), tmp_path / "d.png"))
    assert img.size[0] > 400


def test_a_continuation_counterexample_draws_the_world_cut_at_step_n():
    from fractions import Fraction
    from cpspec.examples import delayed_reward
    fp = cp.agents.FP(delayed_reward(delay=2))
    v = cp.verify(fp, cp.myopic(2))
    assert "continuation values at step 2" in cp.draw(fp, counterexample=v)
    # built against the data keys: values shown beside S_N, only the nonzero ones
    cex = Counterexample("continuation", {
        "state": "start", "nominal": "wait", "flipped": "take", "step": 2,
        "continuation_values": {"start": 0, "w1": Fraction(7, 2), "w2": -3, "done": 0}},
        "made up")
    svg = cp.draw(fp, counterexample=cex)
    assert ">S_2<" in svg and ">S_3<" not in svg
    assert "&#x27;w1&#x27;: 7/2" in svg and "&#x27;w2&#x27;: -3" in svg
    assert "&#x27;done&#x27;" not in svg
    assert ">take<" in svg and "planned first action is &#x27;wait&#x27;" in svg
    assert svg.count('stroke="#c0392b"') == 2            # A_0 and S_2
    cex = Counterexample("continuation", {"state": "start", "nominal": "wait",
                                          "flipped": "take", "step": 1,
                                          "continuation_values": {"start": 0, "w1": 0}},
                         "made up")
    assert "V_1 = 0 in every state" in cp.draw(fp, counterexample=cex)


def test_structure_counterexamples_outline_the_named_node():
    class SelfModelling(cp.agents.FP):
        uses_self_model = True
    agent = SelfModelling(stop_button())
    v = cp.verify(agent, cp.no_self_knowledge())
    svg = cp.draw(agent, counterexample=v)
    assert "learned model of the agent" in svg
    assert svg.count('stroke="#c0392b"') == 2            # the planning world's A_0, A_1
    cex = Counterexample("structure", {"node": "A_0", "world": "learning"}, "A_0 is not pi")
    assert cp.draw(agent, counterexample=cex).count('stroke="#c0392b"') == 1


def test_conformance_counterexamples_draw_on_the_agent_and_the_diagram():
    si = cp.agents.SIF(stop_button(), **STOP)
    s0 = stop_button().states[0]
    v = cp.conforms(si, [s0, "work", s0])
    svg = cp.draw(si, counterexample=v)
    assert ">work<" in svg and "doing it wrong" in svg
    f = dice_world()
    v = cp.conforms(f, {"G": 1, "R": 1, "S": 12})
    svg = cp.draw(f, counterexample=v)
    assert "counterexample: observation" in svg and ">12<" in svg
    assert svg.count('stroke="#c0392b"') == 1


def test_what_cannot_be_drawn_is_a_named_error():
    si = cp.agents.SI(stop_button(), **STOP)
    holds = cp.verify(si, cp.no_incentive("button"))
    with pytest.raises(cp.SpecError, match="has no counterexample to draw"):
        cp.draw(si, counterexample=holds)
    with pytest.raises(cp.SpecError, match="kinds drawn on agents are trace, continuation"):
        cp.draw(si, counterexample=Counterexample("mystery", {}, "?"))
    f = dice_world()
    obs = cp.conforms(f, {"G": 1, "R": 1, "S": 12})
    with pytest.raises(cp.SpecError, match="draw it on its diagram"):
        cp.draw(si, counterexample=obs)
    with pytest.raises(cp.SpecError, match="is drawn on its agent"):
        cp.draw(f, counterexample=Counterexample("dynamics", {}, "?"))
    with pytest.raises(cp.SpecError, match="must be a failing verdict or a Counterexample"):
        cp.draw(si, counterexample="fails")
