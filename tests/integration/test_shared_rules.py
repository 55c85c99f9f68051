"""One domain / company-size / lead-id rule: ingest, dbt staging and `forget` agree on hostile spellings."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from leadgate.config import LeadgateSettings
from leadgate.ingest import ingest_paths
from leadgate.ingest.lead_lists import import_lead_list
from leadgate.store import db
from leadgate.store.erasure_list import subject_hash
from leadgate.store.forget import forget_person, lead_id_for
from leadgate.store.shared_rules import erasure_key_sql
from leadgate.transform.dbt import run_dbt

# (as typed, what every path makes of it); None: not a domain, a field issue at ingest.
DOMAINS = [
    ("acme.com", "acme.com"),
    ("ACME.Com", "acme.com"),
    ("  acme.com  ", "acme.com"),
    ("\tacme.com\u00a0", "acme.com"),  # a tab and a no-break space around it
    ("\u3000acme.com\n", "acme.com"),  # an ideographic space, a newline
    ("HTTPS://www.Acme.com/about?x=1#top", "acme.com"),
    ("www.www.acme.com", "acme.com"),
    ("acme.com.", "acme.com"),
    ("acme.com...", "acme.com"),
    ("acme.com:8443", "acme.com"),
    ("www2.acme.com", "www2.acme.com"),
    ("xn--bcher-kva.de", "xn--bcher-kva.de"),
    ("mailto:sales@acme.com", None),
    ("sales@acme.com", None),
    ("bücher.de", None),
    ("\uff41\uff43\uff4d\uff45.com", None),  # full-width letters
    ("acme", None),
    ("www.com", None),
    ("acme..com", None),
    ("-acme.com", None),
]
SIZES = [
    ("250", "250"),
    (" 250 ", "250"),
    ("0051-0200", "51-200"),
    ("51 - 200", "51-200"),
    ("51\u2013200", "51-200"),  # en dash
    ("51\u2014200", "51-200"),  # em dash
    ("10000+", "10000+"),
    ("10000 +", "10000+"),
    ("1,000+", None),
    ("10k", None),
    ("200-51", None),
    ("\uff11\uff10", None),  # full-width digits
    ("1000000000", None),  # ten digits
    ("about 50", None),
]
# One person's address as people type it: the first three are anna@example.org, the others no address at all.
EMAILS = [
    "Anna@Example.ORG",
    " anna@example.org ",
    "ANNA@EXAMPLE.ORG",
    "mailto:anna@example.org",
    "anna@example.org.",
    "anna@@example.org",
]
DIRECT = """
insert into raw.engagement_events (source, event_id, event_type, occurred_at, email, company_domain, company_size,
    load_id, source_file, line_no, ingested_at)
values ('crm', ?, 'form_submit', '2026-11-02T09:00:00Z', ?, ?, ?, 'direct', 'direct', ?, now())
"""


def _event(i: int, domain: str, size: str) -> dict:
    return {
        "event_id": f"ev-{i}",
        "source": "form",
        "event_type": "form_submit",
        "occurred_at": "2026-11-01T09:00:00Z",
        "email": f"p{i}@example.org",
        "company_domain": domain,
        "company_size": size,
    }


def _settings(root: Path) -> LeadgateSettings:
    inbox = root / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    return LeadgateSettings(db=root / "leadgate.duckdb", inbox=inbox, lock_timeout=2.0, _env_file=None)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> LeadgateSettings:
    """Each spelling once through ingest (events ev-N) and once written to raw as it is (dbt's own rule, direct-N)."""
    settings = _settings(tmp_path_factory.mktemp("rules"))
    pairs = [(d, s) for (d, _), (s, _) in zip(DOMAINS, SIZES * 2)]
    lines = [_event(i, d, s) for i, (d, s) in enumerate(pairs)]
    lines += [_event(100 + i, "acme.com", "250") | {"email": e} for i, e in enumerate(EMAILS)]
    path = settings.inbox / "spellings.jsonl"
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    report = ingest_paths(settings, [path])
    assert (report.accepted, report.rejected) == (len(pairs) + 3, 3)
    with db.connect(settings) as con:
        for i, (domain, size) in enumerate(pairs):
            con.execute(DIRECT, [f"direct-{i}", f"q{i}@example.org", domain, size, i + 1])
    run_dbt(settings)
    return settings


def _rows(settings: LeadgateSettings, sql: str) -> dict:
    with db.read_connection(settings) as con:
        return {r[0]: r[1:] for r in con.execute(sql).fetchall()}


def test_ingest_and_dbt_make_one_domain_and_size_of_every_spelling(built: LeadgateSettings) -> None:
    raw = _rows(built, "select event_id, company_domain, company_size from raw.engagement_events where source = 'form'")
    staged = _rows(built, "select event_id, company_domain, company_size from staging.stg_engagement__events")
    sizes = SIZES * 2
    for i, (typed_domain, domain) in enumerate(DOMAINS):
        typed_size, size = sizes[i]
        expected = (domain, size)
        assert raw[f"ev-{i}"] == expected, (typed_domain, typed_size, "ingest")
        assert staged[f"ev-{i}"] == expected, (typed_domain, typed_size, "dbt on ingest's value")
        assert staged[f"direct-{i}"] == expected, (typed_domain, typed_size, "dbt on the value as typed")


def test_a_spelling_no_rule_reads_is_a_field_issue_with_the_value_as_typed(built: LeadgateSettings) -> None:
    issues = _rows(built, "select event_id || ':' || field, raw_value from raw.field_issues")
    sizes = SIZES * 2
    for i, (typed_domain, domain) in enumerate(DOMAINS):
        assert issues.get(f"ev-{i}:company_domain") == (None if domain else (typed_domain.strip(" "),))
        typed_size, size = sizes[i]
        assert issues.get(f"ev-{i}:company_size") == (None if size else (typed_size.strip(" "),))


def test_size_bounds_follow_the_one_size_rule(built: LeadgateSettings) -> None:
    staged = _rows(
        built,
        "select event_id, company_size, company_size_min, company_size_max"
        " from staging.stg_engagement__events where source = 'form'",
    )
    assert staged["ev-2"] == ("51-200", 51, 200)
    assert staged["ev-6"] == ("10000+", 10000, None)
    assert staged["ev-0"] == ("250", 250, 250)
    assert staged["ev-8"] == (None, None, None)


def test_every_spelling_of_one_address_is_one_lead_in_ingest_dbt_and_forget(
    built: LeadgateSettings, tmp_path: Path
) -> None:
    raw = _rows(built, "select event_id, email from raw.engagement_events where event_id like 'ev-10_'")
    assert raw == {"ev-100": ("anna@example.org",), "ev-101": ("anna@example.org",), "ev-102": ("anna@example.org",)}
    reasons = sorted(_rows(built, "select reason from raw.rejected_events"))
    assert reasons == sorted(f"email {e!r} is not a valid email address" for e in EMAILS[3:])
    leads = _rows(built, "select email, event_count from marts.lead_features where email like 'anna%'")
    assert leads == {"anna@example.org": (3,)}
    copy = _copy(built, tmp_path)
    assert forget_person(copy, "  ANNA@example.ORG ", rewrite=False).events == 3


def _copy(settings: LeadgateSettings, root: Path) -> LeadgateSettings:
    """The built database in a place of its own, for a test that changes it."""
    other = _settings(root)
    shutil.copyfile(settings.db_path, other.db_path)
    return other


def test_forget_finds_the_lead_id_dbt_gave_even_once_the_mart_row_is_gone(
    built: LeadgateSettings, tmp_path: Path
) -> None:
    leads = _rows(built, "select email, lead_id from marts.lead_features")
    assert leads["p3@example.org"][0].startswith("ld_")
    built = _copy(built, tmp_path)
    report = forget_person(built, "P3@Example.org", rewrite=False)
    assert report.lead_id == leads["p3@example.org"][0]
    with db.connect(built) as con:
        assert not con.execute("select count(*) from marts.lead_features where email = 'p3@example.org'").fetchall()[0][
            0
        ]
        # no mart row now: the id comes from the salt, by the same rule dbt used
        assert lead_id_for(con, "p3@example.org") == leads["p3@example.org"][0]
        assert lead_id_for(con, "p5@example.org") == leads["p5@example.org"][0]


def test_the_erasure_key_is_one_rule_in_sql_and_python() -> None:
    """dbt's staging and ingest drop a forgotten person by this key; forget writes it from Python."""
    con = duckdb.connect()
    for value in ("anna@example.org", "anna@xn--bcher-kva.de", "\u212aelvin@acme-labs.com", "visitor-7"):
        sql_key = con.execute(f"select {erasure_key_sql('?', '?')}", ["salt-1", value]).fetchall()[0][0]
        assert sql_key == subject_hash("salt-1", value)


def test_a_lead_list_reads_every_spelling_by_the_same_rules(built: LeadgateSettings, tmp_path: Path) -> None:
    """`leadgate import leads` makes the same domain, size and lead id of a spelling as ingest and dbt."""
    copy = _copy(built, tmp_path)
    path = tmp_path / "list.csv"
    rows = [["Key", "Email", "Domain", "Size"]]
    rows += [[f"D-{i}", "", typed, ""] for i, (typed, _) in enumerate(DOMAINS)]
    rows += [[f"S-{i}", "", "", typed] for i, (typed, _) in enumerate(SIZES)]
    rows += [["ANNA", EMAILS[0], "", ""], ["EXPORT", "", "", "1,001-5,000"]]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    with db.connect(copy) as con:
        report = import_lead_list(
            con, path, "Key", {"email": "Email", "company_domain": "Domain", "company_size": "Size"}
        )
    records = _rows(copy, "select list_key, company_domain, company_size, lead_id from raw.lead_list_records")
    rejected = _rows(copy, "select list_key, reason from raw.rejected_lead_rows")
    for i, (typed, domain) in enumerate(DOMAINS):
        assert records[f"D-{i}"][0] == domain, typed  # not a domain: the row is kept, the domain left empty
    for i, (typed, size) in enumerate(SIZES):
        if "," in typed:  # a list is a spreadsheet export: its thousands separators are dropped first
            assert records[f"S-{i}"][1] == typed.replace(",", ""), typed
        elif size is None:
            assert rejected[f"S-{i}"][0].startswith("company_size is not a number or range"), typed
        else:
            assert records[f"S-{i}"][1] == size, typed
    assert records["EXPORT"][1] == "1001-5000"
    anna = _rows(copy, "select email, lead_id from marts.lead_features where email = 'anna@example.org'")
    assert records["ANNA"][2] == anna["anna@example.org"][0]  # the list row is the person the events are
    assert report.rejected == sum(1 for typed, size in SIZES if size is None and "," not in typed)
