"""How one LLM answer and a promoted model's row combine (policy llm.with_model), and how a bad section is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.llm import LeadResult
from connectors.llm.schema import LeadAnswer
from leadgate.config import DEFAULT_POLICY, PACKAGE_DIR
from leadgate.policy import PolicyError, load_policy
from leadgate.policy.check import check_policy_file
from leadgate.scoring.llm import promotes
from leadgate.scoring.llm_model import combine_with_model

POLICY = load_policy(DEFAULT_POLICY)
MODEL_REASON = {"feature": "pricing_views", "points": 12.0, "detail": "4 pricing page views: +0.12"}


def _lp(**with_model):
    lp = POLICY.llm
    return lp.model_copy(update={"with_model": lp.with_model.model_copy(update=with_model)})


def _base(p: float, threshold: float = 0.5) -> dict:
    confidence = min(1.0, abs(p - threshold) / POLICY.scoring.confidence.margin_scale)
    return {
        "lead_id": "ld_1",
        "score": p,
        "confidence": confidence,
        "qualified": p >= threshold,
        "reasons": [MODEL_REASON],
        "scorer": "model",
        "scorer_version": "v1",
        "model_version": "v1",
        "model_threshold": threshold,
    }


def _answer(qualification: str = "qualified", fit: float = 0.9, intent: float = 0.95, **extra) -> LeadResult:
    answer = LeadAnswer(
        lead_id="ld_1",
        qualification=qualification,
        intent_category="demo" if qualification == "qualified" else "other",
        fit_score=fit,
        intent_score=intent,
        confidence=0.9,
        evidence={"quotes": ["book a demo"], "features": []},
        missing_information=[],
        exception_reason=None,
        sentiment="positive",
        summary="Wants a demo. Recommended: qualified.",
    )
    return LeadResult("ld_1", "ok", answer, input_hash="h" * 32, **extra)


VIEW = 0.45 * 0.9 + 0.55 * 0.95  # the LLM's own view of _answer(): fit_share * fit + (1 - fit_share) * intent


def test_model_only_keeps_the_models_numbers_and_adds_the_reading_as_a_reason():
    base = _base(0.7)
    row = combine_with_model(base, _answer(), POLICY, _lp(combine="model_only"))
    assert (row["score"], row["confidence"], row["qualified"]) == (0.7, base["confidence"], True)
    assert row["scorer"] == "llm" and row["base_scorer"] == "model" and row["llm_route"] == "decide"
    assert row["reasons"][0]["points"] == 0 and "the model decides" in row["reasons"][0]["detail"]
    assert row["reasons"][1:] == [MODEL_REASON]


def test_llm_adjusts_moves_the_probability_by_at_most_max_adjust_either_way():
    up = combine_with_model(_base(0.45), _answer(), POLICY, _lp(max_adjust=0.1, disagreement_margin=0.6))
    assert up["score"] == pytest.approx(0.55) and up["qualified"]  # crossed the model's threshold
    assert up["reasons"][0]["detail"].endswith(": +0.10") and up["reasons"][0]["points"] == 10.0
    small = combine_with_model(_base(VIEW - 0.05), _answer(), POLICY, _lp(max_adjust=0.1))
    assert small["score"] == pytest.approx(VIEW - 0.05 + 0.6 * 0.05)  # llm_weight of the gap, under the cap
    down = combine_with_model(
        _base(0.65), _answer("nurture", fit=0.5, intent=0.2), POLICY, _lp(max_adjust=0.05, disagreement_margin=0.5)
    )
    assert down["score"] == pytest.approx(0.60) and down["llm_route"] == "decide"


def test_a_view_beyond_the_margin_goes_to_review_with_a_readable_detail():
    row = combine_with_model(_base(0.2), _answer(), POLICY, _lp(disagreement_margin=0.35))
    assert row["llm_route"] == "review" and row["llm_reason_codes"] == ["llm_disagrees_with_model"]
    assert row["llm_detail"] == (
        f"the LLM reads the text as {VIEW:.2f} (qualified, demo intent), the model says 0.20: "
        "more than the policy's 0.35 apart"
    )
    assert row["score"] == pytest.approx(0.3)  # still moved by no more than max_adjust
    near = combine_with_model(_base(0.7), _answer(), POLICY, _lp(disagreement_margin=0.35))
    assert near["llm_route"] == "decide" and near["llm_reason_codes"] == []


def test_an_unusable_answer_keeps_the_models_score_and_says_so():
    failed = LeadResult("ld_1", "llm_error", None, detail="invalid JSON")
    row = combine_with_model(_base(0.3), failed, POLICY, _lp())
    assert row["score"] == 0.3 and row["llm_route"] == "review" and row["scorer"] == "model"
    unknown = combine_with_model(_base(0.3), _answer("unknown", intent=0.4), POLICY, _lp(combine="llm_adjusts"))
    assert unknown["score"] == 0.3 and "model score kept" in unknown["reasons"][0]["detail"]
    held = combine_with_model(_base(0.3), _answer("unknown"), POLICY, _lp(combine="model_only"))
    assert held["confidence"] == _base(0.3)["confidence"] and held["llm_reason_codes"] == ["llm_unknown"]


DEFAULT = (PACKAGE_DIR / "policy" / "default.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        (
            "combine: llm_adjusts",
            "combine: llm_decides",
            "llm.with_model.combine: must be one of 'model_only' or 'llm_adjusts', not text 'llm_decides'",
        ),
        ("max_adjust: 0.10", "max_adjust: 0.8", "llm.with_model.max_adjust: must be between 0 and 0.5 (got 0.8)"),
        ("disagreement_margin: 0.35", "disagreement_margin: 0", "llm.with_model.disagreement_margin: must be between"),
    ],
)
def test_a_bad_with_model_value_is_one_clear_line(tmp_path: Path, old: str, new: str, said: str):
    assert DEFAULT.count(old) == 1
    path = tmp_path / "policy.yaml"
    path.write_text(DEFAULT.replace(old, new), encoding="utf-8")
    with pytest.raises(PolicyError, match="llm.with_model") as loaded:
        load_policy(path)  # a run refuses it too
    assert "\n" not in str(loaded.value)
    with pytest.raises(PolicyError) as checked:
        check_policy_file(path)
    assert said in str(checked.value) and "(line " in str(checked.value)


def test_a_batched_answer_lifting_a_lead_towards_the_models_own_threshold_is_asked_again_alone():
    # the model's threshold (0.2) is far below the policy's 0.55: a lift from 0.05 to 0.15 is within reach of it
    base, lifted = _base(0.05, threshold=0.2), _answer("nurture", fit=0.9, intent=0.9)
    lp = _lp(combine="llm_adjusts", max_adjust=0.1, disagreement_margin=0.95)
    row = combine_with_model(base, lifted, POLICY, lp)
    assert abs(row["score"] - 0.15) < 1e-9 and not row["qualified"]
    assert promotes(base, lifted.answer, POLICY, lp, combine_with_model)
    # the same lift far below its threshold is not
    assert not promotes(_base(0.05, threshold=0.6), lifted.answer, POLICY, lp, combine_with_model)


def test_llm_adjusts_confidence_is_the_models_range_margin_moved_with_the_score():
    lp = _lp(combine="llm_adjusts", max_adjust=0.1, disagreement_margin=0.95)
    scale = POLICY.scoring.confidence.margin_scale
    known = combine_with_model(_base(0.45), _answer(), POLICY, lp)  # no unknown field: distance to t
    assert abs(known["score"] - 0.55) < 1e-9
    # an unknown company size could put the lead on either side of its threshold: no confidence to lend
    straddle = _base(0.45) | {"range_verdict": "straddle", "range_margin": 0.0, "range_low": 0.3, "range_high": 0.6}
    row = combine_with_model(straddle, _answer(), POLICY, lp)
    assert row["score"] == known["score"] and row["confidence"] == 0.0 < known["confidence"]
    # a range wholly above the threshold by 0.05 is 0.15 above it after a +0.10 move
    above = _base(0.6) | {"range_verdict": "qualified", "range_margin": 0.05, "range_low": 0.55, "range_high": 0.7}
    row = combine_with_model(above, _answer(), POLICY, lp)
    assert abs(row["score"] - 0.7) < 1e-9 and row["qualified"]
    assert abs(row["confidence"] - min(1.0, 0.15 / scale)) < 1e-9
