"""Formulas hidden behind invisible characters or in compatibility forms reach neither CRM live (issue 8 item 8)."""

from __future__ import annotations

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

EMAIL = "alice@acme.com"
SET = {
    "first_name": '\u200b=HYPERLINK("https://ev.il","Alice")',
    "company": "\u2060\u00ad@SUM(1+1)",
    "job_title": "\ufe66cmd|' /C calc'!A0",
    "industry": "\u3164+1+1",
    "country": "\ufeff\u200d-2+3",
}
EXPECT = {
    "first_name": '\'=HYPERLINK("https://ev.il","Alice")',
    "company": "'@SUM(1+1)",
    "job_title": "'\ufe66cmd|' /C calc'!A0",
    "industry": "'+1+1",
    "country": "'-2+3",
}
SF = {
    "first_name": "FirstName",
    "company": "Company",
    "job_title": "Title",
    "industry": "Industry",
    "country": "Country",
}
HS = {
    "first_name": "firstname",
    "company": "company",
    "job_title": "jobtitle",
    "industry": "industry",
    "country": "country",
}


@pytest.fixture
def hidden(settings):
    ids = builders.seed(settings)
    with db.connect(settings) as con:
        for field, value in SET.items():
            con.execute(
                f"update marts.lead_features set {field} = ? where email = ?", [value, EMAIL]
            )  # field: constant
    return settings, load_policy(settings.policy), ids


def _issue_fields(settings, lead_id):
    with db.read_connection(settings) as con:
        return {
            f
            for (f,) in con.execute(
                "select field from sync.field_issues where lead_id = ? and problem like 'starts with%'", [lead_id]
            ).fetchall()
        }


def test_salesforce_gets_hidden_formulas_neutralised(hidden, sf_emulator):
    settings, policy, ids = hidden
    run_sync(
        settings,
        policy,
        crm="salesforce",
        mode="live",
        connector=SalesforceConnector(salesforce_settings(sf_emulator)),
        run_id="run-1",
    )
    lead = sf_emulator.lead_by_ext(ids[EMAIL])
    assert {f: lead[SF[f]] for f in EXPECT} == EXPECT
    assert _issue_fields(settings, ids[EMAIL]) == set(EXPECT)


def test_hubspot_gets_hidden_formulas_neutralised(hidden, hs_emulator):
    settings, policy, _ = hidden
    run_sync(
        settings,
        policy,
        crm="hubspot",
        mode="live",
        connector=HubSpotConnector(hubspot_settings(hs_emulator)),
        run_id="run-1",
    )
    contact = hs_emulator.contact(EMAIL)
    assert {f: contact[HS[f]] for f in EXPECT} == EXPECT
