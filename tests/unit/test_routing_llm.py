"""route_leads with the LLM scorer's columns: holds, LLM review reasons, the validator as the second check."""

from __future__ import annotations

import pandas as pd
import pytest

from leadgate.routing.rules import route_leads
from tests.fixtures.scoring.frames import routing_cases, test_policy
from tests.unit.test_routing import _case_gate

BASE = routing_cases().set_index("case")
# (case, base case from routing_cases.csv, llm_route, llm_reason_codes, llm_validated, model label,
#  expected state, band, codes)
CASES = [
    (
        "held_when_unavailable",
        "check_qualified",
        "pending",
        "llm_unavailable",
        None,
        None,
        "pending",
        "llm_pending",
        "llm_unavailable",
    ),
    (
        "held_over_budget_before_rules",
        "target_account",
        "pending",
        "llm_budget_exhausted",
        None,
        None,
        "pending",
        "llm_pending",
        "llm_budget_exhausted",
    ),
    (
        "held_before_consent",
        "no_consent",
        "pending",
        "llm_unavailable",
        None,
        None,
        "pending",
        "llm_pending",
        "llm_unavailable",
    ),
    (
        "gate_failure_beats_hold",
        "gate_failure_first",
        "pending",
        "llm_unavailable",
        None,
        None,
        "needs_review",
        "gate",
        "gate:expect_column_values_to_match_regex(email);no_consent;target_account",
    ),
    (
        "injection_reviewed_even_when_sure",
        "auto_qualified",
        "review",
        "prompt_injection",
        None,
        "qualified",
        "needs_review",
        "llm",
        "prompt_injection",
    ),
    (
        "inconsistent_with_low_confidence",
        "low_confidence",
        "review",
        "llm_inconsistent",
        None,
        "qualified",
        "needs_review",
        "llm",
        "llm_inconsistent;low_confidence",
    ),
    (
        "error_beside_a_rule",
        "reactivated",
        "review",
        "llm_error",
        None,
        None,
        "needs_review",
        "rule",
        "reactivated_after_dormancy;llm_error",
    ),
    (
        "no_consent_still_nurture",
        "no_consent",
        "review",
        "prompt_injection",
        None,
        "qualified",
        "nurture",
        "consent",
        "no_consent;prompt_injection",
    ),
    (
        "validator_replaces_margin_check",
        "check_fails_margin",
        "decide",
        "llm_validator_agrees",
        True,
        "qualified",
        "qualified",
        "second_check",
        "second_check_qualified;llm_validator_agrees",
    ),
    (
        "validator_agrees_nurture",
        "check_nurture",
        "decide",
        "llm_validator_agrees",
        True,
        "nurture",
        "nurture",
        "second_check",
        "second_check_nurture;llm_validator_agrees",
    ),
    (
        "validator_agrees_but_crm_fields_missing",
        "check_fails_crm_fields",
        "decide",
        "llm_validator_agrees",
        True,
        "qualified",
        "needs_review",
        "second_check",
        "second_check_failed;crm_fields_missing;llm_validator_agrees",
    ),
    (
        "model_label_against_the_score",
        "check_qualified",
        "decide",
        "llm_validator_agrees",
        True,
        "nurture",
        "needs_review",
        "second_check",
        "second_check_failed;llm_label_conflict;llm_validator_agrees",
    ),
    (
        "validator_disagrees",
        "check_qualified",
        "review",
        "llm_validator_disagrees",
        False,
        "qualified",
        "needs_review",
        "llm",
        "llm_validator_disagrees",
    ),
    (
        "unknown_answer_takes_the_margin_check",
        "check_fails_margin",
        "decide",
        "llm_unknown",
        None,
        "unknown",
        "needs_review",
        "second_check",
        "second_check_failed;score_near_threshold;llm_unknown",
    ),
    ("sure_answer_decides_alone", "auto_nurture", "decide", "", None, "nurture", "nurture", "auto", "auto_nurture"),
]


def llm_frame(cases=CASES) -> pd.DataFrame:
    rows = []
    for name, base, route, codes, validated, label, *_ in cases:
        row = BASE.loc[base].to_dict() | {"lead_id": f"ld_{name}", "feature_hash": f"h_{name}"}
        answer = {"qualification": label, "summary": f"Summary for {name}."} if label else None
        rows.append(
            row
            | {
                "llm_route": route,
                "llm_reason_codes": [c for c in codes.split(";") if c],
                "llm_validated": validated,
                "llm_answer": answer,
                "llm_outcome": "ok",
                "llm_detail": None,
                "gate_failed": BASE.loc[base, "gate_failed"],
            }
        )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def decisions():
    frame = llm_frame()
    return {d.lead_id: d for d in route_leads(frame, _case_gate(frame), test_policy())}


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_llm_route_table(case, decisions):
    name, *_, state, band, codes = case
    decision = decisions[f"ld_{name}"]
    assert (decision.state, decision.band, list(decision.reason_codes)) == (state, band, codes.split(";"))


def test_the_reviewer_reads_the_models_summary_and_why_it_was_not_trusted():
    frame = llm_frame([c for c in CASES if c[0] in ("validator_disagrees", "injection_reviewed_even_when_sure")])
    frame["llm_outcome"] = ["prompt_injection", "ok"]
    frame["llm_detail"] = [
        "instruction-like text: 'ignore previous instructions'",
        "validator: The text asks for support.",
    ]
    routed = {d.lead_id: d for d in route_leads(frame, None, test_policy())}
    injected = routed["ld_injection_reviewed_even_when_sure"]
    assert injected.summary.startswith(
        "The message tries to instruct the scoring model (prompt injection; baseline score kept)"
    )
    assert "LLM detail: instruction-like text: 'ignore previous instructions'" in injected.summary
    assert "LLM summary" not in injected.summary  # the model may have been steered: not shown
    assert injected.details == {"band": "llm", "llm_outcome": "prompt_injection"}
    disagreed = routed["ld_validator_disagrees"]
    assert disagreed.summary == (
        "The LLM's second check disagreed with its first answer; score 0.70 is above the 0.55 threshold (confidence 0.75)."
        " LLM summary: Summary for validator_disagrees. LLM detail: validator: The text asks for support."
    )


def test_without_llm_columns_nothing_changes():
    frame = BASE.reset_index()
    baseline = route_leads(frame, _case_gate(frame), test_policy())
    assert all(d.details == {"band": d.band} for d in baseline)
    assert not any(code.startswith("llm") for d in baseline for code in d.reason_codes)


def test_an_unusable_llm_answer_on_a_trained_model_says_the_models_score_was_kept():
    frame = llm_frame([c for c in CASES if c[0] == "injection_reviewed_even_when_sure"])
    frame["llm_outcome"] = ["prompt_injection"]
    frame["llm_detail"] = ["instruction-like text: 'ignore previous instructions'"]
    frame["base_scorer"] = "model"  # the LLM on a promoted model (leadgate/scoring/llm_model.py)
    routed = {d.lead_id: d for d in route_leads(frame, None, test_policy())}
    injected = routed["ld_injection_reviewed_even_when_sure"].summary
    assert injected.startswith("The message tries to instruct the scoring model (prompt injection; model score kept)")
    assert "baseline" not in injected
