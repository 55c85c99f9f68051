"""The store's three helpers: a failed write leaves nothing behind, a frame is gone after its block, tables are found."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from leadgate.store.sql import registered, relation_exists, transaction


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("create schema lifecycle")
    con.execute("create table lifecycle.lead_states (lead_id varchar primary key, state varchar not null)")
    yield con
    con.close()


def _states(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute("select lead_id, state from lifecycle.lead_states order by lead_id").fetchall()


def test_a_write_that_fails_halfway_leaves_no_row(con) -> None:
    with pytest.raises(duckdb.ConstraintException), transaction(con):
        con.execute("insert into lifecycle.lead_states values ('ld_a', 'pending')")
        con.execute("insert into lifecycle.lead_states values ('ld_a', 'qualified')")  # the same key again
    assert _states(con) == []
    with transaction(con):
        con.execute("insert into lifecycle.lead_states values ('ld_b', 'pending')")
    assert _states(con) == [("ld_b", "pending")]


def test_ctrl_c_inside_a_write_rolls_it_back(con) -> None:
    with pytest.raises(KeyboardInterrupt), transaction(con):
        con.execute("insert into lifecycle.lead_states values ('ld_a', 'pending')")
        raise KeyboardInterrupt
    assert _states(con) == []


def test_registered_frames_are_readable_inside_and_gone_after_even_on_error(con) -> None:
    frame = pd.DataFrame({"lead_id": ["ld_a", "ld_b"], "state": ["pending", "nurture"]})
    with pytest.raises(RuntimeError), registered(con, _changes=frame, _more=frame.head(1)):
        con.execute("insert into lifecycle.lead_states select * from _changes")
        assert con.execute("select count(*) from _more").fetchall() == [(1,)]
        raise RuntimeError("stop")
    assert _states(con) == [("ld_a", "pending"), ("ld_b", "nurture")]
    for name in ("_changes", "_more"):
        with pytest.raises(duckdb.CatalogException):
            con.execute(f"select * from {name}")


def test_relation_exists_sees_tables_and_views_by_schema(con) -> None:
    con.execute("create schema marts")
    con.execute("create view marts.lead_features as select 1 as x")
    assert relation_exists(con, "lifecycle", "lead_states")
    assert relation_exists(con, "marts", "lead_features")
    assert not relation_exists(con, "marts", "lead_events")
    assert not relation_exists(con, "lifecycle", "lead_features")
