"""myopic(N): the structural proof for short planning horizons, the exact spike witnesses
(hand-derived thresholds), readable counterexamples, Z3 as the oracle of the witnesses,
and the whole-call deadline."""

import random
import re
from fractions import Fraction

import pytest
import sympy

import cpspec as cp
from cpspec.budget import Deadline, Expired
from cpspec.examples import delayed_reward
from cpspec.verification import myopia
from cpspec.verification.myopia import check_myopic, find_witness, find_z3_continuation

F = Fraction


def chain(rows, rewards, actions=("a", "b"), gamma="1/2", start="s"):
    """A small MDP from ``{(s, a): {s2: p}}`` (one row for every action where given
    for the state alone as ``{s: {s2: p}}``) and ``{(s, a): r}`` (0 when absent)."""
    states = sorted({s if isinstance(s, str) else s[0] for s in rows})

    def P(s, a):
        return rows[(s, a)] if (s, a) in rows else rows[s]
    return cp.MDP(states, list(actions), P, lambda s, a, s2: rewards.get((s, a), 0), start,
                  gamma=gamma)


def seek_world():
    # s: 'a' takes 2 now and ends in y; 'b' takes 0 and goes to u, whence x or y with 1/2
    return chain({("s", "a"): {"y": 1}, ("s", "b"): {"u": 1}, "u": {"x": F(1, 2), "y": F(1, 2)},
                  "x": {"x": 1}, "y": {"y": 1}}, {("s", "a"): 2})


def avoid_world():
    # as seek_world, but u spreads over x, y and z: avoiding y is the cheapest flip
    return chain({("s", "a"): {"y": 1}, ("s", "b"): {"u": 1},
                  "u": {"x": F(1, 2), "y": F(1, 4), "z": F(1, 4)},
                  "x": {"x": 1}, "y": {"y": 1}, "z": {"z": 1}}, {("s", "a"): 2})


def test_a_value_at_one_state_flips_the_action_just_above_the_hand_threshold():
    # gamma = 1/2, N = 2, V_2 = c at x: Q_0(s, a) = 2 + (1/2)(1/2) V_2(y) = 2 and
    # Q_0(s, b) = (1/2)(1/2)(1/2 c) = c / 8, so b wins iff c > 16: the witness is 17
    v = cp.verify(cp.agents.FP(seek_world()), cp.myopic(2))
    assert (v.status, v.method) == ("fails", "witness")
    cex = v.counterexample
    assert (cex.data["state"], cex.data["nominal"], cex.data["flipped"]) == ("s", "a", "b")
    assert {x: c for x, c in cex.data["continuation_values"].items() if c} == {"x": 17}
    assert cex.evidence["threshold"] == 16 and cex.evidence["confirmed"]
    assert "worth 17 in state 'x' and 0 elsewhere" in cex.text
    # 16 itself is a tie, which goes to the planned (first declared) action
    w = find_witness(seek_world(), {"s": "a"}, 2)
    assert w.values == {"x": 17} and w.threshold == 16


def test_an_avoidance_spike_when_avoiding_is_the_cheaper_flip():
    # after b the chance of y at step 2 is 1/4 (after a: 1): Q_0(s, a) = 2 + c/4 and
    # Q_0(s, b) = c/16 with V_2 = c at y; b wins iff c < -32/3: the witness is -11
    # (a value at x needs c > 16: it is dearer)
    v = cp.verify(cp.agents.FP(avoid_world()), cp.myopic(2))
    cex = v.counterexample
    assert v.status == "fails" and cex.data["flipped"] == "b"
    assert {x: c for x, c in cex.data["continuation_values"].items() if c} == {"y": -11}
    assert cex.evidence["threshold"] == F(-32, 3)


def test_zero_continuation_values_come_first():
    # FP waits for the late reward; cut at step 1 with nothing after, taking is better
    v = cp.verify(cp.agents.FP(delayed_reward(delay=2)), cp.myopic(1))
    cex = v.counterexample
    assert v.method == "witness" and not any(cex.data["continuation_values"].values())
    assert "worth 0 in every state" in cex.text


def test_sth_is_myopic_by_structure_in_every_state_at_once():
    m = random_mdp(40, 3, seed=1)
    for H, N in ((5, 5), (3, 20)):
        v = cp.verify(cp.agents.STH(m, horizon=H), cp.myopic(N))
        assert (v.status, v.method) == ("holds", "structure")
        assert "STH's cut" in v.reason and f"steps >= {N}" in v.reason
    # a planning horizon beyond N is not cut: STH(4) is not myopic(2)
    v = cp.verify(cp.agents.STH(delayed_reward(delay=2), horizon=4), cp.myopic(2))
    assert v.status == "fails"


def random_mdp(n, m, seed, successors=3, rewards=9):
    rng = random.Random(seed)
    P, R = {}, {}
    for s in range(n):
        for a in range(m):
            succ = rng.sample(range(n), min(n, successors))
            w = [rng.randint(1, 4) for _ in succ]
            P[(s, a)] = {s2: F(x, sum(w)) for s2, x in zip(succ, w)}
            for s2 in succ:
                R[(s, a, s2)] = rng.randint(0, rewards)
    return cp.MDP(range(n), range(m), lambda s, a: P[(s, a)],
                  lambda s, a, s2: R[(s, a, s2)], start=0, gamma="9/10")


def reachable(mdp, s, N):
    level = {s}
    for _ in range(N):
        level = {x2 for x in level for a in mdp.actions for x2 in mdp.P[(x, a)]}
    return level


@pytest.mark.parametrize("seed", range(6))
def test_fp_counterexamples_are_short_exact_and_name_only_nonzero_reachable_states(seed):
    m = random_mdp(6, 2, seed, successors=2)
    v = cp.verify(cp.agents.FP(m), cp.myopic(2))
    assert v.status == "fails" and v.counterexample.evidence["confirmed"]
    cex = v.counterexample
    vals = cex.data["continuation_values"]
    assert set(vals) == set(m.states)  # the data has every state, 0 where not shown
    nonzero = {x for x, c in vals.items() if c}
    assert len(nonzero) <= 1
    assert nonzero <= reachable(m, cex.data["state"], 2)
    worth = cex.text.split(" is worth ")[1].split(" (any ")[0]
    shown = set(map(int, re.findall(r"in state (\d+)", worth)))
    assert shown == nonzero
    assert all(abs(int(x)) < 10 ** 6 for x in re.findall(r"-?\d+", cex.text))
    assert ("0 elsewhere" if nonzero else "0 in every state") in cex.text


# ---- Z3 as the oracle of the witnesses --------------------------------------------------

def tiny_mdp(seed):
    rng = random.Random(seed)
    n = rng.randint(2, 4)
    P, R = {}, {}
    for s in range(n):
        for a in ("a", "b"):
            succ = rng.sample(range(n), rng.randint(1, min(n, 2)))
            w = [rng.randint(1, 3) for _ in succ]
            P[(s, a)] = {s2: F(x, sum(w)) for s2, x in zip(succ, w)}
            for s2 in succ:
                R[(s, a, s2)] = rng.randint(0, 3)
    return cp.MDP(range(n), ["a", "b"], lambda s, a: P[(s, a)],
                  lambda s, a, s2: R[(s, a, s2)], start=0, gamma=rng.choice(["1/2", "9/10"]))


def test_the_witness_agrees_with_the_z3_encoding_on_small_random_mdps():
    spikes = 0
    for seed in range(60):
        m = tiny_mdp(seed)
        N = 1 + seed % 3
        nominal = cp.agents.FP(m).planned_actions(())
        w = find_witness(m, nominal, N)
        z3 = {s: find_z3_continuation(m, s, nominal[s], N)[0] for s in m.states}
        assert "unknown" not in z3.values()
        if w is not None:
            assert z3[w.state] == "sat", (seed, w)   # a flip is a flip for Z3 too
            spikes += bool(w.values)
        if all(r == "unsat" for r in z3.values()):
            assert w is None, seed                   # nothing flips: no witness
    assert spikes >= 10  # the spikes, not only V_N = 0, were exercised


# ---- the deadline -----------------------------------------------------------------------

def test_the_whole_call_deadline_gives_unknown_never_holds():
    m = random_mdp(160, 4, seed=3)
    v = cp.verify(cp.agents.FP(m), cp.myopic(50), timeout=0.05)
    assert v.status == "unknown" and "timeout" in v.reason and not v.holds


def test_the_witness_search_stops_at_the_deadline_by_itself():
    # no alarm here (check_myopic is called directly): only the deadline's own checks
    m = random_mdp(40, 4, seed=3)
    spent = Deadline(1e-9)
    with pytest.raises(Expired):
        check_myopic(cp.agents.FP(m), cp.myopic(20), spent)
    with pytest.raises(Expired):
        find_witness(m, cp.agents.FP(m).planned_actions(()), 20, spent)


def test_gamma_zero_has_no_spike_witness():
    # with gamma = 0 nothing after the first step matters: no value of c flips anything,
    # though b reaches x at step 1 and a does not
    m = cp.MDP(["s", "x"], ["a", "b"], lambda s, a: {"x": 1} if a == "b" or s == "x" else {"s": 1},
               lambda s, a, s2: 1 if a == "a" else 0, "s", gamma=0)
    assert find_witness(m, {"s": "a", "x": "a"}, 1) is None


def test_irrational_numbers_skip_the_witness_and_reach_z3():
    m = cp.MDP(["s", "x"], ["a", "b"],
               lambda s, a: {"x": sympy.sqrt(2) / 2, "s": 1 - sympy.sqrt(2) / 2},
               lambda s, a, s2: 1 if a == "a" else 0, "s", gamma="1/2")
    assert find_witness(m, {"s": "a", "x": "a"}, 1) is None
    with pytest.raises(cp.ParameterError, match="cannot encode"):
        cp.verify(cp.agents.FP(m), cp.myopic(1))


def test_readable_values():
    assert [myopia.readable_above(F(t)) for t in (0, F(1, 3), 16, F(999, 1))] == [1, 1, 17, 1000]
    assert myopia.readable_above(F(123456789)) == 130_000_000
    assert myopia.readable_above(F(130_000_000)) == 140_000_000


def test_a_flip_only_in_a_middle_range_is_left_to_z3_and_made_readable():
    # a value of about -10 at state 1 flips state 1's action, but no large |c| at one
    # state does (the spikes' lines do not cross): the witness tier finds nothing, Z3
    # finds values, and they are cut down to one integer at one state
    P = {(0, "a"): {1: 1}, (0, "b"): {0: F(1, 2), 1: F(1, 2)}, (1, "a"): {1: 1},
         (1, "b"): {0: 1}}
    R = {(0, "a", 1): 1, (0, "b", 0): 3, (0, "b", 1): 2, (1, "a", 1): 1, (1, "b", 0): 0}
    m = cp.MDP([0, 1], ["a", "b"], lambda s, a: P[(s, a)], lambda s, a, s2: R[(s, a, s2)],
               0, gamma="9/10")
    nominal = cp.agents.FP(m).planned_actions(())
    assert find_witness(m, nominal, 3) is None
    v = cp.verify(cp.agents.FP(m), cp.myopic(3))
    assert (v.status, v.method) == ("fails", "z3") and v.counterexample.evidence["confirmed"]
    shown = {x: c for x, c in v.counterexample.data["continuation_values"].items() if c}
    assert len(shown) == 1 and all(c.denominator == 1 for c in shown.values())


def test_fast_mixing_differences_below_float_precision_still_give_a_witness():
    # at N = 50 the reach probabilities of the actions agree to about 20 digits: floats
    # cannot tell them apart, the exact pass does
    v = cp.verify(cp.agents.FP(random_mdp(20, 2, seed=2050)), cp.myopic(50))
    assert (v.status, v.method) == ("fails", "witness") and v.counterexample.evidence["confirmed"]
    (c,) = [c for c in v.counterexample.data["continuation_values"].values() if c]
    assert abs(c) > 10 ** 12
