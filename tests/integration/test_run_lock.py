"""Who holds the database or the run: named at once, waited for within a bound, taken over when dead."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from leadgate.store import db
from leadgate.store.run_lock import RunInProgress, hold_run_lock, read_run_holder


def _holder(code: str) -> subprocess.Popen:
    """A process that runs `code`, prints 'holding' and sleeps until killed."""
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code) + "\nprint('holding', flush=True)\nimport time; time.sleep(60)"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "holding", "the holder did not start"
    return proc


def _run_holder(settings, run_id: str) -> subprocess.Popen:
    return _holder(f"""
        from leadgate.config import LeadgateSettings
        from leadgate.store.run_lock import hold_run_lock
        cm = hold_run_lock(LeadgateSettings(db={str(settings.db_path)!r}, _env_file=None), run_id={run_id!r}); cm.__enter__()
    """)


def _stop(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.wait()


def test_a_live_run_is_named_waited_for_then_reported(settings):
    holder = _run_holder(settings, "r-live")
    said: list[str] = []
    try:
        started = time.monotonic()
        with pytest.raises(RunInProgress, match="another pipeline run is in progress") as info:
            with hold_run_lock(settings, run_id="r-second", wait=1.0, notify=said.append):
                pass
        waited = time.monotonic() - started
    finally:
        _stop(holder)
    assert waited >= 1.0
    assert f"run r-live, pid {holder.pid}, started " in str(info.value)
    assert said and said[0].startswith(f"waiting for run r-live (pid {holder.pid}, started ")


def test_a_run_killed_while_holding_the_lock_is_taken_over_with_a_line(settings):
    holder = _run_holder(settings, "r-killed")
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    assert read_run_holder(settings).run_id == "r-killed"  # the record outlives the process; the flock does not
    said: list[str] = []
    with hold_run_lock(settings, run_id="r-next", wait=0, notify=said.append):
        assert read_run_holder(settings).run_id == "r-next"
        assert read_run_holder(settings).process.pid == os.getpid()
    assert said == [
        f"took over the run lock from run r-killed (pid {holder.pid}, started "
        f"{said[0].split('started ')[1].split(')')[0]}), which ended without releasing it (is gone)"
    ]
    assert read_run_holder(settings) is None  # a clean exit leaves nothing to take over
    again: list[str] = []
    with hold_run_lock(settings, wait=0, notify=again.append):
        pass
    assert again == []


def test_a_reader_on_the_main_file_is_named_at_once_then_fails_clearly(settings, caplog):
    with db.connect(settings):
        pass
    reader = _holder(f"import duckdb; con = duckdb.connect({str(settings.db_path)!r}, read_only=True)")
    try:
        started = time.time()  # LogRecord.created is wall-clock time
        with caplog.at_level(logging.WARNING, logger="leadgate.store.db"):
            with pytest.raises(db.PipelineBusy) as info:
                with db.connect(settings, timeout=1.5):
                    pass
    finally:
        _stop(reader)
    message = str(info.value)
    assert f"held by a reader (pid {reader.pid}: python -c import duckdb" in message
    assert str(settings.read_db_path) in message and "another writer" not in message
    warnings = [r for r in caplog.records if r.name == "leadgate.store.db"]
    assert len(warnings) == 1 and f"a reader (pid {reader.pid}" in warnings[0].getMessage()
    assert warnings[0].created - started < 1.0, "the wait must be announced at once, not after it"


def test_a_foreign_writer_is_named_as_a_writer(settings):
    with db.connect(settings):
        pass
    writer = _holder(f"import duckdb; con = duckdb.connect({str(settings.db_path)!r})")
    try:
        with pytest.raises(db.PipelineBusy, match=rf"held by a writer \(pid {writer.pid}: python"):
            with db.connect(settings, timeout=0.3):
                pass
    finally:
        _stop(writer)


def test_another_leadgate_writer_is_named_with_its_pid(settings):
    with db.connect(settings):
        pass
    writer = _holder(f"""
        from leadgate.store import db
        from leadgate.config import LeadgateSettings
        cm = db.connect(LeadgateSettings(db={str(settings.db_path)!r}, _env_file=None)); cm.__enter__()
    """)
    try:
        with pytest.raises(
            db.PipelineBusy, match=rf"pipeline is running .*leadgate writer, pid {writer.pid}: python.* try again"
        ):
            with db.connect(settings, timeout=0.3):
                pass
    finally:
        _stop(writer)
