"""`collect_status` on real DuckDB files: the counts people read and the invariants that catch a broken state."""

from __future__ import annotations

import pytest

from leadgate.cli.status_text import format_status
from leadgate.lifecycle import ALL_STATES
from leadgate.store import db
from leadgate.store.invariants import collect_status
from tests.fixtures.services import builders


@pytest.fixture
def seeded(settings):
    return settings, builders.seed(settings)


def _status(settings):
    with db.read_connection(settings) as con:
        return collect_status(con)


def _broken(report):
    return {inv["name"]: inv["detail"] for inv in report["invariants"] if not inv["ok"]}


def test_counts_events_leads_review_and_outbox(seeded):
    settings, _ = seeded
    with db.connect(settings) as con:
        con.execute(
            "insert into meta.runs (run_id, kind, started_at, finished_at, status)"
            " values ('r-1', 'pipeline', now(), now(), 'completed')"
        )
    report = _status(settings)
    assert report["events"] == {
        "files": 1,
        "records": 17,
        "accepted": 13,
        "rejected": 2,
        "duplicates": 2,
        "conflicts": 1,
        "field_issues": 2,
        "still_anonymous": 2,
        "erased": 0,
    }
    assert list(report["leads"]) == list(ALL_STATES)
    assert report["leads"] == {
        "pending": 0,
        "qualified": 2,
        "nurture": 1,
        "needs_review": 2,
        "rejected": 0,
        "clarification_requested": 0,
        "synced": 0,
    }
    assert report["review"]["pending"] == 2 and report["outbox"]["owed"] == 0
    assert report["last_run"]["run_id"] == "r-1"
    assert report["ok"] and len(report["invariants"]) == 5
    text = format_status(report)
    for word in (*ALL_STATES, "still anonymous", "r-1", "invariants"):
        assert word in text
    assert "BROKEN" not in text


def test_a_lead_without_a_lifecycle_row_breaks_the_state_invariant(seeded):
    settings, ids = seeded
    with db.connect(settings) as con:
        con.execute("delete from lifecycle.lead_states where lead_id = ?", [ids["erin@hooli.com"]])
        con.execute(
            "insert into lifecycle.lead_states (lead_id, state, reason_codes, decided_by, changed_at) values ('ld_ghost', 'nurture', [], 'test', now())"
        )
    report = _status(settings)
    detail = _broken(report)["every lead has exactly one lifecycle state"]
    assert f"1 lead(s) without a state: {ids['erin@hooli.com']}" in detail and "ld_ghost" in detail
    assert not report["ok"]
    assert "BROKEN  every lead has exactly one lifecycle state" in format_status(report)


def test_review_items_and_needs_review_leads_must_match(seeded):
    settings, ids = seeded
    with db.connect(settings) as con:
        con.execute("delete from review.items where lead_id = ?", [ids["dan@umbrella.com"]])
        builders.route(con, ids["bob@globex.com"], "qualified", ["auto_qualified"])
    detail = _broken(_status(settings))["needs_review leads and pending review items match"]
    assert ids["dan@umbrella.com"] in detail and "1 pending item(s) whose lead is not in needs_review" in detail


def test_a_lost_raw_row_breaks_conservation_naming_the_file(seeded):
    settings, _ = seeded
    with db.connect(settings) as con:
        con.execute("delete from raw.rejected_events where line_no = 15")
    detail = _broken(_status(settings))["events conserved (accepted + rejected + duplicates = records, per file)"]
    assert detail == f"1 file(s) do not add up: {builders.SOURCE_FILE}: 17 recorded vs 16 found"


def test_events_not_yet_in_the_marts_are_reported(seeded):
    settings, _ = seeded
    with db.connect(settings) as con:
        con.execute(
            "insert into raw.engagement_events (source, event_id, event_type, occurred_at, email,"
            " load_id, source_file, line_no, ingested_at) values ('web', 'w-new', 'page_view', now(),"
            " 'new@person.io', 'load-2', 'b.csv', 2, now())"
        )
        con.execute(
            "insert into raw.ingested_files values ('hash-2', 'b.csv', 10, null, 'csv', 'load-2', 1, 1, 0, 0, 0, 0, now())"
        )
    broken = _broken(_status(settings))
    assert list(broken) == ["every accepted event belongs to a lead or an anonymous visitor"]
    assert broken[next(iter(broken))].startswith("1 accepted event(s) neither in marts.lead_events nor anonymous")


def test_a_synced_lead_needs_an_acknowledgement_and_no_owed_payload(seeded):
    settings, ids = seeded
    with db.connect(settings) as con:
        builders.route(con, ids["alice@acme.com"], "synced", ["crm_acknowledged"])
    detail = _broken(_status(settings))["synced leads have their current payload acknowledged"]
    assert detail == f"1 synced lead(s) never acknowledged: {ids['alice@acme.com']}"


def test_works_before_dbt_ever_ran(settings):
    with db.connect(settings) as con:
        builders.seed_raw(con)
    report = _status(settings)
    assert report["ok"]
    details = {inv["name"]: inv["detail"] for inv in report["invariants"]}
    assert details["every lead has exactly one lifecycle state"].startswith("marts not built yet")
    assert details["every accepted event belongs to a lead or an anonymous visitor"].startswith("marts not built yet")
    # Without the marts, still-anonymous events are counted from raw: anon-z9's two page views.
    assert report["events"]["still_anonymous"] == 2
    assert sum(report["leads"].values()) == 0
