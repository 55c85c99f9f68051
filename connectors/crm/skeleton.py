"""What every CRM connector shares: construction, the batch send under retries, the stats tail, and the
set-up wording; a CRM subclasses `CrmConnectorBase` and writes only its client, its mapping and `send`."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from connectors.crm.base import OutboundLead, SetupGap, SyncOutcome, SyncResult, SyncStats
from connectors.crm.ledger import Ledger, Outcome, utcnow
from connectors.crm.mapping import CrmMapping, load_mapping
from connectors.crm.retry import ApiBudgetExhausted, CrmRetrier, MalformedBatchError, RetriesExhausted
from leadgate.shared.retry import RetryPolicy

Item = tuple[OutboundLead, dict[str, Any]]  # a lead and the record sent for it


class CrmConnectorBase:
    """A CrmConnector without its wire: subclasses set the names below and implement `send` and set-up."""

    name: ClassVar[str]  # LEADGATE_CRM value
    setup_noun: ClassVar[str]  # what `missing_setup` lists, plural ("Lead fields")
    setup_hint: ClassVar[str] = ""  # appended to "run `leadgate crm setup`" when that alone is not enough
    settings_class: ClassVar[type]

    def __init__(
        self, settings: Any, *, mapping: CrmMapping | None = None, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.settings = settings
        self.mapping = mapping or load_mapping(settings.mapping, crm=self.name)
        self.check_mapping(self.mapping)
        self.stats = SyncStats()
        self.retrier = CrmRetrier(RetryPolicy.from_settings(settings), sleep=sleep)

    def check_mapping(self, mapping: CrmMapping) -> None:
        """Raise CrmNotReady for a mapping this CRM cannot work with (the default accepts any)."""

    # ------------------------------------------------------------------ set-up

    def missing_setup(self) -> list[str]:
        raise NotImplementedError

    def create_missing(self) -> list[str]:
        """Create the set-up the CRM lets leadgate create; the names created (none where an admin must)."""
        return []

    def setup_instructions(self, missing: Sequence[str] | None = None) -> list[str]:
        """One line per missing item a person must create by hand (none where `create_missing` does it)."""
        return []

    def setup_gap(self, missing: Sequence[str]) -> SetupGap:
        """What `leadgate crm check|setup` prints and the one line it fails with."""
        raise NotImplementedError

    def created_line(self, created: Sequence[str]) -> str:
        return f"created {len(created)}: {', '.join(created)}"

    def not_ready_message(self, missing: Sequence[str]) -> str:
        """The sync's one line naming what the CRM lacks and how to fix it."""
        return (
            f"{self.name} lacks {len(missing)} {self.setup_noun} leadgate writes ({', '.join(missing)}): "
            f"run `leadgate crm setup`{self.setup_hint}; nothing was sent"
        )

    # ------------------------------------------------------------------ sync

    def upsert_leads(self, leads: Sequence[OutboundLead]) -> list[SyncResult]:
        """One result per lead (CrmAuthError aborts); an exhausted API allowance leaves the rest owed."""
        ledger = Ledger(leads)
        if not ledger.leads:
            return []
        try:
            self.send(ledger)
        except ApiBudgetExhausted as exc:
            ledger.settle_all(ledger.unsettled(), Outcome(SyncOutcome.RETRY, error_code=exc.code, message=str(exc)))
        self.stats.retries = self.retrier.retries
        self.stats.extra["waits"] = list(self.retrier.waits)
        self.record_stats()
        return ledger.results()

    def send(self, ledger: Ledger) -> None:
        """Look up and send every lead of `ledger`, settling each one it can."""
        raise NotImplementedError

    def record_stats(self) -> None:
        """Add CRM-specific figures to `self.stats.extra` after a send (the default adds none)."""

    def send_batch(
        self,
        ledger: Ledger,
        items: Sequence[Item],
        call: Callable[[list[dict[str, Any]]], Any],
        *,
        before: Callable[[], None] | None = None,
        resend: Callable[[Sequence[Item]], None] | None = None,
        on_malformed: Callable[[MalformedBatchError, Any], None] | None = None,
    ) -> tuple[Any, Any] | None:
        """One request for `items` under the retrier; (answer, started) or None once the leads are settled.

        Every failed attempt is logged per record; out of retries, the leads stay owed (RETRY); a request
        refused as malformed is split in halves sent again through `resend` (or handed to `on_malformed`).
        """
        requests_ = [(lead.lead_id, record) for lead, record in items]
        started = utcnow()

        def attempt() -> Any:
            nonlocal started
            if before is not None:
                before()
            started = utcnow()
            return call([record for _, record in items])

        try:
            answer = self.retrier.call(attempt, on_failure=lambda exc: ledger.batch_failed(requests_, exc, started))
        except RetriesExhausted as exc:
            self.retries_exhausted(exc)
            ledger.settle_all(
                [lid for lid, _ in requests_],
                Outcome(SyncOutcome.RETRY, error_code=exc.code or "TRANSIENT", message=str(exc)),
            )
            return None
        except MalformedBatchError as exc:
            if on_malformed is not None:
                on_malformed(exc, started)
            else:
                ledger.bisect_malformed(items, requests_, exc, started, resend or (lambda part: None))
            return None
        return answer, started

    def retries_exhausted(self, exc: RetriesExhausted) -> None:
        """Called when a batch ran out of retries (HubSpot stops the run on a daily quota)."""
