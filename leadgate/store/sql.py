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
