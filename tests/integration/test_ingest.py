"""Ingest on a real DuckDB file: what lands in raw.*, at which line, for which reason, and what is skipped."""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from leadgate.config import LeadgateSettings
from leadgate.ingest import IngestError, ingest_paths
from leadgate.store import db

INGEST = Path(__file__).resolve().parents[1] / "fixtures" / "ingest"
CONSENT_PROBLEM = "not a consent value in the vocabulary (true/false, yes/no, y/n, 1/0, on/off, opt-in/opt-out, ...)"


def _inbox_copy(settings: LeadgateSettings, *names: str) -> list[Path]:
    paths = []
    for name in names:
        target = settings.inbox / name
        shutil.copyfile(INGEST / name, target)
        paths.append(target)
    return paths


def _rows(settings: LeadgateSettings, query: str, params: list | None = None) -> list[tuple]:
    with db.read_connection(settings) as con:
        return con.execute(query, params or []).fetchall()


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _balanced(report) -> None:
    for item in report.files:
        assert item.accepted + item.rejected + item.duplicates == item.records, item
    assert report.accepted + report.rejected + report.duplicates == report.records


def test_jsonl_rejects_each_bad_line_with_its_line_and_reason_and_loads_the_rest(settings: LeadgateSettings) -> None:
    (path,) = _inbox_copy(settings, "events.jsonl")
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    report = ingest_paths(settings, [path])

    (item,) = report.files
    # 15 lines: line 5 is empty and line 14 only spaces, neither is a record.
    assert (item.records, item.accepted, item.rejected, item.duplicates, item.conflicts, item.field_issues) == (
        13,
        4,
        7,
        2,
        1,
        3,
    )
    _balanced(report)
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before  # the user's file is untouched
    rejected = _rows(
        settings, "select line_no, reason, raw_text, source_file from raw.rejected_events order by line_no"
    )
    assert [(line, reason) for line, reason, _, _ in rejected] == [
        (3, "line is not valid JSON: Expecting ',' delimiter at column 128"),
        (4, "missing required field event_id"),
        (6, "email 'bob@@example' is not a valid email address"),
        (7, "occurred_at 'yesterday' is not an ISO-8601 timestamp"),
        (11, "line is a JSON array, not an object"),
        (12, "source 'fax' is not one of web, form, email, chat, crm, event"),
        (13, "missing required field source; missing required field event_type"),
    ]
    assert rejected[4][2] == "[1, 2, 3]"
    assert {row[3] for row in rejected} == {str(path.resolve())}


def test_jsonl_accepted_events_are_normalised_with_extras_and_field_issues(settings: LeadgateSettings) -> None:
    (path,) = _inbox_copy(settings, "events.jsonl")
    report = ingest_paths(settings, [path])

    events = _rows(
        settings,
        """
        select line_no, source, event_id, occurred_at, email, anonymous_id, company_domain, company_size, consent,
               extra, load_id, source_file, ingested_at is not null
        from raw.engagement_events order by line_no""",
    )
    assert [(e[0], e[1], e[2]) for e in events] == [
        (1, "web", "w-1"),
        (2, "form", "f-1"),
        (8, "form", "f-3"),
        (15, "chat", "c-1"),
    ]
    web, form, globex, chat = events
    assert web[3] == _utc("2026-03-01T10:00:00+00:00") and web[5] == "anon-1" and web[4] is None
    # '2026-03-01T10:05:00' has no offset: taken as UTC.
    assert form[3:9] == (_utc("2026-03-01T10:05:00+00:00"), "jane.doe@acme.com", None, "acme.com", "51-200", True)
    assert json.loads(form[9]) == {"campaign_id": 7, "tags": ["a", "b"]}
    assert chat[3] == _utc("2026-03-02T14:00:00.250+00:00") and (chat[7], chat[8]) == ("10000+", False)
    assert globex[3] == _utc("2026-03-01T10:00:00+00:00") and globex[6:9] == (None, None, None)
    assert {e[10] for e in events} == {report.load_id} and {e[11] for e in events} == {str(path.resolve())}
    assert all(e[12] for e in events)

    issues = _rows(
        settings, "select line_no, source, event_id, field, raw_value, problem from raw.field_issues order by field"
    )
    assert issues == [
        (8, "form", "f-3", "company_domain", "not a domain", "not a domain name such as example.com"),
        (
            8,
            "form",
            "f-3",
            "company_size",
            "lots",
            "not a whole number of employees or a range such as 51-200 or 10000+",
        ),
        (8, "form", "f-3", "consent", "maybe", CONSENT_PROBLEM),
    ]


def test_repeats_in_one_file_keep_the_first_and_record_the_rest(settings: LeadgateSettings) -> None:
    (path,) = _inbox_copy(settings, "events.jsonl")
    report = ingest_paths(settings, [path])

    dupes = _rows(
        settings,
        "select line_no, source, event_id, conflicting, first_load_id, raw_text"
        " from raw.duplicate_events order by line_no",
    )
    assert [d[:5] for d in dupes] == [
        (9, "web", "w-1", False, report.load_id),
        (10, "form", "f-1", True, report.load_id),
    ]
    assert dupes[0][5] is None  # an exact repeat keeps no text
    assert '"first_name": "Janet"' in dupes[1][5]
    # The first occurrence (line 2, 'Jane') won.
    assert _rows(settings, "select first_name from raw.engagement_events where event_id = 'f-1'") == [("Jane",)]


def test_resend_in_another_file_is_a_duplicate_exact_or_conflicting(settings: LeadgateSettings) -> None:
    first, resend = _inbox_copy(settings, "events.jsonl", "resend.jsonl")
    one = ingest_paths(settings, [first])
    two = ingest_paths(settings, [resend])

    (item,) = two.files
    assert (item.records, item.accepted, item.rejected, item.duplicates, item.conflicts) == (3, 1, 0, 2, 1)
    _balanced(two)
    dupes = _rows(
        settings,
        "select line_no, event_id, conflicting, first_load_id, raw_text is not null"
        " from raw.duplicate_events where load_id = ? order by line_no",
        [two.load_id],
    )
    # Line 1 differs only in key order and time zone notation: the same normalised content.
    assert dupes == [(1, "w-1", False, one.load_id, False), (2, "f-1", True, one.load_id, True)]
    assert _rows(settings, "select count(*) from raw.engagement_events where event_id = 'f-1'") == [(1,)]
    assert _rows(settings, "select line_no from raw.engagement_events where load_id = ?", [two.load_id]) == [(3,)]


def test_csv_records_spanning_lines_keep_their_first_line_and_the_next_record_its_own(
    settings: LeadgateSettings,
) -> None:
    (path,) = _inbox_copy(settings, "events.csv")
    report = ingest_paths(settings, [path])

    (item,) = report.files
    assert (item.records, item.accepted, item.rejected, item.duplicates, item.field_issues) == (10, 5, 4, 1, 2)
    _balanced(report)
    rejected = _rows(settings, "select line_no, reason, raw_text from raw.rejected_events order by line_no")
    assert [(line, reason) for line, reason, _ in rejected] == [
        (5, "occurred_at 'last tuesday' is not an ISO-8601 timestamp"),
        (6, "record has 5 fields but the header has 13"),
        (7, "email 'al\"ex@hooli.com' is not a valid email address"),
        (13, "record is not valid CSV: a quoted field has text after its closing quote"),
    ]
    assert rejected[0][2] == "ff-3,form,form_submit,last tuesday,sam@hooli.com,,Sam,Hooli,,,,,"
    events = _rows(
        settings,
        "select line_no, event_id, email, anonymous_id, company_size, consent, message, extra"
        " from raw.engagement_events order by line_no",
    )
    assert [e[:2] for e in events] == [(2, "ff-1"), (3, "ff-2"), (8, "ff-6"), (10, "ff-7"), (12, "ff-8")]
    by_id = {e[1]: e for e in events}
    assert by_id["ff-2"][6] == "Hello,\nwe would like a demo"
    assert by_id["ff-7"][6] == 'She said "call me", twice' and by_id["ff-7"][2:4] == (None, "anon-77")
    # consent: yes -> true, No -> false, 1 -> true, 0 -> false, maybe -> empty with a field issue.
    assert [by_id[k][5] for k in ("ff-1", "ff-2", "ff-6", "ff-7", "ff-8")] == [True, False, None, True, False]
    assert json.loads(by_id["ff-1"][7]) == {"lead_source_detail": "webinar"}  # the empty 'unused' column is dropped
    assert by_id["ff-2"][7] is None and by_id["ff-8"][4] is None
    assert _rows(settings, "select line_no, field, raw_value, problem from raw.field_issues order by line_no") == [
        (8, "consent", "maybe", CONSENT_PROBLEM),
        (12, "company_size", "500-100", "the range starts above where it ends"),
    ]
    assert _rows(settings, "select line_no, event_id, conflicting from raw.duplicate_events") == [(11, "ff-1", False)]


def test_csv_with_bom_and_crlf_line_ends_loads_like_the_plain_file(settings: LeadgateSettings) -> None:
    text = (INGEST / "events.csv").read_bytes().replace(b"\n", b"\r\n")
    path = settings.inbox / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text)
    report = ingest_paths(settings, [path])

    (item,) = report.files
    assert (item.records, item.accepted, item.rejected, item.duplicates, item.field_issues) == (10, 5, 4, 1, 2)
    assert _rows(settings, "select line_no from raw.rejected_events order by 1") == [(5,), (6,), (7,), (13,)]
    assert _rows(settings, "select message from raw.engagement_events where event_id = 'ff-2'") == [
        ("Hello,\nwe would like a demo",)
    ]


def test_jsonl_with_bom_nulls_and_nested_values_keeps_only_real_extras(settings: LeadgateSettings) -> None:
    path = settings.inbox / "bom.jsonl"
    base = '"source": "web", "event_type": "page_view", "occurred_at": "2026-03-01T10:00:00Z", "anonymous_id": "a-1"'
    path.write_bytes(
        b"\xef\xbb\xbf"
        + "\n".join(
            [
                '{"event_id": "n-1", ' + base + ', "email": null, "company": null}',
                '{"event_id": "n-2", ' + base + ', "utm": {"source": "news", "medium": "mail"}, "score": 7}',
                '{"event_id": "n-3", ' + base + ', "company": {"name": "Acme"}}',
            ]
        ).encode()
        + b"\n"
    )
    report = ingest_paths(settings, [path])

    assert (report.records, report.accepted) == (3, 3)
    rows = _rows(settings, "select line_no, event_id, email, company, extra from raw.engagement_events order by 1")
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        (1, "n-1", None, None),
        (2, "n-2", None, None),
        (3, "n-3", None, '{"name":"Acme"}'),
    ]
    assert rows[0][4] is None and rows[2][4] is None  # known keys, even null or nested, are not extras
    assert json.loads(rows[1][4]) == {"utm": {"source": "news", "medium": "mail"}, "score": 7}


def test_csv_quote_never_closed_rejects_the_rest_of_the_file_as_one_record(settings: LeadgateSettings) -> None:
    path = settings.inbox / "broken.csv"
    path.write_text(
        "event_id,source,event_type,occurred_at,anonymous_id,message\n"
        "w-1,web,page_view,2026-03-01T10:00:00Z,a-1,fine\n"
        'w-2,web,page_view,2026-03-01T10:01:00Z,a-2,"never closed\n'
        "w-3,web,page_view,2026-03-01T10:02:00Z,a-3,swallowed\n"
    )
    report = ingest_paths(settings, [path])

    assert (report.records, report.accepted, report.rejected) == (2, 1, 1)
    assert _rows(settings, "select line_no, reason from raw.rejected_events") == [
        (3, "record is not valid CSV: the quoted field opened on this line is never closed")
    ]


def test_csv_with_a_repeated_header_column_rejects_every_record(settings: LeadgateSettings) -> None:
    path = settings.inbox / "twice.csv"
    path.write_text("event_id,source,email,Email\ne-1,web,a@b.com,c@d.com\ne-2,web,e@f.com,g@h.com\n")
    report = ingest_paths(settings, [path])

    assert (report.records, report.accepted, report.rejected) == (2, 0, 2)
    assert {r[0] for r in _rows(settings, "select reason from raw.rejected_events")} == {
        "the CSV header names the column 'email' twice"
    }


def test_line_that_is_not_utf8_is_rejected_and_the_others_keep_their_line_numbers(
    settings: LeadgateSettings,
) -> None:
    (path,) = _inbox_copy(settings, "not_utf8.jsonl")
    report = ingest_paths(settings, [path])

    assert (report.records, report.accepted, report.rejected) == (3, 2, 1)
    ((line, reason, raw),) = _rows(settings, "select line_no, reason, raw_text from raw.rejected_events")
    assert (line, reason) == (2, "line is not valid UTF-8 (byte 0xe9 at column 167)")
    assert raw.endswith('"page_url": "https://example.com/caf\ufffd"}')
    assert _rows(settings, "select line_no, event_id from raw.engagement_events order by 1") == [(1, "l-1"), (3, "l-3")]


@pytest.mark.parametrize("bad_at", [None, 2_900, 3_000])  # clean; malformed deep in the file; cut off at the end
def test_large_jsonl_loads_the_same_whether_or_not_some_line_is_malformed(settings: LeadgateSettings, bad_at) -> None:
    """Clean files skip the per-line JSON validation; a malformed line anywhere still only rejects that line."""
    lines = [
        json.dumps(
            {
                "event_id": f"w-{i}",
                "source": "web",
                "event_type": "page_view",
                "email": f"p{i % 97}@acme.com",
                "occurred_at": "2026-03-05T10:00:00Z",
                "company_size": 250 if i % 2 else "51-200",
                **({"campaign": {"id": i}} if i % 1000 == 0 else {}),
            }
        )
        for i in range(1, 3_001)
    ]
    if bad_at:
        lines[bad_at - 1] = lines[bad_at - 1][:40]  # what a copy cut off mid-write leaves
    path = settings.inbox / "web.jsonl"
    path.write_text("\n".join(lines) + "\n")
    report = ingest_paths(settings, [path])

    assert (report.records, report.accepted, report.rejected) == (3_000, 3_000 - bool(bad_at), bool(bad_at))
    rejected = _rows(settings, "select line_no, reason from raw.rejected_events")
    assert [line for line, _ in rejected] == ([bad_at] if bad_at else [])
    assert all(reason.startswith("line is not valid JSON: ") for _, reason in rejected)
    extras = _rows(
        settings, "select line_no, extra::varchar from raw.engagement_events where extra is not null order by 1"
    )
    assert extras == [
        (n, json.dumps({"campaign": {"id": n}}, separators=(",", ":"))) for n in (1_000, 2_000, 3_000) if n != bad_at
    ]
    loaded = [i for i in range(1, 3_001) if i != bad_at]
    assert _rows(settings, "select company_size, count(*) from raw.engagement_events group by 1 order by 1") == [
        ("250", sum(i % 2 for i in loaded)),
        ("51-200", sum(1 - i % 2 for i in loaded)),
    ]  # numbers read as text


@pytest.mark.parametrize("size", [1_200_000, 3_000_000])  # under and over the line reader's own 2 MB limit
def test_record_over_one_mib_is_rejected_without_losing_its_neighbours(settings: LeadgateSettings, size: int) -> None:
    event = {"source": "chat", "event_type": "chat_message", "occurred_at": "2026-03-05T10:00:00Z", "email": "a@b.io"}
    lines = [
        json.dumps({**event, "event_id": "c-1"}),
        json.dumps({**event, "event_id": "c-2", "message": "x" * size}),
        json.dumps({**event, "event_id": "c-3"}),
    ]
    path = settings.inbox / "big.jsonl"
    path.write_text("\n".join(lines) + "\n")
    report = ingest_paths(settings, [path])

    assert (report.records, report.accepted, report.rejected) == (3, 2, 1)
    ((line, reason, raw),) = _rows(settings, "select line_no, reason, raw_text from raw.rejected_events")
    assert line == 2 and reason == f"record is larger than 1 MiB ({len(lines[1]):,} bytes)"
    assert raw.startswith('{"source": "chat"') and len(raw) < 2100
    assert _rows(settings, "select line_no from raw.engagement_events order by 1") == [(1,), (3,)]


def test_unchanged_file_is_skipped_and_a_changed_one_reloaded_as_duplicates(
    settings: LeadgateSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (path,) = _inbox_copy(settings, "events.jsonl")
    first = ingest_paths(settings, [settings.inbox])

    with monkeypatch.context() as patched:  # same path, size and mtime: skipped without reading the file
        patched.setattr("leadgate.ingest.scan_file", lambda _: pytest.fail("an unchanged file was hashed"))
        again = ingest_paths(settings, [settings.inbox])
    assert [(f.skipped, f.skip_reason) for f in again.files] == [(True, "unchanged")]
    assert (again.records, again.accepted, again.files_skipped) == (0, 0, 1)

    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))  # touched, same bytes
    touched = ingest_paths(settings, [path])
    assert touched.files[0].skip_reason == "unchanged"
    shutil.copyfile(path, settings.inbox / "copy.jsonl")
    copied = ingest_paths(settings, [settings.inbox / "copy.jsonl"])
    assert copied.files[0].skip_reason == f"unchanged: same content as {path.resolve()}, already ingested"

    with path.open("a") as fh:
        fh.write(
            '{"event_id": "w-50", "source": "web", "event_type": "page_view",'
            ' "occurred_at": "2026-03-04T10:00:00Z", "anonymous_id": "anon-50"}\n'
        )
    changed = ingest_paths(settings, [path])
    (item,) = changed.files
    assert (item.records, item.accepted, item.rejected, item.duplicates) == (14, 1, 7, 6)
    assert _rows(settings, "select count(*), count(distinct (source, event_id)) from raw.engagement_events") == [
        (first.accepted + 1, first.accepted + 1)
    ]
    assert _rows(settings, "select count(*) from raw.ingested_files") == [(2,)]


def test_folders_are_walked_recursively_and_other_files_noted(settings: LeadgateSettings) -> None:
    nested = settings.inbox / "2026" / "03"
    nested.mkdir(parents=True)
    shutil.copyfile(INGEST / "events.jsonl", nested / "EVENTS.JSON")
    shutil.copyfile(INGEST / "events.csv", settings.inbox / "forms.csv")
    (settings.inbox / "notes.txt").write_text("not events")
    messages: list[str] = []
    report = ingest_paths(settings, [settings.inbox], progress=messages.append)

    assert [Path(f.path).name for f in report.files] == ["EVENTS.JSON", "forms.csv"]
    assert report.notes == [f"ignored {(settings.inbox / 'notes.txt').resolve()}: not a .jsonl, .json or .csv file"]
    assert messages == [  # files in the order of their paths: inbox/2026/03/EVENTS.JSON before inbox/forms.csv
        report.notes[0],
        "loaded EVENTS.JSON: 4 accepted, 7 rejected, 2 duplicates (1 conflicting, 3 field issues)",
        f"warning: {nested.resolve() / 'EVENTS.JSON'}: 7 of 13 records rejected (email is not a valid email address: 1, "
        "line is a JSON array, not an object: 1, line is not valid JSON: Expecting ',' delimiter: 1, and 5 more kind(s))",
        "loaded forms.csv: 5 accepted, 4 rejected, 1 duplicates (2 field issues)",  # 4 of 10: no warning
    ]
    assert report.warnings == [messages[2].removeprefix("warning: ")]
    _balanced(report)
    assert _rows(settings, "select count(*) from raw.engagement_events") == [(report.accepted,)]


def test_missing_path_is_a_clear_error_and_an_empty_folder_is_fine(settings: LeadgateSettings, tmp_path: Path) -> None:
    with pytest.raises(IngestError, match=r"^no such file or folder: .*nowhere\.jsonl$"):
        ingest_paths(settings, [tmp_path / "nowhere.jsonl"])
    empty = tmp_path / "empty"
    empty.mkdir()
    report = ingest_paths(settings, [empty])
    assert (report.files, report.records) == ([], 0)


def test_empty_blank_and_header_only_files_have_no_records(settings: LeadgateSettings) -> None:
    (settings.inbox / "empty.csv").write_bytes(b"")
    (settings.inbox / "blank.jsonl").write_text("\n\n   \n")
    (settings.inbox / "header.csv").write_text("event_id,source\n")
    (settings.inbox / "last.jsonl").write_text(  # no newline at the end
        '{"event_id": "x", "source": "web", "event_type": "page_view", "occurred_at": "2026-01-01", "anonymous_id": "a"}'
    )
    report = ingest_paths(settings, [settings.inbox])

    assert [(Path(f.path).name, f.records, f.skipped) for f in report.files] == [
        ("blank.jsonl", 0, False),
        ("empty.csv", 0, False),
        ("header.csv", 0, False),
        ("last.jsonl", 1, False),
    ]
    assert _rows(settings, "select line_no, occurred_at from raw.engagement_events") == [
        (1, _utc("2026-01-01T00:00:00+00:00"))
    ]


def test_a_failure_mid_file_leaves_nothing_and_the_file_is_retried(
    settings: LeadgateSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (path,) = _inbox_copy(settings, "events.jsonl")
    with monkeypatch.context() as patched:  # fails after every row was written, before the file is recorded
        patched.setattr("leadgate.ingest.sql_check.RECORD_INGESTED_FILE", "select error('disk full')")
        with pytest.raises(IngestError, match="could not load .*events.jsonl: .*disk full"):
            ingest_paths(settings, [path])
    for table in ("engagement_events", "rejected_events", "duplicate_events", "field_issues", "ingested_files"):
        assert _rows(settings, f"select count(*) from raw.{table}") == [(0,)], table

    retried = ingest_paths(settings, [path])
    assert (retried.files[0].skipped, retried.accepted) == (False, 4)
