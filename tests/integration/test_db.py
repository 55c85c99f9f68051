"""The staging database access layer: migrations, the one-writer lock, the read-only path."""

from __future__ import annotations

import time

import duckdb
import pytest

from leadgate.store import db
from tests.writer_holder import another_writer


def test_migrations_create_every_app_table_once(settings):
    with db.connect(settings) as con:
        tables = {
            f"{s}.{t}"
            for s, t in con.execute("select table_schema, table_name from information_schema.tables").fetchall()
        }
        again = db.migrate(con)
    for name in [
        "raw.engagement_events",
        "raw.rejected_events",
        "raw.field_issues",
        "raw.ingested_files",
        "scoring.scores",
        "review.items",
        "sync.outbox",
        "sync.state",
        "audit.decisions",
        "quality.validations",
        "lifecycle.lead_states",
    ]:
        assert name in tables
    assert again == []


def test_lead_id_salt_is_stable_per_installation(settings):
    with db.connect(settings) as con:
        first = con.execute("select lead_id_salt from meta.installation").fetchall()
    with db.connect(settings) as con:
        second = con.execute("select lead_id_salt from meta.installation").fetchall()
    assert len(first) == 1 and first == second and len(first[0][0]) == 32


def test_second_writer_waits_then_fails_with_a_clear_message(settings):
    with db.connect(settings):
        pass
    with another_writer(settings.db_path, seconds=10):
        started = time.monotonic()
        with pytest.raises(db.PipelineBusy, match="pipeline is running .* try again"):
            with db.connect(settings, timeout=0.5):
                pass
        assert time.monotonic() - started >= 0.5
    with db.connect(settings) as con:  # free again once the holder is gone
        assert con.execute("select 1").fetchone() == (1,)


def test_a_foreign_duckdb_writer_is_retried_then_reported(settings):
    with db.connect(settings):
        pass
    with another_writer(settings.db_path, raw=True, seconds=10):
        with pytest.raises(db.PipelineBusy):
            with db.connect(settings, timeout=0.5):
                pass


def test_readers_fall_back_to_the_published_copy_while_a_writer_holds_the_file(settings):
    with db.connect(settings) as con:
        con.execute(
            "insert into meta.runs (run_id, kind, started_at, status) values ('r1', 'pipeline', now(), 'completed')"
        )
    db.publish_read_copy(settings)
    with another_writer(settings.db_path, raw=True, seconds=10):
        with db.read_connection(settings, timeout=0.3) as con:
            assert con.execute("select run_id from meta.runs").fetchall() == [("r1",)]
            with pytest.raises(duckdb.Error):
                con.execute("delete from meta.runs")  # the copy is read-only too


def test_reader_on_a_missing_database_says_what_to_do(settings):
    with pytest.raises(db.DatabaseMissing, match="leadgate run"):
        with db.read_connection(settings):
            pass


def test_two_pipeline_runs_never_overlap(settings):
    with db.run_lock(settings):
        with pytest.raises(db.PipelineBusy, match="another pipeline run is in progress"):
            with db.run_lock(settings):
                pass


def test_a_database_from_before_0008_keeps_its_events_when_the_hash_column_goes(settings, monkeypatch):
    """0008 drops raw.engagement_events.content_hash (conflicts are hashed when found); events stay."""
    every = db._migration_files()
    monkeypatch.setattr(db, "_migration_files", lambda: [m for m in every if m[0] < 8])
    with db.connect(settings) as con:
        con.execute(
            "insert into raw.engagement_events (source, event_id, event_type, occurred_at, email, content_hash,"
            " load_id, source_file, line_no, ingested_at) values ('web', 'w-1', 'page_view', now(), 'a@b.io',"
            " 'c82de5c34c64bac3', 'load-1', 'a.jsonl', 1, now())"
        )
    monkeypatch.setattr(db, "_migration_files", lambda: every)
    with db.connect(settings) as con:
        columns = [
            r[0]
            for r in con.execute(
                "select column_name from information_schema.columns where table_schema = 'raw'"
                " and table_name = 'engagement_events'"
            ).fetchall()
        ]
        kept = con.execute("select source, event_id, email from raw.engagement_events").fetchall()
    assert "content_hash" not in columns and "extra" in columns
    assert kept == [("web", "w-1", "a@b.io")]
