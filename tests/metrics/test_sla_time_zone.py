"""One review SLA everywhere: New York business hours across both 2026 DST changes, in the API, the mart and sla.py."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import duckdb
import pytest
import yaml

from leadgate.config import LeadgateSettings
from leadgate.policy import BusinessHours, ReviewPolicy, load_policy
from leadgate.review import sla
from leadgate.review.metrics import metrics_report, overdue_items
from leadgate.store import db
from leadgate.transform.dbt import run_dbt

SELECT = ["path:models/staging/review_loop", "path:models/marts/review_metrics"]
# Sunday included, Saturday not; 01:30 happens twice on 1 November; 02:00-03:00 is skipped on 8 March
HOSTILE = {"days": [0, 1, 2, 3, 4, 6], "start": "01:30", "end": "17:00", "timezone": "America/New_York"}


def _utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_new_york_hours_count_in_new_york_across_dst():
    policy = SimpleNamespace(review=ReviewPolicy(business_hours=BusinessHours(timezone="America/New_York")))
    # Friday 16:00 EST: 1 h on Friday, then Monday 09:00-12:00 EDT (clocks went forward on Sunday)
    assert sla.due_at(_utc(2026, 3, 6, 21), policy) == _utc(2026, 3, 9, 16)
    # Friday 15:00 EDT: 2 h on Friday, then Monday 09:00-11:00 EST (clocks went back on Sunday)
    assert sla.due_at(_utc(2026, 10, 30, 19), policy) == _utc(2026, 11, 2, 16)
    queued = [_utc(2026, 3, 6, 21), _utc(2026, 10, 30, 19), _utc(2026, 3, 7, 12)]
    assert sla.deadlines([q.timestamp() for q in queued], policy) == [sla.due_at(q, policy).timestamp() for q in queued]
    assert not sla.is_overdue(_utc(2026, 3, 6, 21), _utc(2026, 3, 9, 15, 59), policy)
    assert sla.is_overdue(_utc(2026, 3, 6, 21), _utc(2026, 3, 9, 16, 1), policy)
    assert sla.describe(policy.review.business_hours) == "Mon-Fri 09:00-17:00 America/New_York"
    assert sla.describe(BusinessHours(**HOSTILE)) == "Mon,Tue,Wed,Thu,Fri,Sun 01:30-17:00 America/New_York"


@pytest.mark.parametrize("zone", ["America/New_York", "Europe/Berlin", "Asia/Beirut", "Australia/Lord_Howe"])
def test_skipped_and_repeated_wall_times_resolve_as_duckdb_does(zone):
    from zoneinfo import ZoneInfo

    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    base = datetime(2026, 1, 1)
    local = [base + timedelta(minutes=30 * n) for n in range(365 * 48)]  # every half hour of 2026
    ours = [sla._instant(t.date(), t.time(), ZoneInfo(zone)) for t in local]
    icu = con.execute("select timezone(?, t) from unnest(?) as u(t)", [zone, local]).fetchall()
    assert [r[0].astimezone(UTC) for r in icu] == ours


@pytest.fixture
def new_york(tmp_path):
    """Settings whose policy puts reviewers in New York on hostile hours, with a 6 business-hour SLA."""
    base = LeadgateSettings(_env_file=None)
    doc = yaml.safe_load(base.policy.read_text(encoding="utf-8"))
    doc.setdefault("review", {}).update({"sla_business_hours": 6, "business_hours": HOSTILE})
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return LeadgateSettings(db=tmp_path / "leadgate.duckdb", policy=path, lock_timeout=2.0, _env_file=None)


def test_api_mart_and_is_overdue_agree_on_every_item_across_dst(new_york):
    policy = load_policy(new_york.policy)
    rng, now = random.Random(21), datetime.now(UTC)
    rows = []
    for start in (_utc(2026, 3, 1), _utc(2026, 10, 25)):  # two weeks around each DST change
        for _ in range(150):
            queued = start + timedelta(seconds=rng.randrange(14 * 86400))
            decided = queued + timedelta(hours=rng.uniform(0, 60)) if rng.random() < 0.7 else None
            rows.append((queued, decided))
    rows += [(now - timedelta(hours=rng.uniform(0, 96)), None) for _ in range(60)]  # pending, some overdue now
    rows += [(_utc(2026, 10, 31, 20), None), (_utc(2026, 3, 7, 20), None)]  # Saturdays: due on the Sunday
    with db.connect(new_york) as con:
        con.executemany(
            "insert into review.items (lead_id, reason_codes, status, created_at, decided_at)"
            " values (?, ['low_confidence'], ?, ?, ?)",
            [[f"ld_tz{n:014d}", "approved" if d else "pending", q, d] for n, (q, d) in enumerate(rows)],
        )
        con.execute(
            "insert into review.items (lead_id, reason_codes, status, created_at, decided_at)"
            " values ('ld_tzsuperseded00', ['x'], 'superseded', ?, ?)",
            [_utc(2026, 3, 2), _utc(2026, 3, 3)],
        )
    run_dbt(new_york, select=SELECT)

    before = datetime.now(UTC)
    with duckdb.connect(str(new_york.db_path), read_only=True) as con:
        mart = con.execute(
            "select i.item_id, i.created_at, m.sla_due_at, m.is_overdue, i.status from review.items i"
            " join marts.review_metrics_items m using (item_id) order by item_id"
        ).fetchall()
        daily = dict(con.execute("select day, sla_breaches from marts.review_metrics_daily").fetchall())
    after = datetime.now(UTC)
    with db.read_connection(new_york) as con:
        api_overdue = {i["item_id"] for i in overdue_items(con, policy, now=after)}
    report = metrics_report(
        new_york, days=(after.date() - _utc(2026, 2, 20).date()).days + 1, as_of=after, policy=policy
    )

    assert len(mart) == len(rows) + 1
    by_created = dict(zip((m[1] for m in mart), sla.deadlines([m[1].timestamp() for m in mart], policy)))
    checked = 0
    for item_id, created, due, overdue, status in mart:
        if status == "superseded":
            assert due is None and not overdue
            continue
        assert abs(due.timestamp() - sla.due_at(created, policy).timestamp()) < 0.001, (created, due)
        assert abs(due.timestamp() - by_created[created]) < 0.001, (created, due)
        if status == "pending" and not before <= due <= after:  # the mart's now() lies between the two
            assert overdue == sla.is_overdue(created, after, policy) == (item_id in api_overdue), (created, due)
            checked += 1
    assert checked >= 60 and 0 < len(api_overdue) < checked  # some overdue now, some not yet
    # hand-checked: Sunday 1 Nov opens at the second 01:30 (06:30 UTC); on 8 March the skipped hour is not worked
    due = {m[1]: m[2] for m in mart}
    assert due[_utc(2026, 10, 31, 20)] == _utc(2026, 11, 1, 12, 30)
    assert due[_utc(2026, 3, 7, 20)] == _utc(2026, 3, 8, 12, 30)
    assert report.overdue == len(api_overdue)
    api_daily = {p.period: p.sla_breaches for p in report.daily if p.sla_breaches}
    assert api_daily == {d.isoformat(): n for d, n in daily.items() if n and d.isoformat() >= report.since}
    assert sum(api_daily.values()) > 50
