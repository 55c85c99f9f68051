"""The interface every CRM connector implements, and the records that cross it.

The sync service (leadgate.sync) owns state: it decides which outbox rows are owed, hands them to a
connector in batches, and records what came back. A connector owns only the wire: it maps payloads
to the CRM's fields, sends them, and reports one `SyncResult` per lead, never raising for a
per-record problem.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class OutboundLead:
    """One owed lead: its CRM-neutral payload and the payload's hash."""

    lead_id: str
    payload: dict[str, Any]
    payload_hash: str
    crm_record_id: str | None = None      # known from an earlier acknowledgement


class SyncOutcome(StrEnum):
    ACKNOWLEDGED = "acknowledged"         # the CRM applied this payload
    REJECTED = "rejected"                 # the CRM refused this record (validation): do not retry until it changes
    CONVERTED = "converted"               # the CRM record was converted and can no longer be updated
    ALREADY_CONTACT = "already_contact"   # the person already exists as a contact: a person must decide
    RETRY = "retry"                       # transient failure: stays owed for the next run


@dataclass(frozen=True)
class SyncResult:
    lead_id: str
    outcome: SyncOutcome
    crm_record_id: str | None = None
    error_code: str | None = None
    message: str | None = None
    created: bool | None = None


@dataclass
class SyncStats:
    calls: int = 0
    lookup_calls: int = 0
    retries: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class CrmAuthError(RuntimeError):
    """Credentials were refused: the sync stops and marks nothing."""


class CrmNotReady(RuntimeError):
    """The CRM lacks fields or properties leadgate writes; the message lists them."""


@runtime_checkable
class CrmConnector(Protocol):
    name: str
    stats: SyncStats

    def missing_setup(self) -> list[str]:
        """Fields/properties leadgate needs that the CRM does not have yet (empty when ready)."""

    def upsert_leads(self, leads: Sequence[OutboundLead]) -> list[SyncResult]:
        """Send the leads; return exactly one result per input lead, in any order."""
