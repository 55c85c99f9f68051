"""The web server's way into the staging database: short read-only connections, one decision at a time.

DuckDB refuses, inside one process, a read-write connection while a read-only one to the same file is
open (and the other way round), so the server's threads share reads and take turns for writes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb

from leadgate.config import LeadgateSettings
from leadgate.store import db

# A page waits this long for the live file before it reads the published copy (a decision holds the
# file for tens of milliseconds; a pipeline run for minutes).
READ_WAIT = 0.2


class SharedExclusive:
    """A readers-writer lock: many readers, or one writer."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._writer)
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._writer and self._readers == 0)
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


@dataclass
class Reading:
    con: duckdb.DuckDBPyConnection
    from_copy: bool  # True while a writer holds the main file


class Database:
    """Connections for pages (shared) and for decisions (exclusive within this process)."""

    def __init__(self, settings: LeadgateSettings) -> None:
        self.settings = settings
        self._lock = SharedExclusive()

    @contextmanager
    def reading(self) -> Iterator[Reading]:
        with self._lock.shared(), db.read_connection(self.settings, timeout=READ_WAIT) as con:
            path = con.execute(
                "select path from duckdb_databases() where database_name = current_database()"
            ).fetchone()[0]
            yield Reading(con, from_copy=str(path) != str(self.settings.db_path))

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self._lock.exclusive():
            yield
