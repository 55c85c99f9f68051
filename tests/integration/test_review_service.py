"""The review service on a real DuckDB file: what a reviewer sees and what each decision changes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from leadgate.cli.review_render import format_item_detail, format_item_table
from leadgate.policy import load_policy
from leadgate.review.service import ReviewError, ReviewService, review_metrics
from leadgate.store import db
from leadgate.sync.outbox import refresh_outbox
from tests.fixtures.services import builders
from tests.writer_holder import another_writer

BOB, DAN, CAROL, ALICE = "bob@globex.com", "dan@umbrella.com", "carol@initech.com", "alice@acme.com"


@pytest.fixture
def seeded(settings):
    ids = builders.seed(settings)
    service = ReviewService(settings, load_policy(settings.policy))
    with db.read_connection(settings) as con:
        items = dict(con.execute("select lead_id, item_id from review.items").fetchall())
    return settings, service, ids, items


def _state(settings, lead_id):
    with db.read_connection(settings) as con:
        return con.execute("select state from lifecycle.lead_states where lead_id = ?", [lead_id]).fetchone()[0]


def test_list_shows_pending_items_oldest_first(seeded):
    _settings, service, ids, items = seeded
    listed = service.list_items()
    assert [row["id"] for row in listed] == sorted(items.values())
    first = listed[0]
    assert first["lead_id"] == ids[BOB] and first["name"] == "Bob" and first["reason_codes"] == ["missing_company"]
    assert first["score"] == pytest.approx(0.61) and first["age"] == "2h 0m"
    table = format_item_table(listed)
    assert "missing_company" in table and ids[DAN] in table
    assert service.list_items(status="approved") == []
    with pytest.raises(ReviewError, match="unknown review status"):
        service.list_items(status="done")


def test_show_gives_the_interaction_the_assessment_and_the_history(seeded):
    _settings, service, ids, items = seeded
    item = service.get(items[ids[DAN]])
    assert item["email"] == DAN and item["lead_state"] == "needs_review"
    assert [r["feature"] for r in item["reasons"]][:1] == ["demo_requests"]
    # No events stored on the item: they come from marts.lead_events, newest first.
    assert [e["event_type"] for e in item["recent_events"]] == ["content_download", "page_view"]
    assert [(h["kind"], h["to_state"]) for h in item["history"]] == [("route", "needs_review")]
    text = format_item_detail(item)
    assert "ambiguous_fit" in text and "content_download" in text and "High fit" in text
    with pytest.raises(ReviewError, match="review item 999 does not exist"):
        service.get(999)


def test_approve_refuses_naming_the_missing_crm_fields(seeded):
    settings, service, ids, items = seeded
    item_id = items[ids[BOB]]
    with pytest.raises(ReviewError) as err:
        service.approve(item_id, "dana")
    assert str(err.value) == f"cannot approve review item {item_id}: missing last_name, company"
    assert service.get(item_id)["status"] == "pending"
    assert _state(settings, ids[BOB]) == "needs_review"


def test_approve_refuses_a_lead_without_consent(seeded):
    settings, service, ids, _ = seeded
    with db.connect(settings) as con:
        score_id = builders.add_score(con, ids[CAROL], 0.7, 0.5)
        builders.route(con, ids[CAROL], "needs_review", ["target_account"], score_id)
        item_id = builders.open_item(con, ids[CAROL], ["target_account"], score_id)
    with pytest.raises(ReviewError, match=f"cannot approve review item {item_id}: no consent"):
        service.approve(item_id, "dana")


def test_approve_qualifies_the_lead_and_the_next_sync_owes_it(seeded):
    settings, service, ids, items = seeded
    decision = service.approve(items[ids[DAN]], "dana", note="met Dan at the booth, budget confirmed")
    assert (decision.status, decision.lead_state) == ("approved", "qualified")
    item = service.get(items[ids[DAN]])
    assert (item["status"], item["reviewer"], item["note"]) == (
        "approved",
        "dana",
        "met Dan at the booth, budget confirmed",
    )
    assert item["decided_at"] is not None
    last = item["history"][-1]
    assert (last["kind"], last["actor"], last["to_state"], last["reason_codes"]) == (
        "review",
        "reviewer:dana",
        "qualified",
        ["approved_by_reviewer"],
    )
    # The audit row names the item, never the note.
    assert last["details"] == {"review_item_id": items[ids[DAN]]}
    with db.connect(settings) as con:
        refresh_outbox(con, "none", load_policy(settings.policy))
        owed = dict(con.execute("select lead_id, payload->>'reviewer_summary' from sync.outbox").fetchall())
    assert owed[ids[DAN]] == "Approved by dana: met Dan at the booth, budget confirmed"


def test_reject_and_clarify_store_the_text_on_the_item_only(seeded):
    settings, service, ids, items = seeded
    service.reject(items[ids[BOB]], "dana", reason="student project, bob@globex.com is not a buyer")
    service.clarify(items[ids[DAN]], "lee", question="Is Umbrella the parent company or the retail arm?")
    assert _state(settings, ids[BOB]) == "rejected"
    assert _state(settings, ids[DAN]) == "clarification_requested"
    assert service.get(items[ids[BOB]])["note"] == "student project, bob@globex.com is not a buyer"
    assert service.get(items[ids[DAN]])["question"].startswith("Is Umbrella")
    with db.read_connection(settings) as con:
        audit = con.execute(
            "select cast(details as varchar), reason_codes from audit.decisions where kind = 'review'"
        ).fetchall()
    assert all("bob@globex.com" not in details and "Umbrella" not in details for details, _ in audit)
    assert sorted(codes[0] for _, codes in audit) == ["clarification_requested_by_reviewer", "rejected_by_reviewer"]


def test_only_a_pending_item_can_be_decided_and_inputs_are_checked(seeded):
    settings, service, ids, items = seeded
    item_id = items[ids[DAN]]
    service.reject(item_id, "dana", reason="competitor")
    with pytest.raises(ReviewError, match=f"review item {item_id} is already rejected by dana"):
        service.approve(item_id, "lee")
    with pytest.raises(ReviewError, match="review item 4242 does not exist"):
        service.reject(4242, "dana", reason="x")
    with pytest.raises(ReviewError, match="reviewer name is required"):
        service.approve(items[ids[BOB]], "  ")
    with pytest.raises(ReviewError, match="a reason is required"):
        service.reject(items[ids[BOB]], "dana", reason="")
    with pytest.raises(ReviewError, match="a question is required"):
        service.clarify(items[ids[BOB]], "dana", question=None)
    assert _state(settings, ids[BOB]) == "needs_review"


def test_review_metrics_count_overrides_and_latency(seeded):
    settings, service, ids, items = seeded
    # dan scored 0.40 (machine: not qualified) and is approved; bob scored 0.61 (qualified) and is rejected.
    with db.connect(settings) as con:
        con.execute(
            "update marts.lead_features set last_name = 'Brown', company = 'Globex' where lead_id = ?", [ids[BOB]]
        )
    service.approve(items[ids[DAN]], "dana")
    with db.read_connection(settings) as con:
        half = review_metrics(con)
    assert (half["pending"], half["decided"], half["overrides"], half["override_rate"]) == (1, 1, 1, 1.0)
    assert half["median_latency_seconds"] == pytest.approx(7200, abs=120)
    service.clarify(items[ids[BOB]], "dana", question="who signs?")
    with db.read_connection(settings) as con:
        done = review_metrics(con)
    # A clarification is neither agreement nor override.
    assert (done["pending"], done["decided"], done["overrides"], done["override_rate"]) == (0, 2, 1, 1.0)


def test_a_decision_while_another_writer_holds_the_database_says_try_again(seeded):
    settings, service, ids, items = seeded
    with another_writer(settings.db):
        busy = ReviewService(settings.model_copy(update={"lock_timeout": 0.3}), service.policy)
        with pytest.raises(db.PipelineBusy, match="the pipeline is running.*try again"):
            busy.approve(items[ids[DAN]], "dana")
    assert service.get(items[ids[DAN]])["status"] == "pending"


def test_status_and_review_modules_stay_light():
    code = (
        "import sys, leadgate.review.service, leadgate.store.invariants\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'prefect', 'dbt', 'great_expectations'}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
