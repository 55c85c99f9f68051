"""Decisions on a real DuckDB file: never twice, reject reasons from the policy, reopen rules, bulk one by one."""

from __future__ import annotations

from datetime import datetime

import pytest

from leadgate.review.errors import AlreadyDecided, ReopenRefused, ReviewError
from leadgate.store import db
from tests.fixtures.services import builders
from tests.review.conftest import BOB, CAROL, DAN, one, state_of


def test_a_second_decision_names_who_decided_how_and_when(seeded):
    settings, service, ids, items = seeded
    item_id = items[ids[DAN]]
    service.reject(item_id, "dana", reason_code="competitor")
    with pytest.raises(AlreadyDecided) as err:
        service.approve(item_id, "lee")
    e = err.value
    assert (e.item_id, e.status, e.reviewer) == (item_id, "rejected", "dana") and isinstance(e.decided_at, datetime)
    assert str(e).startswith(f"review item {item_id} is already rejected by dana at ") and "\n" not in str(e)
    # Nothing was decided twice: one review audit row, the lead still rejected.
    assert one(settings, "select count(*) from audit.decisions where kind = 'review'")[0][0] == 1
    assert state_of(settings, ids[DAN]) == "rejected"


def test_reject_needs_a_reason_from_the_policy_list(seeded):
    settings, service, ids, items = seeded
    item_id = items[ids[DAN]]
    with pytest.raises(ReviewError, match="reject reason 'bored' is not in the policy's list: not_a_buyer, "):
        service.reject(item_id, "dana", reason_code="bored")
    with pytest.raises(ReviewError, match="'other' needs the reason in words"):
        service.reject(item_id, "dana", reason_code="other")
    assert state_of(settings, ids[DAN]) == "needs_review"
    service.reject(item_id, "dana", reason_code="vendor_pitch", reason="sells us ads")
    row = one(settings, "select reject_reason, note from review.items where item_id = ?", [item_id])[0]
    assert row == ("vendor_pitch", "sells us ads")
    audit = one(settings, "select details->>'reject_reason' from audit.decisions where kind = 'review'")
    assert audit == [("vendor_pitch",)]


def test_reopen_by_its_reviewer_before_sync_puts_the_item_back(seeded):
    settings, service, ids, items = seeded
    item_id = items[ids[DAN]]
    service.approve(item_id, "dana", note="budget confirmed")
    with pytest.raises(ReopenRefused, match="was decided by dana: only they can reopen it"):
        service.reopen(item_id, "lee")
    decision = service.reopen(item_id, "dana")
    assert (decision.status, decision.lead_state) == ("pending", "needs_review")
    item = service.get(item_id)
    assert (item["status"], item["reviewer"], item["decided_at"], item["note"]) == ("pending", None, None, None)
    assert state_of(settings, ids[DAN]) == "needs_review"
    assert [h["reason_codes"] for h in item["history"]][-2:] == [["approved_by_reviewer"], ["reopened_by_reviewer"]]
    with pytest.raises(ReopenRefused, match="is pending: only an approved"):
        service.reopen(item_id, "dana")
    # Decided again by someone else, it is theirs to reopen.
    service.reject(item_id, "lee", reason_code="not_a_buyer")
    assert service.reopen(item_id, "lee").status == "pending"


def test_reopen_is_refused_once_the_lead_synced(seeded):
    settings, service, ids, items = seeded
    item_id = items[ids[DAN]]
    service.approve(item_id, "dana")
    with db.connect(settings) as con:  # a live send of the lead has started
        con.execute(
            "insert into sync.intents (send_id, crm, lead_id, payload_hash, status, opened_at)"
            " values ('s1', 'hubspot', ?, 'h1', 'in_flight', now())",
            [ids[DAN]],
        )
    with pytest.raises(ReopenRefused, match="is being sent"):
        service.reopen(item_id, "dana")
    with db.connect(settings) as con:  # ... and the CRM acknowledged the payload
        con.execute("update sync.intents set status = 'completed', outcome = 'acknowledged', closed_at = now()")
        con.execute(
            "insert into sync.state (crm, lead_id, acked_payload_hash, acked_at, status, updated_at)"
            " values ('hubspot', ?, 'h1', now(), 'acknowledged', now())",
            [ids[DAN]],
        )
    with pytest.raises(ReopenRefused, match=r"synced \(or is being sent\) to the CRM"):
        service.reopen(item_id, "dana")
    assert service.get(item_id)["status"] == "approved" and state_of(settings, ids[DAN]) == "qualified"


def test_bulk_reject_decides_each_item_and_reports_the_failures(seeded):
    settings, service, ids, items = seeded
    with db.connect(settings) as con:
        score_id = builders.add_score(con, ids[CAROL], 0.7, 0.5)
        builders.route(con, ids[CAROL], "needs_review", ["target_account"], score_id)
        carol_item = builders.open_item(con, ids[CAROL], ["target_account"], score_id)
    service.approve(items[ids[DAN]], "lee")  # decided before the bulk action
    targets = [items[ids[BOB]], items[ids[DAN]], 4242, carol_item]
    results = dict(service.bulk(targets, "dana", "reject", reason_code="spam"))
    assert isinstance(results[items[ids[DAN]]], AlreadyDecided) and "by lee" in str(results[items[ids[DAN]]])
    assert "review item 4242 does not exist" in str(results[4242])
    assert results[items[ids[BOB]]].status == "rejected" and results[carol_item].status == "rejected"
    assert (state_of(settings, ids[BOB]), state_of(settings, ids[CAROL]), state_of(settings, ids[DAN])) == (
        "rejected",
        "rejected",
        "qualified",
    )
    with pytest.raises(ReviewError, match="bulk decisions are approve or reject"):
        service.bulk(targets, "dana", "clarify")
