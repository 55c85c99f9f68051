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

    def record(
        self,
        lead_id: str,
        request: dict[str, Any] | None,
        response: Any,
        outcome: Outcome,
        *,
        at: datetime | None = None,
        http_status: int | None = None,
        settle: bool = True,
    ) -> None:
        """Log one attempt for `lead_id` (what was sent, what came back); `settle`: `outcome` is its result."""
        self._attempts[lead_id].append(
            SyncAttempt(
                lead_id=lead_id,
                payload_hash=self.leads[lead_id].payload_hash,
                request=request,
                response=response,
                outcome=outcome.outcome,
                attempted_at=at or utcnow(),
                crm_record_id=outcome.crm_record_id,
                error_code=outcome.error_code,
                message=outcome.message,
                http_status=http_status,
            )
        )
        if settle:
            self.settle(lead_id, outcome)

    def batch_failed(
        self,
        requests: Iterable[tuple[str, dict[str, Any] | None]],
        exc: CrmCallError,
        at: datetime,
        outcome: SyncOutcome = SyncOutcome.RETRY,
        *,
        settle: bool = False,
    ) -> None:
        """One attempt row per record of a request that failed as a whole; `settle` makes it their result."""
        response = {"status": exc.status, "error": exc.code, "message": str(exc), "body": _jsonable(exc.body)}
        logged = Outcome(outcome, None, exc.code or type(exc).__name__, str(exc))
        for lead_id, request in requests:
            self.record(lead_id, request, response, logged, at=at, http_status=exc.status, settle=False)
            if settle:
                self.settle(lead_id, Outcome(outcome, None, exc.code, str(exc)))

    def bisect_malformed(
        self,
        items: Sequence[Any],
        requests: Sequence[tuple[str, dict[str, Any] | None]],
        exc: CrmCallError,
        at: datetime,
        send: Callable[[Sequence[Any]], None],
    ) -> None:
        """A batch the CRM refused as malformed (or answered unreadably): send each half again, down to the
        one bad record, which ends REJECTED."""
        if len(items) == 1:
            self.batch_failed(requests, exc, at, SyncOutcome.REJECTED, settle=True)
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
