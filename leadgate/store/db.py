"""Access to the staging database: one writer at a time, short connections, a read-only path.

DuckDB lets one process write a file. Every leadgate writer (flow steps, CLI, review UI) first
takes a cross-process file lock beside the database, waits for it a bounded time, then opens a
short connection. A lock held by a foreign process (an analyst's read-write session) is retried
with a bounded backoff too. Readers open the file read-only and fall back to the copy published
after each run, so they are never locked out by a long dbt run.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import duckdb

from leadgate.config import LeadgateSettings
from leadgate.store.duckdb_file import DUCKDB_CONFIG as DUCKDB_CONFIG  # re-exported: callers use db.DUCKDB_CONFIG
from leadgate.store.duckdb_file import (
    DatabaseMissing,
    PipelineBusy,
    busy_message,
    hold_writer_lock,
    lock_path,
    open_file,
)
from leadgate.store.erasure_journal import finish_pending
from leadgate.store.holders import leadgate_writer
from leadgate.store.run_lock import hold_run_lock
from leadgate.store.sql import transaction

log = logging.getLogger("leadgate.store.db")


@contextmanager
def writer_lock(settings: LeadgateSettings, timeout: float | None = None) -> Iterator[None]:
    """Hold the cross-process writer lock (without opening a connection): used around dbt runs."""
    wait = settings.lock_timeout if timeout is None else timeout

    def waiting() -> str:
        holder = leadgate_writer(lock_path(settings))
        if wait > 0:
            log.warning("waiting up to %.0f s for %s to finish with database %s", wait, holder.name(), settings.db_path)
        return busy_message(settings.db_path, holder)

    with hold_writer_lock(settings, wait, waiting):
        yield


@contextmanager
def connect(settings: LeadgateSettings, timeout: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short read-write connection under the writer lock, with the schema migrated."""
    wait = settings.lock_timeout if timeout is None else timeout
    with writer_lock(settings, timeout=wait):
        con = open_file(
            settings.db_path, read_only=False, deadline=time.monotonic() + wait, read_copy=settings.read_db_path
        )
        try:
            migrate(con)
            # An erasure a killed `forget` left unfinished is completed before anyone writes or copies the file.
            con = finish_pending(settings, con)
            yield con
        finally:
            con.close()


@contextmanager
def read_connection(
    settings: LeadgateSettings, timeout: float = 2.0, allow_copy: bool = True
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection: the live file if it can be opened quickly, else the published copy."""
    path = settings.db_path
    if not path.exists():
        raise DatabaseMissing(f"no database at {path}: run `leadgate ingest` or `leadgate run` first")
    try:
        con = open_file(path, read_only=True, deadline=time.monotonic() + timeout)
    except PipelineBusy:
        copy = settings.read_db_path
        if not allow_copy or not copy.exists():
            raise
        con = open_file(copy, read_only=True, deadline=time.monotonic() + timeout)
    try:
        yield con
    finally:
        con.close()


def pending_marker(settings: LeadgateSettings) -> Path:
    """A file that exists while changes made under the writer lock are not in the read copy yet."""
    copy = settings.read_db_path
    return copy.with_name(copy.name + ".pending")


def publish_read_copy(settings: LeadgateSettings, timeout: float | None = None) -> Path:
    """Copy the database (checkpointed, under the writer lock) to the read-only path, atomically."""
    target = settings.read_db_path
    tmp = target.with_name(target.name + ".tmp")
    marker = pending_marker(settings)
    with connect(settings, timeout=timeout) as con:
        # Cleared under the lock: a change marked after this point is not in this copy and marks again.
        pending = marker.exists()
        marker.unlink(missing_ok=True)
        try:
            con.execute("checkpoint")
            # Copy and swap while still holding the writer lock: no write lands mid-copy, and two
            # publishers (a run, a review decision) never interleave on the temporary file.
            shutil.copyfile(settings.db_path, tmp)
            os.replace(tmp, target)
        except BaseException:
            if pending:
                marker.touch()
            raise
    return target


# --- migrations -----------------------------------------------------------------------------


def _migration_files() -> list[tuple[int, str, str]]:
    found = []
    for entry in resources.files("leadgate.store.migrations").iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply pending versioned migrations (idempotent; cheap when up to date)."""
    con.execute("create schema if not exists meta")
    con.execute(
        "create table if not exists meta.schema_migrations("
        " version integer primary key, name varchar not null, applied_at timestamptz not null default now())"
    )
    done = {row[0] for row in con.execute("select version from meta.schema_migrations").fetchall()}
    applied = []
    for version, name, sql in _migration_files():
        if version in done:
            continue
        with transaction(con):
            con.execute(sql)
            con.execute("insert into meta.schema_migrations(version, name) values (?, ?)", [version, name])
        applied.append(name)
    return applied


@contextmanager
def run_lock(settings: LeadgateSettings, wait: float = 0.0, **holder: str | None) -> Iterator[None]:
    """Held for a whole pipeline run, so two runs never overlap even without a Prefect server."""
    with hold_run_lock(settings, wait=wait, **holder):
        yield
