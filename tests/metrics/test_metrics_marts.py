"""The dbt marts (marts.review_metrics_*, live views) and metrics_report() show the same numbers; they build on an empty database."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

import duckdb

from leadgate.policy import load_policy
from leadgate.review import sla
from leadgate.review.metrics import PeriodMetrics, metrics_report
from leadgate.store import db
from leadgate.transform.dbt import run_dbt
from tests.metrics import review_loop as loop

SELECT = ["path:models/staging/review_loop", "path:models/marts/review_metrics"]
NUMBERS = [f for f in PeriodMetrics.__dataclass_fields__ if f != "period"]


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)


def _rows(con: duckdb.DuckDBPyConnection, table: str, key: str) -> dict[str, dict]:
    cur = con.execute(f"select * from marts.{table}")
    names = [d[0] for d in cur.description]
    return {str(r[names.index(key)]): dict(zip(names, r)) for r in cur.fetchall()}


def test_marts_build_on_an_empty_database_and_agree_with_the_api(settings):
    report = run_dbt(settings, select=SELECT)  # nothing queued, decided or called yet
    assert all(status in ("success", "pass") for _, status, _ in report.nodes)
    with duckdb.connect(str(settings.db_path), read_only=True) as con:
        assert con.execute("select count(*) from marts.review_metrics_daily").fetchone()[0] == 0

    weeks = (datetime.now(UTC) - loop.AS_OF).days // 7  # in the past, inside the last 30 days
    rng = random.Random(12)
    with db.connect(settings) as con:
        loop.fill(con, weeks=weeks)
        for n in range(300):  # a year earlier, at any hour of any weekday: deadlines checked against Python's
            queued = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(365 * 86400))
            con.execute(
                "insert into review.items (lead_id, reason_codes, status, created_at, decided_at)"
                " values (?, ['low_confidence'], 'approved', ?, ?)",
                [f"ld_y{n:015d}", queued, queued + timedelta(hours=rng.uniform(0, 100))],
            )
    # views: live without another build, as `leadgate metrics` is
    api = metrics_report(settings, days=30, policy=load_policy(settings.policy))
    with duckdb.connect(str(settings.db_path), read_only=True) as con:
        daily = _rows(con, "review_metrics_daily", "day")
        weekly = _rows(con, "review_metrics_weekly", "week_start")
        reasons = con.execute(
            "select reason_code, sum(items) from marts.review_metrics_reasons_daily where day >= ? group by all",
            [api.since],
        ).fetchall()
        scores = con.execute(
            "select tier, score_bin, sum(decisions) from marts.review_metrics_scores_daily where day >= ? group by all",
            [api.since],
        ).fetchall()
        overdue = con.execute("select count(*) filter (where is_overdue) from marts.review_metrics_items").fetchone()[0]
        deadlines = con.execute(
            "select queued_at, sla_due_at from marts.review_metrics_items where status <> 'superseded'"
        ).fetchall()
    assert len(deadlines) == 309
    policy = load_policy(settings.policy)
    for queued, due in deadlines:
        assert abs((due - sla.due_at(queued, policy)).total_seconds()) < 0.001, (queued, due)
    assert len([d for d in daily if d >= api.since]) == 6  # the days with any activity
    for period in api.daily:
        mart = daily.get(period.period)
        if mart is None:
            assert all(not getattr(period, n) for n in NUMBERS), period
            continue
        for name in NUMBERS:
            assert _same(getattr(period, name), mart[name]), (period.period, name, getattr(period, name), mart[name])
    for period in api.weekly:
        mart = weekly.get(period.period)
        for name in NUMBERS:
            assert _same(getattr(period, name), mart[name] if mart else 0) or (
                mart is None and getattr(period, name) is None
            )
    assert sorted(reasons) == sorted((r["reason"], r["items"]) for r in api.top_reasons)
    assert sorted((t, f"{b / 10:.1f}-{(b + 1) / 10:.1f}", n) for t, b, n in scores) == sorted(
        (r["tier"], r["bin"], r["decisions"]) for r in api.score_distribution
    )
    assert overdue == api.overdue
    assert sum(p.decided for p in api.daily) == 7 and sum(p.sla_breaches for p in api.daily) >= 3
