"""How a run recovers from the one before it, on a real DuckDB file with real ingest and real dbt:
events dbt has not built (loaded by `leadgate ingest`, or stranded by a failed build) and dead `running` rows."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from leadgate.cli.status_text import format_status
from leadgate.config import REPO_DIR
from leadgate.pipeline import steps
from leadgate.policy import load_policy
from leadgate.store import db
from leadgate.store.invariants import collect_status
from leadgate.transform.dbt import DbtFailed
from tests.conftest import SAMPLE_DIR

ATTRIBUTED = "every accepted event belongs to a lead or an anonymous visitor"


def status(settings):
    with db.read_connection(settings) as con:
        return collect_status(con)


def invariant(report, name):
    return next(inv for inv in report["invariants"] if inv["name"] == name)


def scalar(settings, sql, params=None):
    with db.read_connection(settings) as con:
        return con.execute(sql, params or []).fetchall()[0][0]


def test_events_loaded_outside_a_run_or_stranded_by_a_failed_build_are_built_by_the_next_run(settings):
    policy = load_policy(settings.policy)
    steps.ingest_step(settings, [SAMPLE_DIR / "form_fills.csv"])
    assert steps.work_owed(settings).build
    steps.build_step(settings, run_id="run-1")
    steps.decide_step(settings, policy, "run-1")
    owed = steps.work_owed(settings)
    assert (owed.build, owed.decide) == (False, False)

    # `leadgate ingest FILE`: the events are in raw, not in the marts; the next run must build them
    later = steps.ingest_step(settings, [SAMPLE_DIR / "email_engagement.jsonl"])
    assert later.accepted > 0
    owed = steps.work_owed(settings)
    assert (owed.build, owed.waiting) == (True, later.accepted) and "loaded since dbt last built" in owed.reason
    report = status(settings)
    assert report["ok"] and report["recovery"]["events_waiting_for_dbt"] == later.accepted
    assert (
        f"{later.accepted} loaded since dbt last built wait for the next run" in invariant(report, ATTRIBUTED)["detail"]
    )
    assert "events waiting for dbt" in format_status(report)

    # a build that fails records nothing: the events stay owed (here a raw row dbt's source test refuses)
    with db.connect(settings) as con:
        con.execute(
            "insert into raw.engagement_events (source, event_id, event_type, occurred_at, email,"
            " load_id, source_file, line_no, ingested_at) values ('fax', 'f-1', 'page_view', now(),"
            " 'x@y.io', 'load-x', 'x.csv', 2, now())"
        )
    with pytest.raises(DbtFailed):
        steps.build_step(settings, run_id="run-2")
    assert scalar(settings, "select count(*) from meta.dbt_builds") == 1
    with db.connect(settings) as con:
        con.execute("delete from raw.engagement_events where source = 'fax'")
    assert steps.work_owed(settings).build

    steps.build_step(settings, run_id="run-3")
    steps.decide_step(settings, policy, "run-3")
    owed = steps.work_owed(settings)
    assert (owed.build, owed.decide) == (False, False)
    # every event of the later file reached the marts, and its people have a lifecycle state
    assert (
        scalar(
            settings,
            """
        select count(*) from raw.engagement_events e where e.source_file like '%email_engagement.jsonl'
          and not exists (select 1 from marts.lead_events l where l.source = e.source and l.event_id = e.event_id)
          and not (e.email is null and e.anonymous_id in (select anonymous_id from marts.anonymous_visitors))""",
        )
        == 0
    )
    assert (
        scalar(
            settings,
            """select count(*) from marts.lead_features
                               where lead_id not in (select lead_id from lifecycle.lead_states)""",
        )
        == 0
    )
    report = status(settings)
    assert report["ok"] and report["recovery"]["events_waiting_for_dbt"] == 0, report["invariants"]


def test_a_build_whose_scoring_never_finished_is_scored_by_the_next_run_without_dbt(settings):
    policy = load_policy(settings.policy)
    steps.ingest_step(settings, [SAMPLE_DIR / "form_fills.csv"])
    steps.build_step(settings, run_id="run-1")  # then the process died before scoring
    owed = steps.work_owed(settings)
    assert (owed.build, owed.decide) == (False, True) and "run-1" in owed.reason
    report = steps.decide_step(settings, policy, "run-2")
    assert report.new_leads > 0 and not steps.work_owed(settings).decide


START_RUN = """
import os, signal, sys, time
from leadgate.pipeline import steps
from leadgate.config import LeadgateSettings
from leadgate.policy import load_policy
settings = LeadgateSettings(_env_file=None)
steps.start_run(settings, sys.argv[1], kind="pipeline", policy=load_policy(settings.policy))
print("started", flush=True)
if sys.argv[2] == "die":
    os.kill(os.getpid(), signal.SIGKILL)
time.sleep(120)
"""


def start_run_in_subprocess(settings, run_id: str, then: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADGATE_")}
    env["LEADGATE_DB"] = str(settings.db_path)
    proc = subprocess.Popen(
        [sys.executable, "-c", START_RUN, run_id, then], env=env, cwd=REPO_DIR, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "started"
    return proc


def test_a_killed_runs_row_is_marked_abandoned_by_the_next_start_and_a_live_one_is_not(settings):
    policy = load_policy(settings.policy)
    killed = start_run_in_subprocess(settings, "run-killed", "die")
    killed.wait(timeout=30)
    assert scalar(settings, "select status from meta.runs where run_id = 'run-killed'") == "running"
    with db.connect(settings) as con:  # a row written before runs recorded their process
        con.execute(
            "insert into meta.runs (run_id, kind, started_at, status) values ('run-old', 'pipeline', now(), 'running')"
        )

    alive = start_run_in_subprocess(settings, "run-alive", "sleep")  # the next start
    try:
        with db.read_connection(settings) as con:
            runs = dict(con.execute("select run_id, status from meta.runs").fetchall())
            reason = con.execute("select error from meta.runs where run_id = 'run-killed'").fetchall()[0][0]
        assert runs == {"run-killed": "abandoned", "run-old": "abandoned", "run-alive": "running"}
        assert reason.startswith(f"abandoned: process {killed.pid} on ") and "found by run run-alive" in reason
        report = status(settings)
        assert report["recovery"]["runs_abandoned"] == 2 and "runs abandoned" in format_status(report)
        # a run whose process still runs is never abandoned
        assert steps.start_run(settings, "run-next", kind="pipeline", policy=policy) == []
        assert scalar(settings, "select status from meta.runs where run_id = 'run-alive'") == "running"
    finally:
        os.kill(alive.pid, signal.SIGKILL)
        alive.wait(timeout=10)
    # once dead it is; without the run lock a row this host cannot check is left alone
    with db.connect(settings) as con:
        con.execute(
            "insert into meta.runs (run_id, kind, started_at, status) values ('run-unknown', 'pipeline', now(), 'running')"
        )
    later = steps.start_run(settings, "run-later", kind="pipeline", policy=policy, holding_run_lock=False)
    assert [r["run_id"] for r in later] == ["run-alive"]  # run-next's process (this one) still runs
    assert scalar(settings, "select status from meta.runs where run_id = 'run-unknown'") == "running"


def test_the_run_summary_names_abandoned_runs_and_what_was_picked_up():
    from leadgate.cli.render_summary import render_text
    from leadgate.pipeline.summary import summary_rows

    summary = {
        "run_id": "run-9",
        "catch_up": "120 event(s) loaded since dbt last built (run run-8)",
        "abandoned_runs": [{"run_id": "run-8", "reason": "abandoned: process 4711 on host-a is gone"}],
    }
    rows = [(r["section"], r["item"], r["value"]) for r in summary_rows(summary) if r["section"] == "recovery"]
    assert rows == [
        ("recovery", "run run-8", "abandoned: process 4711 on host-a is gone"),
        ("recovery", "picked up", "120 event(s) loaded since dbt last built (run run-8)"),
    ]
    assert "abandoned: process 4711" in render_text(summary)
    assert not [r for r in summary_rows({"run_id": "run-10", "abandoned_runs": []}) if r["section"] == "recovery"]
