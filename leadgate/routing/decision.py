"""The shape of one routing decision, shared by the rules that make it and the store that records it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RouteDecision:
    lead_id: str
    state: str
    reason_codes: tuple[str, ...]
    band: str  # gate | gate_blocked | consent | rule | auto | second_check | low_confidence | error | human
    summary: str  # plain language, written for the reviewer
    feature_hash: str | None = None
    score_id: int | None = None
    score: float | None = None
    confidence: float | None = None
    details: dict[str, Any] = field(default_factory=dict)  # never personal data
    tier: str | None = None  # the policy's qualification tier (routing.tiers), first match
    next_action: str | None = None  # the recommended next step (routing.next_actions), every decided lead
    priority: float | None = None  # review queue order if it is reviewed, higher first (routing.priority)
    # what each unknown field decides: [{field, low, high, decides}], the score's range over its values
    unknowns: tuple[dict[str, Any], ...] = ()
    hot: tuple[str, ...] = ()  # behaviour triggers the lead hit (routing.triggers names)
