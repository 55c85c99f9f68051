"""Migrations bring every database that ever shipped to the current schema, including one that ran the
first, since-replaced 0008."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from leadgate.config import LeadgateSettings
from leadgate.ingest import ingest_paths
from leadgate.store import db

FIRST_0008 = Path(__file__).resolve().parents[1] / "fixtures" / "migrations" / "0008_content_hash_ubigint.sql"


def _database_that_ran_the_first_0008(path: Path) -> None:
    """Apply 0001-0007 as shipped, then the first 0008 (kept as a fixture), recorded as version 8."""
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema if not exists meta")
        con.execute(
            "create table if not exists meta.schema_migrations("
            " version integer primary key, name varchar not null, applied_at timestamptz not null default now())"
        )
        for version, name, sql in db._migration_files():
            if version >= 8:
                break
            con.execute(sql)
            con.execute("insert into meta.schema_migrations(version, name) values (?, ?)", [version, name])
        con.execute(FIRST_0008.read_text(encoding="utf-8"))
        con.execute("insert into meta.schema_migrations(version, name) values (8, '0008_content_hash_ubigint.sql')")
    finally:
        con.close()


def _columns(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        row[0]
        for row in con.execute(
            "select column_name from information_schema.columns"
            " where table_schema = 'raw' and table_name = 'engagement_events'"
        ).fetchall()
    }


def test_a_database_that_ran_the_first_0008_is_repaired_and_accepts_events(settings: LeadgateSettings) -> None:
    _database_that_ran_the_first_0008(settings.db_path)
    with duckdb.connect(str(settings.db_path)) as con:
        assert "content_hash" in _columns(con)  # the broken schema this migration exists for

    events = settings.inbox / "events.jsonl"
    events.write_text(
        "\n".join(
            json.dumps(
                {
                    "source": "web",
                    "event_id": f"e{i}",
                    "event_type": "page_view",
                    "occurred_at": "2026-11-01T10:00:00Z",
                    "email": f"p{i}@example.com",
                }
            )
            for i in range(3)
        )
        + "\n",
        encoding="utf-8",
    )
    report = ingest_paths(settings, [events])

    assert (report.accepted, report.rejected) == (3, 0)
    with db.connect(settings) as con:
        assert "content_hash" not in _columns(con)
        assert con.execute("select count(*) from raw.engagement_events").fetchone()[0] == 3
        assert 9 in {v for (v,) in con.execute("select version from meta.schema_migrations").fetchall()}


def test_a_current_database_is_unchanged_by_the_repair(settings: LeadgateSettings) -> None:
    with db.connect(settings) as con:
        before = _columns(con)
        applied = db.migrate(con)
    assert applied == [] and "content_hash" not in before
