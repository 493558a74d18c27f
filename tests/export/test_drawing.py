import html
import re

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


def plain(svg: str) -> str:
    """The SVG with subscripts and Greek runs joined back into plain notation."""
    svg = re.sub(r'<tspan dy="(-?[\d.]+)" font-size="75%">([^<]*)</tspan>',
                 lambda m: ("_" if float(m.group(1)) > 0 else "^") + m.group(2), str(svg))
    return re.sub(r"</?tspan[^>]*>", "", svg).replace("π", "pi")


def draw(*args, **kwargs) -> str:
    return plain(cp.draw(*args, **kwargs))


def test_dice_world_in_the_papers_notation():
    svg = draw(dice_world())
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert svg.count("<circle") == 3 and svg.count("<line") == 2
    assert ">[f_G]<" in svg and ">[f_R]<" in svg and ">f_S<" in svg  # brackets: random
    assert re.search(r'<text x="10.0" y="22.0"[^>]*font-weight="bold">f</text>', svg)
    c = dice_world().replace("c", R=6)
    assert ">6<" in draw(c)  # a constant is written as its value


def test_node_kinds_have_their_shapes():
    i = cp.influence_diagram(stop_button(), 2)
    svg = draw(i)
    assert svg.count("<rect x=") == 2 and svg.count("<polygon") == 2  # A_t, R_t
    assert svg == plain(i._repr_svg_())


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
    svg = draw(fp, counterexample=v)
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
        svg = draw(si, counterexample=cex)
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
    assert "continuation values at step 2" in draw(fp, counterexample=v)
    # built against the data keys: values shown beside S_N, only the nonzero ones
    cex = Counterexample("continuation", {
        "state": "start", "nominal": "wait", "flipped": "take", "step": 2,
        "continuation_values": {"start": 0, "w1": Fraction(7, 2), "w2": -3, "done": 0}},
        "made up")
    svg = draw(fp, counterexample=cex)
    assert ">S_2<" in svg and ">S_3<" not in svg
    assert "&#x27;w1&#x27;: 7/2" in svg and "&#x27;w2&#x27;: -3" in svg
    assert "&#x27;done&#x27;" not in svg
    assert ">take<" in svg and "planned first action is &#x27;wait&#x27;" in svg
    assert svg.count('stroke="#c0392b"') == 2            # A_0 and S_2
    cex = Counterexample("continuation", {"state": "start", "nominal": "wait",
                                          "flipped": "take", "step": 1,
                                          "continuation_values": {"start": 0, "w1": 0}},
                         "made up")
    assert "V_1 = 0 in every state" in draw(fp, counterexample=cex)


def test_counterexample_planning_worlds_are_annotated_with_the_learned_model():
    from cpspec.examples import delayed_reward
    fp = cp.agents.FP(delayed_reward(delay=2))
    svg = draw(fp, counterexample=cp.verify(fp, cp.myopic(2)))
    assert "L(O" in svg and "[S]" not in svg and "[L(O" not in svg  # deterministic rows
    sif = cp.agents.SIF(stop_button(), **STOP)
    svg = draw(sif, counterexample=cp.verify(sif, cp.no_incentive("button")))
    assert "[L(O" in svg and ">[S]<" not in svg                       # random rows


def test_structure_counterexamples_outline_the_named_node():
    class SelfModelling(cp.agents.FP):
        uses_self_model = True
    agent = SelfModelling(stop_button())
    v = cp.verify(agent, cp.no_self_knowledge())
    svg = draw(agent, counterexample=v)
    assert "learned model of the agent" in svg
    assert svg.count('stroke="#c0392b"') == 2            # the planning world's A_0, A_1
    cex = Counterexample("structure", {"node": "A_0", "world": "learning"}, "A_0 is not pi")
    assert draw(agent, counterexample=cex).count('stroke="#c0392b"') == 1


def test_conformance_counterexamples_draw_on_the_agent_and_the_diagram():
    si = cp.agents.SIF(stop_button(), **STOP)
    s0 = stop_button().states[0]
    v = cp.conforms(si, [s0, "work", s0])
    svg = draw(si, counterexample=v)
    assert ">work<" in svg and "doing it wrong" in svg
    f = dice_world()
    v = cp.conforms(f, {"G": 1, "R": 1, "S": 12})
    svg = draw(f, counterexample=v)
    assert "counterexample: observation" in svg and ">12<" in svg
    assert svg.count('stroke="#c0392b"') == 1


def test_what_cannot_be_drawn_is_a_named_error():
    si = cp.agents.SI(stop_button(), **STOP)
    holds = cp.verify(si, cp.no_incentive("button"))
    with pytest.raises(cp.SpecError, match="has no counterexample to draw"):
        draw(si, counterexample=holds)
    with pytest.raises(cp.SpecError, match="kinds drawn on agents are trace, continuation"):
        draw(si, counterexample=Counterexample("mystery", {}, "?"))
    f = dice_world()
    obs = cp.conforms(f, {"G": 1, "R": 1, "S": 12})
    with pytest.raises(cp.SpecError, match="draw it on its diagram"):
        draw(si, counterexample=obs)
    with pytest.raises(cp.SpecError, match="is drawn on its agent"):
        draw(f, counterexample=Counterexample("dynamics", {}, "?"))
    with pytest.raises(cp.SpecError, match="must be a failing verdict or a Counterexample"):
        draw(si, counterexample="fails")


# ---- the paper's notation -----------------------------------------------------------

def _marks(sketch):
    return {m.name: m for m in sketch.marks}


def test_deterministic_and_random_policies_are_drawn_truly():
    from cpspec.examples import delayed_reward
    from cpspec.export.notation import learning_sketch, planning_sketch
    env = delayed_reward()
    assert learning_sketch(cp.agents.FP(env), 1).mark("A_0").label == "pi"
    assert learning_sketch(cp.agents.FPX(env), 1).mark("A_0").label == "[pi]"
    assert learning_sketch(cp.agents.FPX(env, epsilon=0), 1).mark("A_0").label == "pi"
    # deterministic environment and learned model: no brackets; a random one: brackets
    assert learning_sketch(cp.agents.FP(env), 1).mark("S_1").label == "S"
    assert planning_sketch(cp.agents.FP(env)).mark("S_1").label == "L(O_t)"
    sb = cp.agents.FP(stop_button())
    assert learning_sketch(sb, 1).mark("S_1").label == "[S]"
    assert planning_sketch(sb).mark("S_1").label == "[L(O_t)]"
    counting = cp.agents.FP(env, learner=cp.learners.counting())
    assert planning_sketch(counting).mark("S_1").label == "[L(O_t)]"  # uniform default
    assert "[pi]" in draw(cp.agents.FPX(env)) and "L(O_t)" in draw(cp.agents.FP(env))
    assert "π" in cp.draw(cp.agents.FP(env)) and "[pi]" not in draw(cp.agents.FP(env))


def test_what_distinguishes_two_agents_is_outlined():
    from cpspec.examples import delayed_reward, input_terminal
    ORANGE = 'stroke="#d35400"'
    pic = cp.draw(cp.agents.FP(stop_button()), cp.agents.SI(stop_button(), **STOP))
    lines = [l for l in pic.splitlines() if ORANGE in l and "data-node" in l]
    assert sorted(re.search(r'data-node="(\w+)"', l).group(1) for l in lines) == \
        ["IL_0", "IL_1"]                                   # SI's interlock, nothing else
    pic = cp.draw(cp.agents.SI(stop_button(), **STOP), cp.agents.SIF(stop_button(), **STOP))
    lines = [l for l in pic.splitlines() if ORANGE in l and "data-node" in l]
    assert sorted(re.search(r'data-node="(\w+)"', l).group(1) for l in lines) == \
        ["IL_0", "IL_1", "IL_2"]                           # SIF's foreseen interlock
    env, rewards = input_terminal()
    itf = cp.agents.ITF(env, terminal="terminal", rewards=rewards)
    itc = cp.agents.ITC(env, terminal="terminal", rewards=rewards)
    from cpspec.export.notation import differences, planning_sketch
    pf, pc = planning_sketch(itf), planning_sketch(itc)
    assert pc.mark("R_2").parents[-1] == "I_0" and pf.mark("R_2").parents[-1] == "I_2"
    assert differences(pc, pf)[0] == {"R_1", "R_2"}      # ITC's rewards read I_0
    fp, sth = cp.agents.FP(delayed_reward()), cp.agents.STH(delayed_reward(), horizon=1)
    pic = plain(cp.draw(fp, sth))
    assert "N = 1" in pic and 'stroke="#d35400" stroke-width="1.5" stroke-dasharray' in pic


def test_surgery_is_visible_however_the_counterfactual_is_built(tmp_path):
    f = dice_world()
    for c in (f.replace("c", R=cp.fn(lambda: 6)), f.replace("c", R=6)):
        m = _marks(__import__("cpspec.export.notation", fromlist=["x"]).diagram_sketch(c))["R"]
        assert (m.label, m.surgery) == ("6", True)
        assert 'stroke="#8e44ad"' in cp.draw(c) and "surgery: R replaced" in cp.draw(c)
    assert 'stroke="#8e44ad"' not in cp.draw(f)
    from cpspec.spec import loader
    c = loader.load(SPECS / "dice.toml").worlds["c"]
    assert c.surgery == {"R"} and ">6<" in draw(c)
    g = f.replace("g", R=cp.uniform([5, 6]))            # a random replacement
    assert ">[f_R^g]<" in draw(g)


def _arrow_points(item, n=40):
    from cpspec.export.drawing import _bezier
    x1, y1, x2, y2, st = item[1:]
    via = st.get("via") or ((x1 + x2) / 2, (y1 + y2) / 2)
    return [_bezier((x1, y1), via, (x2, y2), k / n) for k in range(n + 1)]


@pytest.mark.parametrize("which", ["issue", "learning", "planning", "itc"])
def test_no_arrow_runs_through_a_node(which):
    from cpspec.examples import input_terminal
    from cpspec.export.drawing import R, sketch_scene
    from cpspec.export.notation import learning_sketch, planning_sketch
    if which == "issue":   # V reads A, H, U: U -> V must not pass through H
        d = cp.world("w", A=cp.uniform([0, 1]), H=cp.fn(lambda A: A),
                     U=cp.fn(lambda H: H), V=cp.fn(lambda A, H, U: A + H + U))
        sc = scene(d)
    elif which == "learning":
        sc = sketch_scene(learning_sketch(cp.agents.SI(stop_button(), **STOP), 3))
    elif which == "planning":
        sc = sketch_scene(planning_sketch(cp.agents.SIF(stop_button(), **STOP)))
    else:
        env, rewards = input_terminal()
        sc = sketch_scene(planning_sketch(cp.agents.ITC(env, terminal="terminal",
                                                        rewards=rewards)))
    centres = {it[3]["node"]: (it[1], it[2]) for it in sc.items
               if it[0] in ("circle", "rect", "diamond")}
    arrows = [it for it in sc.items if it[0] == "arrow"]
    ends = {}
    for it in arrows:
        src = next(n for n, p in centres.items() if p == tuple(it[1:3]))
        dst = next(n for n, p in centres.items() if p == tuple(it[3:5]))
        ends[(src, dst)] = it
        for x, y in _arrow_points(it):
            for n, (cx, cy) in centres.items():
                if n not in (src, dst):
                    assert (x - cx) ** 2 + (y - cy) ** 2 > R ** 2, (src, dst, n)
    if which == "issue":
        assert ("U", "V") in ends and "via" in ends[("A", "V")][5]   # A -> V bent


def test_symbolic_agents_draw_with_their_parametric_choice(tmp_path):
    import sympy
    g = sympy.Symbol("gamma")
    pic = plain(cp.draw(cp.agents.SIF(stop_button(gamma=g), **STOP)))
    assert "work if 0 &lt;= γ &lt;= 7/4 - sqrt(17)/4; disable if" in pic
    for spec, agent in (("si.toml", "sif_g"), ("fp.toml", "fp_g")):
        out = tmp_path / f"{agent}.png"
        assert main(["draw", str(SPECS / spec), "--agent", agent, "-o", str(out)]) == 0
        assert Image.open(out).size[0] > 300


def test_a_model_too_large_to_read_is_refused_with_a_summary_offered(tmp_path):
    from cpspec.examples import delayed_reward
    big = cp.influence_diagram(delayed_reward(), 30)           # 90 nodes
    with pytest.raises(cp.ModelTooLargeError, match=r"91 nodes.*summary=True"):
        cp.draw(big)
    pic = plain(cp.draw(big, summary=True))
    assert pic.count("<circle") == 1 and pic.count("<rect x=") == 1 and "t=0..29" in pic
    assert "S_t reads S_t-1" in pic
    assert "(summary)" in plain(big._repr_svg_())           # a notebook shows the summary
    assert main(["draw", str(SPECS / "si.toml"), "--agent", "si", "--steps", "20", "-o",
                 str(tmp_path / "x.svg")]) == 2


def test_a_drawing_shows_itself_and_saves(tmp_path):
    pic = cp.draw(dice_world())
    assert isinstance(pic, str) and pic._repr_svg_() == pic
    assert Image.open(pic.save(tmp_path / "f.png")).format == "PNG"
    assert pic.save(tmp_path / "f.svg").read_text() == pic
    with pytest.raises(cp.SpecError, match=r"saved as \.svg or \.png"):
        pic.save(tmp_path / "f.gif")


def test_an_influence_diagram_draws_with_its_solution():
    w = cp.world("guess", X=cp.uniform([0, 1]),
                 S=cp.dist(lambda X: {X: "3/4", 1 - X: "1/4"}),
                 D=cp.decision([0, 1], parents=["S"]),
                 U=cp.utility(lambda X, D: int(X == D)))
    pic = plain(cp.draw(w, values=cp.solve(w)))
    assert "E(U) = 3/4" in pic and "D: S=0 -&gt; 0" in pic and "D: S=1 -&gt; 1" in pic
    one = cp.world("one", D=cp.decision(["a", "b"]), U=cp.utility(lambda D: int(D == "b")))
    assert ">b<" in draw(one, values=cp.solve(one))              # one action: in the node
    with pytest.raises(cp.SpecError, match="solution of this influence diagram"):
        cp.draw(w, values=3)


def test_a_dist_that_is_a_point_mass_everywhere_is_drawn_deterministic():
    from cpspec.examples import delayed_reward
    from cpspec.export.notation import diagram_sketch
    m = delayed_reward()
    d = cp.unroll(m, cp.solve(m, 2), 2)          # deterministic policy and transitions
    marks = _marks(diagram_sketch(d))
    assert marks["A_0"].label == "pi" and marks["S_1"].label == "S"
    fpx = cp.agents.FPX(m, epsilon="1/10")
    lw = _marks(diagram_sketch(fpx.learning_world(1)))
    assert lw["A_0"].label == "[pi]"               # exploring: truly random
    sb = _marks(diagram_sketch(cp.influence_diagram(stop_button(), 1)))
    assert sb["button_1"].label.startswith("[")    # the button is pressed at random
