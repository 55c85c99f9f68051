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
    crm_record_id: str | None = None  # known from an earlier acknowledgement


class SyncOutcome(StrEnum):
    ACKNOWLEDGED = "acknowledged"  # the CRM applied this payload
    REJECTED = "rejected"  # the CRM refused this record (validation): do not retry until it changes
    CONVERTED = "converted"  # the CRM record was converted and can no longer be updated
    ALREADY_CONTACT = "already_contact"  # the person already exists as a contact: a person must decide
    RETRY = "retry"  # transient failure: stays owed for the next run


@dataclass(frozen=True)
class SyncAttempt:
    """One record in one CRM request: what was sent, what came back (a row of sync.attempts)."""

    lead_id: str
    payload_hash: str | None
    request: dict[str, Any] | None  # the record as sent, in CRM field names
    response: Any  # the CRM's answer for this record, or the batch-level error
    outcome: SyncOutcome
    attempted_at: datetime
    crm_record_id: str | None = None
    error_code: str | None = None
    message: str | None = None
    http_status: int | None = None  # None when no answer came (timeout, dropped connection)


@dataclass(frozen=True)
class SyncResult:
    lead_id: str
    outcome: SyncOutcome
    crm_record_id: str | None = None
    error_code: str | None = None
    message: str | None = None
    created: bool | None = None
    attempts: tuple[SyncAttempt, ...] = ()  # every attempt that carried this lead, oldest first


@dataclass
class SyncStats:
    calls: int = 0  # every HTTP request made, look-ups and setup included
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


@dataclass(frozen=True)
class SetupGap:
    """What `leadgate crm check|setup` tells a person about missing set-up, and the line it fails with."""

    heading: str | None  # printed above the instructions (None: nothing to print)
    instructions: list[str]  # one line per item a person must create by hand
    error: str  # the command's one-line error


@runtime_checkable
class CrmConnector(Protocol):
    """What the sync and the command line use; connectors.crm.skeleton.CrmConnectorBase implements the shared part."""

    name: str
    stats: SyncStats
    mapping: Any  # the CrmMapping in use

    def missing_setup(self) -> list[str]:
        """Fields/properties leadgate needs that the CRM does not have yet (empty when ready)."""

    def create_missing(self) -> list[str]:
        """Create the set-up the CRM lets leadgate create; the names created (none where an admin must)."""

    def setup_instructions(self, missing: Sequence[str] | None = None) -> list[str]:
        """One line per missing item a person must create by hand."""

    def setup_gap(self, missing: Sequence[str]) -> SetupGap:
        """What `leadgate crm check|setup` prints about `missing`, and its one-line error."""

    def created_line(self, created: Sequence[str]) -> str:
        """The line `leadgate crm setup` prints after creating `created`."""

    def not_ready_message(self, missing: Sequence[str]) -> str:
        """The sync's one line naming what the CRM lacks and how to fix it."""

    def upsert_leads(self, leads: Sequence[OutboundLead]) -> list[SyncResult]:
        """Send the leads; return exactly one result per input lead, in any order."""
