"""Qualification tiers (policy `routing.tiers`): which tier a lead falls in, and each tier's numbers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from leadgate.policy import Policy


@dataclass(frozen=True)
class TierBand:
    """A tier's numbers with the routing defaults filled in."""

    name: str
    threshold: float  # qualified means score >= threshold
    auto_confidence: float
    check_confidence: float
    min_margin: float
    weight: float
    target_account: bool
    min_employees: int | None


def tier_bands(policy: Policy) -> dict[str, TierBand]:
    """Every tier of the policy, in order, by name."""
    rp = policy.routing

    def pick(value, default):
        return default if value is None else value

    return {
        t.name: TierBand(
            name=t.name,
            threshold=pick(t.qualify_threshold, policy.scoring.qualify_threshold),
            auto_confidence=pick(t.auto_confidence, rp.auto_confidence),
            check_confidence=pick(t.check_confidence, rp.check_confidence),
            min_margin=pick(t.min_margin, rp.second_check.min_margin),
            weight=t.weight,
            target_account=t.target_account,
            min_employees=t.min_employees,
        )
        for t in rp.tiers
    }


def for_model(policy: Policy) -> Policy:
    """The policy as routing reads it when a model decides: model.qualify_threshold (if set) in every tier."""
    t = policy.model.qualify_threshold
    if t is None:
        return policy
    tiers = [tier.model_copy(update={"qualify_threshold": t}) for tier in policy.routing.tiers]
    return policy.model_copy(
        update={
            "scoring": policy.scoring.model_copy(update={"qualify_threshold": t}),
            "routing": policy.routing.model_copy(update={"tiers": tiers}),
        }
    )


def model_decided(frame) -> bool:
    """A batch scored by a model (`scorer`, or for the LLM on a model `base_scorer`, says `model` on every row)."""
    column = "base_scorer" if "base_scorer" in frame.columns else "scorer"
    return column in frame.columns and len(frame) > 0 and bool((frame[column] == "model").all())


def tier_index(target: np.ndarray, size_min: np.ndarray, policy: Policy) -> np.ndarray:
    """Per lead, the position in `routing.tiers` of its first matching tier (the catch-all last one if no other)."""
    target = np.asarray(target, dtype=bool)
    size_min = np.asarray(size_min, dtype=float)
    tiers = policy.routing.tiers
    out = np.full(len(target), len(tiers) - 1, dtype=np.intp)
    decided = np.zeros(len(target), dtype=bool)
    for i, t in enumerate(tiers):
        hit = ~decided
        if t.target_account:
            hit &= target
        if t.min_employees is not None:  # an unknown size (NaN) compares False: it never matches
            hit &= size_min >= t.min_employees
        out[hit] = i
        decided |= hit
    return out


def tier_of(target: np.ndarray, size_min: np.ndarray, policy: Policy) -> np.ndarray:
    """First matching tier's name per lead; an unknown size (NaN) never matches a tier that asks for one."""
    return tier_names(policy)[tier_index(target, size_min, policy)]


def tier_names(policy: Policy) -> np.ndarray:
    """The tiers' names in policy order (object array), as `tier_index` numbers them."""
    return np.array([t.name for t in policy.routing.tiers], dtype=object)


def per_tier(tiers, policy: Policy, number: str = "threshold") -> np.ndarray:
    """One of the TierBand numbers (the qualify threshold by default) for each lead's tier (`tier_of`'s names)."""
    tiers = np.asarray(tiers, dtype=object)
    out = np.full(len(tiers), np.nan)
    for name, band in tier_bands(policy).items():
        out[tiers == name] = getattr(band, number)
    return out


def per_tier_index(index: np.ndarray, policy: Policy, number: str = "threshold") -> np.ndarray:
    """`per_tier` for tiers given by position (`tier_index`)."""
    return np.array([float(getattr(band, number)) for band in tier_bands(policy).values()])[index]


def size_candidates(policy: Policy) -> list[tuple[float, float | None]]:
    """Company sizes worth trying for an unknown size: (lower bound, next bound or None), one per step of points or tier."""
    bounds = sorted(
        {b.min for b in policy.scoring.fit.company_size}
        | {t.min_employees for t in policy.routing.tiers if t.min_employees is not None}
        | {1}
    )
    return [(float(lo), float(hi) if hi is not None else None) for lo, hi in zip(bounds, [*bounds[1:], None])]


def size_label(low: float, high: float | None) -> str:
    """'1–10 employees', '1,000+ employees'."""
    if high is None:
        return f"{int(low):,}+ employees"
    if high - 1 <= low:
        return f"{int(low):,} employees"
    return f"{int(low):,}–{int(high) - 1:,} employees"
