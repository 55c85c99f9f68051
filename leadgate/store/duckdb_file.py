"""Opening the DuckDB file: retrying a lock another process holds, saying who holds it; the writer lock.

Below `db` (connections, migrations) and the erasure journal, which both open the file this way: neither
imports the other for it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from filelock import FileLock, Timeout

from leadgate.config import LeadgateSettings
from leadgate.shared.retry import Retrier, Retryable, RetryPolicy
from leadgate.store.holders import DatabaseHolder, holder_from_lock_error

log = logging.getLogger("leadgate.store.db")
DUCKDB_CONFIG = {"autoinstall_known_extensions": "false", "autoload_known_extensions": "true"}


class PipelineBusy(RuntimeError):
    """Another writer holds the database for longer than we are willing to wait."""


class DatabaseMissing(RuntimeError):
    """A reader asked for a database that was never created."""


def busy_message(path: Path, holder: DatabaseHolder | None = None, read_copy: Path | None = None) -> str:
    if holder is None or holder.kind == "leadgate":
        who = f", pid {holder.pid}: {holder.command or '?'}" if holder is not None and holder.pid else ""
        return f"the pipeline is running (database {path} is locked by another leadgate writer{who}); try again in a minute"
    hint = f"; analysts: query the read copy {read_copy} instead" if read_copy is not None else ""
    return (
        f"database {path} is held by {holder.name()}, so leadgate cannot write to it{hint}; try again once it is closed"
    )


def is_lock_error(exc: Exception) -> bool:
    text = str(exc)
    return "Could not set lock" in text or "Conflicting lock" in text


class _LockHeld(Retryable, RuntimeError):
    """Another process holds the DuckDB file lock: worth trying again until the deadline."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.holder = holder_from_lock_error(message)


# The lock's bounded backoff: 25-50 ms first, doubling to at most a second, never past the deadline.
LOCK_RETRY = RetryPolicy(max_attempts=None, base_seconds=0.05, max_seconds=1.0)


def open_file(path: Path, read_only: bool, deadline: float, read_copy: Path | None = None) -> duckdb.DuckDBPyConnection:
    """Connect, retrying a lock held by another process until `deadline`; a writer says at once who holds it."""
    announced = False

    def attempt() -> duckdb.DuckDBPyConnection:
        try:
            return duckdb.connect(str(path), read_only=read_only, config=DUCKDB_CONFIG)
        except duckdb.IOException as exc:
            if not is_lock_error(exc):
                raise
            raise _LockHeld(str(exc)) from None

    def waiting(exc: _LockHeld) -> None:
        nonlocal announced
        if not read_only and not announced and time.monotonic() < deadline:
            log.warning(
                "waiting up to %.0f s for %s to close database %s%s",
                max(0.0, deadline - time.monotonic()),
                exc.holder.name(),
                path,
                f" (analysts: use the read copy {read_copy})" if read_copy else "",
            )
            announced = True

    def busy(exc: _LockHeld, _attempts: int) -> PipelineBusy:
        return PipelineBusy(busy_message(path, exc.holder, read_copy))

    try:
        return Retrier(LOCK_RETRY).call(attempt, on_failure=waiting, give_up=busy, deadline=deadline)
    except PipelineBusy as exc:
        raise exc.with_traceback(None) from None


def lock_path(settings: LeadgateSettings) -> Path:
    return settings.db_path.with_name(settings.db_path.name + ".lock")


@contextmanager
def hold_writer_lock(settings: LeadgateSettings, wait: float, waiting: Callable[[], str]) -> Iterator[None]:
    """Hold the cross-process writer lock, waiting up to `wait` s for another writer to release it.

    When another holds it, `waiting()` tells whoever should know and returns the PipelineBusy message raised
    if the wait runs out (`db.writer_lock` logs it, `forget` says it on the terminal).
    """
    settings.db_path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_path(settings)))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        busy = waiting()
        try:
            lock.acquire(timeout=wait)
        except Timeout:
            raise PipelineBusy(busy) from None
    try:
        yield
    finally:
        lock.release()
