"""run_sync with the real HubSpot connector (hubspot-api-client) against the stateful emulator, on a real
leadgate DuckDB file."""

from __future__ import annotations

import pytest

from connectors.crm.base import CrmNotReady
from connectors.crm.hubspot import HubSpotConnector
from leadgate.sync.outbox import run_sync
from tests.emulators.crms import ALICE, CAROL, ERIN, rows, state, world  # noqa: F401  (a pytest fixture)
from tests.emulators.fixtures import hs_emulator, hubspot_server, hubspot_settings  # noqa: F401


def connector(emulator, **overrides) -> HubSpotConnector:
    return HubSpotConnector(hubspot_settings(emulator, **overrides))


def live(settings, policy, crm, run_id="run-1"):
    return run_sync(settings, policy, crm="hubspot", mode="live", connector=crm, run_id=run_id)


def test_contacts_are_upserted_once_by_email_and_an_unchanged_rerun_makes_no_call(world, hs_emulator):
    settings, policy, ids = world
    report = live(settings, policy, connector(hs_emulator))
    assert (report.sent, report.acknowledged, report.synced, report.attempts_logged) == (2, 2, 2, 2)
    assert sorted(p["email"] for p in (c["properties"] for c in hs_emulator.contacts.values())) == [ALICE, ERIN]
    alice = hs_emulator.contact(ALICE)
    assert (alice["leadgate_lead_id"], alice["leadgate_score"], alice["lifecyclestage"]) == (
        ids[ALICE],
        "0.82",
        "marketingqualifiedlead",
    )
    assert hs_emulator.contact(CAROL) is None  # no consent: never sent
    upsert = hs_emulator.requests_of("batch_upsert")[0].json()
    assert [i["idProperty"] for i in upsert["inputs"]] == ["email", "email"]
    assert state(settings, ids[ALICE]) == "synced"
    assert rows(
        settings, "select outcome, http_status, request ->> 'id' from sync.attempts where lead_id = ?", [ids[ALICE]]
    ) == [("acknowledged", 200, ALICE)]

    hs_emulator.reset_traffic()
    again = live(settings, policy, connector(hs_emulator))
    assert (again.sent, again.crm_calls, sum(hs_emulator.counts.values())) == (0, 0, 0)


def test_a_207_error_sends_that_lead_to_review_with_hubspots_message_and_syncs_the_rest(world, hs_emulator):
    settings, policy, ids = world
    hs_emulator.reject_email(ERIN, "Property values were not valid: phone")
    report = live(settings, policy, connector(hs_emulator))
    assert (report.acknowledged, report.rejected, report.to_review) == (1, 1, 1)
    assert state(settings, ids[ALICE]) == "synced" and state(settings, ids[ERIN]) == "needs_review"
    summary = rows(settings, "select summary from review.items where lead_id = ? and status = 'pending'", [ids[ERIN]])
    assert "VALIDATION_ERROR" in summary[0][0] and "Property values were not valid: phone" in summary[0][0]
    assert rows(settings, "select status from sync.state where lead_id = ?", [ids[ERIN]]) == [("rejected",)]


def test_lifecycle_only_moves_forward_and_what_sales_typed_is_kept(world, hs_emulator):
    settings, policy, ids = world
    hs_emulator.add_contact(email=ALICE, firstname="Ally", lifecyclestage="customer")
    live(settings, policy, connector(hs_emulator))
    alice = hs_emulator.contact(ALICE)
    assert (alice["lifecyclestage"], alice["firstname"], alice["leadgate_score"]) == ("customer", "Ally", "0.82")
    assert state(settings, ids[ALICE]) == "synced"


def test_429_with_retry_after_is_honoured_and_converges(world, hs_emulator):
    settings, policy, ids = world
    hs_emulator.fail("batch_upsert", 429, headers={"Retry-After": "0"})
    report = live(settings, policy, connector(hs_emulator))
    assert (report.acknowledged, report.retry) == (2, 0)
    assert rows(
        settings, "select outcome, http_status from sync.attempts where lead_id = ? order by attempt_id", [ids[ALICE]]
    ) == [("retry", 429), ("acknowledged", 200)]


def test_missing_properties_block_a_live_sync_until_setup_creates_them(world, hs_emulator):
    settings, policy, _ids = world
    hs_emulator.remove_property("leadgate_score")
    hs_emulator.remove_property("leadgate_summary")
    hs = connector(hs_emulator)
    with pytest.raises(CrmNotReady, match=r"hubspot lacks 2 contact properties .*\(leadgate_score, leadgate_summary\)"):
        live(settings, policy, hs)
    assert hs_emulator.contacts == {} and rows(settings, "select count(*) from sync.state") == [(0,)]
    assert hs.setup() == ["leadgate_score", "leadgate_summary"]
    assert hs_emulator.properties["leadgate_score"]["type"] == "number"
    assert live(settings, policy, hs).acknowledged == 2
