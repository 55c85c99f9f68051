"""The versioned routing policy: thresholds, weights and gate limits, loaded from YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from leadgate.policy.tiers import TierPolicy, _TiersMixin


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SizeBand(_Strict):
    min: int = Field(ge=1)
    points: float


class MatchPoints(_Strict):
    points: float
    match: list[str]


class FitPolicy(_Strict):
    max_points: float = Field(gt=0)
    seniority: dict[str, float]
    company_size: list[SizeBand]
    industries: MatchPoints
    countries: MatchPoints
    target_account: float


class EngagementPolicy(_Strict):
    half_life_days: float = Field(gt=0)
    scale_points: float = Field(gt=0)
    weights: dict[str, float]
    buying_centre_bonus_per_person: float = 0
    buying_centre_bonus_cap: float = 0


class ConfidencePolicy(_Strict):
    """confidence = min(1, margin / margin_scale); margin: from the score's range to the threshold (0 if it straddles)."""

    margin_scale: float = Field(gt=0)
    completeness_fields: list[str]  # the share of these known is shown to reviewers, not part of confidence


class ScoringPolicy(_Strict):
    qualify_threshold: float = Field(gt=0, lt=1)
    fit_share: float = Field(ge=0, le=1)
    fit: FitPolicy
    engagement: EngagementPolicy
    confidence: ConfidencePolicy


class SecondCheck(_Strict):
    min_margin: float = Field(ge=0, le=1)


class RoutingRules(_Strict):
    high_fit_min: float = Field(ge=0, le=1)
    low_engagement_max: float = Field(ge=0, le=1)


class RoutingPolicy(_TiersMixin):
    auto_confidence: float = Field(gt=0, le=1)
    check_confidence: float = Field(ge=0, le=1)
    second_check: SecondCheck
    rules: RoutingRules
    top_reasons: int = Field(default=5, ge=1)
    review_budget: float = Field(default=0.15, ge=0, le=1)  # share of decided leads sent to review a run may reach

    @model_validator(mode="after")
    def _bands_ordered(self) -> RoutingPolicy:
        if self.check_confidence > self.auto_confidence:
            raise ValueError("routing.check_confidence must not exceed routing.auto_confidence")
        for t in self.tiers:
            check = self.check_confidence if t.check_confidence is None else t.check_confidence
            if check > (self.auto_confidence if t.auto_confidence is None else t.auto_confidence):
                raise ValueError(f"routing.tiers {t.name}: check_confidence must not exceed auto_confidence")
        return self

    def tier(self, name: str) -> TierPolicy:
        return next(t for t in self.tiers if t.name == name)


class GatePolicy(_Strict):
    max_failed_share: float = Field(ge=0, le=1)
    suite: str = Field(default="scored_leads", pattern=r"^[A-Za-z0-9_.-]+$")  # expectations/<suite>.json


class CrmPolicy(_Strict):
    required_fields: list[str]


class ConsentPolicy(_Strict):
    """What a lead without an explicit grant or refusal (consent unknown) may receive."""

    unknown: Literal["deny", "allow"] = "deny"  # deny: never an MQL, never synced, never approved


class LlmPrice(_Strict):
    """USD per million tokens, for the estimated cost of each LLM call."""

    input_per_1m: float = Field(ge=0)
    output_per_1m: float = Field(ge=0)


DEFAULT_LLM_PRICES = {
    "default": LlmPrice(input_per_1m=0.0, output_per_1m=0.0),  # local servers cost nothing per token
    "gpt-4o-mini": LlmPrice(input_per_1m=0.15, output_per_1m=0.60),
    "gpt-4o": LlmPrice(input_per_1m=2.50, output_per_1m=10.00),
    "gpt-4.1-mini": LlmPrice(input_per_1m=0.40, output_per_1m=1.60),
}


class LlmWithModel(_Strict):
    """How the LLM's answer and a promoted model combine (LEADGATE_SCORER=llm with a champion)."""

    # model_only: the model's probability decides, the LLM's reading of the text is a reason beside it;
    # llm_adjusts: the model's probability moved towards the LLM's view, by at most max_adjust
    combine: Literal["model_only", "llm_adjusts"] = "llm_adjusts"
    max_adjust: float = Field(default=0.10, ge=0, le=0.5)
    # the LLM's own view this far from the model's probability sends the lead to review (llm_disagrees_with_model)
    disagreement_margin: float = Field(default=0.35, gt=0, le=1)


class LlmPolicy(_Strict):
    """How the LLM's answer and the baseline (or a promoted model) combine (LEADGATE_SCORER=llm), and the prices."""

    llm_weight: float = Field(default=0.6, ge=0, le=1)
    fit_share: float = Field(default=0.45, ge=0, le=1)
    confidence_weight: float = Field(default=0.6, ge=0, le=1)
    disagreement_penalty: float = Field(default=0.25, ge=0, le=1)
    unknown_confidence_cap: float = Field(default=0.5, ge=0, le=1)
    prices: dict[str, LlmPrice] = Field(default_factory=lambda: dict(DEFAULT_LLM_PRICES))
    with_model: LlmWithModel = Field(default_factory=LlmWithModel)


class ModelPolicy(_Strict):
    """Models trained on outcomes (leadgate/model): when a run flags drift against the training data."""

    drift_psi: float = Field(default=0.2, gt=0)  # population stability index above which the score or a feature drifted
    # When a model decides: qualified means probability >= this, in every tier (None: the tiers' / scoring's thresholds)
    qualify_threshold: float | None = Field(default=None, gt=0, lt=1)
    retrain_after_outcomes: int | None = Field(default=200, ge=1)  # new outcomes since training that make a retrain due
    max_age_days: float | None = Field(default=90, gt=0)  # a version older than this is due for a retrain


class BusinessHours(_Strict):
    """When reviewers work: the review SLA counts only these hours."""

    days: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4], min_length=1)  # 0 = Monday
    start: str = Field(default="09:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    end: str = Field(default="17:00", pattern=r"^([01][0-9]|2[0-4]):[0-5][0-9]$")
    timezone: str = "UTC"

    @model_validator(mode="after")
    def _check(self) -> BusinessHours:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        if any(d < 0 or d > 6 for d in self.days):
            raise ValueError("business days are 0 (Monday) .. 6 (Sunday)")
        if self.end <= self.start:
            raise ValueError("business hours must end after they start")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {self.timezone!r}") from None
        return self


DEFAULT_REJECT_REASONS = [
    "not_a_buyer",
    "student_or_job_seeker",
    "competitor",
    "vendor_pitch",
    "spam",
    "duplicate",
    "no_budget_or_timing",
    "outside_territory",
    "other",
]


class ReviewPolicy(_Strict):
    """The human half: reasons a reviewer may reject with, the review SLA, the clarification template."""

    reject_reasons: list[str] = Field(default_factory=lambda: list(DEFAULT_REJECT_REASONS), min_length=1)
    sla_business_hours: float = Field(default=4, gt=0)
    business_hours: BusinessHours = Field(default_factory=BusinessHours)
    clarify_template: str | None = None  # None: leadgate/review/templates/clarify.txt


class Policy(_Strict):
    version: str = Field(min_length=1)
    scoring: ScoringPolicy
    routing: RoutingPolicy
    gate: GatePolicy
    crm: CrmPolicy
    consent: ConsentPolicy = Field(default_factory=ConsentPolicy)
    llm: LlmPolicy | None = None  # None: the documented defaults of LlmPolicy
    model: ModelPolicy = Field(default_factory=ModelPolicy)
    review: ReviewPolicy = Field(default_factory=ReviewPolicy)


class PolicyError(ValueError):
    """The policy file is missing or invalid."""


def load_policy(path: Path) -> Policy:
    """Load and validate the policy file; a bad file is one clear error."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PolicyError(f"policy file not found: {path}") from None
    except yaml.YAMLError as exc:
        raise PolicyError(f"policy file {path} is not valid YAML: {exc}") from None
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())
        raise PolicyError(f"policy file {path} is invalid: {problems}") from None
