"""`leadgate sync --preview`: which leads a sync would create or update, and which CRM fields change
against the payload the CRM last acknowledged. Reads only; sends nothing and changes no state."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from connectors.crm.mapping import CrmMapping, diff_fields
from leadgate.store import db
from leadgate.config import LeadgateSettings
from leadgate.shared.neutral_text import one_line, terminal_safe
from leadgate.policy import Policy
from leadgate.sync.outbox import planned_outbox


@dataclass(frozen=True)
class LeadPreview:
    lead_id: str
    email: str | None
    action: str                                   # create | update
    reason: str                                   # new | changed | retry
    changes: dict[str, tuple[Any, Any]]           # field -> (last acknowledged value, value to send)


@dataclass(frozen=True)
class SyncPreview:
    crm: str
    mode: str
    leads: list[LeadPreview] = field(default_factory=list)
    unchanged: int = 0                            # the CRM has their current payload
    refused: int = 0                              # refused by the CRM; not resent until the payload changes
    converted: int = 0                            # converted in the CRM; never written again
    elsewhere: int = 0                            # synced through another CRM before a switch
    if_empty: list[str] = field(default_factory=list)   # fields written only where the CRM's value is empty

    @property
    def creates(self) -> int:
        return sum(1 for lead in self.leads if lead.action == "create")

    @property
    def updates(self) -> int:
        return sum(1 for lead in self.leads if lead.action == "update")


_PREVIEW_SQL = """
select p.lead_id, p.payload, p.acked_payload, p.crm_record_id, p.acked,
       case when o.payload_hash = p.payload_hash and o.reason = 'retry' then 'retry'
            when p.acked is null then 'new' else 'changed' end as reason
from _outbox_plan p left join sync.outbox o on o.crm = ? and o.lead_id = p.lead_id
where p.plan = 'owed'
"""


def _plain_diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    keys = sorted(set(old) | set(new))
    return {k: (old.get(k), new.get(k)) for k in keys if old.get(k) != new.get(k) and k != "lead_id"}


def preview_sync(
    settings: LeadgateSettings, policy: Policy, *, crm: str | None = None, mapping: CrmMapping | None = None
) -> SyncPreview:
    """What `leadgate sync` would send now; `mapping` names CRM fields (None: leadgate's own field names)."""
    crm = crm or settings.crm
    leads: list[LeadPreview] = []
    with db.connect(settings) as con, planned_outbox(con, crm, policy) as ready:
        if not ready:
            return SyncPreview(crm=crm, mode=settings.sync_mode)
        counts = dict(con.execute("select plan, count(*) from _outbox_plan group by plan").fetchall())
        rows = con.execute(_PREVIEW_SQL, [crm]).fetchall()
    for lead_id, payload_text, acked_text, record_id, acked, reason in rows:
        new = json.loads(payload_text)
        old = json.loads(acked_text) if acked_text else {}
        changes = diff_fields(mapping, old, new) if mapping is not None else _plain_diff(old, new)
        action = "update" if (record_id or acked) else "create"
        leads.append(LeadPreview(lead_id, new.get("email"), action, reason, changes))
    leads.sort(key=lambda lead: (lead.action, lead.reason, lead.email or "", lead.lead_id))
    return SyncPreview(
        crm=crm, mode=settings.sync_mode, leads=leads, unchanged=int(counts.get("settled", 0)),
        refused=int(counts.get("refused", 0)), converted=int(counts.get("converted", 0)),
        elsewhere=int(counts.get("elsewhere", 0)),
        if_empty=list(mapping.if_empty_fields) if mapping is not None else [],
    )


def _show(value: Any, width: int = 40) -> str:
    if value is None:
        return "(empty)"
    if isinstance(value, (list, tuple)):
        value = "; ".join(str(v) for v in value)
    text = one_line(value) if isinstance(value, str) else json.dumps(value)
    return repr(text if len(text) <= width else text[: width - 1] + "…") if isinstance(value, str) else text


def format_preview(preview: SyncPreview, limit: int = 50) -> str:
    """The preview for the terminal: a summary line, then one line per lead (at most `limit`; 0 = all)."""
    target = preview.crm if preview.crm != "none" else "the outbox (LEADGATE_CRM=none: leadgate's own field names)"
    lines = [
        f"sync preview for {target}, mode {preview.mode}: nothing is sent",
        f"{len(preview.leads)} lead(s) would be sent: {preview.creates} created, {preview.updates} updated; "
        f"{preview.unchanged} unchanged; {preview.refused} refused until their payload changes; "
        f"{preview.converted} converted (never written again)"
        + (f"; {preview.elsewhere} synced through another CRM" if preview.elsewhere else ""),
    ]
    if preview.creates and preview.crm != "none":
        lines.append(f"(create: first sync to {preview.crm}; an existing record with the same email is matched first)")
    shown = preview.leads if limit <= 0 else preview.leads[:limit]
    for lead in shown:
        head = f"{lead.action:<6}  {lead.lead_id}  {one_line(lead.email or '(no email)')}  [{lead.reason}]"
        if lead.action == "create":
            names = [name for name, (_, new) in lead.changes.items() if new is not None]
            lines.append(f"{head}  {len(names)} fields: {', '.join(names)}")
            continue
        parts = []
        for name, (old, new) in lead.changes.items():
            note = " (only if empty in the CRM)" if name in preview.if_empty else ""
            parts.append(f"{name}: {_show(old)} -> {_show(new)}{note}")
        lines.append(f"{head}  " + ("; ".join(parts) if parts else "no field changes (resent: not acknowledged yet)"))
    if len(shown) < len(preview.leads):
        lines.append(f"... and {len(preview.leads) - len(shown)} more (--limit 0 shows all, --json gives details)")
    return terminal_safe("\n".join(lines))


def format_sync_report(report: Any) -> str:
    """One line for `leadgate sync`: what was owed, sent, and what the CRM answered."""
    ob = report.outbox
    owed = (f"outbox for {report.crm}: {ob.owed} owed ({ob.new} new and {ob.changed} changed since the last refresh, "
            f"{ob.removed} no longer owed)")
    if report.mode != "live":
        return f"sync (shadow): {owed}; nothing sent (LEADGATE_SYNC_MODE=shadow)"
    if not report.sent:
        return f"sync (live): {owed}; nothing to send, 0 CRM calls"
    return (f"sync (live): {owed}; sent {report.sent}: {report.acknowledged} acknowledged, {report.rejected} rejected, "
            f"{report.converted} converted, {report.already_contact} already a contact, {report.retry} left owed; "
            f"{report.synced} now synced, {report.to_review} sent to review; {report.crm_calls} CRM calls, "
            f"{report.attempts_logged} attempts logged")
