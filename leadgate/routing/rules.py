"""Routing: from scores and the gate's verdict to a lifecycle state, with reason codes and a summary.

`route_leads` is pure. Its rules, first match decides (thresholds from the policy):

1. failed a gate expectation -> needs_review (`gate:<expectation>`)
2. the batch is blocked by the gate -> stays pending (`gate_batch_blocked`), retried next run
3. no consent (withdrawn; unknown unless the policy's consent.unknown is allow) -> nurture
   (`no_consent`): never an MQL
4. a rule hit -> needs_review (`target_account`, `missing_company`, `missing_company_size`,
   `high_fit_low_engagement`, `reactivated_after_dormancy`)
5. confidence >= routing.auto_confidence -> qualified / nurture (`auto_qualified` / `auto_nurture`)
6. confidence >= routing.check_confidence -> the second check (|score - threshold| >=
   second_check.min_margin, and the CRM-required fields complete when the lead would qualify: a
   nurtured lead never reaches the CRM) decides (`second_check_qualified` / `second_check_nurture`)
   or sends to review (`second_check_failed` + `crm_fields_missing` and/or `score_near_threshold`)
7. otherwise -> needs_review (`low_confidence`); a missing score -> needs_review (`scoring_error`)

With the LLM scorer (the frame carries `llm_route`, `llm_reason_codes`, `llm_validated`):
- after rule 2, `llm_route == "pending"` (endpoint down, token budget spent) -> stays pending with
  `llm_unavailable` / `llm_budget_exhausted`: nothing is decided on half a score; retried next run
- `llm_route == "review"` (`llm_error`, `llm_inconsistent`, `prompt_injection`,
  `llm_validator_disagrees`) counts like a rule hit in rule 4
- in rule 6 the validator call is the second check: it passed (`llm_validated`) and the model's label
  matches the final decision -> decided (plus `llm_validator_agrees`); a label that contradicts the
  combined score -> review (`llm_label_conflict`). Missing CRM fields still stop a qualification.
  Leads the validator did not see (e.g. an `unknown` answer) take the margin check above.

Qualified means score >= scoring.qualify_threshold. A decision carries every code that applied
(rule hits next to a gate failure, the band's verdict next to rule hits). `apply_routes` persists
decisions and respects people: see its docstring.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from leadgate.policy.consent import allows_contact
from leadgate.routing.decision import RouteDecision
from leadgate.routing.gate import GateResult
from leadgate.lifecycle import LeadState
from leadgate.policy import Policy
from leadgate.store.review_items import audit_kept, current_context, open_review_items
from leadgate.scoring.baseline import is_blank
from leadgate.store.states import StateChange, set_states

REQUIRED_COLUMNS = (
    "lead_id", "feature_hash", "score", "confidence", "fit", "engagement", "has_consent",
    "is_target_account", "company", "company_size", "was_dormant_reactivated",
)
RULE_CODES = (
    "target_account", "missing_company", "missing_company_size", "high_fit_low_engagement",
    "reactivated_after_dormancy",
)
EPS = 1e-9
REVIEW, PENDING, NURTURE, QUALIFIED = (
    LeadState.NEEDS_REVIEW.value, LeadState.PENDING.value, LeadState.NURTURE.value, LeadState.QUALIFIED.value,
)


def _flag(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return frame[column].astype("boolean").fillna(False).to_numpy(dtype=bool)


def _column(frame: pd.DataFrame, column: str) -> list[Any]:
    if column not in frame.columns:
        return [None] * len(frame)
    return frame[column].astype(object).where(frame[column].notna(), None).tolist()


def route_leads(frame: pd.DataFrame, gate: GateResult | None, policy: Policy) -> list[RouteDecision]:
    """Decide a state for every lead of a scored batch (scores joined with features); no I/O."""
    missing = [c for c in (*REQUIRED_COLUMNS, *policy.crm.required_fields) if c not in frame.columns]
    if missing:
        raise ValueError(f"routing needs these columns in the scored batch: {', '.join(missing)}")
    if frame.empty:
        return []
    f = frame.drop_duplicates("lead_id", keep="first").reset_index(drop=True)
    rp, threshold = policy.routing, policy.scoring.qualify_threshold
    score = pd.to_numeric(f["score"], errors="coerce").to_numpy(dtype=float)
    confidence = pd.to_numeric(f["confidence"], errors="coerce").to_numpy(dtype=float)
    fit = pd.to_numeric(f["fit"], errors="coerce").to_numpy(dtype=float)
    engagement = pd.to_numeric(f["engagement"], errors="coerce").to_numpy(dtype=float)
    error = ~np.isfinite(score) | ~np.isfinite(confidence)
    # The one consent rule (leadgate/policy/consent.py): unknown consent only passes when the policy allows it.
    no_consent = ~np.array([allows_contact(status, policy, flag) for status, flag in
                            zip(_column(f, "consent_status"), _column(f, "has_consent"))], dtype=bool)
    rules = np.column_stack(
        [
            _flag(f, "is_target_account"),
            is_blank(f["company"]),
            is_blank(f["company_size"]),
            (fit >= rp.rules.high_fit_min) & (engagement <= rp.rules.low_engagement_max),
            _flag(f, "was_dormant_reactivated"),
        ]
    )
    blank_crm = np.column_stack([is_blank(f[c]) for c in policy.crm.required_fields])
    with np.errstate(invalid="ignore"):
        qualified = score >= threshold
        # EPS: 0.65 - 0.55 is 0.0999... in floating point; a margin of exactly min_margin passes.
        margin_ok = np.abs(score - threshold) >= rp.second_check.min_margin - EPS
        auto = confidence >= rp.auto_confidence - EPS
        check = confidence >= rp.check_confidence - EPS
    # Only a lead that would qualify goes to the CRM, so only then do missing CRM fields stop the check.
    crm_gap = blank_crm.any(axis=1) & qualified
    failed = gate.failed_leads if gate is not None else {}
    blocked = bool(gate is not None and gate.blocked)
    context = _SummaryContext(f, policy, gate)
    llm_route = _column(f, "llm_route")
    llm_codes = [list(c) if isinstance(c, (list, tuple, np.ndarray)) else [] for c in _column(f, "llm_reason_codes")]
    llm_validated = _column(f, "llm_validated")
    llm_label = [a.get("qualification") if isinstance(a, dict) else None for a in _column(f, "llm_answer")]

    decisions: list[RouteDecision] = []
    for i, lead_id in enumerate(f["lead_id"].tolist()):
        rule_codes = [code for code, hit in zip(RULE_CODES, rules[i]) if hit]
        crm_missing = [c for c, blank in zip(policy.crm.required_fields, blank_crm[i]) if blank]
        # What the confidence bands alone would decide.
        if error[i]:
            band_state, band_codes, band = REVIEW, ["scoring_error"], "error"
        elif auto[i]:
            band_state, band_codes, band = (QUALIFIED, ["auto_qualified"], "auto") if qualified[i] else (NURTURE, ["auto_nurture"], "auto")
        elif check[i] and llm_validated[i] is not None:
            # the LLM validator is the second check; a model label against the combined score is no pass
            conflict = llm_label[i] is not None and (llm_label[i] == "qualified") != bool(qualified[i])
            band = "second_check"
            if llm_validated[i] and not conflict and not crm_gap[i]:
                band_state = QUALIFIED if qualified[i] else NURTURE
                band_codes = ["second_check_qualified" if qualified[i] else "second_check_nurture"]
            else:
                band_state = REVIEW
                band_codes = ["second_check_failed" if llm_validated[i] else "llm_validator_disagrees"]
                band_codes += ["crm_fields_missing"] if crm_gap[i] else []
                band_codes += ["llm_label_conflict"] if conflict and llm_validated[i] else []
        elif check[i] and not crm_gap[i] and margin_ok[i]:
            band_state, band = (QUALIFIED, "second_check") if qualified[i] else (NURTURE, "second_check")
            band_codes = ["second_check_qualified" if qualified[i] else "second_check_nurture"]
        elif check[i]:
            band_state, band = REVIEW, "second_check"
            band_codes = ["second_check_failed"] + (["crm_fields_missing"] if crm_gap[i] else [])
            band_codes += [] if margin_ok[i] else ["score_near_threshold"]
        else:
            band_state, band_codes, band = REVIEW, ["low_confidence"], "low_confidence"
        review_band_codes = band_codes if band_state == REVIEW else []
        # what the LLM adds: a hold, a reason to review (like a rule hit), or a note beside the band's verdict
        llm_hold = (llm_codes[i] or ["llm_unavailable"]) if llm_route[i] == "pending" else []
        llm_review = (llm_codes[i] or ["llm_error"]) if llm_route[i] == "review" else []
        if llm_route[i] == "decide":
            band_codes = band_codes + llm_codes[i]
            review_band_codes = band_codes if band_state == REVIEW else []

        if lead_id in failed:
            state, band = REVIEW, "gate"
            codes = [f"gate:{name}" for name in failed[lead_id]]
            codes += (["no_consent"] if no_consent[i] else []) + rule_codes + llm_review + review_band_codes
        elif blocked:
            state, codes, band = PENDING, ["gate_batch_blocked"], "gate_blocked"
        elif llm_hold:
            state, codes, band = PENDING, llm_hold, "llm_pending"
        elif no_consent[i]:
            state, codes, band = NURTURE, ["no_consent"] + rule_codes + llm_review, "consent"
        elif rule_codes or llm_review:
            state, codes, band = REVIEW, rule_codes + llm_review + review_band_codes, "rule" if rule_codes else "llm"
        else:
            state, codes = band_state, band_codes
        codes = list(dict.fromkeys(codes))
        decisions.append(
            RouteDecision(
                lead_id=lead_id,
                state=state,
                reason_codes=tuple(codes),
                band=band,
                summary=context.summary(i, codes, crm_missing),
                feature_hash=context.feature_hash[i],
                score_id=context.score_id[i],
                score=None if error[i] else float(score[i]),
                confidence=None if error[i] else float(confidence[i]),
                details={"band": band} | ({"llm_outcome": context.llm_outcome[i]} if context.llm_outcome[i] else {}),
            )
        )
    return decisions


class _SummaryContext:
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
        fixed = _PHRASES.get(code)
        if fixed is not None:
            return fixed
        if code.startswith("gate:"):
            name = code[len("gate:"):]
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
            return f"came back after {int(gap)} days of silence" if gap is not None else "came back after a long silence"
        if code == "low_confidence":
            known = self.completeness[i]
            detail = f", only {known:.0%} of the profile known" if known is not None and known < 1 else ""
            return f"the machine is unsure (confidence {self.confidence[i]:.2f}{detail})"
        if code == "crm_fields_missing":
            return f"fields the CRM requires are missing ({', '.join(crm_missing)})"
        return code.replace("_", " ")

    def _score_clause(self, i: int) -> str:
        score, threshold = self.score[i], self.policy.scoring.qualify_threshold
        if score is None or not np.isfinite(score):
            return "no score"
        if abs(score - threshold) < self.policy.routing.second_check.min_margin - EPS:
            return f"score {score:.2f} is close to the {threshold:.2f} threshold"
        side = "above" if score >= threshold else "below"
        return f"score {score:.2f} is {side} the {threshold:.2f} threshold (confidence {self.confidence[i]:.2f})"


_PHRASES = {
    "missing_company": "company unknown",
    "missing_company_size": "company size unknown",
    "scoring_error": "the scorer returned no usable score",
    "second_check_failed": "the second check could not decide",
    "gate_batch_blocked": "held: too much of this batch failed the data checks; retried next run",
    "auto_qualified": "qualified automatically",
    "auto_nurture": "nurture automatically",
    "second_check_qualified": "qualified after the second check",
    "second_check_nurture": "nurture after the second check",
    "llm_unavailable": "held: the LLM endpoint did not answer; scored again next run",
    "llm_budget_exhausted": "held: this run's LLM token budget is spent; scored next run",
    "llm_error": "the LLM gave no usable answer (baseline score kept)",
    "llm_inconsistent": "the LLM's answer contradicts the lead's own words (baseline score kept)",
    "prompt_injection": "the message tries to instruct the scoring model (prompt injection; baseline score kept)",
    "llm_validator_disagrees": "the LLM's second check disagreed with its first answer",
    "llm_validator_agrees": "the LLM's second check agreed",
    "llm_label_conflict": "the LLM's label and the combined score disagree",
    "llm_unknown": "the LLM could not tell and answered unknown",
}
_LLM_DETAIL_CODES = frozenset({"llm_unavailable", "llm_error", "llm_inconsistent", "prompt_injection", "llm_validator_disagrees"})


# --- persistence --------------------------------------------------------------------------------

def _adjust_for_people(d: RouteDecision, ctx: dict[str, Any] | None) -> tuple[RouteDecision, bool]:
    """Apply the human-decision rules; returns (decision, kept) where kept means: leave the state as is."""
    if ctx is None:
        return d, False
    state, changed = ctx["state"], ctx["feature_hash"] != d.feature_hash
    if state == LeadState.REJECTED:
        return d, True
    if state == LeadState.CLARIFICATION_REQUESTED:
        if not changed:
            return d, True
        question = f' ("{ctx["question"]}")' if ctx.get("question") else ""
        by = ctx.get("question_by") or "a reviewer"
        return _to_review(d, "new_activity_after_clarification", f"New activity since {by} asked for clarification{question}"), False
    if state == LeadState.NEEDS_REVIEW and not (ctx.get("decided_by") or "").startswith("policy:") and not changed:
        return d, True          # e.g. the sync sent it to review (already a CRM contact): a person decides
    if ctx.get("approved_by"):
        if not changed or d.state == PENDING:
            return d, True      # a blocked batch keeps the approval; the lead is re-scored next run
        if d.state in (REVIEW, NURTURE):
            note = f"Approved earlier by {ctx['approved_by']}; it has changed since and the policy now says {d.state}"
            return _to_review(d, "changed_after_approval", note), False
    return d, False


def _to_review(d: RouteDecision, code: str, note: str) -> RouteDecision:
    return replace(
        d, state=REVIEW, band="human", reason_codes=tuple(dict.fromkeys((code, *d.reason_codes))),
        summary=f"{note}; {d.summary[:1].lower()}{d.summary[1:]}", details={**d.details, "route": d.state},
    )


def apply_routes(
    con: duckdb.DuckDBPyConnection,
    decisions: Sequence[RouteDecision],
    frame: pd.DataFrame,
    *,
    run_id: str | None,
    policy: Policy,
    scorer_version: str,
    model_version: str | None = None,
) -> dict[str, int]:
    """Persist decisions: lifecycle + audit via state_store, review items for needs_review; counts per state.

    People win: a `rejected` lead keeps its state (and a clarification request, or a review opened
    by someone other than the policy, keeps it while the lead is unchanged): only an audit row
    `kept_human_decision` is written. New activity after a
    clarification request goes back to review. A reviewer-approved lead that changed is re-routed,
    but back to review instead of to nurture or review silently. Review items are opened once per
    feature hash; an older pending item of the lead is superseded.
    """
    if not decisions:
        return {}
    if "llm_route" in frame.columns:
        scorer = "llm"          # rows the model could not score carry the baseline's name, but the LLM scorer decided
    else:
        scorer = str(frame["scorer"].iloc[0]) if "scorer" in frame.columns and len(frame) else "baseline"
    actor = f"policy:{scorer}"
    contexts = current_context(con, [d.lead_id for d in decisions])
    final: list[RouteDecision] = []
    kept: list[tuple[RouteDecision, dict[str, Any]]] = []
    for d in decisions:
        adjusted, keep = _adjust_for_people(d, contexts.get(d.lead_id))
        if keep:
            kept.append((d, contexts[d.lead_id]))
        else:
            final.append(adjusted)
    # Review items first: if the state update then failed, the leads are re-routed next run and the
    # items found already queued.
    open_review_items(con, final, frame, policy_version=policy.version)
    set_states(
        con,
        [
            StateChange(
                lead_id=d.lead_id, state=d.state, reason_codes=list(d.reason_codes), feature_hash=d.feature_hash,
                score_id=d.score_id, score=d.score, confidence=d.confidence, details=d.details,
            )
            for d in final
        ],
        kind="route",
        actor=actor,
        run_id=run_id,
        policy_version=policy.version,
        scorer_version=scorer_version,
        model_version=model_version,
    )
    audit_kept(con, kept, actor=actor, run_id=run_id, policy_version=policy.version, scorer_version=scorer_version,
               model_version=model_version)
    counts: dict[str, int] = {}
    for state in [d.state for d in final] + [ctx["state"] for _, ctx in kept]:
        counts[state] = counts.get(state, 0) + 1
    return counts
