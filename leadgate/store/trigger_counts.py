"""Behaviour-trigger counts per lead from marts.lead_events: one scan, one filtered count per policy trigger."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import duckdb
import pandas as pd

from leadgate.policy import Policy
from leadgate.store.sql import relation_exists


def trigger_counts(
    con: duckdb.DuckDBPyConnection, lead_ids: Sequence[str], policy: Policy, now: datetime
) -> pd.DataFrame:
    """lead_id and one `trigger:<name>` count per routing.triggers rule: matching events in (now - window, now]."""
    triggers = policy.routing.triggers
    columns = ["lead_id", *(f"trigger:{t.name}" for t in triggers)]
    # No events mart (a database of imported lead lists that dbt has not built events for): nothing fired.
    if not triggers or not len(lead_ids) or not relation_exists(con, "marts", "lead_events"):
        return pd.DataFrame({c: pd.Series(dtype="object" if c == "lead_id" else "int64") for c in columns})
    filters, params = [], []
    for i, t in enumerate(triggers):
        url = " or ".join(["contains(lower(page_url), ?)"] * len(t.url_contains)) or "true"
        # Fixed SQL fragments per trigger (a count, an alias by position); every value is bound.
        filters.append(
            f"count(*) filter (where list_contains(?::varchar[], event_type) and occurred_at > ? and ({url})) as t{i}"
        )
        params += [list(t.event_types), now - timedelta(days=t.window_days), *(s.lower() for s in t.url_contains)]
    since = min(now - timedelta(days=t.window_days) for t in triggers)
    con.register("_trigger_leads", pd.DataFrame({"lead_id": pd.Series(list(lead_ids), dtype="string")}))
    try:
        rows = con.execute(
            f"""
            select lead_id, {", ".join(filters)}
            from marts.lead_events
            where lead_id in (select lead_id from _trigger_leads) and occurred_at > ? and occurred_at <= ?
            group by lead_id
            """,
            [*params, since, now],
        ).fetchall()
    finally:
        con.unregister("_trigger_leads")
    return pd.DataFrame(rows, columns=columns)


def with_trigger_counts(
    con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, policy: Policy, now: datetime
) -> pd.DataFrame:
    """`frame` with the trigger counts joined on (0 where a lead had no matching event)."""
    counts = trigger_counts(con, frame["lead_id"].tolist(), policy, now)
    out = frame.drop(columns=[c for c in counts.columns if c != "lead_id" and c in frame.columns])
    out = out.merge(counts, on="lead_id", how="left")
    for c in counts.columns[1:]:
        out[c] = out[c].fillna(0).astype("int64")
    return out
