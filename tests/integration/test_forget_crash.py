"""`forget` SIGKILLed at each step, then re-run or followed by the next writer: the person is gone everywhere."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from leadgate.store import db
from leadgate.store.invariants import collect_status
from tests.fixtures.services import builders
from tests.forget_killer import POINTS
from tests.integration.test_forget import ALICE, _traces

REPO = Path(__file__).resolve().parents[2]
KILLER = Path(__file__).resolve().parents[1] / "forget_killer.py"
NEEDLES = [ALICE, "anon-a1", "alice smith"]
MARK = ALICE.encode()


def _env(settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADGATE_")}
    return env | {"LEADGATE_DB": str(settings.db_path), "PYTHONPATH": str(REPO)}


def _files_with_her_bytes(folder: Path) -> list[str]:
    """Every file beside the database (main, WAL, read copy, half-written copies) whose bytes hold her email."""
    return sorted(p.name for p in folder.iterdir() if p.is_file() and MARK in p.read_bytes().lower())


def _unfinished(settings) -> list:
    con = duckdb.connect(str(settings.db_path), read_only=True)
    try:
        return con.execute("select erasure_id, step from meta.erasure_journal where step <> 'done'").fetchall()
    finally:
        con.close()


@pytest.fixture
def published(settings):
    """A seeded database whose read-only copy was published with alice in it."""
    builders.seed(settings)
    db.publish_read_copy(settings)
    assert _files_with_her_bytes(settings.db_path.parent) == ["leadgate.duckdb", "leadgate.read.duckdb"]  # control
    return settings


def _kill_forget_at(settings, point: str) -> None:
    done = subprocess.run(
        [sys.executable, str(KILLER), ALICE, point],
        env=_env(settings),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == -signal.SIGKILL, (done.returncode, done.stdout, done.stderr)


def _assert_gone_everywhere(settings) -> None:
    assert _unfinished(settings) == []
    assert settings.read_db_path.exists(), "the read-only copy was not republished"
    assert _traces(settings.db_path, NEEDLES) == []
    assert _traces(settings.read_db_path, NEEDLES) == []
    assert _files_with_her_bytes(settings.db_path.parent) == []
    with db.read_connection(settings, allow_copy=False) as con:
        status = collect_status(con)
    assert status["ok"], [inv for inv in status["invariants"] if not inv["ok"]]


@pytest.mark.parametrize("point", POINTS)
def test_forget_killed_at_any_step_is_finished_by_running_it_again(published, point):
    settings = published
    _kill_forget_at(settings, point)
    again = subprocess.run(
        [str(REPO / ".venv" / "bin" / "leadgate"), "forget", ALICE, "--yes"],
        env=_env(settings),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 0, again.stderr
    assert "nothing found" not in again.stdout
    if point == "in_transaction":  # killed before its commit: nothing had happened, the re-run does it all
        assert again.stdout.startswith("erased ")
    else:
        assert again.stdout.startswith(f"{ALICE} was already erased"), again.stdout
        if point != "published":  # only the journal's last mark was missing there
            assert "finished 1 interrupted erasure(s)" in again.stdout
    _assert_gone_everywhere(settings)


@pytest.mark.parametrize("point", [p for p in POINTS if p != "in_transaction"])
def test_forget_killed_after_its_commit_is_finished_by_the_next_writer(published, point):
    settings = published
    _kill_forget_at(settings, point)
    assert _unfinished(settings)  # the journal says what is left to do
    with db.connect(settings) as con:  # any writer: a pipeline step, a review decision, ingest
        con.execute("select 1").fetchall()
    _assert_gone_everywhere(settings)


def test_forget_killed_before_its_commit_left_the_database_as_it_was(published):
    settings = published
    _kill_forget_at(settings, "in_transaction")
    assert _unfinished(settings) == []
    assert _traces(settings.db_path, [ALICE])  # rolled back: still all there, and consistent; re-run it
    with db.read_connection(settings, allow_copy=False) as con:
        status = collect_status(con)
    assert status["ok"], [inv for inv in status["invariants"] if not inv["ok"]]
    assert not settings.read_db_path.exists() or _traces(settings.read_db_path, [ALICE])
