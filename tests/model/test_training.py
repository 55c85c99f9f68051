"""Training on leads drawn from the documented propensity: discrimination, calibration, reasons (no database)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from leadgate.model import metrics
from leadgate.model.artifact import LeadModel
from leadgate.model.scorer import reasons
from leadgate.model.snapshots import snapshot_features
from leadgate.model.train import fit_model
from leadgate.sample.outcomes import draw_outcomes, propensity, synthetic_lead_features

NOW = datetime(2026, 11, 15, 12, tzinfo=UTC)
# what the propensity is made of (leadgate/sample/outcomes.py), as snapshot feature names
DRIVERS = {
    "seniority",
    "industry",
    "company_size",
    "company_size_min",
    "company_size_max",
    "pricing_views",
    "demo_requests",
    "meeting_requests",
    "email_replies",
    "last_touch_at_age_days",
}


@pytest.fixture(scope="module")
def fitted():
    leads = synthetic_lead_features(4000, seed=11, now=NOW)
    p = propensity(leads, NOW)
    y = draw_outcomes(p, 11).astype(int)
    frame = snapshot_features(leads, NOW)
    train, test = np.arange(len(y)) < 2800, np.arange(len(y)) >= 2800
    doc, booster, scores = fit_model(frame[train].reset_index(drop=True), y[train])
    return LeadModel(doc, booster), frame[test].reset_index(drop=True), y[test], p[test], scores


def test_training_recovers_close_to_the_propensitys_own_auc_on_held_out_leads(fitted):
    model, frame, y, p_true, scores = fitted
    p = model.predict(frame)
    oracle = metrics.auc(y, p_true)
    assert metrics.auc(y, p) >= oracle - 0.03, (metrics.auc(y, p), oracle)
    assert set(scores["cv_log_loss"]) == {"logistic", "lightgbm"}  # both families were compared


def test_probabilities_are_calibrated_on_held_out_leads(fitted):
    model, frame, y, _p_true, _ = fitted
    p = model.predict(frame)
    assert metrics.ece(y, p) < 0.04
    assert abs(p.mean() - y.mean()) < 0.03
    assert metrics.brier(y, p) < metrics.brier(y, np.full(len(y), y.mean()))  # better than the base rate


def test_reasons_name_the_features_that_drive_the_propensity(fitted):
    model, frame, _y, _, _ = fitted
    p, p0, points = model.probability_points(frame)
    # contributions add up to the lead's move away from the average lead
    assert np.allclose(points.sum(axis=1), p - p0, atol=1e-6)
    importance = dict(zip(model.names, np.abs(points).mean(axis=0)))
    top = sorted(importance, key=importance.get, reverse=True)[:4]
    assert len(set(top) & DRIVERS) >= 3, top
    listed = reasons(model, frame, points, top=5)
    demo_leads = np.flatnonzero(frame["demo_requests"].to_numpy() >= 2)
    assert any(
        r["feature"] == "demo_requests" and r["points"] > 0 and "demo requests: +" in r["detail"]
        for i in demo_leads
        for r in listed[i]
    )
    assert all(len(r) <= 5 for r in listed)


def test_the_linear_model_explains_exactly(fitted):
    _model, _frame, _y, _, _ = fitted
    leads = synthetic_lead_features(800, seed=12, now=NOW)
    yy = draw_outcomes(propensity(leads, NOW), 12).astype(int)
    X = snapshot_features(leads, NOW)
    from leadgate.model import encoding
    from leadgate.model.estimators import fit_logistic, logistic_logit

    spec = encoding.build_spec(X)
    linear = fit_logistic(encoding.linear_matrix(X, spec), yy)
    lin = LeadModel(
        {"family": "logistic", "spec": spec, "linear": linear, "calibration": {"kind": "sigmoid", "a": 1, "b": 0}}
    )
    contrib, base = lin.contributions(X)
    assert np.allclose(base + contrib.sum(axis=1), logistic_logit(linear, encoding.linear_matrix(X, spec)))


def test_drift_is_flagged_when_leads_stop_looking_like_the_training_data(fitted, settings):
    from leadgate.config import DEFAULT_POLICY
    from leadgate.model.run import record_drift
    from leadgate.model.scorer import ModelScorer
    from leadgate.model.train import drift_reference
    from leadgate.policy import load_policy
    from leadgate.store import db

    model, frame, _, _, _ = fitted
    _, _, points = model.probability_points(frame)
    model.doc["drift"] = drift_reference(
        model, frame, model.predict(frame), dict(zip(model.names, np.abs(points).mean(0)))
    )
    leads = synthetic_lead_features(800, seed=13, now=NOW)
    policy = load_policy(DEFAULT_POLICY)
    same, shifted = ModelScorer(model, "v1", policy), ModelScorer(model, "v1", policy)
    same.score(leads, NOW)
    moved = leads.assign(
        last_touch_at=leads["last_touch_at"] - np.timedelta64(120, "D"),
        pricing_views=leads["pricing_views"] * 0,
        demo_requests=0,
    )
    shifted.score(moved, NOW)
    with db.connect(settings) as con:
        calm, drifted = record_drift(con, same, "run-1", policy), record_drift(con, shifted, "run-2", policy)
        flagged = con.execute("select run_id, feature from scoring.drift where drifted order by 1, 2").fetchall()
    assert calm["drifted"] == [] and calm["warning"] is None
    assert "score" in drifted["drifted"] and "drift in" in drifted["warning"]
    assert {run for run, _ in flagged} == {"run-2"}
