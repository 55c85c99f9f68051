"""Reads of marts.lead_recent_events, the one definition of a lead's recent events and messages.

The dbt model (dbt_project/models/marts/lead_recent_events.sql) ranks each lead's events newest first
and keeps up to 10 events, 50 messages and 3 distinct message texts per lead; the readers here cut
with `rank <= N`. Before dbt's first build (or on a read copy published before the mart existed) there
is no mart: every reader then answers "no recent events" rather than failing.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd

from leadgate.store.sql import dict_rows, registered, relation_exists

RECENT_EVENTS = 10  # a review item's timeline (the model's `timeline_events` cap)
MESSAGES = 50  # the review page's messages (the model's `messages` cap)
RECENT_MESSAGES = 3  # distinct texts an LLM prompt quotes (the model's `distinct_messages` cap)
# The page has always listed the messages among the lead's newest 500 events (the mart ranks them all).
MESSAGES_WITHIN = 500

_SHOWN = "occurred_at, source, event_type, page_url, message"  # what a timeline entry shows
_NO_EVENTS = "(select null::varchar as lead_id, null::json as recent_events where false)"


def has_recent_events(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether dbt has built the mart in this database."""
    return relation_exists(con, "marts", "lead_recent_events")


def recent_events_sql(con: duckdb.DuckDBPyConnection, leads: str) -> str:
    """A subquery of (lead_id, recent_events JSON, newest first) for the leads of relation `leads`."""
    if not leads.isidentifier():
        raise ValueError(f"{leads!r} is not the name of a registered relation")
    if not has_recent_events(con):
        return _NO_EVENTS
    # `leads` is a fixed relation name from the caller (checked above); the cap is a constant.
    return f"""(select lead_id, to_json(list({{'occurred_at': occurred_at, 'source': source, 'event_type': event_type,
                'page_url': page_url, 'message': message}} order by event_rank)) as recent_events
            from marts.lead_recent_events
            where event_rank <= {RECENT_EVENTS} and lead_id in (select lead_id from {leads})
            group by lead_id)"""


def recent_events(con: duckdb.DuckDBPyConnection, lead_id: str) -> list[dict[str, Any]]:
    """The lead's newest events, newest first (empty without the mart)."""
    if not has_recent_events(con):
        return []
    return dict_rows(
        con,
        f"select {_SHOWN} from marts.lead_recent_events where lead_id = ? and event_rank <= ? order by event_rank",
        [lead_id, RECENT_EVENTS],
    )


def timeline_and_messages(
    con: duckdb.DuckDBPyConnection, lead_id: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The lead's newest events and its messages (events with some text), both newest first, in one read."""
    if not has_recent_events(con):
        return [], []
    rows = dict_rows(
        con,
        f"select {_SHOWN}, event_rank, message_rank from marts.lead_recent_events"
        " where lead_id = ? and (event_rank <= ? or (message_rank <= ? and event_rank <= ?)) order by event_rank",
        [lead_id, RECENT_EVENTS, MESSAGES, MESSAGES_WITHIN],
    )
    timeline, messages = [], []
    for row in rows:
        event_rank, message_rank = row.pop("event_rank"), row.pop("message_rank")
        if event_rank <= RECENT_EVENTS:
            timeline.append(row)
        if message_rank is not None:  # within the caps: the newest 10 events hold at most 10 messages
            messages.append(row)
    return timeline, messages


def recent_messages(con: duckdb.DuckDBPyConnection, lead_ids: list[str]) -> dict[str, list[str]]:
    """The latest distinct messages (trimmed) per lead, newest first; leads without any are left out."""
    if not lead_ids or not has_recent_events(con):
        return {}
    with registered(con, _llm_leads=pd.DataFrame({"lead_id": lead_ids})):
        rows = con.execute(
            "select lead_id, list(message_text order by distinct_message_rank)"
            " from marts.lead_recent_events join _llm_leads using (lead_id)"
            " where distinct_message_rank <= ? group by lead_id",
            [RECENT_MESSAGES],
        ).fetchall()
    return {lead_id: list(messages) for lead_id, messages in rows}
