"""The CRM sync outbox: which qualified leads the CRM is owed, sending them, and recording what came back.

A lead is `synced` only while the CRM has acknowledged its current payload hash. Shadow mode fills
the outbox and never records an acknowledgement. The connector owns the wire; this module owns state.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import duckdb
import pandas as pd

from connectors.crm.base import CrmConnector, CrmNotReady, OutboundLead, SyncOutcome, SyncResult
from leadgate import db
from leadgate.config import LeadgateSettings
from leadgate.lifecycle import LeadState
from leadgate.policy import Policy
from leadgate.review import queue_review_items
from leadgate.status import relation_exists
from leadgate.state_store import StateChange, set_states, utcnow

PERSON_FIELDS = ("email", "first_name", "last_name", "company", "company_domain", "job_title", "phone",
                 "country", "industry", "company_size")
# CRM answers a person must look at: (reason code, what the reviewer is told).
TO_REVIEW = {
    "rejected": ("crm_rejected", "{crm} refused this lead ({error}). Correct the data at its source, or reject the lead."),
    "converted": ("crm_converted", "The {crm} record of this lead was already converted, so leadgate cannot update "
                  "it. Decide whether sales should hear about the new activity."),
    "already_contact": ("crm_already_contact", "This person already exists as a contact in {crm}. "
                        "Decide whether the contact's owner should get this lead."),
}


class SyncError(RuntimeError):
    """The sync cannot run as configured; the message says what to change."""


@dataclass(frozen=True)
class OutboxReport:
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0
    owed: int = 0
    back_to_qualified: int = 0      # synced leads whose payload changed since the CRM acknowledged it


@dataclass(frozen=True)
class SyncReport:
    mode: str
    crm: str
    outbox: OutboxReport = field(default_factory=OutboxReport)
    would_send: int = 0
    sent: int = 0
    acknowledged: int = 0
    rejected: int = 0
    converted: int = 0
    already_contact: int = 0
    retry: int = 0
    unexpected_results: int = 0     # results for leads that were not sent (ignored)
    synced: int = 0
    to_review: int = 0


# ---------------------------------------------------------------------- payloads

def _text(value: Any) -> str | None:
    if value is None:
        return None
    if type(value) is not str:
        if value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            return None
        value = str(value)
    return value.strip() or None


def _rounded(value: Any) -> float | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(float(value), 2)


def _reason_texts(reasons: Any, limit: int) -> list[str]:
    if isinstance(reasons, str):
        reasons = json.loads(reasons)
    if not reasons:
        return []
    ordered = sorted(reasons, key=lambda r: -abs(float(r.get("points") or 0)))
    # Text only, no points: decayed points move daily and would make every payload owed again.
    return [str(r.get("detail") or r.get("feature")) for r in ordered[:limit]]


def build_payload(row: Mapping[str, Any], top_reasons: int = 5) -> dict[str, Any]:
    """The CRM-neutral MQL payload of one lead (never the raw message text)."""
    payload: dict[str, Any] = {name: _text(row.get(name)) for name in PERSON_FIELDS}
    payload.update(
        external_id=row["lead_id"],
        lead_status="MQL",
        score=_rounded(row.get("score")),
        confidence=_rounded(row.get("confidence")),
        reasons=_reason_texts(row.get("reasons"), top_reasons),
        review_summary=_text(row.get("review_summary")),   # the reviewer's approval and note, for sales
        policy_version=_text(row.get("policy_version")),
        scorer_version=_text(row.get("scorer_version")),
    )
    return payload


def canonical_json(payload: Mapping[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def payload_hash(payload: Mapping[str, Any]) -> str:
    """sha256 of the payload's canonical JSON."""
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------- outbox

_ELIGIBLE_SQL = """
with eligible as (
    select lead_id, state from lifecycle.lead_states where state in ('qualified', 'synced')
), latest as (
    select lead_id, max(score_id) as score_id from scoring.scores
    where lead_id in (select lead_id from eligible) group by lead_id
), reviewed as (
    select lead_id, arg_max('Approved by ' || reviewer || coalesce(': ' || nullif(trim(note), ''), ''), item_id)
               as review_summary
    from review.items where status = 'approved' and lead_id in (select lead_id from eligible) group by lead_id
)
select f.lead_id, f.email, f.first_name, f.last_name, f.company, f.company_domain, f.job_title, f.phone,
       f.country, f.industry, f.company_size, s.score, s.confidence, s.reasons,
       coalesce(s.policy_version, ?) as policy_version, s.scorer_version, r.review_summary
from eligible e
join marts.lead_features f on f.lead_id = e.lead_id
left join latest l on l.lead_id = e.lead_id
left join scoring.scores s on s.score_id = l.score_id
left join reviewed r on r.lead_id = e.lead_id
where f.has_consent
"""

_PLAN_SQL = """
create or replace temp table _outbox_plan as
select p.lead_id, p.payload, p.payload_hash, ls.state,
       st.acked_payload_hash as acked, o.payload_hash as queued,
       case when p.payload_hash = st.acked_payload_hash then 'settled'
            when p.payload_hash = st.rejected_payload_hash then 'refused'
            -- synced through another CRM: switching CRMs must not un-sync leads
            when ls.state = 'synced' and st.acked_payload_hash is null then 'elsewhere'
            else 'owed' end as plan
from _payloads p
join lifecycle.lead_states ls on ls.lead_id = p.lead_id
left join sync.state st on st.crm = ? and st.lead_id = p.lead_id
left join sync.outbox o on o.crm = ? and o.lead_id = p.lead_id
"""


def _owed_count(con: duckdb.DuckDBPyConnection, crm: str) -> int:
    return int(con.execute("select count(*) from sync.outbox where crm = ?", [crm]).fetchall()[0][0])


def refresh_outbox(con: duckdb.DuckDBPyConnection, crm: str, policy: Policy) -> OutboxReport:
    """Bring sync.outbox for `crm` in line with the current qualified, consenting leads."""
    if not relation_exists(con, "marts", "lead_features"):
        return OutboxReport(owed=_owed_count(con, crm))
    cur = con.execute(_ELIGIBLE_SQL, [policy.version])
    names = [d[0] for d in cur.description]
    lead_ids, payloads, hashes = [], [], []
    for values in cur.fetchall():
        payload = build_payload(dict(zip(names, values)), policy.routing.top_reasons)
        text = canonical_json(payload)
        lead_ids.append(payload["external_id"])
        payloads.append(text)
        hashes.append(hashlib.sha256(text.encode("utf-8")).hexdigest())
    frame = pd.DataFrame({"lead_id": lead_ids, "payload": payloads, "payload_hash": hashes}, dtype="object")
    now = utcnow()
    con.register("_payloads", frame)
    try:
        con.execute(_PLAN_SQL, [crm, crm])
        new, changed, eligible = con.execute(
            """
            select count(*) filter (where plan = 'owed' and queued is null and acked is null),
                   count(*) filter (where plan = 'owed' and queued is distinct from payload_hash
                                        and not (queued is null and acked is null)),
                   count(*)
            from _outbox_plan
            """
        ).fetchall()[0]
        con.execute("begin transaction")
        try:
            removed = con.execute(
                "delete from sync.outbox where crm = ? and lead_id not in"
                " (select lead_id from _outbox_plan where plan = 'owed')",
                [crm],
            ).fetchall()[0][0]
            con.execute(
                """
                insert into sync.outbox (crm, lead_id, payload, payload_hash, reason, created_at, updated_at)
                select ?, lead_id, payload::json, payload_hash,
                       case when acked is null then 'new' else 'changed' end, ?, ?
                from _outbox_plan where plan = 'owed' and queued is distinct from payload_hash
                on conflict (crm, lead_id) do update set
                    payload = excluded.payload, payload_hash = excluded.payload_hash,
                    reason = excluded.reason, updated_at = excluded.updated_at
                """,
                [crm, now, now],
            )
            con.execute("commit")
        except Exception:
            con.execute("rollback")
            raise
        # State changes after the outbox commit: if they fail, the next refresh finds and redoes them.
        back = [r[0] for r in con.execute(
            "select lead_id from _outbox_plan where plan = 'owed' and state = 'synced'").fetchall()]
        healed = [r[0] for r in con.execute(
            "select lead_id from _outbox_plan where plan = 'settled' and state = 'qualified'").fetchall()]
        _set(con, back, LeadState.QUALIFIED, "payload_changed", crm, policy)
        _set(con, healed, LeadState.SYNCED, "crm_has_current_payload", crm, policy)
    finally:
        con.execute("drop table if exists _outbox_plan")
        con.unregister("_payloads")
    return OutboxReport(
        new=int(new), changed=int(changed), unchanged=int(eligible - new - changed), removed=int(removed),
        owed=_owed_count(con, crm), back_to_qualified=len(back),
    )


def _set(
    con: duckdb.DuckDBPyConnection, lead_ids: Sequence[str], state: LeadState, reason: str, crm: str,
    policy: Policy, run_id: str | None = None,
) -> int:
    changes = [StateChange(lead_id=lid, state=state.value, reason_codes=[reason], details={"crm": crm}) for lid in lead_ids]
    return set_states(con, changes, kind="sync", actor=f"sync:{crm}", run_id=run_id, policy_version=policy.version)


# ---------------------------------------------------------------------- sending

def owed_leads(con: duckdb.DuckDBPyConnection, crm: str) -> list[OutboundLead]:
    """Every owed outbox row for `crm`, oldest first, with the CRM record id known from earlier acks."""
    rows = con.execute(
        """
        select o.lead_id, o.payload, o.payload_hash, st.crm_record_id
        from sync.outbox o left join sync.state st on st.crm = o.crm and st.lead_id = o.lead_id
        where o.crm = ? order by o.created_at, o.lead_id
        """,
        [crm],
    ).fetchall()
    return [OutboundLead(lid, json.loads(payload), phash, record) for lid, payload, phash, record in rows]


def run_sync(
    settings: LeadgateSettings,
    policy: Policy,
    *,
    crm: str | None = None,
    mode: str | None = None,
    connector: CrmConnector | None = None,
    run_id: str | None = None,
) -> SyncReport:
    """Refresh the outbox; in live mode also send what is owed and record the CRM's answers."""
    crm = crm or settings.crm
    mode = mode or settings.sync_mode
    if mode not in ("shadow", "live"):
        raise SyncError(f"unknown sync mode {mode!r}: use shadow or live")
    if mode == "live":
        if connector is None or crm == "none":
            raise SyncError("live sync needs LEADGATE_CRM=salesforce|hubspot")
        if getattr(connector, "name", crm) != crm:
            raise SyncError(f"the {connector.name} connector cannot sync LEADGATE_CRM={crm}")
        missing = list(connector.missing_setup())
        if missing:
            raise CrmNotReady(f"{crm} is missing what leadgate writes: {', '.join(missing)}")
    with db.connect(settings) as con:
        outbox = refresh_outbox(con, crm, policy)
        owed = owed_leads(con, crm) if mode == "live" else []
    report = SyncReport(mode=mode, crm=crm, outbox=outbox, would_send=outbox.owed)
    if not owed:
        return report
    # Sent without holding the database: a slow CRM must not lock out reviewers.
    # CrmAuthError propagates from here with nothing marked.
    results = connector.upsert_leads(owed)
    with db.connect(settings) as con:
        counts = record_results(con, crm, owed, results, policy=policy, run_id=run_id)
    return replace(report, sent=len(owed), **counts)


def _error_text(result: SyncResult) -> str | None:
    parts = [p for p in (result.error_code, result.message) if p]
    return ": ".join(parts) or None


def record_results(
    con: duckdb.DuckDBPyConnection,
    crm: str,
    sent: Sequence[OutboundLead],
    results: Sequence[SyncResult],
    *,
    policy: Policy,
    run_id: str | None = None,
) -> dict[str, int]:
    """Record one connector answer per sent lead: acks, refusals, conversions, retries."""
    by_id = {lead.lead_id: lead for lead in sent}
    rows: dict[str, tuple] = {}
    unexpected = 0
    for result in results:
        lead = by_id.get(result.lead_id)
        if lead is None or result.lead_id in rows:
            unexpected += 1
            continue
        rows[result.lead_id] = (
            result.lead_id, lead.payload_hash, SyncOutcome(result.outcome).value, result.crm_record_id,
            _error_text(result), result.error_code,
        )
    for lead_id, lead in by_id.items():
        if lead_id not in rows:   # a connector must answer for every lead: no answer means try again
            rows[lead_id] = (lead_id, lead.payload_hash, SyncOutcome.RETRY.value, None, "no result from connector", None)
    frame = pd.DataFrame(
        list(rows.values()),
        columns=["lead_id", "payload_hash", "outcome", "crm_record_id", "error", "error_code"],
        dtype="object",
    )
    now = utcnow()
    con.register("_sync_results", frame)
    try:
        con.execute("begin transaction")
        try:
            _write_results(con, crm, now)
            con.execute("commit")
        except Exception:
            con.execute("rollback")
            raise
        synced = [r[0] for r in con.execute(
            """
            select r.lead_id from _sync_results r join lifecycle.lead_states ls on ls.lead_id = r.lead_id
            where r.outcome = 'acknowledged' and ls.state = 'qualified'
              and not exists (select 1 from sync.outbox o where o.crm = ? and o.lead_id = r.lead_id)
            """,
            [crm],
        ).fetchall()]
        refused = con.execute(
            """
            select r.lead_id, r.outcome, r.error, r.error_code from _sync_results r
            join lifecycle.lead_states ls on ls.lead_id = r.lead_id
            where r.outcome in ('rejected', 'converted', 'already_contact') and ls.state in ('qualified', 'synced')
            """
        ).fetchall()
    finally:
        con.unregister("_sync_results")
    _set(con, synced, LeadState.SYNCED, "crm_acknowledged", crm, policy, run_id)
    _send_to_review(con, crm, refused, policy, run_id)
    counts = frame["outcome"].value_counts().to_dict()
    return {
        "acknowledged": counts.get("acknowledged", 0), "rejected": counts.get("rejected", 0),
        "converted": counts.get("converted", 0), "already_contact": counts.get("already_contact", 0),
        "retry": counts.get("retry", 0), "unexpected_results": unexpected,
        "synced": len(synced), "to_review": len(refused),
    }


def _write_results(con: duckdb.DuckDBPyConnection, crm: str, now: Any) -> None:
    con.execute(
        """
        insert into sync.state (crm, lead_id, acked_payload_hash, crm_record_id, acked_at, status,
                                rejected_payload_hash, last_error, updated_at)
        select ?, lead_id,
               case when outcome = 'acknowledged' then payload_hash end, crm_record_id,
               case when outcome = 'acknowledged' then ?::timestamptz end, outcome,
               case when outcome = 'rejected' then payload_hash end,
               case when outcome <> 'acknowledged' then error end, ?
        from _sync_results
        -- a lead erased by `leadgate forget` while the batch was in flight gets no new row
        where outcome <> 'retry' and lead_id in (select lead_id from lifecycle.lead_states)
        on conflict (crm, lead_id) do update set
            acked_payload_hash = case when excluded.status = 'acknowledged'
                                      then excluded.acked_payload_hash else acked_payload_hash end,
            acked_at = case when excluded.status = 'acknowledged' then excluded.acked_at else acked_at end,
            crm_record_id = coalesce(excluded.crm_record_id, crm_record_id),
            status = excluded.status,
            rejected_payload_hash = case when excluded.status = 'rejected' then excluded.rejected_payload_hash
                                         when excluded.status = 'acknowledged' then null
                                         else rejected_payload_hash end,
            last_error = excluded.last_error,
            updated_at = excluded.updated_at
        """,
        [crm, now, now],
    )
    # A final answer for the payload still queued settles the row; a newer queued payload stays owed.
    con.execute(
        """
        delete from sync.outbox o using _sync_results r
        where o.crm = ? and o.lead_id = r.lead_id and o.payload_hash = r.payload_hash and r.outcome <> 'retry'
        """,
        [crm],
    )
    con.execute(
        "update sync.outbox o set reason = 'retry', updated_at = ? from _sync_results r where o.crm = ?"
        " and o.lead_id = r.lead_id and o.payload_hash = r.payload_hash and r.outcome = 'retry'", [now, crm])
    con.execute(
        "update sync.state s set last_error = r.error, updated_at = ? from _sync_results r"
        " where s.crm = ? and s.lead_id = r.lead_id and r.outcome = 'retry'", [now, crm])


def _send_to_review(
    con: duckdb.DuckDBPyConnection, crm: str, refused: Sequence[tuple], policy: Policy, run_id: str | None
) -> None:
    if not refused:
        return
    entries = pd.DataFrame(
        [(lid, TO_REVIEW[outcome][0], TO_REVIEW[outcome][1].format(crm=crm, error=error or "no message"))
         for lid, outcome, error, _code in refused],
        columns=["lead_id", "reason_code", "summary"],
    )
    queue_review_items(con, entries, policy_version=policy.version)
    # The audit gets the CRM's error code, never its message (it may quote personal data).
    changes = [StateChange(lid, LeadState.NEEDS_REVIEW.value, [TO_REVIEW[outcome][0]],
                           details={"crm": crm, "error_code": code} if code else {"crm": crm})
               for lid, outcome, _error, code in refused]
    set_states(con, changes, kind="sync", actor=f"sync:{crm}", run_id=run_id, policy_version=policy.version)
