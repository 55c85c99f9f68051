"""Routing: from scores and the gate's verdict to a lifecycle state, with reason codes and a summary.

`route_leads` is pure. Its rules, first match decides (numbers from the policy; each lead's tier,
`routing.tiers` first match, gives its threshold and confidence bands):

1. failed a gate expectation -> needs_review (`gate:<expectation>`)
2. the batch is blocked by the gate -> stays pending (`gate_batch_blocked`), retried next run
3. no consent (withdrawn; unknown unless the policy's consent.unknown is allow) -> nurture
   (`no_consent`): never an MQL
4. a rule hit -> needs_review: `target_account`, `high_fit_low_engagement`,
   `reactivated_after_dormancy`; `missing_<field>` when an unknown fit field's range straddles the
   threshold of a tier the lead could fall in (routing/ranges.py; an unknown that cannot change
   the decision adds `missing_<field>_immaterial` beside it instead); `high_intent_signal:<name>`
   when a behaviour trigger fired and the bands would not qualify the lead
5. confidence >= the tier's auto_confidence -> qualified / nurture (`auto_qualified` / `auto_nurture`)
6. confidence >= the tier's check_confidence -> the second check (|score - threshold| >= the tier's
   min_margin, and the CRM-required fields complete when the lead would qualify: a
   nurtured lead never reaches the CRM) decides (`second_check_qualified` / `second_check_nurture`)
   or sends to review (`second_check_failed` + `crm_fields_missing` and/or `score_near_threshold`)
7. otherwise -> needs_review (`low_confidence`); a missing score -> needs_review (`scoring_error`)

A lead that would be qualified with a CRM-required field blank goes to review (`crm_fields_missing`):
it could never be synced. A qualified lead that fired a trigger carries `hot:<name>`. Every decided
lead gets a next action (routing/next_action.py; in review: the action if approved) and review
items a priority.

Qualified means score >= the tier's threshold (scoring.qualify_threshold unless the tier sets one). A decision carries every code that applied
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

from leadgate.lifecycle import LeadState
from leadgate.policy import Policy
from leadgate.policy.consent import allows_contact
from leadgate.routing.decision import RouteDecision
from leadgate.routing.gate import GateResult
from leadgate.routing.next_action import next_action, review_priority
from leadgate.routing.ranges import ranges_of
from leadgate.routing.summary import SummaryContext
from leadgate.routing.tiers import for_model, model_decided, per_tier, tier_bands
from leadgate.routing.triggers import trigger_hits
from leadgate.scoring.fields import is_blank
from leadgate.store.review_items import audit_kept, current_context, open_review_items
from leadgate.store.states import StateChange, set_states

REQUIRED_COLUMNS = (
    "lead_id",
    "feature_hash",
    "score",
    "confidence",
    "fit",
    "engagement",
    "has_consent",
    "is_target_account",
    "company",
    "company_size",
    "was_dormant_reactivated",
)
# the order codes appear in: a named account first, then what is unknown, then the behaviour rules
MISSING_ORDER = ("company", "company_size", "industry", "country", "job_title")
EPS = 1e-9
REVIEW, PENDING, NURTURE, QUALIFIED = (
    LeadState.NEEDS_REVIEW.value,
    LeadState.PENDING.value,
    LeadState.NURTURE.value,
    LeadState.QUALIFIED.value,
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
    policy = for_model(policy) if model_decided(f) else policy  # a model's probability has its own threshold
    rp = policy.routing
    score = pd.to_numeric(f["score"], errors="coerce").to_numpy(dtype=float)
    confidence = pd.to_numeric(f["confidence"], errors="coerce").to_numpy(dtype=float)
    fit = pd.to_numeric(f["fit"], errors="coerce").to_numpy(dtype=float)
    engagement = pd.to_numeric(f["engagement"], errors="coerce").to_numpy(dtype=float)
    error = ~np.isfinite(score) | ~np.isfinite(confidence)
    # The one consent rule (leadgate/policy/consent.py): unknown consent only passes when the policy allows it.
    no_consent = ~np.array(
        [
            allows_contact(status, policy, flag)
            for status, flag in zip(_column(f, "consent_status"), _column(f, "has_consent"))
        ],
        dtype=bool,
    )
    ranges = ranges_of(f, policy)  # a model's own, or the baseline's points rule
    bands = tier_bands(policy)
    tier = ranges.tier.tolist()
    threshold = per_tier(ranges.tier, policy)
    target = _flag(f, "is_target_account")
    hfle = (fit >= rp.rules.high_fit_min) & (engagement <= rp.rules.low_engagement_max)
    reactivated = _flag(f, "was_dormant_reactivated")
    hits = trigger_hits(f, policy)
    blank_crm = np.column_stack([is_blank(f[c]) for c in policy.crm.required_fields])
    with np.errstate(invalid="ignore"):
        qualified = score >= threshold
        # EPS: 0.65 - 0.55 is 0.0999... in floating point; a margin of exactly min_margin passes.
        margin_ok = np.abs(score - threshold) >= per_tier(ranges.tier, policy, "min_margin") - EPS
        auto = confidence >= per_tier(ranges.tier, policy, "auto_confidence") - EPS
        check = confidence >= per_tier(ranges.tier, policy, "check_confidence") - EPS
    # Only a lead that would qualify goes to the CRM, so only then do missing CRM fields stop the check.
    crm_gap = blank_crm.any(axis=1) & qualified
    failed = gate.failed_leads if gate is not None else {}
    blocked = bool(gate is not None and gate.blocked)
    context = SummaryContext(f, policy, gate)
    context.threshold, context.unknowns = threshold.tolist(), ranges.unknowns
    context.min_margin = [bands[t].min_margin for t in tier]
    llm_route = _column(f, "llm_route")
    llm_codes = [list(c) if isinstance(c, (list, tuple, np.ndarray)) else [] for c in _column(f, "llm_reason_codes")]
    llm_validated = _column(f, "llm_validated")
    llm_label = [a.get("qualification") if isinstance(a, dict) else None for a in _column(f, "llm_answer")]

    decisions: list[RouteDecision] = []
    for i, lead_id in enumerate(f["lead_id"].tolist()):
        material = ranges.material[i]
        rule_codes = ["target_account"] if target[i] else []
        rule_codes += [f"missing_{name}" for name in MISSING_ORDER if name in material]
        rule_codes += ["high_fit_low_engagement"] if hfle[i] else []
        rule_codes += ["reactivated_after_dormancy"] if reactivated[i] else []
        immaterial = [f"missing_{u['field']}_immaterial" for u in ranges.unknowns[i] if u["field"] not in material]
        crm_missing = [c for c, blank in zip(policy.crm.required_fields, blank_crm[i]) if blank]
        # What the confidence bands alone would decide.
        if error[i]:
            band_state, band_codes, band = REVIEW, ["scoring_error"], "error"
        elif auto[i]:
            band_state, band_codes, band = (
                (QUALIFIED, ["auto_qualified"], "auto") if qualified[i] else (NURTURE, ["auto_nurture"], "auto")
            )
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

        # a behaviour trigger: review unless the bands qualify the lead, which then is hot
        intent = [f"high_intent_signal:{h}" for h in hits[i]] if band_state != QUALIFIED else []
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
        elif rule_codes or llm_review or intent:
            state = REVIEW
            codes = rule_codes + intent + llm_review + review_band_codes
            band = "rule" if rule_codes or intent else "llm"
        elif band_state == QUALIFIED and crm_missing:
            # it could never be synced: a person completes the record or decides otherwise
            state, codes, band = REVIEW, band_codes + ["crm_fields_missing"], "crm"
        else:
            state, codes = band_state, band_codes
        hot = tuple(hits[i]) if state == QUALIFIED else ()
        codes = list(dict.fromkeys(codes + [f"hot:{h}" for h in hot] + (immaterial if state != PENDING else [])))
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
                tier=tier[i],
                next_action=next_action(
                    policy,
                    state,
                    tier[i],
                    None if error[i] else float(score[i]),
                    None if error[i] else float(engagement[i]),
                    bool(hits[i]),
                    codes,
                ),
                priority=review_priority(
                    policy,
                    named_account=bool(target[i]),
                    hot=bool(hits[i]),
                    score=None if error[i] else float(score[i]),
                    tier_weight=bands[tier[i]].weight,
                ),  # people may still send it to review
                unknowns=ranges.unknowns[i],
                hot=tuple(hits[i]),
            )
        )
    return decisions


# --- persistence --------------------------------------------------------------------------------


def adjust_for_people(d: RouteDecision, ctx: dict[str, Any] | None) -> tuple[RouteDecision, bool]:
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
        return _to_review(
            d, "new_activity_after_clarification", f"New activity since {by} asked for clarification{question}"
        ), False
    if state == LeadState.NEEDS_REVIEW and not (ctx.get("decided_by") or "").startswith("policy:") and not changed:
        return d, True  # e.g. the sync sent it to review (already a CRM contact): a person decides
    if ctx.get("approved_by"):
        if not changed or d.state == PENDING:
            return d, True  # a blocked batch keeps the approval; the lead is re-scored next run
        if d.state in (REVIEW, NURTURE):
            note = f"Approved earlier by {ctx['approved_by']}; it has changed since and the policy now says {d.state}"
            return _to_review(d, "changed_after_approval", note), False
    return d, False


def _to_review(d: RouteDecision, code: str, note: str) -> RouteDecision:
    return replace(
        d,
        state=REVIEW,
        band="human",
        reason_codes=tuple(dict.fromkeys((code, *d.reason_codes))),
        summary=f"{note}; {d.summary[:1].lower()}{d.summary[1:]}",
        details={**d.details, "route": d.state},
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
        scorer = "llm"  # rows the model could not score carry the baseline's name, but the LLM scorer decided
    else:
        scorer = str(frame["scorer"].iloc[0]) if "scorer" in frame.columns and len(frame) else "baseline"
    actor = f"policy:{scorer}"
    contexts = current_context(con, [d.lead_id for d in decisions])
    final: list[RouteDecision] = []
    kept: list[tuple[RouteDecision, dict[str, Any]]] = []
    for d in decisions:
        adjusted, keep = adjust_for_people(d, contexts.get(d.lead_id))
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
                lead_id=d.lead_id,
                state=d.state,
                reason_codes=list(d.reason_codes),
                feature_hash=d.feature_hash,
                score_id=d.score_id,
                score=d.score,
                confidence=d.confidence,
                details=d.details,
                tier=d.tier,
                next_action=d.next_action,
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
    audit_kept(
        con,
        kept,
        actor=actor,
        run_id=run_id,
        policy_version=policy.version,
        scorer_version=scorer_version,
        model_version=model_version,
    )
    counts: dict[str, int] = {}
    for state in [d.state for d in final] + [ctx["state"] for _, ctx in kept]:
        counts[state] = counts.get(state, 0) + 1
    return counts
