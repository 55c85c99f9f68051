"""`leadgate status`: counts of events and leads, and the invariants that prove nothing was lost.

Read-only (works on the published copy) and light: no Prefect, dbt or Great Expectations imports.
"""

from __future__ import annotations

from typing import Any

import duckdb

from leadgate.lifecycle import ALL_STATES
from leadgate.store.dbt_builds import last_build, unbuilt_events
from leadgate.store.sql import relation_exists

NOT_BUILT = "marts not built yet (dbt has not run): nothing to check"
SHOW_AT_MOST = 5


def age_text(seconds: float | None) -> str:
    """'45m', '3h 12m', '2d 4h' for a number of seconds."""
    if seconds is None:
        return ""
    minutes = int(max(seconds, 0) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {mins}m"
    return f"{mins}m"


def review_metrics(con: duckdb.DuckDBPyConnection, threshold: float | None = None) -> dict[str, Any]:
    """Pending count, review latency (median, p90, seconds) and how often people overrode the machine.

    The machine's leaning is the `qualified` flag of the score the item was opened on; without one,
    `score >= threshold` when a threshold is given.
    """
    row = con.execute(
        """
        with decided as (
            select i.status, date_diff('millisecond', i.created_at, i.decided_at) / 1000.0 as latency,
                   coalesce(s.qualified, i.score >= cast(? as double)) as machine_qualified
            from review.items i left join scoring.scores s on s.score_id = i.score_id
            where i.decided_at is not null and i.status in ('approved', 'rejected', 'clarification_requested')
        )
        select (select count(*) from review.items where status = 'pending'),
               count(*), quantile_cont(latency, 0.5), quantile_cont(latency, 0.9),
               count(*) filter (where (status = 'approved' and machine_qualified = false)
                                   or (status = 'rejected' and machine_qualified = true)),
               count(*) filter (where status in ('approved', 'rejected') and machine_qualified is not null)
        from decided
        """,
        [threshold],
    ).fetchall()[0]
    pending, decided, median, p90, overrides, judged = row
    return {
        "pending": int(pending),
        "decided": int(decided),
        "median_latency_seconds": None if median is None else float(median),
        "p90_latency_seconds": None if p90 is None else float(p90),
        "overrides": int(overrides),
        "override_rate": (overrides / judged) if judged else None,
    }


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> Any:
    rows = con.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None


def _inv(name: str, ok: bool, detail: str) -> dict[str, Any]:
    return {"name": name, "ok": bool(ok), "detail": detail}


def _sample(values: list[Any]) -> str:
    shown = ", ".join(str(v) for v in values[:SHOW_AT_MOST])
    return shown + (f" (+{len(values) - SHOW_AT_MOST} more)" if len(values) > SHOW_AT_MOST else "")


def _column(con: duckdb.DuckDBPyConnection, sql: str) -> list[Any]:
    """The first value of every row: the ids a check found breaking it."""
    return [r[0] for r in con.execute(sql).fetchall()]


def _problems(*found: tuple[list[Any], str]) -> list[str]:
    """'3 lead(s) without a state: a, b, c' for each check that found offenders."""
    return [f"{len(ids)} {what}: {_sample(ids)}" for ids, what in found if ids]


def _still_anonymous(con: duckdb.DuckDBPyConnection, has_visitors: bool) -> int:
    if has_visitors:
        return int(_one(con, "select coalesce(sum(event_count), 0) from marts.anonymous_visitors") or 0)
    return int(
        _one(
            con,
            """
        select count(*) from raw.engagement_events e
        where e.email is null and e.anonymous_id is not null
          and e.anonymous_id not in (select anonymous_id from raw.engagement_events
                                     where email is not null and anonymous_id is not null)
        """,
        )
        or 0
    )


def collect_status(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Counts (events, leads per state, review, outbox, last run) and the invariant checks."""
    marts = {
        name: relation_exists(con, "marts", name) for name in ("lead_features", "lead_events", "anonymous_visitors")
    }
    has_erasures = relation_exists(con, "raw", "erasures")
    files, records = con.execute("select count(*), coalesce(sum(records), 0) from raw.ingested_files").fetchall()[0]
    duplicates, conflicts = con.execute(
        "select count(*), count(*) filter (where conflicting) from raw.duplicate_events"
    ).fetchall()[0]
    events = {
        "files": int(files),
        "records": int(records),
        "accepted": int(_one(con, "select count(*) from raw.engagement_events")),
        "rejected": int(_one(con, "select count(*) from raw.rejected_events")),
        "duplicates": int(duplicates),
        "conflicts": int(conflicts),
        "field_issues": int(_one(con, "select count(*) from raw.field_issues")),
        "still_anonymous": _still_anonymous(con, marts["anonymous_visitors"]),
        "erased": int(_one(con, "select coalesce(sum(accepted + rejected + duplicates), 0) from raw.erasures") or 0)
        if has_erasures
        else 0,
    }
    by_state = dict(con.execute("select state, count(*) from lifecycle.lead_states group by state").fetchall())
    leads = {state: int(by_state.pop(state, 0)) for state in ALL_STATES}
    unknown_states = by_state
    outbox = dict(con.execute("select crm, count(*) from sync.outbox group by crm order by crm").fetchall())
    run = con.execute(
        "select run_id, kind, status, started_at, finished_at, sync_mode, crm, error"
        " from meta.runs order by started_at desc limit 1"
    ).fetchall()
    last_run = None
    if run:
        last_run = dict(
            zip(("run_id", "kind", "status", "started_at", "finished_at", "sync_mode", "crm", "error"), run[0])
        )
    recovering = recovery_status(con)
    invariants = [
        _events_conserved(con, has_erasures),
        _one_state_per_lead(con, marts["lead_features"], unknown_states),
        _review_matches_state(con),
        _events_attributed(con, marts, recovering["build"]),
        _synced_means_acknowledged(con),
    ]
    return {
        "events": events,
        "leads": leads,
        "leads_total": sum(leads.values()),
        "review": review_metrics(con),
        "outbox": {"owed": int(sum(outbox.values())), "by_crm": {k: int(v) for k, v in outbox.items()}},
        "last_run": last_run,
        "recovery": {k: v for k, v in recovering.items() if k != "build"},
        "invariants": invariants,
        "ok": all(inv["ok"] for inv in invariants),
    }


def _events_conserved(con: duckdb.DuckDBPyConnection, has_erasures: bool) -> dict[str, Any]:
    name = "events conserved (accepted + rejected + duplicates = records, per file)"
    erased = (
        "select load_id, source_file, sum(accepted + rejected + duplicates) as n from raw.erasures group by all"
        if has_erasures
        else "select null::varchar as load_id, null::varchar as source_file, 0 as n where false"
    )
    # `erased` is one of two fixed strings; no values are formatted into the SQL.
    rows = con.execute(
        f"""
        with found as (
            select load_id, source_file, count(*) as n from raw.engagement_events group by all
            union all select load_id, source_file, count(*) from raw.rejected_events group by all
            union all select load_id, source_file, count(*) from raw.duplicate_events group by all
            union all {erased}
        ), per_file as (
            select load_id, source_file, sum(n) as n from found group by all
        )
        select coalesce(f.path, p.source_file), f.records, coalesce(p.n, 0)
        from raw.ingested_files f
        full join per_file p on p.load_id = f.load_id and p.source_file = f.path
        where f.records is distinct from coalesce(p.n, 0)
        order by 1
        """
    ).fetchall()
    total_records = int(_one(con, "select coalesce(sum(records), 0) from raw.ingested_files"))
    if not rows:
        return _inv(name, True, f"{total_records} records in files, all accounted for")
    bad = [f"{path}: {rec if rec is not None else 'no file recorded'} recorded vs {n} found" for path, rec, n in rows]
    return _inv(name, False, f"{len(rows)} file(s) do not add up: {_sample(bad)}")


def _one_state_per_lead(con: duckdb.DuckDBPyConnection, has_features: bool, unknown: dict[str, int]) -> dict[str, Any]:
    name = "every lead has exactly one lifecycle state"
    if unknown:
        return _inv(name, False, f"unknown lifecycle states: {_sample([f'{s} ({n})' for s, n in unknown.items()])}")
    if not has_features:
        return _inv(name, True, NOT_BUILT)
    problems = _problems(
        (
            _column(
                con,
                "select lead_id from marts.lead_features"
                " where lead_id not in (select lead_id from lifecycle.lead_states) order by lead_id",
            ),
            "lead(s) without a state",
        ),
        (
            _column(
                con,
                "select lead_id from lifecycle.lead_states"
                " where lead_id not in (select lead_id from marts.lead_features) order by lead_id",
            ),
            "state row(s) for leads not in marts.lead_features",
        ),
        (
            _column(con, "select lead_id from lifecycle.lead_states group by lead_id having count(*) > 1"),
            "lead(s) with several states",
        ),
    )
    leads = int(_one(con, "select count(*) from marts.lead_features"))
    return _inv(name, not problems, "; ".join(problems) or f"{leads} leads, one state each")


def _review_matches_state(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    name = "needs_review leads and pending review items match"
    unqueued = """
        select lead_id from lifecycle.lead_states where state = 'needs_review'
          and lead_id not in (select lead_id from review.items where status = 'pending') order by lead_id
        """
    stray = """
        select item_id from review.items i where status = 'pending' and not exists (
            select 1 from lifecycle.lead_states s where s.lead_id = i.lead_id and s.state = 'needs_review')
        order by item_id
        """
    problems = _problems(
        (_column(con, unqueued), "needs_review lead(s) without a pending item"),
        (_column(con, stray), "pending item(s) whose lead is not in needs_review"),
    )
    pending = int(_one(con, "select count(*) from review.items where status = 'pending'"))
    return _inv(name, not problems, "; ".join(problems) or f"{pending} pending item(s), each for a needs_review lead")


def recovery_status(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """What the next run picks up: events dbt has not built, unfinished CRM sends, runs that did not end cleanly."""
    has_builds = relation_exists(con, "meta", "dbt_builds")  # a copy from before migration 0011 has none
    build = last_build(con) if has_builds else None
    runs = dict(
        con.execute(
            "select status, count(*) from meta.runs where status in ('abandoned', 'interrupted') group by status"
        ).fetchall()
    )
    return {
        "build": build,
        "events_waiting_for_dbt": unbuilt_events(con, build),
        "crm_sends_in_flight": int(_one(con, "select count(*) from sync.intents where status = 'in_flight'") or 0)
        if relation_exists(con, "sync", "intents")
        else 0,
        "runs_abandoned": int(runs.get("abandoned", 0)),
        "runs_interrupted": int(runs.get("interrupted", 0)),
    }


def _events_attributed(
    con: duckdb.DuckDBPyConnection, marts: dict[str, bool], build: dict | None = None
) -> dict[str, Any]:
    name = "every accepted event belongs to a lead or an anonymous visitor"
    if not (marts["lead_events"] and marts["anonymous_visitors"]):
        return _inv(name, True, NOT_BUILT)
    # Events loaded after the last successful dbt build started are not lost: the next run builds them.
    waiting = "" if build is None else " and e.ingested_at <= ?"  # null (it saw none): every event waits
    loose = int(
        _one(
            con,
            """
        select count(*) from raw.engagement_events e
        where not exists (select 1 from marts.lead_events le where le.source = e.source and le.event_id = e.event_id)
          and not (e.email is null and e.anonymous_id in (select anonymous_id from marts.anonymous_visitors))
        """
            + waiting,
            None if build is None else [build["last_ingested_at"]],
        )
    )
    accepted = int(_one(con, "select count(*) from raw.engagement_events"))
    pending = 0
    if build is not None:
        pending = unbuilt_events(con, build)
        accepted -= pending
    counted = int(
        _one(
            con,
            "select (select count(*) from marts.lead_events)"
            " + (select coalesce(sum(event_count), 0) from marts.anonymous_visitors)",
        )
    )
    problems = []
    if loose:
        problems.append(
            f"{loose} accepted event(s) neither in marts.lead_events nor anonymous"
            " (new events not transformed yet? run the pipeline)"
        )
    if counted != accepted:
        problems.append(f"{counted} events in the marts vs {accepted} accepted")
    later = f"; {pending} loaded since dbt last built wait for the next run" if pending else ""
    return _inv(name, not problems, "; ".join(problems) or f"{accepted} events attributed{later}")


def _synced_means_acknowledged(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    name = "synced leads have their current payload acknowledged"
    unacked = """
        select lead_id from lifecycle.lead_states s where state = 'synced' and not exists (
            select 1 from sync.state t where t.lead_id = s.lead_id and t.acked_payload_hash is not null)
        order by lead_id
        """
    owed = """
        select distinct s.lead_id from lifecycle.lead_states s join sync.outbox o on o.lead_id = s.lead_id
        where s.state = 'synced' order by 1
        """
    problems = _problems(
        (_column(con, unacked), "synced lead(s) never acknowledged"),
        (_column(con, owed), "synced lead(s) still owed a newer payload"),
    )
    synced = int(_one(con, "select count(*) from lifecycle.lead_states where state = 'synced'"))
    return _inv(name, not problems, "; ".join(problems) or f"{synced} synced lead(s), all acknowledged")
