"""Ctrl-C inside a pipeline step surfaces as RunInterrupted naming the step, whatever the library made of it."""

from __future__ import annotations

import os
import signal
import threading

import duckdb
import pytest

from leadgate.pipeline import interrupts
from leadgate.pipeline.interrupts import RunInterrupted


def ctrl_c_in(seconds: float) -> None:
    threading.Timer(seconds, lambda: os.kill(os.getpid(), signal.SIGINT)).start()


def test_ctrl_c_during_a_duckdb_query_is_an_interruption_of_that_step_and_rolls_it_back(tmp_path):
    path = str(tmp_path / "x.duckdb")

    @interrupts.step("ingest")
    def load() -> None:
        con = duckdb.connect(path)
        try:
            con.execute("create table t as select 1 as x")
            con.execute("begin transaction")
            con.execute("insert into t values (2)")
            ctrl_c_in(0.3)
            con.execute("select count(*) from range(100000000000) a")  # DuckDB ends it: RuntimeError
        finally:
            con.close()

    with pytest.raises(RunInterrupted) as err:
        load()
    assert err.value.step == "ingest"
    assert str(err.value) == (
        "run interrupted (during ingest): nothing was half-applied; the next run picks up from here"
    )
    assert duckdb.connect(path).execute("select x from t").fetchall() == [(1,)]  # the open transaction is gone
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_other_errors_stay_what_they_are():
    @interrupts.step("dbt")
    def broken() -> None:
        raise ValueError("bad model")

    with pytest.raises(ValueError, match="bad model"):
        broken()


def test_a_plain_keyboard_interrupt_names_the_step():
    @interrupts.step("the CRM sync")
    def send() -> None:
        raise KeyboardInterrupt

    with pytest.raises(RunInterrupted, match=r"during the CRM sync"):
        send()


def test_sigterm_during_a_query_between_steps_is_a_termination_not_a_failed_run(tmp_path):
    """Taking the run lock or writing the run row is no step; a SIGTERM there still says terminated (exit 143)."""
    from leadgate.pipeline.interrupts import RunTerminated

    class Stop(BaseException):  # what Prefect's own handler raises (TerminationSignal)
        pass

    def prefects(signum, frame):
        raise Stop

    before = signal.signal(signal.SIGTERM, prefects)
    con = duckdb.connect(str(tmp_path / "x.duckdb"))
    try:
        with pytest.raises(RunTerminated) as err, interrupts.watching_termination():
            threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGTERM)).start()
            con.execute("select count(*) from range(100000000000) a")  # DuckDB ends it: RuntimeError
        assert str(err.value) == "leadgate: terminated (SIGTERM)"
        assert signal.getsignal(signal.SIGTERM) is prefects  # given back on the way out
    finally:
        con.close()
        signal.signal(signal.SIGTERM, before)


def test_an_error_between_steps_without_a_signal_stays_what_it_is():
    with pytest.raises(ValueError, match="bad lock file"), interrupts.watching_termination():
        raise ValueError("bad lock file")
