"""The interface every CRM connector implements, and the records that cross it.

The sync service (leadgate.sync.outbox) owns state: it decides which outbox rows are owed, hands them to a
connector in batches, and records what came back. A connector owns only the wire: it maps payloads
to the CRM's fields, sends them, and reports one `SyncResult` per lead, never raising for a
per-record problem.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
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
class SyncAttempt:
    """One record in one CRM request: what was sent, what came back (a row of sync.attempts)."""

    lead_id: str
    payload_hash: str | None
    request: dict[str, Any] | None        # the record as sent, in CRM field names
    response: Any                         # the CRM's answer for this record, or the batch-level error
    outcome: SyncOutcome
    attempted_at: datetime
    crm_record_id: str | None = None
    error_code: str | None = None
    message: str | None = None
    http_status: int | None = None        # None when no answer came (timeout, dropped connection)


@dataclass(frozen=True)
class SyncResult:
    lead_id: str
    outcome: SyncOutcome
    crm_record_id: str | None = None
    error_code: str | None = None
    message: str | None = None
    created: bool | None = None
    attempts: tuple[SyncAttempt, ...] = ()   # every attempt that carried this lead, oldest first


@dataclass
class SyncStats:
    calls: int = 0                        # every HTTP request made, look-ups and setup included
    lookup_calls: int = 0
    retries: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    setup_calls: int = 0
    calls_by_kind: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str, n: int = 1) -> None:
        """Count `n` requests of `kind` (query, collections_upsert, bulk_status, batch_upsert, ...)."""
        self.calls += n
        self.calls_by_kind[kind] = self.calls_by_kind.get(kind, 0) + n


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
