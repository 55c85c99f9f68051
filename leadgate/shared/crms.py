"""The CRMs leadgate syncs to: the one list that LEADGATE_CRM, the connector registry and every message
naming the choice are read from (each name is also the package connectors.crm.<name>)."""

from __future__ import annotations

from typing import Literal, get_args

CrmName = Literal["salesforce", "hubspot"]
CRMS: tuple[CrmName, ...] = get_args(CrmName)


def crm_choices(variable: str = "LEADGATE_CRM") -> str:
    """How a message tells a person what to set: `LEADGATE_CRM=salesforce or LEADGATE_CRM=hubspot`."""
    return " or ".join(f"{variable}={name}" for name in CRMS)
