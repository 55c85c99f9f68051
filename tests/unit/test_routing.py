"""route_leads is pure: one table of cases, one rule at a time, plus the gate's two outcomes."""

from __future__ import annotations

import pandas as pd
import pytest

from leadgate.routing.gate import ExpectationOutcome, GateResult
from leadgate.routing.rules import route_leads
from leadgate.scoring.baseline import BaselineScorer
from tests.fixtures.scoring.frames import NOW, lead_features, routing_cases, test_policy

CASES = routing_cases()
REGEX = "expect_column_values_to_match_regex(email)"
LAST_NAME = "expect_column_values_to_not_be_null(last_name)"
COMPANY = "expect_column_values_to_not_be_null(company)"


@pytest.fixture(scope="module")
def policy():
    return test_policy()


def _gate(failed: dict[str, list[str]], *, blocked: bool = False, element_count: int = 100) -> GateResult:
    descriptions = {
        REGEX: "the email address is malformed",
        LAST_NAME: "a qualified lead lacks the last name the CRM requires",
        COMPANY: "a qualified lead lacks the company the CRM requires",
    }
    outcomes = tuple(
        ExpectationOutcome(
            name=name,
            expectation_type=name.split("(")[0],
            column=name.split("(")[1].rstrip(")"),
            level="row",
            description=text,
            success=not any(name in v for v in failed.values()),
            unexpected_count=sum(name in v for v in failed.values()),
            failing_lead_ids=tuple(k for k, v in failed.items() if name in v),
        )
        for name, text in descriptions.items()
    )
    return GateResult("b1", "scored_leads", element_count, outcomes, failed, len(failed) / element_count, blocked)


def _case_gate(cases: pd.DataFrame) -> GateResult:
    failed = {row.lead_id: row.gate_failed.split(";") for row in cases.itertuples() if isinstance(row.gate_failed, str)}
    return _gate(failed)


@pytest.fixture(scope="module")
def decisions(policy):
    return {d.lead_id: d for d in route_leads(CASES, _case_gate(CASES), policy)}


@pytest.mark.parametrize("case", CASES.to_dict("records"), ids=list(CASES["case"]))
def test_route_table(case, decisions):
    decision = decisions[case["lead_id"]]
    assert decision.state == case["expected_state"]
    assert decision.band == case["expected_band"]
    assert list(decision.reason_codes) == case["expected_codes"].split(";")


def test_every_lead_gets_exactly_one_decision_with_its_score(decisions):
    assert set(decisions) == set(CASES["lead_id"])
    hot = decisions["ld_auto_qualified"]
    assert (hot.feature_hash, hot.score, hot.confidence) == ("h_auto_qualified", 0.82, 0.95)
    assert hot.score_id is not None
    assert decisions["ld_scoring_error"].score is None


def test_review_summary_names_the_ambiguity(decisions):
    assert decisions["ld_target_and_size_unknown"].summary == (
        "Named target account (Globex Corporation via globex-logistics.com); company size unknown; "
        "the machine is unsure (confidence 0.55, only 88% of the profile known); "
        "score 0.62 is close to the 0.55 threshold."
    )
    assert decisions["ld_check_fails_crm_fields"].summary == (
        "The second check could not decide; fields the CRM requires are missing (last_name); "
        "score 0.75 is above the 0.55 threshold (confidence 0.70)."
    )
    assert decisions["ld_reactivated"].summary.startswith("Came back after 140 days of silence;")
    assert decisions["ld_high_fit_low_engagement"].summary.startswith("Strong fit (0.75) but little engagement (0.10);")
    assert decisions["ld_gate_failure_first"].summary.startswith(
        "Failed the data check: the email address is malformed; no consent to contact (withdrawn); Named target account (Initech"
    )


def test_blocked_batch_keeps_leads_pending_except_the_failing_ones(policy):
    failing = "ld_auto_qualified"
    gate = _gate({failing: [REGEX]}, blocked=True, element_count=10)
    routed = {d.lead_id: d for d in route_leads(CASES, gate, policy)}
    assert routed[failing].state == "needs_review"
    assert routed[failing].reason_codes == (f"gate:{REGEX}",)
    others = [d for lead, d in routed.items() if lead != failing]
    assert {d.state for d in others} == {"pending"}
    assert {d.reason_codes for d in others} == {("gate_batch_blocked",)}


def test_without_a_gate_result_routing_still_decides(policy):
    routed = {d.lead_id: d for d in route_leads(CASES, None, policy)}
    assert routed["ld_gate_failure_first"].state == "nurture"  # no consent decides
    assert routed["ld_auto_qualified"].state == "qualified"


def test_duplicate_rows_give_one_decision_per_lead(policy):
    doubled = pd.concat([CASES, CASES])
    assert len(route_leads(doubled, None, policy)) == len(CASES)


def test_missing_columns_are_named(policy):
    with pytest.raises(ValueError, match="has_consent"):
        route_leads(CASES.drop(columns=["has_consent"]), None, policy)


def test_empty_batch_routes_nothing(policy):
    assert route_leads(CASES.iloc[:0], None, policy) == []


def test_decisions_carry_no_personal_data(decisions):
    for decision in decisions.values():
        assert set(decision.details) == {"band"}


def test_fixture_leads_scored_and_routed(policy):
    """The scorer and the router together on marts.lead_features rows, with the gate's failures."""
    features = lead_features()
    scored = BaselineScorer(policy).score(features, NOW)
    frame = features.drop(columns=["feature_hash"]).merge(scored, on="lead_id")
    gate = _gate({"ld_bad_email": [REGEX], "ld_no_last": [LAST_NAME]})
    routed = {d.lead_id: (d.state, d.reason_codes) for d in route_leads(frame, gate, policy)}
    assert routed == {
        "ld_hot_vp": ("qualified", ("auto_qualified",)),
        "ld_cold_ic": ("nurture", ("auto_nurture",)),
        "ld_globex": ("needs_review", ("target_account", "missing_company_size", "low_confidence")),
        "ld_dormant": ("needs_review", ("reactivated_after_dormancy", "low_confidence")),
        "ld_quiet_ceo": ("needs_review", ("high_fit_low_engagement",)),
        "ld_no_consent": ("nurture", ("no_consent",)),
        "ld_check_q": ("needs_review", ("low_confidence",)),  # margin 0.14: confidence 0.54 (margin alone)
        "ld_near": ("needs_review", ("low_confidence",)),
        "ld_low_conf": ("needs_review", ("low_confidence",)),
        "ld_check_n": ("nurture", ("second_check_nurture",)),
        "ld_bad_email": ("needs_review", (f"gate:{REGEX}",)),
        "ld_no_last": ("needs_review", (f"gate:{LAST_NAME}", "second_check_failed", "crm_fields_missing")),
        # scores 0.10: no company or size could lift it to 0.55 (the range rule)
        "ld_no_company": ("nurture", ("auto_nurture", "missing_company_size_immaterial", "missing_company_immaterial")),
    }
