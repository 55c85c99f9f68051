"""`forget` while other writers are mid-way: nothing they write afterwards brings the person back."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb

from leadgate.policy import load_policy
from leadgate.store import db
from leadgate.store.forget import forget_person
from leadgate.store.invariants import collect_status
from leadgate.sync.outbox import run_sync
from tests.emulators.fixtures import salesforce_server, salesforce_settings, sf_emulator, tls_ca  # noqa: F401
from tests.fixtures.services import builders
from tests.integration.test_forget import ALICE, _traces
from tests.writer_holder import another_writer

REPO = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).resolve().parents[1] / "paused_decide.py"


def _env(settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADGATE_")}
    return env | {"LEADGATE_DB": str(settings.db_path), "LEADGATE_LOCK_TIMEOUT": "20", "PYTHONPATH": str(REPO)}


def _invariants_ok(settings) -> None:
    with db.read_connection(settings, allow_copy=False) as con:
        status = collect_status(con)
    assert status["ok"], [inv for inv in status["invariants"] if not inv["ok"]]


def _wait_for(path: Path, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.05)


def test_a_rescore_that_read_the_person_before_forget_writes_nothing_of_them_back(settings, tmp_path):
    ids = builders.seed(settings)
    lead_id = ids[ALICE]
    paused, go = tmp_path / "scoring", tmp_path / "go"
    # A real `decide_step(rescore_all=True)` in its own process, held between reading the leads and
    # writing scores, states and review items (the window the defect report hit).
    run = subprocess.Popen(
        [sys.executable, str(DRIVER), str(paused), str(go)],
        env=_env(settings),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(paused, run)
        report = forget_person(settings, ALICE)
        assert report.total > 0
        go.touch()
        out, err = run.communicate(timeout=120)
    finally:
        run.kill()
    assert run.returncode == 0, err
    assert "routed" in out  # the run went on and routed the others
    for table in ("scoring.scores", "lifecycle.lead_states", "review.items", "audit.decisions"):
        # audit rows from before the erasure stay (no personal data); the run must not add any
        where = "lead_id = ? and run_id = 'race-run'" if table == "audit.decisions" else "lead_id = ?"
        with db.read_connection(settings, allow_copy=False) as con:
            n = con.execute(f"select count(*) from {table} where {where}", [lead_id]).fetchall()[0][0]
        assert n == 0, f"{table} has {n} row(s) of the forgotten lead"
    assert _traces(settings.db_path, [ALICE, "alice", "anon-a1"]) == []
    _invariants_ok(settings)
    with db.read_connection(settings, allow_copy=False) as con:  # the others were re-scored meanwhile
        rescored = con.execute(
            "select count(distinct lead_id) from scoring.scores where run_id = 'race-run'"
        ).fetchall()
    assert rescored == [(4,)]


def test_a_live_sync_in_flight_when_forget_commits_keeps_nothing_of_the_person(settings, sf_emulator):
    from connectors.crm.salesforce import SalesforceConnector

    ids = builders.seed(settings)
    policy = load_policy(settings.policy)
    sf_emulator.slow("collections_upsert", 4.0)
    box: dict = {}

    def sync() -> None:
        try:
            box["report"] = run_sync(
                settings,
                policy,
                crm="salesforce",
                mode="live",
                run_id="race-sync",
                connector=SalesforceConnector(salesforce_settings(sf_emulator)),
            )
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=sync)
    thread.start()
    deadline = time.monotonic() + 30
    while not sf_emulator.requests_of("collections_upsert"):
        assert thread.is_alive() and time.monotonic() < deadline, box
        time.sleep(0.02)
    forget_person(settings, ALICE)  # commits while the CRM still holds the request
    thread.join(60)
    assert "error" not in box, box.get("error")
    assert box["report"].acknowledged >= 1  # erin's answer was recorded as usual
    for table in ("sync.attempts", "sync.state", "sync.outbox", "lifecycle.lead_states"):
        with db.read_connection(settings, allow_copy=False) as con:
            n = con.execute(f"select count(*) from {table} where lead_id = ?", [ids[ALICE]]).fetchall()[0][0]
        assert n == 0, table
    assert _traces(settings.db_path, [ALICE, "alice smith"]) == []
    _invariants_ok(settings)


def test_forget_waits_for_the_writer_and_says_so(settings):
    builders.seed(settings)
    told: list[str] = []
    with another_writer(settings.db, seconds=1.5):
        report = forget_person(settings, ALICE, wait=30, progress=told.append)
    assert told and told[0].startswith("waiting for the pipeline run to release the database")
    assert report.total > 0 and _traces(settings.db_path, [ALICE]) == []


def test_the_cli_says_it_waits_then_erases(settings):
    builders.seed(settings)
    with another_writer(settings.db, seconds=120):  # held until forget says it waits, however slow it starts
        cli = subprocess.Popen(
            [str(REPO / ".venv" / "bin" / "leadgate"), "forget", ALICE, "--yes"],
            env=_env(settings),
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            first = cli.stderr.readline()
        except BaseException:
            cli.kill()
            raise
    out, err = cli.communicate(timeout=120)
    assert cli.returncode == 0, err
    assert first.startswith("waiting for the pipeline run to release the database"), first
    assert out.startswith("erased ") and ALICE in out
    con = duckdb.connect(str(settings.db_path), read_only=True)
    try:
        assert con.execute("select count(*) from raw.engagement_events where email = ?", [ALICE]).fetchall() == [(0,)]
    finally:
        con.close()


def test_an_llm_answer_that_arrives_after_forget_is_not_kept(settings, monkeypatch):
    from tests.emulators.openai_server import OpenAIEmulator, heuristic_score
    from tests.fixtures.scoring.frames import NOW, create_marts, test_policy

    forgotten = "dana.reyes@northwind.io"  # lead ld_hot_vp of the scoring fixture
    with db.connect(settings) as con:
        create_marts(con)
    done = threading.Event()

    def score_while_she_is_forgotten(leads):
        if not done.is_set():  # the first request is still open when the erasure commits
            forget_person(settings, forgotten)
            done.set()
        return heuristic_score(leads)

    with OpenAIEmulator(score=score_while_she_is_forgotten) as emulator:
        for key, value in {
            "OPENAI_BASE_URL": emulator.base_url,
            "OPENAI_API_KEY": "sk-test",
            "LEADGATE_LLM_BATCH_SIZE": "20",
            "LEADGATE_LLM_CONCURRENCY": "1",
        }.items():
            monkeypatch.setenv(key, value)
        from leadgate.pipeline import steps

        policy = test_policy()
        policy = policy.model_copy(update={"gate": policy.gate.model_copy(update={"max_failed_share": 1.0})})
        steps.decide_step(settings.model_copy(update={"scorer": "llm", "as_of": NOW}), policy, "llm-race")
    assert done.is_set()
    with db.read_connection(settings, allow_copy=False) as con:
        for table in ("scoring.scores", "lifecycle.lead_states", "review.items"):
            assert con.execute(f"select count(*) from {table} where lead_id = 'ld_hot_vp'").fetchall() == [(0,)], table
        cached = {r[0] for r in con.execute("select input_hash from scoring.llm_cache").fetchall()}
        recorded = {r[0] for r in con.execute("select input_hash from scoring.scores where scorer = 'llm'").fetchall()}
        others = con.execute("select count(distinct lead_id) from scoring.scores").fetchall()[0][0]
    assert cached and cached <= recorded  # every answer kept belongs to a lead still here
    assert others == 12
    assert _traces(settings.db_path, [forgotten, "reyes"]) == []
