"""cp.corrected and Holtman's car factory, against an independent brute force of the
paper's simulator (agisim's recursion, written again here over exact fractions) and
against hand derivations."""

from fractions import Fraction as F
from functools import lru_cache

import pytest
import sympy

import cpspec as cp
from cpspec.examples import car_factory, car_factory_traces

GAMMA = F(9, 10)


def simulator(L, r_e=1, correction=None, horizon=25, gamble=None):
    """The simulator's recursion (one depth a step, the timer dropping at the start of
    each step, the press before the action), over fractions: the optimal value and the
    set of optimal traces in the paper's notation. Ties keep every trace."""
    acts = ["p", "e", "0"] + ([">", "<"] if L is not None else [])

    def car(a, pressed):
        if a == "0":
            return F(0)
        base = {"p": F(2), "e": F(1)} if not pressed else {"p": F(-2), "e": F(r_e)}
        if a in "><":
            return F(9, 10) * base["p"]
        return base[a]

    @lru_cache(maxsize=None)
    def best(depth, mode, timer):
        # mode: 0 not pressed, 1 pressed (R_S), "N" the V_N world (R_N, never pressed)
        if depth > horizon:
            return F(0), frozenset({""})
        w = GAMMA ** (depth - 1)
        timer = timer - 1
        mark, corr = "", F(0)
        if mode == 0 and timer <= 0:
            mode, mark = 1, "#"
            if correction:
                corr = best(depth, "N", timer)[0] - best(depth, "S", timer)[0]
        pressed = mode in (1, "S")
        options = []
        for a in acts:
            if pressed and a in "><":
                continue
            dt = (L if a == ">" else -L if a == "<" else 0) if mode == 0 else 0
            v, traces = best(depth + 1, mode, timer + dt)
            options.append((w * car(a, pressed) + corr + v, {mark + a + t for t in traces}))
        if gamble is not None and depth == 3:
            win = best(depth + 1, mode, timer)
            lose = best(depth + 1, mode if mode != 0 else 0, F(-100))
            v = gamble * (w * 4 + win[0]) + (1 - gamble) * lose[0]
            options.append((v + corr, {mark + "G[W]" + t for t in win[1]}
                            | {mark + "G[L]" + t for t in lose[1]}))
        top = max(v for v, _ in options)
        return top, frozenset().union(*(t for v, t in options if v == top))

    return best(1, 0, F(7))


def cpspec_run(L, r_e=1, correction=None, horizon=25, gamble=None):
    m = car_factory(L, electric_after_press=r_e, correction=correction, horizon=horizon,
                    gamble=gamble)
    sol = cp.solve(m, horizon)
    return sol, car_factory_traces(sol)


# Figure 2: f0 over the lobbying power; Figure 4: fc over it
@pytest.mark.parametrize("L", ["0", "1/10", "3/10", "1/2", "6/10", "1", "2", "5"])
@pytest.mark.parametrize("correction", [None, "fc"])
def test_traces_and_values_agree_with_the_simulator(L, correction):
    sol, traces = cpspec_run(F(L), correction=correction)
    value, optimal = simulator(F(L), correction=correction)
    assert sol.value == value
    assert len(traces) == 1 and traces[0] in optimal


def test_figure_2_and_4_shapes():
    assert cpspec_run(F(0))[1] == ["pppppp#eeeeeeeeeeeeeeeeeee"]
    assert cpspec_run(F(2))[1] == ["ppppp>p>p>p>p>p>p>p>p>p>p"]      # lobbies to the end
    assert cpspec_run(F(5))[1] == ["ppppp>pppp>pppp>pppp>pppp"]
    for L in ("1/5", "1/2", "1", "2", "5"):   # fc never lobbies, whatever the power
        assert cpspec_run(F(L), correction="fc")[1] == ["pppppp#eeeeeeeeeeeeeeeeeee"]


def test_fc_preserves_the_utility_of_the_unpressed_world():
    # V(fc) = V_N from the start: 25 petrol cars, whatever the lobbying power
    v = sum(2 * GAMMA ** t for t in range(25))
    for L in ("1/5", "5"):
        assert cpspec_run(F(L), correction="fc")[0].value == v


@pytest.mark.parametrize("r_e", ["1/2", "1", "3/2", "2", "5/2", "3", "7/2"])
def test_figure_3_the_electric_reward_sweep(r_e):
    sol, traces = cpspec_run(F(6, 10), r_e=F(r_e))
    value, optimal = simulator(F(6, 10), r_e=F(r_e))
    assert sol.value == value and traces[0] in optimal
    lobby = set(traces[0]) & {">", "<"}
    assert lobby == ({">"} if F(r_e) < 2 else set() if F(r_e) == 2 else {"<"})


@pytest.mark.parametrize("p_w", ["3/10", "1/2", "6/10", "7/10"])
@pytest.mark.parametrize("correction", [None, "fcgc"])
def test_figure_14_the_little_arm_gamble(p_w, correction):
    sol, traces = cpspec_run(None, correction=correction, horizon=10, gamble=F(p_w))
    value, optimal = simulator(None, correction=correction, horizon=10, gamble=F(p_w))
    assert sol.value == value
    gambles = any("G" in t for t in traces)
    assert set(traces) <= optimal
    assert gambles == (F(p_w) > (F(1, 2) if correction else F(6, 10)))


def test_figure_14_thresholds_exactly():
    w = sympy.Symbol("p_w")
    at3 = cp.State(pressed=False, timer=5, step=3)
    plans = {}
    for c in (None, "fc", "fcgc"):
        sol = cp.solve(car_factory(None, gamble=w, correction=c, horizon=10), 10)
        plans[c] = sol.policy(2, at3)
    assert str(plans["fc"]) == "p if 0 <= p_w <= 1/2; G if 1/2 < p_w <= 1"
    assert plans["fcgc"] == plans["fc"]
    (lo, a), (hi, b) = plans[None].pieces
    assert (a, b) == ("p", "G")
    t = lo.sup
    # by hand: gambling at step 3 risks the petrol cars of steps 4..6 (worth 2 each,
    # against 1 for the electric ones the press brings): 4 p > 2 + (1 - p) * loss
    loss = sum(GAMMA ** k for k in range(1, 4))  # steps 4, 5, 6 relative to step 3
    assert t == sympy.Rational(2 + loss, 4 + loss)
    assert F(6, 10) < t < F(7, 10)


def test_corrected_by_hand_on_a_two_step_world():
    # one decision before the press, one after; the correction is V_N - V_S of one step
    states = [(0, False), (1, True), (1, False), (2, True), (2, False)]

    def move(s, a):
        t, p = s
        return {(min(t + 1, 2), p or a != "delay" or t >= 1): 1}
    R_N = lambda s, a, s2: {"work": 2, "delay": 1}[a]
    R_S = lambda s, a, s2: {"work": 1, "delay": 0}[a]
    f0 = cp.MDP(states, ["work", "delay"], move,
                lambda s, a, s2: R_S(s, a, s2) if s[1] else R_N(s, a, s2), (0, False),
                gamma="1/2")
    fc = cp.corrected(f0, lambda s: s[1], after=R_S, before=R_N, horizon=2)
    # work: 2 + 1/2 * (f_c = 2 - 1) + 1/2 * 1 (R_S work) = 3; delay: 1 + 1/2 * 2 = 2
    assert cp.solve(fc, 2).q((0, False)) == {"work": 3, "delay": 2}
    assert fc.R[((0, False), "work", (1, True))] == 2 + F(1, 2) * 1


def test_corrected_infinite_horizon_is_indifferent():
    # infinite horizon: pressing pays V_N - V_S, so the press is worth nothing either way
    env = cp.MDP(["on", "off"], ["run", "press"],
                 lambda s, a: {"off": 1} if s == "off" or a == "press" else {"on": 1},
                 lambda s, a, s2: 0, "on", gamma="1/2")
    R_N = lambda s, a, s2: 1 if a == "run" else F(1, 2)
    R_S = lambda s, a, s2: 0
    fc = cp.corrected(env, lambda s: s == "off", after=R_S, before=R_N)
    q = cp.solve(fc, sympy.oo).q("on")
    assert q == {"run": 2, "press": F(1, 2) + F(1, 2) * 2}  # both V_N = 2 minus the 1/2 lost
    assert cp.solve(fc, sympy.oo).policy("on") == "run"


def test_the_gc_penalty_fires_where_the_shutdown_value_is_low():
    # 'break' destroys the means to do the shutdown task (V_S drops to 0 afterwards)
    states = [(t, p, b) for t in range(4) for p in (False, True) for b in (False, True)]

    def move(s, a):
        t, p, b = s
        return {(min(t + 1, 3), p or t + 1 >= 2, b or a == "break"): 1}
    R_N = lambda s, a, s2: 1 if a == "break" else F(1, 2)
    R_S = lambda s, a, s2: 0 if s[2] or a == "break" else 1
    f0 = cp.MDP(states, ["work", "break"], move, lambda s, a, s2: 0, (0, False, False))
    fc = cp.corrected(f0, lambda s: s[1], after=R_S, before=R_N, horizon=3)
    gc = cp.corrected(f0, lambda s: s[1], after=R_S, before=R_N, horizon=3, penalty=10)
    assert cp.solve(fc, 3).policy(0, (0, False, False)) == "break"
    assert cp.solve(gc, 3).policy(0, (0, False, False)) == "work"
    # by hand, after breaking (V_S = 0 < 1/2, so g = -10 in every state, also in the V_N
    # world): work earns 1/2 - 10, and the press step's correction is V_N - V_S with
    # V_N = max(1/2, 1) - 10 for the one step left and V_S = 0
    step = ((1, False, True), "work", (2, True, True))
    assert gc.R[step] == F(1, 2) - 10 + (1 - 10 - 0)
    assert fc.R[step] == F(1, 2) + (1 - 0)


def test_a_switch_that_never_happens_is_refused():
    env = cp.MDP(["a"], ["x"], lambda s, a: {"a": 1}, lambda s, a, s2: 1, "a", gamma="1/2")
    with pytest.raises(cp.SpecError, match="the switch never happens"):
        cp.corrected(env, lambda s: False, after=lambda s, a, s2: 0)
    with pytest.raises(cp.SpecError, match="never happens within the horizon 1"):
        cp.corrected(cp.MDP(["a", "b", "c"], ["x"],
                            lambda s, a: {"b": 1} if s == "a" else {"c": 1},
                            lambda s, a, s2: 0, "a"), lambda s: s == "c",
                     after=lambda s, a, s2: 0, horizon=1)


def test_an_undone_switch_and_an_unstamped_state_are_refused():
    flip = cp.MDP(["on", "off"], ["x"], lambda s, a: {"off" if s == "on" else "on": 1},
                  lambda s, a, s2: 0, "off", gamma="1/2")
    with pytest.raises(cp.SpecError, match="the switch is undone"):
        cp.corrected(flip, lambda s: s == "on", after=lambda s, a, s2: 0)
    loop = cp.MDP(["a", "b"], ["stay", "go"],
                  lambda s, a: {"b": 1} if a == "go" or s == "b" else {"a": 1},
                  lambda s, a, s2: 0, "a")
    with pytest.raises(cp.SpecError, match="reachable at steps 1, 2.*step counter"):
        cp.corrected(loop, lambda s: s == "b", after=lambda s, a, s2: 0, horizon=3)


def test_bad_car_factory_arguments_are_named():
    with pytest.raises(cp.SpecError, match="correction = 'fd'"):
        car_factory("1/2", correction="fd")
    with pytest.raises(cp.SpecError, match="no lobbying.*lobby_power=None"):
        car_factory("1/2", gamble="1/2")
    with pytest.raises(cp.ParameterError, match="lobby_power = -1"):
        car_factory(-1)
    with pytest.raises(cp.ParameterError, match="0.5 is a float"):
        car_factory(0.5)


@pytest.mark.parametrize("figure", ["fig2", "fig3", "fig4"])
def test_every_number_in_the_figure_spec_files_matches_the_brute_force(figure):
    import tomllib
    from conftest import REPO
    data = tomllib.loads((REPO / "specs" / f"car_factory_{figure}.toml").read_text())
    claims = data["claims"]
    for name, md in data["mdp"].items():
        if md.get("electric_after_press") in data.get("params", []):
            continue  # the r_e sweep's thresholds: tests/decisions/test_thresholds.py
        L = None if md["lobby_power"] == "none" else F(md["lobby_power"])
        value, optimal = simulator(L, r_e=F(md.get("electric_after_press", "1")),
                                   correction=md.get("correction"), horizon=md["horizon"])
        assert F(claims[f"U(pi_{name}*)"]) == value
        assert claims[f"trace(pi_{name}*)"].strip("'") in optimal


def test_the_figure_14_spec_file_thresholds_match_the_hand_derivation():
    import tomllib
    from conftest import REPO
    claims = tomllib.loads((REPO / "specs" / "car_factory_fig14.toml").read_text())["claims"]
    loss = sum(GAMMA ** k for k in range(1, 4))
    t = (2 + loss) / (4 + loss)
    assert claims["pi_f0*(2, S(pressed=False, timer=5, step=3))"] == f"p if p_w <= {t} else G"
    for p_w, c, key in ((F(6, 10), None, "f0_at_6_10"), (F(6, 10), "fcgc", "fcgc_at_6_10"),
                        (F(7, 10), None, "f0_at_7_10")):
        _, optimal = simulator(None, correction=c, horizon=10, gamble=p_w)
        assert set(claims[f"trace(pi_{key}*)"].strip("'").split(" | ")) <= optimal


def test_the_car_factory_unrolls_under_its_optimal_plan():
    # the car factory's states have named variables but no factored dynamics: cp.unroll
    # keeps one state node per step, and the unrolled world is worth the solution
    m = car_factory("1/2")
    sol = cp.solve(m, 25)
    d = cp.unroll(m, sol, 25)
    assert cp.E(sum((sympy.Rational(9, 10) ** t * d[f"R_{t}"] for t in range(25)),
                    sympy.Integer(0))) == sol.value
    assert cp.P(d.A_11 == "p") == 1 and cp.P(d.S_12 == cp.State(pressed=True, timer=None)) == 1
