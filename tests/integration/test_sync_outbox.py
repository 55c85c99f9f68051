"""The sync outbox and the sync run on a real DuckDB file, with an in-process stand-in CRM."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from connectors.crm.base import CrmAuthError, CrmNotReady, OutboundLead, SyncOutcome, SyncResult, SyncStats
from connectors.crm.mapping import NEUTRAL_FIELDS
from leadgate.policy import load_policy
from leadgate.review.service import ReviewService
from leadgate.store import db
from leadgate.store.invariants import collect_status
from leadgate.sync.outbox import SyncError, build_payload, payload_hash, refresh_outbox, run_sync
from tests.fixtures.services import builders

ALICE, ERIN = "alice@acme.com", "erin@hooli.com"


class RecordingCrm:
    """A CRM stand-in: records every batch it is given and answers per lead as told (acknowledge by default)."""

    name = "salesforce"

    def __init__(
        self, answers: dict[str, SyncOutcome] | None = None, missing: Sequence[str] = (), auth_fails: bool = False
    ):
        self.answers = answers or {}
        self.missing = list(missing)
        self.auth_fails = auth_fails
        self.batches: list[list[OutboundLead]] = []
        self.stats = SyncStats()

    def missing_setup(self) -> list[str]:
        return self.missing

    def not_ready_message(self, missing: Sequence[str]) -> str:
        return f"salesforce lacks {', '.join(missing)}: run `leadgate crm setup`; nothing was sent"

    def upsert_leads(self, leads: Sequence[OutboundLead]) -> list[SyncResult]:
        if self.auth_fails:
            raise CrmAuthError("salesforce refused the credentials (INVALID_SESSION_ID)")
        self.batches.append(list(leads))
        self.stats.calls += 1
        out = []
        for lead in leads:
            outcome = self.answers.get(lead.lead_id, SyncOutcome.ACKNOWLEDGED)
            message = "REQUIRED_FIELD_MISSING: Company is required" if outcome == SyncOutcome.REJECTED else None
            out.append(
                SyncResult(
                    lead.lead_id,
                    outcome,
                    crm_record_id=lead.crm_record_id or f"00Q{len(out):03d}",
                    error_code="REQUIRED_FIELD_MISSING" if message else None,
                    message=message,
                )
            )
        return out

    @property
    def sent_ids(self) -> list[list[str]]:
        return [[lead.lead_id for lead in batch] for batch in self.batches]


@pytest.fixture
def world(settings):
    ids = builders.seed(settings)
    return settings, load_policy(settings.policy), ids


def _rows(settings, sql, params=None):
    with db.read_connection(settings) as con:
        return con.execute(sql, params or []).fetchall()


def _states(settings):
    return dict(_rows(settings, "select lead_id, state from lifecycle.lead_states"))


def _live(settings, policy, crm):
    return run_sync(settings, policy, crm="salesforce", mode="live", connector=crm, run_id="run-test")


def test_payload_is_crm_neutral_and_its_hash_ignores_key_order():
    row = {
        "lead_id": "ld_1",
        "email": "a@b.com",
        "first_name": " Ann ",
        "last_name": None,
        "company": "B",
        "score": 0.81234,
        "confidence": 0.9,
        "reasons": json.dumps(builders.REASONS),
        "latest_message": "secret plans",
        "policy_version": "p1",
        "scorer_version": "s1",
    }
    payload = build_payload(row, top_reasons=2)
    assert payload["lead_id"] == "ld_1" and payload["lead_status"] == "MQL" and payload["lead_source"] == "leadgate"
    assert payload["first_name"] == "Ann" and payload["score"] == 0.81
    assert payload["top_reasons"] == ["asked for a demo", "VP-level job title"]
    assert set(payload) == set(NEUTRAL_FIELDS)  # exactly the fields the CRM mappings know
    assert "secret plans" not in json.dumps(payload)
    assert payload_hash(payload) == payload_hash(dict(reversed(list(payload.items()))))
    assert payload_hash(payload) != payload_hash({**payload, "company": "C"})


def test_shadow_fills_the_outbox_and_never_acknowledges(world):
    settings, policy, ids = world
    report = run_sync(settings, policy, crm="none", mode="shadow")
    assert (report.outbox.new, report.would_send, report.sent) == (2, 2, 0)
    outbox = {
        lid: json.loads(p) for lid, p in _rows(settings, "select lead_id, payload from sync.outbox where crm = 'none'")
    }
    assert set(outbox) == {ids[ALICE], ids[ERIN]}  # carol has no consent, the rest are not qualified
    alice = outbox[ids[ALICE]]
    assert (alice["email"], alice["last_name"], alice["company"], alice["score"]) == (ALICE, "Smith", "Acme Corp", 0.82)
    assert "Looking forward" not in json.dumps(alice)
    assert _rows(settings, "select count(*) from sync.state") == [(0,)]
    assert "synced" not in _states(settings).values()
    again = run_sync(settings, policy, crm="none", mode="shadow")
    assert (again.outbox.new, again.outbox.changed, again.outbox.removed, again.outbox.unchanged) == (0, 0, 0, 2)


def test_withdrawn_consent_or_a_lost_qualification_removes_the_owed_row(world):
    settings, policy, ids = world
    run_sync(settings, policy, crm="none", mode="shadow")
    with db.connect(settings) as con:
        con.execute("update marts.lead_features set has_consent = false where lead_id = ?", [ids[ERIN]])
        builders.route(con, ids[ALICE], "nurture", ["score_below_threshold"])
        report = refresh_outbox(con, "none", policy)
    assert (report.removed, report.owed) == (2, 0)


def test_live_sync_needs_a_connector_and_a_ready_crm(world):
    settings, policy, _ = world
    with pytest.raises(SyncError, match="live sync needs LEADGATE_CRM=salesforce|hubspot"):
        run_sync(settings, policy, crm="none", mode="live")
    with pytest.raises(CrmNotReady, match="Lead.Leadgate_Score__c, Lead.Leadgate_Reasons__c"):
        _live(settings, policy, RecordingCrm(missing=["Lead.Leadgate_Score__c", "Lead.Leadgate_Reasons__c"]))
    assert _rows(settings, "select count(*) from sync.state") == [(0,)]


def test_live_sync_marks_acknowledged_leads_synced_and_an_unchanged_rerun_sends_nothing(world):
    settings, policy, ids = world
    crm = RecordingCrm()
    report = _live(settings, policy, crm)
    assert sorted(crm.sent_ids[0]) == sorted([ids[ALICE], ids[ERIN]])
    assert (report.sent, report.acknowledged, report.synced) == (2, 2, 2)
    states = _states(settings)
    assert states[ids[ALICE]] == states[ids[ERIN]] == "synced"
    acked = dict(_rows(settings, "select lead_id, acked_payload_hash from sync.state where status = 'acknowledged'"))
    assert acked[ids[ALICE]] == crm.batches[0][[lead.lead_id for lead in crm.batches[0]].index(ids[ALICE])].payload_hash
    assert _rows(settings, "select count(*) from sync.outbox") == [(0,)]
    audit = _rows(
        settings, "select actor, reason_codes from audit.decisions where kind = 'sync' and lead_id = ?", [ids[ALICE]]
    )
    assert audit == [("sync:salesforce", ["crm_acknowledged"])]

    rerun = _live(settings, policy, crm)
    assert (rerun.sent, rerun.outbox.unchanged, len(crm.batches)) == (0, 2, 1)
    with db.read_connection(settings) as con:
        assert all(inv["ok"] for inv in collect_status(con)["invariants"])


def test_a_changed_payload_is_owed_again_and_only_it_is_sent(world):
    settings, policy, ids = world
    crm = RecordingCrm()
    _live(settings, policy, crm)
    with db.connect(settings) as con:
        con.execute(
            "update marts.lead_features set job_title = 'Chief Revenue Officer' where lead_id = ?", [ids[ALICE]]
        )
        report = refresh_outbox(con, "salesforce", policy)
    assert (report.changed, report.back_to_qualified, report.owed) == (1, 1, 1)
    assert _states(settings)[ids[ALICE]] == "qualified"
    assert _rows(settings, "select reason from sync.outbox") == [("changed",)]
    _live(settings, policy, crm)
    assert crm.sent_ids[-1] == [ids[ALICE]]
    assert crm.batches[-1][0].crm_record_id is not None  # updates the record created the first time
    assert crm.batches[-1][0].payload["job_title"] == "Chief Revenue Officer"
    assert _states(settings)[ids[ALICE]] == "synced"


def test_a_rejected_payload_goes_to_review_and_is_not_resent_until_it_changes(world):
    settings, policy, ids = world
    crm = RecordingCrm(answers={ids[ALICE]: SyncOutcome.REJECTED})
    report = _live(settings, policy, crm)
    assert (report.rejected, report.acknowledged, report.to_review) == (1, 1, 1)
    assert _states(settings)[ids[ALICE]] == "needs_review"
    status, error, refused = _rows(
        settings, "select status, last_error, rejected_payload_hash from sync.state where lead_id = ?", [ids[ALICE]]
    )[0]
    assert status == "rejected" and "Company is required" in error and refused
    items = _rows(
        settings,
        "select item_id, reason_codes, summary from review.items where lead_id = ? and status = 'pending'",
        [ids[ALICE]],
    )
    assert len(items) == 1 and items[0][1] == ["crm_rejected"] and "Company is required" in items[0][2]

    # Even qualified again, the payload the CRM refused is not sent again ...
    with db.connect(settings) as con:
        builders.route(con, ids[ALICE], "qualified", ["auto_qualified"])
    assert _live(settings, policy, crm).sent == 0 and len(crm.batches) == 1
    # ... until it changes: here a reviewer approves it, and the approval travels with the payload.
    ReviewService(settings, policy).approve(items[0][0], "dana", note="company fixed in the CRM")
    crm.answers.clear()
    _live(settings, policy, crm)
    assert crm.sent_ids[-1] == [ids[ALICE]]
    assert crm.batches[-1][0].payload["reviewer_summary"] == "Approved by dana: company fixed in the CRM"
    assert _states(settings)[ids[ALICE]] == "synced"
    assert _rows(settings, "select status, rejected_payload_hash from sync.state where lead_id = ?", [ids[ALICE]]) == [
        ("acknowledged", None)
    ]


@pytest.mark.parametrize(
    "outcome, reason", [(SyncOutcome.CONVERTED, "crm_converted"), (SyncOutcome.ALREADY_CONTACT, "crm_already_contact")]
)
def test_converted_or_existing_contacts_go_to_a_person(world, outcome, reason):
    settings, policy, ids = world
    _live(settings, policy, RecordingCrm(answers={ids[ERIN]: outcome}))
    assert _rows(settings, "select state, reason_codes from lifecycle.lead_states where lead_id = ?", [ids[ERIN]]) == [
        ("needs_review", [reason])
    ]
    assert _rows(settings, "select status from sync.state where lead_id = ?", [ids[ERIN]]) == [(outcome.value,)]
    assert _rows(
        settings, "select reason_codes from review.items where lead_id = ? and status = 'pending'", [ids[ERIN]]
    ) == [([reason],)]


def test_a_retry_stays_owed_and_is_sent_next_time(world):
    settings, policy, ids = world
    crm = RecordingCrm(answers={ids[ERIN]: SyncOutcome.RETRY})
    report = _live(settings, policy, crm)
    assert (report.retry, report.acknowledged) == (1, 1)
    assert _states(settings)[ids[ERIN]] == "qualified"
    assert _rows(settings, "select lead_id, reason from sync.outbox") == [(ids[ERIN], "retry")]
    crm.answers.clear()
    _live(settings, policy, crm)
    assert crm.sent_ids[-1] == [ids[ERIN]] and _states(settings)[ids[ERIN]] == "synced"


def test_refused_credentials_mark_nothing(world):
    settings, policy, _ids = world
    with pytest.raises(CrmAuthError, match="INVALID_SESSION_ID"):
        _live(settings, policy, RecordingCrm(auth_fails=True))
    assert _rows(settings, "select count(*) from sync.state") == [(0,)]
    assert _rows(settings, "select count(*) from sync.outbox") == [(2,)]
    assert set(_states(settings).values()) == {"qualified", "needs_review", "nurture"}
