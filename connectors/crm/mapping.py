"""Versioned field mappings from leadgate's CRM-neutral lead payload to a CRM's fields.

A mapping file (`connectors/crm/<crm>/mapping.yaml`) names, for each payload field it sends, the CRM
field and an overwrite rule: `always`, or `if_empty` (never overwrite what sales typed). Mappings are
validated when loaded; everything here is pure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

# The CRM-neutral payload fields (leadgate.sync.payload.build_payload builds the payload) and how each is rendered.
NEUTRAL_FIELDS: dict[str, str] = {
    "lead_id": "text",
    "email": "text",
    "first_name": "text",
    "last_name": "text",
    "company": "text",
    "company_domain": "text",
    "job_title": "text",
    "phone": "text",
    "country": "text",
    "industry": "text",
    "company_size": "text",
    "lead_source": "text",
    "lead_status": "text",
    "score": "decimal",
    "confidence": "decimal",
    "top_reasons": "lines",
    "reviewer_summary": "text",
    "policy_version": "text",
    "scorer_version": "text",
    "model_version": "text",
    "next_action": "text",
    "hot_signals": "lines",
}
MAPPINGS_DIR = Path(__file__).resolve().parent


class MappingError(ValueError):
    """A mapping file is missing or invalid; the message names the file and the problem."""


class FieldRule(BaseModel):
    """Where one payload field goes in the CRM, and when it may be written."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    field: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    overwrite: Literal["always", "if_empty"] = "always"
    custom: bool = False  # created by the admin (Salesforce) or by `crm setup` (HubSpot)
    kind: Literal["text", "number", "textarea"] = "text"
    label: str | None = None
    values: dict[str, str] | None = None  # translate our values (e.g. MQL) to the CRM's options
    max_length: int | None = Field(default=None, gt=0)


class CrmMapping(BaseModel):
    """A validated mapping file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    crm: str = Field(pattern=r"^[a-z][a-z0-9_]*$")  # the connector's name; load_mapping checks it matches
    object: str
    fields: dict[str, FieldRule]

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, (int, float)) else value

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, fields: dict[str, FieldRule]) -> dict[str, FieldRule]:
        for name in fields:
            if name not in NEUTRAL_FIELDS:
                raise ValueError(f"unknown lead field {name!r} (known: {', '.join(NEUTRAL_FIELDS)})")
        seen: dict[str, str] = {}
        for name, rule in fields.items():
            target = rule.field.lower()
            if target in seen:
                raise ValueError(f"{seen[target]!r} and {name!r} both map to {rule.field!r}")
            seen[target] = name
        return fields

    _by_crm_field: dict[str, FieldRule] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any) -> None:
        self._by_crm_field.update({rule.field: rule for rule in self.fields.values()})

    def rule_for(self, crm_field: str) -> FieldRule | None:
        return self._by_crm_field.get(crm_field)

    @property
    def custom_fields(self) -> list[FieldRule]:
        return [rule for rule in self.fields.values() if rule.custom]

    @property
    def if_empty_fields(self) -> list[str]:
        return [rule.field for rule in self.fields.values() if rule.overwrite == "if_empty"]


def load_mapping(path: Path | str, *, crm: str | None = None) -> CrmMapping:
    """Read and validate a mapping file; a problem raises MappingError naming the file and field."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MappingError(f"{path}: cannot read the mapping file ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise MappingError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(raw, dict):
        raise MappingError(f"{path}: expected a mapping with version, crm, object and fields")
    try:
        mapping = CrmMapping.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "mapping"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = f"unknown setting {err['loc'][-1]!r}"
        raise MappingError(f"{path}: {where}: {msg}") from None
    if crm is not None and mapping.crm != crm:
        raise MappingError(f"{path}: is a {mapping.crm} mapping, expected {crm}")
    return mapping


def default_mapping(crm: str) -> CrmMapping:
    """The mapping shipped with the connector for `crm`."""
    return load_mapping(MAPPINGS_DIR / crm / "mapping.yaml", crm=crm)


def neutral_payload(lead_id: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The payload with lead_id always set from the outbox row (the key the CRM record is matched on)."""
    return {**payload, "lead_id": lead_id}


def is_empty(value: Any) -> bool:
    """A CRM value sales has not filled in."""
    return value is None or (isinstance(value, str) and not value.strip())


def render_value(neutral: str, value: Any, rule: FieldRule) -> Any:
    """One payload value as the CRM should receive it (None = send nothing)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    kind = NEUTRAL_FIELDS[neutral]
    if kind == "decimal":
        return round(float(value), 2)
    if kind == "lines":
        items = [str(v).strip() for v in (value if isinstance(value, (list, tuple)) else [value])]
        text = "\n".join(v for v in items if v)
    else:
        text = str(value).strip()
    if rule.values is not None:
        text = rule.values.get(text, text)
    if rule.max_length is not None:
        text = text[: rule.max_length]
    return text or None


def crm_values(mapping: CrmMapping, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Every mapped field with a value, keyed by CRM field name."""
    out = {}
    for neutral, rule in mapping.fields.items():
        value = render_value(neutral, payload.get(neutral), rule)
        if value is not None:
            out[rule.field] = value
    return out


def fields_to_send(
    mapping: CrmMapping, values: Mapping[str, Any], current: Mapping[str, Any] | None, *, creating: bool
) -> dict[str, Any]:
    """Apply overwrite rules: `if_empty` fields go only to a new record or where the CRM value is empty.

    `current` is the CRM record as looked up (None when it could not be read); without it an existing
    record keeps its `if_empty` fields, so what sales typed is never overwritten blind.
    """
    out = dict(values)
    if creating:
        return out
    for rule in mapping.fields.values():
        if (
            rule.overwrite == "if_empty"
            and rule.field in out
            and (current is None or not is_empty(current.get(rule.field)))
        ):
            del out[rule.field]
    return out


def diff_fields(
    mapping: CrmMapping, old_payload: Mapping[str, Any] | None, new_payload: Mapping[str, Any]
) -> dict[str, tuple[Any, Any]]:
    """CRM fields whose value changes between two payloads: {crm_field: (old, new)} (for previews)."""
    old = crm_values(mapping, old_payload or {})
    new = crm_values(mapping, new_payload)
    return {f: (old.get(f), new.get(f)) for f in sorted(set(old) | set(new)) if old.get(f) != new.get(f)}
