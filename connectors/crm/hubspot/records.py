"""Pure HubSpot record logic: property values, forward-only lifecycle stages, batch inputs, and
reading batch answers (results and 207 per-input errors) back to emails."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from connectors.crm.mapping import FieldRule, is_empty
from leadgate.shared.emails import email_key  # the email rule ingest and dbt use: A-Z only, IDNA domain

LIFECYCLE = "lifecyclestage"
# HubSpot's default lifecycle stages, earliest first.
STAGE_ORDER = [
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
]
_PROPERTY_TYPES = {"number": ("number", "number"), "textarea": ("string", "textarea"), "text": ("string", "text")}


def property_value(value: Any) -> str:
    """HubSpot property values travel as strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(round(value, 2))
    return str(value)


def stage_moves_forward(ours: str, current: str | None) -> bool:
    """Send our stage only to an empty stage or one strictly earlier; unknown (custom) stages are kept."""
    if is_empty(current):
        return True
    if current not in STAGE_ORDER or ours not in STAGE_ORDER:
        return False
    return STAGE_ORDER.index(ours) > STAGE_ORDER.index(current)


def contact_input(email: str, properties: Mapping[str, Any]) -> dict[str, Any]:
    """One batch-upsert input, keyed by email."""
    return {"idProperty": "email", "id": email, "properties": {k: property_value(v) for k, v in properties.items()}}


def results_by_email(results: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    out = {}
    for result in results:
        email = (result.get("properties") or {}).get("email")
        if email:
            out[email_key(email)] = result
    return out


def errors_by_email(errors: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """207 errors keyed by each email in `context.ids`."""
    out = {}
    for error in errors:
        for email in (error.get("context") or {}).get("ids") or []:
            out[email_key(email)] = error
    return out


def unattributed_errors(errors: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Errors that name no input: the batch cannot be read record by record."""
    return [e for e in errors if not (e.get("context") or {}).get("ids")]


def property_spec(rule: FieldRule, group: str) -> dict[str, Any]:
    """The create-property body for one custom property of the mapping."""
    type_, field_type = _PROPERTY_TYPES[rule.kind]
    return {
        "name": rule.field,
        "label": rule.label or rule.field.replace("_", " "),
        "type": type_,
        "fieldType": field_type,
        "groupName": group,
        "description": "Written by leadgate",
    }
