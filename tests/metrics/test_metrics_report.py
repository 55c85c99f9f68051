"""The review metrics on a small hand-built loop: known latencies, a weekend inside the SLA, rates, CLI and JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from leadgate.config import LeadgateSettings
from leadgate.policy import ReviewPolicy
from leadgate.review import sla
from leadgate.review.charts import report_charts
from leadgate.review.metrics import metrics_report
from leadgate.store import db
from tests.metrics import review_loop as loop


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    """One database for the read-only tests of this module (migrating a new file costs a second or more)."""
    settings = LeadgateSettings(
        db=tmp_path_factory.mktemp("loop") / "leadgate.duckdb", lock_timeout=2.0, _env_file=None
    )
    with db.connect(settings) as con:
        loop.fill(con)
    return settings


def _day(report, day: str):
    return next(p for p in report.daily if p.period == day)


def test_weekend_does_not_count_towards_the_sla():
    policy = SimpleNamespace(review=ReviewPolicy())  # the default: Mon-Fri 09:00-17:00 UTC, 4 business hours
    friday_4pm = datetime(2026, 11, 20, 16, tzinfo=UTC)
    queued = [
        friday_4pm,
        datetime(2026, 11, 21, 10, tzinfo=UTC),
        datetime(2026, 11, 16, 18, tzinfo=UTC),
    ]
    due = [
        datetime(2026, 11, 23, 12, tzinfo=UTC),  # Fri 16-17, Mon 9-12
        datetime(2026, 11, 23, 13, tzinfo=UTC),
        datetime(2026, 11, 17, 13, tzinfo=UTC),
    ]
    assert [sla.due_at(q, policy) for q in queued] == due
    assert sla.deadlines([q.timestamp() for q in queued], policy) == [d.timestamp() for d in due]
    assert (
        sla.business_seconds(friday_4pm, datetime(2026, 11, 23, 10, tzinfo=UTC), policy.review.business_hours)
        == 2 * 3600
    )
    assert sla.sla_hours(None) == 4.0
    assert sla.sla_hours(SimpleNamespace(review=SimpleNamespace(sla_business_hours=2))) == 2.0
    for bad in (0, -1, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="sla_business_hours"):
            sla.sla_hours(SimpleNamespace(review=SimpleNamespace(sla_business_hours=bad)))


def test_known_numbers_per_day_and_week(filled):
    report = metrics_report(filled, days=8, as_of=loop.AS_OF)
    monday = _day(report, "2026-11-16")
    # latencies 1, 2, 3, 4, 10 h: median 3, p90 = 4 + 0.6 * (10 - 4)
    assert (monday.decided, monday.approved, monday.rejected, monday.clarified) == (5, 2, 2, 1)
    assert monday.latency_median_hours == pytest.approx(3.0)
    assert monday.latency_p90_hours == pytest.approx(7.6)
    assert monday.sla_breaches == 1  # the 08:00 item decided at 18:00; the one decided at its deadline is not
    assert (monday.overrides, monday.override_base, monday.override_rate) == (2, 4, 0.5)
    assert (monday.routed, monday.sent_to_review, monday.exception_rate) == (
        8,
        2,
        0.25,
    )  # the pending one is not decided
    assert (monday.crm_attempts, monday.crm_error_rate, monday.crm_retry_rate) == (4, 0.5, 0.25)
    assert (monday.llm_calls, monday.llm_error_rate, monday.llm_retry_rate) == (5, 0.4, 0.2)
    next_monday = _day(report, "2026-11-23")
    assert next_monday.decided == 2
    assert next_monday.latency_median_hours == pytest.approx(67.5)  # 66 h and 69 h over the weekend
    assert next_monday.sla_breaches == 2  # decided after Mon 11:00, and the Saturday item still pending at 13:00
    assert next_monday.exception_rate is None and next_monday.override_rate == 0.0
    assert (report.pending, report.overdue) == (2, 1)
    assert _day(report, "2026-11-21").queued == 1 and _day(report, "2026-11-22").queued == 0
    weeks = {w.period: w for w in report.weekly}
    assert set(weeks) == {"2026-11-16", "2026-11-23"}
    assert weeks["2026-11-16"].queued == 9 and weeks["2026-11-16"].sla_breaches == 1
    assert weeks["2026-11-16"].latency_p90_hours == pytest.approx(7.6)
    assert weeks["2026-11-23"].sla_breaches == 2
    assert report.totals.decided == 7 and report.totals.sla_breaches == 3
    assert report.top_reasons[:2] == [
        {"reason": "low_confidence", "items": 6},
        {"reason": "missing_company", "items": 3},
    ]
    tier_a = {r["bin"]: r["decisions"] for r in report.score_distribution if r["tier"] == "A"}
    assert tier_a == {"0.6-0.7": 1, "0.7-0.8": 2, "0.9-1.0": 2}  # a score of 1.0 is in the top bin
    assert {r["tier"] for r in report.score_distribution} == {"A", "B", "untiered"}


def test_a_shorter_sla_from_the_policy_counts_more_breaches(filled):
    policy = SimpleNamespace(
        review=SimpleNamespace(sla_business_hours=1), scoring=SimpleNamespace(qualify_threshold=0.55)
    )
    report = metrics_report(filled, days=8, as_of=loop.AS_OF, policy=policy)
    assert report.sla_business_hours == 1.0
    assert _day(report, "2026-11-16").sla_breaches == 4  # 2 h, 3 h, 4 h and 10 h waits now miss a 1 h SLA


def test_window_excludes_older_days(filled):
    report = metrics_report(filled, days=1, as_of=loop.AS_OF)
    assert [p.period for p in report.daily] == ["2026-11-23"]
    assert report.totals.decided == 2 and report.top_reasons == [{"reason": "missing_company", "items": 1}]


def test_charts_are_svg_with_escaped_labels(settings):
    with db.connect(settings) as con:
        loop.fill(con)
        con.execute("update review.items set reason_codes = ['<script>alert(1)</script>'] where status = 'pending'")
    charts = report_charts(metrics_report(settings, days=8, as_of=loop.AS_OF))
    assert {
        "exception_rate",
        "latency",
        "sla_breaches",
        "override_rate",
        "api_errors",
        "reasons",
        "reasons_over_time",
        "scores_A",
    } <= set(charts)
    assert all(svg.startswith("<svg") and "<script" not in svg for svg in charts.values())
    assert "&lt;script&gt;" in charts["reasons"] and "&lt;script&gt;" in charts["reasons_over_time"]
    assert "exception rate: 25%" in charts["exception_rate"] and "p90: 7.6h" in charts["latency"]


def _cli(settings, *args: str):
    from typer.testing import CliRunner

    from leadgate.cli.app import app

    return CliRunner().invoke(app, ["metrics", *args], env={"LEADGATE_DB": str(settings.db)})


def test_cli_table_and_json_show_the_same_numbers(settings):
    weeks = (datetime.now(UTC) - loop.AS_OF).days // 7  # the loop moved to the last week or two, still past
    with db.connect(settings) as con:
        loop.fill(con, weeks=weeks)
    first_monday = (loop.t(16, 0) + timedelta(weeks=weeks)).date().isoformat()
    as_json = _cli(settings, "--json", "--days", "30")
    assert as_json.exit_code == 0, as_json.output
    doc = json.loads(as_json.stdout)
    row = next(d for d in doc["daily"] if d["period"] == first_monday)
    assert (row["decided"], row["latency_median_hours"], row["exception_rate"]) == (5, 3.0, 0.25)
    assert doc["days"] == 30 and len(doc["daily"]) == 30 and doc["pending"] == 2
    table = _cli(settings, "--days", "30")
    assert table.exit_code == 0, table.output
    line = next(x for x in table.stdout.splitlines() if x.startswith(first_monday))
    assert line.split()[1:6] == ["5", "5", "25.0%", "3.0h", "7.6h"]
    assert "low_confidence" in table.stdout and "per week (from Monday)" in table.stdout
    bad = _cli(settings, "--days", "0")
    assert bad.exit_code != 0 and "--days must be between 1 and 3660" in str(bad.exception)


def test_overrides_are_grouped_by_the_model_version_that_scored(tmp_path):
    settings = LeadgateSettings(db=tmp_path / "lg.duckdb", lock_timeout=2.0, _env_file=None)
    with db.connect(settings) as con:
        loop.fill(con)
        before = metrics_report(con, days=8, as_of=loop.AS_OF)
        ids = [
            r[0]
            for r in con.execute(
                "select s.score_id from review.items i join scoring.scores s using (score_id)"
                " where i.status in ('approved', 'rejected') order by s.score_id"
            ).fetchall()
        ]
        assert ids, "the loop's decided items carry scores"
        con.execute("update scoring.scores set scorer = 'model', model_version = 'm1' where score_id = ?", [ids[0]])
        after = metrics_report(con, days=8, as_of=loop.AS_OF)
    total = sum(r["decisions"] for r in before.overrides_by_model)
    assert (
        total == before.totals.override_base
        and sum(r["overrides"] for r in before.overrides_by_model) == before.totals.overrides
    )
    by = {r["model_version"]: r for r in after.overrides_by_model}
    assert by["m1"]["decisions"] == 1 and sum(r["decisions"] for r in by.values()) == total
