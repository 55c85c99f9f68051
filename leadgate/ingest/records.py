"""Pure helpers of the event format: field names, file kinds, CSV headers and readable reject reasons."""

from __future__ import annotations

import csv
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from leadgate.shared.lead_fields import LEAD_FIELDS

# The known event fields, in the order the SQL extracts them (v[1] .. v[20]).
FIELDS = (
    "event_id",
    "source",
    "event_type",
    "occurred_at",
    "email",
    "anonymous_id",  # between the email and the other lead fields: the order of v[1] .. v[20]
    *LEAD_FIELDS[1:],
    "page_url",
    "message",
    "utm_source",
    "utm_campaign",
    "consent",
)
SOURCES = ("web", "form", "email", "chat", "crm", "event")
MAX_RECORD_BYTES = 1024 * 1024
FORMATS = {".jsonl": "jsonl", ".json": "jsonl", ".csv": "csv"}
RAW_TEXT_KEPT = 2000  # characters of an oversized record kept in raw.rejected_events
# The plausible window for occurred_at: nothing before this, nothing more than FUTURE_SLACK after the run's time
# (a year-9999 touch would never decay; clocks and time zones justify a little slack, not more).
EARLIEST_OCCURRED_AT = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)


def file_format(path: Path) -> str | None:
    """'jsonl' or 'csv' from the file name (case-insensitive), None for files ingest ignores."""
    return FORMATS.get(path.suffix.lower())


def new_load_id() -> str:
    return "load-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:8]


class HeaderError(ValueError):
    """The CSV header row cannot be used; every record of the file is rejected with this message."""


def parse_csv_header(text: str | None) -> list[str]:
    """Column names of a CSV header row: trimmed and lower-cased; unnamed columns become column_N."""
    if text is None or not text.strip():
        raise HeaderError("the CSV file has no header row")
    try:
        rows = list(csv.reader([text], strict=True))
    except csv.Error as exc:
        raise HeaderError(f"the CSV header row is not valid CSV ({exc})") from None
    if len(rows) != 1:
        raise HeaderError("the CSV header row is not valid CSV")
    names = [name.strip().lower() or f"column_{i}" for i, name in enumerate(rows[0], start=1)]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise HeaderError(f"the CSV header names the column '{name}' twice")
        seen.add(name)
    return names


def csv_layout(names: list[str]) -> tuple[list[int], list[str], list[int]]:
    """(1-based column of each known field or 0 when absent, extra column names, their 1-based columns)."""
    index = {name: i for i, name in enumerate(names, start=1)}
    positions = [index.get(name, 0) for name in FIELDS]
    extra = [(name, i) for name, i in index.items() if name not in FIELDS]
    return positions, [name for name, _ in extra], [i for _, i in extra]


def json_error_reason(line: str) -> str:
    """Why a line is not valid JSON, in words (the parser's message and column)."""
    try:
        json.loads(line, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        where = "column" if exc.msg.endswith(" at") else "at column"  # e.g. 'Unterminated string starting at'
        return f"line is not valid JSON: {exc.msg} {where} {exc.colno}"
    except ValueError as exc:
        return f"line is not valid JSON: {exc}"
    return "line is not valid JSON"


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON value")


def utf8_error_reason(byte: int, column: int) -> str:
    return f"line is not valid UTF-8 (byte 0x{byte:02x} at column {column})"


def oversize_reason(size: int) -> str:
    return f"record is larger than 1 MiB ({size:,} bytes)"


def kept_raw_text(raw: bytes) -> str:
    """Text stored for a rejected line: invalid bytes shown as U+FFFD, oversized records cut short."""
    if len(raw) > MAX_RECORD_BYTES:
        return raw[:RAW_TEXT_KEPT].decode("utf-8", "replace") + f" … [cut: {len(raw):,} bytes in total]"
    return raw.decode("utf-8", "replace")


def window_params(scoring_time: datetime) -> dict[str, object]:
    """The SQL parameters of the occurred_at window for a run scored at `scoring_time`."""
    at = scoring_time if scoring_time.tzinfo else scoring_time.replace(tzinfo=UTC)
    return {
        "earliest": EARLIEST_OCCURRED_AT,
        "earliest_text": EARLIEST_OCCURRED_AT.strftime("%Y-%m-%d"),
        "latest": at + FUTURE_SLACK,
        "run_time_text": at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
