"""The routing policy's sales-team parts: qualification tiers, behaviour triggers, next actions, queue priority."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

NAME = r"^[a-z][a-z0-9_]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TierPolicy(_Strict):
    """One qualification tier; the first tier a lead matches is its tier. Unset numbers fall back to routing.*."""

    name: str = Field(pattern=NAME)
    target_account: bool = False  # matches named target accounts and their subsidiaries only
    min_employees: int | None = Field(default=None, ge=1)  # matches a known company size at or above this
    qualify_threshold: float | None = Field(default=None, gt=0, lt=1)
    auto_confidence: float | None = Field(default=None, gt=0, le=1)
    check_confidence: float | None = Field(default=None, ge=0, le=1)
    min_margin: float | None = Field(default=None, ge=0, le=1)
    weight: float = Field(default=1.0, ge=0)  # expected value = score x weight (review queue order)

    @property
    def catch_all(self) -> bool:
        return not self.target_account and self.min_employees is None


class TriggerPolicy(_Strict):
    """A behaviour signal: at least min_count events of these types within window_days before scoring time."""

    name: str = Field(pattern=NAME)
    event_types: list[str] = Field(min_length=1)
    url_contains: list[str] = Field(default_factory=list)  # any of these in the page URL (case-insensitive); empty: any
    min_count: int = Field(ge=1)
    window_days: float = Field(gt=0)


class NextActionWhen(_Strict):
    """Conditions of a next-action rule; every condition given must hold."""

    states: list[Literal["qualified", "nurture", "needs_review"]] = Field(default_factory=list)
    tiers: list[str] = Field(default_factory=list)
    min_score: float | None = Field(default=None, ge=0, le=1)
    min_engagement: float | None = Field(default=None, ge=0, le=1)
    hot: bool | None = None  # hit a behaviour trigger (or not)
    reason_codes: list[str] = Field(default_factory=list)  # any of these among the decision's codes


class NextActionRule(_Strict):
    action: str = Field(pattern=NAME)
    when: NextActionWhen = Field(default_factory=NextActionWhen)


class PriorityPolicy(_Strict):
    """priority = named_account (if one) + hot_signal (if any) + score x tier weight; ties: oldest first."""

    named_account: float = Field(default=10.0, ge=0)
    hot_signal: float = Field(default=10.0, ge=0)


DEFAULT_TIERS = [TierPolicy(name="all")]


def check_tiers(tiers: list[TierPolicy], actions: list[NextActionRule]) -> None:
    """Names unique, a catch-all tier last (every lead has a tier), actions naming only known tiers."""
    names = [t.name for t in tiers]
    if not tiers:
        raise ValueError("routing.tiers needs at least one tier")
    if len(set(names)) != len(names):
        raise ValueError(f"routing.tiers has a name twice: {names}")
    if not tiers[-1].catch_all:
        raise ValueError("routing.tiers: the last tier must match every lead (no target_account, no min_employees)")
    for i, rule in enumerate(actions):
        unknown = sorted(set(rule.when.tiers) - set(names))
        if unknown:
            raise ValueError(f"routing.next_actions.{i}.when.tiers names unknown tiers {unknown}; known: {names}")


class _TiersMixin(_Strict):
    """The fields routing.* gains for tiers; validated together."""

    tiers: list[TierPolicy] = Field(default_factory=lambda: list(DEFAULT_TIERS))
    triggers: list[TriggerPolicy] = Field(default_factory=list)
    next_actions: list[NextActionRule] = Field(default_factory=list)
    priority: PriorityPolicy = Field(default_factory=PriorityPolicy)

    @model_validator(mode="after")
    def _tiers_consistent(self):
        check_tiers(self.tiers, self.next_actions)
        names = [t.name for t in self.triggers]
        if len(set(names)) != len(names):
            raise ValueError(f"routing.triggers has a name twice: {names}")
        return self
