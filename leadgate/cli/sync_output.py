"""Terminal text for `leadgate sync`: the preview (leadgate.sync.preview's data) and the one-line report."""

from __future__ import annotations

import json
from typing import Any

from leadgate.shared.neutral_text import one_line, terminal_safe
from leadgate.sync.preview import SyncPreview


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
    owed = (
        f"outbox for {report.crm}: {ob.owed} owed ({ob.new} new and {ob.changed} changed since the last refresh, "
        f"{ob.removed} no longer owed)"
    )
    if report.mode != "live":
        return f"sync (shadow): {owed}; nothing sent (LEADGATE_SYNC_MODE=shadow)"
    if not report.sent:
        return f"sync (live): {owed}; nothing to send, 0 CRM calls"
    return (
        f"sync (live): {owed}; sent {report.sent}: {report.acknowledged} acknowledged, {report.rejected} rejected, "
        f"{report.converted} converted, {report.already_contact} already a contact, {report.retry} left owed; "
        f"{report.synced} now synced, {report.to_review} sent to review; {report.crm_calls} CRM calls, "
        f"{report.attempts_logged} attempts logged"
    )
