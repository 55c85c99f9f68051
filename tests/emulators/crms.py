"""One adapter over both CRM emulators, for tests that hold for every CRM (what differs, named once)."""

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
