"""Action chunks (cpspec.decisions.chunks): X, T and U_C against brute-force path
enumeration, chunk planning against cp.solve on an independent flat encoding and against
step-by-step STH, the effective horizon against simulation, and the named errors."""

import itertools
import random
from fractions import Fraction

import pytest
import sympy

import cpspec as cp
from cpspec.examples import delayed_reward


def random_mdp(seed, n=4, m=2, layered=False):
    """A random MDP; ``layered``: every step goes to a higher state (the last absorbs)."""
    rng = random.Random(seed)
    states, actions = list(range(n)), [f"a{i}" for i in range(m)]
    P, R = {}, {}
    for s, a in itertools.product(states, actions):
        later = [x for x in states if x > s] or [s]
        succ = rng.sample(later if layered else states, min(len(later) if layered else n,
                                                           rng.randint(1, 2)))
        w = [rng.randint(1, 3) for _ in succ]
        P[(s, a)] = {x: Fraction(k, sum(w)) for x, k in zip(succ, w)}
        for x in states:
            R[(s, a, x)] = rng.randint(-2, 3)
    return cp.MDP(states, actions, lambda s, a: P[(s, a)], lambda s, a, s2: R[(s, a, s2)],
                  0, gamma=Fraction(rng.randint(1, 9), 10))


def paths(env, policy, s):
    """Independent: every path of a (deterministic) chunk policy, enumerated."""
    out, U = {}, Fraction(0)
    todo = [(s, 0, Fraction(1), Fraction(1))]
    while todo:
        x, k, p, disc = todo.pop()
        a = policy(x)
        if a == "end" and k > 0:
            out[(x, k)] = out.get((x, k), 0) + p
            continue
        for x2, q in env.P[(x, a)].items():
            U += p * q * disc * env.R[(x, a, x2)]
            todo.append((x2, k + 1, p * q, disc * env.gamma))
    return out, U


def counter_chunk(env, goal):
    """A chunk that acts a0 until it reaches ``goal``, at most via an acyclic order."""
    return lambda s: "end" if s >= goal else "a0"


def ladder(n=5, gamma="9/10"):
    """States 0..n-1; a0 climbs one rung (or two, each half), a1 stays; reward 1 per rung."""
    def t(s, a):
        if a == "a1" or s == n - 1:
            return {s: 1}
        if s == n - 2:
            return {s + 1: 1}
        return {s + 1: Fraction(1, 2), s + 2: Fraction(1, 2)}
    return cp.MDP(list(range(n)), ["a0", "a1"], t,
                  lambda s, a, s2: s2 - s, 0, gamma=gamma)


@pytest.mark.parametrize("goal", [1, 2, 3, 4])
def test_tables_match_brute_force_path_enumeration(goal):
    env = ladder()
    pol = counter_chunk(env, goal)
    m = cp.chunks(env, {"climb": pol}, primitive=True)
    for s in env.states:
        if s >= goal:
            assert "climb" not in m.available(s)
            continue
        kernel, U = paths(env, pol, s)
        assert m.kernel[(s, "climb")] == kernel
        assert m.U(s, "climb") == U
        assert sum(m.T(s, "climb").values()) == 1 and sum(m.X(s, "climb").values()) == 1


def test_hand_derived_tables():
    # from 0, climb to >= 3; each step climbs 1 or 2 rungs (1/2 each):
    # 0-1-2-3 (1/8), 0-1-2-4 (1/8), 0-1-3 (1/4), 0-2-3 (1/4), 0-2-4 (1/4)
    m = cp.chunks(ladder(), {"climb": lambda s: "end" if s >= 3 else "a0"}, primitive=True)
    assert m.T(0, "climb") == {2: Fraction(3, 4), 3: Fraction(1, 4)}
    assert m.X(0, "climb") == {3: Fraction(5, 8), 4: Fraction(3, 8)}
    g = Fraction(9, 10)
    # the reward is the rungs climbed, 3/2 expected per step taken from 0, 1 or 2
    assert m.U(0, "climb") == Fraction(3, 2) + g * Fraction(3, 2) + g ** 2 * Fraction(3, 8)


def flat_encoding(model, N):
    """Independent: the chunk planning world as a flat MDP over (state, elapsed step),
    gamma = 1 and each chunk's utility weighted gamma**tau, solved by cp.solve."""
    env = model.env
    g = env.gamma
    states = [(s, t) for s in env.states for t in range(N)] + ["over"]
    acts = list(model.names)

    def trans(z, c):
        if z == "over":
            return {"over": 1}
        s, t = z
        c = c if c in model.available(s) else model.available(s)[0]
        out = {}
        for (s2, k), p in model.kernel[(s, c)].items():
            key = (s2, t + k) if t + k < N else "over"
            out[key] = out.get(key, 0) + p
        return out

    def rew(z, c, z2):
        if z == "over":
            return 0
        s, t = z
        ok = c in model.available(s)
        return g ** t * model.U(s, c) if ok else -1000
    return cp.MDP(states, acts, trans, rew, (env.states[0], 0), gamma=1)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("N", [1, 2, 4])
def test_plan_matches_an_independent_flat_encoding(seed, N):
    env = random_mdp(seed, n=5, layered=True)
    last = env.states[-1]
    chunks = {"up": lambda s: "end" if s >= 2 else "a1",
              "dice": lambda s: "end" if s == last else (
                  "a0" if s == 0 else {"a0": "1/2", "a1": "1/4", "end": "1/4"})}
    model = cp.chunks(env, chunks, primitive=True)
    assert model.longest() >= 2
    plan = model.plan(N)
    sol = cp.solve(flat_encoding(model, N), N)
    assert plan.values[0][env.states[0]] == sol.value
    assert plan.value == sol.value
    assert plan.policy(0, 0) == sol.policy(0, (0, 0))


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("N", [1, 2, 3, 5])
def test_primitive_chunks_are_step_by_step_sth(seed, N):
    env = random_mdp(seed)
    sth = cp.agents.STH(env, horizon=N)
    chunked = cp.agents.STH(env, horizon=N, chunks=cp.chunks(env, primitive=True))
    sol = cp.solve(env, N)
    plan = chunked.plan((), env.states[0])
    for s in env.states:
        assert chunked.planned_action((), s) == sth.planned_action((), s)
        assert plan.values[0][s] == sol.values[s]
        h = chunked.effective_horizon(s)
        assert h.probabilities == {N: 1} and h.reach == 0


def test_chunks_let_a_short_horizon_see_the_late_reward():
    env = delayed_reward(delay=2)                        # late = 3 after walking 2 steps
    walk = {"walk": lambda s: "end" if s == "done" else "wait"}
    step = cp.agents.STH(env, horizon=1)
    chunked = cp.agents.STH(env, horizon=1, chunks=cp.chunks(env, walk, primitive=True))
    assert step.act((), "start") == "take"
    assert chunked.planned_chunk((), "start") == "walk" and chunked.act((), "start") == "wait"
    assert chunked.plan((), "start").q("start") == {
        "walk": Fraction(243, 100), "take": 1, "wait": 0}
    h = chunked.effective_horizon("start")
    assert h.probabilities == {3: 1} and h.reach == 2
    # the learning world: it walks, then takes nothing but the late reward
    assert chunked.value(3) == Fraction(243, 100)
    assert step.value(3) == 1
    assert "chunk planning world from start, N = 1" in cp.draw(chunked)
    with pytest.raises(cp.SpecError, match="plans with chunks"):
        cp.explain_action(chunked, "start")


def test_effective_horizon_hand_derived_and_by_simulation():
    env = ladder(gamma="1")
    m = cp.chunks(env, {"climb": lambda s: "end" if s >= 3 else "a0"}, primitive=True)
    plan = m.plan(2)
    assert plan.policy(0, 0) == "climb"
    h = plan.effective_horizon(0)
    assert h.probabilities == {2: Fraction(3, 4), 3: Fraction(1, 4)}
    assert h.beyond(0) == Fraction(1, 4) and h.beyond(1) == 0
    p, line = h.line(3)
    assert p == Fraction(1, 8) and line[0][:4] == (0, 0, "climb", 3)
    # simulation in the base MDP, step by step: run the planned chunks' policies
    rng = random.Random(7)

    def step(s, a):
        row = env.P[(s, a)]
        return rng.choices(list(row), [float(q) for q in row.values()])[0]

    counts = {}
    for _ in range(4000):
        s, t = 0, 0
        while t < 2:
            c = plan.policy(t, s)
            if c == "climb":
                while s < 3:
                    s, t = step(s, "a0"), t + 1
            else:
                s, t = step(s, c), t + 1
        counts[t] = counts.get(t, 0) + 1
    assert abs(counts.get(3, 0) / 4000 - 0.25) < 0.03  # Hoeffding: 3 sigma-ish at n=4000


def test_tables_given_directly_are_independent_x_and_t():
    env = delayed_reward()
    X = {("start", "go"): {"done": 1}, ("w1", "go"): {"done": 1}, ("done", "go"): {"done": 1}}
    T = {k: {1: "1/2", 3: "1/2"} for k in X}
    U = {("start", "go"): 2, ("w1", "go"): 3, ("done", "go"): 0}
    m = cp.chunks(env, X=X, T=T, U=U)
    assert m.kernel[("start", "go")] == {("done", 1): Fraction(1, 2), ("done", 3): Fraction(1, 2)}
    h = m.plan(2).effective_horizon("start")
    assert h.probabilities == {2: Fraction(1, 4), 3: Fraction(1, 2), 4: Fraction(1, 4)}
    with pytest.raises(cp.SpecError, match="tables X, T, U, which say nothing"):
        cp.agents.STH(env, horizon=2, chunks=m).act((), "start")


def test_symbolic_parameters_are_refused_for_planning():
    g = sympy.Symbol("gamma")
    m = cp.chunks(delayed_reward(gamma=g), primitive=True)
    assert m.U("w1", "take") == 3
    with pytest.raises(cp.ParameterError, match="bind the environment's parameters"):
        m.plan(2)


# ---- bad input ----------------------------------------------------------------------

def loop_env():
    return cp.MDP(["a", "b", "c"], ["go", "stop"],
                  lambda s, a: {"c": 1} if a == "stop" else {{"a": "b", "b": "a", "c": "c"}[s]: 1},
                  lambda s, a, s2: 0, "a")


def test_a_chunk_that_never_ends_is_named_with_its_loop():
    with pytest.raises(cp.ChunkError, match=r"chunk 'spin' started in state 'a' never ends: "
                       r".*'a' -> 'b' -> 'a'"):
        cp.chunks(loop_env(), {"spin": lambda s: "go"}, primitive=True)


def test_a_chunk_that_can_run_without_bound_is_named():
    env = cp.MDP(["a", "b"], ["go"], lambda s, a: {"a": "1/2", "b": "1/2"},
                 lambda s, a, s2: 0, "a")
    with pytest.raises(cp.ChunkError, match=r"can run without bound.*'a' -> 'a'"):
        cp.chunks(env, {"try": lambda s: "end" if s == "b" else "go"}, primitive=True)


def test_ending_is_checked_on_arrival():
    env = delayed_reward(delay=2)
    half = {"end": "1/2", "wait": "1/2"}
    m = cp.chunks(env, {"c": lambda s: half if s != "done" else "end"}, primitive=True)
    # from start it waits surely, then ends in w1, w2 or done with 1/2, 1/4, 1/4
    assert m.kernel[("start", "c")] == {("w1", 1): Fraction(1, 2), ("w2", 2): Fraction(1, 4),
                                        ("done", 3): Fraction(1, 4)}
    assert m.U("start", "c") == Fraction(1, 4) * Fraction(81, 100) * 3


def test_t_rows_that_are_not_distributions():
    env = delayed_reward()
    X = {(s, "c"): {"done": 1} for s in env.states}
    U = {(s, "c"): 0 for s in env.states}
    with pytest.raises(cp.DistributionError, match=r"T\('start', 'c'\) must be a "
                       r"distribution.*sum to 5/6"):
        cp.chunks(env, X=X, T={k: {1: "1/2", 2: "1/3"} for k in X}, U=U)
    with pytest.raises(cp.DistributionError, match="duration 0"):
        cp.chunks(env, X=X, T={k: {0: 1} for k in X}, U=U)
    with pytest.raises(cp.DistributionError, match=r"X\('start', 'c'\)"):
        cp.chunks(env, X={k: {"done": "1/2"} for k in X}, T={k: {1: 1} for k in X}, U=U)
    with pytest.raises(cp.DomainError, match="not a state"):
        cp.chunks(env, X={k: {"nowhere": 1} for k in X}, T={k: {1: 1} for k in X}, U=U)
    with pytest.raises(cp.SpecError, match="same \\(state, chunk\\) pairs"):
        cp.chunks(env, X=X, T={("start", "c"): {1: 1}}, U=U)


@pytest.mark.parametrize("call, match", [
    (lambda env: cp.chunks(env, {"c": lambda s: "end"}), "no chunk can start in state"),
    (lambda env: cp.chunks(env, {"take": lambda s: "take"}, primitive=True),
     "name of an action"),
    (lambda env: cp.chunks(env, {"c": lambda s: "fly"}, primitive=True),
     "neither an action"),
    (lambda env: cp.chunks(env), "give chunk policies"),
    (lambda env: cp.chunks(env, {"c": lambda s: "take"}, X={}, T={}, U={}),
     "either as policies or as tables"),
    (lambda env: cp.chunks(env, {"c": 3}), "must be a function"),
    (lambda env: cp.chunks(env, {"c": lambda s: 1 / 0}, primitive=True),
     "raised ZeroDivisionError"),
])
def test_bad_chunks(call, match):
    with pytest.raises(cp.SpecError, match=match):
        call(delayed_reward())


def test_an_action_named_end_is_refused():
    env = cp.MDP(["s"], ["end"], lambda s, a: {"s": 1}, lambda s, a, s2: 0, "s")
    with pytest.raises(cp.ChunkError, match="action named 'end'"):
        cp.chunks(env, primitive=True)


def test_bad_lookups_and_horizons():
    m = cp.chunks(delayed_reward(), primitive=True)
    with pytest.raises(cp.DomainError, match="not a chunk"):
        m.X("start", "fly")
    with pytest.raises(cp.DomainError, match="not a state"):
        m.T("nowhere", "take")
    with pytest.raises(cp.SpecError, match="positive integer"):
        m.plan(0)
    with pytest.raises(cp.SpecError, match="whole number of planning steps"):
        cp.agents.STH(delayed_reward(), horizon=sympy.Symbol("N"), chunks=m)


# ---- the approximate planning world as a diagram ------------------------------------

@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("N", [1, 2, 3])
def test_the_planning_world_diagram_is_worth_the_approximate_plan(seed, N):
    # the diagram (X and T independent, U_C discounted by the elapsed step, nothing
    # earned once tau >= N) solved by cp.solve against the chunk plan of approximate()
    env = random_mdp(seed, layered=True)
    m = cp.chunks(env, {"up": counter_chunk(env, 3)}, primitive=True)
    p = m.planning_world(0, N)
    assert cp.solve(p).value == m.approximate().plan(N).value
    assert [n for n in p.order if n.startswith("C_")] == [f"C_{k}" for k in range(N)]


def test_the_planning_world_of_tables_with_an_unavailable_chunk():
    env = delayed_reward(delay=2)
    X = {("start", "long"): {"done": 1}, ("start", "take"): {"done": 1},
         ("w1", "take"): {"done": 1}, ("w2", "take"): {"done": 1},
         ("done", "take"): {"done": 1}}
    T = {k: ({1: Fraction(1, 2), 3: Fraction(1, 2)} if k[1] == "long" else {1: 1}) for k in X}
    U = {k: (Fraction(5) if k[1] == "long" else Fraction(1) if k[0] == "start" else 0)
         for k in X}
    m = cp.chunks(env, X=X, T=T, U=U)
    p = m.planning_world("start", 2)
    # by hand: long (5, ends past N with probability 1/2, else one more step from done:
    # take earns 0) beats take (1 + 0)
    assert cp.solve(p).value == 5 == m.plan(2).value
    assert cp.solve(p).policy("C_0", "start", 0) == "long"
    # the values T gives the elapsed step, and where a line ends nothing more is earned
    q = p.replace("q", C_0=cp.const("long"), C_1=cp.const("take"))
    assert cp.P(q.tau_1 == 3) == Fraction(1, 2) and cp.E(q.U_1) == 0
    with pytest.raises(cp.SpecError, match="horizon 0 must be a positive integer"):
        m.planning_world("start", 0)
    with pytest.raises(cp.DomainError, match="'nowhere' is not a state"):
        m.planning_world("nowhere", 2)
