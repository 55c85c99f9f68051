"""Ctrl-C (SIGINT) during a pipeline step: one clear message naming the step, never `dbt failed:` or a traceback.

Python turns SIGINT into KeyboardInterrupt, but the libraries in a step swallow it in their own ways:
dbt's runner returns it as the build's exception, and DuckDB ends the running query with
`RuntimeError('Query interrupted')`. So while a step runs, a SIGINT handler notes the signal, and any
exception the step ends with after that note is reported as the interruption it is.
"""

from __future__ import annotations

import functools
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

_seen = threading.Event()
_terminated = threading.Event()  # SIGTERM during a step: DuckDB turns it into 'Query interrupted' too
_current: list[str] = []


class RunInterrupted(KeyboardInterrupt):
    """The run was stopped by Ctrl-C during `step`; what the step wrote was rolled back."""

    def __init__(self, step: str) -> None:
        super().__init__(step)
        self.step = step

    def __str__(self) -> str:
        return f"run interrupted (during {self.step}): nothing was half-applied; the next run picks up from here"


class RunTerminated(RunInterrupted):
    """The run was stopped by SIGTERM during `step` (a service manager, a cancelled deployment run)."""

    def __str__(self) -> str:
        return "leadgate: terminated (SIGTERM)"


def _note(signum: int, frame: Any) -> None:
    _seen.set()
    raise KeyboardInterrupt


def _terminating(previous: Any) -> Callable[[int, Any], None]:
    """A SIGTERM handler that notes the signal, then does what the handler before it (Prefect's) did."""

    def handler(signum: int, frame: Any) -> None:
        _terminated.set()
        if callable(previous):
            previous(signum, frame)
        elif previous != signal.SIG_IGN:
            raise SystemExit(128 + signum)

    return handler


@contextmanager
def _noting_sigterm() -> Iterator[None]:
    """Note a SIGTERM while the block runs, then hand it to the handler that was there (main thread only)."""
    before = signal.signal(signal.SIGTERM, _terminating(signal.getsignal(signal.SIGTERM)))
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


@contextmanager
def watching_termination() -> Iterator[None]:
    """Note a SIGTERM anywhere in the block, between steps too (taking the run lock, recording the run row).

    DuckDB ends the query a signal lands in with `RuntimeError('Query interrupted')`, whoever's handler raised;
    after a SIGTERM that error leaves the block as the RunTerminated it stands for, never as a failed run.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _terminated.clear()
    try:
        with _noting_sigterm():
            yield
    except Exception:
        if not _terminated.is_set():
            raise
        raise RunTerminated(_where()) from None


@contextmanager
def _noting() -> Iterator[None]:
    """Note SIGINT and SIGTERM while the block runs (main thread only: elsewhere Python delivers no signals anyway)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    with _noting_sigterm():
        if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
            yield  # someone else (a test runner, an embedding app) owns SIGINT: leave it alone
            return
        signal.signal(signal.SIGINT, _note)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)


def _where() -> str:
    """The step running now, for the message."""
    return _current[-1] if _current else "between steps"


def interruption(exc: BaseException) -> RunInterrupted | None:
    """The RunInterrupted that `exc` stands for, or None when Ctrl-C had nothing to do with it."""
    if isinstance(exc, RunInterrupted):
        return exc
    if _terminated.is_set() and isinstance(exc, Exception):
        return RunTerminated(_where())
    if isinstance(exc, KeyboardInterrupt) or (_seen.is_set() and isinstance(exc, Exception)):
        return RunInterrupted(_where())
    return None


def step(name: str) -> Callable[[F], F]:
    """Decorate a pipeline step: Ctrl-C inside it surfaces as RunInterrupted(name)."""

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            _seen.clear()
            _current.append(name)
            try:
                with _noting():
                    return fn(*args, **kwargs)
            except BaseException as exc:
                stopped = interruption(exc)
                if stopped is None:
                    raise
                raise stopped from None
            finally:
                _current.pop()

        return run  # type: ignore[return-value]

    return wrap


@contextmanager
def shielded() -> Iterator[None]:
    """Ignore a second Ctrl-C while the run records how it ended (a half-written run row helps nobody)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)
