"""`leadgate sync --preview`: which leads a sync would create or update, and which CRM fields change
against the payload the CRM last acknowledged. Reads only; sends nothing and changes no state.
The terminal text is leadgate.cli.sync_output's."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from connectors.crm.mapping import CrmMapping, diff_fields
from leadgate.config import LeadgateSettings
from leadgate.policy import Policy
from leadgate.store import db
from leadgate.sync.outbox import planned_outbox


@dataclass(frozen=True)
class LeadPreview:
    lead_id: str
    email: str | None
    action: str  # create | update
    reason: str  # new | changed | retry
    changes: dict[str, tuple[Any, Any]]  # field -> (last acknowledged value, value to send)


@dataclass(frozen=True)
class SyncPreview:
    crm: str
    mode: str
    leads: list[LeadPreview] = field(default_factory=list)
    unchanged: int = 0  # the CRM has their current payload
    refused: int = 0  # refused by the CRM; not resent until the payload changes
    converted: int = 0  # converted in the CRM; never written again
    elsewhere: int = 0  # synced through another CRM before a switch
    if_empty: list[str] = field(default_factory=list)  # fields written only where the CRM's value is empty

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
        crm=crm,
        mode=settings.sync_mode,
        leads=leads,
        unchanged=int(counts.get("settled", 0)),
        refused=int(counts.get("refused", 0)),
        converted=int(counts.get("converted", 0)),
        elsewhere=int(counts.get("elsewhere", 0)),
        if_empty=list(mapping.if_empty_fields) if mapping is not None else [],
    )
