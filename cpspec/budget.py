"""Time budgets for whole calls.

A ``timeout`` given to a cpspec call is a budget for the whole call, not for each step.
Two mechanisms enforce it:

* :class:`Deadline` is checked between steps of cpspec's own loops (backward induction,
  policy iteration, verification queries), in any thread;
* :func:`time_limit` also interrupts a long computation inside SymPy, where no check of
  ours runs, with a ``SIGALRM`` timer (fired again every :data:`REFIRE_SECONDS` until the
  body is left, since Python drops an exception raised inside a garbage-collector
  callback). It is used only in the main thread and only when no other alarm is set (a
  user's own ``signal.alarm`` is never replaced or swallowed); elsewhere the deadline
  checks alone apply.

Expiry raises :class:`Expired`, which derives from ``BaseException`` like
``KeyboardInterrupt``, so that no ``except Exception`` inside SymPy mistakes it for a
failed attempt and carries on. Entry points turn it into a cpspec error that says which
budget ran out and how to raise it.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from contextlib import contextmanager

from .errors import BudgetError, SpecError

__all__ = ["Deadline", "Expired", "time_limit", "within", "check_timeout", "REFIRE_SECONDS"]


class Expired(BaseException):
    """A call's time budget ran out (internal: entry points report a cpspec error)."""


def check_timeout(timeout, what: str = "timeout") -> float | None:
    """``timeout`` as seconds (a positive finite number) or None (no limit).

    Examples
    --------
    >>> check_timeout(5), check_timeout(None)
    (5.0, None)
    """
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise SpecError(f"{what} = {timeout!r}: give the seconds as a number (e.g. "
                        f"{what}=60), or None for no limit")
    if not math.isfinite(timeout) or timeout <= 0:
        raise SpecError(f"{what} = {timeout!r}: give a positive, finite number of seconds, "
                        "or None for no limit")
    return float(timeout)


class Deadline:
    """The end of a call's time budget (``None`` seconds: no end).

    Examples
    --------
    >>> d = Deadline(None)
    >>> d.expired(), d.remaining()
    (False, None)
    """

    def __init__(self, seconds: float | None):
        self.seconds = seconds
        self.end = None if seconds is None else time.perf_counter() + seconds

    def remaining(self) -> float | None:
        """Seconds left (never negative), or None without a limit."""
        if self.end is None:
            return None
        return max(0.0, self.end - time.perf_counter())

    def expired(self) -> bool:
        return self.end is not None and time.perf_counter() >= self.end

    def check(self) -> None:
        """Raise :class:`Expired` once the budget is spent."""
        if self.expired():
            raise Expired()


def _can_interrupt() -> bool:
    if not hasattr(signal, "setitimer"):
        return False
    if threading.current_thread() is not threading.main_thread():
        return False
    if signal.getsignal(signal.SIGALRM) not in (signal.SIG_DFL, signal.SIG_IGN, None):
        return False  # someone else's alarm handler: leave it alone
    return signal.getitimer(signal.ITIMER_REAL)[0] == 0


@contextmanager
def time_limit(deadline: Deadline):
    """Interrupt the body with :class:`Expired` when ``deadline`` passes (main thread,
    no other alarm set); otherwise only the deadline's own checks apply. An expiry that
    NumPy turned into a ``SystemError`` (the alarm raised in Python code its C loop
    called, over an object array) leaves as :class:`Expired` too, here or in an
    enclosing limit whose alarm it was."""
    try:
        with _alarm(deadline):
            yield
    except SystemError as exc:
        if _from_expiry(exc):
            raise Expired() from exc
        raise


@contextmanager
def _alarm(deadline: Deadline):
    left = deadline.remaining()
    if left is None or not _can_interrupt():
        deadline.check()
        yield
        return
    if left <= 0:
        raise Expired()
    active = [True]

    def on_alarm(signum, frame):
        if not active[0]:       # the body is over: nothing to interrupt
            signal.signal(signal.SIGALRM, previous)
            return
        # Python drops an exception raised where the handler happens to run inside a
        # garbage-collector callback or a __del__; the alarm fires again shortly, so a
        # dropped expiry never lets the body run on past its budget
        signal.setitimer(signal.ITIMER_REAL, REFIRE_SECONDS)
        raise Expired()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    try:
        signal.setitimer(signal.ITIMER_REAL, left)
        yield
    finally:
        active[0] = False
        _disarm(previous)


#: After a budget's alarm has fired, it fires again this often until the interrupted body
#: is left (an exception raised inside a garbage-collector callback is dropped by Python).
REFIRE_SECONDS = 0.05


def _disarm(previous) -> None:
    """Stop the timer and put the previous handler back, whatever happens: the alarm may
    fire while this runs (the body just finished as the budget ran out), and a handler
    left behind would stop every later budget from interrupting anything."""
    while True:
        try:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            return
        except Expired:  # the alarm fired while disarming: the body's outcome stands
            continue


def _from_expiry(exc: BaseException) -> bool:
    """Whether ``exc`` comes of an :class:`Expired` (see :func:`time_limit`)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, Expired):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def within(deadline: Deadline, verb: str, work, error=None):
    """``work()`` run within the call's budget ``deadline`` (:func:`time_limit`); its
    expiry becomes a :class:`~cpspec.errors.BudgetError` naming ``verb`` (or the
    exception ``error()`` returns, when given), and an enclosing call's budget is left
    to that call.

    >>> within(Deadline(None), "where", lambda: 42)
    42
    """
    try:
        with time_limit(deadline):
            return work()
    except Expired:
        if not deadline.expired():   # an enclosing call's budget: that call reports it
            raise
        if error is not None:
            raise error() from None
        raise BudgetError(f"{verb} did not finish within timeout={deadline.seconds:g} s; "
                          "pass a larger timeout (or None for no limit)") from None
