"""Plain words for the codes a reviewer sees; an unknown code is shown as it is."""

from __future__ import annotations

REASON_WORDS = {
    "missing_company": "company is missing",
    "missing_company_size": "company size is missing",
    "target_account": "named target account",
    "high_fit_low_engagement": "strong fit, hardly any engagement",
    "reactivated_after_dormancy": "back after 90+ quiet days",
    "low_confidence": "the machine is unsure",
    "second_check_failed": "too close to the threshold to decide",
    "crm_fields_missing": "fields the CRM needs are missing",
    "gate_batch_blocked": "its batch was held by the quality gate",
    "no_consent": "no consent to contact",
    "llm_error": "the language model gave no usable answer",
    "llm_inconsistent": "the model's answer contradicts the lead's text",
    "prompt_injection": "the lead's text tries to instruct the model",
    "llm_validator_disagrees": "the second model check disagreed",
    "llm_label_conflict": "the model's label contradicts the decision",
    "llm_disagrees_with_model": "the language model's reading of the text and the trained model's score disagree",
    "llm_unavailable": "the language model could not be reached",
    "llm_budget_exhausted": "the run's token budget was spent",
    "new_activity_after_clarification": "new activity after a clarification request",
    "changed_after_approval": "changed after it was approved",
    "auto_qualified": "qualified automatically",
    "auto_nurture": "nurture automatically",
}

STATUS_WORDS = {
    "pending": "waiting for a decision",
    "approved": "approved as MQL",
    "rejected": "rejected",
    "clarification_requested": "clarification requested",
    "superseded": "superseded by a newer item",
}


def reason_words(code: str | None) -> str:
    """'missing_company' -> 'company is missing'; 'gate:expect_x' -> 'failed the data check expect_x'."""
    if not code:
        return ""
    if code.startswith("gate:"):
        return f"failed the data check {code[5:]}"
    return REASON_WORDS.get(code, code)


def status_words(status: str | None) -> str:
    return STATUS_WORDS.get(status or "", status or "")
