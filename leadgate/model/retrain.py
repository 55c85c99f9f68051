"""When a version is due for retraining: drift on its last run, new outcomes since it was trained, or its age."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb


def retrain_due(con: duckdb.DuckDBPyConnection, record: dict, policy, now: datetime | None = None) -> list[str]:
    """The reasons a retrain is due for this registry record (empty: not due)."""
    mp = policy.model
    now = now or datetime.now(UTC)
    version, created = record["version"], record["created_at"]
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    reasons = []
    drifted = con.execute(
        "select feature, psi from scoring.drift where model_version = ? and run_id = (select run_id from scoring.drift"
        " where model_version = ? order by measured_at desc limit 1) and drifted order by psi desc",
        [version, version],
    ).fetchall()
    if drifted:
        reasons.append(
            "drift on the last run: " + ", ".join(f"{f} PSI {p:.2f}" for f, p in drifted) + f" (above {mp.drift_psi})"
        )
    new = con.execute("select count(*) from scoring.outcomes where recorded_at > ?", [created]).fetchone()[0]
    if mp.retrain_after_outcomes is not None and new >= mp.retrain_after_outcomes:
        reasons.append(f"{new} new outcomes since training (policy: {mp.retrain_after_outcomes})")
    age = (now - created).total_seconds() / 86400
    if mp.max_age_days is not None and age > mp.max_age_days:
        reasons.append(f"trained {age:.0f} days ago (policy: at most {mp.max_age_days})")
    return reasons
