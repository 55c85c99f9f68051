"""run_sync with the real Salesforce connector (simple-salesforce over TLS) against the stateful emulator,
on a real leadgate DuckDB file: what lands in the CRM, what is recorded, and what is never sent."""

from __future__ import annotations

import json

import pytest

from connectors.crm.base import CrmNotReady
from connectors.crm.mapping import default_mapping
from connectors.crm.salesforce import SalesforceConnector
from leadgate.cli.sync_output import format_preview
from leadgate.review.service import ReviewService
from leadgate.store import db
from leadgate.store.invariants import collect_status
from leadgate.sync.outbox import run_sync
from leadgate.sync.preview import preview_sync
from tests.emulators.crms import ALICE, BOB, CAROL, DAN, ERIN, rows, state, world  # noqa: F401  (a pytest fixture)
from tests.emulators.fixtures import salesforce_server, salesforce_settings, sf_emulator, tls_ca  # noqa: F401
from tests.fixtures.services import builders


def connector(emulator, **overrides) -> SalesforceConnector:
    return SalesforceConnector(salesforce_settings(emulator, **overrides))


def live(settings, policy, crm, run_id="run-1"):
    return run_sync(settings, policy, crm="salesforce", mode="live", connector=crm, run_id=run_id)


def emails_in_crm(emulator) -> list[str]:
    return sorted(str(lead.get("Email")) for lead in emulator.leads.values())


def change_title(settings, lead_id, title):
    with db.connect(settings) as con:
        con.execute("update marts.lead_features set job_title = ? where lead_id = ?", [title, lead_id])


def test_qualified_consenting_leads_land_once_every_attempt_is_logged_and_a_rerun_makes_no_call(world, sf_emulator):
    settings, policy, ids = world
    report = live(settings, policy, connector(sf_emulator))
    assert (report.sent, report.acknowledged, report.synced, report.attempts_logged) == (2, 2, 2, 2)
    # only alice and erin: not bob or dan (in review), not carol (no consent, even though her state says qualified)
    assert emails_in_crm(sf_emulator) == [ALICE, ERIN]
    alice = sf_emulator.lead_by_ext(ids[ALICE])
    assert (alice["LastName"], alice["Company"], alice["Leadgate_Score__c"], alice["Leadgate_Status__c"]) == (
        "Smith",
        "Acme Corp",
        0.82,
        "MQL",
    )
    assert alice["Leadgate_Reasons__c"].splitlines()[0] == "asked for a demo"
    assert state(settings, ids[ALICE]) == state(settings, ids[ERIN]) == "synced"
    assert state(settings, ids[CAROL]) == "qualified" and state(settings, ids[BOB]) == "needs_review"

    # sync.state keeps the record id and the acknowledged payload; sync.attempts answers "what did we send, when"
    record_id, acked = rows(
        settings, "select crm_record_id, acked_payload from sync.state where lead_id = ?", [ids[ALICE]]
    )[0]
    assert record_id == alice["Id"] and json.loads(acked)["email"] == ALICE
    sent = rows(
        settings,
        """
        select run_id, outcome, http_status, request ->> 'Email', request ->> 'Leadgate_Id__c', crm_record_id, attempted_at
        from sync.attempts where crm = 'salesforce' and lead_id = ? order by attempted_at""",
        [ids[ALICE]],
    )
    assert [r[:6] for r in sent] == [("run-1", "acknowledged", 200, ALICE, ids[ALICE], alice["Id"])]
    assert sent[0][6] is not None

    sf_emulator.reset_traffic()
    again = live(settings, policy, connector(sf_emulator), run_id="run-2")
    assert (again.sent, again.crm_calls, again.outbox.unchanged) == (0, 0, 2)
    assert sum(sf_emulator.counts.values()) == 0, sf_emulator.counts  # not even the describe
    with db.read_connection(settings) as con:
        assert all(inv["ok"] for inv in collect_status(con)["invariants"])


def test_a_per_record_refusal_goes_to_review_with_the_crm_message_and_is_not_retried_until_the_payload_changes(
    world, sf_emulator
):
    settings, policy, ids = world
    sf_emulator.reject_email(ERIN, "DUPLICATES_DETECTED", "Use one of these records?")
    report = live(settings, policy, connector(sf_emulator))
    assert (report.acknowledged, report.rejected, report.to_review) == (1, 1, 1)
    assert emails_in_crm(sf_emulator) == [ALICE]
    assert state(settings, ids[ALICE]) == "synced" and state(settings, ids[ERIN]) == "needs_review"
    assert rows(settings, "select status, last_error from sync.state where lead_id = ?", [ids[ERIN]]) == [
        ("rejected", "DUPLICATES_DETECTED: Use one of these records?")
    ]
    item_id, reasons, summary = rows(
        settings,
        "select item_id, reason_codes, summary from review.items where lead_id = ? and status = 'pending'",
        [ids[ERIN]],
    )[0]
    assert reasons == ["crm_rejected"] and "Use one of these records?" in summary
    assert rows(settings, "select outcome, error_code from sync.attempts where lead_id = ?", [ids[ERIN]]) == [
        ("rejected", "DUPLICATES_DETECTED")
    ]

    # qualified again by routing with the same payload: still not sent
    with db.connect(settings) as con:
        builders.route(con, ids[ERIN], "qualified", ["auto_qualified"])
    sf_emulator.reset_traffic()
    assert live(settings, policy, connector(sf_emulator)).sent == 0 and sum(sf_emulator.counts.values()) == 0
    # a reviewer approves (the payload now carries the approval): sent again, and accepted
    sf_emulator.rejections.clear()
    ReviewService(settings, policy).approve(item_id, "dana", note="merged the duplicate in Salesforce")
    again = live(settings, policy, connector(sf_emulator))
    assert (again.sent, again.acknowledged) == (1, 1)
    assert (
        sf_emulator.leads_with_email(ERIN)[0]["Leadgate_Summary__c"]
        == "Approved by dana: merged the duplicate in Salesforce"
    )
    assert state(settings, ids[ERIN]) == "synced"


def test_transient_failures_leave_the_leads_owed_and_the_next_run_delivers_them(world, sf_emulator):
    settings, policy, ids = world
    sf_emulator.fail("collections_upsert", 503, times=2)
    report = live(settings, policy, connector(sf_emulator, max_attempts=2))
    assert (report.retry, report.acknowledged, report.attempts_logged) == (2, 0, 4)
    assert emails_in_crm(sf_emulator) == []
    assert sorted(rows(settings, "select lead_id, reason from sync.outbox")) == sorted(
        [(ids[ALICE], "retry"), (ids[ERIN], "retry")]
    )
    assert {state(settings, ids[ALICE]), state(settings, ids[ERIN])} == {"qualified"}
    assert rows(settings, "select count(*) from sync.state") == [(0,)]
    assert rows(settings, "select distinct outcome, http_status, error_code from sync.attempts") == [
        ("retry", 503, "SERVER_UNAVAILABLE")
    ]

    again = live(settings, policy, connector(sf_emulator))
    assert (again.sent, again.acknowledged) == (2, 2)
    assert emails_in_crm(sf_emulator) == [ALICE, ERIN]
    assert rows(settings, "select count(*) from sync.outbox") == [(0,)]


def test_a_write_applied_but_never_answered_is_not_duplicated_on_the_next_run(world, sf_emulator):
    settings, policy, ids = world
    sf_emulator.drop_after_apply("collections_upsert")
    first = live(settings, policy, connector(sf_emulator, max_attempts=1))
    assert first.retry == 2 and first.acknowledged == 0
    assert emails_in_crm(sf_emulator) == [ALICE, ERIN]  # the CRM applied the batch ...
    assert rows(settings, "select count(*) from sync.outbox") == [(2,)]  # ... leadgate never heard it
    assert rows(settings, "select http_status, outcome from sync.attempts where lead_id = ?", [ids[ALICE]]) == [
        (None, "retry")
    ]

    second = live(settings, policy, connector(sf_emulator))
    assert (second.sent, second.acknowledged) == (2, 2)
    assert emails_in_crm(sf_emulator) == [ALICE, ERIN]  # still one Lead each
    answers = [r.json() for r in sf_emulator.requests_of("collections_upsert")]
    assert len(answers) == 2 and state(settings, ids[ALICE]) == "synced"


def test_a_process_killed_after_the_crm_answered_does_not_duplicate_either(world, sf_emulator):
    settings, policy, _ids = world
    sf = connector(sf_emulator)

    class KilledAfterSend:
        name, stats = sf.name, sf.stats
        missing_setup = sf.missing_setup

        def upsert_leads(self, leads):
            sf.upsert_leads(leads)
            raise SystemExit("killed before the answers were recorded")

    with pytest.raises(SystemExit):
        live(settings, policy, KilledAfterSend())
    assert rows(settings, "select count(*) from sync.state") == [(0,)]
    before = {lead["Id"] for lead in sf_emulator.leads.values()}
    live(settings, policy, connector(sf_emulator))
    assert {lead["Id"] for lead in sf_emulator.leads.values()} == before and len(before) == 2
    assert rows(settings, "select count(*) from sync.state where status = 'acknowledged'") == [(2,)]


def test_a_converted_lead_is_recorded_as_an_outcome_and_never_written_again(world, sf_emulator):
    settings, policy, ids = world
    live(settings, policy, connector(sf_emulator))
    sf_emulator.convert_lead(ALICE)
    change_title(settings, ids[ALICE], "Chief Revenue Officer")
    report = live(settings, policy, connector(sf_emulator), run_id="run-2")
    assert (report.sent, report.converted, report.to_review) == (1, 1, 0)
    assert sf_emulator.lead_by_ext(ids[ALICE])["Title"] != "Chief Revenue Officer"
    assert rows(settings, "select status from sync.state where lead_id = ?", [ids[ALICE]]) == [("converted",)]
    outcome = rows(
        settings,
        """
        select run_id, to_state, reason_codes, details ->> 'crm_record_id' from audit.decisions
        where kind = 'outcome' and lead_id = ?""",
        [ids[ALICE]],
    )
    assert outcome == [("run-2", "synced", ["crm_converted"], sf_emulator.lead_by_ext(ids[ALICE])["Id"])]

    change_title(settings, ids[ALICE], "CEO")
    sf_emulator.reset_traffic()
    later = live(settings, policy, connector(sf_emulator), run_id="run-3")
    assert (later.sent, later.outbox.owed, sum(sf_emulator.counts.values())) == (0, 0, 0)
    assert state(settings, ids[ALICE]) == "synced"
    with db.read_connection(settings) as con:
        assert all(inv["ok"] for inv in collect_status(con)["invariants"])


def test_a_live_sync_refuses_to_start_while_fields_are_missing_and_names_them(world, sf_emulator):
    settings, policy, _ids = world
    sf_emulator.remove_field("Leadgate_Score__c")
    sf_emulator.remove_field("Leadgate_Reasons__c")
    sf = connector(sf_emulator)
    with pytest.raises(CrmNotReady, match=r"lacks 2 Lead fields .*\(Leadgate_Score__c, Leadgate_Reasons__c\)") as err:
        live(settings, policy, sf)
    assert "leadgate crm setup" in str(err.value)
    assert dict(sf_emulator.counts) == {"describe": 1} and sf_emulator.leads == {}
    assert sf.setup_instructions(["Leadgate_Score__c"]) == [
        "Lead.Leadgate_Score__c: Number(16, 2), label 'leadgate score'"
    ]
    assert rows(settings, "select count(*) from sync.state") == [(0,)]


def test_preview_names_the_leads_and_the_fields_that_change_and_sends_nothing(world, sf_emulator):
    settings, policy, ids = world
    mapping = default_mapping("salesforce")
    first = preview_sync(settings, policy, crm="salesforce", mapping=mapping)
    assert [(p.email, p.action, p.reason) for p in first.leads] == [(ALICE, "create", "new"), (ERIN, "create", "new")]
    assert first.leads[0].changes["LastName"] == (None, "Smith")

    live(settings, policy, connector(sf_emulator))
    change_title(settings, ids[ALICE], "Chief Revenue Officer")
    sf_emulator.reset_traffic()
    preview = preview_sync(settings, policy, crm="salesforce", mapping=mapping)
    assert [(p.lead_id, p.action, p.reason) for p in preview.leads] == [(ids[ALICE], "update", "changed")]
    assert preview.leads[0].changes == {"Title": ("VP Sales", "Chief Revenue Officer")}
    assert (preview.unchanged, preview.refused) == (1, 0)
    text = format_preview(preview)
    assert ids[ALICE] in text and ALICE in text
    assert "Title: 'VP Sales' -> 'Chief Revenue Officer' (only if empty in the CRM)" in text
    # nothing sent, nothing recorded: the outbox and the lead's state are as the sync left them
    assert sum(sf_emulator.counts.values()) == 0
    assert rows(settings, "select count(*) from sync.outbox") == [(0,)] and state(settings, ids[ALICE]) == "synced"


def test_forget_erases_what_was_sent_for_a_person(world, sf_emulator):
    from leadgate.store.forget import forget_person

    settings, policy, ids = world
    live(settings, policy, connector(sf_emulator))
    forget_person(settings, ALICE)
    for table in ("sync.attempts", "sync.state", "sync.outbox"):
        assert rows(settings, f"select count(*) from {table} where lead_id = ?", [ids[ALICE]]) == [(0,)], table
    assert rows(settings, "select count(*) from sync.attempts where lead_id = ?", [ids[ERIN]]) == [(1,)]


def test_a_crm_that_stays_down_fails_the_sync_with_one_line_and_leaves_everything_owed(world, sf_emulator):
    from leadgate.sync.outbox import SyncError

    settings, policy, _ids = world
    sf_emulator.fail("describe", 503, times=2)
    with pytest.raises(SyncError) as err:
        live(settings, policy, connector(sf_emulator, max_attempts=2))
    assert str(err.value) == (
        "salesforce did not answer the set-up check, so nothing was sent and 2 lead(s) stay owed: "
        "Salesforce describe: 503 SERVER_UNAVAILABLE: Server temporarily unavailable "
        "(gave up after 2 attempts)"
    )
    assert rows(settings, "select count(*) from sync.outbox") == [(2,)] and sf_emulator.leads == {}
    assert live(settings, policy, connector(sf_emulator)).acknowledged == 2  # the next run delivers
