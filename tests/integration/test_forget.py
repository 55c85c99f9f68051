"""`forget_person` on a real DuckDB file: no trace of the person anywhere, audit rows kept, counts still add up."""

from __future__ import annotations


import duckdb
import pytest

from tests.writer_holder import another_writer

from leadgate import db
from leadgate.forget import ForgetError, forget_person
from leadgate.policy import load_policy
from leadgate.status import collect_status
from leadgate.sync import run_sync
from tests.fixtures.services import builders

ALICE = "alice@acme.com"


def _traces(path, needles):
    """(table, needle) for every row of every base table whose text mentions a needle (case-insensitive)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        found = []
        tables = con.execute("select table_schema, table_name from information_schema.tables"
                             " where table_type = 'BASE TABLE'").fetchall()
        for schema, table in tables:
            for row in con.execute(f'select * from "{schema}"."{table}"').fetchall():
                text = str(row).lower()
                found += [(f"{schema}.{table}", n) for n in needles if n in text]
        return sorted(set(found))
    finally:
        con.close()


@pytest.fixture
def seeded(settings):
    ids = builders.seed(settings)
    policy = load_policy(settings.policy)
    run_sync(settings, policy, crm="none", mode="shadow")        # alice is owed: an outbox row with her payload
    with db.connect(settings) as con:
        builders.open_item(con, ids[ALICE], ["target_account"], builders.add_score(con, ids[ALICE], 0.8, 0.7))
        # What went over the wire to a CRM holds personal data too.
        con.execute("insert into sync.attempts (crm, lead_id, request, outcome, attempted_at)"
                    " values ('hubspot', ?, ?, 'acknowledged', now())", [ids[ALICE], '{"email": "alice@acme.com"}'])
    return settings, ids


def test_forget_leaves_no_trace_of_the_person_and_keeps_audit_rows(seeded):
    settings, ids = seeded
    lead_id = ids[ALICE]
    with db.read_connection(settings) as con:
        audit_before = con.execute("select count(*) from audit.decisions where lead_id = ?", [lead_id]).fetchall()[0][0]
    assert _traces(settings.db_path, [ALICE, "anon-a1"])       # she is everywhere before

    report = forget_person(settings, "  Alice@ACME.com ")

    assert report.lead_id == lead_id and report.email == ALICE
    # 4 events: two of them anonymous page views from before she gave her email.
    assert (report.events, report.rejected_records, report.duplicate_records, report.field_issues) == (4, 1, 1, 1)
    assert report.scores == 2 and report.review_items == 1 and report.outbox_rows == 1 and report.lifecycle_rows == 1
    assert report.tables["marts.lead_features"] == 1 and report.tables["marts.lead_events"] == 4
    assert report.tables["intermediate.int_identities"] == 1
    assert report.tables["sync.attempts"] == 1 and report.other_rows == 1
    assert builders.SOURCE_FILE in report.message
    assert _traces(settings.db_path, [ALICE, "anon-a1", "alice"]) == []
    # The published read-only copy was refreshed too, and neither file keeps the bytes in freed blocks.
    assert _traces(settings.read_db_path, [ALICE, "alice"]) == []
    for path in (settings.db_path, settings.read_db_path):
        assert b"alice@acme.com" not in path.read_bytes().lower()

    with db.read_connection(settings) as con:
        audit = con.execute("select kind, cast(details as varchar) from audit.decisions where lead_id = ? order by decision_id",
                            [lead_id]).fetchall()
        status = collect_status(con)
        others = con.execute("select count(*) from marts.lead_features").fetchall()[0][0]
        kept_rejected = con.execute("select count(*) from raw.rejected_events").fetchall()[0][0]
    assert len(audit) == audit_before + 1 and audit[-1][0] == "forget"
    assert '"raw.engagement_events": 4' in audit[-1][1]
    assert others == 4 and kept_rejected == 1                  # other people are untouched
    # Conservation still holds: the erased records are counted per file.
    assert status["ok"], [inv for inv in status["invariants"] if not inv["ok"]]
    assert status["events"]["erased"] == 6


def test_forget_before_dbt_ran_finds_the_lead_by_the_installation_salt(settings):
    with db.connect(settings) as con:
        builders.seed_raw(con)
        lead_id = con.execute("select 'ld_' || substr(md5(lead_id_salt || ?), 1, 16) from meta.installation",
                              ["erin@hooli.com"]).fetchall()[0][0]
        builders.route(con, lead_id, "pending", ["new_lead"])
    report = forget_person(settings, "erin@hooli.com")
    assert report.lead_id == lead_id and report.events == 2 and report.lifecycle_rows == 1
    assert _traces(settings.db_path, ["erin@hooli.com"]) == []


def test_an_unknown_email_erases_nothing_and_says_so(seeded):
    settings, _ = seeded
    report = forget_person(settings, "nobody@nowhere.org")
    assert report.total == 0 and report.message == "nothing found for nobody@nowhere.org: no rows erased"
    with db.read_connection(settings) as con:
        assert con.execute("select count(*) from audit.decisions where kind = 'forget'").fetchall() == [(0,)]


def test_an_invalid_email_is_a_clear_error(seeded):
    settings, _ = seeded
    with pytest.raises(ForgetError, match="not a valid email address: 'alice at acme'"):
        forget_person(settings, "alice at acme")


def test_forget_while_the_pipeline_runs_says_try_again(seeded):
    settings, _ = seeded
    with another_writer(settings.db):
        with pytest.raises(db.PipelineBusy, match="the pipeline is running.*try again"):
            forget_person(settings.model_copy(update={"lock_timeout": 0.3}), ALICE)
    assert _traces(settings.db_path, [ALICE])                  # nothing was erased

def test_forget_erases_the_llm_answers_cached_for_the_person_only(seeded):
    settings, ids = seeded
    with db.connect(settings) as con:
        for lead, input_hash in ((ids[ALICE], "ih-alice"), (ids["bob@globex.com"], "ih-bob")):
            con.execute(
                "insert into scoring.scores (lead_id, scored_at, scorer, scorer_version, model_version, prompt_version,"
                " input_hash, policy_version, feature_hash, score, confidence, qualified, reasons) values (?, now(), 'llm',"
                " '1.0.0', 'm-1', 'score-v1', ?, 'p', 'fh', 0.7, 0.8, true, '[]'::json)", [lead, input_hash])
            con.execute(
                "insert into scoring.llm_cache values (?, 'm-1', 'score-v1', ?, ?::json, now())",
                [f"key-{input_hash}", input_hash, '{"summary": "VP Sales at the account, asked for pricing twice"}'])

    report = forget_person(settings, ALICE)

    with db.read_connection(settings) as con:
        left = con.execute("select input_hash from scoring.llm_cache order by 1").fetchall()
    assert report.llm_answers == 1 and report.tables["scoring.llm_cache"] == 1
    assert left == [("ih-bob",)]
