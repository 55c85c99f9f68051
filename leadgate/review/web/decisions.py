"""Decisions from the browser, through the review service, with the signed-in reviewer's name.

The outcome says what the reviewer is told: applied, saved for later (a run holds the database),
a conflict (someone decided first: who and how), or refused (e.g. approval without the CRM fields).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leadgate.config import LeadgateSettings
from leadgate.policy import Policy
from leadgate.review import browse
from leadgate.review.service import ReviewError, ReviewService
from leadgate.review.web.access import Database
from leadgate.store.db import PipelineBusy

# A decision waits this long for the writer lock before it is treated as "a run holds the database".
DECISION_WAIT = 0.75


@dataclass
class Outcome:
    kind: str                        # applied | saved | conflict | refused
    item_id: int
    message: str
    by: str | None = None            # conflict: who decided first
    status: str | None = None        # conflict: how
    decided_at: datetime | None = None


class Decider:
    """One place where the web layer turns a reviewer's click into a review-service call."""

    def __init__(self, settings: LeadgateSettings, policy: Policy, database: Database) -> None:
        self.settings = settings
        self.database = database
        self.service = ReviewService(settings.model_copy(update={"lock_timeout": DECISION_WAIT}), policy)

    def approve(self, item_id: int, reviewer: str, note: str | None = None) -> Outcome:
        return self._run(item_id, "approved", lambda: self.service.approve(item_id, reviewer, note=note or None))

    def reject(self, item_id: int, reviewer: str, reason: str) -> Outcome:
        return self._run(item_id, "rejected", lambda: self.service.reject(item_id, reviewer, reason=reason))

    def clarify(self, item_id: int, reviewer: str, question: str) -> Outcome:
        return self._run(item_id, "clarification requested",
                         lambda: self.service.clarify(item_id, reviewer, question=question))

    def _run(self, item_id: int, done: str, call: Callable[[], Any]) -> Outcome:
        try:
            with self.database.writing():
                call()
        except PipelineBusy:
            return Outcome("refused", item_id, "the pipeline is running and holds the database: try again in a minute")
        except ReviewError as exc:
            return self._explain(item_id, str(exc))
        return Outcome("applied", item_id, f"review item {item_id} {done}")

    def _explain(self, item_id: int, message: str) -> Outcome:
        """A refused decision on an item someone already decided is a conflict naming them."""
        with self.database.reading() as r:
            found = browse.decision_of(r.con, item_id)
        if found and found["status"] != "pending":
            return Outcome("conflict", item_id, message, by=found["reviewer"], status=found["status"],
                           decided_at=found["decided_at"])
        return Outcome("refused", item_id, message)
