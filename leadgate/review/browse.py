"""What the browser queue reads: filtered, searched, paged review items, and one item with its context.

Every function takes an open (read-only) connection, so a page costs one connection; values are bound,
identifiers are fixed strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from leadgate.store.invariants import age_text
from leadgate.store.recent_events import timeline_and_messages
from leadgate.store.sql import dict_rows as _dicts
from leadgate.store.sql import json_value as _json
from leadgate.store.sql import relation_exists

PAGE_SIZE = 50
SORTS = ("priority", "oldest")


@dataclass(frozen=True)
class QueueFilter:
    """What the reviewer asked the queue for; empty strings mean 'any'."""

    status: str = "pending"
    reason: str = ""
    tier: str = ""
    reviewer: str = ""
    search: str = ""
    sort: str = "priority"
    page: int = 1


@dataclass
class QueuePage:
    items: list[dict[str, Any]]
    total: int  # items matching the filter
    overdue: int  # pending items past the SLA, in the whole queue
    pending: int
    page: int
    pages: int


def _where(f: QueueFilter) -> tuple[str, list[Any]]:
    clauses, params = [], []
    if f.status != "all":
        clauses.append("status = ?")
        params.append(f.status)
    if f.reason:
        clauses.append("list_contains(reason_codes, ?)")
        params.append(f.reason)
    if f.tier:
        clauses.append("tier = ?")
        params.append(f.tier)
    if f.reviewer:
        clauses.append("reviewer = ?")
        params.append(f.reviewer)
    if f.search.strip():
        # The reviewer's % and _ are plain characters, not wildcards.
        pattern = "%" + re.sub(r"([\\%_])", r"\\\1", f.search.strip()) + "%"
        clauses.append("(full_name ilike ? escape '\\' or company ilike ? escape '\\' or email ilike ? escape '\\')")
        params += [pattern] * 3
    return (" where " + " and ".join(clauses)) if clauses else "", params


def queue_page(con: duckdb.DuckDBPyConnection, f: QueueFilter, overdue_before: datetime) -> QueuePage:
    """One page of the queue: priority first (unprioritised last), then age; or oldest first."""
    where, params = _where(f)
    order = "priority desc nulls last, created_at, item_id" if f.sort != "oldest" else "created_at, item_id"
    page = max(1, int(f.page))
    # The page's ids from the sort columns only, then their rows. A search counts its matches in the same
    # scan (the text match is the costly part); without one a separate count is cheaper than the window.
    total_column = ", count(*) over ()" if f.search.strip() else ""
    picked = con.execute(
        f"select item_id{total_column} from review.items{where} order by {order} limit ? offset ?",
        [*params, PAGE_SIZE, (page - 1) * PAGE_SIZE],
    ).fetchall()
    if picked and total_column:
        total = picked[0][1]
    else:
        total = con.execute(f"select count(*) from review.items{where}", params).fetchone()[0]
    items = _dicts(
        con,
        f"""
        select item_id, lead_id, full_name, company, email, job_title, tier, next_action, priority, score,
               confidence, reason_codes, summary, status, reviewer, created_at, decided_at,
               date_diff('second', created_at, now()) as age_seconds
        from review.items where item_id in (select unnest(?::bigint[]))
        order by {order}
        """,
        [[row[0] for row in picked]],
    )
    for item in items:
        item["age"] = age_text(item["age_seconds"])
        item["overdue"] = item["status"] == "pending" and item["created_at"] < overdue_before
    pending, overdue = con.execute(
        "select count(*), count(*) filter (where created_at < ?) from review.items where status = 'pending'",
        [overdue_before],
    ).fetchone()
    return QueuePage(items, total, overdue, pending, page, max(1, -(-total // PAGE_SIZE)))


def queue_facets(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """The values the queue's filters offer: reason codes of pending items, tiers, reviewers who decided."""
    return {
        "reasons": [
            r
            for (r,) in con.execute(
                "select distinct unnest(reason_codes) as r from review.items where status = 'pending' order by r"
            ).fetchall()
        ],
        "tiers": [
            t
            for (t,) in con.execute(
                "select distinct tier from review.items where tier is not null order by tier"
            ).fetchall()
        ],
        "reviewers": [
            r
            for (r,) in con.execute(
                "select distinct reviewer from review.items where reviewer is not null order by reviewer"
            ).fetchall()
        ],
    }


# The queue's default order as one comparable key: prioritised first (highest first), then oldest.
_KEY = "(priority is null, coalesce(-priority, 0), created_at, item_id)"


def neighbours(con: duckdb.DuckDBPyConnection, item_id: int) -> tuple[int | None, int | None]:
    """The previous and next pending item in the default (priority) order, for j/k on the item page."""
    found = []
    for op, direction in (("<", "desc"), (">", "asc")):
        row = con.execute(
            f"select item_id from review.items where status = 'pending'"
            f" and {_KEY} {op} (select {_KEY} from review.items where item_id = ?)"
            f" order by priority is null {direction}, coalesce(-priority, 0) {direction}, created_at {direction},"
            f" item_id {direction} limit 1",
            [int(item_id)],
        ).fetchall()
        found.append(row[0][0] if row else None)
    return found[0], found[1]


def item_detail(con: duckdb.DuckDBPyConnection, item_id: int) -> dict[str, Any] | None:
    """One item with the interaction, the assessment, data-quality failures, history and account context."""
    found = _dicts(con, "select * from review.items where item_id = ?", [int(item_id)])
    if not found:
        return None
    item = found[0]
    lead_id = item["lead_id"]
    item["reasons"] = _json(item.get("reasons")) or []
    item["unknowns"] = _json(item.get("unknowns")) or []
    item["recent_events"] = _json(item.get("recent_events")) or []
    timeline, item["messages"] = timeline_and_messages(con, lead_id)
    if not item["recent_events"]:
        item["recent_events"] = timeline
    latest = item.get("latest_message")
    if latest and latest.strip() and all(m["message"] != latest for m in item["messages"]):
        # The message the item was queued with, when the marts no longer have it (or have newer ones).
        item["messages"].insert(0, {"occurred_at": None, "source": "as queued", "event_type": None, "message": latest})
    state = con.execute("select state from lifecycle.lead_states where lead_id = ?", [lead_id]).fetchall()
    item["lead_state"] = state[0][0] if state else None
    item["history"] = _dicts(
        con,
        "select decided_at, kind, actor, from_state, to_state, reason_codes, details from audit.decisions"
        " where lead_id = ? order by decision_id desc limit 50",
        [lead_id],
    )
    item["earlier_items"] = _dicts(
        con,
        "select item_id, status, reviewer, note, reason_codes, created_at, decided_at from review.items"
        " where lead_id = ? and item_id <> ? order by item_id desc",
        [lead_id, int(item_id)],
    )
    item["quality_failures"] = _quality_failures(con, item, relation_exists(con, "marts", "lead_events"))
    item["lead"], item["account"], item["account_leads"] = _account_context(con, lead_id)
    return item


def _quality_failures(con: duckdb.DuckDBPyConnection, item: dict[str, Any], has_events: bool) -> list[dict[str, Any]]:
    failures = [
        {"check": code.removeprefix("gate:"), "what": "failed the quality gate"}
        for code in item.get("reason_codes") or []
        if code.startswith("gate:")
    ]
    if has_events:
        failures += [
            {"check": r["field"], "what": f"{r['problem']} (event {r['event_id']}, set empty on ingest)"}
            for r in _dicts(
                con,
                "select distinct fi.field, fi.problem, fi.event_id from raw.field_issues fi"
                " join marts.lead_events e on e.source = fi.source and e.event_id = fi.event_id"
                " where e.lead_id = ? order by fi.field limit 20",
                [item["lead_id"]],
            )
        ]
    return failures


def _account_context(con: duckdb.DuckDBPyConnection, lead_id: str) -> tuple[dict | None, dict | None, list[dict]]:
    if not relation_exists(con, "marts", "lead_features"):
        return None, None, []
    lead = _dicts(
        con,
        "select account_id, company, company_domain, industry, country, company_size, job_title, seniority,"
        " is_target_account, target_account_name, buying_centre_size, consent_status from marts.lead_features"
        " where lead_id = ?",
        [lead_id],
    )
    lead = lead[0] if lead else None
    if lead is None or lead.get("account_id") is None:
        return lead, None, []
    account = None
    if relation_exists(con, "marts", "account_features"):
        found = _dicts(
            con,
            "select company, industry, country, company_size, is_target_account, target_account_name, lead_count,"
            " event_count, engaged_leads_30d, last_touch_at from marts.account_features where account_id = ?",
            [lead["account_id"]],
        )
        account = found[0] if found else None
    others = _dicts(
        con,
        "with o as (select lead_id, nullif(trim(concat_ws(' ', first_name, last_name)), '') as name, job_title,"
        " last_touch_at from marts.lead_features where account_id = ? and lead_id <> ?"
        " order by last_touch_at desc nulls last limit 25)"
        " select o.lead_id, o.name, o.job_title, s.state from o left join lifecycle.lead_states s using (lead_id)"
        " order by o.last_touch_at desc nulls last",
        [lead["account_id"], lead_id],
    )
    return lead, account, others


def decision_of(con: duckdb.DuckDBPyConnection, item_id: int) -> dict[str, Any] | None:
    """Status, reviewer and time of an item's decision (None when there is no such item)."""
    found = _dicts(
        con,
        "select item_id, lead_id, status, reviewer, decided_at, note, question from review.items where item_id = ?",
        [int(item_id)],
    )
    return found[0] if found else None


def journal_conflicts(
    con: duckdb.DuckDBPyConnection,
    *,
    reviewer: str | None = None,
    item_id: int | None = None,
    since: datetime | None = None,
    limit: int = 20,
) -> list[dict[str, Any]]:
    """Saved (journaled) decisions found invalid when replayed: someone had decided the item first."""
    if not relation_exists(con, "review", "decision_log"):
        return []
    return _dicts(
        con,
        "select item_id, reviewer, action, reason, submitted_at, recorded_at from review.decision_log"
        " where outcome = 'conflict' and (?::varchar is null or reviewer = ?) and (?::bigint is null or item_id = ?)"
        " and (?::timestamptz is null or recorded_at >= ?::timestamptz) order by recorded_at desc limit ?",
        [reviewer, reviewer, item_id, item_id, since, since, int(limit)],
    )
