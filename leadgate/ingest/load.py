"""Load one file: stage its lines, insert the clean events straight from the checks, then settle the rest.

In one transaction: (1) every record that passes all checks is inserted directly; (2) only if some
records were left out (rejects, events with a field issue) are those read and checked again, into a
small temp table, to write their reasons and issues; (3) repeats of an event already in the table
or earlier in the file are moved to raw.duplicate_events; (4) the file is recorded.

A JSON Lines file is first read trusting that every line is valid JSON (one parse fewer per line).
DuckDB raises on the first malformed line; the transaction is then rolled back and the file read
again, validating each line first. A file whose last line is malformed (a copy cut off mid-write)
is validated from the start.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from leadgate.ingest import sql_check as check
from leadgate.ingest import sql_read as read
from leadgate.ingest.decode import Prepared
from leadgate.ingest.files import FileScan, stage_lines
from leadgate.ingest.records import HeaderError, csv_layout, json_error_reason, parse_csv_header, window_params
from leadgate.ingest.report import FileReport
from leadgate.store.erasure_list import suppress_erased_load
from leadgate.store.sql import registered, transaction

_PARAMETER = re.compile(r"\$([a-z_]+)")


def load_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    fmt: str,
    scan: FileScan,
    read_ok: bool,
    mtime_ns: int,
    load_id: str,
    workdir: Path,
    *,
    scoring_time: datetime,
    prepared: Prepared | None = None,
) -> FileReport:
    """Load one file whose content hash is not yet recorded (read_ok: temp._lines already read); all or nothing.

    `prepared`: the UTF-8 copy read instead of the file (decode.py); `scoring_time` bounds occurred_at.
    """
    read_path, line_scan, forced = (prepared.path, prepared.scan, prepared.specials) if prepared else (path, scan, None)
    try:
        staged = stage_lines(con, read_path, line_scan, workdir, read_ok, forced)
        lines = read.LINES_PATCHED if staged else read.LINES_PLAIN
        if fmt == "jsonl":
            records, parsed, params = read.JSONL_RECORDS.replace("{lines}", lines), read.JSONL_PARSED, {}
        else:
            records, parsed, params = _stage_csv(con, lines)
        params |= {
            "csv": fmt == "csv",
            "load_id": load_id,
            "source_file": str(path),
            "now": datetime.now(UTC),
            "file_hash": scan.sha256,
            "size": scan.size,
            "mtime_ns": mtime_ns,
            "format": fmt,
        }
        params |= window_params(scoring_time)
        trusting = fmt == "jsonl" and not _count(con.execute(read.LAST_LINE_INVALID))  # a cut-off copy: validate
        try:
            counts = _write_file(con, records, read.JSONL_PARSED_TRUSTING if trusting else parsed, params, fmt)
        except duckdb.InvalidInputException as exc:
            if not (trusting and read.is_malformed_json(exc)):
                raise
            # A malformed line somewhere (the first attempt rolled back): read again, validating every line first.
            counts = _write_file(con, records, parsed, params, fmt)
        return FileReport(str(path), scan.sha256, fmt, **counts, read_as=prepared.read_as if prepared else None)
    finally:
        con.execute("reset disabled_optimizers")
        for name in check.TEMP_TABLES:
            con.execute(f"drop table if exists temp.{name}")  # names from a fixed list


def _write_file(con: duckdb.DuckDBPyConnection, records: str, parsed: str, params: dict, fmt: str) -> dict[str, int]:
    """One transaction: the file's rows, minus anyone `leadgate forget` erased (counted as erased), and its record."""
    with transaction(con):
        counts = _write(con, records, parsed, params, fmt)
        suppress_erased_load(con, params["load_id"], params["source_file"], params["now"])
        _run(con, check.RECORD_INGESTED_FILE, {**params, **counts})
    return counts


def _write(con: duckdb.DuckDBPyConnection, records: str, parsed: str, params: dict, fmt: str) -> dict[str, int]:
    # Pushing `reject_reason is null` below the checks would inline and evaluate them twice.
    con.execute("set disabled_optimizers = 'filter_pushdown'")  # reset again by load_file after an error
    clean = _count(_run(con, check.INSERT_CLEAN.replace("{parsed}", parsed.replace("{records}", records)), params))
    con.execute("reset disabled_optimizers")
    total = _count(_run(con, read.COUNT_RECORDS.replace("{records}", records), params))
    leftover = total > clean
    leftover_accepted = 0
    if leftover:
        again = parsed.replace("{records}", read.LEFTOVER.replace("{records}", records))
        _run(con, check.CHECK_LEFTOVER.replace("{parsed}", again), params)
        leftover_accepted = _count(_run(con, check.INSERT_LEFTOVER, params))
    earlier = check.EARLIER if _count(_run(con, check.ANY_EARLIER, params)) else check.NO_EARLIER
    _run(con, check.DUPES.replace("{earlier}", earlier), params)
    duplicates, conflicts = con.execute("select count(*), count(*) filter (where conflicting) from _dupes").fetchall()[
        0
    ]
    consent_conflicts = _count(_run(con, check.INSERT_CONSENT_CONFLICTS, params)) if conflicts else 0
    if duplicates:
        _run(con, check.DELETE_DUPES, params)
    needed = [q for q, wanted in ((check.NEEDED_REJECTS, leftover), (check.NEEDED_CONFLICTS, conflicts)) if wanted]
    needed_sql = " union all ".join(needed) or "select null::bigint as line_no where false"
    _run(con, check.NEEDED_TEXTS.replace("{records}", records).replace("{needed}", needed_sql), params)
    rejected = issues = 0
    if leftover:
        _explain_invalid_json(con, fmt)
        rejected = _count(_run(con, check.INSERT_REJECTED, params))
        issues = _count(_run(con, check.INSERT_FIELD_ISSUES, params))
    if duplicates:
        _run(con, check.INSERT_DUPLICATES, params)
    accepted = clean + leftover_accepted - duplicates
    if accepted + rejected + duplicates != total:  # a bug, never bad input: keep nothing
        raise RuntimeError(f"{params['source_file']}: {accepted} + {rejected} + {duplicates} != {total} records")
    return {
        "records": total,
        "accepted": accepted,
        "rejected": rejected,
        "duplicates": duplicates,
        "conflicts": conflicts,
        "field_issues": issues + consent_conflicts,
    }


def _stage_csv(con: duckdb.DuckDBPyConnection, lines: str) -> tuple[str, str, dict]:
    con.execute(read.CSV_LINES.replace("{lines}", lines))
    spanning = con.execute("select count(*) from _csv_lines where opens").fetchall()[0][0]
    con.execute(read.CSV_RECORDS_SPANNING if spanning else read.CSV_RECORDS_SIMPLE)
    con.execute("drop table _csv_lines")
    rows = con.execute(read.CSV_HEADER).fetchall()
    file_error, names, header_line = None, [], 0
    if rows:
        header_line, text, flaw = rows[0]
        try:
            if flaw is not None:
                raise HeaderError(f"the CSV header row is unusable: {flaw}")
            names = parse_csv_header(text)
        except HeaderError as exc:
            file_error = str(exc)
    positions, extra_names, extra_positions = csv_layout(names)
    params = {
        "positions": positions,
        "file_error": file_error,
        "header_line": header_line,
        "columns": max(len(names), 1),
    }
    extra = read.NO_EXTRA
    if extra_names:
        extra = read.CSV_EXTRA
        params |= {"extra_names": extra_names, "extra_positions": extra_positions}
    return read.CSV_DATA_RECORDS, read.CSV_PARSED.replace("{extra}", extra), params


def _explain_invalid_json(con: duckdb.DuckDBPyConnection, fmt: str) -> None:
    """Give each invalid JSON line the parser's own words (a loop over the bad lines only)."""
    rows = []
    if fmt == "jsonl":
        rows = con.execute(
            "select c.line_no, t.raw_text from _checked c join _texts t on t.line_no = c.line_no"
            " where c.reject_reason = $r",
            {"r": read.INVALID_JSON},
        ).fetchall()
    frame = pd.DataFrame(
        {
            "line_no": pd.Series([r[0] for r in rows], dtype="int64"),
            "reason": pd.Series([json_error_reason(r[1]) for r in rows], dtype="object"),
        }
    )
    with registered(con, _json_reasons_frame=frame):
        con.execute(
            "create or replace temp table _json_reasons as"
            " select line_no::bigint as line_no, reason::varchar as reason from _json_reasons_frame"
        )


def _run(con: duckdb.DuckDBPyConnection, query: str, params: dict) -> duckdb.DuckDBPyConnection:
    """Execute with just the named parameters the statement uses (duckdb refuses unused ones)."""
    used = set(_PARAMETER.findall(query))
    return con.execute(query, {k: v for k, v in params.items() if k in used})


def _count(result: duckdb.DuckDBPyConnection) -> int:
    rows = result.fetchall()
    return int(rows[0][0]) if rows else 0
