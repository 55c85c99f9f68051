"""meta.dbt_builds: what each successful dbt build saw of raw events, and whether its leads were decided.

The pipeline's recovery (leadgate/pipeline/recovery.py) and `leadgate status` (invariants.py) both read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb


@dataclass(frozen=True)
class RawMark:
    """What raw.engagement_events holds at one moment: rows and the latest ingested_at."""

    events: int
    last_ingested_at: datetime | None


def raw_mark(con: duckdb.DuckDBPyConnection) -> RawMark:
    events, last = con.execute("select count(*), max(ingested_at) from raw.engagement_events").fetchall()[0]
    return RawMark(int(events), last)


def record_build(con: duckdb.DuckDBPyConnection, mark: RawMark, *, run_id: str | None, full_refresh: bool) -> None:
    """After a successful build: it saw `mark` (taken before it started, so it never claims more than it built)."""
    con.execute(
        "insert into meta.dbt_builds (run_id, built_at, full_refresh, raw_events, last_ingested_at)"
        " values (?, now(), ?, ?, ?)",
        [run_id, full_refresh, mark.events, mark.last_ingested_at],
    )


def record_decided(con: duckdb.DuckDBPyConnection, since: datetime, *, run_id: str | None) -> None:
    """Scoring/gate/routing finished on every build made before `since` (when that decide started)."""
    con.execute(
        "update meta.dbt_builds set decided_at = now(), decided_by = ? where decided_at is null and built_at <= ?",
        [run_id, since],
    )


def last_build(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    rows = con.execute(
        "select run_id, built_at, raw_events, last_ingested_at, decided_at from meta.dbt_builds"
        " order by built_at desc limit 1"
    ).fetchall()
    if not rows:
        return None
    return dict(zip(("run_id", "built_at", "raw_events", "last_ingested_at", "decided_at"), rows[0]))


def unbuilt_events(con: duckdb.DuckDBPyConnection, last: dict[str, Any] | None) -> int:
    """Accepted events loaded after the last successful build started (they wait for the next run)."""
    if last is None:
        return 0
    if last["last_ingested_at"] is None:
        return int(con.execute("select count(*) from raw.engagement_events").fetchall()[0][0])
    return int(
        con.execute(
            "select count(*) from raw.engagement_events where ingested_at > ?", [last["last_ingested_at"]]
        ).fetchall()[0][0]
    )
