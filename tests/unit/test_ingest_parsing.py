"""Pure helpers of ingest: file kinds, CSV headers, reject reasons and the report's totals."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest

from leadgate.ingest import FileReport, IngestReport
from leadgate.ingest.records import (
    FIELDS,
    HeaderError,
    csv_layout,
    file_format,
    json_error_reason,
    kept_raw_text,
    oversize_reason,
    parse_csv_header,
    utf8_error_reason,
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("events.jsonl", "jsonl"),
        ("EVENTS.JSON", "jsonl"),
        ("leads.csv", "csv"),
        ("notes.txt", None),
        ("events.jsonl.part", None),
        ("README", None),
    ],
)
def test_file_format_follows_the_extension(name: str, expected: str | None) -> None:
    assert file_format(Path(name)) == expected


def test_csv_header_names_are_trimmed_lower_case_and_unnamed_columns_numbered() -> None:
    assert parse_csv_header(' Event_ID ,Source,"event_type",,Email') == [
        "event_id",
        "source",
        "event_type",
        "column_4",
        "email",
    ]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("event_id,email,EMAIL", "the CSV header names the column 'email' twice"),
        ("   ", "the CSV file has no header row"),
        (None, "the CSV file has no header row"),
    ],
)
def test_unusable_csv_header_says_why(header: str | None, message: str) -> None:
    with pytest.raises(HeaderError, match=message):
        parse_csv_header(header)


def test_csv_layout_maps_known_fields_to_columns_and_keeps_the_rest_as_extras() -> None:
    positions, extra_names, extra_positions = csv_layout(["email", "campaign", "event_id", "source"])
    assert positions[FIELDS.index("email")] == 1
    assert positions[FIELDS.index("event_id")] == 3
    assert positions[FIELDS.index("source")] == 4
    assert positions[FIELDS.index("occurred_at")] == 0  # absent: read as empty
    assert (extra_names, extra_positions) == (["campaign"], [2])


def test_json_error_reason_names_the_problem_and_column() -> None:
    assert json_error_reason('{"event_id": "w-2", "source": "web"') == (
        "line is not valid JSON: Expecting ',' delimiter at column 36"
    )  # just past the end
    assert json_error_reason('{"email": "a@b.c') == "line is not valid JSON: Unterminated string starting at column 11"
    assert json_error_reason('{"score": NaN}') == "line is not valid JSON: NaN is not a JSON value"


def test_raw_text_of_a_rejected_line_is_readable_and_bounded() -> None:
    assert kept_raw_text(b'{"page": "caf\xe9"}') == '{"page": "caf\ufffd"}'
    huge = kept_raw_text(b"x" * 2_000_000)
    assert len(huge) < 2100 and huge.endswith("[cut: 2,000,000 bytes in total]")
    assert oversize_reason(1_048_600) == "record is larger than 1 MiB (1,048,600 bytes)"
    assert utf8_error_reason(0xE9, 12) == "line is not valid UTF-8 (byte 0xe9 at column 12)"


def test_progress_line_and_totals_of_a_report() -> None:
    loaded = FileReport("/in/events.jsonl", "h1", "jsonl", records=1000, accepted=998, rejected=2)
    repeated = FileReport(
        "/in/more.csv", "h2", "csv", records=10, accepted=6, rejected=1, duplicates=3, conflicts=1, field_issues=2
    )
    skipped = FileReport("/in/old.csv", "h3", "csv", skipped=True, skip_reason="unchanged")
    assert loaded.summary("events.jsonl") == "loaded events.jsonl: 998 accepted, 2 rejected, 0 duplicates"
    assert repeated.summary("more.csv") == (
        "loaded more.csv: 6 accepted, 1 rejected, 3 duplicates (1 conflicting, 2 field issues)"
    )
    assert skipped.summary("old.csv") == "skipped old.csv: unchanged"
    report = IngestReport(load_id="load-1")
    for item in (loaded, repeated, skipped):
        report.add(item)
    plain = asdict(report)  # what run summaries store
    assert {
        k: plain[k]
        for k in (
            "records",
            "accepted",
            "rejected",
            "duplicates",
            "conflicts",
            "field_issues",
            "files_loaded",
            "files_skipped",
        )
    } == {
        "records": 1010,
        "accepted": 1004,
        "rejected": 3,
        "duplicates": 3,
        "conflicts": 1,
        "field_issues": 2,
        "files_loaded": 2,
        "files_skipped": 1,
    }
    assert report.accepted + report.rejected + report.duplicates == report.records
