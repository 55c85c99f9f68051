"""The CRM sync outbox: which qualified leads the CRM is owed, sending them, and recording what came back.

A lead is `synced` only while the CRM has acknowledged its current payload hash. Shadow mode fills
the outbox and never records an acknowledgement. The connector owns the wire; this module owns state.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import duckdb
import pandas as pd

from connectors.crm.attempts import ATTEMPT_COLUMNS, attempt_rows
from connectors.crm.base import CrmConnector, CrmNotReady, OutboundLead, SyncOutcome, SyncResult
from connectors.crm.retry import CrmCallError
from leadgate.config import LeadgateSettings
from leadgate.lifecycle import LeadState
from leadgate.policy import Policy
from leadgate.review.service import queue_review_items
from leadgate.shared.crms import crm_choices
from leadgate.shared.redaction import redact
from leadgate.store import db
from leadgate.store.erasure_list import erased_lead_ids
from leadgate.store.sql import registered, relation_exists, transaction
from leadgate.store.states import StateChange, set_states, utcnow
from leadgate.sync import intents as sync_intents
from leadgate.sync.payload import build_payload, canonical_json, current_payloads, payload_hash, record_field_issues

__all__ = [
    "OutboxReport",
    "SyncError",
    "SyncReport",
    "build_payload",
    "canonical_json",
    "owed_leads",
    "payload_hash",
    "planned_outbox",
    "record_results",
    "refresh_outbox",
    "run_sync",
]

# CRM answers a person must look at: (reason code, what the reviewer is told).
TO_REVIEW = {
    "rejected": (
        "crm_rejected",
        "{crm} refused this lead ({error}). Correct the data at its source, or reject the lead.",
    ),
    "converted": (
        "crm_converted",
        "The {crm} record of this lead was converted before leadgate recorded a sync, so "
        "leadgate will not update it again. Decide whether sales should hear about the new activity.",
    ),
    "already_contact": (
        "crm_already_contact",
        "This person already exists as a contact in {crm}. Decide whether the contact's owner should get this lead.",
    ),
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
    back_to_qualified: int = 0  # synced leads whose payload changed since the CRM acknowledged it


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
    unexpected_results: int = 0  # results for leads that were not sent (ignored)
    synced: int = 0
    to_review: int = 0
    crm_calls: int = 0  # every HTTP request to the CRM in this run (set-up check and look-ups included)
    attempts_logged: int = 0  # rows written to sync.attempts
    unfinished_sends: int = 0  # leads of an earlier send that died before its answers were recorded (re-sent)


# ---------------------------------------------------------------------- outbox

_PLAN_SQL = """
create or replace temp table _outbox_plan as
select p.lead_id, p.payload, p.payload_hash, ls.state,
       st.acked_payload_hash as acked, st.acked_payload, st.crm_record_id, o.payload_hash as queued,
       case when p.payload_hash = st.acked_payload_hash then 'settled'
            -- sales converted the record: leadgate never writes to it again
            when st.status = 'converted' then 'converted'
            when p.payload_hash = st.rejected_payload_hash then 'refused'
            -- synced through another CRM: switching CRMs must not un-sync leads
            when ls.state = 'synced' and st.acked_payload_hash is null then 'elsewhere'
            else 'owed' end as plan
from _payloads p
join lifecycle.lead_states ls on ls.lead_id = p.lead_id
left join sync.state st on st.crm = ? and st.lead_id = p.lead_id
left join sync.outbox o on o.crm = ? and o.lead_id = p.lead_id
"""


@contextmanager
def planned_outbox(con: duckdb.DuckDBPyConnection, crm: str, policy: Policy) -> Iterator[bool]:
    """Build temp table `_outbox_plan` (one row per eligible lead and its plan); yields False without marts."""
    if not relation_exists(con, "marts", "lead_features"):
        yield False
        return
    with registered(con, _payloads=current_payloads(con, policy)):
        try:
            con.execute(_PLAN_SQL, [crm, crm])
            yield True
        finally:
            con.execute("drop table if exists _outbox_plan")


def _owed_count(con: duckdb.DuckDBPyConnection, crm: str) -> int:
    return int(con.execute("select count(*) from sync.outbox where crm = ?", [crm]).fetchall()[0][0])


def refresh_outbox(con: duckdb.DuckDBPyConnection, crm: str, policy: Policy) -> OutboxReport:
    """Bring sync.outbox for `crm` in line with the current qualified, consenting leads."""
    now = utcnow()
    with planned_outbox(con, crm, policy) as ready:
        if not ready:
            return OutboxReport(owed=_owed_count(con, crm))
        new, changed, eligible = con.execute(
            """
            select count(*) filter (where plan = 'owed' and queued is null and acked is null),
                   count(*) filter (where plan = 'owed' and queued is distinct from payload_hash
                                        and not (queued is null and acked is null)),
                   count(*)
            from _outbox_plan
            """
        ).fetchall()[0]
        with transaction(con):
            removed = con.execute(
                "delete from sync.outbox where crm = ? and lead_id not in"
                " (select lead_id from _outbox_plan where plan = 'owed')",
                [crm],
            ).fetchall()[0][0]
            # The outbox is what the configured CRM is owed: rows queued for another one (a shadow run with
            # LEADGATE_CRM=none, or a CRM switched away from) would otherwise stay owed forever.
            con.execute("delete from sync.outbox where crm <> ?", [crm])
            record_field_issues(con, "_payloads", now)  # what neutralising the payloads changed, per lead
            con.execute(
                """
                insert into sync.outbox (crm, lead_id, payload, payload_hash, reason, created_at, updated_at)
                select ?, lead_id, payload::json, payload_hash,
                       case when acked is null then 'new' else 'changed' end, ?, ?
                from _outbox_plan where plan = 'owed' and queued is distinct from payload_hash
                  and lead_id not in (select key from meta.erasure_list where kind = 'lead_id')
                on conflict (crm, lead_id) do update set
                    payload = excluded.payload, payload_hash = excluded.payload_hash,
                    reason = excluded.reason, updated_at = excluded.updated_at
                """,
                [crm, now, now],
            )
        # State changes after the outbox commit: if they fail, the next refresh finds and redoes them.
        back = [
            r[0]
            for r in con.execute("select lead_id from _outbox_plan where plan = 'owed' and state = 'synced'").fetchall()
        ]
        healed = [
            r[0]
            for r in con.execute(
                "select lead_id from _outbox_plan where plan = 'settled' and state = 'qualified'"
            ).fetchall()
        ]
    _set(con, back, LeadState.QUALIFIED, "payload_changed", crm, policy)
    _set(con, healed, LeadState.SYNCED, "crm_has_current_payload", crm, policy)
    return OutboxReport(
        new=int(new),
        changed=int(changed),
        unchanged=int(eligible - new - changed),
        removed=int(removed),
        owed=_owed_count(con, crm),
        back_to_qualified=len(back),
    )


def _set(
    con: duckdb.DuckDBPyConnection,
    lead_ids: Sequence[str],
    state: LeadState,
    reason: str,
    crm: str,
    policy: Policy,
    run_id: str | None = None,
    *,
    kind: str = "sync",
    details: dict[str, dict] | None = None,
) -> int:
    changes = [
        StateChange(
            lead_id=lid, state=state.value, reason_codes=[reason], details={"crm": crm, **(details or {}).get(lid, {})}
        )
        for lid in lead_ids
    ]
    return set_states(con, changes, kind=kind, actor=f"sync:{crm}", run_id=run_id, policy_version=policy.version)


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
            raise SyncError(f"live sync needs {crm_choices()}")
        if getattr(connector, "name", crm) != crm:
            raise SyncError(f"the {connector.name} connector cannot sync LEADGATE_CRM={crm}")
    with db.connect(settings) as con:
        unfinished = sync_intents.reconcile(con)
        outbox = refresh_outbox(con, crm, policy)
        owed = owed_leads(con, crm) if mode == "live" else []
    report = SyncReport(mode=mode, crm=crm, outbox=outbox, would_send=outbox.owed, unfinished_sends=unfinished)
    if not owed:
        return report  # nothing owed: not a single CRM request, not even the set-up check
    calls_before = connector.stats.calls
    try:
        missing = list(connector.missing_setup())
    except CrmCallError as exc:
        raise SyncError(
            f"{crm} did not answer the set-up check, so nothing was sent and {len(owed)} lead(s) stay owed: {exc}"
        ) from exc
    if missing:
        raise CrmNotReady(connector.not_ready_message(missing))
    # Sent without holding the database: a slow CRM must not lock out reviewers.
    # CrmAuthError propagates from here with nothing marked (the intent log says the send did not finish).
    # The intent log is committed before the first request (sync_intents).
    send_id, results = sync_intents.send_logged(settings, crm, run_id, owed, connector.upsert_leads)
    with db.connect(settings) as con:
        counts = record_results(con, crm, owed, results, policy=policy, run_id=run_id, send_id=send_id)
    return replace(report, sent=len(owed), crm_calls=connector.stats.calls - calls_before, **counts)


def _error_text(result: SyncResult) -> str | None:
    parts = [p for p in (result.error_code, result.message) if p]
    return redact(": ".join(parts)) or None


def record_results(
    con: duckdb.DuckDBPyConnection,
    crm: str,
    sent: Sequence[OutboundLead],
    results: Sequence[SyncResult],
    *,
    policy: Policy,
    run_id: str | None = None,
    send_id: str | None = None,
) -> dict[str, int]:
    """Record one connector answer per sent lead (acks, refusals, conversions, retries) and every attempt."""
    erased = erased_lead_ids(con)  # forgotten while the request was in flight: nothing of them is kept
    by_id = {lead.lead_id: lead for lead in sent if lead.lead_id not in erased}
    rows: dict[str, tuple] = {}
    answered: list[SyncResult] = []
    unexpected = 0
    for result in results:
        lead = by_id.get(result.lead_id)
        if result.lead_id in erased:
            continue
        if lead is None or result.lead_id in rows:
            unexpected += 1
            continue
        answered.append(result)
        rows[result.lead_id] = (
            result.lead_id,
            lead.payload_hash,
            canonical_json(lead.payload),
            SyncOutcome(result.outcome).value,
            result.crm_record_id,
            _error_text(result),
            result.error_code,
        )
    for lead_id, lead in by_id.items():
        if lead_id not in rows:  # a connector must answer for every lead: no answer means try again
            rows[lead_id] = (
                lead_id,
                lead.payload_hash,
                canonical_json(lead.payload),
                SyncOutcome.RETRY.value,
                None,
                "no result from connector",
                None,
            )
    frame = pd.DataFrame(
        list(rows.values()),
        dtype="object",
        columns=["lead_id", "payload_hash", "payload", "outcome", "crm_record_id", "error", "error_code"],
    )
    attempts = pd.DataFrame(attempt_rows(crm, run_id, answered), columns=list(ATTEMPT_COLUMNS), dtype="object")
    now = utcnow()
    with registered(con, _sync_results=frame, _sync_attempts=attempts):
        with transaction(con):
            _write_results(con, crm, now)
            if send_id is not None:
                sync_intents.close_completed(con, send_id)
            con.execute(
                f"insert into sync.attempts ({', '.join(ATTEMPT_COLUMNS)})"  # fixed column list, no values
                " select run_id, crm, lead_id, payload_hash, request::json, response::json, outcome, crm_record_id,"
                " error_code, message, http_status::integer, attempted_at::timestamptz from _sync_attempts"
            )
        synced = [
            r[0]
            for r in con.execute(
                """
            select r.lead_id from _sync_results r join lifecycle.lead_states ls on ls.lead_id = r.lead_id
            where r.outcome = 'acknowledged' and ls.state = 'qualified'
              and not exists (select 1 from sync.outbox o where o.crm = ? and o.lead_id = r.lead_id)
            """,
                [crm],
            ).fetchall()
        ]
        # A conversion of a record we wrote and had acknowledged is a result, not a question for a person.
        converted = con.execute(
            """
            select r.lead_id, r.crm_record_id, r.error_code from _sync_results r
            join lifecycle.lead_states ls on ls.lead_id = r.lead_id
            join sync.state st on st.crm = ? and st.lead_id = r.lead_id
            where r.outcome = 'converted' and ls.state in ('qualified', 'synced') and st.acked_payload_hash is not null
            """,
            [crm],
        ).fetchall()
        refused = con.execute(
            """
            select r.lead_id, r.outcome, r.error, r.error_code from _sync_results r
            join lifecycle.lead_states ls on ls.lead_id = r.lead_id
            where r.outcome in ('rejected', 'converted', 'already_contact') and ls.state in ('qualified', 'synced')
              and r.lead_id not in (select unnest(?::varchar[]))
            """,
            [[lid for lid, _, _ in converted]],
        ).fetchall()
    _set(con, synced, LeadState.SYNCED, "crm_acknowledged", crm, policy, run_id)
    _set(
        con,
        [lid for lid, _, _ in converted],
        LeadState.SYNCED,
        "crm_converted",
        crm,
        policy,
        run_id,
        kind="outcome",
        details={lid: {"crm_record_id": rid, "error_code": code} for lid, rid, code in converted},
    )
    _send_to_review(con, crm, refused, policy, run_id)
    counts = frame["outcome"].value_counts().to_dict()
    return {
        "acknowledged": counts.get("acknowledged", 0),
        "rejected": counts.get("rejected", 0),
        "converted": counts.get("converted", 0),
        "already_contact": counts.get("already_contact", 0),
        "retry": counts.get("retry", 0),
        "unexpected_results": unexpected,
        "synced": len(synced),
        "to_review": len(refused),
        "attempts_logged": len(attempts),
    }


def _write_results(con: duckdb.DuckDBPyConnection, crm: str, now: Any) -> None:
    con.execute(
        """
        insert into sync.state (crm, lead_id, acked_payload_hash, acked_payload, crm_record_id, acked_at, status,
                                rejected_payload_hash, last_error, updated_at)
        select ?, lead_id,
               case when outcome = 'acknowledged' then payload_hash end,
               case when outcome = 'acknowledged' then payload::json end, crm_record_id,
               case when outcome = 'acknowledged' then ?::timestamptz end, outcome,
               case when outcome = 'rejected' then payload_hash end,
               case when outcome <> 'acknowledged' then error end, ?
        from _sync_results
        -- a lead erased by `leadgate forget` while the batch was in flight gets no new row
        where outcome <> 'retry' and lead_id in (select lead_id from lifecycle.lead_states)
        on conflict (crm, lead_id) do update set
            acked_payload_hash = case when excluded.status = 'acknowledged'
                                      then excluded.acked_payload_hash else acked_payload_hash end,
            acked_payload = case when excluded.status = 'acknowledged' then excluded.acked_payload else acked_payload end,
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
    # ... except after a conversion: nothing is ever written to that record again.
    con.execute(
        "delete from sync.outbox o using _sync_results r where o.crm = ? and o.lead_id = r.lead_id"
        " and r.outcome = 'converted'",
        [crm],
    )
    con.execute(
        "update sync.outbox o set reason = 'retry', updated_at = ? from _sync_results r where o.crm = ?"
        " and o.lead_id = r.lead_id and o.payload_hash = r.payload_hash and r.outcome = 'retry'",
        [now, crm],
    )
    con.execute(
        "update sync.state s set last_error = r.error, updated_at = ? from _sync_results r"
        " where s.crm = ? and s.lead_id = r.lead_id and r.outcome = 'retry'",
        [now, crm],
    )


def _send_to_review(
    con: duckdb.DuckDBPyConnection, crm: str, refused: Sequence[tuple], policy: Policy, run_id: str | None
) -> None:
    if not refused:
        return
    entries = pd.DataFrame(
        [
            (lid, TO_REVIEW[outcome][0], TO_REVIEW[outcome][1].format(crm=crm, error=error or "no message"))
            for lid, outcome, error, _code in refused
        ],
        columns=["lead_id", "reason_code", "summary"],
    )
    queue_review_items(con, entries, policy_version=policy.version)
    # The audit gets the CRM's error code, never its message (it may quote personal data).
    changes = [
        StateChange(
            lid,
            LeadState.NEEDS_REVIEW.value,
            [TO_REVIEW[outcome][0]],
            details={"crm": crm, "error_code": code} if code else {"crm": crm},
        )
        for lid, outcome, _error, code in refused
    ]
    set_states(con, changes, kind="sync", actor=f"sync:{crm}", run_id=run_id, policy_version=policy.version)
