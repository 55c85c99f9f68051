"""Finishing an erasure: rewrite the database file and republish the read copy, resumable after a crash.

Deleted rows linger in the file's freed blocks, and the read copy is a copy of the file, so an
erasure is only done once both were rewritten. Each erasure's progress is a row of
meta.erasure_journal (erased -> rewritten -> done), written in the erasure's own transaction; whoever
next takes the writer lock (a re-run of `forget`, or any writer's `db.connect`) finishes what a
killed one left. Every step is idempotent, so dying between any two of them is repaired by
running the rest again.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from leadgate.config import LeadgateSettings
from leadgate.store.duckdb_file import DUCKDB_CONFIG, hold_writer_lock, open_file
from leadgate.store.sql import relation_exists, utcnow

Progress = Callable[[str], None]
ERASED, REWRITTEN, DONE = "erased", "rewritten", "done"
WAITING = "waiting for the pipeline run to release the database {path}…"


class ErasureUnfinished(RuntimeError):
    """An interrupted erasure could not be finished now (the file is open elsewhere); nothing may copy it."""


def _quiet(_: str) -> None:
    return None


def new_erasure_id() -> str:
    return "er_" + uuid.uuid4().hex[:16]


def open_journal(con: duckdb.DuckDBPyConnection, lead_id: str | None, now: object) -> str:
    """Record, inside the erasure's transaction, that the file and the read copy still need rewriting."""
    erasure_id = new_erasure_id()
    con.execute(
        "insert into meta.erasure_journal (erasure_id, lead_id, step, started_at, updated_at) values (?, ?, ?, ?, ?)",
        [erasure_id, lead_id, ERASED, now, now],
    )
    return erasure_id


def unfinished(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """erasure_id -> step for every erasure not yet done."""
    con.complete()
    if not relation_exists(con, "meta", "erasure_journal"):
        return {}  # a database migrated only part of the way (tests of older versions)
    return dict(con.execute("select erasure_id, step from meta.erasure_journal where step <> ?", [DONE]).fetchall())


def _set_step(path: Path, ids: list[str], step: str) -> None:
    con = _connect(path)
    try:
        con.execute(
            "update meta.erasure_journal set step = ?, updated_at = ? where erasure_id in (select unnest(?))",
            [step, utcnow(), ids],
        )
    finally:
        con.close()


def _connect(path: Path) -> duckdb.DuckDBPyConnection:
    return open_file(path, read_only=False, deadline=time.monotonic() + 5)


@contextmanager
def erasure_lock(settings: LeadgateSettings, wait: float, progress: Progress = _quiet) -> Iterator[None]:
    """The writer lock, for up to `wait` seconds; says plainly (through `progress`) when it has to wait for it."""

    def waiting() -> str:
        progress(WAITING.format(path=settings.db_path))
        return (
            f"the pipeline is running (database {settings.db_path} is locked by another writer for more than "
            f"{wait:g} s); try again in a minute"
        )

    with hold_writer_lock(settings, wait, waiting):
        yield


def _alone(path: Path) -> bool:
    """No other connection of this process has the file open (DuckDB would share its instance with us)."""
    try:
        probe = duckdb.connect(str(path), read_only=True, config=DUCKDB_CONFIG)
    except duckdb.Error:
        return False
    probe.close()
    return True


def rewrite_file(path: Path) -> None:
    """Copy the database into a fresh file and swap it in, so deleted rows leave no bytes behind."""
    tmp = path.with_name(path.name + ".rewrite")
    tmp.unlink(missing_ok=True)
    con = _connect(path)
    try:
        con.execute("checkpoint")
        name = con.execute("select current_database()").fetchall()[0][0]
        # ATTACH takes no bound parameters: the path is ours (beside the database), quoted here.
        target = str(tmp).replace("'", "''")
        con.execute(f"attach '{target}' as _erasure_clean")
        con.execute('copy from database "' + name.replace('"', '""') + '" to _erasure_clean')
        con.execute("detach _erasure_clean")
    except Exception:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        con.close()
    if path.with_name(path.name + ".wal").exists() or not _alone(path):
        # Swapping the file under a write-ahead log or an open instance would corrupt the database.
        tmp.unlink(missing_ok=True)
        raise ErasureUnfinished(f"{path} is still open, so it could not be rewritten without the erased rows")
    os.replace(tmp, path)


def publish_clean_copy(settings: LeadgateSettings, ids: list[str]) -> None:
    """Publish the read copy from the rewritten file, with these erasures already marked done in it."""
    target = settings.read_db_path
    tmp = target.with_name(target.name + ".tmp")
    con = _connect(settings.db_path)
    try:
        con.execute("checkpoint")
        shutil.copyfile(settings.db_path, tmp)
    finally:
        con.close()
    copy = duckdb.connect(str(tmp), config=DUCKDB_CONFIG)
    try:
        copy.execute("update meta.erasure_journal set step = ? where erasure_id in (select unnest(?))", [DONE, ids])
        copy.execute("checkpoint")
    finally:
        copy.close()
    os.replace(tmp, target)


def drop_read_copy(settings: LeadgateSettings) -> None:
    """Remove the read copy (and a half-written one) before an erasure commits: it must never outlive it."""
    target = settings.read_db_path
    for path in (target, target.with_name(target.name + ".tmp")):
        path.unlink(missing_ok=True)


def finish_locked(settings: LeadgateSettings, progress: Progress = _quiet) -> list[str]:
    """With the writer lock held and no connection open: finish every unfinished erasure; their ids."""
    path = settings.db_path
    con = _connect(path)
    try:
        steps = unfinished(con)
    finally:
        con.close()
    if not steps:
        return []
    ids = sorted(steps)
    drop_read_copy(settings)  # idempotent: a copy published before the erasure may still be there
    to_rewrite = [i for i, step in steps.items() if step == ERASED]
    if to_rewrite:
        progress(f"rewriting {path} so the erased rows leave no bytes behind")
        rewrite_file(path)
        _set_step(path, to_rewrite, REWRITTEN)
    progress(f"publishing the read-only copy {settings.read_db_path} without the erased rows")
    publish_clean_copy(settings, ids)
    _set_step(path, ids, DONE)
    return ids


def finish_pending(settings: LeadgateSettings, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Called by `db.connect` (lock held): if a killed erasure left work, finish it first; returns a connection."""
    if not unfinished(con):
        return con
    con.close()
    try:
        finish_locked(settings)
    finally:
        con = open_file(settings.db_path, read_only=False, deadline=time.monotonic() + settings.lock_timeout)
    return con
