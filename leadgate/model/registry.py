"""Model versions with their metrics and files, and the aliases that say which one decides (champion) or shadows."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from leadgate.store.sql import json_value

CHAMPION, SHADOW = "champion", "shadow"


class RegistryError(ValueError):
    """An unknown version, or a registry action that cannot apply (nothing to roll back)."""


def models_root(db_path: Path) -> Path:
    """Model files live beside the database: <db>.models/<version>/."""
    return db_path.with_name(db_path.stem + ".models")


def register(con: duckdb.DuckDBPyConnection, record: dict) -> None:
    con.execute(
        "insert into scoring.model_versions (version, created_at, family, calibration, fingerprint, model_dir, files,"
        " metrics, training) values (?, ?, ?, ?, ?, ?, ?::json, ?::json, ?::json)",
        [
            record["version"],
            record["created_at"],
            record["family"],
            record["calibration"],
            record["fingerprint"],
            record["model_dir"],
            json.dumps(record["files"]),
            json.dumps(record["metrics"]),
            json.dumps(record["training"]),
        ],
    )


def _row(con: duckdb.DuckDBPyConnection, where: str, params: list) -> list[dict]:
    cur = con.execute(
        "select version, created_at, family, calibration, fingerprint, model_dir, files, metrics, training"
        f" from scoring.model_versions {where} order by created_at, version",
        params,
    )  # `where` is ours
    cols = [d[0] for d in cur.description]
    out = []
    for values in cur.fetchall():
        rec = dict(zip(cols, values))
        for key in ("files", "metrics", "training"):
            rec[key] = json_value(rec[key])
        out.append(rec)
    return out


def versions(con: duckdb.DuckDBPyConnection) -> list[dict]:
    return _row(con, "", [])


def get(con: duckdb.DuckDBPyConnection, version: str) -> dict:
    rows = _row(con, "where version = ?", [version])
    if not rows:
        known = [r["version"] for r in versions(con)]
        raise RegistryError(
            f"no model version {version!r}; known: {', '.join(known) or 'none (run leadgate model train)'}"
        )
    return rows[0]


def alias(con: duckdb.DuckDBPyConnection, name: str) -> str | None:
    row = con.execute("select version from scoring.model_aliases where alias = ?", [name]).fetchall()
    return row[0][0] if row else None


def _set_alias(con: duckdb.DuckDBPyConnection, name: str, version: str | None, actor: str, action: str) -> str | None:
    previous = alias(con, name)
    now = datetime.now(UTC)
    con.execute("delete from scoring.model_aliases where alias = ?", [name])
    if version is not None:
        con.execute("insert into scoring.model_aliases values (?, ?, ?, ?)", [name, version, now, actor])
    con.execute("insert into scoring.model_history values (?, ?, ?, ?, ?)", [now, action, version, previous, actor])
    return previous


def promote(con: duckdb.DuckDBPyConnection, version: str, actor: str) -> str | None:
    """Make `version` the champion (it decides from the next run); returns the previous champion."""
    get(con, version)
    if alias(con, SHADOW) == version:  # a shadow that now decides no longer shadows itself
        _set_alias(con, SHADOW, None, actor, "unshadow")
    return _set_alias(con, CHAMPION, version, actor, "promote")


def rollback(con: duckdb.DuckDBPyConnection, actor: str) -> tuple[str, str | None]:
    """The champion before the current one decides again (None: the baseline scorer); returns (old, new)."""
    current = alias(con, CHAMPION)
    if current is None:
        raise RegistryError("no promoted model to roll back: the baseline scorer already decides")
    row = con.execute(
        "select previous from scoring.model_history where action = 'promote' and version = ? order by changed_at desc limit 1",
        [current],
    ).fetchall()
    previous = row[0][0] if row else None
    _set_alias(con, CHAMPION, previous, actor, "rollback")
    return current, previous


def set_shadow(con: duckdb.DuckDBPyConnection, version: str | None, actor: str) -> str | None:
    """Score every lead with `version` beside the champion on each run, recording without routing (None: stop)."""
    if version is not None:
        get(con, version)
        if alias(con, CHAMPION) == version:
            raise RegistryError(f"{version} is the champion: it already decides; shadow another version")
    return _set_alias(con, SHADOW, version, actor, "shadow" if version else "unshadow")


def history(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute(
        "select changed_at, action, version, previous, actor from scoring.model_history order by changed_at"
    ).fetchall()


def load(con: duckdb.DuckDBPyConnection, version: str):
    """The version's LeadModel, its files checked against the registry's checksums."""
    from leadgate.model.artifact import load_model

    rec = get(con, version)
    return load_model(Path(rec["model_dir"]), rec["files"], version)


def heldout(con: duckdb.DuckDBPyConnection, version: str) -> dict:
    from leadgate.model.artifact import load_heldout

    rec = get(con, version)
    return load_heldout(Path(rec["model_dir"]), rec["files"], version)
