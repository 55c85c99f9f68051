"""A model's confidence from the range rule: its own probability over the values an unknown field could take."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from leadgate.config import DEFAULT_POLICY
from leadgate.model import encoding
from leadgate.model.artifact import LeadModel
from leadgate.model.estimators import fit_logistic
from leadgate.model.scorer import ModelScorer
from leadgate.model.snapshots import snapshot_features
from leadgate.model.unknowns import field_values
from leadgate.policy import load_policy
from leadgate.routing.rules import route_leads
from leadgate.sample.outcomes import draw_outcomes, propensity, synthetic_lead_features

NOW = datetime(2026, 11, 15, 12, tzinfo=UTC)
SIZE = ["company_size", "company_size_min", "company_size_max"]


@pytest.fixture(scope="module")
def model():
    leads = synthetic_lead_features(3000, seed=31, now=NOW)
    y = draw_outcomes(propensity(leads, NOW), 31).astype(int)
    frame = snapshot_features(leads, NOW)
    spec = encoding.build_spec(frame)
    doc = {
        "family": "logistic",
        "spec": spec,
        "linear": fit_logistic(encoding.linear_matrix(frame, spec), y),
        "calibration": {"kind": "sigmoid", "a": 1.0, "b": 0.0},
        "field_values": field_values(frame),
    }
    return LeadModel(doc)


def _policy(threshold: float):
    policy = load_policy(DEFAULT_POLICY)
    return policy.model_copy(update={"model": policy.model.model_copy(update={"qualify_threshold": threshold})})


def _size_unknown_leads() -> pd.DataFrame:
    """Leads whose only unknown fit field is the company size."""
    leads = synthetic_lead_features(400, seed=32, now=NOW)
    known = leads[leads["industry"].notna() & (leads["seniority"] != "unknown")].reset_index(drop=True)
    return known.assign(company_size=None, company_size_min=np.nan, company_size_max=np.nan)


def _with_size(model: LeadModel, lead: pd.Series, value: dict) -> float:
    """The model's probability for the lead had its size been `value` (an independent re-prediction)."""
    row = lead.to_frame().T.assign(**value).infer_objects()
    return float(model.predict(snapshot_features(row, NOW))[0])


def test_an_unknown_size_that_would_change_the_models_verdict_straddles_and_one_that_cannot_keeps_confidence(model):
    leads = _size_unknown_leads()
    first = ModelScorer(model, "v1", _policy(0.5)).score(leads, NOW)
    spans = np.array(
        [next(u["high"] - u["low"] for u in us if u["field"] == "company_size") for us in first["unknowns"]]
    )
    a = int(spans.argmax())  # the lead the size moves most
    size = next(u for u in first["unknowns"][a] if u["field"] == "company_size")
    threshold = round((size["low"] + size["high"]) / 2, 3)
    sizes = [_with_size(model, leads.iloc[a], v) for v in model.doc["field_values"]["company_size"]]
    assert min(sizes) < threshold <= max(sizes)  # some true size would qualify the lead, another would not

    policy = _policy(threshold)
    scored = ModelScorer(model, "v1", policy).score(leads, NOW)
    highs = np.array([u[0]["high"] for u in scored["unknowns"]])
    far = np.flatnonzero(highs < threshold - 0.15)
    assert len(far), "some lead stays below the threshold whatever its size"
    b = int(far[0])

    assert scored.loc[a, "range_verdict"] == "straddle"
    assert scored.loc[a, "confidence"] == 0.0
    assert scored.loc[a, "material_unknowns"] == ("company_size",)
    moved = scored.loc[a, "unknowns"][0]
    assert moved["decides"] == "qualified vs nurture" and moved["low_with"].endswith("employees")

    assert scored.loc[b, "range_verdict"] == "nurture"
    assert scored.loc[b, "confidence"] == 1.0
    assert scored.loc[b, "material_unknowns"] == ()
    assert scored.loc[b, "unknowns"][0]["decides"] == "nothing"

    # routing reads the model's own ranges: the straddling lead goes to a person, the other is decided
    merged = leads.drop(columns=[c for c in scored.columns if c in leads.columns and c != "lead_id"]).merge(
        scored, on="lead_id"
    )
    decisions = {d.lead_id: d for d in route_leads(merged, None, policy)}
    straddling, decided = decisions[leads.loc[a, "lead_id"]], decisions[leads.loc[b, "lead_id"]]
    assert straddling.state == "needs_review" and "missing_company_size" in straddling.reason_codes
    assert decided.state == "nurture" and "missing_company_size_immaterial" in decided.reason_codes


def test_leads_with_nothing_unknown_keep_the_distance_to_the_threshold_as_confidence(model):
    leads = synthetic_lead_features(300, seed=33, now=NOW)
    known = leads[leads["industry"].notna() & (leads["seniority"] != "unknown") & leads["company_size"].notna()]
    policy = _policy(0.3)
    scored = ModelScorer(model, "v1", policy).score(known.reset_index(drop=True), NOW)
    expected = np.clip(np.abs(scored["score"] - 0.3) / policy.scoring.confidence.margin_scale, 0, 1)
    assert np.allclose(scored["confidence"], expected)
    assert (scored["range_verdict"] == "").all() and all(u == () for u in scored["unknowns"])
