"""Per-lead bookkeeping inside one `upsert_leads` call: every attempt, and one final result per lead."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from connectors.crm.base import OutboundLead, SyncAttempt, SyncOutcome, SyncResult
from connectors.crm.retry import CrmCallError


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Outcome:
    outcome: SyncOutcome
    crm_record_id: str | None = None
    error_code: str | None = None
    message: str | None = None
    created: bool | None = None


class Ledger:
    """Collects attempts and settles each lead once; unsettled leads end as RETRY."""

    def __init__(self, leads: Sequence[OutboundLead]) -> None:
        self.leads: dict[str, OutboundLead] = {}
        for lead in leads:  # one result per lead id, even if a caller repeats one
            self.leads[lead.lead_id] = lead
        self._attempts: dict[str, list[SyncAttempt]] = {lid: [] for lid in self.leads}
        self._final: dict[str, Outcome] = {}

    def attempt(
        self,
        lead_id: str,
        request: dict[str, Any] | None,
        response: Any,
        outcome: SyncOutcome,
        *,
        at: datetime | None = None,
        crm_record_id: str | None = None,
        error_code: str | None = None,
        message: str | None = None,
        http_status: int | None = None,
    ) -> None:
        lead = self.leads[lead_id]
        self._attempts[lead_id].append(
            SyncAttempt(
                lead_id=lead_id,
                payload_hash=lead.payload_hash,
                request=request,
                response=response,
                outcome=outcome,
                attempted_at=at or utcnow(),
                crm_record_id=crm_record_id,
                error_code=error_code,
                message=message,
                http_status=http_status,
            )
        )

    def batch_failed(
        self,
        requests: Iterable[tuple[str, dict[str, Any] | None]],
        exc: CrmCallError,
        at: datetime,
        outcome: SyncOutcome = SyncOutcome.RETRY,
    ) -> None:
        """One attempt row per record of a request that failed as a whole."""
        response = {"status": exc.status, "error": exc.code, "message": str(exc), "body": _jsonable(exc.body)}
        for lead_id, request in requests:
            self.attempt(
                lead_id,
                request,
                response,
                outcome,
                at=at,
                error_code=exc.code or type(exc).__name__,
                message=str(exc),
                http_status=exc.status,
            )

    def bisect_malformed(
        self,
        items: Sequence[Any],
        requests: Sequence[tuple[str, dict[str, Any] | None]],
        exc: CrmCallError,
        at: datetime,
        send: Callable[[Sequence[Any]], None],
    ) -> None:
        """A batch the CRM refused as malformed: send each half again, down to the one bad record."""
        if len(items) == 1:
            self.batch_failed(requests, exc, at, SyncOutcome.REJECTED)
            self.settle(items[0][0].lead_id, Outcome(SyncOutcome.REJECTED, None, exc.code, str(exc)))
            return
        self.batch_failed(requests, exc, at)
        half = len(items) // 2
        send(items[:half])
        send(items[half:])

    def settle(self, lead_id: str, outcome: Outcome) -> None:
        self._final.setdefault(lead_id, outcome)

    def settle_all(self, lead_ids: Iterable[str], outcome: Outcome) -> None:
        for lead_id in lead_ids:
            self.settle(lead_id, outcome)

    def is_settled(self, lead_id: str) -> bool:
        return lead_id in self._final

    def unsettled(self) -> list[str]:
        return [lid for lid in self.leads if lid not in self._final]

    def results(self, default: Outcome | None = None) -> list[SyncResult]:
        """One SyncResult per lead; a lead nobody answered for stays owed (RETRY)."""
        default = default or Outcome(SyncOutcome.RETRY, error_code="NO_ANSWER", message="no answer for this lead")
        out = []
        for lead_id, lead in self.leads.items():
            final = self._final.get(lead_id, default)
            out.append(
                SyncResult(
                    lead_id=lead_id,
                    outcome=final.outcome,
                    crm_record_id=final.crm_record_id or lead.crm_record_id,
                    error_code=final.error_code,
                    message=final.message,
                    created=final.created,
                    attempts=tuple(self._attempts[lead_id]),
                )
            )
        return out


def _jsonable(body: Any) -> Any:
    if body is None or isinstance(body, (str, int, float, bool, list, dict)):
        return body
    if isinstance(body, bytes):
        return body.decode("utf-8", "replace")
    return str(body)


def chunked(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
