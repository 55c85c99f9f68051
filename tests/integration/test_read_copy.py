"""The analysts' read copy after review decisions: current without a run, one copy per burst of decisions."""

from __future__ import annotations

import time

import duckdb
import pytest

from leadgate.config import LeadgateSettings
from leadgate.policy import load_policy
from leadgate.review.service import ReviewService
from leadgate.store import db, read_copy
from tests.fixtures.services import builders

BOB, DAN = "bob@globex.com", "dan@umbrella.com"


def _copy_status(settings: LeadgateSettings) -> dict[int, str]:
    con = duckdb.connect(str(settings.read_db_path), read_only=True)
    try:
        return dict(con.execute("select item_id, status from review.items").fetchall())
    finally:
        con.close()


def _seeded(tmp_path, interval: float) -> tuple[LeadgateSettings, ReviewService, dict[str, int]]:
    settings = LeadgateSettings(
        db=tmp_path / "leadgate.duckdb", inbox=tmp_path, lock_timeout=5.0, read_copy_interval=interval, _env_file=None
    )
    ids = builders.seed(settings)
    with db.read_connection(settings) as con:
        items = dict(con.execute("select lead_id, item_id from review.items").fetchall())
    return settings, ReviewService(settings, load_policy(settings.policy)), {BOB: items[ids[BOB]], DAN: items[ids[DAN]]}


def _wait_for(check, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


def test_a_decision_appears_in_the_read_copy_without_a_run(tmp_path):
    settings, service, items = _seeded(tmp_path, interval=5.0)
    assert not settings.read_db_path.exists()  # never published: no run yet
    service.reject(items[BOB], "dana", reason="student project")
    assert _copy_status(settings)[items[BOB]] == "rejected"
    assert not read_copy.is_pending(settings)


def test_two_quick_decisions_publish_once_now_and_once_when_the_interval_ends(tmp_path):
    settings, service, items = _seeded(
        tmp_path, interval=15.0
    )  # long enough that two decisions land inside it on a loaded machine
    db.publish_read_copy(settings)  # as a run that just ended would
    published = settings.read_db_path.stat().st_mtime
    service.reject(items[BOB], "dana", reason="student project")
    service.clarify(items[DAN], "dana", question="Which team is evaluating?")
    # debounced: the copy of a moment ago stays, marked stale
    assert settings.read_db_path.stat().st_mtime == published
    assert _copy_status(settings) == {items[BOB]: "pending", items[DAN]: "pending"}
    assert read_copy.is_pending(settings)
    # ... and the trailing publisher brings it up to date once the interval is over, without a run
    assert _wait_for(lambda: not read_copy.is_pending(settings), 60), "the copy was never republished"
    assert _copy_status(settings) == {items[BOB]: "rejected", items[DAN]: "clarification_requested"}


def test_a_refused_decision_does_not_touch_the_copy(tmp_path):
    settings, service, items = _seeded(tmp_path, interval=0.0)
    db.publish_read_copy(settings)
    before = settings.read_db_path.stat().st_mtime
    with pytest.raises(Exception, match="missing last_name, company"):
        service.approve(items[BOB], "dana")
    assert not read_copy.is_pending(settings)
    assert settings.read_db_path.stat().st_mtime == before


def test_a_publish_clears_the_mark_and_the_trailing_publisher_stops_when_nothing_is_pending(tmp_path):
    settings, _, _ = _seeded(tmp_path, interval=0.0)
    with db.connect(settings):
        read_copy.mark_pending(settings)
    assert read_copy.publish_pending(settings) is True
    assert not read_copy.is_pending(settings) and settings.read_db_path.exists()
    assert read_copy.publish_pending(settings) is False  # nothing pending: nothing copied
