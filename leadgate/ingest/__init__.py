"""Ingest engagement events (JSON Lines or CSV files, or folders of them) into the raw.* tables.

Contract, file by file (each file is one transaction, so a crash leaves it unrecorded and retried):

- Records: a JSONL record is a non-blank line; a CSV record is a row after the header row, and may
  span several physical lines inside a quoted field. Blank lines (empty or only whitespace, outside
  a quoted field) are not records: they are skipped, neither counted nor rejected. A UTF-8 BOM and
  CRLF line ends are accepted. CSV: comma-separated, header names trimmed and case-insensitive,
  every row as many fields as the header, '"' quoting with '""' inside (a quote inside an unquoted
  field is kept as text), empty cells are empty values.
- Line numbers are physical lines of the file, from 1 (the CSV header is line 1); a record spanning
  several lines is reported at its first line.
- Rejected (raw.rejected_events, with the file, line, raw text and a reason a person can read):
  a line that is not valid JSON / not a JSON object / not a valid CSV row / not UTF-8 / larger than
  1 MiB; a missing or invalid event_id, source, event_type or occurred_at; neither email nor
  anonymous_id; an email that is present but not a valid address (even with an anonymous_id: a
  wrong identity is worse than none); an occurred_at with a UTC offset beyond ±14:00, before
  2000-01-01 or more than a day after the run's scoring time. Several problems are listed together,
  separated by '; '.
- UTF-16/UTF-32 files and JSON documents (a JSON array, pretty-printed objects) are read through a
  UTF-8 copy (decode.py); a file with most records rejected gets a warning (alerts.py).
- Accepted with a field emptied and a row in raw.field_issues: company_size, company_domain or
  consent that cannot be read. Normalised: email (leadgate/shared/emails.py: trimmed, A-Z lower-cased, IDNA
  domain; never a non-ASCII character mapped to ASCII), source (lower case),
  company_domain (lower case, no scheme, 'www.', port or path), company_size ('250', '51-200',
  '10000+'), consent (the vocabulary of leadgate/policy/consent.py, the same for both formats), text fields
  trimmed, empty text -> NULL,
  occurred_at without an offset taken as UTC. Unknown keys (JSONL) or non-empty unknown columns
  (CSV) are kept in `extra`.
- Duplicates (raw.duplicate_events): a (source, event_id) already loaded, or seen earlier in the
  same file (the first in file order wins). `conflicting` when the normalised content (a hash of
  every stored field and `extra`, computed for the repeats only; an unreadable optional value
  counts as empty) differs; the raw text is kept for conflicting ones. Hence accepted + rejected +
  duplicates == records.
- Files are recorded in raw.ingested_files by sha256; a file with a recorded hash is skipped
  (reason 'unchanged'), and a file whose path, size and mtime match the record is skipped without
  reading it. A changed file is loaded again as a whole: its old events become duplicates. The
  user's files are never moved or modified.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import duckdb

from leadgate.config import LeadgateSettings
from leadgate.ingest.alerts import file_warning
from leadgate.ingest.decode import LONE_BRACES, prepare_file
from leadgate.ingest.files import discover_files, read_lines, scan_file
from leadgate.ingest.load import load_file
from leadgate.ingest.records import new_load_id
from leadgate.ingest.report import FileReport, IngestError, IngestReport
from leadgate.shared.emails import register_sql_function
from leadgate.store import db

__all__ = ["FileReport", "IngestError", "IngestReport", "ingest_paths"]

Progress = Callable[[str], None]


def ingest_paths(
    settings: LeadgateSettings,
    paths: Iterable[str | Path],
    progress: Progress | None = None,
    warn: Progress | None = None,
) -> IngestReport:
    """Load every .jsonl/.json/.csv file under `paths` into raw.*, skipping files already ingested.

    `warn` gets the files that need a look (most records rejected; default: `progress`).
    """
    started = time.perf_counter()
    files, notes = discover_files([Path(p) for p in paths])
    report = IngestReport(load_id=new_load_id(), notes=notes)
    for note in notes:
        _tell(progress, note)
    if not files:
        return report
    scoring_time = settings.scoring_time()  # occurred_at more than a day after it is rejected
    with db.connect(settings) as con, tempfile.TemporaryDirectory(prefix="leadgate-ingest-") as workdir:
        # Timestamps without an offset are UTC; line numbers rely on insertion order.
        con.execute("set TimeZone = 'UTC'; set preserve_insertion_order = true")
        register_sql_function(con)  # the email rule (leadgate/shared/emails.py), for ingest's checks
        for path, fmt in files:
            file_report = _ingest_file(con, path, fmt, report.load_id, Path(workdir), scoring_time)
            report.add(file_report)
            _tell(progress, file_report.summary(path.name))
            if file_report.warning:
                _tell(warn or progress, f"warning: {file_report.warning}")
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _ingest_file(
    con: duckdb.DuckDBPyConnection, path: Path, fmt: str, load_id: str, workdir: Path, scoring_time: datetime
) -> FileReport:
    started = time.perf_counter()
    try:
        stat = path.stat()
    except OSError as exc:
        raise IngestError(f"cannot read {path}: {exc.strerror or exc}") from None
    known = _first(
        con.execute(
            "select file_hash from raw.ingested_files where path = ? and size_bytes = ? and mtime_ns = ?"
            " order by ingested_at desc limit 1",
            [str(path), stat.st_size, stat.st_mtime_ns],
        )
    )
    if known:
        return FileReport(str(path), known[0], fmt, skipped=True, skip_reason="unchanged")
    with ThreadPoolExecutor(max_workers=1) as pool:  # hash the file while DuckDB splits it into lines
        pending = pool.submit(scan_file, path)
        read_ok = read_lines(con, path)
        scan = pending.result()
    earlier = _first(con.execute("select path from raw.ingested_files where file_hash = ?", [scan.sha256]))
    if earlier:
        con.execute("drop table if exists temp._lines")
        if earlier[0] == str(path):  # touched but not changed: remember the new mtime for a fast skip next time
            con.execute(
                "update raw.ingested_files set size_bytes = ?, mtime_ns = ? where file_hash = ?",
                [scan.size, stat.st_mtime_ns, scan.sha256],
            )
            reason = "unchanged"
        else:
            reason = f"unchanged: same content as {earlier[0]}, already ingested"
        return FileReport(str(path), scan.sha256, fmt, skipped=True, skip_reason=reason)
    lone_braces = fmt == "jsonl" and read_ok and bool(_first(con.execute(LONE_BRACES)))
    prepared = prepare_file(
        path, fmt, scan, workdir, lone_braces=lone_braces
    )  # UTF-16, a JSON array, ...: read a UTF-8 copy
    try:
        if prepared is not None:
            read_ok = read_lines(con, prepared.path)
        file_report = load_file(
            con,
            path,
            fmt,
            scan,
            read_ok,
            stat.st_mtime_ns,
            load_id,
            workdir,
            scoring_time=scoring_time,
            prepared=prepared,
        )
        file_report.warning = file_warning(con, file_report, prepared.path if prepared else path)
    except duckdb.Error as exc:
        raise IngestError(f"could not load {path}: {str(exc).splitlines()[0]}") from exc
    finally:
        if prepared is not None:
            prepared.path.unlink(missing_ok=True)
    file_report.seconds = round(time.perf_counter() - started, 3)
    return file_report


def _first(result: duckdb.DuckDBPyConnection) -> tuple | None:
    rows = result.fetchall()  # fetch to the end: duckdb keeps a half-read result open
    return rows[0] if rows else None


def _tell(progress: Progress | None, message: str) -> None:
    if progress is not None:
        progress(message)
