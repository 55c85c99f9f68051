"""`leadgate sql`: one read-only query for analysts, on the read copy, with bounded output.

The copy is the normal source, so a query never blocks the pipeline. When the copy is missing or
older than the main file and no leadgate writer holds it, the main file is read instead (read-only,
holding the writer lock for the query so a run waits with a clear message rather than failing).
The connection is read-only with external access off: no writes, no COPY TO, no ATTACH, no installs.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
from filelock import FileLock, Timeout

from leadgate.store import db
from leadgate.config import LeadgateSettings
from leadgate.shared.neutral_text import one_line, terminal_safe

SANDBOX = {
    **db.DUCKDB_CONFIG,
    "enable_external_access": "false",   # no files: COPY TO, EXPORT, ATTACH, read_csv('/etc/...'), INSTALL
}
FORMATS = ("table", "csv", "json")
CELL_CHARS = 60


class SqlError(ValueError):
    """The query could not run; the message is one line."""


@dataclass
class QueryResult:
    columns: list[str] = field(default_factory=list)
    rows: list[tuple] = field(default_factory=list)
    truncated: bool = False          # more rows than the limit; only the first `limit` are here
    source: Path | None = None
    note: str | None = None          # e.g. the copy is older than the main file


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
    con.execute("set enable_progress_bar = false")   # DuckDB would draw it on stdout, mixed into CSV/JSON
    con.execute("set lock_configuration = true")     # no SET can undo the sandbox
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
                    if not db._is_lock_error(exc):
                        raise
                    con = None       # a process outside leadgate holds the file
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
            raise db.PipelineBusy(f"the database {main} is busy and there is no read copy yet ({copy}); try again when the run has finished")
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
        raise SqlError("no SQL given: leadgate sql \"select ...\"")
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


def _text(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    return str(value)


def format_table(result: QueryResult) -> str:
    """Aligned columns; long cells are cut to CELL_CHARS characters; lead text cannot drive the terminal."""
    def cell(value: Any) -> str:
        text = one_line(_text(value))
        return text if len(text) <= CELL_CHARS else text[: CELL_CHARS - 1] + "…"

    columns = [one_line(c) for c in result.columns]
    cells = [[cell(v) for v in row] for row in result.rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in cells]
    return "\n".join(lines)


def format_csv(result: QueryResult, terminal: bool = False) -> str:
    """The values as they are; shown on a terminal (not redirected), without escape sequences or controls."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(result.columns)
    for row in result.rows:
        writer.writerow(["" if v is None else _text(v) for v in row])
    text = out.getvalue().rstrip("\n")
    return terminal_safe(text) if terminal else text


def _finite(value: Any) -> Any:
    """NaN and infinities as null: JSON has no literal for them (Python would write an invalid `NaN`)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def format_json(result: QueryResult) -> str:
    rows = [{c: _finite(v) for c, v in zip(result.columns, row)} for row in result.rows]
    return json.dumps(rows, indent=2, default=str, allow_nan=False)


def render(result: QueryResult, fmt: str, terminal: bool = False) -> str:
    """The result as `fmt`; `terminal`: stdout is a terminal (CSV then loses escape sequences; table always does)."""
    if fmt not in FORMATS:
        raise SqlError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if fmt == "csv":
        return format_csv(result, terminal)
    return {"table": format_table, "json": format_json}[fmt](result)
