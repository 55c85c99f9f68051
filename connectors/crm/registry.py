"""Build the connector for LEADGATE_CRM: the one place the sync wiring chooses an implementation."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from pydantic import BaseModel, ValidationError

from connectors.crm.base import CrmConnector
from connectors.crm.mapping import CrmMapping, load_mapping
from leadgate.shared.crms import CRMS, crm_choices
from leadgate.shared.settings_errors import settings_error_line

# Each name in CRMS is a package connectors.crm.<name> exposing CONNECTOR (a CrmConnectorBase with its settings_class).


class CrmSettingsError(ValueError):
    """A SALESFORCE_* / HUBSPOT_* setting is invalid; the message names the variable."""


def connector_class(crm: str) -> Any:
    """The connector class for `crm`, imported only when asked for (each pulls in its SDK)."""
    if crm not in CRMS:
        raise ValueError(f"no CRM connector for {crm!r}: set {crm_choices()}")
    return import_module(f"connectors.crm.{crm}").CONNECTOR


def crm_settings(crm: str, **settings_overrides: Any) -> BaseModel:
    """SalesforceSettings / HubSpotSettings from the environment (and .env); bad values name their variable."""
    cls = connector_class(crm).settings_class
    try:
        return cls(**settings_overrides)
    except ValidationError as exc:
        raise CrmSettingsError(settings_error_line(exc, f"{crm.upper()}_")) from None


def crm_mapping(crm: str) -> CrmMapping:
    """The field mapping the connector for `crm` would use (SALESFORCE_MAPPING / HUBSPOT_MAPPING)."""
    return load_mapping(crm_settings(crm).mapping, crm=crm)


def build_connector(crm: str, **settings_overrides: Any) -> CrmConnector:
    """A connector for `crm` (one of CRMS) from its <CRM>_* settings (SALESFORCE_*, HUBSPOT_*)."""
    return connector_class(crm)(crm_settings(crm, **settings_overrides))
