"""The LLM scorer on a promoted model: the model's calibrated probability is the base, the LLM reads the free text.

Policy section `llm.with_model` (LlmWithModel's defaults when absent); p is the model's probability, t the
lead's threshold as the model reads it, llm_score = fit_share * fit_score + (1 - fit_share) * intent_score:

- model_only: score, confidence and decision are the model's; the LLM's reading is a reason of 0 points.
- llm_adjusts: score = p + llm_weight * (llm_score - p), the move capped at max_adjust (the baseline's blend,
  bounded); confidence by the model's rule, its range margin over the unknown fields moved with the score
  (`margin_after`), times (1 - disagreement_penalty) for each of the LLM's label and the model's decision
  that disagrees with the final one.
- |llm_score - p| > disagreement_margin: review with `llm_disagrees_with_model`, in both modes.
- Pending, unusable answers and `unknown` are treated as with the baseline (leadgate.scoring.llm.combine_one),
  the model's score kept; in model_only an `unknown` leaves the confidence alone too.

The rows' `baseline_*` columns then hold the model's numbers (the base the LLM built on); `base_scorer` says so.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from connectors.llm import LeadResult
from leadgate.policy import LlmPolicy, Policy
from leadgate.scoring.llm import SCORER_NAME, SCORER_VERSION, LlmBase, combine_one, start_row

DISAGREES = "llm_disagrees_with_model"


class ModelBase:
    """The champion's rows for the LLM to build on, with each lead's threshold as the model reads it."""

    def __init__(self, model) -> None:
        self.model = model  # leadgate.model.scorer.ModelScorer

    def score(self, features: pd.DataFrame, now: datetime) -> pd.DataFrame:
        scored = self.model.score(features, now)
        if scored.empty:
            return scored.assign(model_threshold=pd.Series(dtype=float), base_scorer=pd.Series(dtype=object))
        # ModelScorer.score keeps the order of `features`: thresholds line up by position
        return scored.assign(
            model_threshold=self.model.thresholds(features.reset_index(drop=True)), base_scorer=self.model.name
        )


def model_base(model) -> LlmBase:
    """What LlmLeadScorer gets when a model is promoted (leadgate.pipeline.steps.make_scorer)."""
    lp = model.policy.llm if model.policy.llm is not None else LlmPolicy()
    return LlmBase(
        scorer=ModelBase(model),
        combine=combine_with_model,
        model_version=model.version,
        # in model_only the LLM's answer moves nothing, so it is no second check of the model's decision
        validate=lp.with_model.combine == "llm_adjusts",
        champion=model,
    )


def margin_after(base: dict[str, Any], score: float, move: float, t: float) -> float:
    """The model's range margin (leadgate.routing.ranges) once the LLM moved the score by `move`.

    A range wholly above every threshold it could meet shifts with the score, so its distance grows by
    the move (one wholly below: shrinks), never below 0; a straddling range stays at 0; a lead with no
    unknown field (or no range) is its distance to t.
    """
    verdict, margin = base.get("range_verdict") or "", base.get("range_margin")
    if verdict == "qualified":
        return max(0.0, float(margin) + move)
    if verdict == "nurture":
        return max(0.0, float(margin) - move)
    return 0.0 if verdict == "straddle" else abs(score - t)


def combine_with_model(
    base: dict[str, Any], result: LeadResult | None, policy: Policy, lp: LlmPolicy
) -> dict[str, Any]:
    """The final score, confidence and route of one lead from its model row and LLM result."""
    wm = lp.with_model
    kept = partial(combine_one, base, result, policy, lp, base_name="model")
    answer = result.answer if result is not None and result.outcome == "ok" else None
    if answer is None or (answer.qualification == "unknown" and wm.combine == "llm_adjusts"):
        return kept() | {"base_scorer": "model"}
    row = start_row(base, result) | {"scorer": SCORER_NAME, "scorer_version": SCORER_VERSION, "base_scorer": "model"}
    p, conf, decided = float(base["score"]), float(base["confidence"]), bool(base["qualified"])
    reading = f"LLM: {answer.intent_category} intent, {answer.qualification}, confidence {answer.confidence:.2f}"
    if answer.qualification == "unknown":  # model_only: nothing to weigh against the model
        note = {"feature": "llm", "points": 0.0, "detail": f"{reading}; the model decides"}
        return row | {"reasons": [note, *row["reasons"]], "llm_route": "decide", "llm_reason_codes": ["llm_unknown"]}
    llm_score = lp.fit_share * answer.fit_score + (1 - lp.fit_share) * answer.intent_score
    if wm.combine == "model_only":
        score, confidence, qualified = p, conf, decided
        detail = f"{reading} (its view {llm_score:.2f}, the model's {p:.2f}); the model decides"
    else:
        t = float(base["model_threshold"])
        move = float(np.clip(lp.llm_weight * (llm_score - p), -wm.max_adjust, wm.max_adjust))
        score = min(1.0, max(0.0, p + move))
        qualified = score >= t
        confidence = min(1.0, margin_after(base, score, score - p, t) / policy.scoring.confidence.margin_scale)
        disagreements = int((answer.qualification == "qualified") != qualified) + int(decided != qualified)
        confidence = min(1.0, max(0.0, confidence * (1 - lp.disagreement_penalty) ** disagreements))
        detail = f"{reading}: {score - p:+.2f}"  # worded like the model's own reasons ("...: +0.12")
    reason = {"feature": "llm", "points": round(100 * (score - p), 1), "detail": detail}
    row |= {"score": score, "confidence": confidence, "qualified": qualified, "reasons": [reason, *row["reasons"]]}
    if abs(llm_score - p) > wm.disagreement_margin:
        why = (
            f"the LLM reads the text as {llm_score:.2f} ({answer.qualification}, {answer.intent_category} intent), "
            f"the model says {p:.2f}: more than the policy's {wm.disagreement_margin:.2f} apart"
        )
        return row | {"llm_route": "review", "llm_reason_codes": [DISAGREES], "llm_detail": why}
    return row | {"llm_route": "decide", "llm_reason_codes": []}
