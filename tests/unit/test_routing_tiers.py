"""The range rule, tiers, behaviour triggers in routing, next actions and review priority (issue 11)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from leadgate.routing.ranges import score_ranges
from leadgate.routing.rules import route_leads
from leadgate.scoring.baseline import BaselineScorer
from tests.fixtures.routing.policies import tiered_policy
from tests.fixtures.scoring.frames import NOW, lead_features


@pytest.fixture(scope="module")
def policy():
    return tiered_policy()


@pytest.fixture(scope="module")
def features():
    return lead_features()


def _routed(features: pd.DataFrame, policy, **columns):
    """Score `features` with the policy, add columns (e.g. trigger counts), route; decisions by lead id."""
    scored = BaselineScorer(policy).score(features, NOW)
    frame = features.drop(columns=["feature_hash"]).merge(scored, on="lead_id").assign(**columns)
    return {d.lead_id: d for d in route_leads(frame, None, policy)}


def _lead(features, lead_id, **values):
    return features[features["lead_id"] == lead_id].assign(**values)


def test_an_unknown_that_cannot_change_the_decision_is_decided(features, policy):
    # scores 0.05: no size, industry or title could lift it to 0.55
    cold = _lead(features, "ld_cold_ic", company_size=None, company_size_min=None, industry=None, seniority="unknown")
    d = _routed(cold, policy)["ld_cold_ic"]
    assert d.state == "nurture"
    assert d.reason_codes == (
        "auto_nurture",
        "missing_company_size_immaterial",
        "missing_industry_immaterial",
        "missing_job_title_immaterial",
    )
    assert {u["field"]: u["decides"] for u in d.unknowns} == {
        "company_size": "nothing",
        "industry": "nothing",
        "job_title": "nothing",
    }
    assert all(u["high"] < 0.55 for u in d.unknowns)
    assert d.tier == "smb" and d.next_action == "nurture_sequence"


def test_an_unknown_that_straddles_the_threshold_goes_to_review(features, policy):
    # 0.52 with 51-200 employees; without a size it could be anything from 1-10 to 1,000+ employees
    lead = _lead(features, "ld_low_conf", company_size=None, company_size_min=None)
    d = _routed(lead, policy)["ld_low_conf"]
    assert d.state == "needs_review" and d.reason_codes[0] == "missing_company_size"
    [size] = d.unknowns
    assert size["field"] == "company_size" and size["decides"] == "qualified vs nurture"
    assert size["low"] < 0.55 <= size["high"]
    assert (size["low_with"], size["high_with"]) == ("1–10 employees", "1,000+ employees")
    assert d.summary.startswith(
        f"Company size unknown: the score is {size['low']:.2f} with 1–10 employees and {size['high']:.2f} with "
        "1,000+ employees; it decides qualified vs nurture;"
    )
    assert d.confidence == 0.0  # the range straddles: no margin at all
    assert d.priority == pytest.approx(d.score * 1, abs=1e-4)  # smb weight 1, no named account or signal


def test_the_range_is_taken_in_every_tier_the_unknown_size_allows(features):
    # scored without a size 0.28; the best SMB size gives 0.33 (< 0.55) but 1,000+ gives 0.39
    lead = _lead(features, "ld_dormant", company_size=None, company_size_min=None, was_dormant_reactivated=False)
    assert _routed(lead, tiered_policy())["ld_dormant"].state == "nurture"
    # an enterprise threshold of 0.35 makes the same unknown decide: review, whatever the SMB range says
    lower = tiered_policy(enterprise={"qualify_threshold": 0.35})
    d = _routed(lead, lower)["ld_dormant"]
    assert d.state == "needs_review" and "missing_company_size" in d.reason_codes


def test_an_unknown_company_is_open_to_being_a_named_account_only_without_a_domain(features, policy):
    lead = _lead(features, "ld_low_conf", company=None)
    with_domain = score_ranges(lead.assign(score=0.50, fit=0.5, fit_points=50.0), policy)
    assert with_domain.verdict[0] == "nurture"  # its domain says it is no named account: 0.50 stays 0.50
    no_domain = score_ranges(lead.assign(company_domain=None, score=0.50, fit=0.5, fit_points=50.0), policy)
    assert no_domain.verdict[0] == "straddle"  # + 20 named-account points would make it 0.59
    assert no_domain.high[0] == pytest.approx(0.50 + 0.45 * 0.20)
    assert [u["decides"] for u in no_domain.unknowns[0]] == ["qualified vs nurture"]


def _two_tiers(features, score, confidence):
    """The same complete lead twice, one at a 5,000-employee company, one at a 20-employee one."""
    base = _lead(features, "ld_low_conf")
    rows = pd.concat(
        [base.assign(lead_id="ld_big", company_size_min=5000), base.assign(lead_id="ld_small", company_size_min=20)]
    )
    return rows.drop(columns=["feature_hash"]).assign(
        feature_hash=["h1", "h2"], score=score, confidence=confidence, fit=0.5, fit_points=50.0, engagement=0.5
    )


def test_enterprise_has_the_wider_review_band(features, policy):
    # 0.05 below the threshold: confidence 0.2 (margin / 0.25)
    routed = {d.lead_id: d for d in route_leads(_two_tiers(features, 0.50, 0.20), None, policy)}
    assert (routed["ld_big"].tier, routed["ld_big"].state) == ("enterprise", "needs_review")
    assert routed["ld_big"].reason_codes == ("low_confidence",)
    assert (routed["ld_small"].tier, routed["ld_small"].state) == ("smb", "nurture")
    assert routed["ld_small"].reason_codes == ("auto_nurture",)
    # 0.15 above it: enterprise decides through the second check, smb automatically
    routed = {d.lead_id: d for d in route_leads(_two_tiers(features, 0.70, 0.60), None, policy)}
    assert [routed[k].reason_codes for k in ("ld_big", "ld_small")] == [
        ("second_check_qualified",),
        ("auto_qualified",),
    ]
    assert [routed[k].next_action for k in ("ld_big", "ld_small")] == ["ae_notify", "sdr_outreach"]


def test_next_actions_follow_tier_score_and_signals(features, policy):
    routed = _routed(features, policy)
    assert routed["ld_hot_vp"].next_action == "ae_notify"  # enterprise, qualified
    assert routed["ld_no_consent"].next_action == "do_not_contact"
    assert routed["ld_cold_ic"].next_action == "nurture_sequence"  # 0.05
    assert routed["ld_globex"].next_action == "ae_notify"  # in review: the action if approved
    held = {
        lead: d.next_action
        for lead, d in routed.items()
        if d.state == "nurture" and d.score >= 0.40 and "no_consent" not in d.reason_codes
    }
    assert held and set(held.values()) == {"hold_for_signals"}
    assert {d.next_action for d in routed.values()} - {None} == {d.next_action for d in routed.values()}


def test_a_trigger_sends_an_unqualified_lead_to_review_and_flags_a_qualified_one_hot(features, policy):
    counts = {
        "trigger:pricing_burst": [3 if lead in ("ld_cold_ic", "ld_check_q") else 2 for lead in features["lead_id"]],
        "trigger:competitor_comparison": 0,
    }
    routed = _routed(features, policy, **counts)
    cold = routed["ld_cold_ic"]
    assert cold.state == "needs_review" and cold.reason_codes[0] == "high_intent_signal:pricing_burst"
    assert cold.summary.startswith("A high-intent signal (pricing burst) without a qualifying score;")
    assert cold.next_action == "sdr_call_now" and cold.priority == pytest.approx(10 + cold.score, abs=1e-4)
    hot = routed["ld_check_q"]  # qualified (0.69, smb): stays qualified, flagged
    assert hot.state == "qualified" and "hot:pricing_burst" in hot.reason_codes and hot.next_action == "sdr_call_now"
    # a count below min_count is no signal
    assert routed["ld_near"].state == "nurture" and not routed["ld_near"].hot


def test_named_accounts_and_hot_signals_come_first_in_the_queue(features, policy):
    counts = {"trigger:pricing_burst": [3 if lead == "ld_low_conf" else 0 for lead in features["lead_id"]]}
    reviewed = sorted(
        (d for d in _routed(features, policy, **counts).values() if d.state == "needs_review"),
        key=lambda d: -d.priority,
    )
    assert [d.lead_id for d in reviewed[:2]] == ["ld_globex", "ld_low_conf"]  # named account (10 + 0.54 x 3), hot
    rest = [d.priority for d in reviewed[2:]]
    assert rest == sorted(rest, reverse=True) and max(rest) < 10


def test_a_policy_whose_tiers_leave_leads_without_one_is_refused(tmp_path):
    import yaml

    from leadgate.policy import PolicyError, load_policy

    data = tiered_policy().model_dump()
    data["routing"]["tiers"] = [t for t in data["routing"]["tiers"] if t["name"] != "smb"]
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(PolicyError, match="routing: .*the last tier must match every lead"):
        load_policy(path)
    data = tiered_policy().model_dump()
    data["routing"]["next_actions"][1]["when"]["tiers"] = ["enterprise", "strategic"]
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(PolicyError, match=r"next_actions.1.when.tiers names unknown tiers \['strategic'\]"):
        load_policy(path)


def test_a_lead_without_a_score_is_unvalued_every_unknown_is_named_and_a_person_decides(features, policy):
    leads = _lead(features, "ld_low_conf", company_size=None, company_size_min=None, industry=None)
    leads = pd.concat([leads, leads.assign(lead_id="ld_low_conf_scored")], ignore_index=True)
    r = score_ranges(leads.assign(score=[np.nan, 0.5], fit=0.5, fit_points=50.0), policy)
    assert list(r.verdict) == ["unvalued", "straddle"]
    # no range is made up for a score that is not there: no ends, no margin, no per-field items
    assert np.isnan(r.low[0]) and np.isnan(r.high[0]) and np.isnan(r.margin[0]) and r.unknowns[0] == ()
    assert r.material[0] == ("company_size", "industry")  # every unknown, since none could be weighed
    assert r.unknowns[1] and r.high[1] > r.low[1]  # the same lead with a score gets its range

    scored = BaselineScorer(policy).score(leads, NOW).assign(score=np.nan)  # the scorer could not value them
    frame = leads.drop(columns=["feature_hash"]).merge(scored, on="lead_id")
    for d in route_leads(frame, None, policy):
        assert d.state == "needs_review"
        assert d.reason_codes[:2] == ("missing_company_size", "missing_industry") and "scoring_error" in d.reason_codes


def test_a_leads_tier_is_its_first_matching_one_by_position_and_by_name():
    from leadgate.routing.tiers import per_tier, per_tier_index, tier_index, tier_of

    policy = tiered_policy(enterprise={"qualify_threshold": 0.45})
    target = np.array([True, True, False, False, False, False])
    size = np.array([5000.0, np.nan, 1000.0, 999.0, np.nan, -np.inf])
    assert tier_index(target, size, policy).tolist() == [0, 0, 1, 2, 2, 2]
    names = tier_of(target, size, policy)
    assert names.tolist() == ["named_account", "named_account", "enterprise", "smb", "smb", "smb"]
    for number in ("threshold", "min_margin", "auto_confidence"):
        assert per_tier_index(tier_index(target, size, policy), policy, number).tolist() == (
            per_tier(names, policy, number).tolist()
        )
    assert per_tier_index(tier_index(target, size, policy), policy).tolist()[2] == 0.45
