"""Opening the DuckDB file: retrying a lock another process holds, saying who holds it; the writer lock's path.

Below `db` (connections, migrations) and the erasure journal, which both open the file this way: neither
imports the other for it.
"""

from __future__ import annotations

import logging
import random
import time
from pathlib import Path

import duckdb

from leadgate.config import LeadgateSettings
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
    return f"database {path} is held by {holder.name()}, so leadgate cannot write to it{hint}; try again once it is closed"


def is_lock_error(exc: Exception) -> bool:
    text = str(exc)
    return "Could not set lock" in text or "Conflicting lock" in text


def open_file(path: Path, read_only: bool, deadline: float, read_copy: Path | None = None) -> duckdb.DuckDBPyConnection:
    """Connect, retrying a lock held by another process until `deadline`; a writer says at once who holds it."""
    delay = 0.05
    announced = False
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only, config=DUCKDB_CONFIG)
        except duckdb.IOException as exc:
            if not is_lock_error(exc):
                raise
            holder = holder_from_lock_error(str(exc))
            if time.monotonic() >= deadline:
                raise PipelineBusy(busy_message(path, holder, read_copy)) from None
            if not read_only and not announced:
                log.warning("waiting up to %.0f s for %s to close database %s%s", max(0.0, deadline - time.monotonic()),
                            holder.name(), path, f" (analysts: use the read copy {read_copy})" if read_copy else "")
                announced = True
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())) * (0.5 + random.random()))
            delay = min(delay * 2, 1.0)


def lock_path(settings: LeadgateSettings) -> Path:
    return settings.db_path.with_name(settings.db_path.name + ".lock")

