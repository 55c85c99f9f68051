"""Runs that wait, recover and explain: kill -9, overlapping runs, a reader on the main file, a quiet terminal."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import textwrap
import threading
import time
from pathlib import Path

import pytest

from leadgate.config import REPO_DIR
from tests.conftest import SAMPLE_DIR
from tests.e2e.helpers import LEADGATE, cli_env, leadgate, records_in_files, scalar

pytestmark = pytest.mark.slow

TELEMETRY = (
    "DO_NOT_TRACK",
    "DBT_SEND_ANONYMOUS_USAGE_STATS",
    "PREFECT_SERVER_ANALYTICS_ENABLED",
    "GX_ANALYTICS_ENABLED",
)
NORMAL_RUN_SECONDS = 300  # a whole run on the sample, temporary server start included, on a busy 2-core machine


class Run:
    """`leadgate run` in the background, its stderr collected line by line."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.proc = subprocess.Popen(
            [LEADGATE, "run", *args], env=env, cwd=REPO_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(
            target=lambda: self.lines.extend(iter(self.proc.stderr.readline, "")), daemon=True
        )
        self._reader.start()

    def wait_for(self, pattern: str, timeout: float = 300) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if re.search(pattern, line):
                    return line
            assert self.proc.poll() is None, f"the run ended before {pattern!r}:\n{''.join(self.lines)[-3000:]}"
            time.sleep(0.1)
        raise AssertionError(f"no {pattern!r} within {timeout} s:\n{''.join(self.lines)[-3000:]}")

    def finish(self, timeout: float = NORMAL_RUN_SECONDS) -> tuple[int, str]:
        self.proc.wait(timeout=timeout)
        self.proc.stdout.read()
        self._reader.join(5)
        return self.proc.returncode, "".join(self.lines)


@contextlib.contextmanager
def braked(pid: int, running: float = 0.1, stopped: float = 0.9):
    """Slow a process about tenfold (SIGSTOP / SIGCONT in turn) for a while, so a test can overtake it.

    It still gets a tenth of its time, so it stays alive to Prefect (its lease renewals get through).
    """
    done = threading.Event()

    def cycle() -> None:
        with contextlib.suppress(ProcessLookupError):
            while not done.is_set():
                os.kill(pid, signal.SIGSTOP)
                done.wait(stopped)
                os.kill(pid, signal.SIGCONT)
                done.wait(running)

    brake = threading.Thread(target=cycle, daemon=True)
    brake.start()
    try:
        yield
    finally:
        done.set()
        brake.join(5)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)


def _processes_with(home: Path) -> list[str]:
    """Processes whose environment names this PREFECT_HOME (the run and any Prefect server it started)."""
    found = []
    needle = f"PREFECT_HOME={home}".encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if needle in (entry / "environ").read_bytes().split(b"\0"):
                    found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()[:160])
            except OSError:
                continue
    return found


def _none_left(home: Path, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while _processes_with(home) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _processes_with(home) == [], "a process (a temporary Prefect server?) outlived its run"


@pytest.fixture
def sample_inbox(tmp_path: Path) -> Path:
    inbox = tmp_path / "inbox"
    shutil.copytree(SAMPLE_DIR, inbox, ignore=shutil.ignore_patterns("*.md"))
    return inbox


def test_kill_9_at_three_points_then_each_next_run_completes_with_no_server_left(tmp_path, sample_inbox):
    """The `make run` path (no PREFECT_API_URL), with the telemetry variables unset as on a plain shell."""
    db, home = tmp_path / "leadgate.duckdb", tmp_path / "prefect-home"
    home.mkdir()
    env = cli_env(db, sample_inbox, PREFECT_HOME=str(home))
    for key in (*TELEMETRY, "PREFECT_API_URL"):
        env.pop(key, None)
    points = [  # (where, the line that shows the run is there, then wait, flags)
        ("ingest", r"Task run 'ingest-inbox.*loaded ", 0.0, []),
        ("dbt", r"Task run 'ingest-inbox.*Finished in state", 3.0, ["--full-refresh"]),
        ("routing", r"Task run 'score-gate-route.*scoring \d+ leads", 0.0, ["--full-refresh"]),
    ]
    for where, marker, pause, flags in points:
        killed = Run(env, *flags)
        killed.wait_for(marker)
        time.sleep(pause)
        killed.proc.kill()
        killed.finish(timeout=30)
        _none_left(home)

        started = time.monotonic()
        next_run = Run(env, *flags)
        code, err = next_run.finish()
        seconds = time.monotonic() - started
        assert code == 0, f"the run after a kill during {where} failed:\n{err[-3000:]}"
        assert seconds < NORMAL_RUN_SECONDS
        assert "freed the leadgate-pipeline concurrency slot held by run " in err, err[-3000:]
        assert f"pid {killed.proc.pid}" in err and "took over the run lock from run " in err
        assert "starting a temporary local Prefect server" in err
        assert "ERROR" not in err and "Traceback" not in err, err
        _none_left(home)

    # nothing lost or doubled by the kills: every record is accounted for once, every lead has one state
    records = records_in_files(sample_inbox)
    accounted = sum(
        scalar(db, f"select count(*) from raw.{t}")
        for t in ("engagement_events", "rejected_events", "duplicate_events")
    )
    assert accounted == records
    leads = scalar(db, "select count(*) from marts.lead_features")
    assert leads > 100 and scalar(db, "select count(distinct lead_id) from lifecycle.lead_states") == leads
    assert scalar(db, "select count(*) from lifecycle.lead_states") == leads


def _flow_run_state(api: str, line_with_url: str):
    from prefect.client.orchestration import get_client

    flow_run_id = re.search(r"/flow-run/([0-9a-f-]{36})", line_with_url).group(1)
    with get_client(sync_client=True) as client:
        return client.read_flow_run(flow_run_id).state


def _active_slots() -> int:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_global_concurrency_limit_by_name("leadgate-pipeline").active_slots


def test_overlapping_runs_wait_then_complete_or_end_skipped(tmp_path, sample_inbox, prefect_api):
    db = tmp_path / "leadgate.duckdb"
    env = cli_env(db, sample_inbox, prefect_api)
    first = Run(env)
    first.wait_for(r"Task run 'ingest-inbox.*loaded ")
    run_id = re.search(r'"run_id": "([^"]+)"', Path(f"{db}.run.lock").read_text()).group(1)  # the holder record

    # the first run must still be going when the later runs have started and queued: on a busy machine the
    # sample's whole run can end before they do, so it is slowed down until then (not stopped: it keeps its lease)
    with braked(first.proc.pid):
        # a short bound: queued on the concurrency limit, then skipped with the holder named, not failed
        skipped = leadgate("run", env=dict(env, LEADGATE_RUN_WAIT="2"), timeout=120)
        lines = [ln for ln in skipped.stderr.splitlines() if ln.strip()]
        assert skipped.returncode == 75, skipped.stderr
        assert lines[-1].startswith(
            f"skipped: another run is in progress (run {run_id}, pid {first.proc.pid}, started "
        )
        assert any("queued on the leadgate-pipeline concurrency limit" in ln for ln in lines)
        assert "Traceback" not in skipped.stderr and "ERROR" not in skipped.stderr
        assert "temporary local Prefect server" not in skipped.stderr
        state = _flow_run_state(prefect_api, next(ln for ln in lines if "/flow-run/" in ln))
        assert (state.type.value, state.name) == ("COMPLETED", "Skipped")
        assert "another run is in progress" in state.message

        # a long bound: waits for the first run, then does its own
        waiting = Run(dict(env, LEADGATE_RUN_WAIT="600"))
        waiting.wait_for(
            rf"waiting for run {run_id} \(pid {first.proc.pid}, started .*\) to finish: queued on the leadgate-pipeline"
        )
        assert first.proc.poll() is None, "the first run was still going while the others queued"
    assert first.finish()[0] == 0
    code, err = waiting.finish()
    assert code == 0, err[-3000:]
    assert "no new events" in err and "ERROR" not in err
    assert scalar(db, "select count(*) from meta.runs where status = 'completed'") == 2
    assert _active_slots() == 0

    # a holder of the run lock outside Prefect (e.g. a run on another server): waited for, then skipped
    outside = subprocess.Popen(
        [
            str(Path(LEADGATE).with_name("python")),
            "-c",
            textwrap.dedent(f"""
        from leadgate.config import LeadgateSettings
        from leadgate.store.run_lock import hold_run_lock
        with hold_run_lock(LeadgateSettings(db={str(db)!r}, _env_file=None), run_id="r-outside"):
            print("holding", flush=True)
            import time; time.sleep(60)
    """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert outside.stdout.readline().strip() == "holding"
        blocked = leadgate("run", env=dict(env, LEADGATE_RUN_WAIT="2"), timeout=120)
    finally:
        outside.kill()
        outside.wait()
    assert blocked.returncode == 75, blocked.stderr
    assert (
        blocked.stderr.strip()
        .splitlines()[-1]
        .startswith(f"skipped: another run is in progress (run r-outside, pid {outside.pid}, ")
    )
    assert "waiting for run r-outside" in blocked.stderr
    assert _active_slots() == 0, "a skipped run gives its slot back"


def test_a_reader_on_the_main_file_is_named_at_once_and_the_run_fails_clearly(tmp_path, prefect_api):
    from leadgate.config import LeadgateSettings
    from leadgate.store import db as leadgate_db

    db = tmp_path / "leadgate.duckdb"
    (tmp_path / "inbox").mkdir()  # an empty inbox: a missing one is an error of its own (exit 2)
    with leadgate_db.connect(LeadgateSettings(db=db, _env_file=None)):
        pass
    reader = subprocess.Popen(
        [
            str(Path(LEADGATE).with_name("python")),
            "-c",
            f"import duckdb, time; con = duckdb.connect({str(db)!r}, read_only=True); "
            "print('holding', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().strip() == "holding"
        run = Run(cli_env(db, tmp_path / "inbox", prefect_api, LEADGATE_LOCK_TIMEOUT="4"))
        announced = run.wait_for(
            rf"waiting up to \d+ s for a reader \(pid {reader.pid}: python -c import duckdb", timeout=120
        )
        assert run.proc.poll() is None, "the wait is announced while waiting, not after"
        code, err = run.finish(timeout=120)
    finally:
        reader.kill()
        reader.wait()
    assert "read copy" in announced
    last = err.strip().splitlines()[-1]
    assert code == 1 and "Traceback" not in err
    assert last.startswith(
        f"leadgate: error: database {db} is held by a reader (pid {reader.pid}: python -c import duckdb"
    )
    assert str(db.with_name("leadgate.read.duckdb")) in last and "another writer" not in last
