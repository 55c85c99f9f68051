"""Each model version's health for `leadgate metrics` and the metrics page: overrides, latest drift, retrain due."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb

from leadgate.model import registry
from leadgate.model.retrain import retrain_due


def latest_drift(con: duckdb.DuckDBPyConnection, version: str) -> dict[str, Any] | None:
    """The last run's drift of a version: run, when, leads, the largest PSI and what drifted (worst first)."""
    rows = con.execute(
        "select run_id, measured_at, feature, psi, drifted, leads from scoring.drift where model_version = ?"
        " and run_id = (select run_id from scoring.drift where model_version = ? order by measured_at desc limit 1)"
        " order by psi desc, feature",
        [version, version],
    ).fetchall()
    if not rows:
        return None
    run_id, measured_at, worst, worst_psi, _, leads = rows[0]
    return {
        "run_id": run_id,
        "measured_at": measured_at.isoformat(),
        "leads": int(leads),
        "max_feature": worst,
        "max_psi": float(worst_psi),
        "drifted": {feature: float(psi) for _, _, feature, psi, drifted, _ in rows if drifted},
    }


def model_health(
    con: duckdb.DuckDBPyConnection, policy: Any, overrides_by_model: list[dict[str, Any]], now: datetime | None = None
) -> list[dict[str, Any]]:
    """One row per registered version (and per other scorer reviewers overrode): alias, overrides, drift, retrain due.

    `overrides_by_model` is the metrics window's {model_version, decisions, overrides, override_rate}; the
    drift is the version's last measured run and the retrain reasons those of leadgate/model/retrain.py.
    """
    overrides = {r["model_version"]: r for r in overrides_by_model}
    aliases = {registry.alias(con, name): name for name in (registry.CHAMPION, registry.SHADOW)}
    rows = []
    records = registry.versions(con)
    for rec in reversed(records):  # newest first
        version = rec["version"]
        seen = overrides.pop(version, {})
        rows.append(
            {
                "model_version": version,
                "alias": aliases.get(version),
                "trained_at": rec["created_at"].isoformat(),
                "decisions": seen.get("decisions", 0),
                "overrides": seen.get("overrides", 0),
                "override_rate": seen.get("override_rate"),
                "drift": latest_drift(con, version),
                "retrain_due": retrain_due(con, rec, policy, now) if getattr(policy, "model", None) else None,
            }
        )
    for name, seen in sorted(overrides.items()):  # the baseline or the LLM decided: no drift, no retraining
        rows.append(
            {
                "model_version": name,
                "alias": None,
                "trained_at": None,
                "decisions": seen["decisions"],
                "overrides": seen["overrides"],
                "override_rate": seen["override_rate"],
                "drift": None,
                "retrain_due": None,
            }
        )
    return rows
