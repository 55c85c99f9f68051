"""Lead lifecycle vocabulary: the states a lead can be in and who may set them."""

from __future__ import annotations

from enum import StrEnum


class LeadState(StrEnum):
    PENDING = "pending"  # not yet scored, waiting for a scorer, or held by the gate
    QUALIFIED = "qualified"  # an MQL, owed to the CRM
    NURTURE = "nurture"  # not sales-ready (or no consent): stays out of the CRM
    NEEDS_REVIEW = "needs_review"  # a person must decide
    REJECTED = "rejected"  # set only by a person
    CLARIFICATION_REQUESTED = "clarification_requested"
    SYNCED = "synced"  # the CRM acknowledged the current payload


ALL_STATES: tuple[str, ...] = tuple(s.value for s in LeadState)
HUMAN_ONLY_STATES = frozenset({LeadState.REJECTED, LeadState.CLARIFICATION_REQUESTED})


class ReviewStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    CLARIFICATION_REQUESTED = "clarification_requested"
    SUPERSEDED = "superseded"  # the lead changed before anyone decided; a newer item replaces it
