"""Plain-language summaries of routing decisions, written for the reviewer (never personal data in codes)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from leadgate.policy import Policy
from leadgate.routing.gate import GateResult
from leadgate.routing.ranges import FIELD_NAMES, unknown_phrase

EPS = 1e-9


def _column(frame: pd.DataFrame, column: str) -> list[Any]:
    if column not in frame.columns:
        return [None] * len(frame)
    return frame[column].astype(object).where(frame[column].notna(), None).tolist()


class SummaryContext:
    """Row values the summaries quote, as plain lists (fast per-row access)."""

    def __init__(self, f: pd.DataFrame, policy: Policy, gate: GateResult | None) -> None:
        self.policy, self.gate = policy, gate
        self.feature_hash = _column(f, "feature_hash")
        self.score_id = [None if v is None else int(v) for v in _column(f, "score_id")]
        self.score = _column(f, "score")
        self.confidence = _column(f, "confidence")
        self.fit = _column(f, "fit")
        self.engagement = _column(f, "engagement")
        self.account_name = _column(f, "target_account_name")
        domain = _column(f, "company_domain")
        self.domain = [d or a for d, a in zip(domain, _column(f, "account_id"))]
        self.gap = _column(f, "longest_gap_days")
        self.consent_status = _column(f, "consent_status")
        self.completeness = _column(f, "completeness")
        self.llm_outcome = _column(f, "llm_outcome")
        self.llm_detail = _column(f, "llm_detail")
        self.llm_answer = [a if isinstance(a, dict) else None for a in _column(f, "llm_answer")]
        # the score an unusable LLM answer leaves in place: the trained model's, on a model, else the baseline's
        self.kept = ["model" if b == "model" else "baseline" for b in _column(f, "base_scorer")]

    # per lead, set by the router: its tier's threshold and second-check margin, what its unknowns decide
    threshold: Sequence[float] = ()
    min_margin: Sequence[float] = ()
    unknowns: Sequence[Sequence[dict[str, Any]]] = ()

    def summary(self, i: int, codes: Sequence[str], crm_missing: Sequence[str]) -> str:
        parts = [p for p in (self._phrase(i, code, crm_missing) for code in codes) if p]
        parts.append(self._score_clause(i))
        text = "; ".join(parts)
        return text[:1].upper() + text[1:] + "." + self._llm_note(i, codes)

    def _llm_note(self, i: int, codes: Sequence[str]) -> str:
        """The model's own summary for the reviewer, and the detail behind an LLM reason code."""
        note = ""
        answer = self.llm_answer[i]
        # an injection attempt may have steered the model's summary: show the flagged text instead
        if answer and answer.get("summary") and self.llm_outcome[i] != "prompt_injection":
            note += f" LLM summary: {answer['summary'].strip()}"
        detail = self.llm_detail[i]
        if detail and any(code in _LLM_DETAIL_CODES for code in codes):
            note += f" LLM detail: {str(detail).strip()[:300]}"
        return note

    def _phrase(self, i: int, code: str, crm_missing: Sequence[str]) -> str | None:
        if code.startswith("missing_"):
            field = code.removeprefix("missing_").removesuffix("_immaterial")
            known = [u for u in (self.unknowns[i] if self.unknowns else ()) if u["field"] == field]
            if known:
                return unknown_phrase(known[0])
            if code.endswith("_immaterial"):
                return f"{FIELD_NAMES.get(field, field)} unknown (it cannot change the decision)"
        if code.startswith("high_intent_signal:"):
            return f"a high-intent signal ({code.split(':', 1)[1].replace('_', ' ')}) without a qualifying score"
        fixed = _PHRASES.get(code)
        if fixed is not None:
            return fixed.format(kept=self.kept[i])
        if code.startswith("gate:"):
            name = code[len("gate:") :]
            return f"failed the data check: {self.gate.describe(name) if self.gate else name}"
        if code == "target_account":
            name, domain = self.account_name[i], self.domain[i]
            where = " via ".join(str(v) for v in (name, domain) if v)
            return f"Named target account ({where})" if where else "Named target account"
        if code == "no_consent":
            status = self.consent_status[i]
            return f"no consent to contact ({status})" if status else "no consent to contact"
        if code == "high_fit_low_engagement":
            return f"strong fit ({self.fit[i]:.2f}) but little engagement ({self.engagement[i]:.2f})"
        if code == "reactivated_after_dormancy":
            gap = self.gap[i]
            return (
                f"came back after {int(gap)} days of silence" if gap is not None else "came back after a long silence"
            )
        if code == "low_confidence":
            known = self.completeness[i]
            detail = f", only {known:.0%} of the profile known" if known is not None and known < 1 else ""
            return f"the machine is unsure (confidence {self.confidence[i]:.2f}{detail})"
        if code == "crm_fields_missing":
            return f"fields the CRM requires are missing ({', '.join(crm_missing)})"
        return code.replace("_", " ")

    def _score_clause(self, i: int) -> str:
        score = self.score[i]
        threshold = self.threshold[i] if self.threshold else self.policy.scoring.qualify_threshold
        min_margin = self.min_margin[i] if self.min_margin else self.policy.routing.second_check.min_margin
        if score is None or not np.isfinite(score):
            return "no score"
        if abs(score - threshold) < min_margin - EPS:
            return f"score {score:.2f} is close to the {threshold:.2f} threshold"
        side = "above" if score >= threshold else "below"
        return f"score {score:.2f} is {side} the {threshold:.2f} threshold (confidence {self.confidence[i]:.2f})"


_PHRASES = {
    "missing_company": "company unknown",
    "missing_company_size": "company size unknown",
    "missing_industry": "industry unknown",
    "missing_country": "country unknown",
    "missing_job_title": "job title unknown",
    "scoring_error": "the scorer returned no usable score",
    "second_check_failed": "the second check could not decide",
    "gate_batch_blocked": "held: too much of this batch failed the data checks; retried next run",
    "auto_qualified": "qualified automatically",
    "auto_nurture": "nurture automatically",
    "second_check_qualified": "qualified after the second check",
    "second_check_nurture": "nurture after the second check",
    "llm_unavailable": "held: the LLM endpoint did not answer; scored again next run",
    "llm_budget_exhausted": "held: this run's LLM token budget is spent; scored next run",
    # an LLM answer that is not used: the lead keeps the score it was built on ({kept}: baseline or model)
    "llm_error": "the LLM gave no usable answer ({kept} score kept)",
    "llm_inconsistent": "the LLM's answer contradicts the lead's own words ({kept} score kept)",
    "prompt_injection": "the message tries to instruct the scoring model (prompt injection; {kept} score kept)",
    "llm_validator_disagrees": "the LLM's second check disagreed with its first answer",
    "llm_validator_agrees": "the LLM's second check agreed",
    "llm_label_conflict": "the LLM's label and the combined score disagree",
    "llm_unknown": "the LLM could not tell and answered unknown",
    "llm_disagrees_with_model": "the LLM's reading of the lead's text and the trained model's score are far apart",
}
_LLM_DETAIL_CODES = frozenset(
    {
        "llm_unavailable",
        "llm_error",
        "llm_inconsistent",
        "prompt_injection",
        "llm_validator_disagrees",
        "llm_disagrees_with_model",
    }
)
