"""How runs recover, through the real `leadgate` command and Prefect engine: events loaded by `leadgate ingest`,
a run killed (kill -9) during dbt, and Ctrl-C (SIGINT) during dbt. Tests run in order on one database."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from leadgate.config import REPO_DIR
from tests.conftest import SAMPLE_DIR
from tests.e2e.helpers import LEADGATE, cli_env, leadgate, query, run_json, scalar

pytestmark = pytest.mark.slow

INTERRUPTED = "run interrupted (during dbt): nothing was half-applied; the next run picks up from here"
STRANDED = """
select count(*) from raw.engagement_events e where e.source_file like ?
  and not exists (select 1 from marts.lead_events l where l.source = e.source and l.event_id = e.event_id)
  and not (e.email is null and e.anonymous_id in (select anonymous_id from marts.anonymous_visitors))
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory, prefect_api):
    work = tmp_path_factory.mktemp("recovery")
    inbox = work / "inbox"
    inbox.mkdir()
    shutil.copy(SAMPLE_DIR / "form_fills.csv", inbox)
    db = work / "leadgate.duckdb"
    env = cli_env(db, inbox, prefect_api)
    first = run_json(env)
    assert first["dbt"] is not None
    return {"work": work, "inbox": inbox, "db": db, "env": env}


def in_marts(db: Path, name: str) -> tuple[int, int]:
    """(accepted events of the file, those of them not in the marts)."""
    total = scalar(db, "select count(*) from raw.engagement_events where source_file like ?", [f"%{name}"])
    return total, scalar(db, STRANDED, [f"%{name}"])


def assert_healthy(env) -> dict:
    proc = leadgate("status", "--json", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def start_run_then_signal_during_dbt(world, sig: int) -> subprocess.Popen:
    """Start `leadgate run`; once dbt has started its first node, send `sig` to it (as a terminal would)."""
    log = world["db"].with_name(world["db"].name + ".dbt") / "logs" / "dbt.log"
    offset = log.stat().st_size if log.exists() else 0
    proc = subprocess.Popen(
        [LEADGATE, "run"],
        env=world["env"],
        cwd=REPO_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    while True:
        assert proc.poll() is None, f"the run ended before dbt started:\n{proc.communicate()[1][-3000:]}"
        assert time.monotonic() < deadline, "dbt never started"
        if log.exists() and " START " in log.read_text(errors="replace")[offset:]:
            break
        time.sleep(0.02)
    os.killpg(proc.pid, sig)
    proc.wait(timeout=120)
    return proc


def free_the_dead_runs_slot() -> None:
    """A kill -9 leaves the Prefect concurrency slot taken until its lease expires (issue 9, item 1: run-locks)."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        client.delete_global_concurrency_limit_by_name("leadgate-pipeline")


def test_events_loaded_by_leadgate_ingest_are_built_by_the_next_run(world):
    db, env = world["db"], world["env"]
    proc = leadgate("ingest", str(SAMPLE_DIR / "email_engagement.jsonl"), env=env)
    assert proc.returncode == 0, proc.stderr
    total, stranded = in_marts(db, "email_engagement.jsonl")
    assert total > 0 and stranded == total
    summary = run_json(env)
    assert summary["ingest"]["accepted"] == 0  # the inbox brought nothing new ...
    assert summary["dbt"] is not None and "loaded since dbt last built" in summary["catch_up"]  # ... dbt ran anyway
    assert in_marts(db, "email_engagement.jsonl") == (total, 0)
    assert all(inv["ok"] for inv in summary["status"]["invariants"]), summary["status"]["invariants"]
    again = run_json(env)  # and now there really is nothing new
    assert again["dbt"] is None and again["decide"] is None


def test_a_run_killed_during_dbt_is_abandoned_and_the_next_run_carries_its_events_into_the_marts(world):
    db, env = world["db"], world["env"]
    shutil.copy(SAMPLE_DIR / "web_visits.jsonl", world["inbox"])
    killed = start_run_then_signal_during_dbt(world, signal.SIGKILL)
    assert killed.returncode == -signal.SIGKILL
    [(run_id, status)] = query(db, "select run_id, status from meta.runs order by started_at desc limit 1")
    assert status == "running"
    total, stranded = in_marts(db, "web_visits.jsonl")
    assert total > 0 and stranded > 0  # ingested, then killed before dbt finished
    free_the_dead_runs_slot()

    summary = run_json(env)
    assert summary["ingest"]["accepted"] == 0 and summary["dbt"] is not None
    assert [r["run_id"] for r in summary["abandoned_runs"]] == [run_id]
    assert query(db, "select status from meta.runs where run_id = ?", [run_id]) == [("abandoned",)]
    assert "is gone (killed or crashed)" in scalar(db, "select error from meta.runs where run_id = ?", [run_id])
    assert in_marts(db, "web_visits.jsonl") == (total, 0)
    assert all(inv["ok"] for inv in summary["status"]["invariants"]), summary["status"]["invariants"]
    assert_healthy(env)


def test_ctrl_c_during_dbt_says_so_exits_130_and_the_next_run_completes(world):
    db, env = world["db"], world["env"]
    shutil.copy(SAMPLE_DIR / "chat_transcripts.jsonl", world["inbox"])
    stopped = start_run_then_signal_during_dbt(world, signal.SIGINT)
    _, err = stopped.communicate()
    assert stopped.returncode == 130, err[-3000:]
    assert INTERRUPTED in err.splitlines(), err[-3000:]
    assert "dbt failed" not in err and "Traceback" not in err
    [(run_id, status, error)] = query(
        db, "select run_id, status, error from meta.runs order by started_at desc limit 1"
    )
    assert (status, error) == ("interrupted", INTERRUPTED)
    total, _ = in_marts(db, "chat_transcripts.jsonl")
    assert total > 0

    summary = run_json(env)
    assert summary["dbt"] is not None and summary["abandoned_runs"] == []
    assert in_marts(db, "chat_transcripts.jsonl") == (total, 0)
    assert all(inv["ok"] for inv in summary["status"]["invariants"]), summary["status"]["invariants"]
    assert query(db, "select status from meta.runs where run_id = ?", [run_id]) == [("interrupted",)]


def test_ctrl_c_on_the_temporary_server_path_stops_the_run_at_once_and_leaves_no_server(tmp_path):
    """`make run` / a plain `leadgate run`: the terminal's Ctrl-C goes to the whole process group."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(SAMPLE_DIR / "form_fills.csv", inbox)
    home = tmp_path / "prefect-home"
    env = cli_env(tmp_path / "leadgate.duckdb", inbox, None, PREFECT_HOME=str(home))
    env.pop("PREFECT_API_URL", None)
    world = {"db": tmp_path / "leadgate.duckdb", "env": env}
    started = time.monotonic()
    stopped = start_run_then_signal_during_dbt(world, signal.SIGINT)
    _, err = stopped.communicate()
    assert stopped.returncode == 130, err[-3000:]
    assert INTERRUPTED in err.splitlines(), err[-3000:]
    assert time.monotonic() - started < 240, "the run hung after Ctrl-C"
    needle = f"PREFECT_HOME={home}".encode()
    left = [p.name for p in Path("/proc").iterdir() if p.name.isdigit() and _environ_has(p, needle)]
    assert left == [], f"processes of the run still alive: {left}"
    assert query(world["db"], "select status from meta.runs order by started_at desc limit 1") == [("interrupted",)]


def _environ_has(proc_dir: Path, needle: bytes) -> bool:
    try:
        return needle in (proc_dir / "environ").read_bytes().split(b"\0")
    except OSError:
        return False
