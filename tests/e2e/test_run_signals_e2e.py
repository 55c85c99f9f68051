"""SIGTERM of `leadgate run` (an operator's `kill`, a CI timeout): a line saying so, exit 143, nothing left held."""

from __future__ import annotations

import shutil
import signal
import time

import pytest

from tests.conftest import SAMPLE_DIR
from tests.e2e.helpers import cli_env
from tests.e2e.test_run_locks_e2e import NORMAL_RUN_SECONDS, Run, _none_left

pytestmark = pytest.mark.slow


def test_sigterm_mid_run_says_terminated_and_the_next_run_finds_nothing_held(tmp_path):
    inbox = tmp_path / "inbox"
    shutil.copytree(SAMPLE_DIR, inbox, ignore=shutil.ignore_patterns("*.md"))
    home = tmp_path / "prefect-home"
    home.mkdir()
    env = cli_env(tmp_path / "leadgate.duckdb", inbox, PREFECT_HOME=str(home))
    env.pop("PREFECT_API_URL", None)  # the `make run` path: a temporary server tied to the run

    run = Run(env, "--full-refresh")
    run.wait_for(r"Flow run '.*' - Beginning flow run")  # the slot and the run lock are being taken or held
    time.sleep(0.5)
    run.proc.send_signal(signal.SIGTERM)
    code, err = run.finish(timeout=60)
    assert code == 143, err[-3000:]  # an exit code, not a death by signal (-15)
    assert "leadgate: terminated (SIGTERM)" in err.splitlines()[-1], err[-3000:]
    assert "Traceback" not in err
    _none_left(home)

    code, err = Run(env).finish(timeout=NORMAL_RUN_SECONDS)
    assert code == 0, err[-3000:]
    assert "freed the leadgate-pipeline" not in err and "took over the run lock" not in err  # given back on the way out
