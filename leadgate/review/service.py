"""Human review of leads the machine could not decide: list, show, approve (after edits), reject, clarify, reopen.

Each decision is applied by leadgate/review/decisions.py in one transaction; journal.py saves the ones a
held database cannot take (see leadgate/review/README.md for the API the CLI and the page use).

Kept light on purpose (duckdb, pandas, the policy): `leadgate review` must answer in about a second,
so nothing here may import Prefect, dbt or Great Expectations.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb
import pandas as pd

from leadgate.config import LeadgateSettings
from leadgate.lifecycle import ReviewStatus
from leadgate.policy import Policy, load_policy
from leadgate.review.clarify import Draft, Drafter, draft
from leadgate.review.decisions import DecisionRequest, ReviewDecision, apply_decision, item_id_of, requests_for
from leadgate.review.edits import edits_of
from leadgate.review.errors import AlreadyDecided, ReviewError  # noqa: F401 (re-exported: callers catch them here)
from leadgate.review.overrides import list_overrides
from leadgate.review.sla import overdue_count
from leadgate.store import db, read_copy
from leadgate.store.erasure_list import drop_erased
from leadgate.store.invariants import age_text, review_metrics  # noqa: F401 (review_metrics re-exported)
from leadgate.store.recent_events import recent_events, recent_events_sql
from leadgate.store.sql import dict_rows as _dicts
from leadgate.store.sql import json_value as _json
from leadgate.store.sql import registered, relation_exists, transaction
from leadgate.store.states import utcnow

LIST_STATUSES = (*(s.value for s in ReviewStatus), "all")


class ReviewService:
    """The review table as a reviewer sees it; the CLI and the future web UI both use this."""

    def __init__(self, settings: LeadgateSettings, policy: Policy | None = None) -> None:
        self.settings = settings
        self._policy = policy

    @property
    def policy(self) -> Policy:
        """The policy given, else the one LEADGATE_POLICY names (loaded once)."""
        if self._policy is None:
            self._policy = load_policy(self.settings.policy)
        return self._policy

    # ------------------------------------------------------------------ reads

    def list_items(self, status: str | None = "pending", limit: int = 200) -> list[dict[str, Any]]:
        """Review items with `status` ('all' or None for every item), oldest first."""
        status = status or "all"
        if status not in LIST_STATUSES:
            raise ReviewError(f"unknown review status {status!r}: use one of {', '.join(LIST_STATUSES)}")
        with db.read_connection(self.settings) as con:
            rows = _dicts(
                con,
                """
                select item_id as id, lead_id, full_name as name, company, score, confidence,
                       reason_codes, status, reviewer, created_at, decided_at,
                       date_diff('second', created_at, now()) as age_seconds, tier, next_action, priority
                from review.items
                where ? = 'all' or status = ?
                order by priority desc nulls last, created_at, item_id
                limit ?
                """,
                [status, status, int(limit)],
            )
        for row in rows:
            row["age"] = age_text(row["age_seconds"])
        return rows

    def get(self, item_id: int) -> dict[str, Any]:
        """Everything a reviewer needs about one item, with the lead's decision history."""
        item_id = item_id_of(item_id)
        with db.read_connection(self.settings) as con:
            found = _dicts(con, "select * from review.items where item_id = ?", [item_id])
            if not found:
                raise ReviewError(f"review item {item_id} does not exist: `leadgate review list` shows the ids")
            item = found[0]
            item["reasons"] = _json(item["reasons"]) or []
            item["recent_events"] = _json(item["recent_events"])
            if item["recent_events"] is None:
                item["recent_events"] = recent_events(con, item["lead_id"])
            state = con.execute(
                "select state from lifecycle.lead_states where lead_id = ?", [item["lead_id"]]
            ).fetchall()
            state = state[0][0] if state else None
            item["lead_state"] = state
            item["history"] = _dicts(
                con,
                "select decided_at, kind, actor, from_state, to_state, reason_codes, details"
                " from audit.decisions where lead_id = ? order by decision_id",
                [item["lead_id"]],
            )
            for entry in item["history"]:
                entry["details"] = _json(entry["details"])
            item["related_items"] = _dicts(
                con,
                "select item_id, status, reviewer, created_at, decided_at from review.items"
                " where lead_id = ? and item_id <> ? order by item_id",
                [item["lead_id"], item_id],
            )
            item["edits"] = edits_of(con, item["lead_id"])  # corrections beside the original values
            # A read copy published before migration 0016 has neither table.
            for key, table, sql in (
                (
                    "clarifications",
                    "clarifications",
                    "select draft, source, flagged, reviewer, created_at"
                    " from review.clarifications where item_id = ? order by created_at",
                ),
                (
                    "conflicts",
                    "decision_log",
                    "select decision_uuid, reviewer, action, reason, submitted_at"
                    " from review.decision_log where item_id = ? and outcome = 'conflict' order by recorded_at",
                ),
            ):
                item[key] = _dicts(con, sql, [item_id]) if relation_exists(con, "review", table) else []
        return item

    def draft_clarification(
        self, item_id: int, reviewer: str | None, question: str | None = None, drafter: Drafter | None = None
    ) -> Draft:
        """A clarification email for the item's lead (by `drafter`, the LLM, when given; else the template)."""
        from leadgate.review.decisions import features_row

        item = self.get(item_id)
        with db.read_connection(self.settings) as con:
            features = features_row(con, item["lead_id"])
        return draft(
            self.policy,
            {**(features or {}), **item},
            reviewer or "",
            question=question,
            features=features,
            drafter=drafter,
        )

    def overrides(self, since: Any = None) -> list[dict[str, Any]]:
        """Decisions that went against the machine's leaning, newest first (see leadgate/review/overrides.py)."""
        with db.read_connection(self.settings) as con:
            return list_overrides(con, threshold=self.policy.scoring.qualify_threshold, since=since)

    def overdue_count(self, now: Any = None) -> int:
        """Pending items past the review SLA (business hours, from the policy)."""
        with db.read_connection(self.settings) as con:
            return overdue_count(con, self.policy, now)

    # ------------------------------------------------------------------ decisions

    @contextmanager
    def _deciding(self, lock_wait: float | None = None, publish: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
        """A writer connection for one decision; once it is committed, the read copy shows it (debounced)."""
        with db.connect(self.settings, timeout=lock_wait) as con:
            yield con
            read_copy.mark_pending(self.settings)  # still under the writer lock
        if publish:  # else the caller publishes (a server: read_copy.publish_pending on its timer)
            read_copy.publish_after_decision(self.settings)

    def decide(self, request: DecisionRequest, lock_wait: float | None = None, publish: bool = True) -> ReviewDecision:
        """Apply one decision now (db.PipelineBusy when the database stays held; `journal.submit` queues instead)."""
        with self._deciding(lock_wait, publish) as con:
            return apply_decision(con, self.settings, self.policy, request)

    def approve(
        self, item_id: int, reviewer: str | None, note: str | None = None, edits: dict[str, Any] | None = None
    ) -> ReviewDecision:
        """Approve (after optional edits of company_size, company, job_title, country): CRM fields and consent re-checked."""
        return self.decide(
            DecisionRequest(item_id_of(item_id), reviewer or "", "approve", {"note": note, "edits": edits or {}})
        )

    def reject(
        self, item_id: int, reviewer: str | None, reason: str | None = None, reason_code: str | None = None
    ) -> ReviewDecision:
        """Reject with a policy reason code (free text alone counts as `other`): the lead becomes `rejected`."""
        return self.decide(
            DecisionRequest(
                item_id_of(item_id), reviewer or "", "reject", {"reason": reason, "reason_code": reason_code}
            )
        )

    def clarify(
        self,
        item_id: int,
        reviewer: str | None,
        question: str | None = None,
        draft: str | None = None,
        confirmed: list[str] | None = None,
        draft_source: str | None = None,
    ) -> ReviewDecision:
        """Ask for clarification (optionally with the email draft, its promises confirmed): the lead waits."""
        return self.decide(
            DecisionRequest(
                item_id_of(item_id),
                reviewer or "",
                "clarify",
                {
                    "question": question,
                    "draft": draft,
                    "confirmed": list(confirmed or []),
                    "draft_source": draft_source,
                },
            )
        )

    def reopen(self, item_id: int, reviewer: str | None) -> ReviewDecision:
        """Reopen one's own decision before it synced: the item is pending and the lead needs_review again."""
        return self.decide(DecisionRequest(item_id_of(item_id), reviewer or "", "reopen"))

    def bulk(
        self, item_ids: list[int], reviewer: str | None, action: str, **fields: Any
    ) -> list[tuple[int, ReviewDecision | ReviewError]]:
        """Approve or reject several items with one reason: each is decided or reported on its own."""
        if action not in ("approve", "reject"):
            raise ReviewError(f"bulk decisions are approve or reject, not {action!r}")
        results: list[tuple[int, ReviewDecision | ReviewError]] = []
        with self._deciding() as con:
            for request in requests_for(item_ids, reviewer or "", action, fields):
                try:
                    results.append((request.item_id, apply_decision(con, self.settings, self.policy, request)))
                except ReviewError as exc:
                    results.append((request.item_id, exc))
        return results


def queue_review_items(
    con: duckdb.DuckDBPyConnection, entries: pd.DataFrame, *, policy_version: str | None = None
) -> int:
    """Open one pending item per lead in `entries` (lead_id, reason_code, summary); older pending items are superseded."""
    if entries.empty:
        return 0
    frame = drop_erased(con, entries[["lead_id", "reason_code", "summary"]].drop_duplicates("lead_id", keep="last"))
    if frame.empty:
        return 0
    has_features = relation_exists(con, "marts", "lead_features")
    features = (
        "marts.lead_features"
        if has_features
        else (
            "(select null::varchar as lead_id, null::varchar as feature_hash, null::varchar as email,"
            " null::varchar as first_name, null::varchar as last_name, null::varchar as company,"
            " null::varchar as job_title, null::varchar as latest_message where false)"
        )
    )
    events = recent_events_sql(con, "_review_queue")
    with registered(con, _review_queue=frame), transaction(con):
        con.execute(
            "update review.items set status = 'superseded', decided_at = ? "
            "where status = 'pending' and lead_id in (select lead_id from _review_queue)",
            [utcnow()],
        )
        # Identifiers above are fixed strings chosen by which marts exist; values are bound.
        con.execute(
            f"""
            insert into review.items (lead_id, feature_hash, score_id, email, full_name, company, job_title,
                score, confidence, reasons, reason_codes, summary, latest_message, recent_events, status,
                policy_version, created_at)
            with latest as (
                select lead_id, max(score_id) as score_id from scoring.scores
                where lead_id in (select lead_id from _review_queue) group by lead_id
            )
            select q.lead_id, f.feature_hash, s.score_id, f.email,
                   nullif(trim(concat_ws(' ', f.first_name, f.last_name)), ''), f.company, f.job_title,
                   s.score, s.confidence, s.reasons, [q.reason_code], q.summary, f.latest_message,
                   e.recent_events, 'pending', ?, ?
            from _review_queue q
            left join {features} f on f.lead_id = q.lead_id
            left join latest l on l.lead_id = q.lead_id
            left join scoring.scores s on s.score_id = l.score_id
            left join {events} e on e.lead_id = q.lead_id
            """,
            [policy_version, utcnow()],
        )
    return len(frame)
