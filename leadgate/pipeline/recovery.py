"""How a run recovers from the one before it: dead `running` rows, raw events dbt has not built yet.

"Nothing new" is decided by comparing raw.engagement_events with what the last successful dbt build saw
(meta.dbt_builds), not by what this run loaded: events loaded by `leadgate ingest`, or by a run that
died during dbt, are carried into the marts by the next run.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Any

import duckdb

from leadgate.store.dbt_builds import last_build, raw_mark, unbuilt_events


@dataclass(frozen=True)
class Process:
    """A process as recorded in meta.runs / sync.intents: pid, host and its start mark."""

    pid: int
    host: str
    started: str | None


def _start_mark(pid: int) -> str | None:
    """The kernel's start time of `pid` (Linux), so a reused pid is not mistaken for the recorded process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read().decode("ascii", "replace")
    except OSError:
        return None
    # the command name (field 2) may hold spaces or parentheses: count fields after its closing ')'
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def this_process() -> Process:
    pid = os.getpid()
    return Process(pid, socket.gethostname(), _start_mark(pid))


def process_gone(pid: int | None, host: str | None, started: str | None) -> bool | None:
    """True when the recorded process is certainly gone, False when it runs, None when this host cannot tell."""
    if pid is None or host != socket.gethostname():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # exists, owned by someone else
    current = _start_mark(pid)
    # a different start mark: the pid was reused by a later process
    return started is not None and current is not None and current != started


# ---------------------------------------------------------------------- meta.runs


def abandon_dead_runs(con: duckdb.DuckDBPyConnection, by_run: str, *, holding_run_lock: bool) -> list[dict[str, Any]]:
    """Mark `running` rows whose process is gone as `abandoned`, with the reason; returns them.

    With the run lock held no other pipeline run can be alive, so rows this host cannot check (no
    process recorded, another host) are abandoned too; a process that still runs never is.
    """
    rows = con.execute(
        "select run_id, kind, started_at, pid, host, process_started from meta.runs"
        " where status = 'running' and run_id <> ? order by started_at",
        [by_run],
    ).fetchall()
    abandoned = []
    for run_id, kind, started_at, pid, host, started in rows:
        gone = process_gone(pid, host, started)
        if gone is False or (gone is None and not (holding_run_lock and kind == "pipeline")):
            continue
        if gone:
            why = f"process {pid} on {host} is gone (killed or crashed)"
        else:
            who = f"process {pid} on {host}" if pid is not None else "no process recorded"
            why = f"{who}; the run lock was free, so that run is no longer running"
        reason = f"abandoned: {why}; found by run {by_run}"
        con.execute(
            "update meta.runs set status = 'abandoned', finished_at = now(), error = ? where run_id = ? and status = 'running'",
            [reason, run_id],
        )
        abandoned.append({"run_id": run_id, "kind": kind, "started_at": str(started_at), "reason": reason})
    return abandoned


# ---------------------------------------------------------------------- what dbt has built


@dataclass(frozen=True)
class Owed:
    """What the next run owes the data already loaded: a dbt build, a decide on the last build, or nothing."""

    build: bool
    decide: bool
    reason: str | None = None
    waiting: int = 0  # events loaded since the last build started (this run's included)

    def catch_up(self, loaded_now: int) -> str | None:
        """The reason, when the run does more than its own new events ask for (recovering earlier work)."""
        if self.build and self.waiting == loaded_now and self.waiting:
            return None
        return self.reason


def work_owed(con: duckdb.DuckDBPyConnection) -> Owed:
    """Compare raw with the last successful build (and whether its leads were decided)."""
    now = raw_mark(con)
    last = last_build(con)
    if last is None:
        if now.events == 0:
            return Owed(False, False)
        return Owed(True, True, f"{now.events} raw event(s) and no dbt build on record", now.events)
    if (now.events, now.last_ingested_at) != (last["raw_events"], last["last_ingested_at"]):
        waiting = unbuilt_events(con, last)
        what = (
            f"{waiting} event(s) loaded since dbt last built" if waiting else "raw events changed since dbt last built"
        )
        return Owed(True, True, f"{what} (run {last['run_id']})", waiting)
    if last["decided_at"] is None:
        return Owed(False, True, f"dbt build of run {last['run_id']} was not scored and routed yet")
    return Owed(False, False)
