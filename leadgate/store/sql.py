"""The shapes every store access repeats: a transaction, DataFrames registered for one statement, a table check, rows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import duckdb
import pandas as pd


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Begin; commit when the block ends, roll back (and re-raise) when it raises anything, Ctrl-C too."""
    con.execute("begin transaction")
    try:
        yield con
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, **frames: pd.DataFrame) -> Iterator[None]:
    """Each frame visible to SQL under its keyword's name for the block, unregistered afterwards whatever happens."""
    done: list[str] = []
    try:
        for name, frame in frames.items():
            con.register(name, frame)
            done.append(name)
        yield
    finally:
        for name in reversed(done):
            con.unregister(name)


def utcnow() -> datetime:
    """The time a store write records: timezone-aware UTC."""
    return datetime.now(UTC)


def relation_exists(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    """Whether a table or view exists (marts before dbt's first build, tables of a later migration)."""
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, name]
        ).fetchall()[0][0]
    )


def dict_rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    """The rows of one query as dicts keyed by column name."""
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def json_value(value: Any) -> Any:
    """A JSON column's value as Python (DuckDB hands JSON to Python as text)."""
    return json.loads(value) if isinstance(value, str) else value


# pandas dtypes that keep NULL as NULL for each DuckDB column type a bulk insert fills
_NULLABLE = {"VARCHAR": "string", "BIGINT": "Int64", "INTEGER": "Int64", "DOUBLE": "Float64", "BOOLEAN": "boolean"}


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: list, *, replace: bool = False) -> None:
    """Insert positional rows (every column of `table`, in order) in one statement, typed by the table's columns.

    executemany prepares and runs one insert per row: minutes for a 10,000-row lead list on a busy machine.
    """
    if not rows:
        return
    schema, name = table.split(".")
    columns = con.execute(
        "select column_name, data_type from information_schema.columns"
        " where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, name],
    ).fetchall()
    data = {}
    for j, (column, dtype) in enumerate(columns):
        values = [row[j] for row in rows]
        if dtype.startswith("TIMESTAMP"):
            data[column] = pd.to_datetime(pd.Series(values, dtype=object), utc=True)
        else:
            data[column] = pd.Series(values, dtype=_NULLABLE.get(dtype, object))
    quoted = ", ".join('"' + c.replace('"', '""') + '"' for c, _ in columns)
    with registered(con, _bulk_rows=pd.DataFrame(data)):
        # table and column names come from the caller's constant and information_schema, never from values
        con.execute(f"insert {'or replace ' if replace else ''}into {table} ({quoted}) select {quoted} from _bulk_rows")
