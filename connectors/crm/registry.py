"""Build the connector for LEADGATE_CRM: the one place the sync wiring chooses an implementation."""

from __future__ import annotations

from typing import Any

from connectors.crm.base import CrmConnector


def build_connector(crm: str, **settings_overrides: Any) -> CrmConnector:
    """A connector for `crm` ('salesforce' | 'hubspot') from its SALESFORCE_* / HUBSPOT_* settings."""
    if crm == "salesforce":
        from connectors.crm.salesforce import SalesforceConnector, SalesforceSettings

        return SalesforceConnector(SalesforceSettings(**settings_overrides))
    if crm == "hubspot":
        from connectors.crm.hubspot import HubSpotConnector, HubSpotSettings

        return HubSpotConnector(HubSpotSettings(**settings_overrides))
    raise ValueError(f"no CRM connector for {crm!r}: use salesforce or hubspot")
