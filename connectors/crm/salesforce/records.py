"""Pure Salesforce record logic: look-up batching, what to do with each lead, record bodies, and
reading per-record answers (Collections results and Bulk 2.0 CSV rows)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from connectors.crm.base import SyncOutcome
from connectors.crm.ledger import Outcome
from connectors.crm.salesforce.settings import LEAD
from leadgate.shared.emails import email_key  # the email rule ingest and dbt use: A-Z only, IDNA domain

CONVERTED_CODES = {"CANNOT_UPDATE_CONVERTED_LEAD"}
# Per-record codes that say "not now" rather than "never with this payload".
TRANSIENT_CODES = {
    "UNABLE_TO_LOCK_ROW",
    "REQUEST_LIMIT_EXCEEDED",
    "SERVER_UNAVAILABLE",
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "ENTITY_IS_DELETED",
}
# SOQL sent as a GET query string: keep the IN list well under the 16 KB URI limit once encoded.
LOOKUP_MAX_CHARS = 9_000

Action = Literal["create", "update", "adopt", "converted", "contact"]


def lookup_chunks(emails: Sequence[str], max_values: int, max_chars: int = LOOKUP_MAX_CHARS) -> list[list[str]]:
    """Split emails into IN-lists bounded by count and by quoted length."""
    chunks: list[list[str]] = []
    current: list[str] = []
    size = 0
    for email in emails:
        cost = len(email) + 8  # quotes, comma, and room for escapes
        if current and (len(current) >= max_values or size + cost > max_chars):
            chunks.append(current)
            current, size = [], 0
        current.append(email)
        size += cost
    if current:
        chunks.append(current)
    return chunks


@dataclass(frozen=True)
class Plan:
    """What to do with one lead, decided from the look-up."""

    action: Action
    current: Mapping[str, Any] | None = None  # the CRM record's values, when known
    record_id: str | None = None


def plan_lead(
    lead_id: str,
    email: str | None,
    first_sync: bool,
    *,
    ext_field: str,
    leads_by_email: Mapping[str, Sequence[Mapping[str, Any]]],
    contact_emails: set[str],
) -> Plan:
    """Decide create / update ours / adopt a sales-entered Lead / converted / already a contact."""
    found = list(leads_by_email.get(email_key(email), ())) if email else []
    ours = next((r for r in found if r.get(ext_field) == lead_id), None)
    if ours is not None:
        if ours.get("IsConverted"):
            return Plan("converted", ours, ours.get("Id"))
        return Plan("update", ours, ours.get("Id"))
    if not first_sync:
        return Plan("update")  # ours exists by external id, no longer under this email: values unknown
    if email and email_key(email) in contact_emails:
        return Plan("contact")
    open_unowned = [r for r in found if not r.get("IsConverted") and not r.get(ext_field)]
    if open_unowned:
        target = min(open_unowned, key=lambda r: str(r.get("Id")))  # the oldest: Ids grow with creation
        return Plan("adopt", target, target.get("Id"))
    return Plan("create")


def index_by_email(rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    out: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        email = row.get("Email")
        if email:
            out.setdefault(email_key(email), []).append(row)
    return out


def lead_record(
    ext_field: str, lead_id: str, fields: Mapping[str, Any], record_id: str | None = None
) -> dict[str, Any]:
    """A Collections record: attributes.type, the Id when updating by Id, our external id, the fields."""
    record: dict[str, Any] = {"attributes": {"type": LEAD}}
    if record_id is not None:
        record["Id"] = record_id
    record[ext_field] = lead_id
    record.update(fields)
    return record


def bulk_row(record: Mapping[str, Any]) -> dict[str, str]:
    """A Bulk 2.0 CSV row: no attributes, every value as text (an absent column leaves the field as is)."""
    return {k: _csv_text(v) for k, v in record.items() if k != "attributes" and k != "Id" and v is not None}


def _csv_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _first(errors: Any) -> tuple[str | None, str]:
    if isinstance(errors, list) and errors:
        err = errors[0]
        fields = err.get("fields") or []
        message = str(err.get("message", ""))
        if fields and not any(f in message for f in fields):
            message = f"{message} ({', '.join(fields)})"
        return err.get("statusCode") or err.get("errorCode"), message
    return None, "refused without an error message"


def classify_code(code: str | None, message: str, record_id: str | None = None) -> Outcome:
    """A per-record error code as an outcome: converted, retry later, or rejected with the CRM's message."""
    if code in CONVERTED_CODES:
        return Outcome(SyncOutcome.CONVERTED, record_id, code, message)
    if code in TRANSIENT_CODES:
        return Outcome(SyncOutcome.RETRY, record_id, code, message)
    return Outcome(SyncOutcome.REJECTED, record_id, code, message)


def collection_outcome(result: Mapping[str, Any], known_id: str | None = None) -> Outcome:
    """One sObject Collections result (request order) as an outcome."""
    if result.get("success"):
        return Outcome(SyncOutcome.ACKNOWLEDGED, result.get("id") or known_id, created=result.get("created"))
    code, message = _first(result.get("errors"))
    return classify_code(code, message, result.get("id") or known_id)


def bulk_error(text: str) -> tuple[str | None, str]:
    """Split a Bulk sf__Error ("CODE:message:fields --") into code and message."""
    head, _, rest = (text or "").partition(":")
    if head and head.replace("_", "").isalnum() and head.upper() == head:
        rest = rest.strip().removesuffix("--").strip()
        message, sep, fields = rest.rpartition(":")
        if sep and " " not in fields.strip():
            rest = message if not fields or fields in message else f"{message} ({fields})"
        return head, rest or head
    return None, text or "refused without an error message"


def bulk_outcome(row: Mapping[str, str], failed: bool) -> Outcome:
    """One row of a Bulk 2.0 successfulResults / failedResults CSV as an outcome."""
    record_id = row.get("sf__Id") or None
    if not failed:
        created = str(row.get("sf__Created", "")).lower() == "true"
        return Outcome(SyncOutcome.ACKNOWLEDGED, record_id, created=created)
    code, message = bulk_error(row.get("sf__Error", ""))
    return classify_code(code, message, record_id)


def lookup_fields(ext_field: str, extra: Sequence[str]) -> list[str]:
    """Lead look-up columns: identity, conversion, our id, and the `if_empty` fields' current values."""
    fields = ["Id", "Email", "IsConverted", ext_field]
    for name in extra:
        if name not in fields:
            fields.append(name)
    return fields
