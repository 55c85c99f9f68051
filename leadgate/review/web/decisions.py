"""Decisions from the browser, through the review domain's journal, with the signed-in reviewer's name.

The outcome says what the reviewer is told: applied, saved for later (a run holds the database: the
decision is in the durable journal), a conflict (someone decided first: who and how), promises to
confirm (a clarification draft), or refused (e.g. approval without the CRM fields).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leadgate.config import LeadgateSettings
from leadgate.policy import Policy
from leadgate.review import journal
from leadgate.review.decisions import DecisionRequest
from leadgate.review.errors import AlreadyDecided, PromisesUnconfirmed, ReviewError
from leadgate.review.web.access import Database

# A decision waits this long for the writer lock before it goes to the journal ("saved"); only briefly
# while the journal holds decisions already (a run has the database: waiting would only slow the click).
DECISION_WAIT = 1.0
DECISION_WAIT_JOURNAL = 0.2
REPLAY_EVERY = 2.0


@dataclass
class Outcome:
    kind: str  # applied | saved | conflict | promises | refused
    item_id: int
    message: str
    by: str | None = None  # conflict: who decided first
    status: str | None = None  # conflict: how
    decided_at: datetime | None = None
    flags: list[Any] = field(default_factory=list)  # promises: the flagged sentences
    request: DecisionRequest | None = None


def _refused(request: DecisionRequest, exc: ReviewError) -> Outcome:
    if isinstance(exc, AlreadyDecided):
        return Outcome(
            "conflict",
            request.item_id,
            str(exc),
            by=exc.reviewer,
            status=exc.status,
            decided_at=exc.decided_at,
            request=request,
        )
    if isinstance(exc, PromisesUnconfirmed):
        return Outcome("promises", request.item_id, str(exc), flags=list(exc.flags), request=request)
    return Outcome("refused", request.item_id, str(exc), request=request)


def _done(request: DecisionRequest, result: journal.SubmitResult) -> Outcome:
    if result.applied:
        return Outcome("applied", request.item_id, result.message, request=request)
    return Outcome("saved", request.item_id, result.message, request=request)


class Decider:
    """Where the web layer turns a reviewer's click into a journal submit; replays the journal on a timer."""

    def __init__(self, settings: LeadgateSettings, policy: Policy, database: Database) -> None:
        self.settings, self.policy, self.database = settings, policy, database
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _wait(self) -> float:
        return DECISION_WAIT_JOURNAL if journal.journal_path(self.settings).exists() else DECISION_WAIT

    def submit(self, request: DecisionRequest) -> Outcome:
        try:
            with self.database.writing():
                result = journal.submit(self.settings, request, self.policy, lock_wait=self._wait())
        except ReviewError as exc:
            return _refused(request, exc)
        return _done(request, result)

    def submit_many(self, requests: list[DecisionRequest]) -> list[Outcome]:
        by_id = {r.item_id: r for r in requests}
        with self.database.writing():
            results = journal.submit_many(self.settings, requests, self.policy, lock_wait=self._wait())
        return [_refused(by_id[i], r) if isinstance(r, ReviewError) else _done(by_id[i], r) for i, r in results]

    # ------------------------------------------------------------------ the journal, applied when the lock frees

    def replay_once(self) -> journal.ReplayReport | None:
        if not journal.journal_path(self.settings).exists():
            return None
        with self.database.writing():
            return journal.replay(self.settings, self.policy, lock_wait=0.2)

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="leadgate-journal-replay", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(REPLAY_EVERY):
            try:
                self.replay_once()
            except Exception:
                import logging

                logging.getLogger("leadgate.review.web").exception("replaying the decision journal failed")
