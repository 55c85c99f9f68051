"""`forget_person` on a real DuckDB file: no trace of the person anywhere, audit rows kept, counts still add up."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from leadgate.policy import load_policy
from leadgate.store import db
from leadgate.store.forget import ForgetError, forget_person
from leadgate.store.invariants import collect_status
from leadgate.store.recent_events import recent_events, recent_messages
from leadgate.sync.outbox import run_sync
from tests.fixtures.services import builders
from tests.writer_holder import another_writer

ALICE = "alice@acme.com"


def _traces(path, needles):
    """(table, needle) for every row of every base table whose text mentions a needle (case-insensitive)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        found = []
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables where table_type = 'BASE TABLE'"
        ).fetchall()
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
    run_sync(settings, policy, crm="none", mode="shadow")  # alice is owed: an outbox row with her payload
    with db.connect(settings) as con:
        builders.open_item(con, ids[ALICE], ["target_account"], builders.add_score(con, ids[ALICE], 0.8, 0.7))
        # What went over the wire to a CRM holds personal data too.
        con.execute(
            "insert into sync.attempts (crm, lead_id, request, outcome, attempted_at)"
            " values ('hubspot', ?, ?, 'acknowledged', now())",
            [ids[ALICE], '{"email": "alice@acme.com"}'],
        )
    return settings, ids


def test_forget_leaves_no_trace_of_the_person_and_keeps_audit_rows(seeded):
    settings, ids = seeded
    lead_id = ids[ALICE]
    with db.read_connection(settings) as con:
        audit_before = con.execute("select count(*) from audit.decisions where lead_id = ?", [lead_id]).fetchall()[0][0]
    assert _traces(settings.db_path, [ALICE, "anon-a1"])  # she is everywhere before

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
        audit = con.execute(
            "select kind, cast(details as varchar) from audit.decisions where lead_id = ? order by decision_id",
            [lead_id],
        ).fetchall()
        status = collect_status(con)
        others = con.execute("select count(*) from marts.lead_features").fetchall()[0][0]
        kept_rejected = con.execute("select count(*) from raw.rejected_events").fetchall()[0][0]
    assert len(audit) == audit_before + 1 and audit[-1][0] == "forget"
    assert '"raw.engagement_events": 4' in audit[-1][1]
    assert others == 4 and kept_rejected == 1  # other people are untouched
    # Conservation still holds: the erased records are counted per file.
    assert status["ok"], [inv for inv in status["invariants"] if not inv["ok"]]
    assert status["events"]["erased"] == 6


def test_a_forgotten_lead_has_no_recent_events_left_for_review_or_the_llm(seeded):
    settings, ids = seeded
    lead_id = ids[ALICE]
    with db.read_connection(settings) as con:
        kept = con.execute("select count(*) from marts.lead_recent_events where lead_id = ?", [lead_id]).fetchall()
        others = con.execute("select count(*) from marts.lead_recent_events where lead_id <> ?", [lead_id]).fetchall()
    assert kept[0][0] == 4  # her four events, each within the newest ten

    report = forget_person(settings, ALICE)

    assert report.tables["marts.lead_recent_events"] == 4
    with db.read_connection(settings) as con:
        assert con.execute("select count(*) from marts.lead_recent_events where lead_id = ?", [lead_id]).fetchall() == [
            (0,)
        ]
        assert con.execute("select count(*) from marts.lead_recent_events").fetchall() == others
        assert recent_messages(con, [lead_id]) == {} and recent_events(con, lead_id) == []


def test_forget_before_dbt_ran_finds_the_lead_by_the_installation_salt(settings):
    with db.connect(settings) as con:
        builders.seed_raw(con)
        lead_id = con.execute(
            "select 'ld_' || substr(md5(lead_id_salt || ?), 1, 16) from meta.installation", ["erin@hooli.com"]
        ).fetchall()[0][0]
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
    assert _traces(settings.db_path, [ALICE])  # nothing was erased


def test_forget_erases_the_llm_answers_cached_for_the_person_only(seeded):
    settings, ids = seeded
    with db.connect(settings) as con:
        for lead, input_hash in ((ids[ALICE], "ih-alice"), (ids["bob@globex.com"], "ih-bob")):
            con.execute(
                "insert into scoring.scores (lead_id, scored_at, scorer, scorer_version, model_version, prompt_version,"
                " input_hash, policy_version, feature_hash, score, confidence, qualified, reasons) values (?, now(), 'llm',"
                " '1.0.0', 'm-1', 'score-v1', ?, 'p', 'fh', 0.7, 0.8, true, '[]'::json)",
                [lead, input_hash],
            )
            con.execute(
                "insert into scoring.llm_cache values (?, 'm-1', 'score-v1', ?, ?::json, now())",
                [f"key-{input_hash}", input_hash, '{"summary": "VP Sales at the account, asked for pricing twice"}'],
            )

    report = forget_person(settings, ALICE)

    with db.read_connection(settings) as con:
        left = con.execute("select input_hash from scoring.llm_cache order by 1").fetchall()
    assert report.llm_answers == 1 and report.tables["scoring.llm_cache"] == 1
    assert left == [("ih-bob",)]


KEPT_LINES = Path(__file__).resolve().parents[1] / "fixtures" / "erasure" / "kept_lines.json"
COMEBACK = Path(__file__).resolve().parents[1] / "fixtures" / "erasure" / "comeback.jsonl"


def _add_rejected_file(con, texts: list[str], source_file: str = "inbox/hostile.jsonl") -> None:
    """Rejected lines of a second loaded file, recorded the way ingest records one."""
    for line_no, text in enumerate(texts, start=1):
        con.execute(
            "insert into raw.rejected_events values ('load-2', ?, ?, ?, 'occurred_at is not a timestamp', now())",
            [source_file, line_no, text],
        )
    con.execute(
        "insert into raw.ingested_files values ('hash-2', ?, 10, null, 'jsonl', 'load-2', ?, 0, ?, 0, 0, 0, now())",
        [source_file, len(texts), len(texts)],
    )


def test_forget_erases_her_rejected_lines_in_any_escaping_and_those_tied_only_by_her_visitor_ids(seeded):
    settings, _ = seeded
    cases = json.loads(KEPT_LINES.read_text(encoding="utf-8"))
    with db.connect(settings) as con:
        _add_rejected_file(con, [c["raw_text"] for c in cases])

    report = forget_person(settings, ALICE)

    with db.read_connection(settings) as con:
        left = [
            r[0]
            for r in con.execute(
                "select raw_text from raw.rejected_events where load_id = 'load-2' order by line_no"
            ).fetchall()
        ]
        status = collect_status(con)
    assert left == [c["raw_text"] for c in cases if not c["hers"]], [c["why"] for c in cases if c["raw_text"] in left]
    assert report.rejected_records == 1 + sum(c["hers"] for c in cases)
    assert "anon-a7" in report.anonymous_ids  # linked only through her own rejected line
    assert status["ok"], [inv for inv in status["invariants"] if not inv["ok"]]


def test_forget_erases_her_attempts_and_blanks_a_batch_answer_that_quotes_her_in_other_rows(seeded):
    settings, ids = seeded
    bob = ids["bob@globex.com"]
    quote = '{"errors": [{"message": "duplicate value found: Email = ALICE\\u0040acme.com"}]}'
    with db.connect(settings) as con:
        con.execute(
            "insert into sync.attempts (crm, lead_id, request, response, outcome, message, attempted_at)"
            " values ('salesforce', ?, '{\"Email\": \"bob@globex.com\"}', ?, 'retry', ?, now())",
            [bob, quote, "batch refused: duplicate value found: Email = Alice@Acme.com"],
        )
        con.execute(
            "insert into sync.attempts (crm, lead_id, request, response, outcome, message, attempted_at)"
            " values ('salesforce', ?, '{\"Email\": \"bob@globex.com\"}', '{\"id\": \"00Q1\"}', 'acknowledged',"
            " 'malice@acme.com is someone else', now())",
            [bob],
        )

    report = forget_person(settings, ALICE)

    with db.read_connection(settings) as con:
        attempts = con.execute(
            "select lead_id, request::varchar, response::varchar, message from sync.attempts order by attempt_id"
        ).fetchall()
    assert [a[0] for a in attempts] == [bob, bob]  # hers are gone, bob's rows stay
    assert attempts[0][1] == '{"Email": "bob@globex.com"}' and attempts[0][2] is None
    assert attempts[0][3] == "[erased: it named a forgotten person]"
    assert attempts[1][2:] == ('{"id": "00Q1"}', "malice@acme.com is someone else")
    assert report.scrubbed_mentions == 2
    # the only text left that contains her address is malice@'s, checked above
    assert _traces(settings.db_path, [ALICE, "alice\\u0040"]) == [("sync.attempts", ALICE)]


def test_a_forgotten_person_is_not_loaded_again_and_the_counts_still_add_up(seeded):
    from leadgate.ingest import ingest_paths

    settings, _ = seeded
    forget_person(settings, ALICE)
    target = settings.inbox / COMEBACK.name
    target.write_bytes(COMEBACK.read_bytes())

    report = ingest_paths(settings, [target])

    assert (report.records, report.accepted, report.rejected) == (6, 5, 1)  # as read; then taken out again
    with db.connect(settings) as con:  # the next writer rewrites the file (rows may have hit disk)
        emails = con.execute("select email from raw.engagement_events where source_file = ?", [str(target)]).fetchall()
        rejected = con.execute(
            "select count(*) from raw.rejected_events where source_file = ?", [str(target)]
        ).fetchall()
        erased = con.execute(
            "select accepted, rejected, duplicates from raw.erasures where source_file = ?", [str(target)]
        ).fetchall()
    # a new visitor id her new event links (anon-new9) goes with her, and joins the list
    assert emails == [("newcomer@initech.com",)] and rejected == [(0,)] and erased == [(4, 1, 0)]
    assert _traces(settings.db_path, [ALICE, "anon-a1", "anon-new9", "alice again"]) == []
    later = settings.inbox / "comeback_visitor.jsonl"
    later.write_bytes((COMEBACK.parent / later.name).read_bytes())
    ingest_paths(settings, [later])
    with db.connect(settings) as con:
        visitors = con.execute(
            "select anonymous_id from raw.engagement_events where source_file = ?", [str(later)]
        ).fetchall()
    assert visitors == [("anon-other",)]
    assert b"alice again" not in settings.db_path.read_bytes().lower()
    with db.read_connection(settings) as con:
        status = collect_status(con)
    # (newcomer's event waits for dbt here, so only conservation is asked)
    conserved = [inv for inv in status["invariants"] if inv["name"].startswith("events conserved")]
    assert conserved and conserved[0]["ok"], conserved


def test_forget_run_again_says_she_was_already_erased_not_nothing_found(seeded):
    settings, _ = seeded
    forget_person(settings, ALICE)
    again = forget_person(settings, " ALICE@acme.com")
    assert again.total == 0 and again.already_erased
    assert again.message == "alice@acme.com was already erased: no rows left about them"


def test_forget_while_an_analyst_holds_the_file_erases_and_says_the_rewrite_is_pending(seeded, monkeypatch):
    import leadgate.store.forget as forget_module
    from leadgate.store.forget import ErasurePending

    settings, _ = seeded
    analyst = another_writer(settings.db, raw=True)  # a bare read-write DuckDB session, opened after the commit
    real_finish = forget_module.finish_locked

    def finish_with_the_analyst_in(*args, **kwargs):
        analyst.__enter__()
        return real_finish(*args, **kwargs)

    monkeypatch.setattr(forget_module, "finish_locked", finish_with_the_analyst_in)
    try:
        with pytest.raises(ErasurePending, match="still pending.*re-run `leadgate forget alice@acme.com`"):
            forget_person(settings, ALICE)
    finally:
        analyst.__exit__(None, None, None)
    with db.connect(settings) as con:  # the analyst is gone: the next writer finishes it
        left = con.execute("select count(*) from meta.erasure_journal where step <> 'done'").fetchall()
    assert left == [(0,)] and b"alice@acme.com" not in settings.db_path.read_bytes().lower()
    assert _traces(settings.read_db_path, [ALICE]) == []
