"""HubSpotConnector: read current contacts by email, then batch-upsert them by email."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from connectors.crm.base import CrmNotReady, SetupGap, SyncOutcome
from connectors.crm.hubspot import records as rec
from connectors.crm.hubspot.client import HubSpotClient
from connectors.crm.hubspot.settings import BATCH_LIMIT, HubSpotSettings
from connectors.crm.ledger import Ledger, Outcome, chunked
from connectors.crm.mapping import CrmMapping, crm_values, fields_to_send, neutral_payload
from connectors.crm.retry import CrmCallError, MalformedBatchError, RetriesExhausted
from connectors.crm.skeleton import CrmConnectorBase, Item
from leadgate.shared.emails import email_key  # the email rule ingest and dbt use: A-Z only, IDNA domain
from leadgate.shared.rate_limits import RollingWindowLimiter


class HubSpotConnector(CrmConnectorBase):
    """CrmConnector for HubSpot contacts through hubspot-api-client."""

    name = "hubspot"
    setup_noun = "contact properties"
    settings_class = HubSpotSettings

    def __init__(
        self,
        settings: HubSpotSettings,
        *,
        mapping: CrmMapping | None = None,
        limiter: RollingWindowLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(settings, mapping=mapping, sleep=sleep)
        self.client = HubSpotClient(settings, self.stats, limiter=limiter)
        self._stop: str | None = None

    def check_mapping(self, mapping: CrmMapping) -> None:
        if mapping.fields.get("email") is None:
            raise CrmNotReady(
                f"{self.settings.mapping}: HubSpot contacts are upserted by email; map `email` to `email`"
            )

    # ------------------------------------------------------------------ setup

    def missing_setup(self) -> list[str]:
        """Contact properties the mapping writes that the portal lacks."""
        existing = {p.get("name") for p in self.retrier.call(self.client.list_properties)}
        return [rule.field for rule in self.mapping.fields.values() if rule.field not in existing]

    def setup(self) -> list[str]:
        """Create the missing custom properties; returns their names (standard ones cannot be created)."""
        missing = self.missing_setup()
        foreign = [name for name in missing if not (rule := self.mapping.rule_for(name)) or not rule.custom]
        if foreign:
            raise CrmNotReady(
                f"HubSpot has no contact propert{'y' if len(foreign) == 1 else 'ies'} "
                f"{', '.join(foreign)}, and leadgate does not create standard ones: "
                f"fix {self.settings.mapping}"
            )
        for name in missing:
            spec = rec.property_spec(self.mapping.rule_for(name), self.settings.property_group)
            self.retrier.call(lambda spec=spec: self.client.create_property(spec))
        return missing

    def create_missing(self) -> list[str]:
        """HubSpot lets leadgate create its custom properties: `setup`."""
        return self.setup()

    def setup_gap(self, missing: Sequence[str]) -> SetupGap:
        return SetupGap(
            None,
            [],
            f"HubSpot lacks {len(missing)} contact propert(ies) leadgate writes: "
            f"{', '.join(missing)}; run `leadgate crm setup` to create them",
        )

    def created_line(self, created: Sequence[str]) -> str:
        return f"created {len(created)} HubSpot contact propert(ies): {', '.join(created)}"

    # ------------------------------------------------------------------ sync

    def send(self, ledger: Ledger) -> None:
        """Read current values by email, then upsert by email."""
        emails: dict[str, str] = {}  # lead_id -> email
        for lead_id, lead in ledger.leads.items():
            email = email_key(neutral_payload(lead_id, lead.payload).get("email") or "")
            if email:
                emails[lead_id] = email
            else:
                ledger.settle(
                    lead_id,
                    Outcome(
                        SyncOutcome.REJECTED,
                        error_code="MISSING_EMAIL",
                        message="HubSpot contacts are matched by email and this lead has none",
                    ),
                )
        current = self._read_current(ledger, emails)
        items: list[Item] = []
        for lead_id, email in emails.items():
            if ledger.is_settled(lead_id):
                continue
            lead = ledger.leads[lead_id]
            found = current.get(email)
            values = crm_values(self.mapping, neutral_payload(lead_id, lead.payload))
            props = fields_to_send(self.mapping, values, found, creating=found is None)
            ours = props.get(rec.LIFECYCLE)
            if (
                ours is not None
                and found is not None
                and not rec.stage_moves_forward(str(ours), found.get(rec.LIFECYCLE))
            ):
                del props[rec.LIFECYCLE]
            items.append((lead, rec.contact_input(email, props)))
        self._stop = None
        for chunk in chunked(items, BATCH_LIMIT):
            if self._stop is None:
                self._send(ledger, list(chunk))
            else:  # a daily-quota 429: more calls today cannot succeed
                ledger.settle_all(
                    [lead.lead_id for lead, _ in chunk],
                    Outcome(SyncOutcome.RETRY, error_code="DAILY_LIMIT", message=self._stop),
                )

    def record_stats(self) -> None:
        self.stats.extra["rate_limiter_waited_s"] = round(self.client.limiter.waited, 3)

    def retries_exhausted(self, exc: RetriesExhausted) -> None:
        if exc.last.final:
            self._stop = str(exc)

    def _read_current(self, ledger: Ledger, emails: dict[str, str]) -> dict[str, dict[str, Any]]:
        """Current properties by email; leads whose read failed are settled RETRY (stages unknown)."""
        wanted = [
            "email",
            rec.LIFECYCLE,
            *[f for f in self.mapping.if_empty_fields if f not in ("email", rec.LIFECYCLE)],
        ]
        by_email: dict[str, list[str]] = {}
        for lead_id, email in emails.items():
            by_email.setdefault(email, []).append(lead_id)
        found: dict[str, dict[str, Any]] = {}
        for chunk in chunked(list(by_email), BATCH_LIMIT):
            try:
                rows = self.retrier.call(lambda chunk=chunk: self.client.batch_read(chunk, wanted))
            except (RetriesExhausted, MalformedBatchError) as exc:
                ids = [lid for email in chunk for lid in by_email[email]]
                ledger.settle_all(ids, Outcome(SyncOutcome.RETRY, error_code="LOOKUP_FAILED", message=str(exc)))
                continue
            for row in rows:
                props = row.get("properties") or {}
                if props.get("email"):
                    found[email_key(props["email"])] = {**props, "hs_object_id": row.get("id")}
        return found

    def _send(self, ledger: Ledger, items: list[Item]) -> None:
        """One batch upsert; 207 errors map to their inputs; a batch refused whole is split."""
        sent = self.send_batch(
            ledger, items, self.client.batch_upsert, resend=lambda part: self._send(ledger, list(part))
        )
        if sent is None:
            return
        (status, results, errors), started = sent
        if rec.unattributed_errors(errors) and len(items) > 1:
            # Which contact failed is unknown: halve the batch as for one refused whole, until each error
            # names its contact or stands alone (then it is that contact's, below).
            exc = CrmCallError(
                "HubSpot reported errors without naming the contacts",
                status=status,
                code="UNATTRIBUTED_ERROR",
                body=errors,
            )
            requests_ = [(lead.lead_id, body) for lead, body in items]
            ledger.bisect_malformed(items, requests_, exc, started, lambda part: self._send(ledger, list(part)))
            return
        done, failed = rec.results_by_email(results), rec.errors_by_email(errors)
        for lead, body in items:
            email = body["id"]
            if email in failed or (len(items) == 1 and errors and email not in done):
                error = failed.get(email) or errors[0]
                code, message = error.get("category") or "VALIDATION_ERROR", str(error.get("message", ""))
                outcome = Outcome(SyncOutcome.REJECTED, None, code, message)
                answer: Any = error
            elif email in done:
                answer = done[email]
                outcome = Outcome(SyncOutcome.ACKNOWLEDGED, str(answer.get("id")), created=answer.get("new"))
            else:
                answer = None
                outcome = Outcome(SyncOutcome.RETRY, None, "NO_RESULT", "HubSpot returned no result for this contact")
            ledger.record(lead.lead_id, body, answer, outcome, at=started, http_status=status)
