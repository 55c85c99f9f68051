"""Formulas, HTML, NUL and bidi controls in a lead's text never reach Salesforce or HubSpot as such:
both CRMs (real clients, local emulators) receive the neutralised values, and each change is a field issue."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors.crm.hubspot import HubSpotConnector
from connectors.crm.salesforce import SalesforceConnector
from leadgate.policy import load_policy
from leadgate.store import db
from leadgate.sync.outbox import run_sync
from tests.emulators.fixtures import (  # noqa: F401  (fixtures are found by name)
    hs_emulator,
    hubspot_server,
    hubspot_settings,
    salesforce_server,
    salesforce_settings,
    sf_emulator,
    tls_ca,
)
from tests.fixtures.services import builders

HOSTILE = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "hostile" / "crm_fields.json").read_text(encoding="utf-8")
)
PEOPLE = [email for email in HOSTILE if "@" in email]
SF_FIELDS = {
    "first_name": "FirstName",
    "last_name": "LastName",
    "company": "Company",
    "job_title": "Title",
    "industry": "Industry",
    "phone": "Phone",
    "country": "Country",
}
HS_FIELDS = {
    "first_name": "firstname",
    "last_name": "lastname",
    "company": "company",
    "job_title": "jobtitle",
    "industry": "industry",
    "phone": "phone",
    "country": "country",
}


@pytest.fixture
def hostile_world(settings):
    """alice and erin qualified with consent, their text fields replaced by the hostile values of the fixture."""
    ids = builders.seed(settings)
    with db.connect(settings) as con:
        for email in PEOPLE:
            for field, value in HOSTILE[email]["set"].items():
                con.execute(
                    f"update marts.lead_features set {field} = ? where email = ?", [value, email]
                )  # field: fixture key
    return settings, load_policy(settings.policy), ids


def _issues(settings, lead_id):
    with db.read_connection(settings) as con:
        return con.execute(
            "select field, problem from sync.field_issues where lead_id = ? order by field, problem", [lead_id]
        ).fetchall()


def _assert_issues(settings, ids):
    for email in PEOPLE:
        found = _issues(settings, ids[email])
        expected = HOSTILE[email]["issues"]
        assert len(found) == len(expected), found
        for (field, problem), (want_field, want_start) in zip(found, expected):
            assert field == want_field and problem.startswith(want_start), (field, problem)


def test_salesforce_receives_neutral_text_and_each_change_is_a_field_issue(hostile_world, sf_emulator):
    settings, policy, ids = hostile_world
    connector = SalesforceConnector(salesforce_settings(sf_emulator))
    report = run_sync(settings, policy, crm="salesforce", mode="live", connector=connector, run_id="run-1")
    assert report.acknowledged == 2
    for email in PEOPLE:
        lead = sf_emulator.lead_by_ext(ids[email])
        for field, expected in HOSTILE[email]["expect"].items():
            assert lead[SF_FIELDS[field]] == expected, (email, field, lead[SF_FIELDS[field]])
        sent = json.dumps(lead, ensure_ascii=False)
        assert "\x00" not in sent and "\u202e" not in sent and "<script" not in sent
    _assert_issues(settings, ids)


def test_hubspot_receives_neutral_text_and_each_change_is_a_field_issue(hostile_world, hs_emulator):
    settings, policy, ids = hostile_world
    connector = HubSpotConnector(hubspot_settings(hs_emulator))
    report = run_sync(settings, policy, crm="hubspot", mode="live", connector=connector, run_id="run-1")
    assert report.acknowledged == 2
    for email in PEOPLE:
        contact = hs_emulator.contact(email)
        for field, expected in HOSTILE[email]["expect"].items():
            assert contact[HS_FIELDS[field]] == expected, (email, field, contact[HS_FIELDS[field]])
    raw = " ".join(r.body.decode("utf-8") for r in hs_emulator.requests_of("batch_upsert"))
    assert "\\u0000" not in raw and "\\u202e" not in raw.lower() and "<script" not in raw
    _assert_issues(settings, ids)


def test_field_issues_are_recorded_once_per_lead_field_and_problem_and_go_with_forget(hostile_world):
    from leadgate.store.forget import forget_person

    settings, policy, ids = hostile_world
    for run in ("run-1", "run-2"):
        run_sync(settings, policy, crm="none", mode="shadow", run_id=run)  # shadow mode records them too
    alice = _issues(settings, ids["alice@acme.com"])
    assert len(alice) == len(HOSTILE["alice@acme.com"]["issues"])
    with db.read_connection(settings) as con:
        payload = json.loads(
            con.execute(
                "select payload::varchar from sync.outbox where lead_id = ?", [ids["alice@acme.com"]]
            ).fetchall()[0][0]
        )
    assert payload["first_name"].startswith("'=") and payload["company"] == "Acme Corp"
    forget_person(settings, "alice@acme.com")
    assert _issues(settings, ids["alice@acme.com"]) == []
    assert _issues(settings, ids["erin@hooli.com"])  # the other lead's issues stay
