"""The baseline scorer on the fixture leads: formula, decay, confidence and readable reasons."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from leadgate.config import DEFAULT_POLICY
from leadgate.policy import PolicyError, load_policy
from leadgate.scoring.baseline import SCORE_COLUMNS, BaselineScorer, Scorer
from tests.fixtures.scoring.frames import MART_COLUMNS, NOW, lead_features, test_policy


@pytest.fixture(scope="module")
def features() -> pd.DataFrame:
    return lead_features()


@pytest.fixture(scope="module")
def policy():
    return test_policy()


@pytest.fixture(scope="module")
def scored(features, policy) -> pd.DataFrame:
    return BaselineScorer(policy).score(features, NOW).set_index("lead_id")


def _with_policy(policy, **changes):
    """A copy of the policy with nested fields replaced, e.g. routing={'top_reasons': 30}."""
    data = policy.model_dump()
    for section, values in changes.items():
        data[section].update(values)
    return type(policy).model_validate(data)


def test_fixture_has_exactly_the_mart_columns(features):
    assert list(features.columns) == MART_COLUMNS


def test_output_has_the_contract_columns_one_row_per_lead(features, policy):
    out = BaselineScorer(policy).score(features, NOW)
    assert set(SCORE_COLUMNS) <= set(out.columns)
    assert list(out["lead_id"]) == list(features["lead_id"])
    assert list(out["feature_hash"]) == list(features["feature_hash"])
    assert set(out["scorer"]) == {"baseline"} and set(out["scorer_version"]) == {BaselineScorer.version}
    assert isinstance(BaselineScorer(policy), Scorer)


def test_score_and_confidence_stay_in_unit_range(scored):
    for column in ("score", "confidence", "fit", "engagement", "completeness", "decay_factor"):
        assert scored[column].between(0, 1).all(), column


def test_qualified_means_score_at_or_above_threshold(scored, policy):
    threshold = policy.scoring.qualify_threshold
    assert (scored["qualified"] == (scored["score"] >= threshold)).all()
    assert scored.loc["ld_hot_vp", "qualified"] and not scored.loc["ld_cold_ic", "qualified"]


def test_fit_points_follow_the_policy_weights(scored):
    # VP 25 + 1000+ employees 25 + software 15 + US 10
    assert scored.loc["ld_hot_vp", "fit_points"] == pytest.approx(75)
    # director 20 + size unknown 0 + logistics 15 + DE 10 + named target account 20
    assert scored.loc["ld_globex", "fit_points"] == pytest.approx(65)
    assert scored.loc["ld_globex", "fit"] == pytest.approx(0.65)


def test_engagement_points_are_decayed_by_age_of_last_touch(scored):
    # 2 page views (1 point each), last touch 60 days before NOW, half-life 30 days: 2 * 0.25
    assert scored.loc["ld_cold_ic", "last_touch_age_days"] == pytest.approx(60)
    assert scored.loc["ld_cold_ic", "decay_factor"] == pytest.approx(0.25)
    assert scored.loc["ld_cold_ic", "engagement_points"] == pytest.approx(0.5)


def test_decay_halves_engagement_after_one_half_life(features, policy):
    scorer = BaselineScorer(policy)
    half_life = timedelta(days=policy.scoring.engagement.half_life_days)
    today = scorer.score(features, NOW).set_index("lead_id")
    later = scorer.score(features, NOW + half_life).set_index("lead_id")
    assert np.allclose(later["engagement_points"], today["engagement_points"] / 2)
    assert (later["fit_points"] == today["fit_points"]).all()
    assert later.loc["ld_hot_vp", "score"] < today.loc["ld_hot_vp", "score"]


def test_a_touch_in_the_future_is_not_boosted(features, policy):
    out = BaselineScorer(policy).score(features, NOW - timedelta(days=400)).set_index("lead_id")
    assert (out["decay_factor"] == 1.0).all()
    assert (out["last_touch_age_days"] == 0).all()


def test_confidence_formula(scored, features, policy):
    cp, threshold = policy.scoring.confidence, policy.scoring.qualify_threshold
    margin = np.minimum(1, (scored["score"] - threshold).abs() / cp.margin_scale)
    rows = features.set_index("lead_id").loc[scored.index]
    fit_known = rows[["company_size_min", "industry", "country", "company"]].notna().all(axis=1) & rows["seniority"].ne(
        "unknown"
    )
    # nothing unknown that moves the score: confidence is the margin alone
    assert fit_known.sum() >= 5
    assert np.allclose(scored["confidence"][fit_known], margin[fit_known])
    # an unknown fit field widens the range, so it can only lower the confidence
    assert (scored["confidence"] <= margin + 1e-9).all()


def test_confidence_edges(features, policy):
    scorer = BaselineScorer(policy)
    hot = features[features["lead_id"] == "ld_hot_vp"].copy()
    # complete profile, score far above the threshold: fully confident
    assert scorer.score(hot, NOW)["confidence"].iloc[0] == pytest.approx(1.0)
    # half the profile unknown, but fields that do not move the score: no confidence lost
    sparse = hot.assign(email=None, first_name="  ", last_name=None, job_title=None)
    out = scorer.score(sparse, NOW).iloc[0]
    assert out["completeness"] == pytest.approx(0.5)
    assert out["confidence"] == pytest.approx(1.0)
    # the company size unknown on a lead it could push over the threshold: the range straddles, no confidence
    # (0.52 with 51-200 employees; without a size 0.47, and 0.58 with 1,000+)
    cold = features[features["lead_id"] == "ld_low_conf"].assign(company_size=None, company_size_min=None)
    assert scorer.score(cold, NOW)["confidence"].iloc[0] == pytest.approx(0.0)
    # nothing known and the score exactly at the threshold: no confidence at all
    blank = sparse.assign(company=None, company_size=None, company_size_min=None, industry=None, country=None)
    nothing = scorer.score(blank, NOW).iloc[0]
    assert nothing["completeness"] == 0
    at_its_own_threshold = _with_policy(policy, scoring={"qualify_threshold": float(nothing["score"])})
    assert BaselineScorer(at_its_own_threshold).score(blank, NOW)["confidence"].iloc[0] == pytest.approx(0.0)


def test_reasons_are_ordered_by_impact_and_explain_the_score(features, policy):
    many = _with_policy(policy, routing={"top_reasons": 30})
    out = BaselineScorer(many).score(features, NOW)
    for reasons, score in zip(out["reasons"], out["score"]):
        points = [r["points"] for r in reasons]
        assert [abs(p) for p in points] == sorted((abs(p) for p in points), reverse=True)
        # reasons are score points (score * 100): all of them add up to the score
        assert sum(points) == pytest.approx(100 * score, abs=0.05 * len(points) + 1e-9)


def test_reasons_are_capped_and_readable(scored, policy):
    assert all(len(r) <= policy.routing.top_reasons for r in scored["reasons"])
    hot = scored.loc["ld_hot_vp", "reasons"]
    assert hot[0]["feature"] == "demo_requests"
    assert re.fullmatch(r"2 demo requests \(\+\d+\.\d\)", hot[0]["detail"])
    details = [r["detail"] for r in scored.loc["ld_globex", "reasons"]]
    assert any(re.fullmatch(r"2 pricing views \(\+\d+\.\d\)", d) for d in details)
    assert any(d.startswith("named target account (+") for d in details)
    cold = {r["feature"]: r for r in scored.loc["ld_cold_ic", "reasons"]}
    assert cold["recency"]["points"] < 0
    assert cold["recency"]["detail"].startswith("last touch 60 days ago: engagement x0.25 (-")


def test_reasons_carry_no_personal_data(features, scored):
    text = json.dumps(list(scored["reasons"]))
    for column in ("email", "first_name", "last_name", "company", "job_title", "latest_message"):
        for value in features[column].dropna():
            assert str(value) not in text, (column, value)


def test_missing_columns_are_named(features, policy):
    with pytest.raises(ValueError, match="pricing_views"):
        BaselineScorer(policy).score(features.drop(columns=["pricing_views"]), NOW)


def test_scoring_time_must_be_timezone_aware(features, policy):
    with pytest.raises(ValueError, match="timezone"):
        BaselineScorer(policy).score(features, datetime(2026, 11, 20))


def test_empty_batch_gives_empty_scores(features, policy):
    out = BaselineScorer(policy).score(features.iloc[:0], NOW)
    assert out.empty and set(SCORE_COLUMNS) <= set(out.columns)


def test_unknown_event_type_in_policy_is_a_clear_error(policy):
    data = policy.model_dump()
    data["scoring"]["engagement"]["weights"]["webinar_attended"] = 5
    with pytest.raises(PolicyError, match="webinar_attended"):
        BaselineScorer(type(policy).model_validate(data))


def test_default_policy_scores_the_fixture_sensibly(features):
    out = BaselineScorer(load_policy(DEFAULT_POLICY)).score(features, NOW).set_index("lead_id")
    assert out.loc["ld_hot_vp", "score"] > out.loc["ld_check_q", "score"] > out.loc["ld_cold_ic", "score"]
    assert out["score"].between(0, 1).all() and out["confidence"].between(0, 1).all()
