"""Time budgets: a timeout bounds the whole call, is reported as a cpspec error (never a
guessed answer), and never replaces or swallows a user's own alarm."""

import gc
import math
import signal
import threading
import time
from contextlib import contextmanager
from fractions import Fraction

import pytest
import sympy

import cpspec as cp
from conftest import hard_incentive_world
from cpspec.examples import delayed_reward
from cpspec.budget import Deadline, Expired, check_timeout, time_limit

N = sympy.Symbol("N", integer=True, nonnegative=True)


def four_state_chain():
    # under the optimal stationary policy the chain's characteristic polynomial has an
    # irreducible cubic factor: SymPy's matrix power took minutes on it
    P = {0: {1: Fraction(1, 2), 2: Fraction(1, 3), 3: Fraction(1, 6)},
         1: {0: Fraction(3, 4), 3: Fraction(1, 4)},
         2: {0: Fraction(1, 4), 1: Fraction(1, 2), 3: Fraction(1, 4)},
         3: {0: Fraction(1)}}
    return cp.MDP([0, 1, 2, 3], ["a"], lambda s, a: P[s], lambda s, a, s2: s2, start=0,
                  gamma="9/10")


def test_symbolic_horizon_without_a_rational_spectrum_is_refused_at_once():
    t0 = time.perf_counter()
    with pytest.raises(cp.ClosedFormError, match="irreducible polynomial of degree 3"):
        cp.solve(four_state_chain(), N)
    assert time.perf_counter() - t0 < 5


def test_symbolic_horizon_with_a_rational_spectrum_still_has_its_closed_form():
    m = cp.MDP(["s", "t"], ["a"], lambda s, a: {"t": 1}, lambda s, a, s2: 1, "s",
               gamma="1/2")
    v = cp.solve(m, N).value
    assert sympy.simplify(v - (2 - 2 * sympy.Rational(1, 2) ** N)) == 0
    assert [v.subs(N, k) for k in range(4)] == [0, 1, sympy.Rational(3, 2),
                                                 sympy.Rational(7, 4)]


def slow_finite_mdp():
    n = 30
    states = list(range(n))

    def step(s, a):
        row = {}
        for s2, p in (((s + 1) % n, Fraction(1, 3)), ((s * 7 + 2) % n, Fraction(2, 3))):
            row[s2] = row.get(s2, 0) + p
        return row
    return cp.MDP(states, ["a", "b"], step,
                  lambda s, a, s2: (s * s2 + (a == "a")) % 5, start=0, gamma="99/100")


def test_a_finite_solve_out_of_budget_is_a_budget_error():
    with pytest.raises(cp.BudgetError, match=r"timeout=0.05 s"):
        cp.solve(slow_finite_mdp(), 8_000, timeout=0.05)


def test_the_budget_holds_outside_the_main_thread():
    out = {}

    def work():
        t0 = time.perf_counter()
        try:
            cp.solve(slow_finite_mdp(), 8_000, timeout=0.2)
        except cp.BudgetError as exc:
            out["error"] = exc
        out["seconds"] = time.perf_counter() - t0

    th = threading.Thread(target=work)
    th.start()
    th.join(60)
    assert isinstance(out.get("error"), cp.BudgetError)
    assert out["seconds"] < 5


class UserAlarm(Exception):
    pass


@contextmanager
def no_gc_callbacks():
    """Python drops an exception raised inside a garbage-collector callback (it is only
    reported as unraisable), and the test framework installs such callbacks: an alarm
    whose handler happens to run inside one would vanish whatever cpspec does. Keep the
    collector and its callbacks out of the way while a test relies on a signal."""
    saved = list(gc.callbacks)
    was_enabled = gc.isenabled()
    gc.callbacks.clear()
    gc.disable()
    try:
        yield
    finally:
        gc.callbacks.extend(saved)
        if was_enabled:
            gc.enable()


def test_a_users_alarm_is_neither_replaced_nor_swallowed():
    def handler(signum, frame):
        raise UserAlarm()

    previous = signal.signal(signal.SIGALRM, handler)
    try:
        with no_gc_callbacks():
            signal.setitimer(signal.ITIMER_REAL, 0.05)
            with pytest.raises(UserAlarm):
                cp.solve(slow_finite_mdp(), 8_000, timeout=30)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_no_alarm_is_left_behind():
    cp.solve(slow_finite_mdp(), 3, timeout=10)
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0
    assert signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, signal.SIG_IGN, None)


def test_time_limit_interrupts_a_long_computation():
    t0 = time.perf_counter()
    with pytest.raises(Expired):
        with time_limit(Deadline(0.1)):
            while time.perf_counter() - t0 < 10:  # bounded: a failure, never a hang
                pass
    assert time.perf_counter() - t0 < 5


@pytest.mark.parametrize("seconds", [0.001, 0.002, 0.005, 0.01, 0.02])
def test_an_alarm_at_the_end_of_the_body_leaves_no_handler_behind(seconds):
    # the budget runs out just as the work ends: whichever way the race goes, the
    # handler and the timer are gone afterwards
    for _ in range(20):
        try:
            with time_limit(Deadline(seconds)):
                t0 = time.perf_counter()
                while time.perf_counter() - t0 < seconds:
                    pass
        except Expired:
            pass
        assert signal.getitimer(signal.ITIMER_REAL)[0] == 0
        assert signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, signal.SIG_IGN, None)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -1, 0, "5", True])
def test_bad_timeouts_are_refused(bad):
    with pytest.raises(cp.SpecError, match="timeout"):
        check_timeout(bad)
    with pytest.raises(cp.SpecError, match="timeout"):
        cp.solve(slow_finite_mdp(), 2, timeout=bad)
    env = delayed_reward()
    with pytest.raises(cp.SpecError, match="timeout"):
        cp.verify(cp.agents.FP(env), cp.myopic(1), timeout=bad)


def test_verify_timeout_is_a_budget_for_the_whole_call():
    # a world where every Z3 query on no_incentive times out (nonlinear in the free
    # dynamics) and no deterministic table flips FP's action: with per-query timeouts
    # the call once took a multiple of the timeout
    m = hard_incentive_world()
    t0 = time.perf_counter()
    v = cp.verify(cp.agents.FP(m), cp.no_incentive("y"), timeout=2)
    seconds = time.perf_counter() - t0
    assert v.status == "unknown" and not v.holds
    assert seconds < 4, seconds


def test_an_expiry_dropped_where_python_drops_exceptions_fires_again():
    # as if the first Expired were raised inside a garbage-collector callback, where
    # Python drops it: the body must still be interrupted, soon after
    dropped = []
    t0 = time.perf_counter()
    with pytest.raises(Expired):
        with time_limit(Deadline(0.05)):
            while time.perf_counter() - t0 < 10:      # bounded: a failure, never a hang
                try:
                    while time.perf_counter() - t0 < 10:
                        pass
                except Expired:
                    if dropped:
                        raise
                    dropped.append(time.perf_counter() - t0)
    assert len(dropped) == 1 and time.perf_counter() - t0 < 5
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0
    assert signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, signal.SIG_IGN, None)


def test_an_expiry_inside_numpys_loop_over_python_objects_is_a_budget_error():
    """The alarm may fire in Python code NumPy calls from C (an object array of
    Fractions): it arrives as a SystemError caused by the expiry, and is still reported
    as the call's BudgetError; a SystemError of another cause is left alone."""
    import numpy as np
    from cpspec.budget import within
    a = np.array([[Fraction(k, 7) for k in range(60)]] * 60, dtype=object)
    t0 = time.perf_counter()

    def work():
        while time.perf_counter() - t0 < 10:       # bounded: a failure, never a hang
            a.dot(a)

    with pytest.raises(cp.BudgetError, match="solve did not finish within timeout=0.2 s"):
        within(Deadline(0.2), "solve", work)
    assert time.perf_counter() - t0 < 5

    def broken():
        raise SystemError("something else")
    with pytest.raises(SystemError, match="something else"):
        within(Deadline(5), "solve", broken)
    # the limit itself gives Expired (what verify, synthesize and the executors catch),
    # also where an inner limit cannot interrupt and the enclosing one's alarm fires
    t0 = time.perf_counter()
    with pytest.raises(Expired):
        with time_limit(Deadline(0.2)):
            work()
    t0 = time.perf_counter()
    with pytest.raises(Expired):
        with time_limit(Deadline(0.2)):
            with time_limit(Deadline(60)):
                work()
    assert time.perf_counter() - t0 < 5
