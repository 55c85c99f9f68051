"""SalesforceConnector: look up, then upsert Leads by leadgate's external id (Collections or Bulk 2.0)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from connectors.crm.base import CrmNotReady, SetupGap, SyncOutcome
from connectors.crm.ledger import Ledger, Outcome, chunked
from connectors.crm.mapping import CrmMapping, crm_values, fields_to_send, neutral_payload
from connectors.crm.retry import CrmCallError, MalformedBatchError, RetriesExhausted
from connectors.crm.salesforce import records as rec
from connectors.crm.salesforce.client import SalesforceClient, lookup_soql
from connectors.crm.salesforce.settings import COLLECTION_LIMIT, CONTACT, LEAD, SalesforceSettings
from connectors.crm.skeleton import CrmConnectorBase, Item
from leadgate.shared.emails import email_key  # the email rule ingest and dbt use: A-Z only, IDNA domain

# Calls one Bulk 2.0 job needs besides status polls: create, upload, close, final status, 3 result CSVs.
BULK_JOB_CALLS = 7
_TYPES = {"number": "Number(16, 2)", "textarea": "Long Text Area(32768)"}


class SalesforceConnector(CrmConnectorBase):
    """CrmConnector for Salesforce Leads through simple-salesforce."""

    name = "salesforce"
    setup_noun = "Lead fields"
    setup_hint = " and ask an admin to create them"
    settings_class = SalesforceSettings

    def __init__(
        self,
        settings: SalesforceSettings,
        *,
        mapping: CrmMapping | None = None,
        session: Any = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """`session`: a requests.Session whose TLS trust (verify=) and proxies the client keeps."""
        self.ext = settings.external_id_field
        super().__init__(settings, mapping=mapping, sleep=sleep)
        self.client = SalesforceClient(settings, self.stats, session=session)

    def check_mapping(self, mapping: CrmMapping) -> None:
        if any(rule.field.lower() == self.ext.lower() for rule in mapping.fields.values()):
            raise CrmNotReady(f"{self.settings.mapping}: {self.ext} is the external id; do not map a field to it")

    # ------------------------------------------------------------------ setup

    def missing_setup(self) -> list[str]:
        """Lead fields leadgate writes that the org lacks (or an external id field not marked as one)."""
        described = self.retrier.call(self.client.describe_lead)
        fields = {str(f.get("name", "")).lower(): f for f in described.get("fields", [])}
        missing = []
        ext = fields.get(self.ext.lower())
        if ext is None or not ext.get("externalId"):
            missing.append(self.ext)
        missing += [r.field for r in self.mapping.fields.values() if r.field.lower() not in fields]
        return missing

    def setup_instructions(self, missing: Sequence[str] | None = None) -> list[str]:
        """One line per field the admin must create (custom fields cannot be created over REST)."""
        lines = []
        for name in self.missing_setup() if missing is None else missing:
            if name == self.ext:
                lines.append(f"Lead.{name}: Text(64), External ID, Unique (case-insensitive)")
                continue
            rule = self.mapping.rule_for(name)
            if rule is not None and rule.custom:
                kind = _TYPES.get(rule.kind, f"Text({rule.max_length or 255})")
                lines.append(f"Lead.{name}: {kind}, label {rule.label or name.removesuffix('__c').replace('_', ' ')!r}")
            else:
                lines.append(f"Lead.{name}: standard field not visible to the API user (grant field-level access)")
        return lines

    def setup(self) -> list[str]:
        """Check the org: Salesforce custom fields are created by an admin, so a gap raises CrmNotReady."""
        missing = self.missing_setup()
        if missing:
            raise CrmNotReady(
                "Salesforce needs these Lead fields before a live sync; ask an admin to create: "
                + "; ".join(self.setup_instructions(missing))
            )
        return []

    def setup_gap(self, missing: Sequence[str]) -> SetupGap:
        heading = (
            f"Salesforce needs {len(missing)} Lead field(s) before a live sync. Custom fields cannot be "
            "created over the API: ask a Salesforce admin to create (Setup > Object Manager > Lead > Fields):"
        )
        return SetupGap(
            heading,
            self.setup_instructions(missing),
            f"Salesforce is not ready for a live sync: {len(missing)} Lead field(s) missing (listed above)",
        )

    # ------------------------------------------------------------------ sync

    def send(self, ledger: Ledger) -> None:
        """Look leads up by email, then upsert by external id."""
        payloads = {lid: neutral_payload(lid, lead.payload) for lid, lead in ledger.leads.items()}
        plans = self._look_up(ledger, payloads)
        adopt: list[Item] = []
        upsert: list[Item] = []
        for lead_id, plan in plans.items():
            lead = ledger.leads[lead_id]
            if plan.action in ("converted", "contact"):
                # Decided by the look-up, nothing written: logged as an attempt with the evidence.
                outcome = (
                    Outcome(
                        SyncOutcome.CONVERTED, plan.record_id, "CONVERTED_IN_CRM", "the Salesforce Lead was converted"
                    )
                    if plan.action == "converted"
                    else Outcome(
                        SyncOutcome.ALREADY_CONTACT,
                        None,
                        "EXISTING_CONTACT",
                        "a Salesforce Contact with this email exists",
                    )
                )
                evidence = dict(plan.current) if plan.current else {"Contact.Email": payloads[lead_id].get("email")}
                ledger.record(lead_id, None, {"lookup": evidence}, outcome, http_status=200)
            else:
                values = crm_values(self.mapping, payloads[lead_id])
                fields = fields_to_send(self.mapping, values, plan.current, creating=plan.action == "create")
                record_id = plan.record_id if plan.action == "adopt" else None
                (adopt if record_id else upsert).append((lead, rec.lead_record(self.ext, lead_id, fields, record_id)))
        for chunk in chunked(adopt, COLLECTION_LIMIT):
            self._send_collection(ledger, list(chunk), by_id=True)
        if len(upsert) > self.settings.bulk_threshold:
            self._send_bulk(ledger, upsert)
        else:
            for chunk in chunked(upsert, COLLECTION_LIMIT):
                self._send_collection(ledger, list(chunk), by_id=False)

    def _look_up(self, ledger: Ledger, payloads: dict[str, dict[str, Any]]) -> dict[str, rec.Plan]:
        emails: dict[str, list[str]] = {}
        for lead_id, payload in payloads.items():
            email = payload.get("email")
            if email:
                emails.setdefault(email_key(email), []).append(lead_id)
        first_sync = {lid for lid, lead in ledger.leads.items() if lead.crm_record_id is None}
        lead_fields = rec.lookup_fields(self.ext, self.mapping.if_empty_fields)
        leads_found: list[dict[str, Any]] = []
        contacts: set[str] = set()
        for chunk in rec.lookup_chunks(list(emails), self.settings.lookup_batch_size):
            ids = [lid for email in chunk for lid in emails[email]]
            try:
                leads_found += self._query(LEAD, lead_fields, chunk)
                new = [email for email in chunk if any(lid in first_sync for lid in emails[email])]
                if new:
                    contacts |= {email_key(r.get("Email", "")) for r in self._query(CONTACT, ["Id", "Email"], new)}
            except RetriesExhausted as exc:
                # Creating without knowing what exists could duplicate a Lead: these stay owed.
                ledger.settle_all(ids, Outcome(SyncOutcome.RETRY, error_code="LOOKUP_FAILED", message=str(exc)))
        by_email = rec.index_by_email(leads_found)
        plans = {}
        for lead_id, payload in payloads.items():
            if not ledger.is_settled(lead_id):
                plans[lead_id] = rec.plan_lead(
                    lead_id,
                    payload.get("email"),
                    lead_id in first_sync,
                    ext_field=self.ext,
                    leads_by_email=by_email,
                    contact_emails=contacts,
                )
        return plans

    def _query(self, sobject: str, fields: Sequence[str], emails: Sequence[str]) -> list[dict[str, Any]]:
        soql = lookup_soql(sobject, fields, emails)

        def call() -> list[dict[str, Any]]:
            self.client.check_budget()
            return self.client.query(soql)

        try:
            return self.retrier.call(call)
        except MalformedBatchError as exc:
            raise CrmNotReady(f"Salesforce refused the {sobject} look-up: {exc}") from None

    def _send_collection(self, ledger: Ledger, items: list[Item], *, by_id: bool) -> None:
        """One Collections call (update by Id or upsert by external id), split if refused as malformed."""
        call = self.client.collections_update if by_id else self.client.collections_upsert
        sent = self.send_batch(
            ledger,
            items,
            call,
            before=self.client.check_budget,
            resend=lambda part: self._send_collection(ledger, list(part), by_id=by_id),
        )
        if sent is None:
            return
        answers, started = sent
        if len(answers) != len(items):
            exc = CrmCallError(
                f"Salesforce answered {len(answers)} results for {len(items)} records",
                status=200,
                code="RESULT_COUNT_MISMATCH",
                body=answers,
            )
            ledger.batch_failed([(lead.lead_id, record) for lead, record in items], exc, started, settle=True)
            return
        for (lead, record), answer in zip(items, answers):
            outcome = rec.collection_outcome(answer, record.get("Id"))
            ledger.record(lead.lead_id, record, answer, outcome, at=started, http_status=200)

    def _send_bulk(self, ledger: Ledger, items: list[Item]) -> None:
        """Bulk API 2.0 upsert; results matched back by external id. A failed job falls back to Collections."""
        rows = {lead.lead_id: rec.bulk_row(record) for lead, record in items}

        def fall_back(exc: MalformedBatchError, started: Any) -> None:
            ledger.batch_failed(list(rows.items()), exc, started)
            self.stats.extra["bulk_fallback"] = str(exc)
            for chunk in chunked(items, COLLECTION_LIMIT):
                self._send_collection(ledger, list(chunk), by_id=False)

        sent = self.send_batch(
            ledger,
            [(lead, rows[lead.lead_id]) for lead, _ in items],
            self.client.bulk_upsert,
            before=lambda: self.client.check_budget(BULK_JOB_CALLS),
            on_malformed=fall_back,
        )
        if sent is None:
            return
        jobs, started = sent
        self.stats.extra["bulk_jobs"] = [job.get("job_id") for job in jobs]
        for job in jobs:
            kinds = ["successfulResults", "failedResults"]
            if int(job.get("numberRecordsProcessed", 0)) < int(job.get("numberRecordsTotal", 0)):
                kinds.append("unprocessedrecords")
            for kind in kinds:
                try:
                    answer = self.retrier.call(lambda: self.client.bulk_results(job["job_id"], kind))  # noqa: B023
                except RetriesExhausted:
                    continue  # leads without a result row stay owed; the upsert is idempotent
                for row in answer:
                    lead_id = row.get(self.ext)
                    if lead_id not in rows or ledger.is_settled(lead_id):
                        continue
                    if kind == "unprocessedrecords":
                        outcome = Outcome(
                            SyncOutcome.RETRY, error_code="UNPROCESSED", message="the Bulk job did not process this row"
                        )
                    else:
                        outcome = rec.bulk_outcome(row, failed=kind == "failedResults")
                    ledger.record(lead_id, rows[lead_id], row, outcome, at=started, http_status=200)
