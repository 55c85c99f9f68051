"""`leadgate import leads` on a real DuckDB file: mapping, typed attributes, rejected rows, idempotence, dialects."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from leadgate.ingest.lead_lists import LeadListError, import_lead_list
from leadgate.store import db

EXPORT = Path(__file__).parent / "fixtures" / "crm_export.csv"
MAPPING = {
    "email": "Work Email",
    "last_name": "Surname",
    "company": "Org",
    "company_size": "Employees",
    "job_title": "Job",
}


def _import(settings, path=EXPORT, key="External ID", mapping=MAPPING):
    with db.connect(settings) as con:
        return import_lead_list(con, path, key, mapping)


def _q(settings, sql, params=None):
    with db.read_connection(settings) as con:
        return con.execute(sql, params or []).fetchall()


def test_mapped_columns_fill_lead_fields_and_the_rest_are_typed_attributes(settings):
    report = _import(settings)
    assert (report.rows_read, report.accepted, report.unchanged, report.rejected) == (11, 3, 1, 7)
    assert report.attributes == {"Annual Budget": "numeric", "Lead Rating": "categorical", "Notes": "categorical"}
    records = _q(
        settings,
        "select list_key, email, first_name, last_name, company, job_title, company_size,"
        " company_size_min, company_size_max from raw.lead_list_records order by list_key",
    )
    assert records == [
        ("CRM-1", "alice@acme.com", "Alice", "Archer", "Acme", "VP Sales", "51-200", 51, 200),
        ("CRM-2", None, "Bob", "Builder", "Bobco", "CTO", "1000", 1000, 1000),  # "First Name" mapped by its name
        ("CRM-3", "carol@carol.io", "Carol", "Cole", "Carolco", "Engineer", "10000+", 10000, None),
    ]
    attrs = _q(settings, "select list_key, name, kind, value_text, value_num from raw.lead_attributes order by 1, 2")
    assert attrs == [
        ("CRM-1", "Annual Budget", "numeric", "12000", 12000.0),
        ("CRM-1", "Lead Rating", "categorical", "Hot", None),
        ("CRM-1", "Notes", "categorical", "met at booth;\nwants demo", None),  # quoted newline and delimiter
        ("CRM-3", "Annual Budget", "numeric", "7.5", 7.5),
        ("CRM-3", "Lead Rating", "categorical", "Cold", None),
    ]  # CRM-2's N/A, Select and '-' and CRM-3's 'none' are missing, not values


def test_every_bad_row_is_rejected_with_its_reason(settings):
    report = _import(settings)
    # Physical line numbers: the header is line 1 and CRM-1's quoted newline takes lines 2-3.
    rows = dict(_q(settings, "select row_no, reason from raw.rejected_lead_rows"))
    assert rows[6].startswith("malformed email: 'not-an-email'")
    assert rows[7] == "missing key: column External ID"
    assert rows[8].startswith("company_size is not a number or range: 'about fifty'")
    assert rows[9] == "duplicate key with conflicting values: 'CRM-2'"
    assert rows[10] == "value longer than 2000 characters: column Surname"
    assert rows[11] == "binary or non-UTF-8 content: column First Name"
    assert rows[12] == "wrong number of fields: 8, the header has 10"
    assert len(rows) == 7 and sum(report.reasons.values()) == 7
    assert any(line.strip() == "rejected 1: missing key" for line in report.lines())
    # Nothing of a rejected row reached the lead tables.
    assert _q(settings, "select count(*) from raw.lead_list_records where list_key in ('CRM-4', 'CRM-6', 'CRM-9')") == [
        (0,)
    ]


def test_reimporting_changes_nothing_and_a_changed_export_replaces_the_record(settings, tmp_path):
    _import(settings)
    before = _q(settings, "select * from raw.lead_list_records order by list_key")
    again = _import(settings)
    assert again.skipped_file and again.accepted == 0
    copy = tmp_path / "copy.csv"  # same rows, another file: every row unchanged
    copy.write_bytes(EXPORT.read_bytes() + b"\r\n")
    third = _import(settings, copy)
    assert (third.accepted, third.unchanged) == (0, 4)
    assert _q(settings, "select * from raw.lead_list_records order by list_key") == before
    assert _q(settings, "select count(*) from raw.rejected_lead_rows") == [(14,)]  # each file's own refusals
    changed = tmp_path / "changed.csv"
    changed.write_text("External ID,Work Email,Lead Rating\nCRM-1,alice@acme.com,Warm\n", encoding="utf-8")
    assert _import(settings, changed, mapping={"email": "Work Email"}).accepted == 1
    assert _q(settings, "select name, value_text from raw.lead_attributes where list_key = 'CRM-1'") == [
        ("Lead Rating", "Warm")
    ]


def test_a_tab_separated_list_without_emails_gets_lead_ids_from_the_key(settings, tmp_path):
    path = tmp_path / "attendees.tsv"
    path.write_text("badge\tname\tcompany\tseats\nB-1\tAnn\tAcme\t3\n\t\t\t\nB-2\tBen\tBeta\t-\n", encoding="utf-8")
    report = _import(settings, path, key="BADGE", mapping={"first_name": "name"})
    assert (report.accepted, report.rejected) == (2, 0) and report.attributes == {"seats": "numeric"}
    rows = _q(settings, "select list_key, lead_id, email, company from raw.lead_list_records order by 1")
    assert [(k, e, c) for k, _, e, c in rows] == [("B-1", None, "Acme"), ("B-2", None, "Beta")]
    assert len({r[1] for r in rows}) == 2 and all(r[1].startswith("ld_") for r in rows)
    # Another list's id B-1 (another key column) is another person, not a new version of this one.
    other = tmp_path / "webinar.csv"
    other.write_text("ticket,company\nB-1,Gamma\n", encoding="utf-8")
    assert _import(settings, other, key="ticket", mapping={}).accepted == 1
    both = _q(
        settings, "select key_column, company, lead_id from raw.lead_list_records where list_key = 'B-1' order by 1"
    )
    assert [(k, c) for k, c, _ in both] == [("badge", "Acme"), ("ticket", "Gamma")] and both[0][2] != both[1][2]


@pytest.mark.parametrize(
    "key, mapping, message",
    [
        ("nope", {}, "no column 'nope'"),
        ("External ID", {"shoe_size": "Org"}, "unknown lead field 'shoe_size'"),
    ],
)
def test_a_wrong_key_or_mapping_is_a_clear_error(settings, key, mapping, message):
    with pytest.raises(LeadListError, match=message):
        _import(settings, key=key, mapping=mapping)


def test_an_unreadable_file_is_one_line_on_the_terminal(settings, tmp_path):
    env = {"LEADGATE_DB": str(settings.db_path), "DO_NOT_TRACK": "1", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "leadgate.cli.app", "import", "leads", str(tmp_path / "missing.csv"), "--key", "id"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"leadgate: error: cannot read {tmp_path / 'missing.csv'}: No such file or directory"
    ]
