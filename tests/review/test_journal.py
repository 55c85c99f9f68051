"""The decision journal: a decision made while a run holds the database is saved durably and lands once it frees."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap

import pytest

from leadgate.review import journal
from leadgate.review.decisions import DecisionRequest
from leadgate.review.errors import AlreadyDecided, ReviewError
from tests.review.conftest import BOB, DAN, one, state_of
from tests.writer_holder import another_writer


def _approve(item_id, reviewer="dana", **fields):
    return DecisionRequest(item_id, reviewer, "approve", fields)


def test_a_decision_while_a_run_holds_the_database_is_saved_and_applied_when_it_frees(seeded):
    settings, service, ids, items = seeded
    with another_writer(settings.db):
        result = journal.submit(settings, _approve(items[ids[DAN]], note="booth"), service.policy, lock_wait=0.3)
        assert result.queued and result.message == "saved — applies when the current run finishes"
        assert [r.uuid for r in journal.pending(settings, "dana")] == [result.request.uuid]
        # Invalid input is refused at once, never journaled.
        with pytest.raises(ReviewError, match="a reason is required"):
            journal.submit(settings, DecisionRequest(items[ids[BOB]], "dana", "reject"), service.policy, lock_wait=0.3)
        # Another reviewer decides the same item meanwhile: saved too, and found in conflict on replay.
        late = journal.submit(
            settings,
            DecisionRequest(items[ids[DAN]], "lee", "reject", {"reason_code": "competitor"}),
            service.policy,
            lock_wait=0.3,
        )
        assert late.queued
        held = journal.replay(settings, service.policy, lock_wait=0.3)
        assert held.busy and held.applied == 0 and held.remaining == 2
    assert state_of(settings, ids[DAN]) == "needs_review"
    report = journal.replay(settings, service.policy)
    assert (report.applied, report.conflicts, report.remaining) == (1, 1, 0) and not journal.journal_path(
        settings
    ).exists()
    item = service.get(items[ids[DAN]])
    assert (item["status"], item["reviewer"], item["note"]) == ("approved", "dana", "booth")
    assert state_of(settings, ids[DAN]) == "qualified"
    assert sorted(one(settings, "select reviewer, via, outcome from review.decision_log")) == [
        ("dana", "journal", "applied"),
        ("lee", "journal", "conflict"),
    ]
    conflicts = journal.conflicts(settings, "lee")
    assert (
        len(conflicts) == 1 and f"review item {item['item_id']} is already approved by dana" in conflicts[0]["reason"]
    )
    assert [c["reviewer"] for c in item["conflicts"]] == ["lee"]


def test_a_crash_between_journal_and_database_loses_nothing(seeded):
    settings, service, ids, items = seeded
    request = _approve(items[ids[DAN]])
    code = textwrap.dedent(f"""
        import os, signal
        from leadgate.config import LeadgateSettings
        from leadgate.review import journal
        from leadgate.review.decisions import DecisionRequest
        settings = LeadgateSettings(db={str(settings.db_path)!r}, _env_file=None)
        journal.append(settings, DecisionRequest.from_json({request.to_json()!r}))
        os.kill(os.getpid(), signal.SIGKILL)   # dies before anything reaches the database
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -9, proc.stderr
    assert state_of(settings, ids[DAN]) == "needs_review"
    assert journal.replay(settings, service.policy).applied == 1
    assert state_of(settings, ids[DAN]) == "qualified"


def test_replay_is_idempotent_when_the_journal_outlived_the_apply(seeded):
    settings, service, ids, items = seeded
    request = _approve(items[ids[DAN]])
    journal.append(settings, request)
    service.decide(request)  # applied, then "crashed" before the journal was compacted
    report = journal.replay(settings, service.policy)
    assert (report.applied, report.already, report.conflicts, report.remaining) == (0, 1, 0, 0)
    assert one(settings, "select count(*) from audit.decisions where kind = 'review'")[0][0] == 1
    # Submitting the same decision again (a double click) returns it, never decides twice.
    again = journal.submit(settings, request, service.policy)
    assert again.applied and again.decision.status == "approved"
    assert one(settings, "select count(*) from audit.decisions where kind = 'review'")[0][0] == 1


def test_a_torn_last_line_is_skipped_and_never_blocks_later_decisions(seeded, caplog):
    settings, service, ids, items = seeded
    path = journal.journal_path(settings)
    first = _approve(items[ids[DAN]])
    path.write_bytes(first.to_json().encode() + b"\n" + b'{"uuid": "cut-short", "item_id": 1, "revi')
    later = DecisionRequest(items[ids[BOB]], "dana", "reject", {"reason_code": "spam"})
    journal.append(settings, later)  # after a crash mid-write, the next line still starts on its own
    # A whole line that is no valid decision (written by another version, or by hand) is a recorded conflict.
    journal.append(settings, DecisionRequest(items[ids[BOB]], "dana", "approve", {"edits": ["company=Globex"]}))
    with caplog.at_level(logging.WARNING, logger="leadgate.review.journal"):
        report = journal.replay(settings, service.policy)
    assert (report.applied, report.conflicts, report.torn, report.remaining) == (2, 1, 1, 0)
    assert "edits must be a mapping" in report.conflict_reasons[0]
    assert "line 2 is not a whole decision" in caplog.text
    assert (state_of(settings, ids[DAN]), state_of(settings, ids[BOB])) == ("qualified", "rejected")


def test_the_next_pipeline_run_applies_saved_decisions_before_it_routes(seeded):
    from leadgate.pipeline import steps
    from leadgate.store import db

    settings, service, ids, items = seeded
    with db.connect(settings) as con:  # every state decided on the current features: the run scores nobody (no GX)
        con.execute(
            "update lifecycle.lead_states s set feature_hash = f.feature_hash"
            " from marts.lead_features f where f.lead_id = s.lead_id"
        )
    journal.append(settings, DecisionRequest(items[ids[DAN]], "dana", "reject", {"reason_code": "spam"}))
    said = []
    report = steps.decide_step(settings, service.policy, "run-after-hold", progress=said.append)
    assert said[0] == "review decisions from the journal: 1 applied, 0 in conflict" and report.scored == 0
    assert state_of(settings, ids[DAN]) == "rejected"
    assert one(settings, "select status, reject_reason from review.items where lead_id = ?", [ids[DAN]]) == [
        ("rejected", "spam")
    ]
    assert not journal.journal_path(settings).exists()


def test_bulk_through_the_journal_reports_each_item(seeded):
    settings, service, ids, items = seeded
    service.approve(items[ids[DAN]], "lee")
    requests = [
        DecisionRequest(items[ids[BOB]], "dana", "reject", {"reason_code": "spam"}),
        DecisionRequest(items[ids[DAN]], "dana", "reject", {"reason_code": "spam"}),
        DecisionRequest(items[ids[BOB]], "dana", "reject", {"reason_code": "bored"}),
    ]
    results = journal.submit_many(settings, requests, service.policy)
    assert [item_id for item_id, _ in results] == [items[ids[BOB]], items[ids[DAN]], items[ids[BOB]]]
    (_, applied), (_, late), (_, bad) = results
    assert applied.applied and applied.decision.status == "rejected"
    assert isinstance(late, AlreadyDecided) and late.reviewer == "lee"
    assert isinstance(bad, ReviewError) and "reject reason 'bored' is not in the policy's list" in str(bad)
    assert (state_of(settings, ids[BOB]), state_of(settings, ids[DAN])) == ("rejected", "qualified")


def test_a_run_without_new_events_lands_a_saved_approval_before_it_syncs(seeded):
    from leadgate.pipeline import steps

    settings, service, ids, items = seeded
    journal.append(settings, _approve(items[ids[DAN]], note="budget confirmed"))
    steps.sync_step(settings, service.policy, "run-quiet")  # shadow mode: the outbox is what would be sent
    assert state_of(settings, ids[DAN]) == "qualified"
    owed = dict(one(settings, "select lead_id, payload->>'reviewer_summary' from sync.outbox"))
    assert owed[ids[DAN]] == "Approved by dana: budget confirmed"
