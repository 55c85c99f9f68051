"""SalesforceConnector with the real simple-salesforce client over TLS against the stateful emulator."""

from __future__ import annotations

import json

import pytest

from connectors.crm.base import CrmConnector, CrmNotReady, OutboundLead, SyncOutcome
from connectors.crm.salesforce import SalesforceConnector
from tests.emulators.crms import by_lead
from tests.emulators.fixtures import (  # noqa: F401  (pytest fixtures)
    fixture_lead,
    salesforce_server,
    salesforce_settings,
    sf_emulator,
    synthetic_leads,
    tls_ca,
)

EXT = "Leadgate_Id__c"


def connector(emulator, **overrides) -> SalesforceConnector:
    return SalesforceConnector(salesforce_settings(emulator, **overrides))


def test_450_leads_go_in_three_collections_calls_of_the_documented_shape(sf_emulator):
    sf = connector(sf_emulator)
    assert isinstance(sf, CrmConnector)
    leads = synthetic_leads(450)
    results = by_lead(sf.upsert_leads(leads))

    calls = sf_emulator.requests_of("collections_upsert")
    assert [len(c.json()["records"]) for c in calls] == [200, 200, 50]
    assert all(c.path.endswith(f"/composite/sobjects/Lead/{EXT}") and c.method == "PATCH" for c in calls)
    body = calls[0].json()
    assert body["allOrNone"] is False
    first = body["records"][0]
    assert first["attributes"] == {"type": "Lead"} and "Id" not in first
    assert first[EXT] == leads[0].lead_id and first["Email"] == "bulk0@bulk.example"
    assert first["Leadgate_Score__c"] == 0.88 and first["Leadgate_Status__c"] == "MQL"
    assert calls[0].headers["sforce-auto-assign"] == "TRUE"
    assert all(r.outcome == SyncOutcome.ACKNOWLEDGED and r.created for r in results.values())
    stored = sf_emulator.lead_by_ext(leads[449].lead_id)
    assert results[leads[449].lead_id].crm_record_id == stored["Id"] and stored["OwnerId"].endswith("RUL")
    # look-ups: Lead and Contact by email, batched (300 emails a query), never one call per lead
    assert sf.stats.lookup_calls == sf_emulator.counts["query"] == 4
    assert sf.stats.calls_by_kind["collections_upsert"] == 3
    soql = sf_emulator.requests_of("query")[0].query["q"][0]
    assert (
        soql.startswith(f"SELECT Id, Email, IsConverted, {EXT}, FirstName")
        and " FROM Lead WHERE Email IN ('bulk0@bulk.example'," in soql
    )


def test_auto_assign_off_sends_false_and_keeps_the_api_user_as_owner(sf_emulator):
    lead = fixture_lead("complete")
    connector(sf_emulator, auto_assign=False).upsert_leads([lead])
    assert sf_emulator.requests_of("collections_upsert")[0].headers["sforce-auto-assign"] == "FALSE"
    assert sf_emulator.lead_by_ext(lead.lead_id)["OwnerId"].endswith("API")


def test_existing_lead_is_adopted_by_id_and_an_existing_contact_is_not_duplicated(sf_emulator):
    typed = sf_emulator.add_lead(Email="O'Brien@quotes.example", LastName="O'Brien", Company="Typed By Sales", Title="")
    sf_emulator.add_contact(Email="ada.lovelace@analytical.example", LastName="Lovelace")
    obrien, ada = fixture_lead("apostrophe"), fixture_lead("complete")

    results = by_lead(connector(sf_emulator).upsert_leads([obrien, ada]))

    assert results[obrien.lead_id].outcome == SyncOutcome.ACKNOWLEDGED
    assert results[obrien.lead_id].crm_record_id == typed
    update = sf_emulator.requests_of("collections_update")[0].json()["records"]
    assert update[0]["Id"] == typed and update[0][EXT] == obrien.lead_id
    stored = sf_emulator.leads_with_email("o'brien@quotes.example")
    assert len(stored) == 1 and stored[0][EXT] == obrien.lead_id
    assert stored[0]["Company"] == "Typed By Sales"  # if_empty: what sales typed stays
    assert stored[0]["Title"] == "VP Sales"  # ... and empty fields are filled
    assert results[ada.lead_id].outcome == SyncOutcome.ALREADY_CONTACT
    assert sf_emulator.leads_with_email(ada.payload["email"]) == []
    assert sf_emulator.counts["collections_upsert"] == 0


def test_partial_failures_are_mapped_to_the_right_leads(sf_emulator):
    sf_emulator.reject_email("dupe@rules.example", "DUPLICATES_DETECTED", "Use one of these records?")
    sf_emulator.reject_email("converted@x.example", "CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")
    good = synthetic_leads(3, prefix="good")
    converted = OutboundLead("ld_conv", {**good[0].payload, "email": "converted@x.example", "lead_id": "ld_conv"}, "h")
    leads = [
        good[0],
        fixture_lead("no_company"),
        good[1],
        fixture_lead("bad_email"),
        fixture_lead("duplicate_rule"),
        converted,
        good[2],
    ]

    results = by_lead(connector(sf_emulator).upsert_leads(leads))

    assert sf_emulator.counts["collections_upsert"] == 1
    assert {lid: r.outcome for lid, r in results.items()} == {
        good[0].lead_id: "acknowledged",
        "ld_nocompany000001": "rejected",
        good[1].lead_id: "acknowledged",
        "ld_bademail00000001": "rejected",
        "ld_dupe00000000001": "rejected",
        "ld_conv": "converted",
        good[2].lead_id: "acknowledged",
    }
    assert results["ld_nocompany000001"].error_code == "REQUIRED_FIELD_MISSING"
    assert "Company" in results["ld_nocompany000001"].message
    assert results["ld_bademail00000001"].error_code == "INVALID_EMAIL_ADDRESS"
    assert results["ld_dupe00000000001"].message == "Use one of these records?"
    attempt = results["ld_nocompany000001"].attempts[0]
    assert attempt.request["Email"] == "no.company@freemail.example" and attempt.response["success"] is False
    assert sf_emulator.lead_by_ext("ld_nocompany000001") is None


def test_a_lead_converted_in_salesforce_is_recorded_and_not_written(sf_emulator):
    lead = fixture_lead("complete")
    first = connector(sf_emulator).upsert_leads([lead])[0]
    sf_emulator.convert_lead(lead.payload["email"])
    changed = OutboundLead(lead.lead_id, {**lead.payload, "score": 0.5}, "h2", first.crm_record_id)
    sf_emulator.reset_traffic()

    result = connector(sf_emulator).upsert_leads([changed])[0]

    assert result.outcome == SyncOutcome.CONVERTED and result.crm_record_id == first.crm_record_id
    assert sf_emulator.counts["collections_upsert"] == 0
    assert sf_emulator.lead_by_ext(lead.lead_id)["Leadgate_Score__c"] == 0.88


def test_if_empty_fields_keep_what_sales_typed_on_our_own_lead(sf_emulator):
    lead = fixture_lead("complete")
    record_id = connector(sf_emulator).upsert_leads([lead])[0].crm_record_id
    stored = sf_emulator.lead_by_ext(lead.lead_id)
    stored.update(Title="Chief Technology Officer", Phone=None)  # sales edits
    changed = OutboundLead(
        lead.lead_id, {**lead.payload, "job_title": "VP", "phone": "+1 555 0100", "score": 0.4}, "h2", record_id
    )

    connector(sf_emulator).upsert_leads([changed])

    sent = sf_emulator.requests_of("collections_upsert")[-1].json()["records"][0]
    assert "Title" not in sent and sent["Phone"] == "+1 555 0100" and sent["Leadgate_Score__c"] == 0.4
    assert stored["Title"] == "Chief Technology Officer" and stored["Phone"] == "+1 555 0100"


def test_missing_setup_names_the_exact_fields_the_admin_must_create(sf_emulator):
    sf = connector(sf_emulator)
    assert sf.missing_setup() == [] and sf.setup() == []
    sf_emulator.remove_field("Leadgate_Score__c")
    sf_emulator.remove_field(EXT)

    assert sf.missing_setup() == [EXT, "Leadgate_Score__c"]
    with pytest.raises(CrmNotReady, match=r"Lead.Leadgate_Score__c: Number\(16, 2\)") as err:
        sf.setup()
    assert f"Lead.{EXT}: Text(64), External ID, Unique" in str(err.value)
    assert sf.stats.setup_calls == sf_emulator.counts["describe"] == 4


def test_above_the_bulk_threshold_one_bulk_job_is_matched_back_by_external_id(sf_emulator):
    leads = synthetic_leads(30)
    leads[7] = OutboundLead(leads[7].lead_id, {**leads[7].payload, "company": None}, "h7")
    sf = connector(sf_emulator, bulk_threshold=20)
    results = by_lead(sf.upsert_leads(leads))

    assert sf_emulator.counts["collections_upsert"] == 0
    assert {k: sf_emulator.counts[k] for k in ("bulk_create", "bulk_upload", "bulk_close", "bulk_results")} == {
        "bulk_create": 1,
        "bulk_upload": 1,
        "bulk_close": 1,
        "bulk_results": 2,
    }
    assert sf_emulator.counts["bulk_status"] >= 2  # polls until JobComplete, then the summary
    job = sf_emulator.requests_of("bulk_create")[0].json()
    assert job["operation"] == "upsert" and job["externalIdFieldName"] == EXT and job["object"] == "Lead"
    assert results[leads[7].lead_id].outcome == SyncOutcome.REJECTED
    assert results[leads[7].lead_id].error_code == "REQUIRED_FIELD_MISSING"
    for lead in leads[:7] + leads[8:]:  # the success CSV comes back in another order
        assert results[lead.lead_id].crm_record_id == sf_emulator.lead_by_ext(lead.lead_id)["Id"]
    assert sf_emulator.lead_by_ext(leads[0].lead_id)["Leadgate_Score__c"] == 0.88


def test_a_failed_bulk_job_falls_back_to_collections(sf_emulator):
    sf_emulator.fail_bulk_jobs = 1
    sf = connector(sf_emulator, bulk_threshold=5)
    results = sf.upsert_leads(synthetic_leads(8))

    assert all(r.outcome == SyncOutcome.ACKNOWLEDGED for r in results)
    assert sf_emulator.counts["collections_upsert"] == 1 and "bulk_fallback" in sf.stats.extra


def test_a_batch_refused_as_malformed_is_split_to_find_the_bad_record(sf_emulator):
    leads = synthetic_leads(8)
    sf_emulator.malformed_email(leads[5].payload["email"])
    results = by_lead(connector(sf_emulator).upsert_leads(leads))

    assert results[leads[5].lead_id].outcome == SyncOutcome.REJECTED
    assert results[leads[5].lead_id].error_code == "JSON_PARSER_ERROR"
    assert all(results[lead.lead_id].outcome == SyncOutcome.ACKNOWLEDGED for lead in leads if lead is not leads[5])
    assert sf_emulator.counts["collections_upsert"] == 7  # 8 -> 4+4 -> 2+2 -> 1+1
    assert len(sf_emulator.leads) == 7


def test_the_daily_api_limit_margin_stops_sending_and_leaves_the_rest_owed(sf_emulator):
    sf_emulator.api_max = 1_000
    sf_emulator.api_used = 990
    results = connector(sf_emulator, api_limit_margin=5).upsert_leads(synthetic_leads(1000))

    outcomes = [r.outcome for r in results]
    assert sf_emulator.api_used <= 995
    assert outcomes.count(SyncOutcome.ACKNOWLEDGED) == 200 * sf_emulator.counts["collections_upsert"]
    assert outcomes.count(SyncOutcome.RETRY) >= 600
    assert {r.error_code for r in results if r.outcome == SyncOutcome.RETRY} == {"API_LIMIT_MARGIN"}


def test_the_payload_leadgate_sync_builds_is_mapped_field_by_field(sf_emulator):
    from leadgate.sync.outbox import build_payload

    row = {
        "lead_id": "ld_fromsync0000001",
        "email": "grace@navy.example",
        "first_name": "Grace",
        "last_name": "Hopper",
        "company": "Navy",
        "job_title": "Rear Admiral",
        "score": 0.91234,
        "confidence": 0.8,
        "reasons": [
            {"feature": "demo", "points": 30, "detail": "Requested a demo"},
            {"feature": "title", "points": 40, "detail": "Senior title"},
        ],
        "reviewer_summary": "Approved after review",
        "policy_version": "p1",
        "scorer_version": "s1",
    }
    lead = OutboundLead("ld_fromsync0000001", json.loads(json.dumps(build_payload(row))), "h")
    assert connector(sf_emulator).upsert_leads([lead])[0].outcome == SyncOutcome.ACKNOWLEDGED

    sent = sf_emulator.requests_of("collections_upsert")[0].json()["records"][0]
    assert sent[EXT] == "ld_fromsync0000001" and sent["Leadgate_Score__c"] == 0.91
    assert sent["Leadgate_Reasons__c"] == "Senior title\nRequested a demo"
    assert sent["Leadgate_Summary__c"] == "Approved after review" and sent["Title"] == "Rear Admiral"
    assert "lead_id" not in sent and "Company" in sent


def test_every_attempt_is_a_row_of_sync_attempts(sf_emulator, settings):
    from connectors.crm.attempts import ATTEMPT_COLUMNS, attempt_rows
    from leadgate.store import db

    sf_emulator.fail("collections_upsert", 500)
    lead = fixture_lead("complete")
    results = connector(sf_emulator).upsert_leads([lead])
    rows = attempt_rows("salesforce", "run-1", results)
    with db.connect(settings) as con:
        con.executemany(
            f"insert into sync.attempts ({', '.join(ATTEMPT_COLUMNS)}) values "
            f"({', '.join('?' for _ in ATTEMPT_COLUMNS)})",
            rows,
        )
        stored = con.execute(
            "select outcome, http_status, error_code, request ->> 'Email', crm_record_id, payload_hash"
            " from sync.attempts where lead_id = ? order by attempt_id",
            [lead.lead_id],
        ).fetchall()
    record_id = sf_emulator.lead_by_ext(lead.lead_id)["Id"]
    assert stored == [
        ("retry", 500, "UNKNOWN_EXCEPTION", lead.payload["email"], None, lead.payload_hash),
        ("acknowledged", 200, None, lead.payload["email"], record_id, lead.payload_hash),
    ]


def test_the_emulator_answers_single_record_upserts_as_salesforce_does(sf_emulator):
    from simple_salesforce.exceptions import SalesforceMalformedRequest

    sdk = connector(sf_emulator).client.sf  # the real client, straight at the emulator
    created = sdk.Lead.upsert(f"{EXT}/ld%2Fslash", {"LastName": "One", "Company": "C"}, raw_response=True)
    assert created.status_code == 201 and created.json()["created"] is True
    updated = sdk.Lead.upsert(f"{EXT}/ld%2Fslash", {"Title": "CEO"}, raw_response=True)
    assert updated.status_code == 200 and sf_emulator.lead_by_ext("ld/slash")["Title"] == "CEO"
    with pytest.raises(SalesforceMalformedRequest) as err:
        sdk.Lead.upsert(f"{EXT}/ld_new", {"LastName": "No company"})
    assert err.value.content[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert "api-usage=" in created.headers["Sforce-Limit-Info"]
