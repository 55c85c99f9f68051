"""Warnings for files that need a look: most of their records rejected, with the top reasons and a hint.

A file is flagged when at least REJECTED_SHARE of its records were rejected: that is rarely a few bad
records, usually a file in the wrong shape (another delimiter, another header, another export).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from leadgate.ingest.records import HeaderError, parse_csv_header
from leadgate.ingest.report import FileReport

REJECTED_SHARE = 0.5
TOP_REASONS = 3
REQUIRED = ("event_id", "source", "event_type", "occurred_at")
_DELIMITERS = {"\t": "tab", " ": "space"}

# One problem per row (a reason lists several, '; '-separated), with the per-record details taken out
# (the quoted value, a column or a size) so that records that failed the same way count together.
_TOP_REASONS = r"""
select problem, count(*) as records from (
    select regexp_replace(regexp_replace(regexp_replace(problem,
        '^(source|occurred_at|email) ''.*?''( is| has)', '\1\2'),
        ' (at )?column \d+$|\s*\((byte 0x[0-9a-f]{2} at )?column \d+\)$|\s*\(at character \d+\)$', ''),
        '\s*\([\d,]+ bytes\)$', '') as problem
    from (select unnest(string_split(reason, '; ')) as problem
          from raw.rejected_events where load_id = $load_id and source_file = $source_file)
)
group by problem order by records desc, problem
"""


def file_warning(con: duckdb.DuckDBPyConnection, report: FileReport, read_path: Path) -> str | None:
    """One line for a file with most records rejected (read_path: what was read, for the CSV sniffer); else None."""
    if report.skipped or report.records == 0 or report.rejected < REJECTED_SHARE * report.records:
        return None
    rows = con.execute(_TOP_REASONS, {"load_id": _load_id(con, report), "source_file": report.path}).fetchall()
    shown = ", ".join(f"{problem}: {count}" for problem, count in rows[:TOP_REASONS])
    more = f", and {len(rows) - TOP_REASONS} more kind(s)" if len(rows) > TOP_REASONS else ""
    text = f"{report.path}: {report.rejected} of {report.records} records rejected ({shown}{more})"
    if report.format == "csv":
        text += csv_hint(con, read_path)
    return text


def csv_hint(con: duckdb.DuckDBPyConnection, path: Path) -> str:
    """What DuckDB's CSV sniffer sees when it is not leadgate's format: another delimiter, or a header without the fields."""
    try:
        delimiter = con.execute("select Delimiter from sniff_csv(?)", [str(path)]).fetchall()[0][0]
    except (duckdb.Error, IndexError):
        delimiter = None
    if delimiter and delimiter != ",":
        shown = _DELIMITERS.get(delimiter, f"'{delimiter}'")
        return f"; the file looks {shown}-delimited (leadgate reads comma-separated CSV with a header row)"
    try:
        names = parse_csv_header(_first_line(path))
    except (HeaderError, OSError, UnicodeDecodeError):
        return ""
    missing = [name for name in REQUIRED if name not in names]
    if "email" not in names and "anonymous_id" not in names:
        missing.append("email or anonymous_id")
    return f"; its header row has no column {', '.join(missing)}" if missing else ""


def _first_line(path: Path) -> str | None:
    with path.open("r", encoding="utf-8-sig", newline="") as fh:
        for line in fh:
            if line.strip():
                return line.rstrip("\r\n")
    return None


def _load_id(con: duckdb.DuckDBPyConnection, report: FileReport) -> str | None:
    rows = con.execute("select load_id from raw.ingested_files where file_hash = ?", [report.file_hash]).fetchall()
    return rows[0][0] if rows else None
