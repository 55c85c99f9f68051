"""Build the connector for LEADGATE_CRM: the one place the sync wiring chooses an implementation."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from connectors.crm.base import CrmConnector
from connectors.crm.mapping import CrmMapping, load_mapping

CRMS = ("salesforce", "hubspot")


class CrmSettingsError(ValueError):
    """A SALESFORCE_* / HUBSPOT_* setting is invalid; the message names the variable."""


def crm_settings(crm: str, **settings_overrides: Any) -> BaseModel:
    """SalesforceSettings / HubSpotSettings from the environment (and .env); bad values name their variable."""
    if crm == "salesforce":
        from connectors.crm.salesforce import SalesforceSettings as cls
    elif crm == "hubspot":
        from connectors.crm.hubspot import HubSpotSettings as cls
    else:
        raise ValueError(f"no CRM connector for {crm!r}: use salesforce or hubspot")
    try:
        return cls(**settings_overrides)
    except ValidationError as exc:
        prefix = crm.upper()
        parts = [f"{prefix}_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors()]
        raise CrmSettingsError("invalid setting " + "; ".join(parts)) from None


def crm_mapping(crm: str) -> CrmMapping:
    """The field mapping the connector for `crm` would use (SALESFORCE_MAPPING / HUBSPOT_MAPPING)."""
    return load_mapping(crm_settings(crm).mapping, crm=crm)


def build_connector(crm: str, **settings_overrides: Any) -> CrmConnector:
    """A connector for `crm` ('salesforce' | 'hubspot') from its SALESFORCE_* / HUBSPOT_* settings."""
    settings = crm_settings(crm, **settings_overrides)
    if crm == "salesforce":
        from connectors.crm.salesforce import SalesforceConnector

        return SalesforceConnector(settings)
    from connectors.crm.hubspot import HubSpotConnector

    return HubSpotConnector(settings)
