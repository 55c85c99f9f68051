"""One adapter over both CRM emulators (what differs, named once), and the helpers the CRM tests share."""

from __future__ import annotations

import pytest

from tests.emulators.fixtures import hubspot_settings, salesforce_settings

# The wire facts the contract tests name per CRM: the write request (its kind, how messages name the CRM and
# the call), the token variable and what a refusal says, a 503's error code, two custom fields of the default
# mapping, and whether leadgate may create them.
FACTS = {
    "salesforce": {
        "write_kind": "collections_upsert",
        "label": "Salesforce",
        "write_call": "collections upsert",
        "token_variable": "SALESFORCE_ACCESS_TOKEN",
        "auth_detail": "INVALID_SESSION_ID",
        "unavailable_code": "SERVER_UNAVAILABLE",
        "custom_fields": ["Leadgate_Score__c", "Leadgate_Summary__c"],
        "creates_setup": False,
    },
    "hubspot": {
        "write_kind": "batch_upsert",
        "label": "HubSpot",
        "write_call": "batch upsert",
        "token_variable": "HUBSPOT_ACCESS_TOKEN",
        "auth_detail": "(401)",
        "unavailable_code": "INTERNAL_ERROR",
        "custom_fields": ["leadgate_score", "leadgate_summary"],
        "creates_setup": True,
    },
}


class Crm:
    """What differs between the two CRMs for the contract: the FACTS, connectors, settings, reading the emulator."""

    def __init__(self, name, emulator):
        self.name, self.emulator = name, emulator
        for key, value in FACTS[name].items():
            setattr(self, key, value)

    def remove_field(self, name):
        """Make the CRM lack one field/property leadgate writes."""
        if self.name == "salesforce":
            self.emulator.remove_field(name)
        else:
            self.emulator.remove_property(name)

    def env(self):
        e = self.emulator
        if self.name == "salesforce":
            return {"SALESFORCE_INSTANCE_URL": e.url, "SALESFORCE_ACCESS_TOKEN": e.token}
        return {"HUBSPOT_BASE_URL": e.url, "HUBSPOT_ACCESS_TOKEN": e.token, "HUBSPOT_REQUESTS_PER_10S": "0"}

    def connector(self, **overrides):
        from connectors.crm.hubspot import HubSpotConnector
        from connectors.crm.salesforce import SalesforceConnector

        if self.name == "salesforce":
            return SalesforceConnector(salesforce_settings(self.emulator, **overrides))
        return HubSpotConnector(hubspot_settings(self.emulator, **overrides))

    def stored(self):
        """Every lead / contact the CRM holds."""
        return self.emulator.leads if self.name == "salesforce" else self.emulator.contacts

    def records(self):
        """(record id, email) of every lead/contact the CRM holds."""
        if self.name == "salesforce":
            return sorted((r["Id"], str(r["Email"])) for r in self.emulator.leads.values())
        return sorted((cid, c["properties"]["email"]) for cid, c in self.emulator.contacts.items())


def crm_for(request, name):
    """The adapter for `name`, its emulator reset for this test."""
    return Crm(name, request.getfixturevalue("sf_emulator" if name == "salesforce" else "hs_emulator"))


@pytest.fixture(params=["salesforce", "hubspot"])
def crm(request):
    return crm_for(request, request.param)


# --- helpers the CRM tests share --------------------------------------------------------------

ALICE, ERIN, BOB, CAROL, DAN = (
    "alice@acme.com",
    "erin@hooli.com",
    "bob@globex.com",
    "carol@initech.com",
    "dan@umbrella.com",
)


@pytest.fixture
def world(settings):
    """alice and erin qualified; bob and dan in review; carol forced to qualified although she withdrew consent."""
    from leadgate.policy import load_policy
    from leadgate.store import db
    from tests.fixtures.services import builders

    ids = builders.seed(settings)
    with db.connect(settings) as con:
        builders.route(con, ids[CAROL], "qualified", ["auto_qualified"])
    return settings, load_policy(settings.policy), ids


def by_lead(results):
    """Results by lead id, asserting one per lead."""
    assert len({r.lead_id for r in results}) == len(results)
    return {r.lead_id: r for r in results}


def rows(settings, sql, params=None):
    from leadgate.store import db

    with db.read_connection(settings) as con:
        return con.execute(sql, params or []).fetchall()


def state(settings, lead_id):
    return rows(settings, "select state from lifecycle.lead_states where lead_id = ?", [lead_id])[0][0]
