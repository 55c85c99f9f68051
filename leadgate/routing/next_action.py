"""The recommended next action (policy `routing.next_actions`, first match) and the review queue's priority."""

from __future__ import annotations

from collections.abc import Sequence

from leadgate.policy import Policy
from leadgate.policy.tiers import NextActionWhen


def _matches(
    when: NextActionWhen,
    state: str,
    tier: str | None,
    score: float | None,
    engagement: float | None,
    hot: bool,
    codes: Sequence[str],
) -> bool:
    if when.states and state not in when.states:
        return False
    if when.tiers and tier not in when.tiers:
        return False
    if when.min_score is not None and (score is None or score < when.min_score):
        return False
    if when.min_engagement is not None and (engagement is None or engagement < when.min_engagement):
        return False
    if when.hot is not None and when.hot != hot:
        return False
    return not when.reason_codes or any(code in codes for code in when.reason_codes)


def next_action(
    policy: Policy,
    state: str,
    tier: str | None,
    score: float | None,
    engagement: float | None,
    hot: bool,
    codes: Sequence[str],
) -> str | None:
    """The first next-action rule that matches a decided lead (a lead in review: the action if approved)."""
    if state not in ("qualified", "nurture", "needs_review"):
        return None  # pending: nothing decided yet
    for rule in policy.routing.next_actions:
        if _matches(rule.when, state, tier, score, engagement, hot, codes):
            return rule.action
    return None


def review_priority(
    policy: Policy, *, named_account: bool, hot: bool, score: float | None, tier_weight: float
) -> float:
    """Named accounts and hot signals first, then expected value (score x tier weight); age breaks ties."""
    pp = policy.routing.priority
    value = (score or 0.0) * tier_weight
    return round(pp.named_account * named_account + pp.hot_signal * hot + value, 4)
