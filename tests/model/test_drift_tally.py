"""A run's drift is measured on the leads it scored, whichever family scores them."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from leadgate.config import DEFAULT_POLICY
from leadgate.model.artifact import LeadModel
from leadgate.model.scorer import DriftTally, ModelScorer
from leadgate.model.snapshots import snapshot_features
from leadgate.model.train import drift_reference, fit_model
from leadgate.policy import load_policy
from leadgate.sample.outcomes import draw_outcomes, propensity, synthetic_lead_features

NOW = datetime(2026, 11, 15, 12, tzinfo=UTC)


@pytest.mark.parametrize("family", ["lightgbm", "logistic"])
def test_the_scorers_drift_is_the_psi_of_the_scored_leads_own_features(family):
    train = synthetic_lead_features(2500, seed=41, now=NOW)
    frame = snapshot_features(train, NOW)
    doc, booster, _ = fit_model(frame, draw_outcomes(propensity(train, NOW), 41).astype(int), family)
    model = LeadModel(doc, booster)
    _, _, points = model.probability_points(frame)
    importance = dict(zip(model.names, np.abs(points).mean(axis=0).tolist()))
    doc["drift"] = drift_reference(model, frame, model.predict(frame), importance)
    kinds = {ref.get("kind") for name, ref in doc["drift"].items() if name != "score"}
    assert kinds == {"numeric", "categorical"}, "the reference holds both kinds of feature"

    # a run of other leads, shifted: more pricing views, fewer known industries
    leads = synthetic_lead_features(1500, seed=42, now=NOW)
    leads["pricing_views"] = leads["pricing_views"] * 3 + 2
    leads.loc[leads.index % 2 == 0, "industry"] = None
    scorer = ModelScorer(model, "v1", load_policy(DEFAULT_POLICY))
    scored = scorer.score(leads, NOW)

    # what the scorer tallied is what the leads' own features and scores give, computed from scratch
    expected = DriftTally(model)
    expected.add(snapshot_features(leads, NOW), scored["score"].to_numpy(float))
    assert scorer.drift.leads == len(leads)
    assert scorer.drift.psi().keys() == expected.psi().keys()
    for name, psi in expected.psi().items():
        assert scorer.drift.psi()[name] == pytest.approx(psi, abs=1e-12), name
    assert max(expected.psi().values()) > 0.1, "the shift shows as drift"
