"""`leadgate sql`: one read-only query for analysts, on the read copy, with bounded output.

The copy is the normal source, so a query never blocks the pipeline. When the copy is missing or
older than the main file and no leadgate writer holds it, the main file is read instead (read-only,
holding the writer lock for the query so a run waits with a clear message rather than failing).
The connection is read-only with external access off: no writes, no COPY TO, no ATTACH, no installs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from filelock import FileLock, Timeout

from leadgate.config import LeadgateSettings
from leadgate.store import db
from leadgate.store.duckdb_file import is_lock_error

SANDBOX = {
    **db.DUCKDB_CONFIG,
    "enable_external_access": "false",  # no files: COPY TO, EXPORT, ATTACH, read_csv('/etc/...'), INSTALL
}
FORMATS = ("table", "csv", "json")


class SqlError(ValueError):
    """The query could not run; the message is one line."""


@dataclass
class QueryResult:
    columns: list[str] = field(default_factory=list)
    rows: list[tuple] = field(default_factory=list)
    truncated: bool = False  # more rows than the limit; only the first `limit` are here
    source: Path | None = None
    note: str | None = None  # e.g. the copy is older than the main file


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


def _copy_is_current(settings: LeadgateSettings) -> bool:
    copy, main = settings.read_db_path, settings.db_path
    if not copy.exists() or db.pending_marker(settings).exists():
        return False
    newest_main = max(_mtime(main), _mtime(main.with_name(main.name + ".wal")))
    return _mtime(copy) >= newest_main


def _connect(path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path), read_only=True, config=SANDBOX)
    con.execute("set enable_progress_bar = false")  # DuckDB would draw it on stdout, mixed into CSV/JSON
    con.execute("set lock_configuration = true")  # no SET can undo the sandbox
    return con


@contextmanager
def analyst_connection(settings: LeadgateSettings) -> Iterator[tuple[duckdb.DuckDBPyConnection, Path, str | None]]:
    """(connection, file, note): the read copy when current, else the main file if free, else the copy with a note."""
    copy, main = settings.read_db_path, settings.db_path
    if _copy_is_current(settings):
        con = _connect(copy)
        try:
            yield con, copy, None
        finally:
            con.close()
        return
    if main.exists():
        writer = FileLock(str(db.lock_path(settings)))
        try:
            writer.acquire(timeout=0)
        except Timeout:
            writer = None
        if writer is not None:
            try:
                try:
                    con = _connect(main)
                except duckdb.IOException as exc:
                    if not is_lock_error(exc):
                        raise
                    con = None  # a process outside leadgate holds the file
                if con is not None:
                    try:
                        yield con, main, None
                    finally:
                        con.close()
                    return
            finally:
                writer.release()
    if not copy.exists():
        if main.exists():
            raise db.PipelineBusy(
                f"the database {main} is busy and there is no read copy yet ({copy}); try again when the run has finished"
            )
        raise db.DatabaseMissing(f"no database at {main}: run `leadgate ingest` or `leadgate run` first")
    when = datetime.fromtimestamp(_mtime(copy), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    note = f"note: the database is busy; this is the read copy published {when}, without the latest changes"
    con = _connect(copy)
    try:
        yield con, copy, note
    finally:
        con.close()


def _one_line(exc: Exception) -> str:
    text = str(exc).strip().split("\n\n")[0]
    return " ".join(text.split())


def run_query(settings: LeadgateSettings, sql: str, limit: int = 1000) -> QueryResult:
    """Run `sql` read-only and return at most `limit` rows (and whether there were more)."""
    if not sql.strip():
        raise SqlError('no SQL given: leadgate sql "select ..."')
    with analyst_connection(settings) as (con, path, note):
        try:
            cursor = con.execute(sql)
        except duckdb.PermissionException as exc:
            raise SqlError(f"refused: leadgate sql is read-only and cannot touch files ({_one_line(exc)})") from None
        except duckdb.Error as exc:
            text = _one_line(exc)
            if "read-only mode" in text:
                raise SqlError(f"refused: leadgate sql is read-only ({text})") from None
            raise SqlError(f"SQL error: {text}") from None
        if cursor is None or cursor.description is None:
            return QueryResult(source=path, note=note)
        columns = [d[0] for d in cursor.description]
        rows = cursor.fetchmany(limit + 1)
    return QueryResult(columns, rows[:limit], len(rows) > limit, path, note)
