"""One adapter over both CRM emulators (what differs, named once), and the helpers the CRM tests share."""

from __future__ import annotations

import pytest

from tests.emulators.fixtures import hubspot_settings, salesforce_settings


class Crm:
    """What differs between the two CRMs for the contract: connectors, settings, and reading the emulator."""

    def __init__(self, name, emulator):
        self.name, self.emulator = name, emulator

    @property
    def write_kind(self):
        return "collections_upsert" if self.name == "salesforce" else "batch_upsert"

    @property
    def token_variable(self):
        return "SALESFORCE_ACCESS_TOKEN" if self.name == "salesforce" else "HUBSPOT_ACCESS_TOKEN"

    @property
    def auth_detail(self):
        """What the CRM's refusal says besides the variable to fix."""
        return "INVALID_SESSION_ID" if self.name == "salesforce" else "(401)"

    @property
    def unavailable_code(self):
        """The error code a 503 is recorded with (the CRM's own words for it)."""
        return "SERVER_UNAVAILABLE" if self.name == "salesforce" else "INTERNAL_ERROR"

    @property
    def custom_fields(self):
        """Two custom fields of the default mapping, in mapping order."""
        return ["Leadgate_Score__c", "Leadgate_Summary__c"] if self.name == "salesforce" else ["leadgate_score", "leadgate_summary"]

    @property
    def creates_setup(self):
        """HubSpot lets leadgate create its custom properties; Salesforce's custom fields are an admin's."""
        return self.name == "hubspot"

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

ALICE, ERIN, BOB, CAROL, DAN = "alice@acme.com", "erin@hooli.com", "bob@globex.com", "carol@initech.com", "dan@umbrella.com"


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
