"""Common input mistakes on a real DuckDB file: other encodings, JSON documents, implausible times, wrong files, no inbox."""

from __future__ import annotations

import codecs
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from leadgate.config import LeadgateSettings
from leadgate.ingest import ingest_paths
from leadgate.ingest.report import InputMissing
from leadgate.pipeline.steps import ingest_step
from leadgate.store import db

INGEST = Path(__file__).resolve().parents[1] / "fixtures" / "ingest"
AS_OF = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)


def _rows(settings: LeadgateSettings, query: str) -> list[tuple]:
    with db.read_connection(settings) as con:
        return con.execute(query).fetchall()


def _counts(report) -> tuple[int, int, int, int]:
    (item,) = report.files
    assert item.accepted + item.rejected + item.duplicates == item.records
    return item.records, item.accepted, item.rejected, item.duplicates


@pytest.mark.parametrize(
    "codec, bom",
    [
        ("utf-16-le", codecs.BOM_UTF16_LE),
        ("utf-16-be", codecs.BOM_UTF16_BE),
        ("utf-16-le", b""),
        ("utf-32-le", codecs.BOM_UTF32_LE),
    ],
)
def test_utf16_and_utf32_files_are_read_as_text_with_their_own_line_numbers(settings, codec, bom) -> None:
    path = settings.inbox / "events.jsonl"
    path.write_bytes(bom + (INGEST / "three_events.jsonl").read_bytes().decode("utf-8").encode(codec))
    report = ingest_paths(settings, [path])

    assert _counts(report) == (3, 3, 0, 0)  # 3 events, not 4 (or 50) "records"
    assert report.files[0].read_as == codec.upper().replace("-LE", " LE").replace("-BE", " BE")
    assert _rows(settings, "select line_no, event_id, email from raw.engagement_events order by line_no") == [
        (1, "t-1", None),
        (2, "t-2", "ann@example.com"),
        (4, "t-3", None),
    ]
    assert report.warnings == []


def test_utf16_line_with_a_broken_code_unit_is_rejected_and_the_others_load(settings) -> None:
    lines = (INGEST / "three_events.jsonl").read_bytes().decode("utf-8").split("\r\n")
    broken = lines[1].encode("utf-16-le").replace("Ann".encode("utf-16-le"), b"\x00\xdc" + "nn".encode("utf-16-le"))
    data = codecs.BOM_UTF16_LE + b"\r\x00\n\x00".join(
        [lines[0].encode("utf-16-le"), broken, *(ln.encode("utf-16-le") for ln in lines[2:])]
    )
    path = settings.inbox / "broken16.jsonl"
    path.write_bytes(data)
    report = ingest_paths(settings, [path])

    assert _counts(report) == (3, 2, 1, 0)
    ((line, reason, raw),) = _rows(settings, "select line_no, reason, raw_text from raw.rejected_events")
    assert (line, reason) == (2, f"line is not valid UTF-16 LE (at character {lines[1].index('Ann') + 1})")
    assert "\ufffdnn@Example.com" in raw
    assert [r[0] for r in _rows(settings, "select event_id from raw.engagement_events order by line_no")] == [
        "t-1",
        "t-3",
    ]


def test_utf16_csv_loads_like_the_utf8_file(settings) -> None:
    text = (INGEST / "events.csv").read_text(encoding="utf-8")
    plain = ingest_paths(settings, [_write(settings.inbox / "plain.csv", text.encode("utf-8"))]).files[0]
    (settings.inbox / "plain.csv").unlink()
    wide = ingest_paths(
        settings, [_write(settings.inbox / "wide.csv", codecs.BOM_UTF16_BE + text.encode("utf-16-be"))]
    ).files[0]
    assert (wide.records, wide.accepted + wide.duplicates, wide.rejected, wide.read_as) == (
        plain.records,
        plain.accepted + plain.duplicates,
        plain.rejected,
        "UTF-16 BE",
    )
    by_file = _rows(
        settings, "select source_file, list(line_no order by line_no) from raw.rejected_events group by 1 order by 1"
    )
    assert by_file[0][1] == by_file[1][1]  # the same physical lines rejected


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_pretty_printed_json_array_is_records_at_the_line_where_each_starts(settings) -> None:
    path = settings.inbox / "export.json"
    path.write_bytes(codecs.BOM_UTF8 + (INGEST / "array_pretty.json").read_bytes())
    report = ingest_paths(settings, [path])

    assert _counts(report) == (3, 2, 1, 0)
    assert report.files[0].read_as == "a JSON array"
    assert _rows(settings, "select line_no, event_id, message from raw.engagement_events order by line_no") == [
        (2, "t-a1", None),
        (15, "t-a3", "line one\nline two"),
    ]
    ((line, reason, raw),) = _rows(settings, "select line_no, reason, raw_text from raw.rejected_events")
    assert (line, reason) == (9, "missing email and anonymous_id (at least one is required)")
    assert json.loads(raw)["event_id"] == "t-a2"


def test_one_line_json_array_numbers_its_records_by_position(settings) -> None:
    records = [json.loads(line) for line in (INGEST / "three_events.jsonl").read_text().splitlines() if line]
    path = settings.inbox / "compact.json"
    path.write_text(json.dumps(records))
    report = ingest_paths(settings, [path])

    assert _counts(report) == (3, 3, 0, 0)
    assert "position" in report.files[0].read_as
    assert _rows(settings, "select line_no, event_id from raw.engagement_events order by 1") == [
        (1, "t-1"),
        (2, "t-2"),
        (3, "t-3"),
    ]


def test_pretty_printed_objects_one_after_another_are_records(settings) -> None:
    path = settings.inbox / "objects.json"
    path.write_bytes((INGEST / "objects_pretty.json").read_bytes())
    report = ingest_paths(settings, [path])
    assert _counts(report) == (2, 2, 0, 0)
    assert _rows(settings, "select line_no, event_id from raw.engagement_events order by 1") == [
        (1, "t-o1"),
        (8, "t-o2"),
    ]


def test_a_json_document_that_is_not_valid_json_is_rejected_whole_with_one_reason(settings) -> None:
    path = settings.inbox / "cut.json"
    path.write_text((INGEST / "array_pretty.json").read_text()[:-40])  # a copy cut off mid-write
    report = ingest_paths(settings, [path])

    assert _counts(report) == (1, 0, 1, 0)
    ((line, reason, raw),) = _rows(settings, "select line_no, reason, raw_text from raw.rejected_events")
    assert reason.startswith("the file is not valid JSON (") and reason.endswith("): nothing in it was loaded")
    assert f"at line {line}," in reason and raw.startswith("[\n  {")
    assert _rows(settings, "select count(*) from raw.engagement_events") == [(0,)]


@pytest.mark.parametrize("ending", [",]", "]]", ", {]"])
def test_a_one_line_json_array_that_does_not_parse_is_rejected_with_the_parsers_reason(settings, ending) -> None:
    records = [json.loads(line) for line in (INGEST / "three_events.jsonl").read_text().splitlines() if line]
    path = settings.inbox / "export.json"
    path.write_text(json.dumps(records)[:-1] + ending + "\n")  # e.g. a trailing comma, which DuckDB would let pass
    report = ingest_paths(settings, [path])

    assert _counts(report) == (1, 0, 1, 0)
    ((line, reason),) = _rows(settings, "select line_no, reason from raw.rejected_events")
    assert line == 1 and reason.startswith("the file is not valid JSON (") and "at line 1, column" in reason


def test_json_lines_of_scalars_name_the_json_type(settings) -> None:
    path = _write(settings.inbox / "scalars.jsonl", b'1\n"text"\n2.5\ntrue\n')
    ingest_paths(settings, [path])
    assert _rows(settings, "select line_no, reason from raw.rejected_events order by 1") == [
        (1, "line is a JSON number, not an object"),
        (2, "line is a JSON string, not an object"),
        (3, "line is a JSON number, not an object"),
        (4, "line is a JSON boolean, not an object"),
    ]


def test_json_lines_with_a_broken_first_line_is_still_read_line_by_line(settings) -> None:
    good = (INGEST / "three_events.jsonl").read_text().replace("\r\n", "\n")
    path = settings.inbox / "first_cut.jsonl"
    path.write_text('{"event_id": "t-0", "source": "w\n' + good)
    report = ingest_paths(settings, [path])
    assert _counts(report) == (4, 3, 1, 0) and report.files[0].read_as is None
    assert _rows(settings, "select line_no from raw.rejected_events") == [(1,)]


def test_timestamps_outside_the_plausible_window_are_rejected_with_a_reason(tmp_path, settings) -> None:
    settings = settings.model_copy(update={"as_of": AS_OF})
    path = settings.inbox / "times.jsonl"
    path.write_bytes((INGEST / "timestamps.jsonl").read_bytes())
    report = ingest_paths(settings, [path])

    assert _counts(report) == (11, 5, 6, 0)
    reasons = dict(
        _rows(settings, "select json_extract_string(raw_text, '$.event_id'), reason from raw.rejected_events")
    )
    impossible = "has an impossible UTC offset (they run from -14:00 to +14:00)"
    assert reasons == {
        "w-offset": f"occurred_at '2026-11-10T10:00:00+99:00' {impossible}",
        "w-minutes": f"occurred_at '2026-11-10T10:00:00+05:75' {impossible}",
        "w-9999": "occurred_at '9999-12-31T23:59:59Z' is more than a day after the run's time (2026-11-15 12:00 UTC)",
        "w-future": "occurred_at '2026-11-17T13:00:00Z' is more than a day after the run's time (2026-11-15 12:00 UTC)",
        "w-0001": "occurred_at '0001-01-01T00:00:00Z' is before 2000-01-01",
        "w-1999": "occurred_at '1999-12-31T23:59:59Z' is before 2000-01-01",
    }
    accepted = dict(_rows(settings, "select event_id, occurred_at from raw.engagement_events"))
    assert set(accepted) == {"ok-plus14", "ok-minus14", "ok-2000", "ok-tomorrow", "ok-nepal"}
    assert accepted["ok-plus14"] == datetime(2026, 11, 9, 20, 0, tzinfo=UTC)
    assert accepted["ok-nepal"] == datetime(2026, 11, 10, 4, 15, tzinfo=UTC)


def test_a_mostly_rejected_file_gets_a_warning_with_reasons_and_the_delimiter(settings) -> None:
    path = settings.inbox / "x.csv"
    path.write_bytes((INGEST / "semicolon.csv").read_bytes())
    shown: list[str] = []
    report = ingest_paths(settings, [path], progress=lambda m: None, warn=shown.append)

    assert _counts(report) == (40, 0, 40, 0)
    (warning,) = report.warnings
    assert shown == [f"warning: {warning}"]
    assert warning.startswith(f"{path.resolve()}: 40 of 40 records rejected (missing email and anonymous_id")
    assert "missing required field event_id: 40" in warning
    assert warning.endswith("the file looks ';'-delimited (leadgate reads comma-separated CSV with a header row)")


def test_a_csv_with_another_header_is_told_which_columns_are_missing(settings) -> None:
    path = settings.inbox / "crm.csv"
    path.write_text(
        "Id,Type,Created Date,Email\n" + "".join(f"{i},form,2026-03-01,a{i}@example.com\n" for i in range(5))
    )
    (warning,) = ingest_paths(settings, [path]).warnings
    assert warning.endswith("; its header row has no column event_id, source, event_type, occurred_at")


def test_a_few_rejects_give_no_warning(settings) -> None:
    path = settings.inbox / "ok.csv"
    rows = [f"e{i},web,page_view,2026-03-01,a{i}@example.com" for i in range(3)] + [
        "e9,web,page_view,someday,x@example.com"
    ]
    path.write_text("event_id,source,event_type,occurred_at,email\n" + "\n".join(rows) + "\n")
    report = ingest_paths(settings, [path])
    assert (report.rejected, report.warnings) == (1, [])


@pytest.mark.parametrize("make", ["missing", "file"])
def test_a_missing_inbox_is_an_error_naming_it(tmp_path, settings, make) -> None:
    inbox = tmp_path / "nowhere" / "inbox"
    if make == "file":
        inbox = tmp_path / "inbox.txt"
        inbox.write_text("not a folder")
    settings = settings.model_copy(update={"inbox": inbox})
    with pytest.raises(
        InputMissing, match=f"^inbox {inbox} (does not exist|is not a folder): set LEADGATE_INBOX"
    ) as caught:
        ingest_step(settings)
    assert caught.value.exit_code == 2
    assert not settings.db.exists()  # nothing was opened or created


def test_pretty_printed_records_after_one_line_ones_are_read_as_json(settings) -> None:
    one_line, pretty = (INGEST / "objects_pretty.json").read_text().split("\n}\n", 1)
    path = settings.inbox / "mixed.jsonl"
    path.write_text(json.dumps(json.loads(one_line + "}")) + "\n" + pretty)
    report = ingest_paths(settings, [path])
    assert _counts(report) == (2, 2, 0, 0)
    assert _rows(settings, "select line_no, event_id from raw.engagement_events order by 1") == [
        (1, "t-o1"),
        (2, "t-o2"),
    ]


def test_a_stray_brace_line_in_json_lines_is_one_reject_not_the_whole_file(settings) -> None:
    good = (INGEST / "three_events.jsonl").read_bytes().decode("utf-8").replace("\r\n", "\n")
    path = settings.inbox / "stray.jsonl"
    path.write_text(good.replace("\n\n", "\n{\n"))
    report = ingest_paths(settings, [path])
    assert _counts(report) == (4, 3, 1, 0) and report.files[0].read_as is None
    assert _rows(settings, "select line_no, reason from raw.rejected_events") == [
        (3, "line is not valid JSON: Expecting property name enclosed in double quotes at column 2")
    ]


def test_utf16_json_array_is_transcoded_and_read_as_json(settings) -> None:
    path = settings.inbox / "export16.json"
    path.write_bytes(codecs.BOM_UTF16_LE + (INGEST / "array_pretty.json").read_text().encode("utf-16-le"))
    report = ingest_paths(settings, [path])
    assert _counts(report) == (3, 2, 1, 0) and report.files[0].read_as == "UTF-16 LE, a JSON array"
    assert _rows(settings, "select line_no, event_id from raw.engagement_events order by 1") == [
        (2, "t-a1"),
        (15, "t-a3"),
    ]
    assert _rows(settings, "select line_no from raw.rejected_events") == [(9,)]


def test_a_named_pipe_given_as_a_path_is_ignored_with_a_note_instead_of_hanging(settings, tmp_path) -> None:
    import os
    import subprocess

    from tests.e2e.helpers import cli_env, leadgate

    fifo = tmp_path / "events.jsonl"
    os.mkfifo(fifo)
    try:
        done = leadgate("ingest", str(fifo), env=cli_env(settings.db_path, settings.inbox), timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("`leadgate ingest` of a named pipe blocked")
    assert done.returncode == 0, done.stderr
    assert f"ignored {fifo}: not a regular file" in done.stderr
    assert done.stdout.startswith("0 records: 0 accepted")
