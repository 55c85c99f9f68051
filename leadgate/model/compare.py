"""`leadgate model compare V`: the shadow against the champion on the same runs, and on held-out outcomes."""

from __future__ import annotations

import duckdb
import numpy as np

from leadgate.model import metrics, registry
from leadgate.model.snapshots import features_frame, training_rows


def _heldout_metrics(y: np.ndarray, p: np.ndarray) -> dict:
    return {"leads": len(y), "roc_auc": metrics.auc(y, p), "brier": metrics.brier(y, p), "ece": metrics.ece(y, p)}


def compare(con: duckdb.DuckDBPyConnection, version: str, policy, limit: int = 20) -> dict:
    """Agreement and state changes from the shadow's latest scores; both models' metrics on leads neither trained on."""
    registry.get(con, version)
    champion = registry.alias(con, registry.CHAMPION)
    latest = con.execute(
        """
        select lead_id, qualified, state, champion_score, champion_state from scoring.shadow_scores
        where model_version = ?
        qualify row_number() over (partition by lead_id order by scored_at desc, run_id desc) = 1
        """,
        [version],
    ).df()
    t = policy.scoring.qualify_threshold
    out: dict = {"version": version, "champion": champion or "baseline", "shadow_leads": len(latest)}
    if len(latest):
        same_decision = latest["qualified"].to_numpy(bool) == (latest["champion_score"].to_numpy(float) >= t)
        changed = latest[latest["state"] != latest["champion_state"]]
        out |= {
            "decision_agreement": float(same_decision.mean()),
            "state_agreement": float(1 - len(changed) / len(latest)),
            "state_changes": len(changed),
            "changes": [
                {"lead_id": r.lead_id, "champion": r.champion_state, "shadow": r.state}
                for r in changed.head(limit).itertuples()
            ],
        }
    # held-out: leads with an outcome that neither version trained on
    rows = training_rows(con)
    trained = {
        lead
        for (lead,) in con.execute(
            "select lead_id from scoring.model_split where part = 'train' and version in (?, ?)",
            [version, champion or version],
        ).fetchall()
    }
    rows = rows[~rows["lead_id"].isin(trained)].reset_index(drop=True)
    out["heldout_leads"] = len(rows)
    if len(rows) and 0 < rows["converted"].sum() < len(rows):
        y = rows["converted"].astype(int).to_numpy()
        frame = features_frame(rows["features"])
        out["metrics"] = {version: _heldout_metrics(y, registry.load(con, version).predict(frame))}
        if champion:
            out["metrics"][champion] = _heldout_metrics(y, registry.load(con, champion).predict(frame))
        else:
            # the baseline's own scores at the decision (the snapshot's score row)
            base = dict(
                con.execute(
                    "select score_id, score from scoring.scores where score_id in (select unnest(?))",
                    [rows["score_id"].astype("int64").tolist()],
                ).fetchall()
            )
            p = rows["score_id"].map(base).astype(float).to_numpy()
            out["metrics"]["baseline"] = _heldout_metrics(y, np.nan_to_num(p, nan=0.0))
    return out
