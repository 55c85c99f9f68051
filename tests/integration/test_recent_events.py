"""marts.lead_recent_events as its readers see it: the caps each one shows, the order, and a database without it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import duckdb
import pandas as pd
import pytest

from leadgate.store.recent_events import recent_events, recent_events_sql, recent_messages, timeline_and_messages
from leadgate.store.sql import registered
from tests.fixtures.dbt.models import build_lead_recent_events

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _events(con: duckdb.DuckDBPyConnection, rows: list[tuple]) -> None:
    """rows: (lead_id, event_id, minutes after T0, message)."""
    con.execute(
        "insert into marts.lead_events (lead_id, source, event_id, event_type, occurred_at, page_url, message)"
        " select * from (select unnest(?), 'web', unnest(?), 'page_view', unnest(?::timestamptz[]), '/p', unnest(?))",
        [
            [r[0] for r in rows],
            [r[1] for r in rows],
            [T0 + timedelta(minutes=r[2]) for r in rows],
            [r[3] for r in rows],
        ],
    )
    build_lead_recent_events(con)


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute(
        "create table marts.lead_events (lead_id varchar, source varchar, event_id varchar, event_type varchar,"
        " occurred_at timestamptz, page_url varchar, message varchar)"
    )
    yield con
    con.close()


def test_a_busy_lead_shows_ten_events_fifty_messages_and_three_distinct_texts(con) -> None:
    # 600 events, newest last: every 5th carries a message, one text in two is a repeat of "same again".
    rows = [("ld_a", f"e{i:04d}", i, None) for i in range(600)]
    for i in range(0, 600, 5):
        rows[i] = ("ld_a", f"e{i:04d}", i, "same again" if i % 10 == 0 else f" note {i} ")
    _events(con, rows + [("ld_b", "e0001", 0, None)])

    timeline, messages = timeline_and_messages(con, "ld_a")
    assert [e["occurred_at"] for e in timeline] == [T0 + timedelta(minutes=m) for m in range(599, 589, -1)]
    # The page's messages: as written, newest first, 50 of them, all among the newest 500 events.
    assert len(messages) == 50 and messages[0]["message"] == " note 595 " and messages[1]["message"] == "same again"
    assert messages[-1]["occurred_at"] == T0 + timedelta(minutes=350)
    assert set(messages[0]) == {"occurred_at", "source", "event_type", "page_url", "message"}
    # The LLM's: trimmed, each text once, newest first.
    assert recent_messages(con, ["ld_a", "ld_b", "ld_unknown"]) == {"ld_a": ["note 595", "same again", "note 585"]}
    assert [e["occurred_at"] for e in recent_events(con, "ld_a")] == [e["occurred_at"] for e in timeline]
    assert recent_events(con, "ld_b")[0]["message"] is None and timeline_and_messages(con, "ld_b")[1] == []


def test_events_at_the_same_time_come_out_in_the_same_order_everywhere(con) -> None:
    _events(con, [("ld_a", "e1", 0, "first"), ("ld_a", "e3", 0, "third"), ("ld_a", "e2", 0, "second")])
    timeline, messages = timeline_and_messages(con, "ld_a")
    assert [e["message"] for e in timeline] == [m["message"] for m in messages] == ["third", "second", "first"]
    assert recent_messages(con, ["ld_a"]) == {"ld_a": ["third", "second", "first"]}
    with registered(con, _leads=pd.DataFrame({"lead_id": ["ld_a"]})):
        [(lead_id, stored)] = con.execute(f"select * from {recent_events_sql(con, '_leads')}").fetchall()
    assert lead_id == "ld_a" and [e["message"] for e in json.loads(stored)] == ["third", "second", "first"]


def test_before_dbt_built_the_mart_every_reader_answers_no_recent_events() -> None:
    with duckdb.connect() as bare:
        assert recent_events(bare, "ld_a") == [] and timeline_and_messages(bare, "ld_a") == ([], [])
        assert recent_messages(bare, ["ld_a"]) == {}
        with registered(bare, _leads=pd.DataFrame({"lead_id": ["ld_a"]})):
            assert bare.execute(f"select * from {recent_events_sql(bare, '_leads')}").fetchall() == []
        with pytest.raises(ValueError, match="not the name of a registered relation"):
            recent_events_sql(bare, "_leads; drop table x")
