"""Closing dbt-duckdb's connection while a node still runs on it (an interrupted build) frees the file."""

from __future__ import annotations

import threading
import time

import duckdb

from leadgate.transform import close_dbt_environment


class _Environment:
    """dbt-duckdb's LocalEnvironment as far as closing goes: `conn`, and close() that closes it."""

    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self.conn = conn

    def close(self) -> None:
        if self.conn:
            self.conn.close()
            self.conn = None


def test_a_busy_connection_is_interrupted_then_closed_and_the_file_reopens(tmp_path):
    path = str(tmp_path / "busy.duckdb")
    env = _Environment(duckdb.connect(path))
    errors: list[str] = []

    def node() -> None:  # a long model build in dbt's worker thread
        try:
            env.conn.execute("select count(*) from range(10000000000) a, range(10) b").fetchall()
        except duckdb.Error as exc:
            errors.append(type(exc).__name__)

    worker = threading.Thread(target=node)
    worker.start()
    time.sleep(0.5)
    close_dbt_environment(env)
    worker.join(10)

    assert not worker.is_alive() and errors == ["InterruptException"]
    assert env.conn is None
    with duckdb.connect(path, config={"autoinstall_known_extensions": "false"}) as again:  # another configuration
        assert again.execute("select 1").fetchone() == (1,)
