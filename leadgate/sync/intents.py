"""The CRM intent log (sync.intents): each send is written and committed before its first request, closed after.

A write the CRM applied just before the process was killed is therefore never invisible: its intent
stays `in_flight`. The next sync closes intents whose process is gone as `unfinished` and logs one
`sync.attempts` row per lead for them (outcome `retry`, no HTTP status); the leads are still owed and
are sent again, and the connectors' look-up / upsert by leadgate's key keeps that from duplicating.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence

import duckdb
import pandas as pd

from connectors.crm.base import OutboundLead, SyncResult
from leadgate.config import LeadgateSettings
from leadgate.pipeline.recovery import Process, process_gone, this_process
from leadgate.store import db
from leadgate.store.sql import registered, transaction

# Sends of this process that are still running: their in_flight rows are not stale.
_ACTIVE: set[str] = set()

_UNFINISHED_ATTEMPTS = """
insert into sync.attempts (run_id, crm, lead_id, payload_hash, request, response, outcome, crm_record_id,
                           error_code, message, http_status, attempted_at)
select run_id, crm, lead_id, payload_hash, null, null, 'retry', null, ?, ?, null, opened_at
from sync.intents where send_id = ? and status = 'in_flight'
"""
_CLOSE_UNFINISHED = """
update sync.intents set status = 'unfinished', closed_at = now(), note = ?
where send_id = ? and status = 'in_flight'
"""


def open_send(settings: LeadgateSettings, crm: str, run_id: str | None, leads: Sequence[OutboundLead]) -> str:
    """Write one `in_flight` intent per lead and commit, before anything is sent; returns the send id."""
    send_id = uuid.uuid4().hex
    me = this_process()
    frame = pd.DataFrame(
        [(lead.lead_id, lead.payload_hash) for lead in leads], columns=["lead_id", "payload_hash"], dtype="object"
    )
    with db.connect(settings) as con:
        with registered(con, _intent_leads=frame):
            con.execute(
                "insert into sync.intents (send_id, run_id, crm, lead_id, payload_hash, status, pid, host,"
                " process_started, opened_at) select ?, ?, ?, lead_id, payload_hash, 'in_flight', ?, ?, ?, now()"
                " from _intent_leads",
                [send_id, run_id, crm, me.pid, me.host, me.started],
            )
    _ACTIVE.add(send_id)
    return send_id


def close_completed(con: duckdb.DuckDBPyConnection, send_id: str) -> None:
    """Inside record_results' transaction: every lead of the send has its answer (temp `_sync_results`)."""
    con.execute(
        "update sync.intents i set status = 'completed', outcome = r.outcome, closed_at = now()"
        " from _sync_results r where i.send_id = ? and i.lead_id = r.lead_id and i.status = 'in_flight'",
        [send_id],
    )
    _ACTIVE.discard(send_id)


def close_unfinished(settings: LeadgateSettings, send_id: str, exc: BaseException) -> None:
    """The send stopped in this process (an error, Ctrl-C) before answers were recorded; best effort."""
    _ACTIVE.discard(send_id)
    what = " ".join(str(exc).split()) or type(exc).__name__
    note = f"the send stopped before the CRM's answers were recorded ({what}); the leads stay owed"
    try:
        with db.connect(settings) as con:
            _close(con, send_id, "INTERRUPTED" if isinstance(exc, KeyboardInterrupt) else "SEND_FAILED", note)
    except Exception:
        pass


def send_logged(
    settings: LeadgateSettings,
    crm: str,
    run_id: str | None,
    leads: Sequence[OutboundLead],
    send: Callable[[Sequence[OutboundLead]], list[SyncResult]],
) -> tuple[str, list[SyncResult]]:
    """Open the intents, call `send` (the connector's upsert), close them as unfinished if it raises."""
    send_id = open_send(settings, crm, run_id, leads)
    try:
        return send_id, send(leads)
    except BaseException as exc:
        close_unfinished(settings, send_id, exc)
        raise
    finally:
        _ACTIVE.discard(send_id)  # answers not recorded from here on are found by the next reconcile


def _close(con: duckdb.DuckDBPyConnection, send_id: str, code: str, note: str) -> int:
    with transaction(con):
        con.execute(_UNFINISHED_ATTEMPTS, [code, note, send_id])
        closed = con.execute(_CLOSE_UNFINISHED, [note, send_id]).fetchall()[0][0]
    return int(closed)


def _stale(send_id: str, pid: int | None, host: str | None, started: str | None, me: Process) -> tuple[str, str] | None:
    """(error code, why) for an in_flight send that is dead, or None while it may still be running."""
    if send_id in _ACTIVE:
        return None
    if (pid, host, started) == (me.pid, me.host, me.started):
        return "NOT_RECORDED", "its sync ended in this process without recording the answers"
    if process_gone(pid, host, started):
        return "PROCESS_GONE", f"process {pid} on {host} ended (killed or crashed) before recording the CRM's answers"
    return None


def reconcile(con: duckdb.DuckDBPyConnection) -> int:
    """Close the in_flight intents of sends that died as `unfinished`, logging their attempts; returns leads closed."""
    me = this_process()
    sends = con.execute(
        "select send_id, any_value(pid), any_value(host), any_value(process_started)"
        " from sync.intents where status = 'in_flight' group by send_id"
    ).fetchall()
    closed = 0
    for send_id, pid, host, started in sends:
        stale = _stale(send_id, pid, host, started, me)
        if stale is None:
            continue
        code, why = stale
        note = (
            f"unfinished: {why}; the CRM may have applied them, so they are sent again and matched by "
            f"leadgate's key (no duplicate)"
        )
        closed += _close(con, send_id, code, note)
    return closed


def in_flight(con: duckdb.DuckDBPyConnection) -> int:
    """Leads in sends not closed yet (running now, or dead and not reconciled yet)."""
    return int(con.execute("select count(*) from sync.intents where status = 'in_flight'").fetchall()[0][0])
