"""HubSpotConnector with the real hubspot-api-client over HTTP against the stateful emulator."""

from __future__ import annotations

import pytest

from connectors.crm.base import CrmConnector, CrmNotReady, OutboundLead, SyncOutcome
from connectors.crm.hubspot import HubSpotConnector
from tests.emulators.crms import by_lead
from tests.emulators.fixtures import (  # noqa: F401  (pytest fixtures)
    fixture_lead,
    hs_emulator,
    hubspot_server,
    hubspot_settings,
    synthetic_leads,
)


def connector(emulator, **overrides) -> HubSpotConnector:
    return HubSpotConnector(hubspot_settings(emulator, **overrides))


def test_250_leads_go_in_three_upserts_keyed_by_email_with_string_values(hs_emulator):
    hs = connector(hs_emulator)
    assert isinstance(hs, CrmConnector)
    leads = synthetic_leads(250)
    results = by_lead(hs.upsert_leads(leads))

    calls = hs_emulator.requests_of("batch_upsert")
    assert [len(c.json()["inputs"]) for c in calls] == [100, 100, 50]
    first = calls[0].json()["inputs"][0]
    assert first["idProperty"] == "email" and first["id"] == "bulk0@bulk.example"
    assert all(isinstance(v, str) for c in calls for i in c.json()["inputs"] for v in i["properties"].values())
    assert (
        first["properties"]["leadgate_score"] == "0.88"
        and first["properties"]["lifecyclestage"] == "marketingqualifiedlead"
    )
    assert first["properties"]["leadgate_lead_id"] == leads[0].lead_id
    assert calls[0].headers["authorization"] == f"Bearer {hs_emulator.token}"
    assert all(r.outcome == SyncOutcome.ACKNOWLEDGED and r.created for r in results.values())
    assert results[leads[7].lead_id].crm_record_id == hs_emulator.contact("bulk7@bulk.example")["hs_object_id"]
    reads = hs_emulator.requests_of("batch_read")
    assert [len(r.json()["inputs"]) for r in reads] == [100, 100, 50]
    assert reads[0].json()["idProperty"] == "email" and "lifecyclestage" in reads[0].json()["properties"]
    assert hs.stats.calls_by_kind == {"batch_read": 3, "batch_upsert": 3} and hs.stats.lookup_calls == 3


def test_a_207_maps_each_error_to_its_lead_and_the_rest_is_acknowledged(hs_emulator):
    hs_emulator.reject_email("dupe@rules.example", "Property values were not valid: phone")
    good = synthetic_leads(3, prefix="good")
    leads = [
        good[0],
        fixture_lead("bad_email"),
        good[1],
        fixture_lead("duplicate_rule"),
        good[2],
        OutboundLead("ld_noemail", {"last_name": "Nomail"}, "h"),
    ]

    results = by_lead(connector(hs_emulator).upsert_leads(leads))

    assert hs_emulator.counts["batch_upsert"] == 1
    assert {lid: r.outcome for lid, r in results.items()} == {
        good[0].lead_id: "acknowledged",
        "ld_bademail00000001": "rejected",
        good[1].lead_id: "acknowledged",
        "ld_dupe00000000001": "rejected",
        good[2].lead_id: "acknowledged",
        "ld_noemail": "rejected",
    }
    assert results["ld_dupe00000000001"].error_code == "VALIDATION_ERROR"
    assert results["ld_dupe00000000001"].message == "Property values were not valid: phone"
    assert "not a valid email" in results["ld_bademail00000001"].message
    assert results["ld_noemail"].error_code == "MISSING_EMAIL" and results["ld_noemail"].attempts == ()
    assert results["ld_dupe00000000001"].attempts[0].http_status == 207
    assert hs_emulator.contact("dupe@rules.example") is None


def test_lifecyclestage_only_moves_forward(hs_emulator):
    hs_emulator.add_contact(email="customer@x.example", lifecyclestage="customer")
    hs_emulator.add_contact(email="early@x.example", lifecyclestage="lead")
    hs_emulator.add_contact(email="custom@x.example", lifecyclestage="1234567")  # a portal's own stage
    leads = [
        OutboundLead(f"ld_{name}", {"email": f"{name}@x.example", "lead_status": "MQL"}, "h")
        for name in ("customer", "early", "custom", "new")
    ]

    connector(hs_emulator).upsert_leads(leads)

    sent = {i["id"]: i["properties"] for i in hs_emulator.requests_of("batch_upsert")[0].json()["inputs"]}
    assert "lifecyclestage" not in sent["customer@x.example"] and "lifecyclestage" not in sent["custom@x.example"]
    assert hs_emulator.contact("customer@x.example")["lifecyclestage"] == "customer"
    assert hs_emulator.contact("early@x.example")["lifecyclestage"] == "marketingqualifiedlead"
    assert hs_emulator.contact("new@x.example")["lifecyclestage"] == "marketingqualifiedlead"


def test_if_empty_properties_keep_what_sales_typed(hs_emulator):
    hs_emulator.add_contact(email="ada.lovelace@analytical.example", firstname="Augusta", jobtitle="", company="Typed")
    connector(hs_emulator).upsert_leads([fixture_lead("complete")])

    stored = hs_emulator.contact("ada.lovelace@analytical.example")
    assert stored["firstname"] == "Augusta" and stored["company"] == "Typed"
    assert stored["jobtitle"] == "CTO" and stored["lastname"] == "Lovelace"
    assert stored["leadgate_score"] == "0.88" and stored["leadgate_summary"] == "Approved: strong fit, demo requested."


def test_a_daily_limit_429_stops_at_once_and_leaves_everything_owed(hs_emulator):
    hs_emulator.fail(
        "batch_upsert",
        429,
        times=5,
        body={
            "status": "error",
            "message": "You have reached your daily limit.",
            "errorType": "RATE_LIMIT",
            "policyName": "DAILY",
        },
    )
    results = connector(hs_emulator).upsert_leads(synthetic_leads(250))

    assert hs_emulator.counts["batch_upsert"] == 1
    assert all(r.outcome == SyncOutcome.RETRY for r in results)
    assert {r.error_code for r in results} == {"RATE_LIMIT", "DAILY_LIMIT"}


def test_a_batch_refused_whole_is_split_and_the_halves_get_through(hs_emulator):
    hs_emulator.fail("batch_upsert", 400)
    results = connector(hs_emulator).upsert_leads(synthetic_leads(10))
    assert all(r.outcome == SyncOutcome.ACKNOWLEDGED for r in results)
    assert [len(r.json()["inputs"]) for r in hs_emulator.requests_of("batch_upsert")] == [10, 5, 5]


# A 207 whose error names no contact (no `context.ids`): nothing in it says which input it belongs to.
UNATTRIBUTED_207 = {
    "status": "COMPLETE",
    "results": [],
    "numErrors": 1,
    "errors": [{"status": "error", "category": "VALIDATION_ERROR", "message": "a value was not valid", "context": {}}],
}


def test_a_207_whose_errors_name_no_contact_is_halved_and_the_halves_get_through(hs_emulator):
    hs_emulator.fail("batch_upsert", 207, body=UNATTRIBUTED_207)
    leads = synthetic_leads(4)
    results = by_lead(connector(hs_emulator).upsert_leads(leads))

    assert [len(r.json()["inputs"]) for r in hs_emulator.requests_of("batch_upsert")] == [4, 2, 2]
    assert all(r.outcome == SyncOutcome.ACKNOWLEDGED for r in results.values())
    first, second = results[leads[0].lead_id].attempts
    assert (first.outcome, first.error_code, first.http_status) == (SyncOutcome.RETRY, "UNATTRIBUTED_ERROR", 207)
    assert second.outcome == SyncOutcome.ACKNOWLEDGED
    assert len(hs_emulator.contacts) == 4


def test_an_unattributed_207_error_that_stays_is_pinned_on_the_one_contact_left(hs_emulator):
    hs_emulator.fail("batch_upsert", 207, times=3, body=UNATTRIBUTED_207)
    results = connector(hs_emulator).upsert_leads(synthetic_leads(2))

    assert [len(r.json()["inputs"]) for r in hs_emulator.requests_of("batch_upsert")] == [2, 1, 1]
    assert all(r.outcome == SyncOutcome.REJECTED for r in results)
    assert {(r.error_code, r.message) for r in results} == {("VALIDATION_ERROR", "a value was not valid")}
    assert all([a.http_status for a in r.attempts] == [207, 207] for r in results)


def test_setup_creates_the_missing_properties_and_missing_setup_lists_them(hs_emulator):
    for name in ("leadgate_score", "leadgate_summary"):
        hs_emulator.remove_property(name)
    hs = connector(hs_emulator)

    assert hs.missing_setup() == ["leadgate_score", "leadgate_summary"]
    assert hs.setup() == ["leadgate_score", "leadgate_summary"]
    assert hs.missing_setup() == [] and hs.setup() == []
    created = [r.json() for r in hs_emulator.requests_of("properties_create")]
    assert created[0] == {
        "name": "leadgate_score",
        "label": "leadgate score",
        "type": "number",
        "fieldType": "number",
        "groupName": "contactinformation",
        "description": "Written by leadgate",
    }
    assert created[1]["fieldType"] == "textarea"
    hs_emulator.remove_property("jobtitle")
    with pytest.raises(CrmNotReady, match="jobtitle"):
        hs.setup()
