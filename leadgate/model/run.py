"""What a pipeline run does with models: the champion scores, a shadow scores beside it, drift is measured."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pandas as pd

from leadgate.model import registry
from leadgate.policy import Policy

# lightgbm and scikit-learn load only when a model is promoted or shadowing (the baseline run stays as light as before)


def promoted_scorer(con: duckdb.DuckDBPyConnection, policy: Policy):
    """The champion as a ModelScorer, or None (the baseline decides). An altered model file stops the run."""
    version = registry.alias(con, registry.CHAMPION)
    if version is None:
        return None
    from leadgate.model.artifact import ModelFileError
    from leadgate.model.scorer import ModelScorer

    try:
        return ModelScorer(registry.load(con, version), version, policy)
    except ModelFileError as exc:
        raise ModelFileError(
            f"{exc}; `leadgate model rollback` makes the previous version (or the baseline) decide"
        ) from None


def shadow_scorer(con: duckdb.DuckDBPyConnection, policy: Policy):
    """The shadow version as a ModelScorer (records only), or None."""
    version = registry.alias(con, registry.SHADOW)
    if version is None:
        return None
    from leadgate.model.scorer import ModelScorer

    return ModelScorer(registry.load(con, version), version, policy)


def record_shadow(
    con: duckdb.DuckDBPyConnection,
    shadow,
    features: pd.DataFrame,
    merged: pd.DataFrame,
    decisions: list,
    gate,
    policy: Policy,
    run_id: str,
    now: datetime,
) -> int:
    """Score the batch with the shadow, route its scores on paper (nothing applied) and record both states."""
    from leadgate.routing.ranges import RANGE_COLUMNS
    from leadgate.routing.rules import route_leads

    scored = shadow.score(features, now)
    if scored.empty:
        return 0
    own = ["score", "confidence", "qualified", "reasons", "scorer", *RANGE_COLUMNS]  # the shadow's, not the champion's
    mine = merged.drop(columns=[c for c in own if c in merged]).merge(
        scored[["lead_id", *(c for c in own if c in scored and c != "reasons")]], on="lead_id", how="inner"
    )  # routed as a model, on its own ranges
    paper = {d.lead_id: d.state for d in route_leads(mine, gate, policy)}
    champion = {d.lead_id: d.state for d in decisions}
    champion_score = dict(zip(merged["lead_id"], merged["score"]))
    rows = pd.DataFrame(
        {
            "run_id": run_id,
            "lead_id": scored["lead_id"],
            "model_version": shadow.version,
            "scored_at": pd.Timestamp(now).tz_convert("UTC"),
            "feature_hash": scored["feature_hash"],
            "score": scored["score"].astype(float),
            "confidence": scored["confidence"].astype(float),
            "qualified": scored["qualified"].astype(bool),
            "state": scored["lead_id"].map(paper),
            "champion_score": scored["lead_id"].map(champion_score).astype(float),
            "champion_state": scored["lead_id"].map(champion),
        }
    ).dropna(subset=["state"])
    from leadgate.store.erasure_list import drop_erased

    rows = drop_erased(con, rows)
    con.register("_shadow_batch", rows)
    try:
        con.execute("insert into scoring.shadow_scores select * from _shadow_batch")
    finally:
        con.unregister("_shadow_batch")
    return len(rows)


def record_drift(con: duckdb.DuckDBPyConnection, scorer, run_id: str, policy: Policy) -> dict | None:
    """PSI of this run's scores and top features against the training data; drift above the policy is flagged."""
    if scorer.drift.leads == 0:
        return None
    values = scorer.drift.psi()
    limit = policy.model.drift_psi
    now = datetime.now(UTC)
    con.executemany(
        "insert into scoring.drift values (?, ?, ?, ?, ?, ?, ?)",
        [
            [run_id, scorer.version, now, name, round(v, 5), bool(v > limit), scorer.drift.leads]
            for name, v in values.items()
        ],
    )
    drifted = sorted((name for name, v in values.items() if v > limit), key=lambda n: -values[n])
    return {
        "model_version": scorer.version,
        "leads": scorer.drift.leads,
        "psi_threshold": limit,
        "psi": {k: round(v, 4) for k, v in values.items()},
        "drifted": drifted,
        "warning": (
            f"model {scorer.version}: drift in {', '.join(drifted)} (PSI > {limit}): "
            "the leads no longer look like the training data; consider retraining"
        )
        if drifted
        else None,
    }


def shadow_for(settings, policy: Policy):
    from leadgate.store import db

    with db.connect(settings) as con:
        return shadow_scorer(con, policy)


def finish_models(settings, scorer, shadow, shadow_rows: int, run_id: str, policy: Policy) -> dict | None:
    """Drift of the champion, and what the run summary gets about models (rendering is the summary's business)."""
    if not _is_model(scorer) and shadow is None:
        return None
    drift = None
    if _is_model(scorer):
        from leadgate.store import db

        with db.connect(settings) as con:
            drift = record_drift(con, scorer, run_id, policy)
    return {
        "champion": scorer.version if _is_model(scorer) else None,
        "shadow": shadow.version if shadow else None,
        "shadow_scored": shadow_rows,
        "drift": drift,
    }


def _is_model(scorer) -> bool:
    return getattr(scorer, "name", None) == "model"
