"""Human review of leads the machine could not decide: list, show, approve, reject, clarify.

Kept light on purpose (duckdb, pandas, the policy): `leadgate review` must answer in about a second,
so nothing here may import Prefect, dbt or Great Expectations.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd

from leadgate.policy import consent

from leadgate.store import db

from leadgate.store import read_copy
from leadgate.config import LeadgateSettings
from leadgate.store.erasure_list import drop_erased
from leadgate.lifecycle import LeadState, ReviewStatus
from leadgate.shared.neutral_text import indented, one_line, terminal_safe
from leadgate.policy import Policy, load_policy
from leadgate.store.states import StateChange, set_states, utcnow
from leadgate.store.invariants import age_text, relation_exists, review_metrics  # noqa: F401 (review_metrics re-exported)

RECENT_EVENTS = 10
LIST_STATUSES = (*(s.value for s in ReviewStatus), "all")


class ReviewError(ValueError):
    """A review action cannot be done as asked; the message says why in one line."""


@dataclass(frozen=True)
class ReviewDecision:
    item_id: int
    lead_id: str
    status: str
    lead_state: str
    reviewer: str


def _dicts(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


class ReviewService:
    """The review table as a reviewer sees it; the CLI and the future web UI both use this."""

    def __init__(self, settings: LeadgateSettings, policy: Policy | None = None) -> None:
        self.settings = settings
        self._policy = policy

    @property
    def policy(self) -> Policy:
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
        item_id = _item_id(item_id)
        with db.read_connection(self.settings) as con:
            found = _dicts(con, "select * from review.items where item_id = ?", [item_id])
            if not found:
                raise ReviewError(f"review item {item_id} does not exist: `leadgate review list` shows the ids")
            item = found[0]
            item["reasons"] = _json(item["reasons"]) or []
            item["recent_events"] = _json(item["recent_events"])
            if item["recent_events"] is None and relation_exists(con, "marts", "lead_events"):
                item["recent_events"] = _dicts(
                    con,
                    "select occurred_at, source, event_type, page_url, message from marts.lead_events"
                    " where lead_id = ? order by occurred_at desc limit ?",
                    [item["lead_id"], RECENT_EVENTS],
                )
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
        return item

    # ------------------------------------------------------------------ decisions

    @contextmanager
    def _deciding(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A writer connection for one decision; once it is committed, the read copy shows it (debounced)."""
        with db.connect(self.settings) as con:
            yield con
            read_copy.mark_pending(self.settings)   # still under the writer lock
        read_copy.publish_after_decision(self.settings)

    def approve(self, item_id: int, reviewer: str | None, note: str | None = None) -> ReviewDecision:
        """Approve: re-check CRM-required fields and consent, then the lead becomes `qualified`."""
        name = _reviewer(reviewer)
        item_id = _item_id(item_id)
        with self._deciding() as con:
            item = _pending_item(con, item_id)
            problems = self._approval_problems(con, item["lead_id"])
            if problems:
                raise ReviewError(f"cannot approve review item {item_id}: {'; '.join(problems)}")
            return self._decide(
                con, item, name, ReviewStatus.APPROVED, LeadState.QUALIFIED, "approved_by_reviewer", note=note
            )

    def reject(self, item_id: int, reviewer: str | None, reason: str | None) -> ReviewDecision:
        """Reject: the lead becomes `rejected` (only a person can do this)."""
        name = _reviewer(reviewer)
        item_id = _item_id(item_id)
        if not (reason or "").strip():
            raise ReviewError(f"a reason is required to reject review item {item_id} (--reason TEXT)")
        with self._deciding() as con:
            item = _pending_item(con, item_id)
            return self._decide(
                con, item, name, ReviewStatus.REJECTED, LeadState.REJECTED, "rejected_by_reviewer", note=reason
            )

    def clarify(self, item_id: int, reviewer: str | None, question: str | None) -> ReviewDecision:
        """Ask for clarification: the lead waits in `clarification_requested`."""
        name = _reviewer(reviewer)
        item_id = _item_id(item_id)
        if not (question or "").strip():
            raise ReviewError(f"a question is required to ask for clarification on review item {item_id} (--question TEXT)")
        with self._deciding() as con:
            item = _pending_item(con, item_id)
            return self._decide(
                con, item, name, ReviewStatus.CLARIFICATION_REQUESTED, LeadState.CLARIFICATION_REQUESTED,
                "clarification_requested_by_reviewer", question=question,
            )

    def _approval_problems(self, con: duckdb.DuckDBPyConnection, lead_id: str) -> list[str]:
        if not relation_exists(con, "marts", "lead_features"):
            return ["marts.lead_features is not built yet (run the pipeline first)"]
        columns = {
            r[0] for r in con.execute(
                "select column_name from information_schema.columns"
                " where table_schema = 'marts' and table_name = 'lead_features'"
            ).fetchall()
        }
        required = list(self.policy.crm.required_fields)
        unknown = [f for f in required if f not in columns]
        if unknown:
            return [f"the policy requires fields marts.lead_features does not have: {', '.join(unknown)}"]
        # Column names come from the policy, checked against information_schema above.
        select = ", ".join(f'"{f}"' for f in required)
        row = con.execute(
            f"select {select}, consent_status, has_consent from marts.lead_features where lead_id = ?", [lead_id]
        ).fetchall()
        row = row[0] if row else None
        if row is None:
            return [f"lead {lead_id} is no longer in marts.lead_features (erased or not built yet)"]
        problems = []
        missing = [f for f, v in zip(required, row[:-2]) if v is None or (isinstance(v, str) and not v.strip())]
        if missing:
            problems.append(f"missing {', '.join(missing)}")
        if not consent.allows_contact(row[-2], self.policy, row[-1]):   # the one consent rule
            problems.append(consent.refusal_reason(row[-2], row[-1]))
        return problems

    def _decide(
        self,
        con: duckdb.DuckDBPyConnection,
        item: dict[str, Any],
        reviewer: str,
        status: ReviewStatus,
        state: LeadState,
        reason: str,
        *,
        note: str | None = None,
        question: str | None = None,
    ) -> ReviewDecision:
        # State + audit first: if the item update then failed, a retry finds it still pending.
        set_states(
            con,
            [
                StateChange(
                    lead_id=item["lead_id"], state=state.value, reason_codes=[reason],
                    feature_hash=item["feature_hash"], score_id=item["score_id"], score=item["score"],
                    confidence=item["confidence"], details={"review_item_id": item["item_id"]},
                )
            ],
            kind="review",
            actor=f"reviewer:{reviewer}",
            policy_version=self.policy.version,
        )
        con.execute(
            "update review.items set status = ?, reviewer = ?, note = coalesce(?, note),"
            " question = coalesce(?, question), decided_at = ? where item_id = ?",
            [status.value, reviewer, note, question, utcnow(), item["item_id"]],
        )
        return ReviewDecision(item["item_id"], item["lead_id"], status.value, state.value, reviewer)


def _item_id(item_id: Any) -> int:
    try:
        return int(item_id)
    except (TypeError, ValueError):
        raise ReviewError(f"review item id must be a number, got {item_id!r}") from None


def _reviewer(reviewer: str | None) -> str:
    name = (reviewer or "").strip()
    if not name:
        raise ReviewError("a reviewer name is required (--reviewer NAME or LEADGATE_REVIEWER)")
    return name


def _pending_item(con: duckdb.DuckDBPyConnection, item_id: int) -> dict[str, Any]:
    found = _dicts(
        con,
        "select item_id, lead_id, feature_hash, score_id, score, confidence, status, reviewer, decided_at"
        " from review.items where item_id = ?",
        [item_id],
    )
    if not found:
        raise ReviewError(f"review item {item_id} does not exist: `leadgate review list` shows the ids")
    item = found[0]
    if item["status"] != ReviewStatus.PENDING:
        by = f" by {item['reviewer']}" if item["reviewer"] else ""
        raise ReviewError(
            f"review item {item_id} is already {item['status']}{by}: only a pending item can be decided"
        )
    return item


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
    has_events = relation_exists(con, "marts", "lead_events")
    features = "marts.lead_features" if has_features else (
        "(select null::varchar as lead_id, null::varchar as feature_hash, null::varchar as email,"
        " null::varchar as first_name, null::varchar as last_name, null::varchar as company,"
        " null::varchar as job_title, null::varchar as latest_message where false)"
    )
    events = (
        """(select lead_id, to_json(list({'occurred_at': occurred_at, 'source': source, 'event_type': event_type,
                'page_url': page_url, 'message': message} order by occurred_at desc, event_id desc)[1:10]) as recent_events
            from marts.lead_events where lead_id in (select lead_id from _review_queue) group by lead_id)"""
        if has_events else "(select null::varchar as lead_id, null::json as recent_events where false)"
    )
    con.register("_review_queue", frame)
    try:
        con.execute("begin transaction")
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
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    finally:
        con.unregister("_review_queue")
    return len(frame)


# ---------------------------------------------------------------------- terminal output

def _num(value: Any) -> str:
    return "-" if value is None else f"{float(value):.2f}"


def _codes(value: Any) -> str:
    return ", ".join(value or [])


def format_item_table(items: list[dict[str, Any]]) -> str:
    """Review items as an aligned table (what `leadgate review list` prints)."""
    header = ("id", "lead", "name", "company", "score", "conf", "status", "age", "why")
    rows = [
        tuple(one_line(cell) for cell in (
            str(i["id"]), i["lead_id"], i.get("name") or "-", i.get("company") or "-", _num(i.get("score")),
            _num(i.get("confidence")), i.get("status") or "", i.get("age") or "", _codes(i.get("reason_codes"))))
        for i in items
    ]
    widths = [max(len(h), *(len(r[n]) for r in rows)) for n, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in rows]
    return terminal_safe("\n".join(lines))


def format_item_detail(item: dict[str, Any]) -> str:
    """One review item in full (what `leadgate review show` prints); lead text cannot drive the terminal."""
    item = {k: one_line(v) if isinstance(v, str) and k != "latest_message" else v for k, v in item.items()}
    lines = [
        f"review item {item['item_id']}  [{item['status']}]  lead {item['lead_id']} (now {item.get('lead_state') or '-'})",
        f"  person      {item.get('full_name') or '-'} <{item.get('email') or '-'}>",
        f"  company     {item.get('company') or '-'}   title: {item.get('job_title') or '-'}",
        f"  machine     score {_num(item.get('score'))}, confidence {_num(item.get('confidence'))}"
        f"  (policy {item.get('policy_version') or '-'})",
        f"  why review  {_codes(item.get('reason_codes'))}",
        f"  summary     {item.get('summary') or '-'}",
        f"  created     {item.get('created_at')}",
    ]
    if item.get("decided_at"):
        lines.append(f"  decided     {item['decided_at']} by {item.get('reviewer') or '-'}")
    for label, key in (("note", "note"), ("question", "question")):
        if item.get(key):
            lines.append(f"  {label:<11} {item[key]}")
    if item.get("reasons"):
        lines.append("  scoring reasons")
        for reason in item["reasons"]:
            points = reason.get("points")
            shown = f"{float(points):+.1f}" if points is not None else ""
            lines.append(f"    {shown:>6}  {one_line(reason.get('detail') or reason.get('feature'))}")
    lines.append("  latest message")
    lines.append(indented(item.get("latest_message") or "-", "    "))
    if item.get("recent_events"):
        lines.append("  recent events")
        for event in item["recent_events"]:
            lines.append("    " + one_line(f"{event.get('occurred_at')}  {event.get('source') or ''}/{event.get('event_type') or ''}"
                                         f"  {event.get('page_url') or ''}"))
    if item.get("history"):
        lines.append("  decisions")
        for entry in item["history"]:
            lines.append(f"    {entry['decided_at']}  {entry['kind']:<7} {one_line(entry['actor']):<20} "
                         f"{entry.get('from_state') or '-'} -> {entry.get('to_state') or '-'}  {_codes(entry.get('reason_codes'))}")
    return terminal_safe("\n".join(lines))
