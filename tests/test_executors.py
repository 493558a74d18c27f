"""The executor seam without a cluster: simulate, crosscheck and sweep give the same
answers serially, on threads and on local processes; the shards depend on n and the seed
only; unpicklable models are named; lost pieces are reported, never guessed.
(tests/test_distributed.py runs the same on a Dask LocalCluster.)"""

import os
import pickle
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from fractions import Fraction

import numpy as np
import pytest
import sympy

import cpspec as cp
from cpspec import executors
from cpspec.executors import Lost, run_ordered, ship
from cpspec.inference import sampling
from cpspec.inference.crosscheck import hoeffding_bound

p = sympy.Symbol("p")


def dice():
    return cp.world("f", G=cp.uniform(range(1, 7)), R=cp.uniform(range(1, 7)),
                    S=cp.fn(lambda G, R: G + R))


@pytest.fixture
def small_shards(monkeypatch):
    """Shards of 1,000 samples, so that a few thousand samples make several shards."""
    monkeypatch.setattr(sampling, "SHARD_SAMPLES", 1000)


@pytest.fixture(scope="module")
def processes():
    with ProcessPoolExecutor(2) as ex:
        yield ex


# ---- the seam ------------------------------------------------------------------------

def slow_echo(delay, x):
    time.sleep(delay * (5 - x))  # the first item finishes last
    return x


def test_results_come_back_in_submission_order_whatever_finishes_first():
    with ThreadPoolExecutor(4) as ex:
        done = []
        out = list(run_ordered(ex, slow_echo, range(5), 0.01,
                               on_progress=lambda k, n: done.append((k, n))))
    assert out == [0, 1, 2, 3, 4]
    assert done[-1] == (5, 5) and len(done) == 5


def fails_on_three(_, x):
    if x == 3:
        raise cp.QueryError("three is not allowed")
    return x


@pytest.mark.parametrize("kind", ["serial", "threads", "processes"])
def test_an_error_of_the_work_itself_comes_back_as_that_error(kind, processes):
    ex = {"serial": None, "threads": ThreadPoolExecutor(2), "processes": processes}[kind]
    with pytest.raises(cp.QueryError, match="three is not allowed"):
        list(run_ordered(ex, fails_on_three, range(5)))


def sleeper(_, seconds):
    time.sleep(seconds)
    return seconds


@pytest.mark.parametrize("kind", ["serial", "threads"])
def test_a_budget_that_runs_out_gives_lost_pieces_marked_timed_out(kind):
    ex = None if kind == "serial" else ThreadPoolExecutor(1)
    t0 = time.perf_counter()
    out = list(run_ordered(ex, sleeper, [0, 3, 3], timeout=0.5))
    assert time.perf_counter() - t0 < 2.5
    assert out[0] == 0
    assert all(isinstance(o, Lost) and o.timed_out for o in out[1:])


def die(_, x):
    if x == 1:
        os._exit(1)  # the worker process dies mid-run
    time.sleep(0.2)
    return x


def test_a_worker_process_that_dies_is_lost_never_a_value():
    with ProcessPoolExecutor(2) as ex:
        out = list(run_ordered(ex, die, [0, 1, 2]))
    assert isinstance(out[1], Lost) and not out[1].timed_out
    assert "lost" in out[1].reason
    assert all(o == k or isinstance(o, Lost) for k, o in enumerate(out))


def test_not_an_executor_is_refused():
    with pytest.raises(cp.ExecutorError, match="not a concurrent.futures.Executor"):
        list(run_ordered("tcp://x", sleeper, [0]))


# ---- models that cannot travel ---------------------------------------------------------

LOCK = threading.Lock()


def test_an_unpicklable_structural_function_is_named_with_the_fix(processes):
    bad = cp.world("bad", X=cp.bernoulli(Fraction(1, 2)), Y=cp.fn(lambda X: (LOCK, X)[1]))
    with pytest.raises(cp.ExecutorError) as e:
        cp.simulate(bad, 10, seed=1, executor=processes)
    msg = str(e.value)
    assert "node 'Y' of world 'bad'" in msg and "module level" in msg
    assert "spec file" in msg and "ThreadPoolExecutor" in msg
    # threads share memory: nothing is pickled, the same model works there
    with ThreadPoolExecutor(2) as ex:
        assert len(cp.simulate(bad, 10, seed=1, executor=ex)["Y"]) == 10


def test_without_cloudpickle_a_lambda_is_named_and_cloudpickle_suggested(monkeypatch):
    monkeypatch.setattr(executors, "_pickler", pickle)
    with pytest.raises(cp.ExecutorError) as e:
        ship(dice(), "world 'f'")
    assert "node 'S' of world 'f'" in str(e.value)
    assert "cpspec[distributed]" in str(e.value)


def test_spec_file_worlds_and_agents_travel_with_cloudpickle():
    pytest.importorskip("cloudpickle")
    from conftest import REPO
    from cpspec.spec import loader
    spec = loader.load(REPO / "specs" / "si.toml")
    agent = next(iter(spec.agents.values()))
    back = pickle.loads(ship(agent, "the agent"))
    assert back.planned_action(back.o0, back.env.start) == \
        agent.planned_action(agent.o0, agent.env.start)
    f = pickle.loads(ship(loader.load(REPO / "specs" / "dice.toml").worlds["f"], "f"))
    assert cp.P(f.S == 12) == sympy.Rational(1, 36)


# ---- simulate and crosscheck -----------------------------------------------------------

def test_one_shard_draws_from_default_rng_of_the_seed():
    """The samples of n <= SHARD_SAMPLES are those of numpy's default_rng(seed): the
    uniform die takes the value whose cumulative row first exceeds the draw."""
    s = cp.simulate(dice(), 500, seed=11)
    u = np.random.default_rng(11).random(500)
    assert (s["G"] == 1 + np.floor(u * 6).astype(int)).all()


def test_shards_are_spawned_seed_sequences_of_the_seed(small_shards):
    plan = sampling.shard_plan(2500, 9)
    assert [c for c, _ in plan] == [834, 833, 833]
    assert [s.spawn_key for _, s in plan] == [(0,), (1,), (2,)]
    assert all(s.entropy == 9 for _, s in plan)
    s = cp.simulate(dice(), 2500, seed=9)
    u = np.random.Generator(np.random.PCG64(np.random.SeedSequence(9).spawn(3)[1])).random(833)
    assert (s["G"][834:1667] == 1 + np.floor(u * 6).astype(int)).all()


@pytest.mark.parametrize("kind", ["threads-1", "threads-8", "processes"])
def test_simulate_gives_the_serial_samples_on_any_executor(kind, small_shards, processes):
    """The shard plan is made here, so the workers draw the same small shards."""
    serial = cp.simulate(dice(), 4500, seed=5)
    ex = {"threads-1": ThreadPoolExecutor(1), "threads-8": ThreadPoolExecutor(8),
          "processes": processes}[kind]
    got = cp.simulate(dice(), 4500, seed=5, executor=ex)
    assert all((got[k] == serial[k]).all() for k in "GRS")


def test_simulate_on_processes_equals_serial():
    n = sampling.SHARD_SAMPLES + 5  # two shards of the default size
    serial = cp.simulate(dice(), n, seed=2)
    with ProcessPoolExecutor(2) as ex:
        got = cp.simulate(dice(), n, seed=2, executor=ex)
    assert all((got[k] == serial[k]).all() for k in "GRS")


@pytest.mark.parametrize("workers", [1, 2, 8])
def test_crosscheck_estimate_and_bound_do_not_depend_on_the_workers(workers, small_shards):
    f = dice()
    serial = cp.crosscheck(f, f.S, n=7777, seed=3, given=f.G >= 3)
    with ThreadPoolExecutor(workers) as ex:
        got = cp.crosscheck(f, f.S, n=7777, seed=3, given=f.G >= 3, executor=ex)
    assert got == serial
    # the merged counts are those of the samples themselves
    s = cp.simulate(f, 7777, seed=3)
    vals = s["S"][s["G"] >= 3]
    assert got.n == len(vals) and got.estimate == pytest.approx(vals.mean(), rel=1e-12)
    assert got.bound == hoeffding_bound(12 - 4, len(vals), 0.999)
    assert got.exact == 8 and got.agrees  # E(G | G >= 3) + E(R) = 9/2 + 7/2


def test_crosscheck_on_processes_equals_serial(processes):
    w = cp.world("w", X=cp.bernoulli(p), Y=cp.fn(lambda X: 2 * X))
    n = sampling.SHARD_SAMPLES * 2 + 1
    serial = cp.crosscheck(w, w.Y == 2, n=n, seed=4, params={"p": "1/3"})
    got = cp.crosscheck(w, w.Y == 2, n=n, seed=4, params={"p": "1/3"}, executor=processes)
    assert got == serial and got.exact == sympy.Rational(1, 3) and got.agrees


def test_a_lost_shard_is_an_error_not_an_estimate(monkeypatch):
    monkeypatch.setattr(sampling, "run_ordered",
                        lambda *a, **k: iter([Lost("the worker running it was lost")]))
    with pytest.raises(cp.ExecutorError, match="did not come back.*run again"):
        cp.simulate(dice(), 10, seed=1, executor=ThreadPoolExecutor(1))


# ---- sweep -----------------------------------------------------------------------------

def solve_value(m):
    return cp.solve(m, 2).value


def delayed():
    g = sympy.Symbol("gamma")
    return cp.MDP(
        ["start", "w", "done"], ["take", "wait"],
        lambda s, a: {"w": 1} if (s, a) == ("start", "wait") else {"done": 1},
        lambda s, a, s2: 1 if (s, a) == ("start", "take") else (3 if s == "w" else 0),
        "start", gamma=g)


def test_sweep_gives_exact_answers_with_the_parameter_values():
    q = sympy.Symbol("q")
    w = cp.world("w", X=cp.bernoulli(p), Y=cp.bernoulli(q))
    s = cp.sweep(w, {"p": ["1/4", "1/2"], "q": [0, 1]}, {"both": (w.X == 1) & (w.Y == 1),
                                                         "sum": w.X + w.Y})
    assert s.parameters == ("p", "q") and s.columns == ("both", "sum")
    half, quarter = sympy.Rational(1, 2), sympy.Rational(1, 4)
    assert s.records() == [  # by hand: P(X=1, Y=1) = p q, E(X + Y) = p + q
        {"p": quarter, "q": 0, "both": 0, "sum": quarter},
        {"p": quarter, "q": 1, "both": quarter, "sum": 1 + quarter},
        {"p": half, "q": 0, "both": 0, "sum": half},
        {"p": half, "q": 1, "both": half, "sum": 1 + half}]
    points = cp.sweep(w, [{"p": "1/3", "q": "1/3"}], (w.X == 1) & (w.Y == 1))
    assert points.rows == ((sympy.Rational(1, 3),) * 2 + (sympy.Rational(1, 9),),)
    assert "P((X_w == 1) & (Y_w == 1))" in points.columns[0]


def test_sweep_of_an_mdp_matches_the_parametric_solution():
    m = delayed()
    grid = [sympy.Rational(k, 20) for k in range(21)]
    s = cp.sweep(m, {"gamma": grid}, solve_value)
    # by hand: take now is worth 1, wait then collect 3 is worth 3 gamma
    assert s.column("solve_value") == tuple(sympy.Max(1, 3 * v) for v in grid)
    assert s.column("gamma") == tuple(grid)


@pytest.mark.parametrize("kind", ["threads", "processes"])
def test_sweep_on_an_executor_equals_the_serial_sweep(kind, processes):
    m = delayed()
    grid = {"gamma": [sympy.Rational(k, 10) for k in range(11)]}
    serial = cp.sweep(m, grid, solve_value)
    ex = ThreadPoolExecutor(2) if kind == "threads" else processes
    assert cp.sweep(m, grid, solve_value, executor=ex) == serial


def test_sweep_bad_input_is_named():
    w = cp.world("w", X=cp.bernoulli(p))
    with pytest.raises(cp.ParameterError, match="floating-point.*exact"):
        cp.sweep(w, {"p": [0.5]}, w.X)
    with pytest.raises(cp.ParameterError, match="at p = 3/2.*above 1"):
        cp.sweep(w, {"p": ["3/2"]}, w.X)
    with pytest.raises(cp.ParameterError, match="every combination"):
        cp.sweep(w, "p=1/2", w.X)
    with pytest.raises(cp.QueryError, match="returned the floating-point"):
        cp.sweep(w, {"p": ["1/2"]}, lambda m: 0.5)
    other = cp.world("v", X=cp.bernoulli(p))
    with pytest.raises(cp.QueryError, match="reads world"):
        cp.sweep(w, {"p": ["1/2"]}, other.X)


def test_sweep_budget_is_for_the_whole_call():
    w = cp.world("w", X=cp.bernoulli(p))
    with pytest.raises(cp.BudgetError, match="of 3 points done"):
        cp.sweep(w, {"p": ["1/2", "1/3", "1/4"]}, lambda m: sleeper(None, 0.4) and 0,
                 timeout=0.6)


# ---- cpspec check -j N -------------------------------------------------------------------

def test_cli_check_on_local_processes_prints_the_serial_report(capsys):
    import re
    from conftest import REPO
    from cpspec.cli import main
    files = [str(REPO / "specs" / "dice.toml"), str(REPO / "specs" / "broken" / "fp_myopic.toml"),
             str(REPO / "specs" / "broken" / "dice_bad_rolls.toml")]
    serial_status = main(["check", *files])
    serial = capsys.readouterr().out
    assert main(["check", *files, "-j", "2"]) == serial_status == 1
    out = capsys.readouterr()
    assert re.sub(r"[0-9.]+ s\)", "", out.out) == re.sub(r"[0-9.]+ s\)", "", serial)
    assert "checking: 3/3 jobs" in out.err  # claims, a property, observations
    assert main(["check", *files, "-j", "0"]) == 2
    assert "-j 0: give a positive number of worker processes" in capsys.readouterr().err


def test_a_malformed_file_is_reported_in_its_place_on_workers(tmp_path, capsys):
    from cpspec.cli import main
    good = tmp_path / "a.toml"
    good.write_text('[world.w.node.X]\nfn = "2"\n[claims]\n"E(X_w)" = "2"\n')
    bad = tmp_path / "b.toml"
    bad.write_text('[world.w.node.X]\nfn = "2 +"\n')
    assert main(["check", str(tmp_path), "-j", "1"]) == 2
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("a.toml") and out[1] == "  PASS  E(X_w) = 2"
    assert out[2].endswith("b.toml") and out[3].startswith("  ERROR ") and "cannot parse" in out[3]


# ---- synthesize ------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["threads", "processes"])
def test_synthesis_samples_are_verified_on_an_executor_with_the_serial_result(kind, processes):
    from cpspec.examples import stop_button
    g = sympy.Symbol("gamma")
    sif = cp.agents.SIF(stop_button(gamma=g), null_action="null",
                        stop_pressed=lambda s: s.button == "pressed")
    serial = cp.synthesize(sif, cp.no_incentive("button"), over=g)
    ex = ThreadPoolExecutor(2) if kind == "threads" else processes
    got = cp.synthesize(sif, cp.no_incentive("button"), over=g, executor=ex)
    assert got == serial
    assert [s for _, s in got.samples] == ["holds", "fails"]  # 0 <= g <= 1/2; 1/2 < g < 1


def test_a_job_reads_the_files_it_uses_wherever_the_worker_runs(monkeypatch, tmp_path):
    from conftest import REPO
    from cpspec.spec import loader
    from cpspec.spec.jobs import plan_jobs, run_job
    monkeypatch.chdir(REPO)
    rel = "specs/dice_observations.toml"  # uses = "dice.toml", next to it
    jobs = plan_jobs(rel, (REPO / rel).read_text(), loader.load(rel))
    monkeypatch.chdir(tmp_path)  # a worker with another current folder
    lines = [line for job in jobs for line in run_job(None, job)]
    assert lines and all(line.passed for line in lines), [ln.text for ln in lines]


def test_a_scheduler_address_that_is_no_address_is_named():
    pytest.importorskip("distributed")
    with pytest.raises(cp.ExecutorError, match="'nonsense' is not a scheduler address"):
        executors.connect("nonsense", timeout=1)


def test_a_lost_property_job_is_unknown_and_fails_where_holds_was_expected(monkeypatch):
    from conftest import REPO
    from cpspec.spec import jobs as jobs_module, loader
    path = REPO / "proofs" / "si_no_incentive.toml"
    jobs = [j for j in jobs_module.plan_jobs(str(path), path.read_text(), loader.load(path))
            if j.part == "property"]
    assert {j.expect for j in jobs} == {"holds", "fails"}  # SI holds, the contrast fails
    lost = Lost("the worker running it was lost (KilledWorker: ...)")
    monkeypatch.setattr(jobs_module, "run_ordered", lambda *a, **k: iter([lost] * len(jobs)))
    for job, (line,) in jobs_module.run_jobs(jobs, ThreadPoolExecutor(1)):
        assert line.status == "unknown" and not line.passed
        assert line.text.startswith(f"FAIL  {job.label}: unknown") and "was lost" in line.text
        assert f"expected {job.expect}" in line.text
